#!/usr/bin/env node
// The `sluice` command line.
import { parseArgs } from 'node:util'
import { readFileSync } from 'node:fs'
import { ConfigError, loadConfig } from '../config/load.js'
import type { SluiceConfig } from '../config/schema.js'
import { generateApiKey, hashApiKey } from '../config/api-keys.js'
import { startSluice, type RunningSluice } from '../server/sluice.js'
import { redactUrl } from '../pool/origin-url.js'
import { describeSupported } from '../executor/registry.js'
import { runDev } from '../server/dev.js'
import { checkConfig, invalidate } from './commands.js'
import { keys } from './keys.js'
import { parseStartOptions } from './start-options.js'
import { stats } from './stats.js'

const VERSION: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version

const START_HELP = `Usage: sluice start --origin <database-url> [options]

Runs Sluice in front of a PostgreSQL database.

Options (env var in brackets):
  --origin <url>                   origin database URL; connection_limit and pool_timeout
                                   in its query string size the pool [SLUICE_ORIGIN]
  --api-key <key>                  API key for the origin; repeat for several [SLUICE_API_KEYS, comma-separated]
  --config <file>                  JSON config file (tenants, keys, limits) [SLUICE_CONFIG]
  --http-port <port>               HTTP door port, default 4466 [SLUICE_HTTP_PORT]
  --host <addr>                    listen address, default 0.0.0.0 [SLUICE_HOST]
  --tls-cert <file> --tls-key <file>  serve HTTPS (needed for prisma:// URLs) [SLUICE_TLS_CERT, SLUICE_TLS_KEY]
  --query-timeout <duration>       e.g. 10s, 500ms; default 10s [SLUICE_QUERY_TIMEOUT]
  --max-transaction-timeout <d>    default 15s [SLUICE_MAX_TRANSACTION_TIMEOUT]
  --max-response-size <size>       e.g. 5mb; default 5mb [SLUICE_MAX_RESPONSE_SIZE]
  --max-request-size <size>        default 16mb [SLUICE_MAX_REQUEST_SIZE]
  --cache-max-size <size>          bound of the in-memory result cache, default 256mb [SLUICE_CACHE_MAX_SIZE]
  --invalidate-rate-limit <n>      invalidate calls per tenant per minute, 0 = unlimited (default) [SLUICE_INVALIDATE_RATE_LIMIT]
  --invalidate-on-write <bool>     writes through Sluice invalidate cached reads of the tables they
                                   wrote; default true [SLUICE_INVALIDATE_ON_WRITE]
  --admin-port <port|off>          admin listener on 127.0.0.1 (dashboard at /, /metrics, /api/stats),
                                   default 9466 [SLUICE_ADMIN_PORT]
  --admin-token <token>            bearer token for the admin API's changes (POST /api/invalidate,
                                   the dashboard's invalidate form); without it they are refused [SLUICE_ADMIN_TOKEN]
  --pg-port <port|off>             Postgres wire door, default 6433 [SLUICE_PG_PORT]
  --pg-pool-mode <mode>            transaction (default) or session pooling [SLUICE_PG_POOL_MODE]
  --mysql-port <port|off>          MySQL wire door for mysql:// and mariadb:// origins, default 3307 [SLUICE_MYSQL_PORT]
  --wire-cache <off|auto>          off: cache only statements with a /* sluice: ttl=… */ hint (default);
                                   auto: every safe read (both wire doors) [SLUICE_WIRE_CACHE]
  --wire-cache-ttl <duration>      ttl of auto-cached reads, default 60s [SLUICE_WIRE_CACHE_TTL]
  --redis <url>                    share the cache between nodes through Redis/Valkey
                                   (redis://, rediss://; ?cluster=true for Cluster) [SLUICE_REDIS_URL]
  --consistency <mode>             with --redis: eventual (default) or strict [SLUICE_CONSISTENCY]
  --region <name>                  region reported in cf-ray, default "local" [SLUICE_REGION]
  --log-level <level>              trace|debug|info|warn|error|silent, default info [SLUICE_LOG_LEVEL]
  -h, --help                       this help

Flags win over env vars, which win over the config file; strings in the file may name env vars
as \${NAME} (secrets stay out of the file). "sluice check-config" validates all of it.

Signals: SIGHUP reloads API keys, wire cache rules (pg.rules, pg.cache…) and the log level without
dropping connections (other changes need a restart and are logged as such); SIGTERM/SIGINT drain
in-flight work and stop.
Supported Prisma Client versions: ${describeSupported()}.`

