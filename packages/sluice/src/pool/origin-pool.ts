// One pool of server connections per origin database, shared by every tenant and door that
// reaches that origin. The pool's size is the origin's connection budget: the origin never sees
// more than `connection_limit` connections from this Sluice.
import { createHash } from 'node:crypto'
import pg from 'pg'
import type { Logger } from 'pino'
import { PoolTimeoutError } from './errors.js'
import { redactUrl, type OriginSettings } from './origin-url.js'
import { sharedReadSocket } from '../util/shared-reads.js'

export interface OriginPoolOptions {
  /** Server-side cap for each statement, so the database itself cancels runaway queries. */
  statementTimeoutMs: number
  logger: Logger
}

export interface PoolStats {
  total: number
  idle: number
  waiting: number
  limit: number
  timeouts: number
}

/**
 * Connections a door keeps checked out for its own immediate reuse (the Postgres wire door's
 * parked links). They count against the budget, so the pool takes them back when others need one.
 */
export interface ConnectionReserve {
  readonly size: number
  /** Returns one connection to the pool; false when the reserve is empty. */
  giveBackOne(): boolean
  giveBackAll(): void
}

/** pg-pool's connect, callback form. */
type PoolConnect = (cb: (err: Error | undefined, client?: pg.PoolClient, done?: (err?: Error) => void) => void) => void

// pg-pool rejects queued waiters with this exact message when `connectionTimeoutMillis` passes.
const PG_POOL_WAIT_TIMEOUT = 'timeout exceeded when trying to connect'

export class OriginPool {
  readonly provider = 'postgres' as const
  /**
   * Short identity used in cache keys and epochs: a digest of the origin's URL, so that every
   * Sluice node fronting the same database agrees on it.
   */
  readonly id: string
  readonly pool: pg.Pool
  #timeouts = 0
  readonly #reserves: ConnectionReserve[] = []
  #closing = false
  #beforeLend: ((client: pg.PoolClient) => Promise<unknown> | undefined) | undefined
  /** pg-pool's own connect (callback form), before the translation and tidying below. */
  readonly #connect: PoolConnect

  constructor(
    readonly settings: OriginSettings,
    options: OriginPoolOptions,
  ) {
    this.id = createHash('sha256').update(settings.key).digest('base64url').slice(0, 12)
    const pool = new pg.Pool({
      connectionString: settings.url,
      max: settings.connectionLimit,
      // pg-pool uses this both for queued waiters and for new connections; 0 = wait forever.
      connectionTimeoutMillis: settings.poolTimeoutSeconds * 1000,
      idleTimeoutMillis: 30_000,
      statement_timeout: options.statementTimeoutMs,
      // Reads into one shared buffer instead of a fresh allocation per read (util/shared-reads.ts).
      stream: sharedReadSocket,
      ...(settings.schema ? { options: `-c search_path="${settings.schema.replace(/"/g, '""')}"` } : {}),
    })
    this.#connect = pool.connect.bind(pool) as PoolConnect
    // Every borrower (pool.query() too, which uses the callback form) gets pg-pool's wait timeout
    // as a typed error and a connection tidied of another door's session state. The promise form
    // is the callback form wrapped.
    const lend: PoolConnect = (cb) => {
      this.#borrow((err, client, done) => {
        const tidying = err === undefined && client !== undefined ? this.#beforeLend?.(client) : undefined
        if (tidying === undefined) return cb(err, client, done)
        tidying.then(
          () => cb(undefined, client, done),
          (e: Error) => {
            done?.(e)
            cb(e)
          },
        )
      })
    }
    ;(pool as unknown as { connect: (cb?: Parameters<PoolConnect>[0]) => unknown }).connect = (cb) => {
      if (cb) return lend(cb)
      return new Promise<pg.PoolClient>((resolve, reject) => lend((err, client) => (err ? reject(err) : resolve(client!))))
    }
    // An idle connection that dies (origin restart, network cut) must never crash the process.
    pool.on('error', (err) => options.logger.warn({ err: err.message, origin: redactUrl(settings.url) }, 'idle origin connection failed'))
    this.pool = pool
  }

  /** Schema that unqualified table names resolve to. */
  get defaultSchema(): string {
    return this.settings.schema ?? 'public'
  }

  /**
   * The schemas the origin's own connections resolve unqualified names in (`current_schemas`), when
   * they are not just defaultSchema — a role or database with its own search_path: Sluice's
   * analysis would then name other tables than the server does. Undefined when they agree.
   */
  async searchPathMismatch(): Promise<string[] | undefined> {
    const { rows } = await this.pool.query<{ path: string[] }>('SELECT current_schemas(false)::text[] AS path')
    const path = Array.isArray(rows[0]?.path) ? rows[0]!.path : []
    return path.length === 1 && path[0] === this.defaultSchema ? undefined : path
  }

  /** Set once close() began: reserves stop keeping connections. */
  get closing(): boolean {
    return this.#closing
  }

  /**
   * Tidies connections a door left with session state of its own (the wire door's per-client
   * settings) before anyone else borrows them: the HTTP door and Sluice's own queries expect the
   * origin's defaults. The door that set the hook borrows with connectRaw() and tidies for itself.
   */
  setBeforeLend(hook: (client: pg.PoolClient) => Promise<unknown> | undefined): void {
    this.#beforeLend = hook
  }

  /** A connection as it is, without the before-lend tidying (for the door that set the hook). */
  connectRaw(): Promise<pg.PoolClient> {
    return new Promise((resolve, reject) => this.#borrow((err, client) => (err ? reject(err) : resolve(client!))))
  }

  /**
   * pg-pool's connect, with a reserved connection given back first (so that nobody waits, or opens
   * a connection, for one) and its wait timeout as a PoolTimeoutError.
   */
  #borrow(cb: Parameters<PoolConnect>[0]): void {
    if (this.pool.idleCount === 0) this.#reclaimOne()
    this.#connect((err, client, done) => {
      if (err?.message === PG_POOL_WAIT_TIMEOUT) {
        this.#timeouts++
        return cb(new PoolTimeoutError(this.settings.connectionLimit, this.settings.poolTimeoutSeconds))
      }
      cb(err ?? undefined, client, done)
    })
  }

  addReserve(reserve: ConnectionReserve): void {
    this.#reserves.push(reserve)
  }

  #reclaimOne(): void {
    for (const r of this.#reserves) if (r.giveBackOne()) return
  }

  stats(): PoolStats {
    let reserved = 0
    for (const r of this.#reserves) reserved += r.size
    return {
      total: this.pool.totalCount,
      // Reserved connections serve nobody: they count as idle.
      idle: this.pool.idleCount + reserved,
      waiting: this.pool.waitingCount,
      limit: this.settings.connectionLimit,
      timeouts: this.#timeouts,
    }
  }

  async close(): Promise<void> {
    this.#closing = true
    // pool.end() waits for every checked-out connection, reserved ones included.
    for (const r of this.#reserves) r.giveBackAll()
    await this.pool.end()
  }
}
