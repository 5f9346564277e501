// The admin listener (loopback by default): Prometheus /metrics, the JSON admin API and the
// dashboard page.
//
//   GET  /               the dashboard (one self-contained HTML page, see ./dashboard/)
//   GET  /metrics        Prometheus text format
//   GET  /api/stats      totals, cache, pools, top query shapes (?top=N&sort=count|saved|recent)
//   POST /api/invalidate {"tags":[…]} | {"all":true}, optionally "tenant"; needs the admin token
//
// Reading is open to whoever reaches the listener — the same trust as /metrics, which shows the
// same figures; query shapes never contain parameter values. Changing anything needs
// `Authorization: Bearer <admin token>`; without a configured token the mutating endpoints are
// refused (403), so an admin port exposed by mistake cannot be used to flush the cache.
import { createHash, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { Logger } from 'pino'
import { z } from 'zod'
import type { Tenant } from '../accelerate/http-door.js'
import { bearerToken } from '../accelerate/auth.js'
import { MAX_TAGS, TAG_PATTERN } from '../accelerate/bodies.js'
import type { QueryCache } from '../cache/query-cache.js'
import type { Metrics } from '../observability/metrics.js'
import type { ShapeStats } from '../observability/shape-stats.js'
import type { Origin } from '../pool/origin.js'
import { listen } from '../util/listen.js'
import { dashboardPage } from './dashboard/page.js'

export interface Admin {
  port: number
  close(): Promise<void>
}

export interface AdminOptions {
  port: number
  host: string
  /** Bearer token for mutating endpoints; absent = they are refused. */
  token?: string
}

export interface AdminSources {
  metrics: Metrics
  shapes: ShapeStats
  cache: QueryCache
  origins: readonly Origin[]
  tenants: readonly Tenant[]
}

const VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
})()

/** Largest admin request body (an invalidate call is a few hundred bytes). */
const MAX_BODY = 64 * 1024
const DEFAULT_TOP = 50
const MAX_TOP = 1000

const invalidateBody = z
  .object({
    tags: z
      .array(z.string().regex(TAG_PATTERN, 'tags may contain only letters, digits and "_" (1-64 characters)'))
      .min(1, 'give at least one tag')
      .max(MAX_TAGS, `at most ${MAX_TAGS} tags per call`)
      .optional(),
    all: z.literal(true).optional(),
    tenant: z.string().min(1).optional(),
  })
  .strict()
  .refine((b) => (b.tags !== undefined) !== (b.all === true), 'give either "tags": [...] or "all": true')

class AdminError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
  }
}

