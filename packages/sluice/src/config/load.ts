// Resolves the configuration: flags > env > config file > defaults.
import { readFileSync } from 'node:fs'
import { z } from 'zod'
import { hashApiKey, parseKeyHash } from './api-keys.js'
import { DEFAULT_ADMIN_PORT, DEFAULT_CACHE, DEFAULT_HTTP_PORT, DEFAULT_PG_PORT, DEFAULT_MYSQL_PORT, DEFAULT_LIMITS, fileConfigSchema, isOriginUrl, ORIGIN_URL_MESSAGE, type FileConfig, type SluiceConfig, type TenantConfig } from './schema.js'
import { parseDuration, parseSize } from './units.js'

/** Options as they arrive from the command line (all optional strings). */
export interface CliOptions {
  config?: string
  origin?: string
  httpPort?: string
  host?: string
  apiKeys?: string[]
  tlsCert?: string
  tlsKey?: string
  queryTimeout?: string
  maxTransactionTimeout?: string
  maxResponseSize?: string
  maxRequestSize?: string
  region?: string
  logLevel?: string
  cacheMaxSize?: string
  invalidateRateLimit?: string
  /** "false" turns write-aware invalidation off for the --origin tenant. */
  invalidateOnWrite?: string
  redis?: string
  /** transaction | session, for the --origin tenant. */
  pgPoolMode?: string
  /** Admin port (metrics), or "off". */
  adminPort?: string
  adminHost?: string
  /** Bearer token for the admin API's mutating endpoints. */
  adminToken?: string
  /** Wire door port, or "off". */
  pgPort?: string
  /** MySQL wire door port, or "off". */
  mysqlPort?: string
  wireCache?: string
  wireCacheTtl?: string
  /** eventual | strict, for the --origin tenant. */
  consistency?: string
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}

/** Reads env vars into the same shape as flags, so precedence is a simple merge. */
export function optionsFromEnv(env: NodeJS.ProcessEnv): CliOptions {
  const keys = env.SLUICE_API_KEYS?.split(',').map((k) => k.trim()).filter(Boolean)
  return {
    config: env.SLUICE_CONFIG,
    origin: env.SLUICE_ORIGIN,
    httpPort: env.SLUICE_HTTP_PORT,
    host: env.SLUICE_HOST,
    apiKeys: keys && keys.length > 0 ? keys : undefined,
    tlsCert: env.SLUICE_TLS_CERT,
    tlsKey: env.SLUICE_TLS_KEY,
    queryTimeout: env.SLUICE_QUERY_TIMEOUT,
    maxTransactionTimeout: env.SLUICE_MAX_TRANSACTION_TIMEOUT,
    maxResponseSize: env.SLUICE_MAX_RESPONSE_SIZE,
    maxRequestSize: env.SLUICE_MAX_REQUEST_SIZE,
    region: env.SLUICE_REGION,
    logLevel: env.SLUICE_LOG_LEVEL,
    cacheMaxSize: env.SLUICE_CACHE_MAX_SIZE,
    invalidateRateLimit: env.SLUICE_INVALIDATE_RATE_LIMIT,
    invalidateOnWrite: env.SLUICE_INVALIDATE_ON_WRITE,
    redis: env.SLUICE_REDIS_URL,
    pgPort: env.SLUICE_PG_PORT,
    mysqlPort: env.SLUICE_MYSQL_PORT,
    adminPort: env.SLUICE_ADMIN_PORT,
    adminHost: env.SLUICE_ADMIN_HOST,
    adminToken: env.SLUICE_ADMIN_TOKEN,
    pgPoolMode: env.SLUICE_PG_POOL_MODE,
    wireCache: env.SLUICE_WIRE_CACHE,
    wireCacheTtl: env.SLUICE_WIRE_CACHE_TTL,
    consistency: env.SLUICE_CONSISTENCY,
  }
}

