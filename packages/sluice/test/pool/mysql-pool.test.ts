// The MySQL/MariaDB origin pool: settings from the URL, the connection budget seen from the
// database side, pool_timeout → P2024, and what the wire door relies on (acquire, session init).
import { connect, createServer } from 'node:net'
import pino from 'pino'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MysqlOriginPool, connectionConfig, defaultDatabase, isMysqlUrl, mysqlSessionInitSql } from '../../src/pool/mysql-pool.js'
import { OriginUnavailableError, PoolTimeoutError } from '../../src/pool/errors.js'
import { parseOriginUrl } from '../../src/pool/origin-url.js'
import { freePort } from '../../src/util/free-port.js'
import { MARIADB_ADMIN_URL, createMariadbDatabase, describeWithMariadb, dropMariadbDatabase, mariadbConnectionCount } from '../helpers/mariadb.js'
import { startSluice, type TestSluice } from '../helpers/sluice.js'
import { loadClient, mysqlDdl } from '../e2e/clients.js'

/* eslint-disable @typescript-eslint/no-explicit-any */
const silent = pino({ level: 'silent' })

describe('MySQL origin URLs', () => {
  it('recognises mysql:// and mariadb:// and maps the URL to connector settings', () => {
    expect(isMysqlUrl('mysql://h/db')).toBe(true)
    expect(isMysqlUrl('mariadb://h/db')).toBe(true)
    expect(isMysqlUrl('postgresql://h/db')).toBe(false)
    const s = parseOriginUrl('mysql://app:p%40ss@db.internal:3307/Shop?connection_limit=7&pool_timeout=0&sslaccept=strict&connect_timeout=5&socket=/run/mysqld/mysqld.sock')
    expect(s.connectionLimit).toBe(7)
    expect(s.poolTimeoutSeconds).toBe(0)
    expect(connectionConfig(s.url)).toEqual({
      host: 'db.internal',
      port: 3307,
      user: 'app',
      password: 'p@ss',
      database: 'Shop',
      ssl: { rejectUnauthorized: true },
      connectTimeout: 5000,
      socketPath: '/run/mysqld/mysqld.sock',
    })
    expect(defaultDatabase(s.url)).toBe('shop')
    expect(connectionConfig('mariadb://root@[::1]/x')).toMatchObject({ host: '::1', port: 3306, user: 'root', database: 'x' })
  })

  it('sets MariaDB max_statement_time in a comment MySQL ignores', () => {
    expect(mysqlSessionInitSql(10_000)).toBe('SET @sluice_statement_timeout = 10.000 /*M!, SESSION max_statement_time = 10.000 */')
    expect(mysqlSessionInitSql(0)).toContain('max_statement_time = 0 ')
  })
})

