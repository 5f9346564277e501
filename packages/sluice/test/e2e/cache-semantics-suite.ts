// Cache semantics through the real Prisma client and the Accelerate extension: what
// withAccelerateInfo() reports for ttl / swr / ttl+swr, tags and invalidateAll, tenant isolation,
// write-aware invalidation and single flight. Written once, run per origin family
// (cache-semantics.test.ts for PostgreSQL, cache-semantics-mysql.test.ts for MariaDB): the
// database side is reached through a CacheBackend.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startSluice, type TestSluice } from '../helpers/sluice.js'
import { loadClient, type TestClientProvider } from './clients.js'

export interface CacheBackend {
  /** Suite title suffix. */
  name: string
  /** `describe` that runs only when the database is reachable (mandatory under CI=true). */
  describe: (name: string, body: () => void) => void
  provider: TestClientProvider
  /** Creates a database with the e2e schema; returns its URL. */
  createDatabase(name: string): Promise<string>
  /** Runs SQL as the admin, behind Sluice's back. */
  exec(dbUrl: string, sql: string): Promise<unknown>
  /** How many rows the Probe view has returned so far (a database-side counter). */
  probeReads(dbUrl: string): Promise<number>
  /** Quotes an identifier in the database's dialect. */
  q(ident: string): string
  /** Sluice resolves views to their base tables on this origin family. */
  resolvesViews?: boolean
}

/* eslint-disable @typescript-eslint/no-explicit-any */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
/** Polls until `f()` returns at least `target` (background work on a busy machine), up to 5 s. */
async function until(f: () => Promise<number>, target: number): Promise<number> {
  let v = await f()
  for (let i = 0; i < 100 && v < target; i++) {
    await sleep(50)
    v = await f()
  }
  return v
}

