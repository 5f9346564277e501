// One pool of server connections per MySQL/MariaDB origin (`mysql://` or `mariadb://` URLs),
// the counterpart of OriginPool for Postgres: the same `connection_limit` / `pool_timeout`
// parameters, the same identity (`id`) for cache keys and epochs, the same typed errors.
//
// The HTTP door's driver (`@prisma/adapter-mariadb`) runs on `mariadb` connections this pool
// opens itself (not the connector's pool: that one keeps an idle connection open for ever and
// opens connections on its own, which no shared budget could bound). The MySQL wire door opens
// raw links of its own (wire/mysql/server-link.ts). Both draw on `budget`: one slot per open
// server connection, `connection_limit` slots, so the two doors together never open more.
//
// `acquire()` lends a connection; give it back with `conn.release()` (an open transaction is
// rolled back) or `conn.destroy()` when its state is unknown. A new connection runs
// `sessionInitSql` (the statement timeout) first.
import { createHash } from 'node:crypto'
import * as mariadb from 'mariadb'
import type { Logger } from 'pino'
import { ConnectionBudget, type BudgetHolder } from './connection-budget.js'
import { OriginUnavailableError } from './errors.js'
import { redactUrl, type OriginSettings } from './origin-url.js'

export interface MysqlPoolOptions {
  /** Server-side cap for each statement (MariaDB's `max_statement_time`), so the database kills runaway queries. 0 = none. */
  statementTimeoutMs: number
  logger: Logger
}

export interface MysqlPoolStats {
  /** Server connections open to the origin from both doors (the budget's slots in use). */
  total: number
  idle: number
  waiting: number
  limit: number
  timeouts: number
}

/** A connection lent by the pool: `release()` gives it back. */
export type MysqlPoolConnection = mariadb.Connection & { release(): Promise<void> }

/** The error for an origin that cannot be connected to, from the connector's connection error. */
function unavailable(cause: unknown): OriginUnavailableError {
  const c = cause as { code?: unknown; message?: unknown } | undefined
  return new OriginUnavailableError(typeof c?.message === 'string' ? c.message : 'connection failed', typeof c?.code === 'string' ? c.code : 'ECONNECT')
}

const IDLE_MS = 30_000

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

export class MysqlOriginPool implements BudgetHolder {
  readonly provider = 'mysql' as const
  /** Digest of the origin URL (see OriginPool.id): equal on every node fronting the same database. */
  readonly id: string
  /** Run on every new connection; run it again after a session reset (see the file comment). */
  readonly sessionInitSql: string
  /** The origin's connection budget, shared with the MySQL wire door. */
  readonly budget: ConnectionBudget
  /**
   * A pool-shaped object for `@prisma/adapter-mariadb` (`new PrismaMariaDb(origin.adapterPool)`):
   * getConnection / query / execute on this pool's connections, whose waits that time out are
   * PoolTimeoutError and whose connect failures are OriginUnavailableError (the adapter passes
   * non-driver errors through untouched).
   */
  readonly adapterPool: mariadb.Pool
  readonly #config: mariadb.ConnectionConfig
  readonly #logger: Logger
  /** Open connections (each holds one budget slot). */
  readonly #open = new Set<mariadb.Connection>()
  readonly #idle: { conn: mariadb.Connection; since: number }[] = []
  readonly #sweeper: NodeJS.Timeout
  #closed = false

