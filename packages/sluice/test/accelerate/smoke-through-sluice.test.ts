import { afterAll, beforeAll, expect, it } from 'vitest'
import { createDatabase, describeWithPostgres } from '../helpers/postgres.js'
import { startSluice, type TestSluice } from '../helpers/sluice.js'
import { ddl, loadClient } from '../e2e/clients.js'

describeWithPostgres('smoke: real client through Sluice', () => {
  let s: TestSluice
  let url: string
  beforeAll(async () => {
    url = await createDatabase('smoke_sluice', ddl())
    s = await startSluice({ origin: url, apiKeys: ['k1'] })
  })
  afterAll(async () => s?.close())

  for (const v of ['7.10', '7.9'] as const) {
    it(`client ${v}: create + findMany`, async () => {
      const { PrismaClient, withAccelerate } = await loadClient(v)
      const prisma = new PrismaClient({ accelerateUrl: s.accelerateUrl('k1') }).$extends(withAccelerate())
      const u = await prisma.user.create({ data: { email: `a${v}@x.io`, name: 'A', posts: { create: [{ title: 'hello', slug: `s${v}` }] } }, include: { posts: true } })
      expect(u.posts).toHaveLength(1)
      const all = await prisma.user.findMany({ where: { email: `a${v}@x.io` }, include: { posts: true } })
      expect(all[0].posts[0].title).toBe('hello')
      const raw = await prisma.$queryRaw`SELECT 1::int AS one`
      expect(raw).toEqual([{ one: 1 }])
      await prisma.$disconnect()
    })
  }
})
