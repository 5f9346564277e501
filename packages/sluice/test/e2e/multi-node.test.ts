// Several Sluice nodes, one Redis: they behave as one cache. Real client, real Postgres, a
// redis-server of the test's own (stopped and restarted mid-test).
import { afterAll, beforeAll, expect, it } from 'vitest'
import { adminQuery, createDatabase, describeWithPostgres } from '../helpers/postgres.js'
import { describeWithRedis, startRedis, startRedisCluster, type TestRedis } from '../helpers/redis.js'
import { startSluice, type TestSluice } from '../helpers/sluice.js'
import { Redis } from 'ioredis'
import pg from 'pg'
import { ddl, loadClient } from './clients.js'

/* eslint-disable @typescript-eslint/no-explicit-any */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describeWithPostgres('several nodes share one cache', () => {
  describeWithRedis('through Redis', () => {
    let redis: TestRedis
    let dbName: string
    const nodes: TestSluice[] = []
    const applied: { node: number; seq: number; delayMs: number }[] = []
    const client: Record<string, any> = {}

    const probeReads = async () => Number((await adminQuery<{ v: string }>(dbName, 'SELECT (CASE WHEN is_called THEN last_value ELSE 0 END)::text AS v FROM probe_reads')).rows[0]!.v)
    const info = async (p: any) => {
      const { data, info } = await p.withAccelerateInfo()
      return { data, status: info.cacheStatus as string }
    }
    /** Waits until `check` holds, up to 5 s; returns how long it took. */
    async function eventually(check: () => Promise<boolean>): Promise<number> {
      const start = Date.now()
      while (!(await check())) {
        if (Date.now() - start > 5000) throw new Error('condition not reached within 5 s')
        await sleep(5)
      }
      return Date.now() - start
    }

    beforeAll(async () => {
      redis = await startRedis()
      const url = await createDatabase('multi_node', ddl())
      dbName = new URL(url).pathname.slice(1)
      await adminQuery(dbName, `INSERT INTO "ProbeData" VALUES (1, 'one'), (2, 'two'), (3, 'three'), (4, 'four')`)
      const { PrismaClient, withAccelerate } = await loadClient('7.10')
      for (let i = 0; i < 3; i++) {
        const n = await startSluice({
          redis: redis.url,
          tenants: [
            { name: 'ev', origin: url, apiKeys: ['key-ev'], consistency: 'eventual' },
            { name: 'st', origin: url, apiKeys: ['key-st'], consistency: 'strict' },
          ],
          hooks: { onInvalidationApplied: (_inv, seq, at) => applied.push({ node: i, seq, delayMs: Date.now() - at }) },
        })
        nodes.push(n)
        await eventually(async () => n.sluice.shared!.healthy)
        for (const mode of ['ev', 'st']) client[`${mode}${i}`] = new PrismaClient({ accelerateUrl: n.accelerateUrl(`key-${mode}`) }).$extends(withAccelerate())
      }
    })
    afterAll(async () => {
      await Promise.all(nodes.map((n) => n.close()))
      await redis?.stop()
    })

    it('a miss on A is a hit on B (and C)', async () => {
      for (const mode of ['ev', 'st']) {
        const q = (c: any) => c.probe.findFirst({ where: { id: 1 }, cacheStrategy: { ttl: 60 } })
        expect((await info(q(client[`${mode}0`]))).status).toBe('miss')
        expect((await info(q(client[`${mode}1`]))).status).toBe('ttl')
        expect((await info(q(client[`${mode}2`]))).status).toBe('ttl')
      }
      expect(nodes[1]!.sluice.cache.stats().hitsShared).toBeGreaterThan(0)
    })

    it('invalidate on A → miss on B (strict at once, eventual once the fan-out arrives)', async () => {
      const q = (c: any) => c.probe.findFirst({ where: { id: 2 }, cacheStrategy: { ttl: 60, tags: ['probe2'] } })
      for (const mode of ['st', 'ev']) {
        await q(client[`${mode}0`])
        expect((await info(q(client[`${mode}1`]))).status).toBe('ttl')
        await client[`${mode}0`].$accelerate.invalidate({ tags: ['probe2'] })
        if (mode === 'st') expect((await info(q(client.st1))).status).toBe('miss')
        else await eventually(async () => (await info(q(client.ev1))).status === 'miss')
      }
    })

    it('a write through A is seen fresh on B (strict immediately, eventual within the propagation bound)', async () => {
      const user = await client.st0.user.create({ data: { email: 'mn@x.io', name: 'v0' } })
      const read = (c: any) => c.user.findFirst({ where: { id: user.id }, cacheStrategy: { ttl: 3600 } })
      for (let v = 1; v <= 20; v++) {
        // warm B's L1 and the shared tier with the current version
        await read(client.st1)
        await read(client.ev1)
        await client.st0.user.update({ where: { id: user.id }, data: { name: `v${v}` } })
        // strict: the very next read on B is fresh
        expect((await info(read(client.st1))).data.name).toBe(`v${v}`)
        // eventual: fresh once the invalidation reached B
        await eventually(async () => (await info(read(client.ev1))).data.name === `v${v}`)
      }
    })

    it('strict confirms every hit in Redis; eventual trusts the fan-out (simulated delayed message)', async () => {
      const q = (c: any) => c.probe.findFirst({ where: { id: 1 }, cacheStrategy: { ttl: 60, tags: ['delayed'] } })
      await q(client.st0)
      await q(client.ev0)
      expect((await info(q(client.st1))).status).toBe('ttl')
      expect((await info(q(client.ev1))).status).toBe('ttl')
      // An invalidation recorded in Redis whose fan-out message has not reached anyone yet.
      const r = new Redis(redis.url)
      const seq = await r.incr('{sluice}:seq')
      await r.hset('{sluice}:epochs', 'g:st:delayed', seq, 'g:ev:delayed', seq)
      await r.quit()
      expect((await info(q(client.st1))).status).toBe('miss') // strict: confirmed against Redis
      expect((await info(q(client.ev1))).status).toBe('ttl') // eventual: not until the message arrives
    })

    it('concurrent identical misses on A and B run one database query', async () => {
      for (let round = 0; round < 3; round++) {
        const before = await probeReads()
        const q = (c: any) => info(c.probe.findFirst({ where: { id: 3, label: { not: `round${round}` } }, cacheStrategy: { ttl: 60 } }))
        const results = await Promise.all([...Array.from({ length: 10 }, () => q(client.ev0)), ...Array.from({ length: 10 }, () => q(client.ev1))])
        expect(await probeReads()).toBe(before + 1)
        expect(new Set(results.map((r) => r.data.reads)).size).toBe(1)
      }
    })

    it('measures how fast invalidations reach the other nodes', async () => {
      applied.length = 0
      for (let i = 0; i < 100; i++) await client.ev0.$accelerate.invalidate({ tags: [`t${i % 5}`] })
      await eventually(async () => applied.filter((a) => a.node !== 0).length >= 200)
      const delays = applied.filter((a) => a.node !== 0).map((a) => a.delayMs).sort((a, b) => a - b)
      const pct = (p: number) => delays[Math.min(delays.length - 1, Math.floor((p / 100) * delays.length))]
      console.log(`[multi-node] invalidation propagation to other nodes: n=${delays.length} p50=${pct(50)} ms p99=${pct(99)} ms max=${delays.at(-1)} ms`)
      expect(delays.length).toBe(200)
    })

    it('Redis stopped and restarted: every request is answered, strict is never stale, sharing resumes', async () => {
      const user = await client.st0.user.create({ data: { email: 'outage@x.io', name: 'before' } })
      const read = (c: any) => c.user.findFirst({ where: { id: user.id }, cacheStrategy: { ttl: 3600 } })
      await read(client.st1)
      await read(client.ev1)
      await redis.stop()
      await eventually(async () => nodes.every((n) => !n.sluice.shared!.healthy))
      // During the outage: reads and writes keep working (straight to the database)…
      for (let v = 1; v <= 5; v++) {
        await client.st0.user.update({ where: { id: user.id }, data: { name: `outage${v}` } })
        const s = await info(read(client.st1))
        const e = await info(read(client.ev1))
        // …and nothing that cannot be proven fresh is served.
        expect(s).toMatchObject({ status: 'miss', data: { name: `outage${v}` } })
        expect(e).toMatchObject({ status: 'miss', data: { name: `outage${v}` } })
      }
      expect(nodes[1]!.sluice.cache.stats().bypassed).toBeGreaterThan(0)
      await redis.start()
      await eventually(async () => nodes.every((n) => n.sluice.shared!.healthy))
      // Back in step: fresh data, and a miss on A is a hit on B again.
      expect((await info(read(client.st1))).data.name).toBe('outage5')
      const q = (c: any) => c.probe.findFirst({ where: { id: 4 }, cacheStrategy: { ttl: 60 } })
      expect((await info(q(client.ev0))).status).toBe('miss')
      expect((await info(q(client.ev1))).status).toBe('ttl')
    })
  })
})