describeWithMariadb('MySQL origin pool', () => {
  let dbUrl: string
  beforeAll(async () => {
    dbUrl = await createMariadbDatabase('mysql_pool', mysqlDdl())
  })
  afterAll(async () => {
    if (dbUrl) await dropMariadbDatabase(dbUrl)
  })

  it('lends raw connections with the statement timeout set, and times out waiters with PoolTimeoutError', async () => {
    const pool = new MysqlOriginPool(parseOriginUrl(`${dbUrl}?connection_limit=1&pool_timeout=1`), { statementTimeoutMs: 400, logger: silent })
    try {
      const conn = await pool.acquire()
      const [row] = (await conn.query('SELECT @@max_statement_time AS t, DATABASE() AS d')) as any[]
      expect(Number(row.t)).toBe(0.4)
      expect(row.d).toBe(new URL(dbUrl).pathname.slice(1))
      // The server itself kills a statement past the timeout.
      await expect(conn.query('SELECT SLEEP(3)')).rejects.toMatchObject({ errno: 1969 })
      const waiting = await pool.acquire().catch((e: unknown) => e)
      expect(waiting).toBeInstanceOf(PoolTimeoutError)
      expect(pool.stats()).toMatchObject({ total: 1, limit: 1, timeouts: 1 })
      await conn.release()
      const again = await pool.acquire()
      await again.release()
    } finally {
      await pool.close()
    }
  })

  it('an unreachable origin is OriginUnavailableError, not a pool timeout; the pool recovers when it answers', async () => {
    const port = await freePort()
    const database = new URL(dbUrl).pathname.slice(1)
    const pool = new MysqlOriginPool(parseOriginUrl(`mysql://root@127.0.0.1:${port}/${database}?connection_limit=1&pool_timeout=5`), { statementTimeoutMs: 0, logger: silent })
    // The origin "comes back": a TCP relay to the real server on the port that refused.
    const relay = createServer((client) => {
      const server = connect(new URL(MARIADB_ADMIN_URL).port ? Number(new URL(MARIADB_ADMIN_URL).port) : 3306, new URL(MARIADB_ADMIN_URL).hostname)
      client.pipe(server).pipe(client)
      const close = () => (client.destroy(), server.destroy())
      client.on('error', close)
      server.on('error', close)
    })
    try {
      await expect(pool.acquire()).rejects.toBeInstanceOf(OriginUnavailableError)
      await new Promise<void>((resolve) => relay.listen(port, '127.0.0.1', resolve))
      let conn: Awaited<ReturnType<typeof pool.acquire>> | undefined
      for (let i = 0; i < 150 && !conn; i++) {
        conn = await pool.acquire().catch(async () => {
          await new Promise((r) => setTimeout(r, 100))
          return undefined
        })
      }
      expect(conn).toBeDefined()
      expect(await conn!.query('SELECT 1 AS one')).toEqual([{ one: 1 }])
      await conn!.release()
    } finally {
      await pool.close()
      relay.close()
    }
  }, 30_000)

  describe('through the HTTP door', () => {
    let s: TestSluice
    let prisma: any
    beforeAll(async () => {
      s = await startSluice({ origin: `${dbUrl}?connection_limit=2&pool_timeout=1`, apiKeys: ['k1'] })
      const { PrismaClient, withAccelerate } = await loadClient('7.10', 'mysql')
      prisma = new PrismaClient({ accelerateUrl: s.accelerateUrl('k1') }).$extends(withAccelerate())
    })
    afterAll(async () => s?.close())

    it('queues waiters and never opens more than connection_limit connections', async () => {
      let peak = 0
      let done = false
      const watcher = (async () => {
        while (!done) {
          peak = Math.max(peak, await mariadbConnectionCount(dbUrl))
          await new Promise((r) => setTimeout(r, 25))
        }
      })()
      // 6 queries of 0.1 s through 2 connections: they queue, none waits near pool_timeout (1 s)
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => prisma.$queryRaw`SELECT ${i} AS i, SLEEP(0.1) AS s`))
      done = true
      await watcher
      expect(results.map((r: any) => Number(r[0].i))).toEqual([0, 1, 2, 3, 4, 5])
      expect(peak).toBeGreaterThan(0)
      expect(peak).toBeLessThanOrEqual(2)
      expect(s.sluice.origins[0]!.stats().total).toBeLessThanOrEqual(2)
    })

    it('a waiter past pool_timeout gets P2024 naming the limits; the pool recovers', async () => {
      const hold = () => prisma.$queryRaw`SELECT SLEEP(2.5) AS s`.then((r: unknown) => r)
      const holders = [hold(), hold()]
      await new Promise((r) => setTimeout(r, 150))
      const err = await prisma.$queryRaw`SELECT 1`.catch((e: unknown) => e)
      expect(err).toMatchObject({ code: 'P2024' })
      expect((err as Error).message).toContain('connection_limit 2')
      await Promise.all(holders)
      expect(await prisma.$queryRaw`SELECT 2 AS two`).toEqual([{ two: 2 }])
    })

    it('interactive transactions hold a slot and give it back', async () => {
      await prisma.$transaction(async (tx: any) => {
        await tx.$queryRaw`SELECT 1`
      })
      const st = s.sluice.origins[0]!.stats()
      expect(st.total - st.idle).toBe(0)
    })
  })
})
