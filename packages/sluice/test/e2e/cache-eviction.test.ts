// The cache's byte bound holds under a load of large results from the real client.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createDatabase, describeWithPostgres } from '../helpers/postgres.js'
import { startSluice, type TestSluice } from '../helpers/sluice.js'
import { ddl, loadClient } from './clients.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

describeWithPostgres('cache eviction', () => {
  let s: TestSluice
  let prisma: any
  const MAX = 512 * 1024
  beforeAll(async () => {
    const url = await createDatabase('cache_evict', ddl())
    s = await startSluice({ origin: url, apiKeys: ['k'], cacheMaxBytes: MAX })
    const { PrismaClient, withAccelerate } = await loadClient('7.10')
    prisma = new PrismaClient({ accelerateUrl: s.accelerateUrl('k') }).$extends(withAccelerate())
    await prisma.user.createMany({ data: Array.from({ length: 200 }, (_, i) => ({ email: `u${i}@x.io`, name: 'n'.repeat(400) })) })
  })
  afterAll(async () => s?.close())

  it('keeps the byte bound while results of ~40 KB each keep arriving', async () => {
    let peak = 0
    for (let round = 0; round < 2; round++) {
      for (let skip = 0; skip < 60; skip++) {
        const { data, info } = await prisma.user.findMany({ skip, take: 90, cacheStrategy: { ttl: 60 } }).withAccelerateInfo()
        expect(data).toHaveLength(90)
        if (round === 0) expect(info.cacheStatus).toBe('miss')
        peak = Math.max(peak, s.sluice.cache.stats().bytes)
      }
    }
    const st = s.sluice.cache.stats()
    expect(peak).toBeLessThanOrEqual(MAX)
    expect(st.evictions).toBeGreaterThan(50)
    expect(st.entries).toBeGreaterThan(3)
    // the most recent results are still served from the cache
    const { info } = await prisma.user.findMany({ skip: 59, take: 90, cacheStrategy: { ttl: 60 } }).withAccelerateInfo()
    expect(info.cacheStatus).toBe('ttl')
  })
})
