// One pool of server connections per MySQL/MariaDB origin (`mysql://` or `mariadb://` URLs),
// the counterpart of OriginPool for Postgres: the same `connection_limit` / `pool_timeout`
// parameters, the same identity (`id`) for cache keys and epochs, the same typed errors.
//
// The pool is the `mariadb` connector's own (the driver `@prisma/adapter-mariadb` builds on), so
// the HTTP door's plan executor and the MySQL wire door draw on one connection budget.
//
// For the wire door: borrow a raw connection with `acquire()` and give it back with
// `conn.release()` (or `conn.destroy()` when its state is unknown, e.g. after a protocol error).
// A freshly created connection already ran `sessionInitSql`; a door that resets the session
// (COM_RESET_CONNECTION / `conn.reset()`) wipes session variables and must run `sessionInitSql`
// again before handing the connection to the next client.
import { createHash } from 'node:crypto'
import * as mariadb from 'mariadb'
import type { Logger } from 'pino'
import { OriginUnavailableError, PoolTimeoutError } from './errors.js'
import { redactUrl, type OriginSettings } from './origin-url.js'

export interface MysqlPoolOptions {
  /** Server-side cap for each statement (MariaDB's `max_statement_time`), so the database kills runaway queries. 0 = none. */
  statementTimeoutMs: number
  logger: Logger
}

export interface MysqlPoolStats {
  total: number
  idle: number
  waiting: number
  limit: number
  timeouts: number
}

/** The connector's error number for "no connection became free within acquireTimeout". */
const ER_GET_CONNECTION_TIMEOUT = 45028

/** The error for an origin that cannot be connected to, from the connector's connection error. */
function unavailable(cause: unknown): OriginUnavailableError {
  const c = cause as { code?: unknown; message?: unknown } | undefined
  return new OriginUnavailableError(typeof c?.message === 'string' ? c.message : 'connection failed', typeof c?.code === 'string' ? c.code : 'ECONNECT')
}

/** setTimeout's largest delay: what `pool_timeout=0` (wait forever) becomes. */
const FOREVER_MS = 2 ** 31 - 1

export function isMysqlUrl(raw: string): boolean {
  return /^(mysql|mariadb):\/\//i.test(raw)
}

/**
 * The session settings every origin connection starts with. `max_statement_time` (seconds) is
 * MariaDB's statement timeout; it sits in a MariaDB-only executable comment (`/*M! … *\/`) so that
 * the same text runs on MySQL, which ignores it (MySQL's `max_execution_time` only bounds SELECTs;
 * there Sluice's own timer still answers P6004, the statement finishes on the server).
 */
export function mysqlSessionInitSql(statementTimeoutMs: number): string {
  const seconds = statementTimeoutMs > 0 ? (statementTimeoutMs / 1000).toFixed(3) : '0'
  return `SET @sluice_statement_timeout = ${seconds} /*M!, SESSION max_statement_time = ${seconds} */`
}

export class MysqlOriginPool {
  readonly provider = 'mysql' as const
  /** Digest of the origin URL (see OriginPool.id): equal on every node fronting the same database. */
  readonly id: string
  /** The connector's pool. Prefer `acquire()` (typed errors) over `pool.getConnection()`. */
  readonly pool: mariadb.Pool
  /** Run on every new connection; run it again after a session reset (see the file comment). */
  readonly sessionInitSql: string
  /**
   * A pool-shaped object for `@prisma/adapter-mariadb` (`new PrismaMariaDb(origin.adapterPool)`):
   * the same pool, whose waits that time out become PoolTimeoutError / OriginUnavailableError
   * (the adapter passes non-driver errors through untouched).
   */
  readonly adapterPool: mariadb.Pool
  #timeouts = 0