describeWithPostgres('DDL on one node reaches the relation catalogs of the others', () => {
  describeWithRedis('through Redis', () => {
    it('a view created through A is resolved on B: a write to its base table through A drops B’s cached read of it', async () => {
      const redis = await startRedis()
      const url = await createDatabase('multi_ddl', 'CREATE TABLE ddl_base (id int PRIMARY KEY, v text); INSERT INTO ddl_base VALUES (1, \'a\')')
      const nodes: TestSluice[] = []
      const appliedOnB: number[] = []
      const clients: pg.Client[] = []
      try {
        nodes.push(await startSluice({ origin: url, apiKeys: ['k'], redis: redis.url, pg: {} }))
        nodes.push(await startSluice({ origin: url, apiKeys: ['k'], redis: redis.url, pg: {}, hooks: { onInvalidationApplied: (_inv, seq) => appliedOnB.push(seq) } }))
        for (let i = 0; i < 200 && !nodes.every((n) => n.sluice.shared!.healthy); i++) await sleep(25)
        const [a, b] = nodes.map((n) => new pg.Client({ connectionString: n.pgUrl(url) }))
        for (const c of [a!, b!]) {
          await c.connect()
          clients.push(c)
        }
        const onB = (sql: string) => b!.query(`/* sluice: ttl=3600 */ ${sql}`).then((r) => r.rows)
        /** Runs `sql` through A and waits until B has applied what it invalidated. */
        const throughA = async (sql: string) => {
          const seen = appliedOnB.length
          await a!.query(sql)
          for (let i = 0; i < 500 && appliedOnB.length === seen; i++) await sleep(5)
          expect(appliedOnB.length).toBeGreaterThan(seen)
        }
        // B reads its relation catalog now, before the view exists.
        expect(await onB('SELECT v FROM ddl_base WHERE id = 1')).toEqual([{ v: 'a' }])
        await throughA('CREATE VIEW ddl_view AS SELECT id, v FROM ddl_base')
        expect(await onB('SELECT v FROM ddl_view WHERE id = 1')).toEqual([{ v: 'a' }])
        expect(await onB('SELECT v FROM ddl_view WHERE id = 1')).toEqual([{ v: 'a' }]) // cached on B
        // A reads its catalog again after its own DDL (a hinted fill waits for it; a text B has not
        // cached, or A would take B's entry from Redis and load nothing), so its write
        // below invalidates the table it names rather than the whole origin.
        await a!.query('/* sluice: ttl=3600 */ SELECT count(*) FROM ddl_view')
        await throughA(`UPDATE ddl_base SET v = 'b' WHERE id = 1`)
        expect(await onB('SELECT v FROM ddl_view WHERE id = 1')).toEqual([{ v: 'b' }])
      } finally {
        await Promise.all(clients.map((c) => c.end()))
        await Promise.all(nodes.map((n) => n.close()))
        await redis.stop()
      }
    })
  })
})

