// /metrics on the admin port moves as traffic goes through both doors.
import pg from 'pg'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createDatabase, describeWithPostgres } from '../helpers/postgres.js'
import { startSluice, type TestSluice } from '../helpers/sluice.js'
import { ddl, loadClient } from '../e2e/clients.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

describeWithPostgres('Prometheus metrics', () => {
  let s: TestSluice
  let url: string
  beforeAll(async () => {
    url = await createDatabase('metrics', ddl())
    s = await startSluice({ origin: `${url}?connection_limit=1&pool_timeout=1`, apiKeys: ['k'], pg: {}, cacheMaxBytes: 64 * 1024 })
  })
  afterAll(async () => s?.close())

  async function scrape(): Promise<Map<string, number>> {
    const res = await fetch(`http://127.0.0.1:${s.sluice.adminPort}/metrics`)
    expect(res.status).toBe(200)
    const out = new Map<string, number>()
    for (const line of (await res.text()).split('\n')) {
      if (!line || line.startsWith('#')) continue
      const at = line.lastIndexOf(' ')
      out.set(line.slice(0, at), Number(line.slice(at + 1)))
    }
    return out
  }
  const sum = (m: Map<string, number>, prefix: string) => [...m].filter(([k]) => k.startsWith(prefix)).reduce((a, [, v]) => a + v, 0)

  it('counts hits, misses, evictions, invalidations and pool timeouts', async () => {
    const { PrismaClient, withAccelerate } = await loadClient('7.10')
    const prisma = new PrismaClient({ accelerateUrl: s.accelerateUrl('k') }).$extends(withAccelerate())
    const before = await scrape()
    await prisma.user.findMany({ cacheStrategy: { ttl: 60 } })
    await prisma.user.findMany({ cacheStrategy: { ttl: 60 } })
    await prisma.user.create({ data: { email: 'm@x.io', name: 'n'.repeat(10_000) } })
    // large results push each other out of a 64 KB cache
    for (let i = 0; i < 12; i++) await prisma.user.findMany({ where: { id: { gt: -i } }, cacheStrategy: { ttl: 60 } })
    await prisma.$accelerate.invalidate({ tags: ['x'] })
    // a pool timeout: one connection, held by a transaction
    const holder = prisma.$transaction(async (tx: any) => {
      await tx.$queryRaw`SELECT pg_sleep(1.5)::text`
    }, { timeout: 5000 })
    await new Promise((r) => setTimeout(r, 100))
    await expect(prisma.$queryRaw`SELECT 1`).rejects.toMatchObject({ code: 'P2024' })
    await holder
    // the wire door too
    const c = new pg.Client({ connectionString: s.pgUrl(url) })
    await c.connect()
    await c.query('/* sluice: ttl=60 */ SELECT count(*) FROM "User"')
    await c.query('/* sluice: ttl=60 */ SELECT count(*) FROM "User"')
    await c.query('/* sluice: ttl=60 */ SELECT now()')
    await c.end()

    const after = await scrape()
    const delta = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0)
    expect(delta('sluice_requests_total{door="http",operation="query",status="ttl",code=""}')).toBeGreaterThanOrEqual(1)
    expect(delta('sluice_requests_total{door="http",operation="query",status="miss",code=""}')).toBeGreaterThanOrEqual(2)
    expect(delta('sluice_requests_total{door="http",operation="query",status="error",code="P2024"}')).toBe(1)
    expect(delta('sluice_requests_total{door="pg",operation="statement",status="ttl",code=""}')).toBe(1)
    expect(delta('sluice_cache_hits_fresh')).toBeGreaterThanOrEqual(2)
    expect(delta('sluice_cache_misses')).toBeGreaterThanOrEqual(3)
    expect(delta('sluice_cache_evictions')).toBeGreaterThan(0)
    expect(after.get('sluice_cache_bytes')!).toBeLessThanOrEqual(64 * 1024)
    expect(delta('sluice_invalidations_total{cause="write"}')).toBeGreaterThanOrEqual(1)
    expect(delta('sluice_invalidations_total{cause="tag"}')).toBe(1)
    expect(sum(after, 'sluice_pool_timeouts') - sum(before, 'sluice_pool_timeouts')).toBe(1)
    expect(sum(after, 'sluice_pool_limit')).toBe(1)
    expect(after.get('sluice_not_cached_total{door="pg",reason="volatile function"}')).toBeGreaterThanOrEqual(1)
    expect(delta('sluice_request_duration_seconds_count{door="http",kind="hit"}')).toBeGreaterThanOrEqual(1)
  })
})
