// Runs Prisma 7 query plans against one origin with one interpreter version: Prisma's own
// QueryInterpreter and TransactionManager over a driver adapter that draws on the origin's pool.
import type { SqlDriverAdapter, SqlQuery, SqlQueryable } from '@prisma/driver-adapter-utils'
import type { Origin } from '../pool/origin.js'
import { QueryTimeoutError } from './errors.js'
import type { EngineModules } from './registry.js'

export interface TransactionStartOptions {
  maxWait: number
  timeout: number
  isolationLevel?: 'READ UNCOMMITTED' | 'READ COMMITTED' | 'REPEATABLE READ' | 'SNAPSHOT' | 'SERIALIZABLE'
}

type Interpreter = InstanceType<EngineModules['runtime']['QueryInterpreter']>
type TxManager = InstanceType<EngineModules['runtime']['TransactionManager']>

export interface QueryOptions {
  /** Run inside this interactive transaction. */
  txId: string | null
  timeoutMs: number
  /** When given, every SQL statement the plan executes is appended here (for invalidation and cache dependencies). */
  statements?: string[]
  /** When given, every SQL statement with its arguments and timing (the client's query log, X-Capture-Telemetry). */
  queryLog?: QueryLogEntry[]
  /**
   * Called when a plan that lost the race against the timeout finally settles: it may have
   * written after its caller got P6004, and the caller still has to invalidate for it.
   */
  onLateSettle?: () => void
}

/** One statement a plan ran, as a client's query log shows it. */
export interface QueryLogEntry {
  sql: string
  args: readonly unknown[]
  /** When it started (ms since the epoch). */
  startedAt: number
  /** How long it took; -1 while it runs. */
  durationMs: number
}

interface Recorder {
  statements: string[] | undefined
  queryLog: QueryLogEntry[] | undefined
}

/** A queryable that records the SQL text of everything it runs (and, for a query log, its arguments and timing). */
function recording<Q extends SqlQueryable>(q: Q, { statements, queryLog }: Recorder): Q {
  const run = <R>(query: SqlQuery, exec: (query: SqlQuery) => Promise<R>): Promise<R> => {
    statements?.push(query.sql)
    if (queryLog === undefined) return exec(query)
    const entry: QueryLogEntry = { sql: query.sql, args: query.args, startedAt: Date.now(), durationMs: -1 }
    queryLog.push(entry)
    const started = performance.now()
    return exec(query).finally(() => {
      entry.durationMs = performance.now() - started
    })
  }
  return Object.assign(Object.create(q) as Q, {
    queryRaw: (query: SqlQuery) => run(query, (x) => q.queryRaw(x)),
    executeRaw: (query: SqlQuery) => run(query, (x) => q.executeRaw(x)),
  })
}

export class PlanExecutor {
  readonly #modules: EngineModules
  readonly #adapter: SqlDriverAdapter
  readonly #interpreter: Interpreter
  readonly #transactions: TxManager

