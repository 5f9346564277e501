// The admin JSON API: /api/stats moves with traffic through both doors (per-shape stats with
// parameters redacted, totals, pools), and /api/invalidate is refused without the admin token and
// invalidates through the core path with it.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDatabase, describeWithPostgres } from '../helpers/postgres.js'
import { startSluice, type TestSluice } from '../helpers/sluice.js'
import { describeWithRedis, startRedis } from '../helpers/redis.js'
import { ddl, loadClient } from '../e2e/clients.js'

/* eslint-disable @typescript-eslint/no-explicit-any */
const TOKEN = 'admin-token-for-tests-0123456789'

async function api(s: TestSluice, path: string, init: RequestInit = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`http://127.0.0.1:${s.sluice.adminPort}${path}`, init)
  const text = await res.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body, headers: res.headers }
}

const post = (s: TestSluice, body: unknown, token?: string) =>
  api(s, '/api/invalidate', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token !== undefined ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })

describe('admin API without a token', () => {
  let s: TestSluice
  beforeAll(async () => {
    s = await startSluice({})
  })
  afterAll(async () => s?.close())

  it('refuses mutating endpoints with 403 and says how to enable them; reading stays open', async () => {
    const r = await post(s, { all: true }, 'anything-at-all-0000')
    expect(r.status).toBe(403)
    expect(r.body.code).toBe('admin_token_not_configured')
    expect(r.body.error).toMatch(/SLUICE_ADMIN_TOKEN/)
    const stats = await api(s, '/api/stats')
    expect(stats.status).toBe(200)
    expect(stats.body.admin.invalidate).toBe(false)
    expect(stats.body.totals.requests).toBe(0)
    expect(stats.body.totals.hitRate).toBeNull()
  })

  it('answers unknown paths, wrong methods and bad parameters with JSON errors', async () => {
    expect((await api(s, '/api/nope')).status).toBe(404)
    const wrong = await api(s, '/api/invalidate')
    expect(wrong.status).toBe(405)
    expect(wrong.headers.get('allow')).toBe('POST')
    expect((await api(s, '/api/stats?top=-1')).status).toBe(400)
    expect((await api(s, '/api/stats?sort=weird')).body.code).toBe('invalid_parameter')
  })
})

