// The MySQL wire door and the HTTP door draw on one connection budget per origin: counted on the
// server (information_schema.PROCESSLIST), both doors loaded together never open more than
// connection_limit connections; a waiter of either door past pool_timeout gets the documented
// error (P2024 on HTTP, ERR 1040 on the wire). Wire connections carry the origin's statement
// timeout, also after a session reset.
import * as mariadb from 'mariadb'
import mysql from 'mysql2/promise'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMariadbDatabase, describeWithMariadb, dropMariadbDatabase, mariadbConnectionCount } from '../../helpers/mariadb.js'
import { startSluice, type TestSluice } from '../../helpers/sluice.js'
import { loadClient, mysqlDdl } from '../../e2e/clients.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

/** Samples the origin's connection count for `db` until stopped. */
function watchConnections(url: string) {
  const samples: number[] = []
  let done = false
  const loop = (async () => {
    while (!done) {
      samples.push(await mariadbConnectionCount(url))
      await new Promise((r) => setTimeout(r, 15))
    }
  })()
  return {
    samples,
    async stop() {
      done = true
      await loop
      return samples
    },
  }
}

/** A promise and the function that settles it. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void
  const wait = new Promise<void>((r) => (open = r))
  return { wait, open }
}

describeWithMariadb('one connection budget for the MySQL wire door and the HTTP door', () => {
  let dbUrl: string
  let db: string
  beforeAll(async () => {
    dbUrl = await createMariadbDatabase('mysql_budget', mysqlDdl())
    db = new URL(dbUrl).pathname.slice(1)
  })
  afterAll(async () => {
    if (dbUrl) await dropMariadbDatabase(dbUrl)
  })

  describe('under load from both doors', () => {
    let s: TestSluice
    let prisma: any
    beforeAll(async () => {
      // pool_timeout=0: every waiter waits its turn, so the load phase cannot fail on timing.
      s = await startSluice({ origin: `${dbUrl}?connection_limit=3&pool_timeout=0`, apiKeys: ['k1'], mysql: {} })
      const { PrismaClient, withAccelerate } = await loadClient('7.10', 'mysql')
      prisma = new PrismaClient({ accelerateUrl: s.accelerateUrl('k1') }).$extends(withAccelerate())
    })
    afterAll(async () => s?.close())

    it('never exceeds connection_limit on the server, and every request of both doors completes', async () => {
      const watch = watchConnections(dbUrl)
      let wirePeak = 0
      let httpPeak = 0
      const door = s.sluice.mysqlDoor!
      const origin = s.sluice.origins[0]!
      const peeks = setInterval(() => {
        const w = Object.values(door.poolStats())[0]
        wirePeak = Math.max(wirePeak, w?.total ?? 0)
        httpPeak = Math.max(httpPeak, origin.stats().total - (w?.total ?? 0))
      }, 5)
      // Wire door: 5 clients, each holding transactions (a server connection each while open).
      const wireClients = await Promise.all(Array.from({ length: 5 }, () => mysql.createConnection({ host: '127.0.0.1', port: s.sluice.mysqlPort!, user: 'root', database: db })))
      const wireWork = wireClients.map(async (c, i) => {
        for (let round = 0; round < 3; round++) {
          await c.query('BEGIN')
          const [rows] = (await c.query('SELECT ? AS i, SLEEP(0.05) AS s', [i])) as any
          expect(Number(rows[0].i)).toBe(i)
          await c.query('COMMIT')
        }
      })
      // HTTP door: 8 concurrent queries.
      const httpWork = Promise.all(Array.from({ length: 8 }, (_, i) => prisma.$queryRaw`SELECT ${i} AS i, SLEEP(0.05) AS s`))
      const [httpResults] = await Promise.all([httpWork, ...wireWork])
      clearInterval(peeks)
      const samples = await watch.stop()
      await Promise.all(wireClients.map((c) => c.end()))
      expect((httpResults as any[]).map((r) => Number(r[0].i))).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
      // Both doors held connections during the run…
      expect(wirePeak).toBeGreaterThan(0)
      expect(httpPeak).toBeGreaterThan(0)
      // …and the server never saw more than connection_limit of them at once.
      expect(samples.length).toBeGreaterThan(0)
      expect(Math.max(...samples)).toBeLessThanOrEqual(3)
      expect(origin.stats().total).toBeLessThanOrEqual(3)
    })

    it('idle connections of one door make room for the other', async () => {
      // Fill the budget with wire connections, then let them go idle.
      const clients = await Promise.all(Array.from({ length: 3 }, () => mysql.createConnection({ host: '127.0.0.1', port: s.sluice.mysqlPort!, user: 'root', database: db })))
      await Promise.all(clients.map((c) => c.query('BEGIN')))
      await Promise.all(clients.map((c) => c.query('SELECT 1')))
      expect(Object.values(s.sluice.mysqlDoor!.poolStats())[0]!.total).toBe(3)
      await Promise.all(clients.map((c) => c.query('COMMIT')))
      await Promise.all(clients.map((c) => c.end()))
      // pool_timeout=0 would wait forever if the idle wire links kept their slots.
      const rows = await Promise.all(Array.from({ length: 3 }, (_, i) => prisma.$queryRaw`SELECT ${i} AS i, SLEEP(0.05) AS s`))
      expect(rows.map((r: any) => Number(r[0].i))).toEqual([0, 1, 2])
      expect(await mariadbConnectionCount(dbUrl)).toBeLessThanOrEqual(3)
    })
  })

  describe('when the budget is exhausted', () => {
    let s: TestSluice
    let prisma: any
    beforeAll(async () => {
      s = await startSluice({ origin: `${dbUrl}?connection_limit=2&pool_timeout=1`, apiKeys: ['k1'], mysql: {} })
      const { PrismaClient, withAccelerate } = await loadClient('7.10', 'mysql')
      prisma = new PrismaClient({ accelerateUrl: s.accelerateUrl('k1') }).$extends(withAccelerate())
    })
    afterAll(async () => s?.close())

    const wireClient = () => mysql.createConnection({ host: '127.0.0.1', port: s.sluice.mysqlPort!, user: 'root', database: db })

    it('wire transactions hold the budget: an HTTP waiter gets P2024, a wire waiter ERR 1040', async () => {
      const holders = await Promise.all([wireClient(), wireClient()])
      try {
        for (const c of holders) {
          await c.query('BEGIN')
          await c.query('SELECT 1')
        }
        expect(await mariadbConnectionCount(dbUrl)).toBe(2)
        const httpErr = await prisma.$queryRaw`SELECT 1`.catch((e: unknown) => e)
        expect(httpErr).toMatchObject({ code: 'P2024' })
        expect((httpErr as Error).message).toContain('connection_limit 2')
        const third = await wireClient()
        const wireErr = await third.query('SELECT 1').catch((e: unknown) => e)
        expect(wireErr).toMatchObject({ errno: 1040, sqlState: '08004' })
        expect((wireErr as Error).message).toContain('connection_limit 2, pool_timeout 1s')
        third.destroy()
      } finally {
        for (const c of holders) await c.query('COMMIT').catch(() => {})
        await Promise.all(holders.map((c) => c.end()))
      }
      // The budget recovers: both doors work again.
      expect(await prisma.$queryRaw`SELECT 2 AS two`).toEqual([{ two: 2 }])
      const again = await wireClient()
      const [rows] = (await again.query('SELECT 3 AS three')) as any
      expect(Number(rows[0].three)).toBe(3)
      await again.end()
    })

    it('HTTP transactions hold the budget: a wire waiter gets ERR 1040', async () => {
      const release = gate()
      const started: (() => void)[] = []
      const bothStarted = Promise.all([0, 1].map(() => new Promise<void>((r) => started.push(r))))
      const txs = [0, 1].map((i) =>
        prisma.$transaction(
          async (tx: any) => {
            await tx.$queryRaw`SELECT 1`
            started[i]!()
            await release.wait
          },
          { timeout: 10_000, maxWait: 5_000 },
        ),
      )
      try {
        await bothStarted
        expect(await mariadbConnectionCount(dbUrl)).toBe(2)
        const c = await wireClient()
        const err = await c.query('SELECT 1').catch((e: unknown) => e)
        expect(err).toMatchObject({ errno: 1040 })
        c.destroy()
      } finally {
        release.open()
        await Promise.all(txs)
      }
      const c = await wireClient()
      const [rows] = (await c.query('SELECT 4 AS four')) as any
      expect(Number(rows[0].four)).toBe(4)
      await c.end()
    })
  })

  describe('statement timeout on wire connections', () => {
    let s: TestSluice
    beforeAll(async () => {
      // One connection: every client below gets the same server connection.
      s = await startSluice({ origin: `${dbUrl}?connection_limit=1&pool_timeout=5`, apiKeys: ['k1'], mysql: {}, limits: { queryTimeoutMs: 500 } })
    })
    afterAll(async () => s?.close())

    it('a long statement through the wire door is killed at the query timeout (MariaDB 1969)', async () => {
      const c = await mysql.createConnection({ host: '127.0.0.1', port: s.sluice.mysqlPort!, user: 'root', database: db })
      try {
        const [rows] = (await c.query('SELECT @@max_statement_time AS t')) as any
        expect(Number(rows[0].t)).toBe(0.5)
        await expect(c.query('SELECT SLEEP(5)')).rejects.toMatchObject({ errno: 1969 })
      } finally {
        await c.end()
      }
    })

    it('the timeout is back after a client changed it and left (the connection is reset)', async () => {
      const a = await mysql.createConnection({ host: '127.0.0.1', port: s.sluice.mysqlPort!, user: 'root', database: db })
      await a.query('SET SESSION max_statement_time = 0')
      const [rows] = (await a.query('SELECT @@max_statement_time AS t')) as any
      expect(Number(rows[0].t)).toBe(0)
      await a.end()
      const b = await mysql.createConnection({ host: '127.0.0.1', port: s.sluice.mysqlPort!, user: 'root', database: db })
      try {
        const [after] = (await b.query('SELECT @@max_statement_time AS t')) as any
        expect(Number(after[0].t)).toBe(0.5)
        await expect(b.query('SELECT SLEEP(5)')).rejects.toMatchObject({ errno: 1969 })
      } finally {
        await b.end()
      }
    })

    it('COM_RESET_CONNECTION from the client restores the timeout', async () => {
      const c = await mariadb.createConnection({ host: '127.0.0.1', port: s.sluice.mysqlPort!, user: 'root', database: db })
      try {
        await c.query('BEGIN')
        await c.query('SET SESSION max_statement_time = 0')
        await c.reset()
        const [row] = (await c.query('SELECT @@max_statement_time AS t, @@in_transaction AS tx')) as any[]
        expect(Number(row.t)).toBe(0.5)
        expect(Number(row.tx)).toBe(0)
        await expect(c.query('SELECT SLEEP(5)')).rejects.toMatchObject({ errno: 1969 })
      } finally {
        await c.end()
      }
    })
  })
})