  private constructor(modules: EngineModules, adapter: SqlDriverAdapter) {
    this.#modules = modules
    this.#adapter = adapter
    const tracingHelper = modules.runtime.noopTracingHelper
    this.#interpreter = modules.runtime.QueryInterpreter.forSql({ tracingHelper })
    this.#transactions = new modules.runtime.TransactionManager({
      driverAdapter: adapter,
      // Defaults only apply when a start request omits them; the HTTP door always fills both.
      transactionOptions: { maxWait: 2000, timeout: 5000 },
      tracingHelper,
    })
  }

  static async create(modules: EngineModules, origin: Origin): Promise<PlanExecutor> {
    let adapter: SqlDriverAdapter
    if (origin.provider === 'mysql') {
      const { PrismaMariaDb } = await modules.loadAdapterMariaDb()
      // No `database` option: like the adapter built from a URL, the connection's default
      // database resolves table names and /connection-info carries no schemaName.
      const factory = new PrismaMariaDb(origin.adapterPool, { disposeExternalPool: false })
      adapter = (await factory.connect()) as unknown as SqlDriverAdapter
    } else {
      const factory = new modules.adapterPg.PrismaPg(origin.pool, {
        ...(origin.settings.schema ? { schema: origin.settings.schema } : {}),
        disposeExternalPool: false,
      })
      adapter = (await factory.connect()) as SqlDriverAdapter
    }
    return new PlanExecutor(modules, adapter)
  }

  get runtimeVersion(): string {
    return this.#modules.runtimeVersion
  }

  connectionInfo(): { provider: string; connectionInfo: Record<string, unknown> } {
    const info = this.#adapter.getConnectionInfo?.() ?? { supportsRelationJoins: false }
    return { provider: this.#adapter.provider, connectionInfo: info as unknown as Record<string, unknown> }
  }

  /**
   * Interprets a plan and returns the JSON-protocol-normalised result. `txId` runs it inside an
   * open interactive transaction; without it, plans that contain `transaction` nodes (nested
   * writes) open their own database transaction through the transaction manager.
   */
  async query(plan: unknown, params: Record<string, unknown>, comments: Record<string, string> | undefined, options: QueryOptions): Promise<unknown> {
    const { txId, timeoutMs, statements, queryLog } = options
    const recorder: Recorder | undefined = statements !== undefined || queryLog !== undefined ? { statements, queryLog } : undefined
    let timer: NodeJS.Timeout | undefined
    let timedOut = false
    // 0 disables the timeout (the database's statement_timeout is 0 then too).
    const deadline = new Promise<never>((_, reject) => {
      if (timeoutMs > 0) {
        timer = setTimeout(() => {
          timedOut = true
          reject(new QueryTimeoutError(timeoutMs))
        }, timeoutMs)
      }
    })
    try {
      const run = async () => {
        const target = txId !== null ? await this.#transactions.getTransaction({ id: txId }, 'query') : this.#adapter
        const queryable = recorder ? recording(target, recorder) : target
        const sqlCommenter =
          comments && Object.keys(comments).length > 0
            ? // Comments arrive pre-computed by the client; the query info is only a placeholder.
              { plugins: [() => comments], queryInfo: { type: 'single' as const, action: 'queryRaw' as const, query: {} } }
            : undefined
        return this.#interpreter.run(plan as Parameters<Interpreter['run']>[0], {
          queryable,
          transactionManager:
            txId === null ? { enabled: true, manager: recorder ? this.#recordingManager(recorder) : this.#transactions } : { enabled: false },
          scope: params,
          ...(sqlCommenter ? { sqlCommenter } : {}),
        })
      }
      const running = run()
      // If the deadline wins, the plan keeps running until the database's statement_timeout
      // stops it; its eventual failure must not surface as an unhandled rejection.
      running
        .finally(() => {
          if (timedOut) options.onLateSettle?.()
        })
        .catch(() => {})
      const result = await Promise.race([running, deadline])
      return this.#modules.runtime.normalizeJsonProtocolValues(result)
    } finally {
      clearTimeout(timer)
    }
  }

  /**
   * The transaction manager as the interpreter sees it for one request: statements run inside
   * the transactions it opens for nested writes are recorded (and logged) too.
   */
  #recordingManager(recorder: Recorder): TxManager {
    const tm = this.#transactions
    return {
      startInternalTransaction: (o?: Parameters<TxManager['startInternalTransaction']>[0]) => tm.startInternalTransaction(o),
      getTransaction: async (info: { id: string }, op: string) => recording(await tm.getTransaction(info, op), recorder),
      commitTransaction: (id: string) => tm.commitTransaction(id),
      rollbackTransaction: (id: string) => tm.rollbackTransaction(id),
    } as unknown as TxManager
  }

  async startTransaction(options: TransactionStartOptions): Promise<string> {
    const { id } = await this.#transactions.startTransaction(options)
    return id
  }

  commit(txId: string): Promise<void> {
    return this.#transactions.commitTransaction(txId)
  }

  rollback(txId: string): Promise<void> {
    return this.#transactions.rollbackTransaction(txId)
  }

  /** Rolls back every open transaction (shutdown). The pool itself belongs to the origin. */
  async close(): Promise<void> {
    await this.#transactions.cancelAllTransactions()
  }
}
