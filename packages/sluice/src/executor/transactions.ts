// Which tenant owns which interactive transaction. Transaction ids are unguessable UUIDs, but a
// key for tenant A must still never reach a transaction of tenant B: every lookup checks the owner.
import type { PlanExecutor } from './plan-executor.js'

export interface TransactionEntry<T> {
  owner: T
  executor: PlanExecutor
  /** SQL run by the transaction's writes, analysed at commit to invalidate what it changed. */
  statements: string[]
  timer: NodeJS.Timeout
}

// The transaction manager forgets expired transactions on its own; ours are dropped a while after
// the transaction's own timeout so a late commit still gets Prisma's "expired" answer (P2028).
const GRACE_MS = 60_000

export class TransactionRegistry<T> {
  #entries = new Map<string, TransactionEntry<T>>()

  add(id: string, owner: T, executor: PlanExecutor, timeoutMs: number): void {
    const timer = setTimeout(() => this.#entries.delete(id), timeoutMs + GRACE_MS)
    timer.unref()
    this.#entries.set(id, { owner, executor, statements: [], timer })
  }

  /** The transaction `id`, if `owner` started it. */
  get(id: string, owner: T): TransactionEntry<T> | undefined {
    const e = this.#entries.get(id)
    return e && e.owner === owner ? e : undefined
  }

  delete(id: string): void {
    const e = this.#entries.get(id)
    if (e) clearTimeout(e.timer)
    this.#entries.delete(id)
  }

  get size(): number {
    return this.#entries.size
  }
}
