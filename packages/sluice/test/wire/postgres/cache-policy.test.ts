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
    expect(p).toEqual({ ttlMs: 60_000, swrMs: 0, tags: [] })
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
})
