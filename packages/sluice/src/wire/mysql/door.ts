// The MySQL wire-protocol door: a TCP listener whose sessions relay to pooled origin connections
// (see session.ts), sharing the query cache and invalidation with the other doors.
import { generateKeyPairSync } from 'node:crypto'
import { createServer, type Server, type Socket } from 'node:net'
import { createSecureContext } from 'node:tls'
import type { Logger } from 'pino'
import type { QueryCache } from '../../cache/query-cache.js'
import type { Metrics } from '../../observability/metrics.js'
import type { StatementAnalysis } from '../../sql/analyze.js'
import { listen } from '../../util/listen.js'
import { adoptSharedReads } from '../../util/shared-reads.js'
import type { WireCacheSettings } from './cache-policy.js'
import { CAP } from './protocol.js'
import { findRoute, type MysqlRoute } from './routes.js'
import { LinkPool, ServerLink } from './server-link.js'
import { MysqlSession, type MysqlAuthPlugin, type MysqlSessionContext } from './session.js'

export interface MysqlDoorOptions {
  port: number
  host: string
  routes: MysqlRoute[]
  cache: QueryCache
  cacheSettings: WireCacheSettings
  /** Statement analysis for MySQL SQL (tables read and written, volatility, session state). */
  analyze: (sql: string, database: string) => StatementAnalysis
  logger: Logger
  metrics?: Metrics
  /** Authentication plugin clients are asked for (default mysql_native_password, as MariaDB). */
  authPlugin?: MysqlAuthPlugin
  /** Certificate and key (PEM) for TLS towards clients. */
  tls?: { cert: Buffer; key: Buffer; require: boolean }
}

export interface MysqlDoor {
  readonly port: number
  readonly sessions: number
  /** Why statements were not cached, with counts. */
  readonly notCached: ReadonlyMap<string, number>
  /** Server connections per origin id. */
  poolStats(): Record<string, ReturnType<LinkPool['stats']>>
  close(graceMs?: number): Promise<void>
}

/** What clients are told before any origin answered (a MariaDB-compatible MySQL 5.7-style greeting). */
const FALLBACK = { version: '5.5.5-10.11.0-MariaDB-sluice', capabilities: 0xffffffff & ~CAP.DEPRECATE_EOF }

export async function startMysqlDoor(options: MysqlDoorOptions): Promise<MysqlDoor> {
  const pools = new Map<string, LinkPool>()
  const notCached = new Map<string, number>()
  let server = { ...FALLBACK }
  // Learn the origin's version and capabilities from one real handshake, so clients see the
  // server they will talk to (MariaDB clients check the version string for "MariaDB").
  const first = options.routes[0]
  if (first) {
    await ServerLink.open({ ...first.target, connectTimeoutMs: Math.min(first.target.connectTimeoutMs, 3000) }, 0, 45, 'probe')
      .then((link) => {
        server = { version: link.info.serverVersion, capabilities: link.info.capabilities }
        link.destroy()
      })
      .catch((err: unknown) => options.logger.warn({ err: (err as Error).message }, 'mysql wire door: the origin did not answer at start; greeting clients with a generic version'))
  }
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })

  const ctx: MysqlSessionContext = {
    routes: (user, database) => findRoute(options.routes, user, database),
    links(route) {
      let pool = pools.get(route.originId)
      if (!pool) {
        pool = new LinkPool(route.target, route.budget, route.connectionLimit, route.poolTimeoutSeconds)
        pools.set(route.originId, pool)
      }
      return pool
    },
    analyze: options.analyze,
    cache: options.cache,
    cacheSettings: options.cacheSettings,
    logger: options.logger,
    server: () => server,
    authPlugin: options.authPlugin ?? 'mysql_native_password',
    rsa: { publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), privateKey },
    sha2Verified: new Set(),
    ...(options.tls ? { tls: createSecureContext({ cert: options.tls.cert, key: options.tls.key }), requireTls: options.tls.require } : {}),
    notCached: (reason) => {
      notCached.set(reason, (notCached.get(reason) ?? 0) + 1)
      options.metrics?.countNotCached('mysql', reason)
    },
    answered: (status) => options.metrics?.countRequest('mysql', 'statement', status, ''),
  }

  const sockets = new Set<Socket>()
  // Accepted sockets start paused, so that they can be given the shared read buffer before their
  // first read (util/shared-reads.ts); the session's listeners are in place when they resume.
  const tcp: Server = createServer({ pauseOnConnect: true }, (socket) => {
    adoptSharedReads(socket)
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    try {
      new MysqlSession(socket, ctx)
    } catch (err) {
      options.logger.warn({ err }, 'mysql wire session could not start')
      socket.destroy()
      return
    }
    socket.resume()
  })
  tcp.on('error', (err) => options.logger.error({ err }, 'mysql wire door listener error'))
  const port = await listen(tcp, options.port, options.host)
  return {
    port,
    get sessions() {
      return sockets.size
    },
    notCached,
    poolStats: () => Object.fromEntries([...pools].map(([id, p]) => [id, p.stats()])),
    async close(graceMs = 2000) {
      const closed = new Promise<void>((resolve) => tcp.close(() => resolve()))
      for (const s of sockets) s.end()
      const deadline = Date.now() + graceMs
      while (sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      for (const s of sockets) s.destroy()
      await closed
      await Promise.all([...pools.values()].map((p) => p.close()))
    },
  }
}
