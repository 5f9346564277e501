// The options of `sluice start`, shared with `sluice check-config` so both read the same configuration.
import { parseArgs } from 'node:util'
import type { CliOptions } from '../config/load.js'

const STRING = { type: 'string' } as const

// option name → CliOptions field
const FIELDS = {
  origin: 'origin',
  config: 'config',
  'http-port': 'httpPort',
  host: 'host',
  'tls-cert': 'tlsCert',
  'tls-key': 'tlsKey',
  'query-timeout': 'queryTimeout',
  'max-transaction-timeout': 'maxTransactionTimeout',
  'max-response-size': 'maxResponseSize',
  'max-request-size': 'maxRequestSize',
  region: 'region',
  'log-level': 'logLevel',
  'cache-max-size': 'cacheMaxSize',
  'invalidate-rate-limit': 'invalidateRateLimit',
  'invalidate-on-write': 'invalidateOnWrite',
  redis: 'redis',
  consistency: 'consistency',
  'pg-port': 'pgPort',
  'pg-pool-mode': 'pgPoolMode',
  'mysql-port': 'mysqlPort',
  'admin-port': 'adminPort',
  'admin-token': 'adminToken',
  'wire-cache': 'wireCache',
  'wire-cache-ttl': 'wireCacheTtl',
} as const satisfies Record<string, Exclude<keyof CliOptions, 'apiKeys'>>

/** Parses `sluice start` arguments (strictly: an unknown flag is an error). */
export function parseStartOptions(args: string[]): { help: boolean; flags: CliOptions } {
  const options = Object.fromEntries(Object.keys(FIELDS).map((k) => [k, STRING]))
  const { values } = parseArgs({
    args,
    options: { ...options, 'api-key': { type: 'string', multiple: true }, help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: false,
  })
  const v = values as Record<string, string | string[] | boolean | undefined>
  const flags: CliOptions = { apiKeys: v['api-key'] as string[] | undefined }
  for (const [option, field] of Object.entries(FIELDS)) flags[field] = v[option] as string | undefined
  return { help: v.help === true, flags }
}
