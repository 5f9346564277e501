import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { formatKeyHash, hashApiKey } from '../../src/config/api-keys.js'
import { ConfigError, loadConfig } from '../../src/config/load.js'

function configFile(content: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sluice-load-')), 'sluice.json')
  writeFileSync(file, JSON.stringify(content))
  return file
}

describe('loadConfig', () => {
  it('uses the defaults of Accelerate’s base plan', () => {
    const c = loadConfig({ origin: 'postgresql://db/app', apiKeys: ['k'] }, {})
    expect(c.http.port).toBe(4466)
    expect(c.limits).toMatchObject({ queryTimeoutMs: 10_000, maxTransactionTimeoutMs: 15_000, maxResponseSize: 5 * 1024 * 1024 })
    expect(c.tenants).toHaveLength(1)
    expect(c.tenants[0]!.apiKeyHashes[0]!.equals(hashApiKey('k'))).toBe(true)
  })

  it('flags win over env, env over the file, the file over defaults', () => {
    const file = configFile({ http: { port: 5000 }, limits: { queryTimeout: '3s', maxResponseSize: '1mb' }, region: 'FILE' })
    const env = { SLUICE_CONFIG: file, SLUICE_HTTP_PORT: '6000', SLUICE_QUERY_TIMEOUT: '4s' }
    const c = loadConfig({ httpPort: '7000' }, env)
    expect(c.http.port).toBe(7000)
    expect(c.limits.queryTimeoutMs).toBe(4000)
    expect(c.limits.maxResponseSize).toBe(1024 * 1024)
    expect(c.region).toBe('FILE')
    expect(loadConfig({}, { SLUICE_CONFIG: file }).http.port).toBe(5000)
  })

  it('binds hashed keys of the file to their tenants and SLUICE_API_KEYS to --origin', () => {
    const file = configFile({ tenants: [{ name: 'shop', origin: 'postgresql://db/shop', apiKeys: [formatKeyHash(hashApiKey('shop-key'))] }] })
    const c = loadConfig({ config: file, origin: 'postgresql://db/main' }, { SLUICE_API_KEYS: 'a, b' })
    expect(c.tenants.map((t) => t.name)).toEqual(['default', 'shop'])
    expect(c.tenants[0]!.apiKeyHashes).toHaveLength(2)
    expect(c.tenants[1]!.apiKeyHashes[0]!.equals(hashApiKey('shop-key'))).toBe(true)
  })

  it('configures the Redis tier and per-tenant consistency', () => {
    const file = configFile({
      redis: { url: 'redis://cache:6379', commandTimeout: '100ms' },
      tenants: [{ name: 's', origin: 'postgresql://db/s', apiKeys: [formatKeyHash(hashApiKey('k'))], consistency: 'strict' }],
    })
    const c = loadConfig({ config: file }, {})
    expect(c.redis).toEqual({ url: 'redis://cache:6379', commandTimeoutMs: 100 })
    expect(c.tenants[0]!.consistency).toBe('strict')
    const flags = loadConfig({ origin: 'postgresql://db/x', redis: 'rediss://r:6380', consistency: 'strict' }, {})
    expect(flags.redis?.url).toBe('rediss://r:6380')
    expect(flags.tenants[0]!.consistency).toBe('strict')
    expect(loadConfig({ origin: 'postgresql://db/x' }, { SLUICE_REDIS_URL: 'redis://env:1' }).redis?.url).toBe('redis://env:1')
    expect(loadConfig({ origin: 'postgresql://db/x' }, {}).redis).toBeUndefined()
    expect(() => loadConfig({ origin: 'postgresql://db/x', redis: 'http://nope' }, {})).toThrow(/--redis/)
    expect(() => loadConfig({ origin: 'postgresql://db/x', consistency: 'sometimes' }, {})).toThrow(/--consistency/)
  })

  it('reads wire-door settings and cache rules', () => {
    const file = configFile({ pg: { port: 7000, cache: 'auto', autoTtl: '5s', rules: [{ table: 'public.kv', ttl: '30s', tags: ['kv'] }, { pattern: '^SELECT', swr: '10s' }] } })
    const c = loadConfig({ config: file }, {})
    expect(c.pg).toMatchObject({ port: 7000, cache: 'auto', autoTtlMs: 5000 })
    expect(c.pg!.rules).toEqual([
      { table: 'public.kv', ttlMs: 30_000, swrMs: 0, tags: ['kv'] },
      { pattern: '^SELECT', ttlMs: 0, swrMs: 10_000, tags: [] },
    ])
    expect(loadConfig({ pgPort: 'off' }, {}).pg).toBeUndefined()
    expect(loadConfig({}, {}).pg?.port).toBe(6433)
    expect(() => loadConfig({ config: configFile({ pg: { rules: [{ ttl: '1s' }] } }) }, {})).toThrow(/pg.rules\[0\]: a rule needs a table or a pattern/)
    expect(() => loadConfig({ config: configFile({ pg: { rules: [{ pattern: '(' }] } }) }, {})).toThrow(/pg.rules\[0\].pattern/)
    expect(() => loadConfig({ wireCache: 'sometimes' }, {})).toThrow(/--wire-cache/)
  })

  it('names the field and the problem', () => {
    const bad = (content: unknown) => {
      try {
        loadConfig({ config: configFile(content) }, {})
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError)
        return (e as Error).message
      }
      throw new Error('no error')
    }
    expect(bad({ limits: { queryTimeout: 'soon' } })).toContain('limits.queryTimeout')
    expect(bad({ tenants: [{ name: 'x', origin: 'sqlserver://db/x', apiKeys: [formatKeyHash(hashApiKey('k'))] }] })).toContain('tenants[0].origin')
    expect(bad({ tenants: [{ name: 'x', origin: 'postgresql://db/x', apiKeys: ['clear'] }] })).toContain('tenants[0].apiKeys[0]')
    expect(bad({ htp: {} })).toMatch(/htp|unrecognized/i)
    expect(() => loadConfig({ apiKeys: ['k'] }, {})).toThrow(/--api-key needs --origin/)
    expect(() => loadConfig({ origin: 'postgresql://db/x', tlsCert: 'c.pem' }, {})).toThrow(/go together/)
    expect(() => loadConfig({ origin: 'postgresql://db/x', maxResponseSize: 'huge' }, {})).toThrow(/--max-response-size/)
  })
})

describe('secrets from the environment', () => {
  it('expands ${VAR} in the config file, and names the field when VAR is not set', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-env-'))
    const file = join(dir, 'sluice.json')
    writeFileSync(file, JSON.stringify({
      redis: { url: '${REDIS_URL}' },
      tenants: [{ name: 'a', origin: 'postgresql://app:${DB_PASSWORD}@db/app', apiKeys: [`sha256:${'a'.repeat(64)}`] }],
    }))
    const config = loadConfig({ config: file }, { DB_PASSWORD: 's3cret', REDIS_URL: 'redis://:pw@cache:6379' })
    expect(config.tenants[0]!.origin).toBe('postgresql://app:s3cret@db/app')
    expect(config.redis?.url).toBe('redis://:pw@cache:6379')
    expect(() => loadConfig({ config: file }, { REDIS_URL: 'redis://cache' })).toThrow(/tenants\[0\]\.origin: environment variable DB_PASSWORD is not set/)
  })
})
