// Analyses memoised by SQL text and by shape (literals replaced), per scope (the default schema or
// database that qualifies unqualified names). Shared by the Postgres and MySQL analysers.
//
// Texts without literals (what Prisma and prepared statements send) are found by their own text;
// others by their shape, so `… WHERE id = 17` and `… WHERE id = 42` share one parse. Scopes are a
// map level of their own so that a lookup builds no key string.
import type { StatementAnalysis } from './analyze.js'

const LIMIT = 20_000

export class AnalysisMemo {
  readonly #scopes = new Map<string, Map<string, StatementAnalysis>>()
  #size = 0

  constructor(readonly shapeOf: (sql: string) => string) {}

  get(sql: string, scope: string, analyze: (sql: string, scope: string) => StatementAnalysis): StatementAnalysis {
    let memo = this.#scopes.get(scope)
    const exact = memo?.get(sql)
    if (exact) return exact
    const shape = this.shapeOf(sql)
    const cached = memo?.get(shape)
    if (cached) return cached
    const result = analyze(sql, scope)
    if (this.#size >= LIMIT) {
      this.#scopes.clear()
      this.#size = 0
      memo = undefined
    }
    if (memo === undefined) this.#scopes.set(scope, (memo = new Map()))
    memo.set(result.literalDependent === true ? sql : shape, result)
    this.#size++
    return result
  }

  /**
   * Finds `analysis` by the text `sql` itself from now on, without shaping it: for texts known to
   * come again (a cached statement answered from the cache). Texts never evict: a full memo takes none.
   */
  remember(sql: string, scope: string, analysis: StatementAnalysis): void {
    const memo = this.#scopes.get(scope)
    if (memo === undefined || this.#size >= LIMIT || memo.has(sql)) return
    memo.set(sql, analysis)
    this.#size++
  }
}
