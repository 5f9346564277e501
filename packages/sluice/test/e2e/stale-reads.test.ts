// The freshness promise under concurrency: many readers with a long ttl while writers update the
// same rows through Sluice. No read may return a version older than the last write that was
// acknowledged before the read began (randomised; thousands of operations). Run on a PostgreSQL
// and on a MariaDB origin.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createDatabase, describeWithPostgres } from '../helpers/postgres.js'
import { createMariadbDatabase, describeWithMariadb } from '../helpers/mariadb.js'
import { startSluice, type TestSluice } from '../helpers/sluice.js'
import { ddl, loadClient, mysqlDdl, type TestClientProvider } from './clients.js'
import { prng } from '../../../../bench/lib/stats.mjs'

/* eslint-disable @typescript-eslint/no-explicit-any */

const ORIGINS: { name: string; describe: (name: string, body: () => void) => void; provider: TestClientProvider; create: () => Promise<string>; table: string }[] = [
  { name: 'PostgreSQL', describe: describeWithPostgres, provider: 'postgresql', create: () => createDatabase('stale_reads', ddl()), table: '"User"' },
  { name: 'MariaDB', describe: describeWithMariadb, provider: 'mysql', create: () => createMariadbDatabase('stale_reads', mysqlDdl()), table: '`User`' },
]

for (const origin of ORIGINS) {
  origin.describe(`no stale read after an acknowledged write (${origin.name})`, () => {
    let s: TestSluice
    let prisma: any
    const ROWS = 6
    const ids: number[] = []

    beforeAll(async () => {
      const url = await origin.create()
      s = await startSluice({ origin: `${url}?connection_limit=6`, apiKeys: ['k'] })
      const { PrismaClient, withAccelerate } = await loadClient('7.10', origin.provider)
      prisma = new PrismaClient({ accelerateUrl: s.accelerateUrl('k') }).$extends(withAccelerate())
      for (let i = 0; i < ROWS; i++) ids.push((await prisma.user.create({ data: { email: `row${i}@x.io`, name: '0' } })).id)
    })
    afterAll(async () => s?.close())

    it('holds for thousands of randomised reads and writes', async () => {
      // Seeded PRNG so a failure can be replayed.
      const startSeed = Number(process.env.STALE_SEED ?? Date.now() % 100000)
      const random = prng(startSeed)
      const acked = new Map<number, number>(ids.map((id) => [id, 0]))
      const next = new Map<number, number>(ids.map((id) => [id, 0]))
      const locks = new Map<number, Promise<void>>(ids.map((id) => [id, Promise.resolve()]))
      const violations: string[] = []
      let reads = 0
      let writes = 0
      let hits = 0
      const pick = () => ids[Math.floor(random() * ids.length)]!

      const write = async () => {
        const id = pick()
        // Writes to one row are serialised so that versions commit in increasing order.
        const prev = locks.get(id)!
        let release!: () => void
        locks.set(id, new Promise<void>((r) => (release = r)))
        await prev
        const version = next.get(id)! + 1
        next.set(id, version)
        try {
          if (random() < 0.5) await prisma.user.update({ where: { id }, data: { name: String(version) } })
          else await prisma.$executeRawUnsafe(`UPDATE ${origin.table} SET name = '${version}' WHERE id = ${Number(id)}`)
          acked.set(id, version)
          writes++
        } finally {
          release()
        }
      }

      const read = async () => {
        const id = pick()
        const floor = acked.get(id)!
        const strategy = random() < 0.7 ? { ttl: 60 } : { ttl: 0, swr: 60 }
        const { data, info } = await (random() < 0.5
          ? prisma.user.findFirst({ where: { id }, cacheStrategy: strategy })
          : prisma.user.findMany({ where: { id: { in: [id] } }, cacheStrategy: strategy })
        ).withAccelerateInfo()
        const row = Array.isArray(data) ? data[0] : data
        if (info.cacheStatus !== 'miss') hits++
        reads++
        if (Number(row.name) < floor) violations.push(`row ${id}: read version ${row.name} (${info.cacheStatus}) after version ${floor} was acknowledged`)
      }

      const worker = async (n: number, writeShare: number) => {
        for (let i = 0; i < n; i++) await (random() < writeShare ? write() : read())
      }
      await Promise.all([
        ...Array.from({ length: 12 }, () => worker(220, 0.15)),
        ...Array.from({ length: 2 }, () => worker(150, 0.6)),
      ])
      expect(violations, `seed ${startSeed}`).toEqual([])
      expect(reads + writes).toBeGreaterThan(2500)
      expect(writes).toBeGreaterThan(300)
      // The cache was really in play (otherwise the test proves nothing).
      expect(hits).toBeGreaterThan(100)
    }, 120_000)
  })
}
