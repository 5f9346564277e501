// The connection budget of one origin: `connection_limit` slots, one per open server connection,
// shared by every door that opens connections of its own to that origin (on MySQL: the HTTP
// door's driver connections and the wire door's raw links, which cannot be shared because they
// negotiate different capability flags).
//
// A door takes a slot before it opens a connection and gives it back when the connection closes,
// so the origin never sees more than `connection_limit` connections, whichever doors are busy.
// Waiters queue in FIFO order and fail with PoolTimeoutError after `pool_timeout` (0 = forever).
// Idle connections hold their slots: when someone waits, the holders are asked to close an idle
// connection (`shedIdle`), and a door giving a connection back hands it to its own first waiter
// only when that waiter is first in line (otherwise it closes the connection, freeing the slot).
import { PoolTimeoutError } from './errors.js'

/** A door holding connections under a budget. */
export interface BudgetHolder {
  /** Closes one idle connection (and gives its slot back); false when the door has none idle. */
  shedIdle(): boolean
}

interface Waiter {
  holder: BudgetHolder
  /** Called with a connection handed over by its door, or undefined for a fresh slot. */
  grant: (handed: unknown) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout | undefined
}

export class ConnectionBudget {
  readonly #waiters: Waiter[] = []
  readonly #holders = new Set<BudgetHolder>()
  #used = 0
  #timeouts = 0

  constructor(
    readonly limit: number,
    /** Seconds a waiter waits for a slot; 0 waits forever. */
    readonly poolTimeoutSeconds: number,
  ) {}

  /** Slots in use (open connections, and connections being opened). */
  get used(): number {
    return this.#used
  }

  get waiting(): number {
    return this.#waiters.length
  }

  /** Waits that ran past pool_timeout. */
  get timeouts(): number {
    return this.#timeouts
  }

  register(holder: BudgetHolder): void {
    this.#holders.add(holder)
  }

  unregister(holder: BudgetHolder): void {
    this.#holders.delete(holder)
  }

  /**
   * Waits for a slot. Resolves with undefined when the caller got a fresh slot (it must open a
   * connection, and call `give()` when that connection closes), or with a connection its own door
   * handed over (see `handOff`; the slot goes with it). Rejects with PoolTimeoutError.
   */
  take<T>(holder: BudgetHolder): Promise<T | undefined> {
    if (this.#waiters.length === 0 && this.#used < this.limit) {
      this.#used++
      return Promise.resolve(undefined)
    }
    return new Promise<T | undefined>((resolve, reject) => {
      const waiter: Waiter = { holder, grant: resolve as (handed: unknown) => void, reject, timer: undefined }
      if (this.poolTimeoutSeconds > 0) {
        waiter.timer = setTimeout(() => {
          const at = this.#waiters.indexOf(waiter)
          if (at >= 0) this.#waiters.splice(at, 1)
          this.#timeouts++
          reject(new PoolTimeoutError(this.limit, this.poolTimeoutSeconds))
        }, this.poolTimeoutSeconds * 1000)
      }
      this.#waiters.push(waiter)
      this.#reclaimIdle()
    })
  }

  /** A connection closed (or could not be opened): its slot goes to the first waiter. */
  give(): void {
    this.#used--
    const next = this.#waiters.shift()
    if (!next) return
    if (next.timer) clearTimeout(next.timer)
    this.#used++
    next.grant(undefined)
  }

  /**
   * A door has a connection to give back: when the first waiter is that door's, it gets the
   * connection (and its slot) and this returns true. Otherwise the door keeps it idle when nobody
   * waits, or closes it (giving the slot to the other door's waiter).
   */
  handOff(holder: BudgetHolder, connection: unknown): boolean {
    const first = this.#waiters[0]
    if (!first || first.holder !== holder) return false
    this.#waiters.shift()
    if (first.timer) clearTimeout(first.timer)
    first.grant(connection)
    return true
  }

  /** Asks holders to close idle connections while someone waits and nothing is free. */
  #reclaimIdle(): void {
    let shed = true
    while (shed && this.#waiters.length > 0 && this.#used >= this.limit) {
      shed = false
      for (const h of this.#holders) {
        if (h.shedIdle()) {
          shed = true
          break
        }
      }
    }
  }

  /** Fails every waiter (shutdown). */
  rejectAll(err: Error): void {
    for (const w of this.#waiters.splice(0)) {
      if (w.timer) clearTimeout(w.timer)
      w.reject(err)
    }
  }
}
