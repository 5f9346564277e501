// The Accelerate-compatible HTTP door: the routes a Prisma 7 client (and the Accelerate extension)
// calls, authentication, client-version dispatch, limits and error answers. Query execution
// belongs to executor/, connections to pool/.
import { hash } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import type { Limits } from '../config/schema.js'
import { formatSize } from '../config/units.js'
import type { Engines } from '../executor/engines.js'
import type { PlanExecutor, QueryLogEntry } from '../executor/plan-executor.js'
import { describeSupported, resolveClientLine } from '../executor/registry.js'
import { TransactionRegistry, type TransactionEntry } from '../executor/transactions.js'
import { cacheSignature, type CacheEntry, type CachePolicy, type Lookup, type Produced, type QueryCache } from '../cache/query-cache.js'
import { collectReads, collectWrites, writeInvalidation } from '../invalidation/writes.js'
import type { Origin } from '../pool/origin.js'
import { CACHEABLE_OPERATIONS, READ_OPERATIONS, cachePolicyFrom } from './cache-headers.js'
import { wantsQueryLog, withQueryLog } from './query-log.js'
import { RateLimiter } from './rate-limit.js'
import type { Metrics } from '../observability/metrics.js'
import type { LatencySeries } from '../observability/latency-metric.js'
import type { ShapeRecord, ShapeStats } from '../observability/shape-stats.js'
import { nextRequestId } from '../observability/request-id.js'
import { bearerToken, type KeyRing } from './auth.js'
import { firstIssue, invalidateBody, queryBody, transactionStartBody, type QueryBody } from './bodies.js'
import { HttpError, invalidParameters, toErrorAnswer, unauthorized, type ErrorAnswer } from './errors.js'
import { parseJson, readBody, readBodyThen } from './request-body.js'

export interface Tenant {
  name: string
  origin: Origin
  /** Writes through Sluice invalidate this tenant's cached results on the tables they wrote. */
  invalidateOnWrite: boolean
  /** With a shared tier: `strict` confirms every hit against Redis; `eventual` trusts the fan-out. */
  consistency: 'eventual' | 'strict'
  /** Wire door pooling for this tenant. */
  pgPoolMode: 'transaction' | 'session'
  pgAuth: 'scram' | 'md5' | 'cleartext'
}

export interface HttpDoorOptions {
  keys: KeyRing<Tenant>
  engines: Engines
  cache: QueryCache
  limits: Limits
  /** Invalidate calls allowed per tenant per minute (0 = unlimited); over it → P6003. */
  invalidateRateLimit: number
  /** Region suffix of `cf-ray` (what `withAccelerateInfo().region` reports). */
  region: string
  logger: Logger
  metrics?: Metrics
  /** Per-query-shape statistics (the admin API and dashboard read them). */
  shapes?: ShapeStats
}

export interface HttpDoor {
  handle(req: IncomingMessage, res: ServerResponse): void
  /** Requests being answered right now (for graceful drain). */
  readonly inFlight: number
}

const JSON_HEADERS = { 'content-type': 'application/json' }
const KNOWN_OPERATIONS = new Set(['query', 'connection-info', 'invalidate', 'health', 'transaction_start', 'transaction_query', 'transaction_commit', 'transaction_rollback'])
const TX_ROUTE = /^\/transaction\/([^/]+)\/(query|commit|rollback)$/

/** What the door knows about one request while answering it (for metrics and error answers). */
interface RequestContext {
  requestId: string
  started: number
  path: string
  /** The answer's headers (the cache status is read from them). */
  headers: Record<string, string>
  /** The cache entry a hit was answered from (its query shape is counted when the answer is done). */
  hitEntry: CacheEntry | undefined
}

/** One /query request whose body has been read, on its way to an answer. */
interface QueryCall {
  req: IncomingMessage
  res: ServerResponse
  tenant: Tenant
  /** Client version line (which executor runs the plan). */
  line: string
  /** Its context; `ctx.headers` are the answer's headers so far. */
  ctx: RequestContext
  raw: Buffer
}

