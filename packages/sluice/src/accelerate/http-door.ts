// The Accelerate-compatible HTTP door: the routes a Prisma 7 client (and the Accelerate extension)
// calls, authentication, client-version dispatch, limits and error answers. Query execution
// belongs to executor/, connections to pool/.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { randomBytes } from 'node:crypto'
import type { Logger } from 'pino'
import type { Limits } from '../config/schema.js'
import { formatSize } from '../config/units.js'
import type { Engines } from '../executor/engines.js'
import type { PlanExecutor } from '../executor/plan-executor.js'
import { describeSupported, resolveClientLine } from '../executor/registry.js'
import { TransactionRegistry } from '../executor/transactions.js'
import type { OriginPool } from '../pool/origin-pool.js'
import { bearerToken, type KeyRing } from './auth.js'
import { firstIssue, invalidateBody, queryBody, transactionStartBody, type QueryBody } from './bodies.js'
import { HttpError, invalidParameters, toErrorAnswer, unauthorized } from './errors.js'
import { parseJson, readBody } from './request-body.js'

export interface Tenant {
  name: string
  origin: OriginPool
}

export interface HttpDoorOptions {
  keys: KeyRing<Tenant>
  engines: Engines
  limits: Limits
  /** Region suffix of `cf-ray` (what `withAccelerateInfo().region` reports). */
  region: string
  logger: Logger
}

export interface HttpDoor {
  handle(req: IncomingMessage, res: ServerResponse): void
  /** Requests being answered right now (for graceful drain). */
  readonly inFlight: number
}

const JSON_HEADERS = { 'content-type': 'application/json' }
const TX_ROUTE = /^\/transaction\/([^/]+)\/(query|commit|rollback)$/

export function createHttpDoor(options: HttpDoorOptions): HttpDoor {
  const { keys, engines, limits, logger } = options
  const transactions = new TransactionRegistry<Tenant>()
  // Request ids: a per-process random prefix plus a counter; cheap and unique across restarts.
  const idPrefix = randomBytes(4).toString('hex')
  let counter = 0
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

  function sendData(res: ServerResponse, data: unknown, headers: Record<string, string>): void {
    const payload = JSON.stringify({ data })
    // Cheap upper bound first: a UTF-8 byte is at most 3 per UTF-16 unit.
    if (payload.length * 3 > limits.maxResponseSize && Buffer.byteLength(payload) > limits.maxResponseSize) {
      throw new HttpError(413, 'P6009', `Response size exceeds the limit of ${formatSize(limits.maxResponseSize)}`, {
        limit: formatSize(limits.maxResponseSize),
      })
    }
    send(res, 200, payload, headers)
  }

  async function runQuery(req: IncomingMessage, res: ServerResponse, tenant: Tenant, executor: PlanExecutor, txId: string | null, headers: Record<string, string>) {
    const q = parseQuery(await body(req))
    const data = await executor.query(q.plan, q.params, q.comments, txId, limits.queryTimeoutMs)
    sendData(res, data, headers)
  }

  async function route(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const path = q === -1 ? url : url.slice(0, q)
    const method = req.method ?? 'GET'
    const headers = { ...JSON_HEADERS, 'cf-ray': `${requestId}-${options.region}` }
    // Limits come only from Sluice's configuration. The internal limit headers a Query Plan
    // Executor would honour (x-query-timeout, x-max-transaction-timeout, x-max-response-size)
    // are never read, so a client cannot raise its own limits.

    if (path === '/query') {
      expectMethod(method, 'POST')
      const tenant = authenticate(req)
      const executor = await engines.executor(tenant.origin, clientLine(req))
      return runQuery(req, res, tenant, executor, null, headers)
    }
    const tx = TX_ROUTE.exec(path)
    if (tx) {
      expectMethod(method, 'POST')
      const tenant = authenticate(req)
      const id = decodeURIComponent(tx[1]!)
      const executor = transactions.get(id, tenant)
      if (!executor) {
        throw new HttpError(404, 'P2028', `Transaction API error: Transaction not found. Transaction ID is invalid, refers to an old closed transaction, or belongs to another API key.`, {
          transactionId: id,
        })
      }
      switch (tx[2]) {
        case 'query':
          return runQuery(req, res, tenant, executor, id, headers)
        case 'commit':
        case 'rollback':
          await body(req) // drain; the client sends none
          try {
            await (tx[2] === 'commit' ? executor.commit(id) : executor.rollback(id))
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
        authenticate(req)
        const parsed = invalidateBody.safeParse(await body(req))
        if (!parsed.success) throw invalidParameters(`Invalid invalidate request: ${firstIssue(parsed.error)}`)
        // Body validated; there is no cache behind this door yet, so nothing to drop.
        res.writeHead(200, { 'cf-ray': headers['cf-ray'] })
        return void res.end()
      }
      case '/health':
        expectMethod(method, 'GET')
        return send(res, 200, '{"status":"ok"}', headers)
    }
    throw new HttpError(404, 'P6000', `Unknown route: ${method} ${path}`)
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const requestId = `${idPrefix}${(counter++).toString(16).padStart(6, '0')}`
    inFlight++
    res.once('close', () => inFlight--)
    route(req, res, requestId).catch((err: unknown) => {
      const answer = toErrorAnswer(err, requestId)
      if (answer.internal) logger.error({ requestId, code: answer.body.code, err }, 'request failed')
      else logger.debug({ requestId, code: answer.body.code, message: answer.body.message }, 'request refused')
      if (res.headersSent) {
        res.destroy()
        return
      }
      send(res, answer.status, JSON.stringify(answer.body), {
        ...JSON_HEADERS,
        'cf-ray': `${requestId}-${options.region}`,
        'prisma-error-code': answer.body.code,
        ...answer.headers,
      })
    })
  }

  return {
    handle,
    get inFlight() {
      return inFlight
    },
  }
}

function expectMethod(actual: string, expected: string): void {
  if (actual !== expected) throw new HttpError(405, 'P6000', `Method ${actual} not allowed here; use ${expected}`, {}, { allow: expected })
}
