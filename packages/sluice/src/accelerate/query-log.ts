// The client's query log over HTTP. A Prisma client created with `log: ['query']` (or
// `$on('query')`) sends `X-Capture-Telemetry: …, query`, and emits a `query` event for every
// `{ level: 'query', attributes: { query, params, duration_ms } }` found in the answer's
// `extensions.logs` (RemoteExecutor, Prisma 7). Sluice returns the statements it ran for that
// request — none for a cache hit, which ran nothing, so a hit is answered with its stored bytes
// untouched.
import type { IncomingMessage } from 'node:http'
import type { QueryLogEntry } from '../executor/plan-executor.js'

// `query` as one item of the comma-separated list (`error`, `info, query`, `tracing, warn, query`…).
const QUERY_ITEM = /(?:^|,)\s*query\s*(?:,|$)/

/** True when the request asks for query logs (asked on every miss: no array is built for it). */
export function wantsQueryLog(req: IncomingMessage): boolean {
  const capture = req.headers['x-capture-telemetry']
  return typeof capture === 'string' && QUERY_ITEM.test(capture)
}

/** Argument values as JSON (BigInt as a decimal string, bytes as base64), as Prisma prints params. */
function paramsJson(args: readonly unknown[]): string {
  return JSON.stringify(args, (_key, value: unknown) => {
    if (typeof value === 'bigint') return value.toString()
    if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')
    return value
  })
}

/** `extensions.logs` entries for what a request ran. */
export function queryLogs(log: readonly QueryLogEntry[]): unknown[] {
  return log.map((e) => ({
    level: 'query',
    timestamp: [Math.floor(e.startedAt / 1000), (e.startedAt % 1000) * 1_000_000],
    attributes: { query: e.sql, params: paramsJson(e.args), duration_ms: Math.max(0, Math.round(e.durationMs * 1000) / 1000) },
  }))
}

/**
 * `payload` (an encoded `{"data":…}`) with the request's query log added as `extensions`. The
 * payload itself — the bytes a cache entry keeps — is not changed.
 */
export function withQueryLog(payload: Buffer, log: readonly QueryLogEntry[]): Buffer {
  const extensions = Buffer.from(`,"extensions":${JSON.stringify({ logs: queryLogs(log) })}}`)
  // The payload ends with the `}` of its object: the extensions go in front of it.
  return Buffer.concat([payload.subarray(0, payload.length - 1), extensions])
}
