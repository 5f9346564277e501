// Server connections the Postgres wire door keeps checked out between transactions, for the next
// transaction on the same origin: a transaction then costs no pg-pool round trip (promise, queue
// pulse, idle timer) and no listener juggling on the connection.
//
// Parked connections still count against the origin's budget, which the HTTP door shares, so they
// are a reserve the pool takes back whenever anyone else would otherwise wait or open a connection
// (see OriginPool.connect), when the pool has waiters, after a short idle time, and at shutdown.
import type { ConnectionReserve, OriginPool } from '../../pool/origin-pool.js'

/** Parked longer than this, a connection goes back to the pool. */
const IDLE_MS = 1000

export interface Parkable {
  /** Hands the connection back to the pool. */
  returnToPool(): void
}

export class LinkPark<L extends Parkable> implements ConnectionReserve {
  // Oldest first; the most recently parked connection is reused first, so idle ones age out.
  readonly #links: L[] = []
  readonly #since: number[] = []
  #timer: NodeJS.Timeout | undefined

  constructor(readonly origin: OriginPool) {
    origin.addReserve(this)
  }

  get size(): number {
    return this.#links.length
  }

  /** The most recently parked connection, unless someone is waiting on the pool (they go first). */
  take(): L | undefined {
    if (this.#links.length === 0) return undefined
    if (this.origin.pool.waitingCount > 0) {
      this.giveBackAll()
      return undefined
    }
    this.#since.pop()
    return this.#links.pop()
  }

  /** Parks a clean connection; false when it should go back to the pool instead. */
  put(link: L): boolean {
    if (this.origin.closing || this.origin.pool.waitingCount > 0) return false
    this.#links.push(link)
    this.#since.push(performance.now())
    if (this.#timer === undefined) this.#schedule(IDLE_MS)
    return true
  }

  /** Forgets a parked connection (it closed). False when it was not parked. */
  remove(link: L): boolean {
    const i = this.#links.indexOf(link)
    if (i === -1) return false
    this.#links.splice(i, 1)
    this.#since.splice(i, 1)
    return true
  }

  giveBackOne(): boolean {
    const link = this.#links.shift()
    if (link === undefined) return false
    this.#since.shift()
    link.returnToPool()
    return true
  }

  giveBackAll(): void {
    while (this.giveBackOne());
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => this.#sweep(), ms)
    this.#timer.unref()
  }

  #sweep(): void {
    this.#timer = undefined
    const now = performance.now()
    while (this.#since.length > 0 && now - this.#since[0]! >= IDLE_MS) this.giveBackOne()
    if (this.#since.length > 0) this.#schedule(Math.max(1, this.#since[0]! + IDLE_MS - now))
  }
}