describeWithPostgres('several nodes on a Redis Cluster', () => {
  describeWithRedis('through Redis Cluster', () => {
    it('shares entries and invalidations across nodes', async () => {
      const cluster = await startRedisCluster()
      const url = await createDatabase('multi_cluster', ddl())
      const nodes: TestSluice[] = []
      try {
        for (let i = 0; i < 2; i++) nodes.push(await startSluice({ origin: url, apiKeys: ['k'], redis: cluster.url }))
        for (let i = 0; i < 200 && !nodes.every((n) => n.sluice.shared!.healthy); i++) await sleep(25)
        const { PrismaClient, withAccelerate } = await loadClient('7.10')
        const [a, b] = nodes.map((n) => new PrismaClient({ accelerateUrl: n.accelerateUrl('k') }).$extends(withAccelerate()))
        const user = await a.user.create({ data: { email: 'cluster@x.io', name: 'v1' } })
        const read = (c: any) => c.user.findFirst({ where: { id: user.id }, cacheStrategy: { ttl: 60 } }).withAccelerateInfo()
        expect((await read(a)).info.cacheStatus).toBe('miss')
        expect((await read(b)).info.cacheStatus).toBe('ttl') // from the cluster
        await a.user.update({ where: { id: user.id }, data: { name: 'v2' } })
        for (let i = 0; i < 200; i++) {
          if ((await read(b)).data.name === 'v2') break
          await sleep(10)
        }
        expect((await read(b)).data.name).toBe('v2')
      } finally {
        await Promise.all(nodes.map((n) => n.close()))
        await cluster.stop()
      }
    })
  })
})
