// Per-query-shape statistics: shapes from plans and SQL without values, counts, percentiles,
// time saved, reasons, the bound on the number of shapes, and the recent-latency window.
import { describe, expect, it } from 'vitest'
import { LatencyHistogram, ShapeStats, latencyBucket, planSql, redactSql } from '../../src/observability/shape-stats.js'

/** A plan as Prisma 7 sends it (captured shape, trimmed): values live in args/params, not in the SQL. */
const plan = (where: string) => ({
  type: 'dataMap',
  args: {
    expr: {
      type: 'query',
      args: {
        type: 'templateSql',
        fragments: [
          { type: 'stringChunk', chunk: `SELECT "id" FROM "User" WHERE ${where} = ` },
          { type: 'parameter' },
          { type: 'stringChunk', chunk: ' LIMIT ' },
          { type: 'parameter' },
        ],
        args: [{ prisma__type: 'param', prisma__value: { name: '%1', type: 'Int' } }, '777123'],
        argTypes: [],
      },
    },
    structure: { type: 'object', fields: { id: { type: 'field', dbName: 'id' } } },
  },
})

describe('shapes', () => {
  it('takes the SQL of a plan with ? for parameters, never its argument values', () => {
    expect(planSql(plan('"id"'))).toEqual(['SELECT "id" FROM "User" WHERE "id" = ? LIMIT ?'])
    const seq = { type: 'seq', args: [plan('"a"'), { type: 'execute', args: { type: 'rawSql', sql: "UPDATE t SET x = 5 WHERE y = 'secret'", args: ['v'] } }] }
    expect(planSql(seq)).toEqual(['SELECT "id" FROM "User" WHERE "a" = ? LIMIT ?', "UPDATE t SET x = 5 WHERE y = 'secret'"])
    const stats = new ShapeStats()
    const r = stats.forPlan('t', undefined, 'executeRaw', seq)
    expect(r.sql).toBe('SELECT "id" FROM "User" WHERE "a" = ? LIMIT ?;\nUPDATE t SET x = ? WHERE y = ?')
    expect(r.label).toBe('executeRaw')
    expect(JSON.stringify(stats.top())).not.toMatch(/777123|secret/)
    expect(planSql({ type: 'something new' })).toEqual([])
    expect(planSql(null)).toEqual([])
  })

  it('is one record per tenant, label and SQL; different values share it', () => {
    const stats = new ShapeStats()
    const a = stats.forPlan('t1', 'User', 'findMany', plan('"id"'))
    expect(stats.forPlan('t1', 'User', 'findMany', plan('"id"'))).toBe(a)
    expect(stats.forPlan('t2', 'User', 'findMany', plan('"id"'))).not.toBe(a)
    expect(stats.forPlan('t1', 'User', 'findFirst', plan('"id"'))).not.toBe(a)
    expect(a.label).toBe('User.findMany')
    expect(a.id).toMatch(/^[0-9a-f]{12}$/)
    const w1 = stats.forSql('t1', "SELECT * FROM t WHERE id = 1 AND name = 'x'")
    expect(stats.forSql('t1', "SELECT * FROM t WHERE id = 2 AND name = 'y'")).toBe(w1)
    expect(w1).toMatchObject({ door: 'pg', label: 'SELECT', sql: 'SELECT * FROM t WHERE id = ? AND name = ?' })
    // with a memo key (the statement's analysis), the second text is found without shaping it again
    const key = {}
    const w2 = stats.forSql('t1', 'SELECT 1 FROM u WHERE a = 3', key)
    expect(stats.forSql('t1', 'SELECT 1 FROM u WHERE a = 4', key)).toBe(w2)
    expect(stats.size).toBe(5)
  })

  it('redacts comments, dollar-quoted bodies and whatever follows an unterminated quote', () => {
    expect(redactSql("SELECT 1 /* user 42 */ FROM t -- token abc\nWHERE a = 'x'")).toBe('SELECT ? /*…*/ FROM t --…\nWHERE a = ?')
    expect(redactSql('/* sluice: ttl=60 */ SELECT a FROM t WHERE b = 7')).toBe('/* sluice: ttl=60 */ SELECT a FROM t WHERE b = ?')
    expect(redactSql("DO $body$ BEGIN PERFORM 'secret'; END $body$")).toBe('DO $…$')
    expect(redactSql("SELECT 12 FROM t WHERE a = 'unterminated secret")).toBe('SELECT ? FROM t WHERE a = …')
    expect(redactSql('SELECT $1, $2')).toBe('SELECT $1, $2')
    expect(redactSql(`SELECT ${'x, '.repeat(2000)}1`).length).toBe(2000)
  })
})

