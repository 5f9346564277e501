// Wiring: tenants → origins → pools and executors, the HTTP listener, and graceful shutdown.
import { createServer as createHttpServer, type Server } from 'node:http'
import { createServer as createHttpsServer } from 'node:https'
import { readFileSync } from 'node:fs'
import type { Logger } from 'pino'
import { KeyRing } from '../accelerate/auth.js'
import { createHttpDoor, type Tenant } from '../accelerate/http-door.js'
import type { SluiceConfig } from '../config/schema.js'
import { Engines } from '../executor/engines.js'
import { QueryCache } from '../cache/query-cache.js'
import { Epochs, type Invalidation } from '../invalidation/epochs.js'
import { RedisTier } from '../cache/redis-tier.js'
import { analyzeSql, initSqlParser } from '../sql/analyze.js'
import { MYSQL_RELATIONS_SQL, MYSQL_VIEW_FUNCTIONS, POSTGRES_RELATIONS_SQL, RelationGraph, type RelationRow } from '../invalidation/relations.js'
import { startPgDoor, type PgDoor } from '../wire/postgres/door.js'
import { routeFor } from '../wire/postgres/routes.js'
import { startMysqlDoor, type MysqlDoor } from '../wire/mysql/door.js'
import { mysqlRouteFor } from '../wire/mysql/routes.js'
import { analyzeMysql } from '../sql/mysql-analyze.js'
import { createLogger } from '../observability/logger.js'
import { Metrics } from '../observability/metrics.js'
import { ShapeStats } from '../observability/shape-stats.js'
import { startAdmin } from './admin.js'
import { createOrigin, type Origin } from '../pool/origin.js'
import { parseOriginUrl, redactUrl } from '../pool/origin-url.js'
import { keepStringPrototypeFast } from '../util/fast-string-prototype.js'
import { listen } from '../util/listen.js'
import { afterReload, compareConfigs, wireCacheSettings, type ReloadReport } from './reload.js'

export interface RunningSluice {
  /** Port the HTTP door listens on (useful when configured with port 0). */
  readonly httpPort: number
  /** Port of the Postgres wire door, when it runs. */
  readonly pgPort: number | undefined
  /** Port of the MySQL wire door, when it runs. */
  readonly mysqlPort: number | undefined
  /** The MySQL wire door, when it runs (configured and some tenant has a MySQL/MariaDB origin). */
  readonly mysqlDoor: MysqlDoor | undefined
  /** Port of the admin listener (/metrics), when it runs. */
  readonly adminPort: number | undefined
  readonly metrics: Metrics
  /** Per-query-shape statistics of both doors. */
  readonly shapes: ShapeStats
  /** The wire door, when it runs. */
  readonly pgDoor: PgDoor | undefined
  readonly tls: boolean
  readonly tenants: readonly Tenant[]
  readonly origins: readonly Origin[]
  readonly logger: Logger
  readonly cache: QueryCache
  /** The shared tier, when configured. */
  readonly shared: RedisTier | undefined
  /**
   * Applies a newly loaded configuration without dropping connections: API keys, the wire door's
   * cache rules and the log level. Changes that need a restart are reported (and logged) and
   * otherwise ignored. See ./reload.ts.
   */
  reload(config: SluiceConfig): ReloadReport
  /** Stops accepting, waits for in-flight requests (up to `graceMs`), rolls back open transactions, closes pools. */
  close(graceMs?: number): Promise<void>
}

/** Observation points for tests and benchmarks. */
export interface SluiceHooks {
  /** An invalidation (from this or another node) reached this node's epochs. */
  onInvalidationApplied?: (inv: Invalidation, seq: number, publishedAt: number) => void
}

/** The catalog of views (and, on Postgres, inheritance links) behind an origin's cache dependencies. */
function relationGraphFor(origin: Origin): RelationGraph {
  if (origin.provider === 'postgres') {
    const pool = origin.pool
    return new RelationGraph({
      load: async () => (await pool.query<RelationRow>(POSTGRES_RELATIONS_SQL)).rows,
      analyze: (sql) => analyzeSql(sql, origin.defaultSchema),
    })
  }
  const pool = origin.adapterPool
  return new RelationGraph({
    load: async () => {
      const rows = (await pool.query(MYSQL_RELATIONS_SQL)) as { name: string; definition: string | null }[]
      // Every row is a view; a definition hidden from this user (null) cannot be analysed.
      return rows.map((r) => ({ name: r.name, definition: r.definition ?? '', parents: [] }))
    },
    analyze: (sql) => analyzeMysql(sql, origin.defaultSchema),
    functions: MYSQL_VIEW_FUNCTIONS,
  })
}

