// Per-query-shape statistics: for each shape of query a door answers — the HTTP door's Prisma
// model + operation + the SQL of its plan, the wire door's statement text — how often it ran, how
// often the cache answered, its latency percentiles, the time the cache saved and, when it was not
// cached, why. Parameters never reach this module: shapes are built from plans (whose values travel
// separately) and from SQL with its literals replaced by `?` (sqlShape), so no literal value is kept.
//
// Cost model. A cache hit must stay a couple of map lookups: the HTTP door keeps a shape's record on
// the cache entry itself (no lookup at all), the wire door finds it by statement text in a memo. An
// observation is a few number updates and one bucket increment in a fixed log-scale histogram — no
// allocation, no string building. Building a shape (plan walk, sqlShape, a digest for its id) happens
// on misses and uncached queries only, which pay a database round trip anyway.
import { createHash } from 'node:crypto'
import { sqlShape } from '../sql/shape.js'

export type ShapeDoor = 'http' | 'pg'

// ---- latency histogram -----------------------------------------------------------------------

// Buckets grow by 15 % from 1 µs to ~100 s: a percentile is reported within ±7.5 %, and a histogram
// is 133 counters whatever the traffic (a reservoir would have to sample; this never forgets).
const MIN_MS = 0.001
const GROWTH = 1.15
const LOG_GROWTH = Math.log(GROWTH)
const BUCKETS = Math.ceil(Math.log(100_000 / MIN_MS) / LOG_GROWTH) + 1

/** The histogram bucket of a latency (ms). Bucket 0 holds everything up to 1 µs. */
export function latencyBucket(ms: number): number {
  if (!(ms > MIN_MS)) return 0
  const i = Math.ceil(Math.log(ms / MIN_MS) / LOG_GROWTH)
  return i < BUCKETS ? i : BUCKETS - 1
}

/** The value reported for a bucket: its geometric middle. */
function bucketValue(i: number): number {
  return i === 0 ? MIN_MS : MIN_MS * GROWTH ** (i - 0.5)
}

export class LatencyHistogram {
  readonly counts = new Uint32Array(BUCKETS)
  total = 0

  add(bucket: number): void {
    this.counts[bucket]!++
    this.total++
  }

  observe(ms: number): void {
    this.add(latencyBucket(ms))
  }

  /** Adds another histogram's counts to this one. */
  merge(other: LatencyHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += other.counts[i]!
    this.total += other.total
  }

  clear(): void {
    this.counts.fill(0)
    this.total = 0
  }

  /** The q-quantile (0..1) in ms, or null when empty. */
  quantile(q: number): number | null {
    if (this.total === 0) return null
    const rank = Math.max(1, Math.ceil(q * this.total))
    let seen = 0
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!
      if (seen >= rank) return bucketValue(i)
    }
    return bucketValue(BUCKETS - 1)
  }

  summary(): LatencySummary {
    return { count: this.total, p50Ms: round(this.quantile(0.5)), p99Ms: round(this.quantile(0.99)) }
  }
}

export interface LatencySummary {
  count: number
  p50Ms: number | null
  p99Ms: number | null
}

function round(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms * 1000) / 1000
}

// ---- shapes ------------------------------------------------------------------------------------

/** The longest shape text kept (longer SQL is cut, with an ellipsis). */
const MAX_SQL_CHARS = 2000
/** Statements of one plan that make up its shape. */
const MAX_PLAN_STATEMENTS = 8

export class ShapeRecord {
  /** Short stable id (a digest of the shape), for links and the CLI. */
  readonly id: string
  count = 0
  hits = 0
  misses = 0
  /** Answered by the origin without the cache (see lastReason). */
  uncached = 0
  errors = 0
  hitMsSum = 0
  missMsSum = 0
  readonly latency = new LatencyHistogram()
  lastReason: string | undefined = undefined
  /** Wall-clock ms of lastReason. */
  lastReasonAt = 0
  /** performance.now() of the last observation (least recently seen shapes are evicted first). */
  lastSeen = 0
  /** Dropped from the table; a holder (a cache entry, the wire memo) re-inserts it on its next use. */
  evicted = false

  constructor(
    readonly key: string,
    readonly door: ShapeDoor,
    readonly tenant: string,
    /** `User.findMany`, `queryRaw`, or the statement's first keyword on the wire door. */
    readonly label: string,
    /** The normalised SQL, literals replaced by `?`. */
    readonly sql: string,
  ) {
    this.id = createHash('sha256').update(key).digest('hex').slice(0, 12)
  }

