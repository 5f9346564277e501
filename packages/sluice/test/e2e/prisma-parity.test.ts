// Parity suite: a real Prisma client talking to Sluice (Accelerate protocol) must behave exactly
// like the same client talking straight to PostgreSQL through @prisma/adapter-pg.
//
// For every supported client version, two databases are created from the same DDL. The SAME
// deterministic sequence of operations runs on both sides, step by step, and every step's outcome
// (value or error) must be equal once the legitimately different values are normalised:
// generated cuid/uuid values of `id` fields, and the now()/@updatedAt timestamps `createdAt` and
// `updatedAt`. Everything else uses explicit values, so autoincrement ids, ordering and contents
// line up. Decimals are compared as toFixed() strings and bytes as hex.
//
// The steps share state (each one builds on the previous ones), so they run in order; when a step
// fails on the Sluice side, later failures may only be its consequences: look at the first one.
// For the same reason, do not run single steps with `-t`: the sequence only makes sense whole.
// SLUICE_TEST_LOG=debug shows Sluice's own log lines while the suite runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDatabase, describeWithPostgres, dropDatabase } from '../helpers/postgres.js'
import { startSluice } from '../helpers/sluice.js'
import { SUPPORTED_TEST_CLIENTS, ddl, loadClient, type LoadedClient, type TestClientVersion } from './clients.js'
import { codeOf, paritySteps, sleep, type Db } from './parity-harness.js'

for (const version of SUPPORTED_TEST_CLIENTS) {
  describeWithPostgres(`Prisma ${version}: a client through Sluice behaves like a direct connection`, () => {
    paritySuite(version)
  })
}