describeWithPostgres('admin API with traffic', () => {
  let s: TestSluice
  let url: string
  let prisma: any
  beforeAll(async () => {
    url = await createDatabase('admin_api', ddl())
    s = await startSluice({
      tenants: [
        { name: 'a', origin: `${url}?connection_limit=3`, apiKeys: ['key-a'] },
        { name: 'b', origin: `${url}?connection_limit=3`, apiKeys: ['key-b'] },
      ],
      pg: { cache: 'auto' },
      adminToken: TOKEN,
    })
    const { PrismaClient, withAccelerate } = await loadClient('7.10')
    prisma = new PrismaClient({ accelerateUrl: s.accelerateUrl('key-a') }).$extends(withAccelerate())
  })
  afterAll(async () => s?.close())

  const status = async (p: Promise<any>) => (await (p as any).withAccelerateInfo()).info.cacheStatus as string
  const findUsers = () => prisma.user.findMany({ where: { email: { contains: 'secret-needle-4711' } }, cacheStrategy: { ttl: 60, tags: ['users'] } })

  it('per-shape stats, totals and pools move with traffic, and no parameter value is ever shown', async () => {
    const before = (await api(s, '/api/stats')).body
    expect(before.shapes.top).toEqual([])

    expect(await status(findUsers())).toBe('miss')
    expect(await status(findUsers())).toBe('ttl')
    expect(await status(findUsers())).toBe('ttl')
    await prisma.user.findUnique({ where: { email: 'secret-needle-4711@x.io' } })
    await prisma.user.create({ data: { email: 'secret-needle-4711@example.com', name: 'n' } })
    await prisma.$queryRawUnsafe("SELECT 'secret-needle-4711' AS v, 98765432 AS n")

    const c = new pg.Client({ connectionString: s.pgUrl(url).replace('postgres@', 'a.postgres@') })
    await c.connect()
    // auto mode: the first miss is relayed, the second stored, the third a hit
    for (let i = 0; i < 3; i++) await c.query(`SELECT count(*) FROM "User" WHERE email = 'secret-needle-4711@example.com'`)
    await c.query('SELECT count(*) FROM "User" WHERE id = $1', [98765432])
    await c.query('SELECT now()')
    // An extended-protocol execution that is not cached is relayed as held: its reason reaches its shape.
    await c.query('SELECT now() - $1::interval AS t', ['1 hour'])
    await c.query(`UPDATE "User" SET name = 'secret-needle-4711' WHERE id = -98765432`)
    await c.query('BEGIN')
    await c.query(`SELECT email FROM "User" WHERE name = 'secret-needle-4711'`)
    await c.query('COMMIT')
    await c.end()

    const r = await api(s, '/api/stats?top=100')
    expect(r.status).toBe(200)
    expect(r.headers.get('cache-control')).toBe('no-store')
    const stats = r.body
    // Nothing the clients sent as a value appears anywhere in the answer.
    expect(JSON.stringify(stats)).not.toMatch(/secret-needle|4711|98765432/)

    expect(stats.totals.requests).toBeGreaterThanOrEqual(9)
    expect(stats.totals.hits).toBeGreaterThanOrEqual(3)
    expect(stats.totals.misses).toBeGreaterThanOrEqual(2)
    expect(stats.totals.hitRate).toBeGreaterThan(0)
    expect(stats.totals.byDoor.pg).toBeGreaterThanOrEqual(8)
    expect(stats.totals.latency.hit.count).toBeGreaterThanOrEqual(3)
    expect(stats.totals.latency.hit.p50Ms).toBeGreaterThan(0)
    expect(stats.totals.latency.miss.p99Ms).toBeGreaterThan(0)
    expect(stats.cache.entries).toBeGreaterThanOrEqual(2)
    expect(stats.cache.bytes).toBeGreaterThan(0)
    expect(stats.pools).toHaveLength(1)
    expect(stats.pools[0]).toMatchObject({ limit: 3, tenants: ['a', 'b'], timeouts: 0 })
    expect(stats.pools[0].target).toMatch(/^127\.0\.0\.1:5432\/admin_api_/)
    expect(stats.tenants).toEqual(['a', 'b'])
    expect(stats.admin.invalidate).toBe(true)

    const shape = (label: string, door = 'http') => stats.shapes.top.find((x: any) => x.label === label && x.door === door)
    const many = shape('User.findMany')
    expect(many).toMatchObject({ tenant: 'a', count: 3, hits: 2, misses: 1, uncached: 0, lastReason: null })
    expect(many.hitRatio).toBeCloseTo(2 / 3)
    expect(many.sql).toMatch(/SELECT .*"User".* LIKE/s)
    expect(many.p50Ms).toBeGreaterThan(0)
    expect(many.p99Ms).toBeGreaterThanOrEqual(many.p50Ms)
    expect(many.savedMs).toBeGreaterThanOrEqual(0)
    expect(many.id).toMatch(/^[0-9a-f]{12}$/)
    expect(shape('User.findUnique')).toMatchObject({ uncached: 1, lastReason: 'no cache strategy' })
    expect(shape('User.createOne')).toMatchObject({ uncached: 1, lastReason: 'write' })
    const raw = shape('queryRaw')
    expect(raw).toMatchObject({ lastReason: 'raw query' })
    expect(raw.sql).toContain('SELECT ? AS v, ? AS n')

    const wire = stats.shapes.top.filter((x: any) => x.door === 'pg')
    const byEmail = wire.find((x: any) => x.sql.includes('email = ?'))
    const firstMiss = 'first miss (auto mode stores a key when it misses again)'
    expect(byEmail).toMatchObject({ label: 'SELECT', tenant: 'a', count: 3, hits: 1, misses: 1, uncached: 1, lastReason: firstMiss })
    expect(wire.find((x: any) => x.sql.includes('id = $1'))).toMatchObject({ count: 1, uncached: 1, lastReason: firstMiss })
    expect(wire.find((x: any) => x.sql === 'SELECT now()')).toMatchObject({ uncached: 1, lastReason: 'volatile function' })
    expect(wire.find((x: any) => x.sql === 'SELECT now() - $1::interval AS t')).toMatchObject({ uncached: 1, lastReason: 'volatile function' })
    expect(wire.find((x: any) => x.sql.startsWith('UPDATE'))).toMatchObject({ label: 'UPDATE', uncached: 1, lastReason: 'write' })
    expect(wire.find((x: any) => x.sql === 'SELECT email FROM "User" WHERE name = ?')).toMatchObject({ uncached: 1, lastReason: 'in transaction' })
    expect(stats.notCached).toContainEqual({ door: 'pg', reason: 'volatile function', count: 2 })
    expect(stats.notCached).toContainEqual({ door: 'pg', reason: firstMiss, count: 2 })
    expect(stats.notCached).toContainEqual({ door: 'http', reason: 'no cache strategy', count: 1 })
    expect(stats.notCached).toContainEqual({ door: 'http', reason: 'write', count: 1 })

    // Sorting by time saved and limiting the list.
    const top1 = (await api(s, '/api/stats?top=1&sort=saved')).body
    expect(top1.shapes.top).toHaveLength(1)
    expect(top1.shapes.sort).toBe('saved')
  })

  it('refuses invalidation without the right token, and invalidates through the core path with it', async () => {
    await findUsers()
    expect(await status(findUsers())).toBe('ttl')

    const none = await post(s, { tags: ['users'] })
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toBe('Bearer')
    expect((await post(s, { tags: ['users'] }, `${TOKEN}x`)).status).toBe(401)
    expect(await status(findUsers())).toBe('ttl') // nothing happened

    expect((await post(s, '{not json', TOKEN)).status).toBe(400)
    const both = await post(s, { tags: ['users'], all: true }, TOKEN)
    expect(both.status).toBe(400)
    expect(both.body.error).toMatch(/either "tags"/)
    expect((await post(s, { tags: ['no spaces'] }, TOKEN)).body.error).toMatch(/^tags\.0: /)
    expect((await post(s, { all: true, tenant: 'nobody' }, TOKEN)).status).toBe(404)

    const before = (await api(s, '/api/stats')).body.invalidations.tag ?? 0
    const ok = await post(s, { tags: ['users'] }, TOKEN)
    expect(ok.status).toBe(200)
    expect(ok.body).toEqual({ ok: true, tenants: ['a', 'b'], tags: ['users'] })
    expect(await status(findUsers())).toBe('miss')
    expect(await status(findUsers())).toBe('ttl')
    const after = (await api(s, '/api/stats')).body
    expect(after.invalidations.tag - before).toBe(2) // one per tenant

    // "all" for one tenant drops that tenant's entries at once.
    const entries = after.cache.entries
    const all = await post(s, { all: true, tenant: 'a' }, TOKEN)
    expect(all.body).toEqual({ ok: true, tenants: ['a'], all: true })
    expect((await api(s, '/api/stats')).body.cache.entries).toBeLessThan(entries)
    expect(await status(findUsers())).toBe('miss')
  })

  it('serves the dashboard page with a strict content security policy', async () => {
    const r = await fetch(`http://127.0.0.1:${s.sluice.adminPort}/`)
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toMatch(/^text\/html/)
    const csp = r.headers.get('content-security-policy') ?? ''
    expect(csp).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/)
    expect(csp).toContain("connect-src 'self'")
    const html = await r.text()
    expect(html).toContain('id="shapes"')
    expect(html).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet|https?:\/\/(?!www\.w3\.org)/)
  })
})

