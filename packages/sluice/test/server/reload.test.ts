// What a reload applies and what it leaves for a restart (the pure comparison; the live reload of a
// running process is tested in test/cli/reload.test.ts).
import { describe, expect, it } from 'vitest'
import { hashApiKey } from '../../src/config/api-keys.js'
import { DEFAULT_CACHE, DEFAULT_LIMITS, type SluiceConfig } from '../../src/config/schema.js'
import { afterReload, compareConfigs } from '../../src/server/reload.js'

function config(over: Partial<SluiceConfig> = {}): SluiceConfig {
  return {
    http: { port: 4466, host: '0.0.0.0' },
    region: 'local',
    logLevel: 'info',
    limits: { ...DEFAULT_LIMITS },
    cache: { ...DEFAULT_CACHE },
    admin: { port: 9466, host: '127.0.0.1' },
    pg: { port: 6433, host: '0.0.0.0', cache: 'off', requireTls: false, autoTtlMs: 60_000, maxResultBytes: 1 << 20, rules: [] },
    tenants: [
      { name: 'a', origin: 'postgresql://u@db/a', invalidateOnWrite: true, consistency: 'eventual', pgPoolMode: 'transaction', pgAuth: 'scram', apiKeyHashes: [hashApiKey('ka')] },
      { name: 'b', origin: 'postgresql://u@db/b', invalidateOnWrite: true, consistency: 'eventual', pgPoolMode: 'transaction', pgAuth: 'scram', apiKeyHashes: [hashApiKey('kb')] },
    ],
    ...over,
  }
}

describe('compareConfigs', () => {
  it('finds nothing to do in an identical configuration', () => {
    expect(compareConfigs(config(), config())).toMatchObject({ applied: [], needsRestart: [], keysChanged: false })
  })

  it('applies keys, wire cache rules and the log level', () => {
    const next = config({ logLevel: 'debug' })
    next.tenants[1]!.apiKeyHashes = [hashApiKey('kb2')]
    next.pg!.rules = [{ table: 'items', ttlMs: 1000, swrMs: 0, tags: [] }]
    expect(compareConfigs(config(), next)).toEqual({ applied: ['keys', 'pg.rules', 'logLevel'], needsRestart: [], keysChanged: true, pgCacheChanged: true, logLevelChanged: true })
  })

  it('reports listener, limit, cache, Redis and tenant changes as needing a restart, by their config-file names', () => {
    const running = config()
    const next = config({
      http: { port: 5000, host: '0.0.0.0', tls: { cert: 'c', key: 'k' } },
      limits: { ...DEFAULT_LIMITS, queryTimeoutMs: 1 },
      cache: { ...DEFAULT_CACHE, maxBytes: 1 },
      redis: { url: 'redis://r', commandTimeoutMs: 250 },
    })
    next.pg!.port = 7000
    next.tenants[0]!.origin = 'postgresql://u@db/other'
    next.tenants.push({ ...next.tenants[1]!, name: 'c' })
    expect(compareConfigs(running, next).needsRestart).toEqual([
      'http.port', 'http.tls', 'limits.queryTimeout', 'cache.maxSize', 'redis', 'pg.port', 'tenants.a (origin or options)', 'tenants.c (new tenant)',
    ])
  })

  it('revokes the keys of a removed tenant now', () => {
    const next = config()
    next.tenants.pop()
    const diff = compareConfigs(config(), next)
    expect(diff.applied).toEqual(['keys'])
    expect(diff.needsRestart).toEqual([expect.stringMatching(/^tenants\.b \(removed/)])
  })
})

describe('afterReload', () => {
  it('keeps the started listeners and limits, takes keys, rules and log level from the new file', () => {
    const next = config({ logLevel: 'warn', limits: { ...DEFAULT_LIMITS, queryTimeoutMs: 1 } })
    next.pg!.rules = [{ table: 'items', ttlMs: 1000, swrMs: 0, tags: [] }]
    next.tenants[0]!.apiKeyHashes = [hashApiKey('ka2')]
    next.tenants.pop()
    const running = afterReload(config(), next)
    expect(running.limits.queryTimeoutMs).toBe(DEFAULT_LIMITS.queryTimeoutMs)
    expect(running.logLevel).toBe('warn')
    expect(running.pg!.rules).toEqual(next.pg!.rules)
    expect(running.tenants.map((t) => [t.name, t.apiKeyHashes.length])).toEqual([['a', 1], ['b', 0]])
    // Reloading the same file again applies nothing and still reports what needs a restart.
    const again = compareConfigs(running, next)
    expect(again.applied).toEqual([])
    expect(again.needsRestart).toEqual(['limits.queryTimeout', expect.stringMatching(/^tenants\.b \(removed/)])
  })
})