describe('observations', () => {
  it('counts hits, misses, uncached answers and errors, with hit ratio, percentiles and time saved', () => {
    const stats = new ShapeStats()
    const r = stats.forPlan('t', 'User', 'findMany', plan('"id"'))
    stats.miss(r, 10, 1)
    stats.miss(r, 30, 2)
    for (let i = 0; i < 8; i++) stats.hit(r, 0.5, 3 + i)
    stats.uncached(r, 'too large', 12, 20)
    stats.error(r, 21)
    const [s] = stats.top()
    expect(s).toMatchObject({ count: 12, hits: 8, misses: 2, uncached: 1, errors: 1, meanMissMs: 20, meanHitMs: 0.5, lastReason: 'too large' })
    expect(s!.hitRatio).toBeCloseTo(0.8)
    // 8 hits × (20 ms mean miss − 0.5 ms hit)
    expect(s!.savedMs).toBeCloseTo(156)
    // p50 among 11 timed answers is a hit (0.5 ms, within the histogram's ±7.5 %), p99 the slowest miss
    expect(s!.p50Ms! / 0.5).toBeGreaterThan(0.92)
    expect(s!.p50Ms! / 0.5).toBeLessThan(1.08)
    expect(s!.p99Ms! / 30).toBeGreaterThan(0.92)
    expect(s!.p99Ms! / 30).toBeLessThan(1.08)
    expect(s!.lastReasonAt).toMatch(/^\d{4}-\d\d-\d\dT/)
    expect(stats.notCached()).toEqual([{ door: 'http', reason: 'too large', count: 1 }])
  })

  it('reports no savings before a miss was seen, and never negative savings', () => {
    const stats = new ShapeStats()
    const r = stats.forSql('t', 'SELECT 1 FROM t')
    stats.hit(r, 1, 1)
    expect(r.savedMs).toBe(0)
    stats.miss(r, 0.5, 2)
    stats.hit(r, 2, 3)
    expect(r.savedMs).toBe(0)
  })

  it('sorts by count, time saved or recency', () => {
    const stats = new ShapeStats()
    const busy = stats.forSql('t', 'SELECT a FROM busy')
    const saver = stats.forSql('t', 'SELECT a FROM saver')
    for (let i = 0; i < 5; i++) stats.uncached(busy, 'no rule or hint', undefined, 10 + i)
    stats.miss(saver, 100, 1)
    stats.hit(saver, 1, 2)
    expect(stats.top(1)[0]!.label).toBe('SELECT')
    expect(stats.top(1)[0]!.sql).toBe('SELECT a FROM busy')
    expect(stats.top(1, 'saved')[0]!.sql).toBe('SELECT a FROM saver')
    expect(stats.top(1, 'recent')[0]!.sql).toBe('SELECT a FROM busy')
    expect(stats.top(0)).toEqual([])
  })
})

describe('bounds', () => {
  it('keeps at most maxShapes (+10 % slack), dropping the least recently seen, and revives a dropped record still in use', () => {
    const stats = new ShapeStats({ maxShapes: 10 })
    const first = stats.forSql('t', 'SELECT a FROM t0')
    const kept = stats.forSql('t', 'SELECT a FROM t1')
    for (let i = 2; i < 40; i++) {
      stats.hit(kept, 1, performance.now()) // stays recently seen
      stats.forSql('t', `SELECT a FROM t${i}`)
      expect(stats.size).toBeLessThanOrEqual(11)
    }
    expect(stats.evictions).toBeGreaterThan(0)
    expect(first.evicted).toBe(true)
    expect(kept.evicted).toBe(false)
    expect(stats.top(100).map((s) => s.sql)).toContain('SELECT a FROM t1')
    // A cache entry still holding the dropped record: its next hit puts it back.
    const live = stats.hit(first, 1, performance.now())
    expect(live).toBe(first)
    expect(first.evicted).toBe(false)
    expect(stats.top(100).find((s) => s.sql === 'SELECT a FROM t0')).toMatchObject({ hits: 1 })
  })

  it('sends the hits of a dropped record to the record that replaced it', () => {
    const stats = new ShapeStats({ maxShapes: 1 })
    const old = stats.forSql('t', 'SELECT a FROM x')
    stats.forSql('t', 'SELECT a FROM y')
    stats.forSql('t', 'SELECT a FROM z') // size 3 > 1 + 1: evicts down to 1
    expect(old.evicted).toBe(true)
    const again = stats.forSql('t', 'SELECT a FROM x')
    expect(again).not.toBe(old)
    expect(stats.hit(old, 1, performance.now())).toBe(again)
  })
})

describe('latency histogram', () => {
  it('puts values in ±7.5 % buckets from 1 µs to 100 s and reads quantiles', () => {
    expect(latencyBucket(0)).toBe(0)
    expect(latencyBucket(-1)).toBe(0)
    expect(latencyBucket(Number.NaN)).toBe(0)
    expect(latencyBucket(1e9)).toBe(latencyBucket(1e12))
    const h = new LatencyHistogram()
    expect(h.quantile(0.5)).toBeNull()
    for (let i = 1; i <= 100; i++) h.observe(i)
    for (const [q, v] of [[0.5, 50], [0.99, 99], [0.01, 1]] as const) {
      expect(h.quantile(q)! / v).toBeGreaterThan(0.92)
      expect(h.quantile(q)! / v).toBeLessThan(1.08)
    }
  })

  it('reports recent latency over the current and the previous window only', () => {
    const stats = new ShapeStats({ recentWindowMs: 1000 })
    const r = stats.forSql('t', 'SELECT 1 FROM t')
    const t0 = performance.now()
    stats.hit(r, 5, t0)
    expect(stats.latency(t0).recent.hit.count).toBe(1)
    stats.hit(r, 5, t0 + 1500) // next window: the first one is now the previous
    expect(stats.latency(t0 + 1500).recent.hit.count).toBe(2)
    expect(stats.latency(t0 + 5000).recent.hit.count).toBe(0) // both windows passed
    expect(stats.latency(t0 + 5000).total.hit.count).toBe(2)
  })
})