export async function startAdmin(options: AdminOptions, sources: AdminSources, logger: Logger): Promise<Admin> {
  const startedAt = Date.now()
  const tokenDigest = options.token !== undefined ? digest(options.token) : undefined
  const page = dashboardPage(VERSION)

  function authorize(req: IncomingMessage): void {
    if (tokenDigest === undefined) {
      throw new AdminError(
        403,
        'admin_token_not_configured',
        'This Sluice has no admin token, so changes through the admin API are disabled. Set admin.token in the config file, SLUICE_ADMIN_TOKEN or --admin-token.',
      )
    }
    const given = bearerToken(req.headers.authorization)
    // Both sides are hashed first: equal lengths for timingSafeEqual, and no early exit on length.
    if (given === undefined || !timingSafeEqual(digest(given), tokenDigest)) {
      throw new AdminError(401, 'unauthorized', 'Missing or wrong admin token: send "Authorization: Bearer <admin token>".', { 'www-authenticate': 'Bearer' })
    }
  }

  async function stats(top: number, sort: 'count' | 'saved' | 'recent'): Promise<unknown> {
    const m = sources.metrics
    const [requests, invalidations] = await Promise.all([m.requests.get(), m.invalidations.get()])
    const statuses: Record<string, number> = { ttl: 0, swr: 0, miss: 0, none: 0, error: 0 }
    const byDoor: Record<string, number> = { http: 0, pg: 0 }
    let total = 0
    for (const v of requests.values) {
      total += v.value
      const status = String(v.labels.status)
      statuses[status] = (statuses[status] ?? 0) + v.value
      const door = String(v.labels.door)
      byDoor[door] = (byDoor[door] ?? 0) + v.value
    }
    const hits = (statuses.ttl ?? 0) + (statuses.swr ?? 0)
    const misses = statuses.miss ?? 0
    const c = sources.cache.stats()
    const latency = sources.shapes.latency()
    return {
      version: VERSION,
      now: new Date().toISOString(),
      startedAt: new Date(startedAt).toISOString(),
      uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
      totals: {
        requests: total,
        byDoor,
        statuses,
        hits,
        misses,
        hitRate: hits + misses === 0 ? null : hits / (hits + misses),
        latency: latency.total,
        recentLatency: latency.recent,
        recentWindowSeconds: latency.recentWindowSeconds,
      },
      cache: {
        entries: c.entries,
        bytes: c.bytes,
        maxBytes: c.maxBytes,
        hitsFresh: c.hitsFresh,
        hitsStale: c.hitsStale,
        hitsShared: c.hitsShared,
        misses: c.misses,
        fills: c.fills,
        fillsFenced: c.fillsFenced,
        fillsSkipped: c.fillsSkipped,
        evictions: c.evictions,
        singleFlightJoins: c.joins,
        refreshes: c.refreshes,
        bypassed: c.bypassed,
      },
      invalidations: Object.fromEntries(invalidations.values.map((v) => [String(v.labels.cause), v.value])),
      // Every answer given without the cache, by door and reason (the shapes' own counts).
      notCached: sources.shapes.notCached(),
      pools: sources.origins.map((o) => {
        const s = o.stats()
        return {
          origin: o.id,
          target: describeTarget(o.settings.url),
          tenants: sources.tenants.filter((t) => t.origin === o).map((t) => t.name),
          inUse: s.total - s.idle,
          idle: s.idle,
          waiting: s.waiting,
          limit: s.limit,
          timeouts: s.timeouts,
        }
      }),
      tenants: sources.tenants.map((t) => t.name),
      shapes: { tracked: sources.shapes.size, max: sources.shapes.maxShapes, evicted: sources.shapes.evictions, sort, top: sources.shapes.top(top, sort) },
      admin: { invalidate: tokenDigest !== undefined },
    }
  }

  async function invalidate(req: IncomingMessage): Promise<unknown> {
    authorize(req)
    let raw: unknown
    try {
      raw = JSON.parse((await readBody(req)).toString('utf8'))
    } catch (err) {
      if (err instanceof AdminError) throw err
      throw new AdminError(400, 'invalid_body', 'The body must be JSON: {"tags":["a","b"]} or {"all":true}, optionally with "tenant".')
    }
    const parsed = invalidateBody.safeParse(raw)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''
      throw new AdminError(400, 'invalid_body', `${where}${issue?.message ?? 'invalid body'}`)
    }
    const body = parsed.data
    const tenants = body.tenant === undefined ? sources.tenants : sources.tenants.filter((t) => t.name === body.tenant)
    if (tenants.length === 0) throw new AdminError(404, 'unknown_tenant', `No tenant named "${body.tenant}".`)
    // The same core path as the HTTP door's POST /invalidate (and the Redis fan-out behind it).
    for (const t of tenants) {
      await sources.cache.invalidate(body.all ? { kind: 'tenant', tenant: t.name } : { kind: 'tags', tenant: t.name, tags: body.tags! })
    }
    const names = tenants.map((t) => t.name)
    logger.info({ tenants: names, ...(body.all ? { all: true } : { tags: body.tags }) }, 'admin API invalidation')
    return { ok: true, tenants: names, ...(body.all ? { all: true } : { tags: body.tags }) }
  }

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL
    try {
      url = new URL(req.url ?? '/', 'http://admin')
    } catch {
      throw new AdminError(400, 'invalid_url', 'Malformed request URL.')
    }
    const method = req.method ?? 'GET'
    const path = url.pathname
    const only = (allowed: string) => {
      if (method !== allowed && !(allowed === 'GET' && method === 'HEAD')) {
        throw new AdminError(405, 'method_not_allowed', `Use ${allowed} for ${path}.`, { allow: allowed })
      }
    }
    switch (path) {
      case '/':
      case '/index.html':
        only('GET')
        res.writeHead(200, {
          'content-type': 'text/html; charset=utf-8',
          'cache-control': 'no-store',
          // Only the page's own inline script (by hash) and style run; it talks only to this listener.
          'content-security-policy': `default-src 'none'; script-src '${page.scriptHash}'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
          'x-frame-options': 'DENY',
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
        })
        res.end(method === 'HEAD' ? undefined : page.html)
        return
      case '/metrics': {
        only('GET')
        const { contentType, body } = await sources.metrics.render()
        res.writeHead(200, { 'content-type': contentType })
        res.end(body)
        return
      }
      case '/api/stats': {
        only('GET')
        const topParam = url.searchParams.get('top')
        const top = topParam === null ? DEFAULT_TOP : Number(topParam)
        if (!Number.isInteger(top) || top < 0) throw new AdminError(400, 'invalid_parameter', `top: expected a whole number ≥ 0, got "${topParam}"`)
        const sortParam = url.searchParams.get('sort') ?? 'count'
        if (sortParam !== 'count' && sortParam !== 'saved' && sortParam !== 'recent') {
          throw new AdminError(400, 'invalid_parameter', `sort: use count, saved or recent, got "${sortParam}"`)
        }
        return json(res, 200, await stats(Math.min(top, MAX_TOP), sortParam))
      }
      case '/api/invalidate':
        only('POST')
        return json(res, 200, await invalidate(req))
    }
    throw new AdminError(404, 'not_found', `Nothing at ${method} ${path}. Try GET /, /metrics or /api/stats.`)
  }

  const server = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (res.headersSent) {
        res.destroy()
        return
      }
      if (err instanceof AdminError) return json(res, err.status, { error: err.message, code: err.code }, err.headers)
      logger.error({ err, path: req.url }, 'admin request failed')
      json(res, 500, { error: 'internal error (logged)', code: 'internal' })
    })
  })
  const port = await listen(server, options.port, options.host)
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers })
  res.end(JSON.stringify(body))
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest()
}

/** `host:port/database` of an origin URL: enough to tell pools apart, no user or password. */
function describeTarget(raw: string): string {
  try {
    const u = new URL(raw)
    return `${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`
  } catch {
    return '[invalid url]'
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > MAX_BODY) {
    return Promise.reject(new AdminError(413, 'body_too_large', `The body may be at most ${MAX_BODY} bytes.`))
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY) {
        req.removeAllListeners('data')
        req.resume()
        reject(new AdminError(413, 'body_too_large', `The body may be at most ${MAX_BODY} bytes.`))
        return
      }
      chunks.push(chunk)
    })
    req.on('end', () => resolve(Buffer.concat(chunks, size)))
    req.on('error', reject)
  })
}