export async function startSluice(config: SluiceConfig, logger: Logger = createLogger(config.logLevel), hooks: SluiceHooks = {}): Promise<RunningSluice> {
  const origins = new Map<string, Origin>()
  const keys = new KeyRing<Tenant>()
  const tenants: Tenant[] = []
  for (const t of config.tenants) {
    const settings = parseOriginUrl(t.origin)
    let origin = origins.get(settings.key)
    if (!origin) {
      origin = createOrigin(settings, { statementTimeoutMs: config.limits.queryTimeoutMs, logger })
      origins.set(settings.key, origin)
    } else if (origin.settings.connectionLimit !== settings.connectionLimit || origin.settings.poolTimeoutSeconds !== settings.poolTimeoutSeconds) {
      logger.warn({ tenant: t.name }, 'tenants share an origin with different pool settings; the first one wins')
    }
    const tenant: Tenant = { name: t.name, origin, invalidateOnWrite: t.invalidateOnWrite, consistency: t.consistency, pgPoolMode: t.pgPoolMode, pgAuth: t.pgAuth }
    tenants.push(tenant)
    for (const hash of t.apiKeyHashes) keys.add(hash, tenant)
  }

  await initSqlParser()
  const engines = new Engines()
  const epochs = new Epochs()
  let cache: QueryCache | undefined
  const shared = config.redis
    ? new RedisTier({
        url: config.redis.url,
        epochs,
        logger,
        commandTimeoutMs: config.redis.commandTimeoutMs,
        onReset: () => cache?.clearLocal(),
        onRemote: (inv) => cache?.afterInvalidation(inv),
        ...(hooks.onInvalidationApplied ? { onApplied: hooks.onInvalidationApplied } : {}),
      })
    : undefined
  cache = new QueryCache({ maxBytes: config.cache.maxBytes, epochs, ...(shared ? { shared } : {}), leaseMs: config.limits.queryTimeoutMs })
  await shared?.start()
  // Importing ioredis (the Redis tier) left every string method in the process slow; this undoes
  // it, after the tier has connected (see util/fast-string-prototype.ts).
  keepStringPrototypeFast()
  for (const origin of origins.values()) cache.relations.set(origin.id, relationGraphFor(origin))
  for (const origin of origins.values()) {
    if (origin.provider !== 'postgres') continue
    // Told once at start: unqualified names are resolved in defaultSchema, as the origin URL says.
    void origin.searchPathMismatch().then(
      (path) => {
        if (path === undefined) return
        logger.warn(
          { origin: redactUrl(origin.settings.url), searchPath: path, schema: origin.defaultSchema },
          `the origin resolves unqualified table names in ${path.length === 0 ? 'no schema' : path.join(', ')}, Sluice in "${origin.defaultSchema}": add ?schema=<the schema> to the origin URL, or schema-qualify table names, or invalidation may miss writes`,
        )
      },
      () => {},
    )
  }
  const metrics = new Metrics({ cache, origins: [...origins.values()] })
  const shapes = new ShapeStats()
  cache.onInvalidate = (inv) => metrics.invalidations.inc({ cause: inv.kind === 'tags' ? 'tag' : inv.kind === 'tenant' ? 'all' : 'write' })
  const door = createHttpDoor({
    metrics,
    shapes,
    keys,
    engines,
    cache,
    limits: config.limits,
    invalidateRateLimit: config.cache.invalidateRateLimit,
    region: config.region,
    logger,
  })
  const tls = config.http.tls
  const server: Server = tls
    ? createHttpsServer({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, door.handle)
    : createHttpServer(door.handle)
  server.keepAliveTimeout = 65_000
  server.on('clientError', (err, socket) => {
    // Malformed HTTP never reaches the door; answer it without crashing.
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n')
    else socket.destroy()
    logger.debug({ err: err.message }, 'malformed HTTP request')
  })

  const httpPort = await listen(server, config.http.port, config.http.host)

  const admin = config.admin
    ? await startAdmin(config.admin, { metrics, shapes, cache, origins: [...origins.values()], tenants }, logger)
    : undefined

  // The Postgres wire door serves Postgres origins only: with none, it does not listen.
  const pgRoutes = tenants.flatMap((t) => (t.origin.provider === 'postgres' ? [routeFor(t.name, t.origin, t.pgPoolMode === 'session', t.pgAuth)] : []))
  const pgDoor = config.pg && pgRoutes.length > 0
    ? await startPgDoor({
        port: config.pg.port,
        host: config.pg.host,
        region: config.region,
        routes: pgRoutes,
        cache,
        metrics,
        shapes,
        ...(tls ? { tls: { cert: readFileSync(tls.cert), key: readFileSync(tls.key), require: config.pg.requireTls } } : {}),
        cacheSettings: wireCacheSettings(config.pg),
        logger,
      }).catch(async (err: unknown) => {
        server.close()
        throw err
      })
    : undefined

  let running = config
  function reload(next: SluiceConfig): ReloadReport {
    const diff = compareConfigs(running, next)
    running = afterReload(running, next)
    if (diff.keysChanged) {
      const byName = new Map(tenants.map((t) => [t.name, t]))
      const entries: { hash: Buffer; owner: Tenant }[] = []
      for (const t of next.tenants) {
        const tenant = byName.get(t.name)
        // A tenant added by the new file has no pool yet: its keys wait for a restart.
        if (tenant) for (const hash of t.apiKeyHashes) entries.push({ hash, owner: tenant })
      }
      keys.replace(entries)
    }
    if (diff.pgCacheChanged && pgDoor && next.pg) pgDoor.setCacheSettings(wireCacheSettings(next.pg))
    // First, so that the new level governs the lines below too.
    if (diff.logLevelChanged) logger.level = next.logLevel
    const report = { applied: diff.applied, needsRestart: diff.needsRestart }
    if (report.needsRestart.length > 0) logger.warn({ fields: report.needsRestart }, 'configuration reloaded; these changes need a restart and are ignored until then')
    logger.info({ applied: report.applied }, report.applied.length > 0 ? 'configuration reloaded' : 'configuration reloaded; nothing to apply')
    return report
  }
  const mysqlRoutes = tenants.flatMap((t) => (t.origin.provider === 'mysql' ? [mysqlRouteFor(t.name, t.origin)] : []))
  const mysqlDoor =
    config.mysql && mysqlRoutes.length > 0
      ? await startMysqlDoor({
          port: config.mysql.port,
          host: config.mysql.host,
          routes: mysqlRoutes,
          cache,
          metrics,
          analyze: analyzeMysql,
          authPlugin: config.mysql.auth,
          ...(tls ? { tls: { cert: readFileSync(tls.cert), key: readFileSync(tls.key), require: config.mysql.requireTls } } : {}),
          cacheSettings: wireCacheSettings(config.mysql),
          logger,
        }).catch(async (err: unknown) => {
          server.close()
          await pgDoor?.close(0)
          throw err
        })
      : undefined

  let closing: Promise<void> | undefined
  async function close(graceMs = 10_000): Promise<void> {
    closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
      const pgClosed = pgDoor?.close(Math.min(graceMs, 5000))
      const mysqlClosed = mysqlDoor?.close(Math.min(graceMs, 5000))
      server.closeIdleConnections()
      const deadline = Date.now() + graceMs
      while (door.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      server.closeAllConnections()
      await stopped
      await pgClosed
      await mysqlClosed
      await admin?.close()
      await engines.close()
      await shared?.close()
      await Promise.allSettled([...origins.values()].map((o) => o.close()))
      logger.flush?.()
    })()
    return closing
  }

  return { httpPort, adminPort: admin?.port, metrics, shapes, pgPort: pgDoor?.port, pgDoor, mysqlPort: mysqlDoor?.port, mysqlDoor, tls: !!tls, tenants, origins: [...origins.values()], logger, cache, shared, reload, close }
}
