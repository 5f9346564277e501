// Runs Prisma 7 query plans against one origin with one interpreter version: Prisma's own
// QueryInterpreter and TransactionManager over a driver adapter that draws on the origin's pool.
import type { SqlDriverAdapter } from '@prisma/driver-adapter-utils'
import type { OriginPool } from '../pool/origin-pool.js'
import { QueryTimeoutError } from './errors.js'
import type { EngineModules } from './registry.js'

export interface TransactionStartOptions {
  maxWait: number
  timeout: number
  isolationLevel?: 'READ UNCOMMITTED' | 'READ COMMITTED' | 'REPEATABLE READ' | 'SNAPSHOT' | 'SERIALIZABLE'
}

type Interpreter = InstanceType<EngineModules['runtime']['QueryInterpreter']>
type TxManager = InstanceType<EngineModules['runtime']['TransactionManager']>

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

  static async create(modules: EngineModules, origin: OriginPool): Promise<PlanExecutor> {
    const factory = new modules.adapterPg.PrismaPg(origin.pool, {
      ...(origin.settings.schema ? { schema: origin.settings.schema } : {}),
      disposeExternalPool: false,
    })
    const adapter = (await factory.connect()) as SqlDriverAdapter
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
  async query(
    plan: unknown,
    params: Record<string, unknown>,
    comments: Record<string, string> | undefined,
    txId: string | null,
    timeoutMs: number,
  ): Promise<unknown> {
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new QueryTimeoutError(timeoutMs)), timeoutMs)
    })
    try {
      const run = async () => {
        const queryable = txId !== null ? await this.#transactions.getTransaction({ id: txId }, 'query') : this.#adapter
        const sqlCommenter =
          comments && Object.keys(comments).length > 0
            ? // Comments arrive pre-computed by the client; the query info is only a placeholder.
              { plugins: [() => comments], queryInfo: { type: 'single' as const, action: 'queryRaw' as const, query: {} } }
            : undefined
        return this.#interpreter.run(plan as Parameters<Interpreter['run']>[0], {
          queryable,
          transactionManager: txId === null ? { enabled: true, manager: this.#transactions } : { enabled: false },
          scope: params,
          ...(sqlCommenter ? { sqlCommenter } : {}),
        })
      }
      const running = run()
      // If the deadline wins, the plan keeps running until the database's statement_timeout
      // stops it; its eventual failure must not surface as an unhandled rejection.
      running.catch(() => {})
      const result = await Promise.race([running, deadline])
      return this.#modules.runtime.normalizeJsonProtocolValues(result)
    } finally {
      clearTimeout(timer)
    }
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
