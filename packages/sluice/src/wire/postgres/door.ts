// The Postgres wire-protocol door: a TCP listener whose sessions relay to pooled origin
// connections (see session.ts).
import { createServer, type Server } from 'node:net'
import { createSecureContext } from 'node:tls'
import type { Logger } from 'pino'
import type { QueryCache } from '../../cache/query-cache.js'
import type { WireCacheSettings } from './cache-policy.js'
import type { Metrics } from '../../observability/metrics.js'
import type { ShapeStats } from '../../observability/shape-stats.js'
import { HotStatements } from './hot-statements.js'
import { Session, type SessionContext } from './session.js'
import type { WireRoute } from './routes.js'
import { listen } from '../../util/listen.js'
import { adoptSharedReads } from '../../util/shared-reads.js'
import { nextRequestId } from '../../observability/request-id.js'

export interface PgDoorOptions {
  /** Suffix of session request ids, as in the HTTP door's cf-ray. */
  region?: string
  port: number
  host: string
  routes: WireRoute[]
  cache: QueryCache
  cacheSettings: WireCacheSettings
  logger: Logger
  metrics?: Metrics
  /** Per-query-shape statistics. */
  shapes?: ShapeStats
  /** Certificate and key (PEM) for TLS towards clients. */
  tls?: { cert: Buffer; key: Buffer; require: boolean }
}

export interface PgDoor {
  readonly port: number
  readonly sessions: number
  /** Why statements were not cached, with counts. */
  readonly notCached: ReadonlyMap<string, number>
  /** Replaces the cache settings (config reload); sessions use them from their next statement on. */
  setCacheSettings(settings: WireCacheSettings): void
  close(graceMs?: number): Promise<void>
}

const REPORTED = ['server_version', 'server_encoding', 'client_encoding', 'DateStyle', 'IntervalStyle', 'TimeZone', 'integer_datetimes', 'standard_conforming_strings']

export async function startPgDoor(options: PgDoorOptions): Promise<PgDoor> {
  const sessions = new Map<string, Session>()
  const live = new Set<Session>()
  const keys = new WeakMap<Session, string>()
  const statusCache = new Map<WireRoute, Promise<[string, string][]>>()
  const notCached = new Map<string, number>()
  // Counter children per answer status, resolved once: every statement bumps one.
  const metrics = options.metrics
  const answered = metrics && {
    ttl: metrics.requestCounter('pg', 'statement', 'ttl', ''),
    swr: metrics.requestCounter('pg', 'statement', 'swr', ''),
    miss: metrics.requestCounter('pg', 'statement', 'miss', ''),
    none: metrics.requestCounter('pg', 'statement', 'none', ''),
  }

  const ctx: SessionContext = {
    // A client reaches the tenant whose origin has its user and database; with several tenants on
    // the same database, `<tenant>.<user>` as the user name picks one (PolyScale-style cache id).
    routes: (user, database) => {
      const dot = user.indexOf('.')
      if (dot > 0) {
        const tenant = user.slice(0, dot)
        const named = options.routes.find((r) => r.tenant === tenant && r.user === user.slice(dot + 1) && r.database === database)
        if (named) return named
      }
      return options.routes.find((r) => r.user === user && r.database === database)
    },
    cache: options.cache,
    cacheSettings: options.cacheSettings,
    hot: new HotStatements(),
    hotExecutions: new HotStatements(),
    ...(options.shapes ? { shapes: options.shapes } : {}),
    logger: options.logger,
    ...(options.tls ? { tls: createSecureContext({ cert: options.tls.cert, key: options.tls.key }), requireTls: options.tls.require } : {}),
    register(session) {
      const key = Session.randomKey()
      const k = `${key.pid}:${key.secret}`
      sessions.set(k, session)
      keys.set(session, k)
      return key
    },
    unregister(session) {
      const k = keys.get(session)
      if (k) sessions.delete(k)
    },
    findByKey: (pid, secret) => sessions.get(`${pid}:${secret}`),
    notCached: (reason) => {
      notCached.set(reason, (notCached.get(reason) ?? 0) + 1)
      options.metrics?.countNotCached('pg', reason)
    },
    answered: (status) => {
      if (answered !== undefined) answered[status].inc()
    },
    parameterStatuses(route) {
      let p = statusCache.get(route)
      if (!p) {
        p = route.origin.pool
          .query<{ name: string; setting: string }>('SELECT name, setting FROM pg_settings WHERE name = ANY($1)', [REPORTED])
          .then((r) => {
            const byName = new Map(r.rows.map((row) => [row.name.toLowerCase(), row.setting]))
            return REPORTED.map((n): [string, string] => [n, byName.get(n.toLowerCase()) ?? (n === 'client_encoding' ? 'UTF8' : '')])
          })
        // Pooled connections speak UTF8 (the pg driver sets it); clients are told the same.
        p = p.then((list) => list.map(([k, v]): [string, string] => [k, k === 'client_encoding' ? 'UTF8' : v]))
        p.catch(() => statusCache.delete(route))
        statusCache.set(route, p)
      }
      return p
    },
  }

  const sockets = new Set<import('node:net').Socket>()
  // Accepted sockets start paused, so that they can be given the shared read buffer before their
  // first read (util/shared-reads.ts); the session's listeners are in place when they resume.
  const server: Server = createServer({ pauseOnConnect: true }, (socket) => {
    adoptSharedReads(socket)
    const session = new Session(socket, ctx, nextRequestId(options.region ?? 'local'))
    live.add(session)
    sockets.add(socket)
    socket.once('close', () => {
      live.delete(session)
      sockets.delete(socket)
    })
    socket.resume()
  })
  server.on('error', (err) => options.logger.error({ err }, 'wire door listener error'))
  const port = await listen(server, options.port, options.host)
  return {
    port,
    get sessions() {
      return live.size
    },
    notCached,
    setCacheSettings(settings) {
      ctx.cacheSettings = settings
    },
    async close(graceMs = 2000) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      // Idle clients are told goodbye at once; busy ones (a statement running, a transaction
      // open) as soon as they become idle, and whatever is left at the deadline is cut.
      const deadline = Date.now() + graceMs
      for (;;) {
        for (const session of live) if (session.idle) session.shutdown()
        if (sockets.size === 0 || Date.now() >= deadline) break
        await new Promise((r) => setTimeout(r, 20))
      }
      for (const s of sockets) s.destroy()
      await closed
    },
  }
}
