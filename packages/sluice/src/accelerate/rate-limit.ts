/** A fixed-window counter per key: at most `limit` events per `windowMs` (0 = unlimited). */
export class RateLimiter {
  #windows = new Map<string, { start: number; count: number }>()

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  take(key: string, now = Date.now()): boolean {
    if (this.limit <= 0) return true
    let w = this.#windows.get(key)
    if (!w || now - w.start >= this.windowMs) {
      w = { start: now, count: 0 }
      this.#windows.set(key, w)
    }
    if (w.count >= this.limit) return false
    w.count++
    return true
  }
}