function merge(flags: CliOptions, env: CliOptions): CliOptions {
  const out: CliOptions = { ...env }
  for (const [k, v] of Object.entries(flags)) if (v !== undefined) (out as Record<string, unknown>)[k] = v
  return out
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g

/**
 * Replaces `${NAME}` in every string of the file with the environment variable NAME, so secrets
 * (origin passwords, Redis URLs) can stay out of the file. A variable that is not set is an error
 * naming the field, unless `missing` is "keep" (then the reference stays as written).
 */
export function expandEnv(value: unknown, env: NodeJS.ProcessEnv, missing: 'error' | 'keep' = 'error', path = ''): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (ref, name: string) => {
      const v = env[name]
      if (v !== undefined) return v
      if (missing === 'keep') return ref
      throw new ConfigError(`${path || '(root)'}: environment variable ${name} is not set`)
    })
  }
  if (Array.isArray(value)) return value.map((v, i) => expandEnv(v, env, missing, `${path}[${i}]`))
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = expandEnv(v, env, missing, path ? `${path}.${k}` : k)
    return out
  }
  return value
}

export function readConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): FileConfig {
  let raw: unknown
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'))
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`)
  }
  try {
    raw = expandEnv(raw, env)
  } catch (e) {
    throw new ConfigError(`invalid config file ${path}:\n  ${(e as Error).message}`)
  }
  const parsed = fileConfigSchema.safeParse(raw)
  if (!parsed.success) throw new ConfigError(`invalid config file ${path}:\n${describeIssues(parsed.error)}`)
  return parsed.data
}

/** One line per problem, each naming the field (`tenants[0].apiKeys[1]: …`). */
export function describeIssues(error: Pick<z.ZodError, 'issues'>): string {
  return error.issues
    .map((i) => {
      const path = i.path.map((p, n) => (typeof p === 'number' ? `[${p}]` : n === 0 ? String(p) : `.${String(p)}`)).join('')
      return `  ${path || '(root)'}: ${i.message}`
    })
    .join('\n')
}

function flag<T>(name: string, value: string | undefined, parse: (v: string) => T): T | undefined {
  if (value === undefined) return undefined
  try {
    return parse(value)
  } catch (e) {
    throw new ConfigError(`${name}: ${(e as Error).message}`)
  }
}

function bool(v: string): boolean {
  if (/^(true|1|yes|on)$/i.test(v)) return true
  if (/^(false|0|no|off)$/i.test(v)) return false
  throw new Error(`expected true or false, got "${v}"`)
}

function count(v: string): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0) throw new Error(`expected a whole number ≥ 0, got "${v}"`)
  return n
}

function port(v: string): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`invalid port "${v}"`)
  return n
}

/**
 * Builds the runtime configuration. `flags` win over `env`, which win over the config file,
 * which wins over the defaults.
 */
export function loadConfig(flags: CliOptions, env: NodeJS.ProcessEnv = process.env): SluiceConfig {
  const opts = merge(flags, optionsFromEnv(env))
  const file: FileConfig = opts.config ? readConfigFile(opts.config, env) : {}

  const tenants: TenantConfig[] = (file.tenants ?? []).map((t) => ({
    name: t.name,
    origin: t.origin,
    invalidateOnWrite: t.invalidateOnWrite ?? true,
    consistency: t.consistency ?? 'eventual',
    pgPoolMode: t.pgPoolMode ?? 'transaction',
    pgAuth: t.pgAuth ?? 'scram',
    apiKeyHashes: t.apiKeys.map((k) => parseKeyHash(typeof k === 'string' ? k : k.hash)),
  }))
  if (opts.origin !== undefined) {
    if (!isOriginUrl(opts.origin)) throw new ConfigError(`--origin: ${ORIGIN_URL_MESSAGE}`)
    // Keys given on the command line or in SLUICE_API_KEYS bind to the --origin tenant.
    const invalidateOnWrite = flag('--invalidate-on-write', opts.invalidateOnWrite, bool) ?? true
    const consistency = flag('--consistency', opts.consistency, (v) => {
      if (v !== 'eventual' && v !== 'strict') throw new Error(`use eventual or strict, got "${v}"`)
      return v
    }) ?? 'eventual'
    const pgPoolMode = flag('--pg-pool-mode', opts.pgPoolMode, (v) => {
      if (v !== 'transaction' && v !== 'session') throw new Error(`use transaction or session, got "${v}"`)
      return v
    }) ?? 'transaction'
    tenants.unshift({ name: 'default', origin: opts.origin, invalidateOnWrite, consistency, pgPoolMode, pgAuth: 'scram', apiKeyHashes: (opts.apiKeys ?? []).map(hashApiKey) })
  } else if (opts.apiKeys?.length) {
    throw new ConfigError('--api-key needs --origin (or bind keys to tenants in the config file)')
  }
  const names = new Set<string>()
  for (const t of tenants) {
    if (names.has(t.name)) throw new ConfigError(`tenants: duplicate tenant name "${t.name}"`)
    names.add(t.name)
  }

  const tlsCert = opts.tlsCert ?? file.http?.tls?.cert
  const tlsKey = opts.tlsKey ?? file.http?.tls?.key
  if ((tlsCert === undefined) !== (tlsKey === undefined)) throw new ConfigError('--tls-cert and --tls-key go together')

  const logLevel = opts.logLevel ?? file.logLevel ?? 'info'
  const levels = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const
  if (!(levels as readonly string[]).includes(logLevel)) throw new ConfigError(`--log-level: use one of ${levels.join(', ')}`)
  const region = opts.region ?? file.region ?? 'local'
  if (!/^[A-Za-z0-9]{1,16}$/.test(region)) throw new ConfigError('--region: use 1-16 letters or digits')

  return {
    http: {
      port: flag('--http-port', opts.httpPort, port) ?? file.http?.port ?? DEFAULT_HTTP_PORT,
      host: opts.host ?? file.http?.host ?? '0.0.0.0',
      ...(tlsCert !== undefined && tlsKey !== undefined ? { tls: { cert: tlsCert, key: tlsKey } } : {}),
    },
    region,
    logLevel: logLevel as SluiceConfig['logLevel'],
    limits: {
      queryTimeoutMs: flag('--query-timeout', opts.queryTimeout, parseDuration) ?? file.limits?.queryTimeout ?? DEFAULT_LIMITS.queryTimeoutMs,
      maxTransactionTimeoutMs:
        flag('--max-transaction-timeout', opts.maxTransactionTimeout, parseDuration) ??
        file.limits?.maxTransactionTimeout ??
        DEFAULT_LIMITS.maxTransactionTimeoutMs,
      maxResponseSize: flag('--max-response-size', opts.maxResponseSize, parseSize) ?? file.limits?.maxResponseSize ?? DEFAULT_LIMITS.maxResponseSize,
      maxRequestSize: flag('--max-request-size', opts.maxRequestSize, parseSize) ?? file.limits?.maxRequestSize ?? DEFAULT_LIMITS.maxRequestSize,
    },
    cache: {
      maxBytes: flag('--cache-max-size', opts.cacheMaxSize, parseSize) ?? file.cache?.maxSize ?? DEFAULT_CACHE.maxBytes,
      invalidateRateLimit: flag('--invalidate-rate-limit', opts.invalidateRateLimit, count) ?? file.cache?.invalidateRateLimit ?? DEFAULT_CACHE.invalidateRateLimit,
    },
    ...pgConfig(opts, file),
    ...mysqlConfig(opts, file),
    ...adminConfig(opts, file),
    ...redisConfig(opts.redis, file),
    tenants,
  }
}

function adminConfig(opts: CliOptions, file: FileConfig): Pick<SluiceConfig, 'admin'> {
  if (opts.adminPort === 'off' || (opts.adminPort === undefined && file.admin?.enabled === false)) return {}
  // An empty SLUICE_ADMIN_TOKEN= means "not set".
  const token = opts.adminToken !== undefined && opts.adminToken !== '' ? opts.adminToken : file.admin?.token
  if (token !== undefined && token.length < 16) throw new ConfigError('--admin-token: use at least 16 characters (e.g. openssl rand -hex 24)')
  return {
    admin: {
      port: flag('--admin-port', opts.adminPort, port) ?? file.admin?.port ?? DEFAULT_ADMIN_PORT,
      host: opts.adminHost ?? file.admin?.host ?? '127.0.0.1',
      ...(token !== undefined ? { token } : {}),
    },
  }
}

function pgConfig(opts: CliOptions, file: FileConfig): Pick<SluiceConfig, 'pg'> {
  const off = opts.pgPort === 'off' || (opts.pgPort === undefined && file.pg?.enabled === false)
  if (off) return {}
  const mode = opts.wireCache ?? file.pg?.cache ?? 'off'
  if (mode !== 'off' && mode !== 'auto') throw new ConfigError(`--wire-cache: use off or auto, got "${mode}"`)
  return {
    pg: {
      port: flag('--pg-port', opts.pgPort, port) ?? file.pg?.port ?? DEFAULT_PG_PORT,
      host: opts.host ?? file.pg?.host ?? file.http?.host ?? '0.0.0.0',
      cache: mode,
      requireTls: file.pg?.requireTls ?? false,
      autoTtlMs: flag('--wire-cache-ttl', opts.wireCacheTtl, parseDuration) ?? file.pg?.autoTtl ?? 60_000,
      maxResultBytes: file.pg?.maxResultSize ?? 1024 * 1024,
      rules: wireRules(file.pg?.rules),
    },
  }
}

/** Wire cache rules of a file section (both wire doors). */
function wireRules(rules: NonNullable<FileConfig['pg']>['rules']): NonNullable<SluiceConfig['pg']>['rules'] {
  return (rules ?? []).map((r) => ({
    ...(r.table !== undefined ? { table: r.table } : {}),
    ...(r.pattern !== undefined ? { pattern: r.pattern } : {}),
    // durations in the file are milliseconds after parsing; a rule without either caches for 60 s
    ttlMs: r.ttl ?? (r.swr === undefined ? 60_000 : 0),
    swrMs: r.swr ?? 0,
    tags: r.tags ?? [],
  }))
}

function mysqlConfig(opts: CliOptions, file: FileConfig): Pick<SluiceConfig, 'mysql'> {
  if (opts.mysqlPort === 'off' || (opts.mysqlPort === undefined && file.mysql?.enabled === false)) return {}
  const mode = opts.wireCache ?? file.mysql?.cache ?? 'off'
  if (mode !== 'off' && mode !== 'auto') throw new ConfigError(`--wire-cache: use off or auto, got "${mode}"`)
  return {
    mysql: {
      port: flag('--mysql-port', opts.mysqlPort, port) ?? file.mysql?.port ?? DEFAULT_MYSQL_PORT,
      host: opts.host ?? file.mysql?.host ?? file.http?.host ?? '0.0.0.0',
      cache: mode,
      auth: file.mysql?.auth ?? 'mysql_native_password',
      requireTls: file.mysql?.requireTls ?? false,
      autoTtlMs: flag('--wire-cache-ttl', opts.wireCacheTtl, parseDuration) ?? file.mysql?.autoTtl ?? 60_000,
      maxResultBytes: file.mysql?.maxResultSize ?? 1024 * 1024,
      rules: wireRules(file.mysql?.rules),
    },
  }
}

function redisConfig(flagUrl: string | undefined, file: FileConfig): Pick<SluiceConfig, 'redis'> {
  const url = flagUrl ?? file.redis?.url
  if (url === undefined || url === '') return {}
  if (!/^rediss?:\/\//.test(url)) throw new ConfigError('--redis: must be a redis:// or rediss:// URL')
  return { redis: { url, commandTimeoutMs: file.redis?.commandTimeout ?? 250 } }
}
