import { beforeAll, describe, expect, it } from 'vitest'
import { analyzeSql, initSqlParser } from '../../../src/sql/analyze.js'
import { cachePolicyForStatement, type WireCacheSettings } from '../../../src/wire/postgres/cache-policy.js'

describe('cachePolicyForStatement', () => {
  beforeAll(() => initSqlParser())

  it('decides once per statement and settings, and still reports the reason every time', () => {
    const off: WireCacheSettings = { mode: 'off', autoTtlMs: 60_000, maxResultBytes: 1 << 20 }
    const reasons: string[] = []
    const sql = 'SELECT * FROM accounts WHERE id = $1'
    const a = analyzeSql(sql)
    expect(cachePolicyForStatement(sql, a, off, (r) => reasons.push(r))).toBeNull()
    expect(cachePolicyForStatement(sql, a, off, (r) => reasons.push(r))).toBeNull()
    expect(reasons).toEqual(['no rule or hint', 'no rule or hint'])

    // New settings (a reload) decide anew.
    const auto: WireCacheSettings = { ...off, mode: 'auto' }
    const p = cachePolicyForStatement(sql, a, auto)
    // marked as Sluice's own choice: reads of volatile views are then not stored (QueryCache)
    expect(p).toEqual({ ttlMs: 60_000, swrMs: 0, tags: [], auto: true })
    expect(cachePolicyForStatement(sql, a, auto)).toBe(p)
    expect(Object.isFrozen(p)).toBe(true)

    const volatile = 'SELECT now(), * FROM accounts'
    expect(cachePolicyForStatement(volatile, analyzeSql(volatile), auto, (r) => reasons.push(r))).toBeNull()
    expect(reasons.at(-1)).toBe('volatile function')
  })

  it('a table rule follows the analysis of the statement (its default schema), not only its text', () => {
    const settings: WireCacheSettings = {
      mode: 'off',
      autoTtlMs: 60_000,
      maxResultBytes: 1 << 20,
      rules: [{ table: 'public.accounts', policy: { ttlMs: 5_000, swrMs: 0, tags: [] } }],
    }
    const sql = 'SELECT * FROM accounts'
    expect(cachePolicyForStatement(sql, analyzeSql(sql, 'public'), settings)?.ttlMs).toBe(5_000)
    expect(cachePolicyForStatement(sql, analyzeSql(sql, 'other'), settings)).toBeNull()
    expect(cachePolicyForStatement(sql, analyzeSql(sql, 'public'), settings)?.ttlMs).toBe(5_000)
  })
  it('texts that differ only in literals share one decision; a hint or a pattern rule is still honoured', () => {
    const auto: WireCacheSettings = { mode: 'auto', autoTtlMs: 60_000, maxResultBytes: 1 << 20 }
    const one = 'SELECT * FROM accounts WHERE id = 1'
    const two = 'SELECT * FROM accounts WHERE id = 2'
    expect(cachePolicyForStatement(two, analyzeSql(two), auto)).toBe(cachePolicyForStatement(one, analyzeSql(one), auto))
    const hinted = '/* sluice: ttl=5 */ SELECT * FROM accounts WHERE id = 3'
    expect(cachePolicyForStatement(hinted, analyzeSql(hinted), auto)?.ttlMs).toBe(5_000)
    expect(cachePolicyForStatement(hinted, analyzeSql(hinted), auto)?.auto).toBeUndefined() // the caller's own ttl
    expect(cachePolicyForStatement(one, analyzeSql(one), auto)?.ttlMs).toBe(60_000)

    // A pattern may see literals: such settings decide per text.
    const patterned: WireCacheSettings = { mode: 'off', autoTtlMs: 60_000, maxResultBytes: 1 << 20, rules: [{ pattern: /id = 7\b/, policy: { ttlMs: 7_000, swrMs: 0, tags: [] } }] }
    const seven = 'SELECT * FROM accounts WHERE id = 7'
    const eight = 'SELECT * FROM accounts WHERE id = 8'
    expect(cachePolicyForStatement(seven, analyzeSql(seven), patterned)?.ttlMs).toBe(7_000)
    expect(cachePolicyForStatement(eight, analyzeSql(eight), patterned)).toBeNull()
    expect(analyzeSql(seven)).toBe(analyzeSql(eight))
  })
})
