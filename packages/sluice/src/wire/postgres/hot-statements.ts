// Simple-protocol statements answered from the cache, remembered by their text so that the next
// time they come the hit path skips the work that only depends on the text: the analysis, the
// cache decision and the cache key (building a key string means hashing it again on every
// lookup). What they found is a pure function of the text, the session's key space (tenant,
// origin, database, user, settings) and the cache rules in force, so a record is used only in the
// key space it was made in and only while the same rules object is in force (a reload makes new
// rules, hence new decisions). Freshness is not remembered: every hit still asks the cache, with
// the entry it was last answered with when that is small (QueryCache.getKnown: no map lookup while
// the cache still holds that entry and nothing was invalidated since).
import type { CacheEntry, CachePolicy } from '../../cache/query-cache.js'
import type { StatementAnalysis } from '../../sql/analyze.js'
import type { WireCacheSettings } from './cache-policy.js'

export interface HotStatement {
  readonly analysis: StatementAnalysis
  readonly policy: CachePolicy
  /** The full cache key (one string object: its hash is computed once). */
  readonly key: string
  /** The rules the decision was made under. */
  readonly rules: WireCacheSettings
  /**
   * The entry last answered with and its rows followed by ReadyForQuery, in one buffer: small
   * results only, so that what records hold outside the cache's byte bound stays small (at most
   * HOT_LIMIT × 2 × JOINED_ANSWER_MAX, plus the entries' own few hundred bytes, when the cache has
   * dropped them).
   */
  entry: CacheEntry | undefined
  answer: Buffer | undefined
}

/** Results up to this size are kept with their ReadyForQuery appended (one write, no copy per hit). */
export const JOINED_ANSWER_MAX = 2 * 1024

/**
 * The entry's rows followed by `ready` in one buffer, made once per entry and kept on the record
 * with the entry; undefined for results above JOINED_ANSWER_MAX (sent as they are, and not kept).
 */
export function joinedAnswer(hot: HotStatement, entry: CacheEntry, ready: Buffer): Buffer | undefined {
  if (hot.entry !== entry) {
    const rows = entry.payload
    if (rows.length > JOINED_ANSWER_MAX) {
      hot.entry = hot.answer = undefined
      return undefined
    }
    hot.entry = entry
    hot.answer = Buffer.concat([rows, ready])
  }
  return hot.answer
}

/** Longer texts are not remembered (each record holds its text and its key). */
export const HOT_TEXT_MAX = 4 * 1024

/** Records kept across all key spaces; past it every table starts again. */
export const HOT_LIMIT = 10_000

export class HotStatements {
  readonly #spaces = new Map<string, Map<string, HotStatement>>()
  #size = 0

  /** The table of one key space; sessions keep it while their key space stays the same. */
  space(id: string): Map<string, HotStatement> {
    let space = this.#spaces.get(id)
    if (space === undefined) this.#spaces.set(id, (space = new Map()))
    return space
  }

  /** Keeps `hot` for `sql` unless a record made under the same rules is there already. */
  remember(space: Map<string, HotStatement>, sql: string, hot: HotStatement): void {
    if (sql.length > HOT_TEXT_MAX) return
    const known = space.get(sql)
    if (known !== undefined) {
      // One made under rules since replaced is of no use any more.
      if (known.rules !== hot.rules) space.set(sql, hot)
      return
    }
    if (this.#size >= HOT_LIMIT) {
      // Cleared in place: sessions hold their tables.
      for (const s of this.#spaces.values()) s.clear()
      this.#size = 0
    }
    space.set(sql, hot)
    this.#size++
  }

  get size(): number {
    return this.#size
  }
}