export function cacheSemanticsSuite(backend: CacheBackend): void {
  backend.describe(`cache semantics (real client + extension, ${backend.name})`, () => {
    const { q: id } = backend
    const loadClient_ = (version: '7.10' | '7.9') => loadClient(version, backend.provider)
    let s: TestSluice
    let dbUrl: string
    let prisma: any
    let other: any // second tenant on the same origin

    const probeReads = () => backend.probeReads(dbUrl)
    const direct = (sql: string) => backend.exec(dbUrl, sql)
    const info = async (p: Promise<any>) => {
      const { data, info } = await (p as any).withAccelerateInfo()
      return { data, status: info.cacheStatus as string, info }
    }

    beforeAll(async () => {
      dbUrl = await backend.createDatabase('cache_e2e')
      s = await startSluice({ tenants: [
        { name: 'a', origin: dbUrl, apiKeys: ['key-a'] },
        { name: 'b', origin: dbUrl, apiKeys: ['key-b'] },
      ] })
      const { PrismaClient, withAccelerate } = await loadClient_('7.10')
      prisma = new PrismaClient({ accelerateUrl: s.accelerateUrl('key-a') }).$extends(withAccelerate())
      other = new PrismaClient({ accelerateUrl: s.accelerateUrl('key-b') }).$extends(withAccelerate())
      await direct(`INSERT INTO ${id('ProbeData')} VALUES (1, 'one'), (2, 'two'), (3, 'three')`)
    })
    afterAll(async () => s?.close())

    it('no strategy → none, and nothing is cached', async () => {
      const first = await info(prisma.probe.findUnique({ where: { id: 1 } }))
      expect(first.status).toBe('none')
      const second = await info(prisma.probe.findUnique({ where: { id: 1 } }))
      expect(second.status).toBe('none')
      expect(second.data.reads).not.toBe(first.data.reads)
    })

    it('ttl only: ttl hits while fresh, served even when the row changed behind Sluice, then a miss', async () => {
      const q = () => prisma.probe.findUnique({ where: { id: 1 }, cacheStrategy: { ttl: 1 } })
      const miss = await info(q())
      expect(miss.status).toBe('miss')
      expect(miss.info.region).toBe('TST')
      expect(miss.info.signature).toMatch(/^[0-9a-f]{32}$/)
      await direct(`UPDATE ${id('ProbeData')} SET label = 'changed behind' WHERE id = 1`)
      const hit = await info(q())
      expect(hit.status).toBe('ttl')
      expect(hit.data).toEqual(miss.data) // stale by design: the write did not pass through Sluice
      expect(hit.info.signature).toBe(miss.info.signature)
      expect(new Date(hit.info.lastModified).getTime()).toBe(new Date(miss.info.lastModified).getTime())
      await sleep(1100)
      const after = await info(q())
      expect(after.status).toBe('miss')
      expect(after.data.label).toBe('changed behind')
    })

    it('swr only: every hit is swr and triggers one background refresh', async () => {
      const q = () => prisma.probe.findUnique({ where: { id: 2 }, cacheStrategy: { swr: 5 } })
      const miss = await info(q())
      expect(miss.status).toBe('miss')
      await direct(`UPDATE ${id('ProbeData')} SET label = 'two v2' WHERE id = 2`)
      const before = await probeReads()
      const stale = await info(q())
      expect(stale.status).toBe('swr')
      expect(stale.data.label).toBe('two')
      await until(probeReads, before + 1)
      await sleep(100)
      expect(await probeReads()).toBe(before + 1) // exactly one refresh ran
      const refreshed = await info(q())
      expect(refreshed.status).toBe('swr')
      expect(refreshed.data.label).toBe('two v2')
    })

    it('ttl + swr: ttl, then swr within the window, then a miss after ttl + swr', async () => {
      // findFirst, not findUnique: the client batches same-tick findUnique calls into one request
      // that bypasses the extension (no cache headers, no info).
      const q = () => prisma.probe.findFirst({ where: { id: 3 }, cacheStrategy: { ttl: 1, swr: 1 } })
      expect((await info(q())).status).toBe('miss')
      expect((await info(q())).status).toBe('ttl')
      await sleep(1150)
      const before = await probeReads()
      // Several stale hits at once still start only one refresh (later ones may already see it).
      const stale = await Promise.all([info(q()), info(q()), info(q())])
      expect(stale[0]!.status).toBe('swr')
      for (const r of stale) expect(['swr', 'ttl']).toContain(r.status)
      await until(probeReads, before + 1)
      await sleep(100)
      expect(await probeReads()).toBe(before + 1)
      expect((await info(q())).status).toBe('ttl') // the refresh restarted the clock
      await sleep(2200)
      expect((await info(q())).status).toBe('miss')
    })

    it('a strategy on a write is ignored', async () => {
      // Writes have no withAccelerateInfo(): watch the answers through the extension's fetch hook.
      const statuses: (string | null)[] = []
      const { PrismaClient, withAccelerate } = await loadClient_('7.10')
      const watched = new PrismaClient({ accelerateUrl: s.accelerateUrl('key-a') }).$extends(
        withAccelerate({
          fetch: async (input: any, init: any) => {
            const res = await fetch(input, init)
            statuses.push(res.headers.get('accelerate-cache-status'))
            return res
          },
        }),
      )
      await watched.category.create({ data: { name: 'w1' }, cacheStrategy: { ttl: 60 } })
      await watched.category.updateMany({ where: { name: 'w1' }, data: { name: 'w2' }, cacheStrategy: { ttl: 60 } })
      expect(statuses).toEqual(['none', 'none'])
    })

    it('tags: invalidate drops tagged entries of the caller only; invalidateAll drops all of the tenant', async () => {
      const tagged = () => prisma.probe.findMany({ where: { id: { lte: 2 } }, cacheStrategy: { ttl: 60, tags: ['probes', 'list_a'] } })
      const untagged = () => prisma.probe.findMany({ where: { id: { gte: 2 } }, cacheStrategy: { ttl: 60 } })
      const bTagged = () => other.probe.findMany({ where: { id: { lte: 2 } }, cacheStrategy: { ttl: 60, tags: ['probes'] } })
      expect((await info(tagged())).status).toBe('miss')
      expect((await info(untagged())).status).toBe('miss')
      expect((await info(bTagged())).status).toBe('miss') // B never sees A's entries
      expect((await info(bTagged())).status).toBe('ttl')

      const res = await prisma.$accelerate.invalidate({ tags: ['probes'] })
      expect(res.requestId).toMatch(/-TST$/)
      expect((await info(tagged())).status).toBe('miss')
      expect((await info(untagged())).status).toBe('ttl')
      expect((await info(bTagged())).status).toBe('ttl') // A's invalidate did not touch B

      await prisma.$accelerate.invalidateAll()
      expect((await info(untagged())).status).toBe('miss')
      expect((await info(tagged())).status).toBe('miss')
      expect((await info(bTagged())).status).toBe('ttl')
    })

    it('bad tags are a clear P6005, never truncated', async () => {
      await expect(prisma.probe.findMany({ cacheStrategy: { ttl: 5, tags: ['has-dash'] } })).rejects.toMatchObject({ code: 'P6005' })
      await expect(prisma.probe.findMany({ cacheStrategy: { ttl: 5, tags: ['a', 'b', 'c', 'd', 'e', 'f'] } })).rejects.toMatchObject({ code: 'P6005' })
      await expect(prisma.probe.findMany({ cacheStrategy: { ttl: 5, tags: ['x'.repeat(65)] } })).rejects.toMatchObject({ code: 'P6005' })
      await expect(prisma.$accelerate.invalidate({ tags: ['a', 'b', 'c', 'd', 'e', 'f'] })).rejects.toThrow(/400/)
    })

    it('a write through Sluice is seen by the next read even with a long ttl (any tenant of the origin)', async () => {
      const user = await prisma.user.create({ data: { email: 'w@x.io', name: 'before' } })
      const read = (client: any) => client.user.findUnique({ where: { id: user.id }, cacheStrategy: { ttl: 3600 } })
      expect((await info(read(prisma))).data.name).toBe('before')
      expect((await info(read(other))).data.name).toBe('before')
      expect((await info(read(prisma))).status).toBe('ttl')
      await prisma.user.update({ where: { id: user.id }, data: { name: 'after' } })
      const a = await info(read(prisma))
      expect(a).toMatchObject({ status: 'miss', data: { name: 'after' } })
      const b = await info(read(other))
      expect(b).toMatchObject({ status: 'miss', data: { name: 'after' } })
      // $executeRaw invalidates too
      await prisma.$executeRawUnsafe(`UPDATE ${id('User')} SET name = 'raw' WHERE id = ${Number(user.id)}`)
      expect((await info(read(prisma))).data.name).toBe('raw')
      // a nested write invalidates the related table's readers
      const posts = () => prisma.post.findMany({ where: { authorId: user.id }, cacheStrategy: { ttl: 3600 } })
      expect(await posts()).toEqual([])
      await prisma.user.update({ where: { id: user.id }, data: { posts: { create: { title: 't', slug: 's' } } } })
      expect(await posts()).toHaveLength(1)
    })

    if (backend.resolvesViews) {
      it('a cached read of a view goes when a write through Sluice changes its base table', async () => {
        // "Probe" is a view over "ProbeData"
        await direct(`INSERT INTO ${id('ProbeData')} VALUES (7, 'seven')`)
        const read = () => info(prisma.probe.findUnique({ where: { id: 7 }, cacheStrategy: { ttl: 3600 } }))
        expect(await read()).toMatchObject({ status: 'miss', data: { label: 'seven' } })
        await direct(`UPDATE ${id('ProbeData')} SET label = 'behind' WHERE id = 7`)
        expect(await read()).toMatchObject({ status: 'ttl', data: { label: 'seven' } })
        await prisma.$executeRawUnsafe(`UPDATE ${id('ProbeData')} SET label = 'through' WHERE id = 7`)
        expect(await read()).toMatchObject({ status: 'miss', data: { label: 'through' } })
      })
    }

    it('interactive transactions: no cache inside; commit invalidates, rollback does not', async () => {
      const cat = await prisma.category.create({ data: { name: 'tx-cat' } })
      const read = () => prisma.category.findUnique({ where: { id: cat.id }, cacheStrategy: { ttl: 3600 } })
      await read()
      expect((await info(read())).status).toBe('ttl')
      await prisma.$transaction(async (tx: any) => {
        const inside = await info(tx.category.findUnique({ where: { id: cat.id }, cacheStrategy: { ttl: 3600 } }))
        expect(inside.status).toBe('none')
        await tx.category.update({ where: { id: cat.id }, data: { name: 'tx-rolled-back' } })
        throw new Error('roll back')
      }).catch(() => {})
      expect((await info(read())).status).toBe('ttl') // rolled back: nothing invalidated
      await prisma.$transaction(async (tx: any) => {
        await tx.category.update({ where: { id: cat.id }, data: { name: 'tx-committed' } })
      })
      expect(await info(read())).toMatchObject({ status: 'miss', data: { name: 'tx-committed' } })
      // array transactions commit the same way
      await prisma.$transaction([prisma.category.update({ where: { id: cat.id }, data: { name: 'batch' } })])
      expect((await info(read())).data.name).toBe('batch')
    })

    it('write-aware invalidation can be turned off per tenant (plain Accelerate semantics)', async () => {
      const t = await startSluice({ origin: dbUrl, apiKeys: ['k'], invalidateOnWrite: false })
      try {
        const { PrismaClient, withAccelerate } = await loadClient_('7.10')
        const c = new PrismaClient({ accelerateUrl: t.accelerateUrl('k') }).$extends(withAccelerate())
        const cat = await c.category.create({ data: { name: 'plain' } })
        const read = () => c.category.findUnique({ where: { id: cat.id }, cacheStrategy: { ttl: 3600 } })
        await read()
        await c.category.update({ where: { id: cat.id }, data: { name: 'plain v2' } })
        expect(await info(read())).toMatchObject({ status: 'ttl', data: { name: 'plain' } })
      } finally {
        await t.close()
      }
    })

    it('100 concurrent identical misses run one query on the database', async () => {
      await direct(`INSERT INTO ${id('ProbeData')} VALUES (100, 'hot')`)
      const before = await probeReads()
      const results = await Promise.all(
        Array.from({ length: 100 }, () => info(prisma.probe.findFirst({ where: { id: 100 }, cacheStrategy: { ttl: 60 } }))),
      )
      expect(await probeReads()).toBe(before + 1)
      expect(new Set(results.map((r) => r.data.reads)).size).toBe(1)
      expect(results.filter((r) => r.status === 'miss').length).toBeGreaterThan(0)
      expect(s.sluice.cache.stats().joins).toBeGreaterThan(0)
    })

    it('the 7.9 client gets the same cache behaviour', async () => {
      const { PrismaClient, withAccelerate } = await loadClient_('7.9')
      const c = new PrismaClient({ accelerateUrl: s.accelerateUrl('key-a') }).$extends(withAccelerate())
      const q = () => c.probe.findUnique({ where: { id: 1 }, cacheStrategy: { ttl: 30 } })
      expect((await info(q())).status).toBe('miss')
      expect((await info(q())).status).toBe('ttl')
    })
  })
}
