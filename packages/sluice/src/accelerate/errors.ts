// Every failure on the HTTP door becomes `{code, message, meta}` with a P-code the Prisma client
// surfaces as PrismaClientKnownRequestError.code. Nothing else leaves the process: no stacks,
// no file paths, no connection strings.
import { isUserFacing } from '../executor/errors.js'
import { QueryTimeoutError } from '../executor/errors.js'
import { OriginUnavailableError, PoolTimeoutError } from '../pool/errors.js'

export class HttpError extends Error {
  override name = 'HttpError'
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly meta: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }
}

export const unauthorized = (why: string) => new HttpError(401, 'P6002', why)
export const invalidParameters = (why: string, meta: Record<string, unknown> = {}) => new HttpError(400, 'P6005', why, meta)

// Codes from the origin connection (Prisma's P1xxx) that mean "the database is unreachable".
const ORIGIN_CONNECTION_CODES = new Set(['P1000', 'P1001', 'P1002', 'P1003', 'P1008', 'P1010', 'P1011', 'P1017'])
// Driver-adapter error kinds that mean the same.
const CONNECTION_KINDS = new Set(['DatabaseNotReachable', 'AuthenticationFailed', 'DatabaseDoesNotExist', 'DatabaseAccessDenied', 'TlsConnectionError', 'ConnectionClosed', 'SocketTimeout', 'TooManyConnections'])
// Node/pg errors seen when a connection cannot be made at all.
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE'])

const STATEMENT_TIMEOUT_CODES = new Set(['57014', '1969', '3024'])

export interface ErrorAnswer {
  status: number
  body: { code: string; message: string; meta: Record<string, unknown> }
  headers: Record<string, string>
  /** True when the failure is ours or the origin's (logged at error level), not the caller's. */
  internal: boolean
}

/** Maps any thrown value to the answer the client gets. */
export function toErrorAnswer(err: unknown, requestId: string): ErrorAnswer {
  const answer = (status: number, code: string, message: string, meta: Record<string, unknown> = {}, internal = false, headers: Record<string, string> = {}): ErrorAnswer => ({
    status,
    body: { code, message: redact(message), meta: redactDeep(meta) as Record<string, unknown> },
    headers,
    internal,
  })
  if (err instanceof HttpError) return answer(err.status, err.code, err.message, err.meta, false, err.headers)
  if (err instanceof QueryTimeoutError) return answer(504, 'P6004', err.message, { timeoutMs: err.timeoutMs })
  if (err instanceof PoolTimeoutError) {
    return answer(503, 'P2024', err.message, { connection_limit: err.connectionLimit, pool_timeout: err.poolTimeoutSeconds })
  }
  if (err instanceof OriginUnavailableError) {
    return answer(503, 'P6008', `Sluice could not connect to the origin database: ${err.message}`, { cause: err.cause_code }, true)
  }
  if (isUserFacing(err)) {
    // Raw queries wrap every driver failure in P2010, so look at the driver's own error kind too.
    const kind = driverErrorKind(err.meta)
    if (ORIGIN_CONNECTION_CODES.has(err.code) || (kind !== undefined && CONNECTION_KINDS.has(kind))) {
      return answer(503, 'P6008', `Sluice could not connect to the origin database (${kind ?? err.code})`, { cause: kind ?? err.code }, true)
    }
    // The database cancelled the statement at its own timeout: Postgres statement_timeout
    // (SQLSTATE 57014), MariaDB max_statement_time (1969), MySQL max_execution_time (3024).
    if (STATEMENT_TIMEOUT_CODES.has(String(originalCode(err.meta)))) return answer(504, 'P6004', 'Query timed out and was cancelled on the database', {})
    return answer(err.code === 'P2028' ? 409 : 400, err.code, err.message, err.meta)
  }
  const code = (err as { code?: unknown })?.code
  if (typeof code === 'string' && NETWORK_CODES.has(code)) {
    return answer(503, 'P6008', `Sluice could not connect to the origin database (${code})`, { cause: code }, true)
  }
  const kind = (err as { cause?: { kind?: unknown } })?.cause?.kind
  if (err instanceof Error && err.name === 'DriverAdapterError' && typeof kind === 'string' && CONNECTION_KINDS.has(kind)) {
    return answer(503, 'P6008', `Sluice could not connect to the origin database (${kind})`, { cause: kind }, true)
  }
  return answer(500, 'P6000', `Internal server error (request ${requestId})`, {}, true)
}

function driverErrorKind(meta: Record<string, unknown>): string | undefined {
  const kind = (meta.driverAdapterError as { cause?: { kind?: unknown } } | undefined)?.cause?.kind
  return typeof kind === 'string' ? kind : undefined
}

function originalCode(meta: Record<string, unknown>): unknown {
  const dae = meta.driverAdapterError as { cause?: { originalCode?: unknown } } | undefined
  return dae?.cause?.originalCode
}

const URL_PATTERN = /\b(?:postgres(?:ql)?|mysql|mariadb|sqlserver|prisma(?:\+postgres)?):\/\/[^\s'"`]+/gi
const PATH_PATTERN = /(?:\/[\w.-]+){2,}\.(?:[cm]?js|ts)(?::\d+(?::\d+)?)?/g

function redact(s: string): string {
  return s.replace(URL_PATTERN, '[redacted url]').replace(PATH_PATTERN, '[path]')
}

function redactDeep(v: unknown, depth = 0): unknown {
  if (depth > 8) return undefined
  if (typeof v === 'string') return redact(v)
  if (Array.isArray(v)) return v.map((x) => redactDeep(x, depth + 1))
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) {
      if (k === 'stack') continue
      out[k] = redactDeep(x, depth + 1)
    }
    return out
  }
  return v
}
