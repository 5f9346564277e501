// Limits of the HTTP door: query timeout (cancelled on the database), response size, interactive
// transaction timeouts, and what the client sees for each.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { adminQuery, createDatabase, describeWithPostgres } from '../helpers/postgres.js'
import { startSluice, type TestSluice } from '../helpers/sluice.js'
import { ddl, loadClient } from '../e2e/clients.js'

/* eslint-disable @typescript-eslint/no-explicit-any */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describeWithPostgres('HTTP door limits', () => {
  let s: TestSluice
  let dbUrl: string
  let dbName: string
  let prisma: any
  beforeAll(async () => {
    dbUrl = await createDatabase('limits', ddl())
    dbName = new URL(dbUrl).pathname.slice(1)
    s = await startSluice({
      origin: `${dbUrl}?connection_limit=4`,
      apiKeys: ['k1'],
      limits: { queryTimeoutMs: 700, maxTransactionTimeoutMs: 2000, maxResponseSize: 4096 },
    })
    const { PrismaClient, withAccelerate } = await loadClient('7.10')
    prisma = new PrismaClient({ accelerateUrl: s.accelerateUrl('k1') }).$extends(withAccelerate())
  })
  afterAll(async () => s?.close())

  async function runningSleeps(): Promise<number> {
    const r = await adminQuery<{ n: string }>(
      'postgres',
      "SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = $1 AND state = 'active' AND query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()",
      [dbName],
    )
    return Number(r.rows[0]!.n)
  }

  it('a query past the timeout → P6004, and the database stops running it', async () => {
    const started = Date.now()
    await expect(prisma.$queryRaw`SELECT pg_sleep(5)::text AS s`).rejects.toMatchObject({ code: 'P6004' })
    const took = Date.now() - started
    expect(took).toBeGreaterThanOrEqual(650)
    expect(took).toBeLessThan(4000)
    // statement_timeout on the origin connection cancels it there too
    let left = await runningSleeps()
    for (let i = 0; i < 20 && left > 0; i++) {
      await sleep(100)
      left = await runningSleeps()
    }
    expect(left).toBe(0)
    expect(await prisma.$queryRaw`SELECT 1::int AS ok`).toEqual([{ ok: 1 }])
  })

  it('client-sent internal limit headers cannot raise the limits', async () => {
    const res = await fetch(`${s.httpUrl}/query`, {
      method: 'POST',
      headers: { authorization: 'Bearer k1', 'x-query-timeout': 'PT1H', 'x-max-response-size': '1GB', 'x-max-transaction-timeout': 'PT1H' },
      body: JSON.stringify({ operation: 'queryRaw', plan: { type: 'query', args: { type: 'rawSql', sql: 'SELECT pg_sleep(3)', args: [], argTypes: [] } }, params: {} }),
    })
    expect(((await res.json()) as any).code).toBe('P6004')
    const big = await fetch(`${s.httpUrl}/query`, {
      method: 'POST',
      headers: { authorization: 'Bearer k1', 'x-max-response-size': '1GB' },
      body: JSON.stringify({ operation: 'queryRaw', plan: { type: 'query', args: { type: 'rawSql', sql: "SELECT repeat('x', 10000) AS big", args: [], argTypes: [] } }, params: {} }),
    })
    expect(((await big.json()) as any).code).toBe('P6009')
  })

  it('a response over the size limit → P6009 with the limit in meta', async () => {
    await prisma.user.createMany({ data: Array.from({ length: 60 }, (_, i) => ({ email: `big${i}@example.com`, name: 'x'.repeat(50) })) })
    const err = await prisma.user.findMany().catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'P6009' })
    expect((err as any).meta.limit).toBe('4KB')
    // small results still pass
    expect(await prisma.user.count()).toBe(60)
  })

  it('a transaction timeout above the maximum → P6005', async () => {
    const err = await prisma.$transaction(async () => 1, { timeout: 5000 }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'P6005' })
    expect((err as Error).message).toContain('2000 ms')
  })

  it('an expired interactive transaction → P2028, is rolled back, and frees its connection', async () => {
    const err = await prisma
      .$transaction(
        async (tx: any) => {
          await tx.user.create({ data: { email: 'expired@example.com' } })
          await sleep(900)
          await tx.user.create({ data: { email: 'expired2@example.com' } })
        },
        { timeout: 500, maxWait: 1000 },
      )
      .catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'P2028' })
    expect(await prisma.user.findUnique({ where: { email: 'expired@example.com' } })).toBeNull()
    // the connection went back to the pool: no session is left idle in a transaction
    const r = await adminQuery<{ n: string }>(
      'postgres',
      "SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = $1 AND state LIKE 'idle in transaction%'",
      [dbName],
    )
    expect(Number(r.rows[0]!.n)).toBe(0)
    const origin = s.sluice.origins[0]!.stats()
    expect(origin.total - origin.idle).toBe(0)
  })

  it('isolation levels reach the database', async () => {
    const level = await prisma.$transaction(async (tx: any) => tx.$queryRaw`SHOW transaction_isolation`, { isolationLevel: 'Serializable', timeout: 1500 })
    expect(level).toEqual([{ transaction_isolation: 'serializable' }])
  })

  it('rollback on a thrown error leaves nothing behind', async () => {
    await expect(
      prisma.$transaction(async (tx: any) => {
        await tx.user.create({ data: { email: 'rolled@example.com' } })
        throw new Error('boom')
      }, { timeout: 1500 }),
    ).rejects.toThrow('boom')
    expect(await prisma.user.findUnique({ where: { email: 'rolled@example.com' } })).toBeNull()
  })
})