describeWithPostgres('admin API with a shared tier', () => {
  describeWithRedis('two nodes on one Redis', () => {
    it('counts a hit served from Redis on another node under its query shape, and /api/invalidate reaches every node', async () => {
      const redis = await startRedis()
      const url = await createDatabase('admin_shared', ddl())
      const a = await startSluice({ origin: url, apiKeys: ['k'], redis: redis.url, adminToken: TOKEN })
      const b = await startSluice({ origin: url, apiKeys: ['k'], redis: redis.url })
      try {
        const { PrismaClient, withAccelerate } = await loadClient('7.10')
        const pa = new PrismaClient({ accelerateUrl: a.accelerateUrl('k') }).$extends(withAccelerate())
        const pb = new PrismaClient({ accelerateUrl: b.accelerateUrl('k') }).$extends(withAccelerate())
        const q = (p: any) => p.post.findMany({ where: { title: 'needle-5150' }, cacheStrategy: { ttl: 60, tags: ['posts'] } }).withAccelerateInfo()
        expect((await q(pa)).info.cacheStatus).toBe('miss')
        expect((await q(pb)).info.cacheStatus).toBe('ttl') // from Redis: node b has no record on that entry yet
        expect((await q(pb)).info.cacheStatus).toBe('ttl')
        const onB = (await api(b, '/api/stats')).body.shapes.top.find((x: any) => x.label === 'Post.findMany')
        expect(onB).toMatchObject({ count: 2, hits: 2, misses: 0 })
        expect(onB.sql).not.toContain('5150')

        expect((await post(a, { tags: ['posts'] }, TOKEN)).status).toBe(200)
        await expect.poll(async () => (await q(pb)).info.cacheStatus, { timeout: 5000 }).toBe('miss')
      } finally {
        await b.close()
        await a.close()
        await redis.stop()
      }
    })
  })
})