export function createHttpDoor(options: HttpDoorOptions): HttpDoor {
  const { keys, engines, cache, limits, logger, shapes } = options
  const invalidateLimiter = new RateLimiter(options.invalidateRateLimit, 60_000)
  const transactions = new TransactionRegistry<Tenant>()
  let inFlight = 0

  function authenticate(req: IncomingMessage): Tenant {
    const key = bearerToken(req.headers.authorization)
    if (key === undefined) throw unauthorized('Missing API key: send "Authorization: Bearer <api_key>" (the api_key of your connection URL)')
    const tenant = keys.lookup(key)
    if (tenant === undefined) throw unauthorized('Invalid API key')
    return tenant
  }

  function clientLine(req: IncomingMessage): string {
    const version = req.headers['prisma-engine-hash']
    const line = resolveClientLine(typeof version === 'string' ? version : undefined)
    if (line === undefined) {
      throw new HttpError(400, 'P6006', `Prisma Client version ${String(version)} is not supported by this Sluice. Supported versions: ${describeSupported()}`, {
        clientVersion: version,
        supported: describeSupported(),
      })
    }
    return line
  }

  async function body(req: IncomingMessage): Promise<unknown> {
    return parseJson(await readBody(req, limits.maxRequestSize))
  }

  function parseQuery(raw: unknown): QueryBody {
    const parsed = queryBody.safeParse(raw)
    if (!parsed.success) throw invalidParameters(`Invalid query request: ${firstIssue(parsed.error)}`)
    return parsed.data
  }

  function send(res: ServerResponse, status: number, payload: string, headers: Record<string, string>): void {
    res.writeHead(status, headers)
    res.end(payload)
  }

  /** Encodes a result, refusing it (P6009) when it is over the response limit. */
  function encode(data: unknown): Buffer {
    const payload = Buffer.from(JSON.stringify({ data }))
    if (payload.length > limits.maxResponseSize) {
      throw new HttpError(413, 'P6009', `Response size exceeds the limit of ${formatSize(limits.maxResponseSize)}`, {
        limit: formatSize(limits.maxResponseSize),
      })
    }
    return payload
  }

  /** Sends an encoded answer; with `queryLog`, the statements the request ran go along (see query-log.ts). */
  function sendPayload(res: ServerResponse, payload: Buffer, headers: Record<string, string>, queryLog?: readonly QueryLogEntry[]): void {
    res.writeHead(200, headers)
    res.end(queryLog === undefined ? payload : withQueryLog(payload, queryLog))
  }

  /** Invalidates what `statements` wrote, on behalf of the origin's tenants. */
  async function invalidateWrites(tenant: Tenant, statements: readonly string[], raw: boolean): Promise<void> {
    if (statements.length === 0) return
    const inv = writeInvalidation(tenant.origin.id, collectWrites(statements, tenant.origin.defaultSchema, raw, undefined, tenant.origin.provider))
    if (inv) await cache.invalidate(inv)
  }

  /**
   * Runs a read for the cache and encodes it. The epoch snapshot is taken before the query runs,
   * so a write acknowledged meanwhile fences the fill (DESIGN.md invariant 3).
   */
  async function produce(
    tenant: Tenant,
    executor: PlanExecutor,
    q: QueryBody,
    policy: Readonly<CachePolicy>,
    shape: ShapeRecord | undefined,
    queryLog?: QueryLogEntry[],
  ): Promise<Produced> {
    const startedSeq = await cache.snapshot()
    const producedAt = Date.now()
    const statements: string[] = []
    const data = await executor.query(q.plan, q.params, q.comments, { txId: null, timeoutMs: limits.queryTimeoutMs, statements, ...(queryLog ? { queryLog } : {}) })
    const payload = encode(data)
    const tables = tenant.invalidateOnWrite ? collectReads(statements, tenant.origin.defaultSchema, tenant.origin.provider) : null
    return {
      payload,
      deps: { origin: tenant.origin.id, tables, tenant: tenant.name, tags: policy.tags },
      startedSeq,
      producedAt,
      // With write-aware invalidation on, a result whose tables are unknown cannot be kept honest.
      storable: !tenant.invalidateOnWrite || tables !== null,
      ...(tenant.invalidateOnWrite && tables === null ? { notStoredReason: 'tables unknown' } : {}),
      shape,
    }
  }

  /**
   * The shape record of an entry that came from the shared tier without one (once per entry; its
   * body is parsed only then). A hit on an entry with a record needs no lookup at all.
   */
  function attachShape(entry: CacheEntry, tenant: Tenant, raw: Buffer): void {
    try {
      entry.shape = shapeOf(tenant, parseQuery(parseJson(raw)))
    } catch (err) {
      logger.debug({ err }, 'no shape for a shared cache entry')
    }
  }

  /** The shape record of a parsed query (misses and uncached queries; hits find it on their entry). */
  function shapeOf(tenant: Tenant, q: QueryBody): ShapeRecord | undefined {
    return shapes?.forPlan(tenant.name, q.model, q.operation, q.plan)
  }

  /**
   * Answers a query whose body has been read: synchronously (undefined) when the local cache has
   * it, else through the returned promise (shared tier, database).
   */
  function answerQuery(call: QueryCall): Promise<void> | undefined {
    const { req, tenant, line, raw } = call
    // (policy objects are shared between requests: see cachePolicyFrom)
    const tagsHeader = req.headers['accelerate-cache-tags'] as string | undefined
    const policy = cachePolicyFrom(req.headers['cache-control'], tagsHeader, tenant.consistency === 'strict')
    if (policy === null) return answerUncachedOrMiss(call, undefined, null)
    // The hot path: one short key from the raw body, one map lookup, the stored bytes out.
    // Identical bodies are identical queries; the body is parsed only on a miss. The body is in
    // the key as its SHA-256 (collision-resistant: no crafted body can alias another query's
    // entry). With the CPU's SHA instructions that costs ~1.5 µs for a 2 KB findUnique body,
    // where the body itself as a fresh string key cost ~5 µs per lookup (V8 hashes it char by
    // char, flattens the concatenation and compares it in full): measured under wrk, 39–43 →
    // 35–36 µs of Sluice CPU per hit. Keys also stay short in memory and in Redis. (Valgrind
    // emulates no SHA instructions, so the hit-path guard counts a software SHA-256 here.)
    const key = `${tenant.name}\u0000${tenant.origin.id}\u0000${line}\u0000${tagsHeader ?? ''}\u0000${hash('sha256', raw, 'base64')}`
    // A local hit is answered without a trip through the microtask queue; only the shared
    // tier (or a strict policy) needs the asynchronous lookup.
    const hit = cache.getLocal(key, policy)
    if (hit === null) return lookupShared(call, key, policy)
    if (hit === undefined) return answerUncachedOrMiss(call, key, policy)
    answerHit(call, key, policy, hit)
    return undefined
  }

  async function lookupShared(call: QueryCall, key: string, policy: Readonly<CachePolicy>): Promise<void> {
    const hit = await cache.get(key, policy)
    if (hit === undefined) return answerUncachedOrMiss(call, key, policy)
    answerHit(call, key, policy, hit)
  }

  function answerHit(call: QueryCall, key: string, policy: Readonly<CachePolicy>, hit: NonNullable<Lookup>): void {
    const { tenant, line, raw } = call
    const headers = call.ctx.headers
    if (hit.state === 'stale') {
      const entry = hit.entry
      const refresh = async () => {
        const q = parseQuery(parseJson(raw))
        return produce(tenant, await engines.executor(tenant.origin, line), q, policy, entry.shape ?? shapeOf(tenant, q))
      }
      cache.refresh(key, policy, refresh, (err) => logger.warn({ err, tenant: tenant.name }, 'background refresh failed'))
    }
    headers['accelerate-cache-status'] = hit.state === 'fresh' ? 'ttl' : 'swr'
    headers['last-modified'] = hit.entry.lastModified
    headers['accelerate-signature'] = hit.entry.signature
    if (shapes !== undefined) {
      // Counted when the answer is done (observe), with the clock read metrics take anyway.
      if (hit.entry.shape === undefined) attachShape(hit.entry, tenant, raw)
      call.ctx.hitEntry = hit.entry
    }
    sendPayload(call.res, hit.entry.payload, headers)
  }

  async function answerUncachedOrMiss(call: QueryCall, key: string | undefined, policy: Readonly<CachePolicy> | null): Promise<void> {
    const { tenant } = call
    const q = parseQuery(parseJson(call.raw))
    const shape = shapeOf(tenant, q)
    try {
      return await answerFromOrigin(call.res, tenant, call.line, call.ctx.headers, call.ctx.started, key, policy, q, shape, wantsQueryLog(call.req) ? [] : undefined)
    } catch (err) {
      if (shape !== undefined) shapes!.error(shape, performance.now())
      throw err
    }
  }

  /** A query the cache did not answer: filled into the cache (a miss) or run uncached. */
  async function answerFromOrigin(
    res: ServerResponse,
    tenant: Tenant,
    line: string,
    headers: Record<string, string>,
    started: number,
    key: string | undefined,
    policy: Readonly<CachePolicy> | null,
    q: QueryBody,
    shape: ShapeRecord | undefined,
    /** The request asked for query logs: what it runs is recorded here and sent back. */
    queryLog: QueryLogEntry[] | undefined,
  ): Promise<void> {
    const executor = await engines.executor(tenant.origin, line)
    if (key !== undefined && policy !== null && q.model !== undefined && CACHEABLE_OPERATIONS.has(q.operation)) {
      // (A request that joins another's fill ran nothing itself: its log stays empty.)
      const produced = await cache.fill(key, policy, () => produce(tenant, executor, q, policy, shape, queryLog))
      headers['accelerate-cache-status'] = 'miss'
      headers['last-modified'] = new Date(produced.producedAt).toUTCString()
      headers['accelerate-signature'] = cacheSignature(key)
      sendPayload(res, produced.payload, headers, queryLog)
      if (shape !== undefined) {
        const now = performance.now()
        shapes!.miss(shape, now - started, now)
        if (produced.notStoredReason !== undefined) shapes!.noteReason(shape, produced.notStoredReason)
      }
      return
    }
    // Not cached: no strategy, a write (a strategy on a write is ignored), or raw SQL.
    const tracked = !(q.model !== undefined && READ_OPERATIONS.has(q.operation))
    const statements: string[] = []
    const rawSql = q.model === undefined
    let data: unknown
    try {
      data = await executor.query(q.plan, q.params, q.comments, {
        txId: null,
        timeoutMs: limits.queryTimeoutMs,
        ...(tracked ? { statements, onLateSettle: () => void invalidateWrites(tenant, statements, rawSql).catch(() => {}) } : {}),
        ...(queryLog ? { queryLog } : {}),
      })
    } finally {
      // Autocommit writes and plan-level transactions have committed (or failed) by now, and
      // the answer has not left yet: invalidate first. On failure too — invalidating is always safe.
      if (tracked) await invalidateWrites(tenant, statements, rawSql)
    }
    headers['accelerate-cache-status'] = 'none'
    sendPayload(res, encode(data), headers, queryLog)
    if (shape !== undefined) {
      const now = performance.now()
      const reason = rawSql ? 'raw query' : tracked ? 'write' : 'no cache strategy'
      shapes!.uncached(shape, reason, now - started, now)
    }
  }

  async function handleTransactionQuery(req: IncomingMessage, res: ServerResponse, id: string, tx: TransactionEntry<Tenant>, headers: Record<string, string>, started: number): Promise<void> {
    const q = parseQuery(await body(req))
    // Inside a transaction nothing is read from or put into the cache; writes are remembered
    // and invalidated when (and only if) the transaction commits.
    const tracked = !(q.model !== undefined && READ_OPERATIONS.has(q.operation))
    const shape = shapeOf(tx.owner, q)
    const queryLog: QueryLogEntry[] | undefined = wantsQueryLog(req) ? [] : undefined
    let data: unknown
    try {
      data = await tx.executor.query(q.plan, q.params, q.comments, {
        txId: id,
        timeoutMs: limits.queryTimeoutMs,
        ...(tracked ? { statements: tx.statements } : {}),
        ...(queryLog ? { queryLog } : {}),
      })
    } catch (err) {
      if (shape !== undefined) shapes!.error(shape, performance.now())
      throw err
    }
    headers['accelerate-cache-status'] = 'none'
    sendPayload(res, encode(data), headers, queryLog)
    if (shape !== undefined) {
      const now = performance.now()
      shapes!.uncached(shape, q.model === undefined ? 'raw query' : tracked ? 'write' : 'in transaction', now - started, now)
    }
  }

  async function route(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
    const { path, headers } = ctx
    const method = req.method ?? 'GET'
    // Limits come only from Sluice's configuration. The internal limit headers a Query Plan
    // Executor would honour (x-query-timeout, x-max-transaction-timeout, x-max-response-size)
    // are never read, so a client cannot raise its own limits.
    const txRoute = TX_ROUTE.exec(path)
    if (txRoute) {
      expectMethod(method, 'POST')
      const tenant = authenticate(req)
      const id = decodeURIComponent(txRoute[1]!)
      const tx = transactions.get(id, tenant)
      if (!tx) {
        throw new HttpError(404, 'P2028', `Transaction API error: Transaction not found. Transaction ID is invalid, refers to an old closed transaction, or belongs to another API key.`, {
          transactionId: id,
        })
      }
      switch (txRoute[2]) {
        case 'query':
          return handleTransactionQuery(req, res, id, tx, headers, ctx.started)
        case 'commit':
          await body(req) // drain; the client sends none
          try {
            await tx.executor.commit(id)
          } finally {
            transactions.delete(id)
            // After COMMIT, before the answer: the transaction's writes become visible to
            // readers exactly when their cached predecessors stop being servable. (Also after a
            // failed COMMIT, whose outcome may be unknown: invalidating is always safe.)
            await invalidateWrites(tenant, tx.statements, true)
          }
          return send(res, 200, '{}', headers)
        case 'rollback':
          await body(req)
          try {
            await tx.executor.rollback(id)
          } finally {
            transactions.delete(id)
          }
          return send(res, 200, '{}', headers)
      }
    }
    switch (path) {
      case '/transaction/start': {
        expectMethod(method, 'POST')
        const tenant = authenticate(req)
        const line = clientLine(req)
        const parsed = transactionStartBody.safeParse(await body(req))
        if (!parsed.success) throw invalidParameters(`Invalid transaction options: ${firstIssue(parsed.error)}`)
        const opts = parsed.data
        const timeout = opts.timeout ?? Math.min(5000, limits.maxTransactionTimeoutMs)
        if (timeout > limits.maxTransactionTimeoutMs) {
          throw invalidParameters(
            `Interactive transaction timeout of ${timeout} ms exceeds the maximum of ${limits.maxTransactionTimeoutMs} ms allowed by this Sluice (--max-transaction-timeout)`,
            { timeout, maxTransactionTimeout: limits.maxTransactionTimeoutMs },
          )
        }
        if (opts.newTxId !== undefined) {
          // Nested transactions (savepoints) are not part of the Accelerate protocol; refusing
          // them also keeps one tenant from naming another tenant's transaction.
          throw invalidParameters('newTxId (nested transactions) is not supported over HTTP')
        }
        const executor = await engines.executor(tenant.origin, line)
        const id = await executor.startTransaction({
          maxWait: opts.maxWait ?? 2000,
          timeout,
          ...(opts.isolationLevel ? { isolationLevel: opts.isolationLevel } : {}),
        })
        transactions.add(id, tenant, executor, timeout)
        return send(res, 200, JSON.stringify({ id }), { ...headers, 'prisma-transaction-id': id })
      }
      case '/connection-info': {
        expectMethod(method, 'GET')
        const tenant = authenticate(req)
        const executor = await engines.executor(tenant.origin, clientLine(req))
        return send(res, 200, JSON.stringify(executor.connectionInfo()), headers)
      }
      case '/invalidate': {
        expectMethod(method, 'POST')
        const tenant = authenticate(req)
        const parsed = invalidateBody.safeParse(await body(req))
        if (!parsed.success) throw invalidParameters(`Invalid invalidate request: ${firstIssue(parsed.error)}`)
        if (!invalidateLimiter.take(tenant.name)) {
          throw new HttpError(429, 'P6003', `Invalidation rate limit reached (${options.invalidateRateLimit} per minute); try again later`, {
            limit: options.invalidateRateLimit,
          })
        }
        // Only the caller's tenant: tag epochs and the "all" epoch are per tenant.
        await cache.invalidate(
          parsed.data.tags === 'all' ? { kind: 'tenant', tenant: tenant.name } : { kind: 'tags', tenant: tenant.name, tags: parsed.data.tags },
        )
        res.writeHead(200, { 'cf-ray': headers['cf-ray']! })
        return void res.end()
      }
      case '/health':
        expectMethod(method, 'GET')
        return send(res, 200, '{"status":"ok"}', headers)
    }
    throw new HttpError(404, 'P6000', `Unknown route: ${method} ${path}`)
  }

  // Latency series per kind of answer, resolved on first use: every query observes one.
  const latency: { hit?: LatencySeries; miss?: LatencySeries; origin?: LatencySeries } = {}

  // Metrics are taken when the answer has been handed to node:http (not on the socket's 'close',
  // which would cost a listener per request on the hit path).
  function observe(ctx: RequestContext, errorCode: string | undefined): void {
    const m = options.metrics
    if (m === undefined && shapes === undefined) return
    const now = performance.now()
    const hitEntry = ctx.hitEntry
    if (hitEntry?.shape !== undefined) hitEntry.shape = shapes!.hit(hitEntry.shape, now - ctx.started, now)
    if (m === undefined) return
    const operation = operationOfPath(ctx.path)
    const status = errorCode !== undefined ? 'error' : (ctx.headers['accelerate-cache-status'] ?? 'none')
    m.countRequest('http', operation, status, errorCode ?? '')
    if (operation === 'query' || operation === 'transaction_query') {
      const kind = status === 'ttl' || status === 'swr' ? 'hit' : status === 'miss' ? 'miss' : 'origin'
      ;(latency[kind] ??= m.latency.series({ door: 'http', kind })).observe((now - ctx.started) / 1000)
    }
  }

  /**
   * The one log line of a failed request. Internal failures (ours or the origin's) carry the error
   * with its stack; a caller's mistake carries only the code and the message the caller got.
   */
  function logFailure(req: IncomingMessage, path: string, requestId: string, answer: ErrorAnswer, err: unknown): void {
    // The tenant is looked up again here rather than carried along: failures are rare, and the
    // hit path stays free of per-request bookkeeping.
    const key = bearerToken(req.headers.authorization)
    const tenant = key === undefined ? undefined : keys.lookup(key)?.name
    const fields = { requestId, door: 'http', operation: operationOfPath(path), tenant, code: answer.body.code, status: answer.status, message: answer.body.message }
    if (answer.internal) logger.error({ ...fields, err }, 'request failed')
    else if (answer.status >= 500) logger.warn(fields, 'request failed')
    else logger.info(fields, 'request refused')
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const path = q === -1 ? url : url.slice(0, q)
    const requestId = nextRequestId(options.region)
    const headers: Record<string, string> = { 'content-type': 'application/json', 'cf-ray': requestId }
    const ctx: RequestContext = { requestId, started: performance.now(), path, headers, hitEntry: undefined }
    inFlight++
    const done = (): void => {
      inFlight--
      observe(ctx, undefined)
    }
    const failed = (err: unknown): void => {
      inFlight--
      const answer = toErrorAnswer(err, requestId)
      logFailure(req, path, requestId, answer, err)
      observe(ctx, answer.body.code)
      if (res.headersSent) {
        res.destroy()
        return
      }
      send(res, answer.status, JSON.stringify(answer.body), {
        ...JSON_HEADERS,
        'cf-ray': requestId,
        'prisma-error-code': answer.body.code,
        ...answer.headers,
      })
    }
    if (path === '/query') return queryRoute(req, res, ctx, done, failed)
    route(req, res, ctx).then(done, failed)
  }

  /**
   * POST /query without promises up to the cache: the body is read with callbacks and a local hit
   * is answered from its 'end' callback; what has to wait (shared tier, database) ends in a promise.
   */
  function queryRoute(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, done: () => void, failed: (err: unknown) => void): void {
    let tenant: Tenant
    let line: string
    try {
      expectMethod(req.method ?? 'GET', 'POST')
      tenant = authenticate(req)
      line = clientLine(req)
    } catch (err) {
      return failed(err)
    }
    readBodyThen(req, limits.maxRequestSize, (err, raw) => {
      if (err !== undefined) return failed(err)
      let pending: Promise<void> | undefined
      try {
        pending = answerQuery({ req, res, tenant, line, ctx, raw: raw! })
      } catch (e) {
        return failed(e)
      }
      if (pending === undefined) done()
      else pending.then(done, failed)
    })
  }

  return {
    handle,
    get inFlight() {
      return inFlight
    },
  }
}

/** The operation label of a request path (metrics and logs). */
function operationOfPath(path: string): string {
  const operation = path.startsWith('/transaction/') ? `transaction_${path.slice(path.lastIndexOf('/') + 1)}` : path.slice(1) || 'root'
  return KNOWN_OPERATIONS.has(operation) ? operation : 'other'
}

function expectMethod(actual: string, expected: string): void {
  if (actual !== expected) throw new HttpError(405, 'P6000', `Method ${actual} not allowed here; use ${expected}`, {}, { allow: expected })
}
