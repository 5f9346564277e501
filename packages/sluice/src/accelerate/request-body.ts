import type { IncomingMessage } from 'node:http'
import { formatSize } from '../config/units.js'
import { HttpError, invalidParameters } from './errors.js'

/**
 * Reads a request body up to `limit` bytes. A larger body is refused (P6005, HTTP 413) as soon as
 * the limit is crossed, without buffering the rest; the connection is closed afterwards.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => readBodyThen(req, limit, (err, body) => (err ? reject(err) : resolve(body!))))
}

/**
 * `readBody` with a callback, called exactly once: the cache-hit path answers from it without a
 * promise (the callback runs outside any promise: it must not throw).
 */
export function readBodyThen(req: IncomingMessage, limit: number, done: (err: Error | undefined, body?: Buffer) => void): void {
  const declared = Number(req.headers['content-length'] ?? NaN)
  if (declared > limit) return done(tooLarge(limit))
  const chunks: Buffer[] = []
  let size = 0
  let settled = false
  req.on('data', (chunk: Buffer) => {
    size += chunk.length
    if (size > limit) {
      req.removeAllListeners('data')
      req.resume()
      settled = true
      done(tooLarge(limit))
      return
    }
    chunks.push(chunk)
  })
  req.on('end', () => {
    if (settled) return
    settled = true
    done(undefined, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size))
  })
  req.on('error', (err) => {
    if (settled) return
    settled = true
    done(err)
  })
}

function tooLarge(limit: number): HttpError {
  return new HttpError(413, 'P6005', `Request body exceeds the limit of ${formatSize(limit)}`, { limit: formatSize(limit) }, { connection: 'close' })
}

/** Parses a JSON body; an empty body counts as `{}` (commit/rollback send none). */
export function parseJson(body: Buffer): unknown {
  if (body.length === 0) return {}
  try {
    return JSON.parse(body.toString('utf8'))
  } catch {
    throw invalidParameters('Request body is not valid JSON')
  }
}