function paritySuite(version: TestClientVersion) {
  const tag = version.replace(/\D/g, '_')
  let lib: LoadedClient
  let directUrl: string | undefined
  let sluiceUrl: string | undefined
  let sluice: Awaited<ReturnType<typeof startSluice>> | undefined
  let direct: Db
  let viaSluice: Db

  beforeAll(async () => {
    lib = await loadClient(version)
    directUrl = await createDatabase(`e2e_direct_${tag}`, ddl())
    sluiceUrl = await createDatabase(`e2e_sluice_${tag}`, ddl())
    sluice = await startSluice({ origin: sluiceUrl, apiKeys: ['k1'] })
    direct = new lib.PrismaClient({ adapter: new lib.PrismaPg({ connectionString: directUrl }) })
    viaSluice = new lib.PrismaClient({ accelerateUrl: sluice.accelerateUrl('k1') }).$extends(lib.withAccelerate())
  })

  afterAll(async () => {
    await direct?.$disconnect().catch(() => {})
    await viaSluice?.$disconnect().catch(() => {})
    await sluice?.close()
    if (directUrl) await dropDatabase(directUrl)
    if (sluiceUrl) await dropDatabase(sluiceUrl)
  })

  const { both, bothConcurrently, ok, fails } = paritySteps(() => ({ lib, direct, viaSluice }))

  const D = (iso: string) => new Date(iso)

  describe('writes', () => {
    it('create with nested create (1-1, 1-n, m-n) and include', async () => {
      await ok((db) =>
        db.user.create({
          data: {
            email: 'alice@example.com',
            name: 'Alice',
            role: 'ADMIN',
            tags: ['a', 'b'],
            createdAt: D('2024-01-01T00:00:00.001Z'),
            profile: { create: { id: 'prof-alice', bio: 'Hello, I am Alice' } },
            posts: {
              create: [
                {
                  id: 'p-a1',
                  title: 'Alice writes about Prisma',
                  slug: 'prisma',
                  content: 'Long text ✓ ünïcödé',
                  status: 'PUBLISHED',
                  views: 10,
                  rating: 4.5,
                  scores: [5, 3],
                  metadata: { lang: 'en', title: 'Prisma deep dive', tags: ['orm', 'db'], stats: { words: 1200 } },
                  publishedAt: D('2024-02-03T04:05:06.789Z'),
                  categories: { create: [{ name: 'tech' }, { name: 'life' }] },
                },
                { id: 'p-a2', title: 'Alice draft', slug: 'draft', scores: [], rating: null },
              ],
            },
          },
          include: {
            profile: true,
            posts: { orderBy: { id: 'asc' }, include: { categories: { orderBy: { id: 'asc' } } } },
          },
        }),
      )
    })

    it('create with connect and connectOrCreate (incl. m-n)', async () => {
      await ok((db) =>
        db.user.create({
          data: {
            email: 'bob@example.com',
            name: 'Bob',
            tags: ['b', 'c'],
            posts: {
              create: {
                id: 'p-b1',
                title: 'Bob on life',
                slug: 'life',
                status: 'PUBLISHED',
                views: 3,
                rating: 2.25,
                scores: [1, 2, 3],
                metadata: { lang: 'de', title: 'Leben', tags: ['misc'] },
                publishedAt: D('2024-03-01T00:00:00.000Z'),
                categories: {
                  connect: [{ name: 'life' }],
                  connectOrCreate: [
                    { where: { name: 'tech' }, create: { name: 'tech' } },
                    { where: { name: 'science' }, create: { name: 'science' } },
                  ],
                },
              },
            },
          },
          include: { posts: { include: { categories: { orderBy: { name: 'asc' } } } } },
        }),
      )
    })

    it('create with generated ids (uuid for Profile, cuid for Post)', async () => {
      await ok((db) =>
        db.profile.create({ data: { bio: 'generated id', user: { connect: { email: 'bob@example.com' } } } }),
      )
      const created = await ok((db) =>
        db.post.create({ data: { title: 'temporary', slug: 'tmp', author: { connect: { id: 2 } } } }),
      )
      expect(created).toMatchObject({ id: '<cuid>' })
      // Remove the post again so that no random id influences any later ordering.
      await ok((db) => db.post.delete({ where: { authorId_slug: { authorId: 2, slug: 'tmp' } } }))
    })

    it('createMany (incl. skipDuplicates)', async () => {
      await ok((db) =>
        db.user.createMany({
          data: [
            { email: 'carol@example.com', name: 'Carol', role: 'EDITOR', tags: [] },
            { email: 'dave@example.com', name: null, tags: ['c', 'd', 'e'] },
            { email: 'erin@example.com', name: 'Erin', tags: ['a'] },
          ],
        }),
      )
      await ok((db) =>
        db.post.createMany({
          data: [
            { id: 'p-c1', title: 'Carol one', slug: 'one', authorId: 3, views: 1, scores: [9], rating: 3 },
            { id: 'p-c2', title: 'Carol two', slug: 'two', authorId: 3, views: 0, metadata: { lang: 'en', n: null } },
            { id: 'p-d1', title: 'Dave only', slug: 'only', authorId: 4, status: 'ARCHIVED', views: 100, metadata: lib.Prisma.JsonNull },
            { id: 'p-a1', title: 'duplicate id', slug: 'dup', authorId: 1 },
          ],
          skipDuplicates: true,
        }),
      )
    })

    it('createManyAndReturn', async () => {
      await ok((db) => db.category.createManyAndReturn({ data: [{ name: 'art' }, { name: 'sport' }] }))
      await ok((db) =>
        db.post.createManyAndReturn({
          data: [
            { id: 'p-e1', title: 'Erin first', slug: 'first', authorId: 5, views: 5, publishedAt: D('2023-12-31T23:59:59.999Z') },
            { id: 'p-e2', title: 'Erin second', slug: 'second', authorId: 5, views: 7, status: 'PUBLISHED' },
          ],
          select: { id: true, slug: true, views: true, publishedAt: true, author: { select: { email: true } } },
        }),
      )
    })

    it('every scalar type round-trips', async () => {
      await ok((db) =>
        db.allTypes.create({
          data: {
            str: 'all the types: \'quotes\' "double" \\ back\nslash ✓ 😀',
            int: 2147483647,
            bigInt: 9223372036854775807n,
            // (not 1.7976931348623157e308: Prisma itself sends it as a 309-digit literal that Postgres rejects)
            float: 1.0000000000000002,
            decimal: new lib.Prisma.Decimal('12345678901234567890123456789012345.123456789012345678901234567891'),
            bool: true,
            dateTime: D('2024-02-29T23:59:59.999Z'),
            json: { nested: { deep: [1, 2.5, 'three', null, true, { x: -1e-7 }] }, unicode: 'ü😀', empty: {} },
            bytes: new Uint8Array(Array.from({ length: 256 }, (_, i) => i)),
            role: 'ADMIN',
            roles: ['ADMIN', 'USER', 'ADMIN'],
            strList: ['', 'with,comma', 'with "quote"', 'NULL', 'ü'],
            intList: [-2147483648, 0, 2147483647],
            optStr: null,
            optBigInt: -9223372036854775808n,
            optDec: '-0.000000000000000000000000000001',
            optJson: [1, 'two', { three: 3 }],
            optBytes: new Uint8Array([]),
          },
        }),
      )
      await ok((db) =>
        db.allTypes.create({
          data: {
            str: '',
            int: -1,
            bigInt: 9007199254740993n,
            float: 0.1 + 0.2,
            decimal: '0.1',
            bool: false,
            dateTime: D('1969-07-20T20:17:40.123Z'),
            json: 'just a string',
            bytes: Buffer.from('hello'),
            role: 'USER',
            roles: [],
            strList: [],
            intList: [42],
            optJson: lib.Prisma.JsonNull,
          },
        }),
      )
      await ok((db) =>
        db.allTypes.create({
          data: {
            str: 'third',
            int: 0,
            bigInt: -9007199254740993n,
            float: -0.5,
            decimal: 99.99,
            bool: true,
            dateTime: D('2000-01-01T00:00:00.000Z'),
            json: 12345.678,
            bytes: new Uint8Array([0xde, 0xad, 0xbe, 0xef]),
            role: 'EDITOR',
            roles: ['EDITOR'],
            strList: ['x'],
            intList: [],
            optDec: new lib.Prisma.Decimal('1e-30'),
            optJson: lib.Prisma.JsonNull,
          },
        }),
      )
      await ok((db) => db.allTypes.findMany({ orderBy: { id: 'asc' } }))
    })

    it('update with nested writes, atomic number operations and list push', async () => {
      await ok((db) =>
        db.user.update({
          where: { email: 'bob@example.com' },
          data: {
            name: 'Robert',
            tags: { push: 'z' },
            profile: { upsert: { create: { id: 'never', bio: 'x' }, update: { bio: 'updated bio' } } },
            posts: {
              updateMany: { where: { slug: 'life' }, data: { views: { increment: 2 }, rating: { multiply: 2 } } },
              create: { id: 'p-b2', title: 'Bob second', slug: 'second', scores: [7] },
            },
          },
          include: { profile: { select: { bio: true } }, posts: { orderBy: { id: 'asc' } } },
        }),
      )
      await ok((db) =>
        db.post.update({
          where: { id: 'p-c1' },
          data: {
            views: { decrement: 1 },
            scores: { set: [9, 8, 7] },
            metadata: { lang: 'fr', title: 'Un titre', tags: ['x'] },
            categories: { connect: [{ name: 'art' }, { name: 'tech' }] },
          },
          include: { categories: { orderBy: { name: 'asc' } } },
        }),
      )
      await ok((db) =>
        db.post.update({
          where: { id: 'p-a1' },
          data: { categories: { disconnect: [{ name: 'life' }] } },
          select: { id: true, categories: { select: { name: true }, orderBy: { name: 'asc' } } },
        }),
      )
      await ok((db) =>
        db.post.update({
          where: { id: 'p-b2' },
          data: { categories: { set: [{ name: 'sport' }, { name: 'science' }] } },
          select: { id: true, categories: { select: { name: true }, orderBy: { name: 'asc' } } },
        }),
      )
      await ok((db) =>
        db.allTypes.update({
          where: { id: 2 },
          data: {
            bigInt: { increment: 10n },
            decimal: { increment: '0.2' },
            float: { multiply: 3 },
            int: { divide: 1 },
            optStr: 'now set',
            optJson: lib.Prisma.DbNull,
            intList: { push: [43, 44] },
          },
        }),
      )
    })

    it('upsert (create path, then update path)', async () => {
      const run = (db: Db) =>
        db.user.upsert({
          where: { email: 'frank@example.com' },
          create: { email: 'frank@example.com', name: 'Frank', tags: ['f'] },
          update: { name: 'Frank again', tags: { push: 'g' } },
        })
      await ok(run)
      await ok(run)
      await ok((db) =>
        db.category.upsert({ where: { name: 'tech' }, create: { name: 'tech' }, update: {}, include: { _count: true } }),
      )
    })

    it('updateMany and updateManyAndReturn', async () => {
      await ok((db) => db.post.updateMany({ where: { status: 'DRAFT', authorId: 3 }, data: { status: 'PUBLISHED' } }))
      await ok((db) => db.post.updateMany({ where: { id: 'no-such-post' }, data: { views: 1 } }))
      await ok((db) =>
        db.post.updateManyAndReturn({
          where: { authorId: 5 },
          data: { rating: 1.5, content: 'bulk' },
          select: { id: true, rating: true, content: true },
        }),
      )
    })
  })

  describe('reads', () => {
    it('findUnique (id, unique field, composite unique), findFirst, findMany', async () => {
      await ok((db) => db.user.findUnique({ where: { id: 1 } }))
      await ok((db) => db.user.findUnique({ where: { email: 'dave@example.com' }, include: { profile: true } }))
      await ok((db) => db.user.findUnique({ where: { email: 'nobody@example.com' } }))
      await ok((db) => db.post.findUnique({ where: { authorId_slug: { authorId: 3, slug: 'two' } } }))
      await ok((db) => db.post.findFirst({ where: { views: { gt: 4 } }, orderBy: { views: 'asc' } }))
      await ok((db) => db.post.findFirst({ where: { title: { contains: 'nothing matches this' } } }))
      await ok((db) => db.user.findMany({ orderBy: { id: 'asc' } }))
      await ok((db) => db.post.findMany({ orderBy: { id: 'asc' } }))
      await ok((db) => db.category.findMany({ orderBy: { id: 'asc' }, include: { posts: { select: { id: true }, orderBy: { id: 'asc' } } } }))
      await ok((db) => db.profile.findMany({ orderBy: { userId: 'asc' } }))
    })

    it('findUniqueOrThrow and findFirstOrThrow', async () => {
      await ok((db) => db.user.findUniqueOrThrow({ where: { email: 'carol@example.com' } }))
      await ok((db) => db.post.findFirstOrThrow({ where: { status: 'ARCHIVED' } }))
      await fails('P2025', (db) => db.user.findUniqueOrThrow({ where: { id: 999 } }))
      await fails('P2025', (db) => db.post.findFirstOrThrow({ where: { views: { gt: 10_000 } } }))
    })

    it('scalar filters (AND/OR/NOT, string modes, in/notIn, ranges, nulls)', async () => {
      await ok((db) =>
        db.post.findMany({
          where: {
            OR: [{ title: { contains: 'alice', mode: 'insensitive' } }, { slug: { startsWith: 'sec' } }],
            NOT: { status: 'ARCHIVED' },
            AND: [{ views: { gte: 0 } }, { views: { lt: 50 } }],
          },
          orderBy: { id: 'asc' },
          select: { id: true },
        }),
      )
      await ok((db) => db.post.findMany({ where: { id: { in: ['p-a1', 'p-d1', 'nope'] } }, orderBy: { id: 'asc' }, select: { id: true } }))
      await ok((db) => db.post.findMany({ where: { authorId: { notIn: [1, 2] } }, orderBy: { id: 'asc' }, select: { id: true } }))
      await ok((db) => db.post.findMany({ where: { rating: null }, orderBy: { id: 'asc' }, select: { id: true } }))
      await ok((db) => db.post.findMany({ where: { content: { not: null } }, orderBy: { id: 'asc' }, select: { id: true, content: true } }))
      await ok((db) => db.post.findMany({ where: { title: { endsWith: 'TWO', mode: 'insensitive' } }, select: { id: true } }))
      await ok((db) =>
        db.post.findMany({
          where: { publishedAt: { gte: D('2024-01-01T00:00:00.000Z'), lte: D('2024-12-31T23:59:59.999Z') } },
          orderBy: { publishedAt: 'desc' },
          select: { id: true, publishedAt: true },
        }),
      )
      await ok((db) => db.user.findMany({ where: { name: { equals: null } }, select: { email: true } }))
    })

    it('relation filters (some/every/none/is/isNot)', async () => {
      const users = (where: object) => (db: Db) =>
        db.user.findMany({ where, orderBy: { id: 'asc' }, select: { email: true } })
      await ok(users({ posts: { some: { status: 'PUBLISHED' } } }))
      await ok(users({ posts: { every: { views: { gt: 2 } } } }))
      await ok(users({ posts: { none: {} } }))
      await ok(users({ profile: { is: null } }))
      await ok(users({ profile: { isNot: null } }))
      await ok(users({ profile: { is: { bio: { contains: 'bio' } } } }))
      const posts = (where: object) => (db: Db) =>
        db.post.findMany({ where, orderBy: { id: 'asc' }, select: { id: true } })
      await ok(posts({ author: { is: { role: 'ADMIN' } } }))
      await ok(posts({ author: { isNot: { name: 'Carol' } } }))
      await ok(posts({ author: { posts: { some: { status: 'ARCHIVED' } } } }))
      await ok(posts({ categories: { some: { name: { in: ['tech', 'art'] } } } }))
      await ok(posts({ categories: { none: {} } }))
      await ok(posts({ categories: { every: { name: { startsWith: 's' } } } }))
      await ok((db) =>
        db.category.findMany({ where: { posts: { some: { author: { email: 'bob@example.com' } } } }, orderBy: { name: 'asc' } }),
      )
    })

    it('Json filters (path, equals, string_contains, array_contains, null kinds)', async () => {
      const posts = (where: object) => (db: Db) =>
        db.post.findMany({ where, orderBy: { id: 'asc' }, select: { id: true, metadata: true } })
      await ok(posts({ metadata: { path: ['lang'], equals: 'en' } }))
      await ok(posts({ metadata: { path: ['stats', 'words'], gt: 1000 } }))
      await ok(posts({ metadata: { path: ['title'], string_contains: 'tit' } }))
      await ok(posts({ metadata: { path: ['title'], string_starts_with: 'Prisma' } }))
      await ok(posts({ metadata: { path: ['tags'], array_contains: ['misc'] } }))
      await ok(posts({ metadata: { equals: { lang: 'en', n: null } } }))
      await ok(posts({ metadata: { equals: lib.Prisma.DbNull } }))
      await ok(posts({ metadata: { equals: lib.Prisma.AnyNull } }))
      await ok((db) =>
        db.allTypes.findMany({ where: { optJson: { equals: lib.Prisma.JsonNull } }, select: { id: true }, orderBy: { id: 'asc' } }),
      )
      await ok((db) =>
        db.allTypes.findMany({ where: { json: { path: ['nested', 'deep'], array_contains: [2.5] } }, select: { id: true } }),
      )
    })

    it('scalar list filters (has/hasSome/hasEvery/isEmpty/equals)', async () => {
      const users = (where: object) => (db: Db) =>
        db.user.findMany({ where, orderBy: { id: 'asc' }, select: { email: true, tags: true } })
      await ok(users({ tags: { has: 'b' } }))
      await ok(users({ tags: { hasSome: ['a', 'z'] } }))
      await ok(users({ tags: { hasEvery: ['c', 'd'] } }))
      await ok(users({ tags: { isEmpty: true } }))
      await ok(users({ tags: { equals: ['a'] } }))
      await ok((db) => db.post.findMany({ where: { scores: { has: 3 } }, orderBy: { id: 'asc' }, select: { id: true, scores: true } }))
      await ok((db) => db.allTypes.findMany({ where: { roles: { has: 'ADMIN' } }, select: { id: true, roles: true } }))
      await ok((db) => db.allTypes.findMany({ where: { intList: { hasEvery: [42, 43] } }, select: { id: true, intList: true } }))
    })

    it('filters on every scalar type', async () => {
      const ids = (where: object) => (db: Db) =>
        db.allTypes.findMany({ where, orderBy: { id: 'asc' }, select: { id: true } })
      await ok(ids({ bigInt: { gt: 9007199254740992n } }))
      await ok(ids({ bigInt: { lt: 0n } }))
      await ok(ids({ decimal: { gte: new lib.Prisma.Decimal('99.99') } }))
      await ok(ids({ decimal: { equals: '0.3' } }))
      await ok(ids({ float: { lt: 0 } }))
      await ok(ids({ bool: false }))
      await ok(ids({ dateTime: { lt: D('1970-01-01T00:00:00.000Z') } }))
      await ok(ids({ dateTime: D('2024-02-29T23:59:59.999Z') }))
      await ok(ids({ bytes: Buffer.from('hello') }))
      await ok(ids({ bytes: { in: [new Uint8Array([0xde, 0xad, 0xbe, 0xef])] } }))
      await ok(ids({ role: { in: ['EDITOR', 'USER'] } }))
      await ok(ids({ optBigInt: null }))
      await ok(ids({ str: { contains: '😀' } }))
    })

    it('orderBy (several fields, nulls, relation field, relation count)', async () => {
      await ok((db) => db.post.findMany({ orderBy: [{ status: 'asc' }, { views: 'desc' }, { id: 'asc' }], select: { id: true } }))
      await ok((db) => db.post.findMany({ orderBy: [{ rating: { sort: 'asc', nulls: 'last' } }, { id: 'asc' }], select: { id: true, rating: true } }))
      await ok((db) => db.post.findMany({ orderBy: [{ rating: { sort: 'desc', nulls: 'first' } }, { id: 'desc' }], select: { id: true } }))
      await ok((db) => db.post.findMany({ orderBy: [{ author: { name: 'desc' } }, { id: 'asc' }], select: { id: true } }))
      await ok((db) => db.user.findMany({ orderBy: [{ posts: { _count: 'desc' } }, { id: 'asc' }], select: { email: true } }))
      await ok((db) => db.category.findMany({ orderBy: [{ posts: { _count: 'asc' } }, { name: 'asc' }], select: { name: true } }))
    })

    it('skip, take and cursor', async () => {
      await ok((db) => db.post.findMany({ orderBy: { id: 'asc' }, skip: 2, take: 3, select: { id: true } }))
      await ok((db) => db.post.findMany({ orderBy: { id: 'asc' }, take: -2, select: { id: true } }))
      await ok((db) => db.post.findMany({ orderBy: { id: 'asc' }, cursor: { id: 'p-b1' }, take: 3, select: { id: true } }))
      await ok((db) => db.post.findMany({ orderBy: { id: 'asc' }, cursor: { id: 'p-b1' }, skip: 1, take: 2, select: { id: true } }))
      await ok((db) => db.post.findMany({ orderBy: { id: 'asc' }, cursor: { id: 'p-c2' }, take: -2, select: { id: true } }))
      await ok((db) =>
        db.user.findMany({
          orderBy: { id: 'asc' },
          take: 2,
          include: { posts: { orderBy: { id: 'desc' }, take: 1, skip: 1, select: { id: true } } },
        }),
      )
    })

    it('distinct', async () => {
      await ok((db) => db.post.findMany({ distinct: ['authorId'], orderBy: [{ authorId: 'asc' }, { id: 'asc' }], select: { authorId: true, id: true } }))
      await ok((db) => db.post.findMany({ distinct: ['status', 'authorId'], orderBy: [{ status: 'asc' }, { authorId: 'asc' }], select: { status: true, authorId: true } }))
    })

    it('select, include and omit (nested)', async () => {
      await ok((db) =>
        db.user.findMany({
          orderBy: { id: 'asc' },
          select: {
            email: true,
            profile: { select: { bio: true } },
            posts: {
              where: { status: 'PUBLISHED' },
              orderBy: { id: 'asc' },
              select: { slug: true, author: { select: { name: true } }, categories: { select: { name: true }, orderBy: { name: 'asc' } } },
            },
          },
        }),
      )
      await ok((db) => db.user.findMany({ orderBy: { id: 'asc' }, omit: { email: true, tags: true } }))
      await ok((db) =>
        db.post.findUnique({
          where: { id: 'p-a1' },
          omit: { content: true, metadata: true },
          include: { author: { omit: { createdAt: true, updatedAt: true } } },
        }),
      )
      await ok((db) => db.allTypes.findMany({ orderBy: { id: 'asc' }, omit: { bytes: true, json: true } }))
    })

    it('_count in select and include', async () => {
      await ok((db) => db.user.findMany({ orderBy: { id: 'asc' }, include: { _count: true } }))
      await ok((db) =>
        db.user.findMany({
          orderBy: { id: 'asc' },
          select: { email: true, _count: { select: { posts: { where: { status: 'PUBLISHED' } } } } },
        }),
      )
      await ok((db) => db.category.findMany({ orderBy: { id: 'asc' }, select: { name: true, _count: { select: { posts: true } } } }))
    })
  })

  describe('aggregates', () => {
    it('count', async () => {
      await ok((db) => db.post.count())
      await ok((db) => db.post.count({ where: { status: 'PUBLISHED' } }))
      await ok((db) => db.post.count({ select: { _all: true, rating: true, content: true } }))
      await ok((db) => db.user.count({ where: { posts: { some: {} } } }))
    })

    it('aggregate (_count/_sum/_avg/_min/_max)', async () => {
      await ok((db) =>
        db.post.aggregate({
          _count: { _all: true, rating: true },
          _sum: { views: true, rating: true },
          _avg: { views: true, rating: true },
          _min: { views: true, publishedAt: true, title: true },
          _max: { views: true, publishedAt: true, status: true },
        }),
      )
      await ok((db) =>
        db.allTypes.aggregate({
          _sum: { bigInt: true, decimal: true, float: true, int: true },
          _avg: { bigInt: true, decimal: true, int: true },
          _min: { bigInt: true, decimal: true, dateTime: true, str: true },
          _max: { bigInt: true, decimal: true, dateTime: true, float: true },
        }),
      )
      await ok((db) => db.post.aggregate({ where: { views: { gt: 1000 } }, _sum: { views: true }, _avg: { rating: true } }))
      await ok((db) => db.post.aggregate({ orderBy: { views: 'desc' }, take: 3, _sum: { views: true } }))
    })

    it('groupBy (with having and orderBy)', async () => {
      await ok((db) =>
        db.post.groupBy({
          by: ['authorId'],
          _count: { _all: true },
          _sum: { views: true },
          _avg: { rating: true },
          orderBy: { authorId: 'asc' },
        }),
      )
      await ok((db) =>
        db.post.groupBy({
          by: ['authorId'],
          _sum: { views: true },
          having: { views: { _sum: { gt: 5 } } },
          orderBy: { _sum: { views: 'desc' } },
        }),
      )
      await ok((db) =>
        db.post.groupBy({
          by: ['status', 'authorId'],
          where: { authorId: { lte: 5 } },
          _max: { views: true },
          having: { authorId: { in: [1, 3, 5] } },
          orderBy: [{ status: 'asc' }, { authorId: 'asc' }],
        }),
      )
      await ok((db) => db.allTypes.groupBy({ by: ['role'], _sum: { decimal: true, bigInt: true }, orderBy: { role: 'asc' } }))
    })
  })

  describe('raw queries', () => {
    it('$queryRaw returns every column type', async () => {
      await ok(
        (db) => db.$queryRaw`
          SELECT 1::int4 AS i4, 9007199254740993::int8 AS i8, 1.50::numeric AS num, 2.5::float8 AS f8,
                 1.25::float4 AS f4, true AS b, 'text'::text AS t, 'x'::varchar(3) AS vc, decode('00ff', 'hex') AS by,
                 '{"a":[1,{"b":null}]}'::jsonb AS jb, '{"c":1}'::json AS js,
                 '2024-01-02 03:04:05.678'::timestamp AS ts, '2024-01-02 03:04:05.678+02'::timestamptz AS tstz,
                 '2024-01-02'::date AS d, '12:34:56.789'::time AS tm,
                 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u, ARRAY['a', NULL, 'c'] AS ta, ARRAY[1, 2]::int4[] AS ia,
                 ARRAY[1.5]::numeric[] AS na, NULL AS nul, 'ADMIN'::"Role" AS e, ARRAY['USER']::"Role"[] AS ea`,
      )
    })

    it('$queryRaw over tables, with typed parameters', async () => {
      await ok((db) => db.$queryRaw`SELECT * FROM "AllTypes" ORDER BY "id"`)
      await ok((db) => db.$queryRaw`SELECT "id", "email", "createdAt", "tags" FROM "User" WHERE "id" > ${2} ORDER BY "id"`)
      await ok(
        (db) => db.$queryRaw`
          SELECT ${9007199254740993n}::int8 AS big, ${new lib.Prisma.Decimal('123.456')}::numeric AS dec,
                 ${D('2024-05-06T07:08:09.123Z')}::timestamptz AS ts, ${new Uint8Array([1, 2, 3])}::bytea AS by,
                 ${JSON.stringify({ k: ['v'] })}::jsonb AS js, ${[1, 2, 3]}::int4[] AS arr, ${['x', 'y']}::text[] AS tarr,
                 ${'str'}::text AS s, ${42}::int4 AS i, ${1.5}::float8 AS f, ${true}::bool AS b, ${null}::text AS n`,
      )
      await ok((db) =>
        db.$queryRaw(
          lib.Prisma.sql`SELECT "id" FROM "Post" WHERE "id" IN (${lib.Prisma.join(['p-a1', 'p-c2', 'zzz'])}) ORDER BY "id"`,
        ),
      )
      await ok((db) => db.$queryRawUnsafe('SELECT $1::int4 + $2::int4 AS sum, $3::text AS t', 40, 2, 'unsafe'))
      await fails('P2010', (db) => db.$queryRaw`SELECT * FROM "NoSuchTable"`)
    })

    it('$executeRaw returns affected row counts', async () => {
      await ok((db) => db.$executeRaw`UPDATE "Post" SET "views" = "views" + ${1} WHERE "authorId" = ${3}`)
      await ok((db) => db.$executeRaw`UPDATE "Post" SET "views" = 0 WHERE "id" = ${'no-such-id'}`)
      await ok((db) => db.$executeRawUnsafe('UPDATE "Category" SET "name" = "name" WHERE "id" <= $1', 3))
      await ok((db) => db.post.findMany({ where: { authorId: 3 }, orderBy: { id: 'asc' }, select: { id: true, views: true } }))
    })
  })

  describe('transactions', () => {
    it('array $transaction', async () => {
      await ok((db) =>
        db.$transaction([
          db.user.count(),
          db.category.create({ data: { name: 'from-array-tx' } }),
          db.post.findMany({ where: { authorId: 1 }, orderBy: { id: 'asc' }, select: { id: true } }),
          db.$executeRaw`UPDATE "Post" SET "views" = "views" + 1 WHERE "id" = 'p-d1'`,
          db.post.findUnique({ where: { id: 'p-d1' }, select: { views: true } }),
        ]),
      )
      await ok((db) => db.$transaction([db.user.findMany({ orderBy: { id: 'asc' }, select: { id: true } })], { isolationLevel: 'Serializable' }))
    })

    it('array $transaction rolls back entirely when one query fails', async () => {
      await fails('P2002', (db) =>
        db.$transaction([
          db.category.create({ data: { name: 'array-tx-rolled-back' } }),
          db.category.create({ data: { name: 'tech' } }),
        ]),
      )
      await ok((db) => db.category.findUnique({ where: { name: 'array-tx-rolled-back' } }))
    })

    it('interactive $transaction commits', async () => {
      await ok((db) =>
        db.$transaction(async (tx: Db) => {
          const user = await tx.user.create({ data: { email: 'gina@example.com', name: 'Gina', tags: ['tx'] } })
          const post = await tx.post.create({
            data: { id: 'p-g1', title: 'In a transaction', slug: 'tx', authorId: user.id, categories: { connect: { name: 'art' } } },
            include: { categories: true },
          })
          const count = await tx.post.count({ where: { authorId: user.id } })
          return { user, post, count }
        }),
      )
      await ok((db) => db.user.findUnique({ where: { email: 'gina@example.com' }, include: { posts: true } }))
    })

    it('interactive $transaction rolls back when the callback throws', async () => {
      const o = await both((db) =>
        db.$transaction(async (tx: Db) => {
          await tx.user.create({ data: { email: 'rollback@example.com', name: 'Rolled back' } })
          await tx.post.update({ where: { id: 'p-a1' }, data: { views: { increment: 1000 } } })
          throw new Error('boom')
        }),
      )
      expect(o).toEqual({ error: { name: 'Error', message: 'boom' } })
      await ok((db) => db.user.findUnique({ where: { email: 'rollback@example.com' } }))
      await ok((db) => db.post.findUnique({ where: { id: 'p-a1' }, select: { views: true } }))
    })

    it('interactive $transaction rolls back when a query in it fails', async () => {
      await fails('P2002', (db) =>
        db.$transaction(async (tx: Db) => {
          await tx.category.create({ data: { name: 'interactive-rolled-back' } })
          await tx.user.create({ data: { email: 'alice@example.com' } })
        }),
      )
      await ok((db) => db.category.findUnique({ where: { name: 'interactive-rolled-back' } }))
    })

    it('interactive $transaction past its timeout fails with P2028 and commits nothing', async () => {
      const o = await bothConcurrently((db) =>
        db.$transaction(
          async (tx: Db) => {
            await tx.category.create({ data: { name: 'timed-out' } })
            await sleep(1_200)
            return tx.category.count()
          },
          { timeout: 500 },
        ),
      )
      expect(codeOf(o)).toBe('P2028')
      await ok((db) => db.category.findUnique({ where: { name: 'timed-out' } }))
    })
  })

  describe('errors', () => {
    it('P2002 unique constraint violations', async () => {
      await fails('P2002', (db) => db.user.create({ data: { email: 'alice@example.com' } }))
      await fails('P2002', (db) => db.post.create({ data: { id: 'p-new', title: 'dup slug', slug: 'one', authorId: 3 } }))
      await fails('P2002', (db) => db.user.update({ where: { id: 2 }, data: { email: 'carol@example.com' } }))
      await fails('P2002', (db) => db.category.createMany({ data: [{ name: 'art' }] }))
    })

    it('P2025 missing records', async () => {
      await fails('P2025', (db) => db.user.update({ where: { id: 999 }, data: { name: 'ghost' } }))
      await fails('P2025', (db) => db.user.delete({ where: { email: 'ghost@example.com' } }))
      await fails('P2025', (db) => db.post.update({ where: { id: 'p-a1' }, data: { categories: { connect: { id: 999 } } } }))
    })

    it('P2003 foreign key violations', async () => {
      await fails('P2003', (db) => db.post.create({ data: { id: 'p-orphan', title: 'x', slug: 'x', authorId: 999 } }))
      await fails('P2003', (db) => db.user.delete({ where: { id: 1 } }))
    })
  })

  describe('deletes', () => {
    it('delete (with cascade of the 1-1 profile) and deleteMany', async () => {
      await ok((db) => db.post.delete({ where: { id: 'p-a2' }, include: { categories: true } }))
      await ok((db) => db.user.delete({ where: { email: 'frank@example.com' }, select: { email: true, tags: true } }))
      await ok((db) => db.post.deleteMany({ where: { author: { email: 'erin@example.com' } } }))
      await ok((db) => db.user.delete({ where: { email: 'erin@example.com' }, include: { profile: true } }))
      await ok((db) => db.allTypes.deleteMany({ where: { bool: false } }))
      await ok((db) => db.category.deleteMany({ where: { posts: { none: {} } } }))
      await ok((db) => db.profile.deleteMany({ where: { id: 'no-such-profile' } }))
    })

    it('the final database contents are identical', async () => {
      await ok((db) =>
        db.$transaction([
          db.user.findMany({ orderBy: { id: 'asc' }, include: { profile: true } }),
          db.post.findMany({ orderBy: { id: 'asc' } }),
          db.category.findMany({ orderBy: { id: 'asc' } }),
          db.allTypes.findMany({ orderBy: { id: 'asc' } }),
          db.$queryRaw`SELECT "A", "B" FROM "_CategoryToPost" ORDER BY "A", "B"`,
        ]),
      )
    })
  })
}
