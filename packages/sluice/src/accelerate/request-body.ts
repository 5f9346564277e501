import type { IncomingMessage } from 'node:http'
import { formatSize } from '../config/units.js'
import { HttpError, invalidParameters } from './errors.js'

/**
 * Reads a request body up to `limit` bytes. A larger body is refused (P6005, HTTP 413) as soon as
 * the limit is crossed, without buffering the rest; the connection is closed afterwards.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? NaN)
  if (declared > limit) return Promise.reject(tooLarge(limit))
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > limit) {
        req.removeAllListeners('data')
        req.resume()
        reject(tooLarge(limit))
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)))
    req.on('error', reject)
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