  /** Time the cache saved: every hit against the mean latency of this shape's misses (ms). */
  get savedMs(): number {
    if (this.misses === 0 || this.hits === 0) return 0
    return Math.max(0, this.hits * (this.missMsSum / this.misses) - this.hitMsSum)
  }
}

export interface ShapeSummary {
  id: string
  door: ShapeDoor
  tenant: string
  label: string
  sql: string
  count: number
  hits: number
  misses: number
  uncached: number
  errors: number
  /** hits / (hits + misses); null before the cache was asked. */
  hitRatio: number | null
  p50Ms: number | null
  p99Ms: number | null
  meanMissMs: number | null
  meanHitMs: number | null
  savedMs: number
  lastReason: string | null
  lastReasonAt: string | null
  lastSeenAt: string
}

export interface ShapeStatsOptions {
  /** Shapes kept; beyond it the least recently seen are dropped (default 1000). */
  maxShapes?: number
  /** Window of the "recent" latency percentiles, ms (default 10 s; reported over 1–2 windows). */
  recentWindowMs?: number
}

type LatencyKind = 'hit' | 'miss' | 'origin'

export class ShapeStats {
  readonly maxShapes: number
  readonly #shapes = new Map<string, ShapeRecord>()
  /**
   * Wire door: per tenant, the statement's analysis object → record. analyzeSql hands out one
   * memoised analysis per SQL shape, so every text of a shape finds its record with one lookup and
   * without running sqlShape again. Replaced (not cleared) when shapes are evicted.
   */
  #sqlMemo = new Map<string, WeakMap<object, ShapeRecord>>()
  /** Latency of every observation since start, by kind. */
  readonly #total: Record<LatencyKind, LatencyHistogram> = { hit: new LatencyHistogram(), miss: new LatencyHistogram(), origin: new LatencyHistogram() }
  // Two rotating windows: "recent" percentiles cover the current and the previous window.
  readonly #recentWindowMs: number
  #current: Record<LatencyKind, LatencyHistogram> = { hit: new LatencyHistogram(), miss: new LatencyHistogram(), origin: new LatencyHistogram() }
  #previous: Record<LatencyKind, LatencyHistogram> = { hit: new LatencyHistogram(), miss: new LatencyHistogram(), origin: new LatencyHistogram() }
  #rotateAt: number
  /** Shapes dropped to stay within maxShapes (cumulative). */
  evictions = 0
  /** Answers without the cache, by door and reason (cumulative; not bounded by maxShapes). */
  readonly #reasons: Record<ShapeDoor, Map<string, number>> = { http: new Map(), pg: new Map() }

  constructor(options: ShapeStatsOptions = {}) {
    this.maxShapes = Math.max(1, options.maxShapes ?? 1000)
    this.#recentWindowMs = options.recentWindowMs ?? 10_000
    this.#rotateAt = performance.now() + this.#recentWindowMs
  }

  get size(): number {
    return this.#shapes.size
  }

  // ---- finding shapes ----

  /**
   * The record of an HTTP-door query: model + operation + the SQL of its plan. Called on misses and
   * uncached queries (a hit finds the record on its cache entry).
   */
  forPlan(tenant: string, model: string | undefined, operation: string, plan: unknown): ShapeRecord {
    const label = model === undefined ? operation : `${model}.${operation}`
    const sql = redactSql(planSql(plan).join(';\n'))
    const key = `http\u0000${tenant}\u0000${label}\u0000${sql}`
    return this.#shapes.get(key) ?? this.#add(new ShapeRecord(key, 'http', tenant, label, sql))
  }

  /**
   * The record of a wire-door statement; literals are replaced by `?` before anything is kept.
   * `memoKey` is an object shared by every text of the statement's shape (its analysis).
   */
  forSql(tenant: string, sql: string, memoKey?: object): ShapeRecord {
    let memo = this.#sqlMemo.get(tenant)
    if (memoKey !== undefined) {
      const known = memo?.get(memoKey)
      if (known !== undefined) return known.evicted ? this.revive(known) : known
    }
    const shape = redactSql(sql)
    const key = `pg\u0000${tenant}\u0000${shape}`
    const record = this.#shapes.get(key) ?? this.#add(new ShapeRecord(key, 'pg', tenant, firstKeyword(shape), shape))
    if (memoKey !== undefined) {
      if (memo === undefined) this.#sqlMemo.set(tenant, (memo = new WeakMap()))
      memo.set(memoKey, record)
    }
    return record
  }

  /** The live record for an evicted one's shape (re-inserting it when nothing replaced it). */
  revive(record: ShapeRecord): ShapeRecord {
    const live = this.#shapes.get(record.key)
    if (live !== undefined) return live
    record.evicted = false
    return this.#add(record)
  }

