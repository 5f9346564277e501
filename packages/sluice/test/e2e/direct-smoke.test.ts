// Smoke test of the e2e fixtures themselves, without Sluice: the schema, its DDL and the generated
// clients of every supported Prisma version agree with each other when talking straight to Postgres.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createDatabase, describeWithPostgres, dropDatabase } from '../helpers/postgres.js'
import { SUPPORTED_TEST_CLIENTS, ddl, loadClient, type LoadedClient } from './clients.js'

for (const version of SUPPORTED_TEST_CLIENTS) {
  describeWithPostgres(`Prisma ${version} client straight to PostgreSQL`, () => {
    let lib: LoadedClient
    let url: string
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    let prisma: any

    beforeAll(async () => {
      lib = await loadClient(version)
      url = await createDatabase(`e2e_smoke_${version.replace('.', '_')}`, ddl())
      prisma = new lib.PrismaClient({ adapter: new lib.PrismaPg({ connectionString: url }) })
    })

    afterAll(async () => {
      await prisma?.$disconnect()
      if (url) await dropDatabase(url)
    })

    it('loads the client, runtime and adapter of its own version', () => {
      expect(lib.clientVersion.startsWith(`${version}.`)).toBe(true)
      expect(lib.runtimeVersion.startsWith(`${version}.`)).toBe(true)
      expect(lib.adapterVersion.startsWith(`${version}.`)).toBe(true)
      expect(typeof lib.withAccelerate).toBe('function')
    })

    it('creates nested relations and reads them back with include', async () => {
      const created = await prisma.user.create({
        data: {
          email: 'ada@example.com',
          name: 'Ada',
          role: 'ADMIN',
          tags: ['math', 'engines'],
          profile: { create: { bio: 'First programmer' } },
          posts: {
            create: [
              {
                id: 'post-1',
                title: 'Notes',
                slug: 'notes',
                scores: [3, 1, 2],
                metadata: { lang: 'en', pages: 42, nested: { ok: true } },
                categories: { create: [{ name: 'history' }, { name: 'computing' }] },
              },
              { id: 'post-2', title: 'Letters', slug: 'letters', status: 'PUBLISHED', views: 7 },
            ],
          },
        },
        include: { profile: true, posts: { orderBy: { id: 'asc' }, include: { categories: { orderBy: { name: 'asc' } } } } },
      })
      expect(created).toMatchObject({
        email: 'ada@example.com',
        role: 'ADMIN',
        tags: ['math', 'engines'],
        profile: { bio: 'First programmer', userId: created.id },
        posts: [
          {
            id: 'post-1',
            status: 'DRAFT',
            views: 0,
            scores: [3, 1, 2],
            metadata: { lang: 'en', pages: 42, nested: { ok: true } },
            categories: [{ name: 'computing' }, { name: 'history' }],
          },
          { id: 'post-2', status: 'PUBLISHED', views: 7, categories: [] },
        ],
      })
      expect(created.createdAt).toBeInstanceOf(Date)
      expect(created.profile.id).toMatch(/^[0-9a-f-]{36}$/)

      const found = await prisma.post.findMany({
        where: { author: { email: 'ada@example.com' }, categories: { some: { name: 'history' } } },
        include: { author: { select: { name: true } }, categories: { select: { name: true }, orderBy: { name: 'asc' } } },
      })
      expect(found).toHaveLength(1)
      expect(found[0]).toMatchObject({
        id: 'post-1',
        author: { name: 'Ada' },
        categories: [{ name: 'computing' }, { name: 'history' }],
      })

      const allTypes = await prisma.allTypes.create({
        data: {
          str: 's',
          int: 1,
          bigInt: 9007199254740993n,
          float: 1.5,
          decimal: new lib.Prisma.Decimal('12345678901234567890.123456789'),
          bool: true,
          dateTime: new Date('2024-02-29T12:34:56.789Z'),
          json: { a: [1, 2, { b: null }] },
          bytes: new Uint8Array([0, 1, 255]),
          role: 'EDITOR',
          roles: ['USER', 'ADMIN'],
          strList: ['x'],
          intList: [1, 2],
        },
      })
      expect(allTypes.bigInt).toBe(9007199254740993n)
      expect(allTypes.decimal.toFixed()).toBe('12345678901234567890.123456789')
      expect([...allTypes.bytes]).toEqual([0, 1, 255])
      expect(allTypes.dateTime.toISOString()).toBe('2024-02-29T12:34:56.789Z')
      expect(allTypes.roles).toEqual(['USER', 'ADMIN'])
    })
  })
}
