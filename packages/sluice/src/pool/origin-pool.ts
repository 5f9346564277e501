// One pool of server connections per origin database, shared by every tenant and door that
// reaches that origin. The pool's size is the origin's connection budget: the origin never sees
// more than `connection_limit` connections from this Sluice.
import { createHash } from 'node:crypto'
import pg from 'pg'
import type { Logger } from 'pino'
import { PoolTimeoutError } from './errors.js'
import { redactUrl, type OriginSettings } from './origin-url.js'

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
  readonly #rawConnect: () => Promise<pg.PoolClient>
  readonly #translate: (err: Error) => Error

  constructor(
    readonly settings: OriginSettings,
    options: OriginPoolOptions,
  ) {
    this.id = createHash('sha256').update(settings.key).digest('base64url').slice(0, 12)
    const translate = (err: Error | undefined): Error | undefined => {
      if (err?.message === PG_POOL_WAIT_TIMEOUT) {
        this.#timeouts++
        return new PoolTimeoutError(settings.connectionLimit, settings.poolTimeoutSeconds)
      }
      return err
    }
    const pool = new pg.Pool({
      connectionString: settings.url,
      max: settings.connectionLimit,
      // pg-pool uses this both for queued waiters and for new connections; 0 = wait forever.
      connectionTimeoutMillis: settings.poolTimeoutSeconds * 1000,
      idleTimeoutMillis: 30_000,
      statement_timeout: options.statementTimeoutMs,
      ...(settings.schema ? { options: `-c search_path="${settings.schema.replace(/"/g, '""')}"` } : {}),
    })
    // Translate pg-pool's wait timeout into a typed error for both the promise and callback forms
    // (pool.query() goes through the callback form of this.connect()).
    const connect = pool.connect.bind(pool) as (cb?: (err: Error | undefined, client?: pg.PoolClient, done?: (err?: Error) => void) => void) => unknown
    this.#rawConnect = () => connect() as Promise<pg.PoolClient>
    this.#translate = (err) => translate(err) ?? err
    ;(pool as unknown as { connect: typeof connect }).connect = (cb) => {
      // A reserved connection goes back first, so that nobody waits (or opens a connection) for one.
      if (pool.idleCount === 0) this.#reclaimOne()
      if (cb) {
        return connect((err, client, done) => {
          const tidying = err === undefined && client !== undefined ? this.#beforeLend?.(client) : undefined
          if (tidying === undefined) return cb(translate(err), client, done)
          tidying.then(
            () => cb(undefined, client, done),
            (e: Error) => {
              done?.(e)
              cb(e)
            },
          )
        })
      }
      return (connect() as Promise<pg.PoolClient>).then(
        async (client) => {
          const tidying = this.#beforeLend?.(client)
          if (tidying !== undefined) {
            try {
              await tidying
            } catch (err) {
              client.release(err as Error)
              throw err
            }
          }
          return client
        },
        (err: Error) => {
          throw translate(err)
        },
      )
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
  async connectRaw(): Promise<pg.PoolClient> {
    if (this.pool.idleCount === 0) this.#reclaimOne()
    try {
      return await this.#rawConnect()
    } catch (err) {
      throw this.#translate(err as Error)
    }
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
