// The Prisma queries the scenarios run. `args(rand)` draws the arguments from a seeded PRNG, so
// every target of a comparison runs the same sequence of queries.
export const QUERIES = {
  findUnique: {
    label: 'findUnique by id (random id)',
    short: 'findUnique',
    run: (prisma, rand, data) => prisma.user.findUnique({ where: { id: 1 + Math.floor(rand() * data.users) } }),
    // for captures and sanity checks
    fixed: (prisma) => prisma.user.findUnique({ where: { id: 42 } }),
  },
  findMany100: {
    label: 'findMany 100 users + their posts (include), random window',
    short: 'findMany-100',
    run: (prisma, rand, data) =>
      prisma.user.findMany({
        where: { id: { gt: Math.floor(rand() * (data.users - 100)) } },
        orderBy: { id: 'asc' },
        take: 100,
        include: { posts: true },
      }),
    fixed: (prisma) => prisma.user.findMany({ where: { id: { gt: 500 } }, orderBy: { id: 'asc' }, take: 100, include: { posts: true } }),
  },
  aggregate: {
    label: 'aggregate over posts: _avg views + _count, where authorId < random bound (up to 3,000 rows scanned, one-row answer)',
    short: 'aggregate',
    run: (prisma, rand, data) =>
      prisma.post.aggregate({ _avg: { views: true }, _count: true, where: { authorId: { lt: 1 + Math.floor(rand() * data.users) } } }),
    fixed: (prisma) => prisma.post.aggregate({ _avg: { views: true }, _count: true, where: { authorId: { lt: 500 } } }),
  },
}

// Hot-set variants: the same queries over a small working set (100 ids, 10 windows), which is what
// a cache is for. The `cached` target is compared with `direct` on these.
QUERIES.findUniqueHot = {
  label: 'findUnique by id, hot set of 100 ids',
  short: 'findUnique-hot',
  run: (prisma, rand) => prisma.user.findUnique({ where: { id: 1 + Math.floor(rand() * 100) } }),
  fixed: QUERIES.findUnique.fixed,
}
QUERIES.findMany100Hot = {
  label: 'findMany 100 users + their posts (include), hot set of 10 windows',
  short: 'findMany-100-hot',
  run: (prisma, rand) =>
    prisma.user.findMany({ where: { id: { gt: 100 * Math.floor(rand() * 10) } }, orderBy: { id: 'asc' }, take: 100, include: { posts: true } }),
  fixed: QUERIES.findMany100.fixed,
}

export function parseQueryList(list) {
  const names = list.split(',').map((s) => s.trim()).filter(Boolean)
  for (const n of names) if (!QUERIES[n]) throw new Error(`unknown query "${n}"; known: ${Object.keys(QUERIES).join(', ')}`)
  return names
}
