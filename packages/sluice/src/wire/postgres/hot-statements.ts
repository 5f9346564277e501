// Statements answered from the cache, remembered by their text so that the next time they come the
// hit path skips the work that only depends on the text: the analysis, the cache decision and the
// cache key (building a key string means hashing it again on every lookup). What they found is a
// pure function of the text, the session's key space (tenant, origin, database, user, settings) and
// the cache rules in force, so a record is used only in the key space it was made in and only while
// the same rules object is in force (a reload makes new rules, hence new decisions). Freshness is
// not remembered: every hit still asks the cache, with the entry it was last answered with when
// that is small (QueryCache.getKnown: no map lookup while the cache still holds that entry and
// nothing was invalidated since).
//
// Simple-protocol texts have one record each (HotStatement). Extended-protocol executions are
// remembered by their statement text too (HotExecution), and within it by the Bind's parameter
// bytes, which are the rest of their key.
import type { CacheEntry, CachePolicy } from '../../cache/query-cache.js'
import type { StatementAnalysis } from '../../sql/analyze.js'
import type { WireCacheSettings } from './cache-policy.js'

/**
 * The entry a statement was last answered with and the bytes sent for it — what precedes the rows
 * (ParseComplete, BindComplete), the rows and ReadyForQuery — in one buffer: small results only, so
 * that what records hold outside the cache's byte bound stays small (at most HOT_LIMIT × 2 ×
 * JOINED_ANSWER_MAX, plus the entries' own few hundred bytes, when the cache has dropped them).
 */
export interface KnownAnswer {
  entry: CacheEntry | undefined
  /** What preceded the rows in `answer` (one of a few shared buffers, compared by identity). */
  head: Buffer | undefined
  answer: Buffer | undefined
}

interface Decided {
  readonly analysis: StatementAnalysis
  readonly policy: CachePolicy
  /** The rules the decision was made under. */
  readonly rules: WireCacheSettings
}

/** A simple-protocol text answered from the cache. */
export interface HotStatement extends Decided, KnownAnswer {
  /** The full cache key (one string object: its hash is computed once). */
  readonly key: string
}

/** An extended-protocol execution (Parse? Bind Describe? Execute Sync) answered from the cache. */
export interface HotExecution extends Decided {
  /** How it was sent — part of its key or of its answer — as later executions must match. */
  readonly parse: boolean
  readonly describe: boolean
  readonly paramTypes: Buffer
  /** The cache key up to the Bind's parameters. */
  readonly keyHead: string
  /** What it was last answered with, by the Bind's parameters (their bytes as a latin1 string). */
  readonly byParams: Map<string, KnownAnswer>
}

/** Results up to this size are kept joined with what goes around them (one write, no copy per hit). */
export const JOINED_ANSWER_MAX = 2 * 1024

/**
 * `head`, the entry's rows and `ready` in one buffer, made once per entry and head and kept with
 * them; undefined for results above JOINED_ANSWER_MAX (sent as they are, and not kept).
 */
export function joinedAnswer(known: KnownAnswer, entry: CacheEntry, head: Buffer | undefined, ready: Buffer): Buffer | undefined {
  if (known.entry !== entry || known.head !== head) {
    const rows = entry.payload
    if (rows.length > JOINED_ANSWER_MAX) {
      known.entry = known.head = known.answer = undefined
      return undefined
    }
    known.entry = entry
    known.head = head
    known.answer = head === undefined ? Buffer.concat([rows, ready]) : Buffer.concat([head, rows, ready])
  }
  return known.answer
}

/** Longer texts are not remembered (each record holds its text and its key). */
export const HOT_TEXT_MAX = 4 * 1024

/** Records (and parameter sets of executions) kept across all key spaces; past it every table starts again. */
export const HOT_LIMIT = 10_000

export class HotStatements<R extends Decided> {
  readonly #spaces = new Map<string, Map<string, R>>()
  #size = 0

  /** The table of one key space; sessions keep it while their key space stays the same. */
  space(id: string): Map<string, R> {
    let space = this.#spaces.get(id)
    if (space === undefined) this.#spaces.set(id, (space = new Map()))
    return space
  }

  /**
   * Keeps `record` for `sql` unless a record made under the same rules is there already; returns
   * the record kept for it, or undefined when the text is too long to keep.
   */
  remember(space: Map<string, R>, sql: string, record: R): R | undefined {
    if (sql.length > HOT_TEXT_MAX) return undefined
    const known = space.get(sql)
    if (known !== undefined) {
      if (known.rules === record.rules) return known
      // One made under rules since replaced is of no use any more.
      space.set(sql, record)
      return record
    }
    this.#makeRoom()
    space.set(sql, record)
    this.#size++
    return record
  }

  /** What an execution record answered for one more set of parameters (counted like a record). */
  knownFor(execution: HotExecution, params: string): KnownAnswer | undefined {
    let known = execution.byParams.get(params)
    if (known === undefined) {
      if (params.length > HOT_TEXT_MAX) return undefined
      this.#makeRoom()
      execution.byParams.set(params, (known = { entry: undefined, head: undefined, answer: undefined }))
      this.#size++
    }
    return known
  }

  #makeRoom(): void {
    if (this.#size < HOT_LIMIT) return
    // Cleared in place: sessions hold their tables.
    for (const s of this.#spaces.values()) s.clear()
    this.#size = 0
  }

  get size(): number {
    return this.#size
  }
}