  #add(record: ShapeRecord): ShapeRecord {
    record.lastSeen = performance.now()
    this.#shapes.set(record.key, record)
    // Evict in batches (10 %) so that a stream of new shapes does not sort the table every time.
    if (this.#shapes.size > this.maxShapes + Math.max(1, Math.floor(this.maxShapes / 10))) this.#evict()
    return record
  }

  #evict(): void {
    const excess = this.#shapes.size - this.maxShapes
    const oldest = [...this.#shapes.values()].sort((a, b) => a.lastSeen - b.lastSeen).slice(0, excess)
    for (const r of oldest) {
      r.evicted = true
      this.#shapes.delete(r.key)
    }
    this.evictions += oldest.length
    this.#sqlMemo = new Map()
  }

  // ---- observations (hot path: numbers only) ----

  /** A cache hit answered in `ms`; `now` is performance.now(). Returns the live record. */
  hit(r: ShapeRecord, ms: number, now: number): ShapeRecord {
    if (r.evicted) r = this.revive(r)
    r.count++
    r.hits++
    r.hitMsSum += ms
    r.lastSeen = now
    this.#observe(r, 'hit', ms, now)
    return r
  }

  /** A cache miss (the query ran and its result was offered to the cache). */
  miss(r: ShapeRecord, ms: number, now: number): void {
    if (r.evicted) r = this.revive(r)
    r.count++
    r.misses++
    r.missMsSum += ms
    r.lastSeen = now
    this.#observe(r, 'miss', ms, now)
  }

  /** Answered without the cache, for `reason`; `ms` when the door timed it. */
  uncached(r: ShapeRecord, reason: string, ms: number | undefined, now: number): void {
    if (r.evicted) r = this.revive(r)
    r.count++
    r.uncached++
    r.lastSeen = now
    this.noteReason(r, reason)
    const byReason = this.#reasons[r.door]
    byReason.set(reason, (byReason.get(reason) ?? 0) + 1)
    if (ms !== undefined) this.#observe(r, 'origin', ms, now)
  }

  /** A miss whose result was not kept (too large, unknown tables…): the shape's last reason. */
  noteReason(r: ShapeRecord, reason: string): void {
    r.lastReason = reason
    r.lastReasonAt = Date.now()
  }

  error(r: ShapeRecord, now: number): void {
    if (r.evicted) r = this.revive(r)
    r.count++
    r.errors++
    r.lastSeen = now
  }

  #observe(r: ShapeRecord, kind: LatencyKind, ms: number, now: number): void {
    const b = latencyBucket(ms)
    r.latency.add(b)
    this.#total[kind].add(b)
    if (now >= this.#rotateAt) this.#rotate(now)
    this.#current[kind].add(b)
  }