  constructor(
    readonly settings: OriginSettings,
    options: MysqlPoolOptions,
  ) {
    this.id = createHash('sha256').update(settings.key).digest('base64url').slice(0, 12)
    this.sessionInitSql = mysqlSessionInitSql(options.statementTimeoutMs)
    this.#logger = options.logger
    this.budget = new ConnectionBudget(settings.connectionLimit, settings.poolTimeoutSeconds)
    this.budget.register(this)
    this.#config = {
      connectTimeout: 10_000,
      ...connectionConfig(settings.url),
      initSql: this.sessionInitSql,
      // What @prisma/adapter-mariadb sets on the pools it creates itself: no client-side cache of
      // prepared statements (each `execute` prepares, runs and closes its statement).
      prepareCacheLength: 0,
    }
    this.#sweeper = setInterval(() => this.#sweep(), 5_000)
    this.#sweeper.unref()
    const onConnection =
      <A extends unknown[], R>(run: (conn: mariadb.Connection, ...a: A) => Promise<R>) =>
      async (...a: A): Promise<R> => {
        const conn = await this.acquire()
        try {
          return await run(conn, ...a)
        } finally {
          await conn.release()
        }
      }
    const adapterPool = {
      getConnection: () => this.acquire(),
      query: onConnection((conn, ...a: Parameters<mariadb.Connection['query']>) => conn.query(...a)),
      execute: onConnection((conn, ...a: Parameters<mariadb.Connection['execute']>) => conn.execute(...a)),
      // The pool belongs to this origin, not to any adapter.
      end: async () => {},
    }
    this.adapterPool = adapterPool as unknown as mariadb.Pool
  }

  /**
   * Borrows a connection. Give it back with `release()`, or `destroy()` it when its session
   * state is unknown. Waits up to `pool_timeout` for a budget slot (PoolTimeoutError), or fails
   * with OriginUnavailableError when the origin cannot be connected to.
   */
  async acquire(): Promise<MysqlPoolConnection> {
    if (this.#closed) throw new OriginUnavailableError('Sluice is shutting down', 'ESHUTDOWN')
    for (let idle = this.#idle.pop(); idle; idle = this.#idle.pop()) {
      if (idle.conn.isValid()) return this.#lend(idle.conn)
      this.#forget(idle.conn)
    }
    const handed = await this.budget.take<mariadb.Connection>(this)
    if (handed) return this.#lend(handed)
    let conn: mariadb.Connection
    try {
      conn = await mariadb.createConnection(this.#config)
    } catch (err) {
      this.budget.give()
      throw unavailable(err)
    }
    if (this.#closed) {
      this.budget.give()
      conn.destroy()
      throw new OriginUnavailableError('Sluice is shutting down', 'ESHUTDOWN')
    }
    this.#open.add(conn)
    // A connection that dies (origin restart, network cut, destroy()) gives its slot back; an
    // unheard 'error' event would crash the process.
    conn.on('error', (err: Error) => {
      this.#logger.warn({ err: err.message, origin: redactUrl(this.settings.url) }, 'origin connection failed')
      this.#forget(conn)
    })
    conn.on('end', () => this.#forget(conn))
    const destroy = conn.destroy.bind(conn)
    conn.destroy = () => {
      this.#forget(conn)
      destroy()
    }
    return this.#lend(conn)
  }

  #lend(conn: mariadb.Connection): MysqlPoolConnection {
    const lent = conn as MysqlPoolConnection
    lent.release = () => this.#release(conn)
    return lent
  }

  async #release(conn: mariadb.Connection): Promise<void> {
    if (!this.#open.has(conn)) return
    if (!conn.isValid() || this.#closed) return this.#close(conn)
    // The connector only sends ROLLBACK when a transaction is open.
    const clean = await conn.rollback().then(
      () => true,
      () => false,
    )
    if (!this.#open.has(conn)) return
    if (!clean) return this.#close(conn)
    if (this.budget.handOff(this, conn)) return
    // Someone else (the wire door) waits for a slot: this connection's is theirs.
    if (this.budget.waiting > 0) return this.#close(conn)
    this.#idle.push({ conn, since: Date.now() })
  }

  shedIdle(): boolean {
    const idle = this.#idle.shift()
    if (!idle) return false
    this.#close(idle.conn)
    return true
  }

  /** Closes a connection and gives its slot back. */
  #close(conn: mariadb.Connection): void {
    this.#forget(conn)
    conn.destroy()
  }

  /** A connection is gone: drop it from the books, once, and free its slot. */
  #forget(conn: mariadb.Connection): void {
    if (!this.#open.delete(conn)) return
    const at = this.#idle.findIndex((i) => i.conn === conn)
    if (at >= 0) this.#idle.splice(at, 1)
    this.budget.give()
  }

  #sweep(): void {
    const now = Date.now()
    for (const idle of [...this.#idle]) if (!idle.conn.isValid() || now - idle.since > IDLE_MS) this.#close(idle.conn)
  }

  /** The database unqualified table names resolve to (the URL's path), lower-cased as analyses are. */
  get defaultSchema(): string {
    return defaultDatabase(this.settings.url)
  }

  stats(): MysqlPoolStats {
    return {
      total: this.budget.used,
      idle: this.#idle.length,
      waiting: this.budget.waiting,
      limit: this.settings.connectionLimit,
      timeouts: this.budget.timeouts,
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#sweeper)
    this.budget.rejectAll(new OriginUnavailableError('Sluice is shutting down', 'ESHUTDOWN'))
    const idle = this.#idle.splice(0).map((i) => i.conn)
    await Promise.all(
      idle.map(async (conn) => {
        this.#forget(conn)
        await conn.end().catch(() => conn.destroy())
      }),
    )
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
