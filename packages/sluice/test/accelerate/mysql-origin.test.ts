// The HTTP door in front of a MySQL/MariaDB origin: what the query compiler is told, and the
// limits and error codes, exactly as for Postgres.
import { afterAll, beforeAll, expect, it } from 'vitest'
import { freePort } from '../../src/util/free-port.js'
import { createMariadbDatabase, describeWithMariadb, dropMariadbDatabase, mariadbQuery } from '../helpers/mariadb.js'
import { startSluice, type TestSluice } from '../helpers/sluice.js'
import { loadClient, mysqlDdl } from '../e2e/clients.js'

/* eslint-disable @typescript-eslint/no-explicit-any */
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

describeWithMariadb('HTTP door with a MySQL origin', () => {
  let s: TestSluice
  let dbUrl: string
  let dbName: string
  let prisma: any
  beforeAll(async () => {
    dbUrl = await createMariadbDatabase('mysql_door', mysqlDdl())
    dbName = new URL(dbUrl).pathname.slice(1)
    const unreachable = `mariadb://root@127.0.0.1:${await freePort()}/nowhere?pool_timeout=1`
    s = await startSluice({
      origin: `${dbUrl}?connection_limit=4`,
      apiKeys: ['k1'],
      tenants: [{ name: 'down', origin: unreachable, apiKeys: ['k-down'] }],
      limits: { queryTimeoutMs: 700, maxResponseSize: 4096 },
    })
    const { PrismaClient, withAccelerate } = await loadClient('7.10', 'mysql')
    prisma = new PrismaClient({ accelerateUrl: s.accelerateUrl('k1') }).$extends(withAccelerate())
  })
  afterAll(async () => {
    await s?.close()
    if (dbUrl) await dropMariadbDatabase(dbUrl)
  })

  async function runningSleeps(): Promise<number> {
    const rows = await mariadbQuery<{ n: bigint | number }[]>(
      undefined,
      "SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND INFO LIKE '%SLEEP(%' AND ID <> CONNECTION_ID()",
      [dbName],
    )
    return Number(rows[0]!.n)
  }

  it('GET /connection-info answers the mysql provider (MariaDB: no relation joins)', async () => {
    const res = await fetch(`${s.httpUrl}/connection-info`, { headers: { authorization: 'Bearer k1', 'prisma-engine-hash': '7.10.1' } })
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ provider: 'mysql', connectionInfo: { supportsRelationJoins: false } })
  })

  it('a query past the timeout → P6004, and the database stops running it (max_statement_time)', async () => {
    await expect(prisma.$queryRaw`SELECT SLEEP(5) AS s`).rejects.toMatchObject({ code: 'P6004' })
    let left = await runningSleeps()
    for (let i = 0; i < 30 && left > 0; i++) {
      await sleep(100)
      left = await runningSleeps()
    }
    expect(left).toBe(0)
    expect(await prisma.$queryRaw`SELECT 1 AS ok`).toEqual([{ ok: 1 }])
  })

  it('a response over the size limit → P6009', async () => {
    await expect(prisma.$queryRaw`SELECT REPEAT('x', 10000) AS big`).rejects.toMatchObject({ code: 'P6009' })
  })

  it('an unreachable origin → P6008, and the other tenant keeps working', async () => {
    const res = await fetch(`${s.httpUrl}/query`, {
      method: 'POST',
      headers: { authorization: 'Bearer k-down', 'content-type': 'application/json' },
      body: JSON.stringify({ operation: 'queryRaw', plan: { type: 'query', args: { type: 'rawSql', sql: 'SELECT 1', args: [], argTypes: [] } }, params: {} }),
    })
    const body = (await res.json()) as any
    expect(body.code).toBe('P6008')
    expect(JSON.stringify(body)).not.toMatch(/mariadb:\/\/|\/work\//)
    expect(await prisma.$queryRaw`SELECT 2 AS ok`).toEqual([{ ok: 2 }])
  })

  it('writes invalidate cached reads of the tables they touch', async () => {
    const cat = await prisma.category.create({ data: { name: 'before' } })
    const read = () => prisma.category.findUnique({ where: { id: cat.id }, cacheStrategy: { ttl: 3600 } }).withAccelerateInfo()
    expect((await read()).info.cacheStatus).toBe('miss')
    expect((await read()).info.cacheStatus).toBe('ttl')
    await prisma.$executeRaw`UPDATE Category SET name = 'after' WHERE id = ${cat.id}`
    expect(await read()).toMatchObject({ data: { name: 'after' }, info: { cacheStatus: 'miss' } })
  })
})
