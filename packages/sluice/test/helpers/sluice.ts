// Starts an in-process Sluice for a test, on a free port, with quiet logs.
import type { Logger } from 'pino'
import { hashApiKey } from '../../src/config/api-keys.js'
import { DEFAULT_CACHE, DEFAULT_LIMITS, type Limits, type SluiceConfig } from '../../src/config/schema.js'
import { startSluice as start, type RunningSluice, type SluiceHooks } from '../../src/server/sluice.js'

export interface TestSluiceOptions {
  /** Origin URL for the default tenant (with apiKeys). */
  origin?: string
  apiKeys?: string[]
  /** Extra tenants: name → { origin, apiKeys }. */
  tenants?: { name: string; origin: string; apiKeys: string[]; invalidateOnWrite?: boolean; consistency?: 'eventual' | 'strict'; pgPoolMode?: 'transaction' | 'session'; pgAuth?: 'scram' | 'md5' | 'cleartext' }[]
  pgPoolMode?: 'transaction' | 'session'
  consistency?: 'eventual' | 'strict'
  redis?: string
  hooks?: SluiceHooks
  /** Start the Postgres wire door (on a free port). */
  pg?: { requireTls?: boolean; cache?: 'off' | 'auto'; autoTtlMs?: number; maxResultBytes?: number; rules?: NonNullable<SluiceConfig['pg']>['rules'] }
  /** Start the MySQL wire door (on a free port). */
  mysql?: { cache?: 'off' | 'auto' }
  invalidateOnWrite?: boolean
  cacheMaxBytes?: number
  invalidateRateLimit?: number
  limits?: Partial<Limits>
  tls?: { cert: string; key: string }
  region?: string
  logLevel?: SluiceConfig['logLevel']
  /** Where logs go (default: stderr at logLevel). */
  logger?: Logger
  /** Admin API token (mutating endpoints); none by default. */
  adminToken?: string
}

export interface TestSluice {
  sluice: RunningSluice
  port: number
  /** Base URL for raw HTTP requests. */
  httpUrl: string
  /** Wire door URL for a database URL of the origin (same user, database and password; Sluice's host and port). */
  pgUrl(originUrl: string): string
  /** `prisma+postgres://localhost:PORT/?api_key=KEY` (plain HTTP, accepted by the stock extension). */
  accelerateUrl(apiKey?: string): string
  close(): Promise<void>
}

export async function startSluice(options: TestSluiceOptions): Promise<TestSluice> {
  const tenants = [
    ...(options.origin ? [{ name: 'default', origin: options.origin, apiKeys: options.apiKeys ?? ['test-key'], invalidateOnWrite: options.invalidateOnWrite, consistency: options.consistency, pgPoolMode: options.pgPoolMode }] : []),
    ...(options.tenants ?? []),
  ]
  const config: SluiceConfig = {
    http: { port: 0, host: '127.0.0.1', ...(options.tls ? { tls: options.tls } : {}) },
    admin: { port: 0, host: '127.0.0.1', ...(options.adminToken !== undefined ? { token: options.adminToken } : {}) },
    region: options.region ?? 'TST',
    logLevel: options.logLevel ?? (process.env.SLUICE_TEST_LOG as SluiceConfig['logLevel']) ?? 'silent',
    limits: { ...DEFAULT_LIMITS, ...options.limits },
    cache: { maxBytes: options.cacheMaxBytes ?? DEFAULT_CACHE.maxBytes, invalidateRateLimit: options.invalidateRateLimit ?? 0 },
    ...(options.redis ? { redis: { url: options.redis, commandTimeoutMs: 250 } } : {}),
    ...(options.pg
      ? { pg: { port: 0, host: '127.0.0.1', requireTls: options.pg.requireTls ?? false, cache: options.pg.cache ?? 'off', autoTtlMs: options.pg.autoTtlMs ?? 60_000, maxResultBytes: options.pg.maxResultBytes ?? 1024 * 1024, rules: options.pg.rules ?? [] } }
      : {}),
    ...(options.mysql
      ? { mysql: { port: 0, host: '127.0.0.1', cache: options.mysql.cache ?? 'off', auth: 'mysql_native_password', requireTls: false, autoTtlMs: 60_000, maxResultBytes: 1024 * 1024, rules: [] } }
      : {}),
    tenants: tenants.map((t) => ({
      name: t.name,
      origin: t.origin,
      invalidateOnWrite: t.invalidateOnWrite ?? true,
      consistency: t.consistency ?? 'eventual',
      pgPoolMode: t.pgPoolMode ?? 'transaction',
      pgAuth: t.pgAuth ?? 'scram',
      apiKeyHashes: t.apiKeys.map(hashApiKey),
    })),
  }
  const sluice = await start(config, options.logger, options.hooks)
  const port = sluice.httpPort
  const scheme = options.tls ? 'https' : 'http'
  return {
    sluice,
    port,
    httpUrl: `${scheme}://127.0.0.1:${port}`,
    accelerateUrl: (apiKey = tenants[0]?.apiKeys[0] ?? 'test-key') => `prisma+postgres://localhost:${port}/?api_key=${encodeURIComponent(apiKey)}`,
    pgUrl: (originUrl: string) => {
      const u = new URL(originUrl)
      u.hostname = '127.0.0.1'
      u.port = String(sluice.pgPort)
      for (const k of ['connection_limit', 'pool_timeout']) u.searchParams.delete(k)
      return u.toString()
    },
    close: () => sluice.close(1000),
  }
}