  #rotate(now: number): void {
    const old = this.#previous
    // More than a whole window without traffic: the previous window is empty too.
    const skipped = now >= this.#rotateAt + this.#recentWindowMs
    this.#previous = this.#current
    if (skipped) for (const k of KINDS) this.#previous[k].clear()
    for (const k of KINDS) old[k].clear()
    this.#current = old
    this.#rotateAt = now + this.#recentWindowMs
  }

  // ---- reading ----

  /** Latency percentiles since start and over the recent window(s), by kind. */
  latency(now = performance.now()): { total: Record<LatencyKind, LatencySummary>; recent: Record<LatencyKind, LatencySummary>; recentWindowSeconds: number } {
    if (now >= this.#rotateAt) this.#rotate(now)
    const recent = {} as Record<LatencyKind, LatencySummary>
    const total = {} as Record<LatencyKind, LatencySummary>
    for (const k of KINDS) {
      const h = new LatencyHistogram()
      h.merge(this.#previous[k])
      h.merge(this.#current[k])
      recent[k] = h.summary()
      total[k] = this.#total[k].summary()
    }
    return { total, recent, recentWindowSeconds: (2 * this.#recentWindowMs) / 1000 }
  }

  /** How many answers went without the cache, by door and reason, most frequent first. */
  notCached(): { door: ShapeDoor; reason: string; count: number }[] {
    const out: { door: ShapeDoor; reason: string; count: number }[] = []
    for (const door of ['http', 'pg'] as const) for (const [reason, count] of this.#reasons[door]) out.push({ door, reason, count })
    return out.sort((a, b) => b.count - a.count)
  }

  /** The `limit` busiest shapes (by count, then most recently seen). */
  top(limit = 50, sort: 'count' | 'saved' | 'recent' = 'count'): ShapeSummary[] {
    const all = [...this.#shapes.values()]
    const by =
      sort === 'saved'
        ? (a: ShapeRecord, b: ShapeRecord) => b.savedMs - a.savedMs || b.count - a.count
        : sort === 'recent'
          ? (a: ShapeRecord, b: ShapeRecord) => b.lastSeen - a.lastSeen
          : (a: ShapeRecord, b: ShapeRecord) => b.count - a.count || b.lastSeen - a.lastSeen
    const origin = performance.timeOrigin
    return all
      .sort(by)
      .slice(0, Math.max(0, limit))
      .map((r) => ({
        id: r.id,
        door: r.door,
        tenant: r.tenant,
        label: r.label,
        sql: r.sql,
        count: r.count,
        hits: r.hits,
        misses: r.misses,
        uncached: r.uncached,
        errors: r.errors,
        hitRatio: r.hits + r.misses === 0 ? null : r.hits / (r.hits + r.misses),
        p50Ms: round(r.latency.quantile(0.5)),
        p99Ms: round(r.latency.quantile(0.99)),
        meanMissMs: r.misses === 0 ? null : round(r.missMsSum / r.misses),
        meanHitMs: r.hits === 0 ? null : round(r.hitMsSum / r.hits),
        savedMs: Math.round(r.savedMs * 1000) / 1000,
        lastReason: r.lastReason ?? null,
        lastReasonAt: r.lastReason === undefined ? null : new Date(r.lastReasonAt).toISOString(),
        lastSeenAt: new Date(origin + r.lastSeen).toISOString(),
      }))
  }
}

const KINDS: readonly LatencyKind[] = ['hit', 'miss', 'origin']

/**
 * SQL as it may be kept and shown: literals replaced by `?` (sqlShape), comments other than a
 * leading `sluice:` hint and dollar-quoted bodies elided (they can carry values too), and cut to
 * MAX_SQL_CHARS. When sqlShape gives up (an unterminated quote), everything from the first quote is
 * dropped and digits are masked.
 */
export function redactSql(sql: string): string {
  let s = sqlShape(sql).trim()
  s = s
    .replace(/\/\*(?!\s*sluice:)[^]*?\*\//g, '/*…*/')
    .replace(/--[^\n]*/g, '--…')
    .replace(/\$([A-Za-z_][A-Za-z0-9_]*)?\$[^]*?\$\1\$/g, '$…$')
  // Left over only when sqlShape gave up: an unterminated quote, comment or dollar quote.
  const bad = s.search(/'|\/\*(?!…\*\/)(?!\s*sluice:)|\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/)
  if (bad !== -1) s = `${s.slice(0, bad).replace(/[0-9]+/g, '?')}…`
  return s.length <= MAX_SQL_CHARS ? s : `${s.slice(0, MAX_SQL_CHARS - 1)}…`
}

function firstKeyword(sql: string): string {
  const m = /^(?:\s|\/\*[^]*?\*\/|--[^\n]*\n)*([A-Za-z]+)/.exec(sql)
  return m ? m[1]!.toUpperCase() : 'statement'
}

/**
 * The SQL texts of a Prisma 7 query plan, with `?` where its parameters go. Plans carry their
 * values separately (in `args` and the request's `params`), and only the SQL text of each query
 * node is read here, so no value is picked up. Unknown plan formats give an empty list (the shape
 * is then model + operation alone).
 */
export function planSql(plan: unknown): string[] {
  const out: string[] = []
  const walk = (node: unknown, depth: number): void => {
    if (out.length >= MAX_PLAN_STATEMENTS || depth > 64 || node === null || typeof node !== 'object') return
    if (Array.isArray(node)) {
      for (const n of node) walk(n, depth + 1)
      return
    }
    const o = node as Record<string, unknown>
    if (o.type === 'templateSql' && Array.isArray(o.fragments)) {
      let sql = ''
      for (const f of o.fragments as { type?: unknown; chunk?: unknown }[]) {
        if (f?.type === 'stringChunk' && typeof f.chunk === 'string') sql += f.chunk
        else if (f?.type === 'parameter') sql += '?'
        else if (f?.type === 'parameterTuple') sql += '(?…)'
        else if (f?.type === 'parameterTupleList') sql += '(?…), …'
      }
      out.push(sql)
      return
    }
    if (o.type === 'rawSql' && typeof o.sql === 'string') {
      out.push(o.sql)
      return
    }
    for (const k in o) walk(o[k], depth + 1)
  }
  walk(plan, 0)
  return out
}