const DEV_HELP = `Usage: sluice dev [--http-port <port>] [--data-dir <dir>]

Runs Sluice on an embedded PostgreSQL (PGlite) with an in-memory cache, for local development.
Prints the accelerateUrl to paste into new PrismaClient({ accelerateUrl }).

Options:
  --http-port <port>   HTTP door port, default 4466
  --pg-port <port>     port of the embedded database's TCP socket, default 0 (any free port)
  --data-dir <dir>     keep the embedded database on disk (default: in memory)
  --api-key <key>      use this key instead of a generated one
  --log-level <level>  default warn`

const MAIN_HELP = `Usage: sluice <command> [options]

Commands:
  start          run Sluice in front of your database (see: sluice start --help)
  dev            run Sluice on an embedded database for local development
  check-config   validate the configuration without starting
  keys           create, list and revoke API keys (stored hashed in the config file)
  invalidate     drop cached results of a tenant on a running Sluice (--tag … | --all)
  stats          top query shapes of a running Sluice (hit rate, latency, why not cached)
  version        print the version

Run "sluice <command> --help" for the options of a command.`

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  switch (command) {
    case 'start':
      return start(rest)
    case 'dev':
      return dev(rest)
    case 'check-config':
      return checkConfig(rest)
    case 'keys':
      return keys(rest)
    case 'invalidate':
      return invalidate(rest)
    case 'stats':
      return stats(rest)
    case 'version':
    case '--version':
    case '-v':
      if (rest[0] === '--help' || rest[0] === '-h') {
        console.log('Usage: sluice version\n\nPrints the version of Sluice.')
        return 0
      }
      console.log(VERSION)
      return 0
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(MAIN_HELP)
      return command === undefined ? 1 : 0
    default:
      console.error(`sluice: unknown command "${command}"\n\n${MAIN_HELP}`)
      return 2
  }
}

type OptionSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>
type ParsedValues = { values: Record<string, string | string[] | boolean | undefined> }

function parse(args: string[], options: OptionSpec): ParsedValues {
  return parseArgs({ args, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false }) as ParsedValues
}

async function start(args: string[]): Promise<number> {
  const { help, flags } = parseStartOptions(args)
  if (help) {
    console.log(START_HELP)
    return 0
  }
  // A door with no key would be open to anyone who can reach it: make one and show it once.
  // It stays valid across reloads for as long as the configuration names no key of its own.
  let generatedKey: string | undefined
  const resolve = (): SluiceConfig => {
    const config = loadConfig(flags)
    if (config.tenants.length === 0) throw new ConfigError('nothing to serve: give --origin <database-url> (or tenants in --config)')
    const first = config.tenants[0]!
    if (first.apiKeyHashes.length === 0) {
      generatedKey ??= generateApiKey()
      first.apiKeyHashes.push(hashApiKey(generatedKey))
    }
    return config
  }
  const config = resolve()
  // SIGHUP's default action ends the process: until the reload handler is in place, ignore it.
  const early = () => console.error('sluice: SIGHUP while starting; ignored (send it again once started)')
  process.on('SIGHUP', early)
  const sluice = await startSluice(config)
  process.off('SIGHUP', early)
  printBanner(sluice, config, generatedKey ?? (flags.apiKeys?.[0] ?? process.env.SLUICE_API_KEYS?.split(',')[0]?.trim()), generatedKey !== undefined)
  handleSignals(sluice, resolve)
  return -1
}