  constructor(
    readonly settings: OriginSettings,
    options: MysqlPoolOptions,
  ) {
    this.id = createHash('sha256').update(settings.key).digest('base64url').slice(0, 12)
    this.sessionInitSql = mysqlSessionInitSql(options.statementTimeoutMs)
    this.pool = mariadb.createPool({
      ...connectionConfig(settings.url),
      connectionLimit: settings.connectionLimit,
      acquireTimeout: settings.poolTimeoutSeconds === 0 ? FOREVER_MS : settings.poolTimeoutSeconds * 1000,
      // Grow on demand: the connector's default opens connection_limit connections at start. It
      // only opens connections while fewer than minimumIdle are idle, so 0 would never open any.
      minimumIdle: 1,
      idleTimeout: 30,
      initSql: this.sessionInitSql,
      // What @prisma/adapter-mariadb sets on the pools it creates itself: no client-side cache of
      // prepared statements (each `execute` prepares, runs and closes its statement).
      prepareCacheLength: 0,
    })
    const translate = (err: unknown): unknown => {
      const e = err as { errno?: unknown; cause?: unknown } | null
      if (e?.errno !== ER_GET_CONNECTION_TIMEOUT) return err
      // The connector puts the connection error in `cause` when it could not open any connection:
      // that is an unreachable origin, not a busy pool.
      if (e.cause && this.pool.activeConnections() === 0) return unavailable(e.cause)
      this.#timeouts++
      return new PoolTimeoutError(settings.connectionLimit, settings.poolTimeoutSeconds)
    }

    // Waiters for a connection. The connector retries a failing origin (with a growing backoff, up
    // to 10 s, while requests wait) until acquireTimeout; when it cannot open any connection at
    // all, waiting on is pointless: waiters fail at once with OriginUnavailableError (P6008), as a
    // refused connection does on Postgres, until the connector opens a connection again.
    const waiters = new Set<(err: Error) => void>()
    let failing: OriginUnavailableError | undefined
    const events = this.pool as unknown as NodeJS.EventEmitter
    // Not in the connector's typings, but emitted; an unheard 'error' event would crash the process.
    events.on('error', (err: Error & { cause?: unknown }) => {
      options.logger.warn({ err: err.message, origin: redactUrl(settings.url) }, 'origin connection failed')
      if (this.pool.totalConnections() > 0) return
      failing = unavailable(err.cause ?? err)
      for (const fail of [...waiters]) fail(failing)
    })
    events.on('connection', () => {
      failing = undefined
    })
    const pool = this.pool
    this.acquire = () =>
      new Promise<mariadb.PoolConnection>((resolve, reject) => {
        let settled = false
        const fail = (err: Error) => {
          waiters.delete(fail)
          if (settled) return
          settled = true
          reject(err)
        }
        waiters.add(fail)
        pool.getConnection().then(
          (conn) => {
            waiters.delete(fail)
            // A connection that arrives for a waiter already failed goes straight back.
            if (settled) void conn.release().catch(() => {})
            else {
              settled = true
              resolve(conn)
            }
          },
          (err: unknown) => fail(translate(err) as Error),
        )
        // The request above stays queued in the connector: that is what makes it retry (it only
        // opens connections while requests wait), and a connection it opens later goes back.
        if (failing && pool.totalConnections() === 0) fail(failing)
      })
    // Statements run on a borrowed connection, never queued inside the connector: a statement
    // whose caller already got an error must not run later.
    const onConnection =
      <A extends unknown[], R>(run: (conn: mariadb.PoolConnection, ...a: A) => Promise<R>) =>
      async (...a: A): Promise<R> => {
        const conn = await this.acquire()
        try {
          return await run(conn, ...a)
        } finally {
          await conn.release().catch(() => {})
        }
      }
    const overrides: Record<string | symbol, unknown> = {
      getConnection: this.acquire,
      query: onConnection((conn, ...a: Parameters<mariadb.Pool['query']>) => conn.query(...a)),
      execute: onConnection((conn, ...a: Parameters<mariadb.Pool['execute']>) => conn.execute(...a)),
      // The pool belongs to this origin, not to any adapter.
      end: async () => {},
    }
    // A proxy rather than a prototype copy: the connector's methods use private fields, so
    // everything else must still run with the real pool as `this`.
    this.adapterPool = new Proxy(pool, {
      get: (target, prop) => {
        if (prop in overrides) return overrides[prop]
        const v = Reflect.get(target, prop, target) as unknown
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
      },
    })
  }

  /**
   * Borrows a raw connection (for the MySQL wire door). Give it back with `release()`, or
   * `destroy()` it when its session state is unknown. Waits up to `pool_timeout`
   * (PoolTimeoutError), or fails with OriginUnavailableError when no connection can be opened.
   */
  readonly acquire: () => Promise<mariadb.PoolConnection>

  /** The database unqualified table names resolve to (the URL's path), lower-cased as analyses are. */
  get defaultSchema(): string {
    return defaultDatabase(this.settings.url)
  }

  stats(): MysqlPoolStats {
    return {
      total: this.pool.totalConnections(),
      idle: this.pool.idleConnections(),
      waiting: this.pool.taskQueueSize(),
      limit: this.settings.connectionLimit,
      timeouts: this.#timeouts,
    }
  }

  async close(): Promise<void> {
    await this.pool.end()
  }
}

/** The database named in the URL's path, lower-cased ('' when none). */
export function defaultDatabase(raw: string): string {
  return decodeURIComponent(new URL(raw).pathname.replace(/^\//, '')).toLowerCase()
}

// Query parameters passed through to the connector with their types; Prisma's own
// (`sslaccept`, `sslcert`, `socket`, …) are mapped where they have a connector equivalent.
const NUMBER_PARAMS = new Set(['connectTimeout', 'socketTimeout', 'queryTimeout', 'maxAllowedPacket'])
const BOOLEAN_PARAMS = new Set(['allowPublicKeyRetrieval', 'compress', 'ssl', 'checkDuplicate'])
const STRING_PARAMS = new Set(['charset', 'collation', 'timezone', 'cachingRsaPublicKey', 'socketPath'])

/** Turns a `mysql://` / `mariadb://` URL (Sluice's parameters already removed) into connector settings. */
export function connectionConfig(raw: string): mariadb.ConnectionConfig {
  const url = new URL(raw)
  const config: mariadb.ConnectionConfig = {
    host: url.hostname.replace(/^\[|\]$/g, '') || 'localhost',
    port: url.port ? Number(url.port) : 3306,
    user: decodeURIComponent(url.username) || 'root',
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''))
  if (database) config.database = database
  const extra = config as Record<string, unknown>
  for (const [k, v] of url.searchParams) {
    if (NUMBER_PARAMS.has(k) && /^\d+$/.test(v)) extra[k] = Number(v)
    else if (BOOLEAN_PARAMS.has(k)) extra[k] = v === 'true' || v === '1'
    else if (STRING_PARAMS.has(k)) extra[k] = v
    else if (k === 'socket') extra.socketPath = v
    else if (k === 'sslaccept') extra.ssl = { rejectUnauthorized: v === 'strict' }
    else if (k === 'connect_timeout' && /^\d+$/.test(v)) extra.connectTimeout = Number(v) * 1000
  }
  return config
}