function printBanner(sluice: RunningSluice, config: SluiceConfig, key: string | undefined, generated: boolean): void {
  const scheme = sluice.tls ? 'https' : 'http'
  // Where to point clients: the configured address, or this machine when listening on all of them.
  const reach = (host: string) => (host === '0.0.0.0' || host === '::' ? 'localhost' : host.includes(':') ? `[${host}]` : host)
  console.log(`Sluice ${VERSION} (pid ${process.pid})`)
  console.log(`  HTTP door (Prisma Accelerate protocol) on ${scheme}://${config.http.host}:${sluice.httpPort}${sluice.tls ? ' (TLS)' : ''}`)
  for (const t of sluice.tenants) {
    const s = t.origin.settings
    console.log(`    tenant ${t.name} → ${redactUrl(s.url)} (connection_limit ${s.connectionLimit}, pool_timeout ${s.poolTimeoutSeconds}s)`)
  }
  const wireUrls = (provider: 'postgres' | 'mysql', host: string, port: number) => {
    for (const t of sluice.tenants) {
      if (t.origin.provider !== provider) continue
      const u = new URL(t.origin.settings.url)
      u.username ||= 'user'
      u.password = u.password ? 'pass' : ''
      u.hostname = reach(host)
      u.port = String(port)
      for (const k of ['connection_limit', 'pool_timeout']) u.searchParams.delete(k)
      console.log(`    ${t.name}: ${u.toString()}`)
    }
  }
  if (sluice.pgPort !== undefined && config.pg) {
    console.log(`  Postgres wire door on ${config.pg.host}:${sluice.pgPort}: keep your DATABASE_URL, change host and port`)
    wireUrls('postgres', config.pg.host, sluice.pgPort)
  }
  if (sluice.mysqlPort !== undefined && config.mysql) {
    console.log(`  MySQL wire door on ${config.mysql.host}:${sluice.mysqlPort}: keep your DATABASE_URL, change host and port`)
    wireUrls('mysql', config.mysql.host, sluice.mysqlPort)
  }
  if (sluice.adminPort !== undefined && config.admin) {
    const admin = `http://${reach(config.admin.host)}:${sluice.adminPort}`
    console.log(`  metrics:   ${admin}/metrics`)
    console.log(`  dashboard: ${admin}/`)
  }
  console.log(`  reload keys and rules: kill -HUP ${process.pid}; stop (draining): kill -TERM ${process.pid}`)
  const shown = key ?? '<your api key>'
  if (generated) console.log(`  No API key was configured; generated one for this run: ${key}`)
  const url = sluice.tls
    ? `prisma://<this host's name on the certificate>:${sluice.httpPort}/?api_key=${shown}`
    : // the client speaks plain HTTP only to localhost; other hosts need TLS (prisma://)
      `prisma+postgres://localhost:${sluice.httpPort}/?api_key=${shown}`
  console.log(`\nPaste into your app: new PrismaClient({ accelerateUrl }).$extends(withAccelerate())`)
  console.log(`accelerateUrl="${url}"`)
}

function handleSignals(sluice: RunningSluice, resolve: () => SluiceConfig): void {
  let stopping = false
  const stop = (signal: string) => {
    if (stopping) return
    stopping = true
    console.log(`\n${signal} received: draining in-flight requests and closing pools…`)
    sluice.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.on('SIGINT', () => stop('SIGINT'))
  process.on('SIGTERM', () => stop('SIGTERM'))
  // Reload: the same sources as at start (flags > env > file), read again.
  process.on('SIGHUP', () => {
    if (stopping) return
    let next: SluiceConfig
    try {
      next = resolve()
    } catch (err) {
      if (err instanceof ConfigError) sluice.logger.error({ error: err.message }, 'configuration reload refused; the running configuration stays')
      else sluice.logger.error({ err }, 'configuration reload failed; the running configuration stays')
      return
    }
    sluice.reload(next)
  })
}

async function dev(args: string[]): Promise<number> {
  const { values } = parse(args, {
    'http-port': { type: 'string' },
    'pg-port': { type: 'string' },
    'data-dir': { type: 'string' },
    'api-key': { type: 'string' },
    'log-level': { type: 'string' },
  })
  if (values.help) {
    console.log(DEV_HELP)
    return 0
  }
  const running = await runDev({
    httpPort: values['http-port'] as string | undefined,
    pgPort: values['pg-port'] as string | undefined,
    dataDir: values['data-dir'] as string | undefined,
    apiKey: values['api-key'] as string | undefined,
    logLevel: values['log-level'] as string | undefined,
  })
  console.log(`Sluice ${VERSION} (dev) — embedded PostgreSQL (PGlite${running.dataDir ? ` in ${running.dataDir}` : ', in memory'}), in-memory cache`)
  console.log(`  HTTP door on http://localhost:${running.sluice.httpPort}`)
  console.log(`  embedded database (direct TCP, one connection at a time): ${running.databaseUrl}`)
  console.log(`\nPaste into your app:\n  new PrismaClient({ accelerateUrl: process.env.DATABASE_URL }).$extends(withAccelerate())\n`)
  console.log(`DATABASE_URL="${running.accelerateUrl}"`)
  let stopping = false
  const stop = () => {
    if (stopping) return
    stopping = true
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  }
  process.on('SIGINT', stop)
  process.on('SIGTERM', stop)
  return -1
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code)
  },
  (err: unknown) => {
    if (err instanceof ConfigError || (err as { code?: string })?.code?.startsWith?.('ERR_PARSE_ARGS')) {
      console.error(`sluice: ${(err as Error).message}`)
      process.exit(2)
    }
    console.error(`sluice: ${(err as Error)?.message ?? String(err)}`)
    process.exit(1)
  },
)
