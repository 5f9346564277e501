// The origin's connection budget: never more than connection_limit server connections from one
// Sluice, queued waiters, and a clear error once pool_timeout passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import pino from 'pino'
import { adminQuery, connectionCount, createDatabase, describeWithPostgres } from '../helpers/postgres.js'
import { OriginPool } from '../../src/pool/origin-pool.js'
import { startSluice, type TestSluice } from '../helpers/sluice.js'
import { loadClient } from '../e2e/clients.js'
import { defaultConnectionLimit, parseOriginUrl } from '../../src/pool/origin-url.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

describe('origin URL settings', () => {
  it('reads connection_limit and pool_timeout and hides them from the driver', () => {
    const s = parseOriginUrl('postgresql://u:p@db:5432/app?connection_limit=7&pool_timeout=3&sslmode=require&schema=tenant1')
    expect(s.connectionLimit).toBe(7)
    expect(s.poolTimeoutSeconds).toBe(3)
    expect(s.schema).toBe('tenant1')
    expect(s.url).toBe('postgresql://u:p@db:5432/app?sslmode=require')
  })
  it('defaults to physical CPUs × 2 + 1 and 10 s', () => {
    const s = parseOriginUrl('postgresql://db/app')
    expect(s.connectionLimit).toBe(defaultConnectionLimit())
    expect(s.connectionLimit % 2).toBe(1)
    expect(s.poolTimeoutSeconds).toBe(10)
  })
  it('accepts pool_timeout=0 (wait forever) and rejects nonsense', () => {
    expect(parseOriginUrl('postgresql://db/app?pool_timeout=0').poolTimeoutSeconds).toBe(0)
    expect(() => parseOriginUrl('postgresql://db/app?connection_limit=0')).toThrow(/connection_limit/)
    expect(() => parseOriginUrl('postgresql://db/app?pool_timeout=soon')).toThrow(/pool_timeout/)
  })
})

describeWithPostgres('origin pool budget', () => {
  let s: TestSluice
  let dbUrl: string
  let prisma: any
  beforeAll(async () => {
    dbUrl = await createDatabase('pool', 'SELECT 1')
    s = await startSluice({ origin: `${dbUrl}?connection_limit=2&pool_timeout=1`, apiKeys: ['k1'] })
    const { PrismaClient, withAccelerate } = await loadClient('7.10')
    prisma = new PrismaClient({ accelerateUrl: s.accelerateUrl('k1') }).$extends(withAccelerate())
  })
  afterAll(async () => s?.close())

  it('queues waiters and never opens more than connection_limit connections', async () => {
    let peak = 0
    let done = false
    const watcher = (async () => {
      while (!done) {
        peak = Math.max(peak, await connectionCount(dbUrl))
        await new Promise((r) => setTimeout(r, 25))
      }
    })()
    // 8 queries of 0.2 s through 2 connections: they queue, none waits past pool_timeout (1 s)
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => prisma.$queryRaw`SELECT ${i}::int AS i, pg_sleep(0.2)::text AS s`))
    done = true
    await watcher
    expect(results.map((r: any) => r[0].i)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    expect(peak).toBeGreaterThan(0)
    expect(peak).toBeLessThanOrEqual(2)
    expect(s.sluice.origins[0]!.stats().total).toBeLessThanOrEqual(2)
  })

  it('a waiter past pool_timeout gets P2024 naming the limits; the pool recovers', async () => {
    // PrismaPromises are lazy: .then() starts them now.
    const hold = (ms: number) => prisma.$queryRaw`SELECT pg_sleep(${ms / 1000})::text AS s`.then((r: unknown) => r)
    const holders = [hold(2500), hold(2500)]
    await new Promise((r) => setTimeout(r, 150))
    const started = Date.now()
    const err = await prisma.$queryRaw`SELECT 1`.catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'P2024' })
    expect((err as Error).message).toContain('connection_limit 2')
    expect((err as Error).message).toContain('pool_timeout 1s')
    expect(Date.now() - started).toBeGreaterThanOrEqual(900)
    await Promise.all(holders)
    expect(s.sluice.origins[0]!.stats().timeouts).toBeGreaterThanOrEqual(1)
    expect(await prisma.$queryRaw`SELECT 2::int AS two`).toEqual([{ two: 2 }])
  })

  it('interactive transactions hold a slot and give it back', async () => {
    await prisma.$transaction(async (tx: any) => {
      await tx.$queryRaw`SELECT 1`
      expect(s.sluice.origins[0]!.stats().idle).toBeLessThanOrEqual(1)
    })
    const st = s.sluice.origins[0]!.stats()
    expect(st.total - st.idle).toBe(0)
  })
})

describeWithPostgres('origin search_path', () => {
  it('notices when the origin resolves unqualified names outside the schema Sluice uses', async () => {
    const url = await createDatabase('search_path_origin', 'CREATE SCHEMA app')
    const db = new URL(url).pathname.slice(1)
    const pools: OriginPool[] = []
    const pool = (u: string) => {
      const p = new OriginPool(parseOriginUrl(u), { statementTimeoutMs: 0, logger: pino({ level: 'silent' }) })
      pools.push(p)
      return p
    }
    try {
      expect(await pool(url).searchPathMismatch()).toBeUndefined()
      await adminQuery('postgres', `ALTER DATABASE "${db}" SET search_path = app, public`)
      expect(await pool(url).searchPathMismatch()).toEqual(['app', 'public'])
      await adminQuery('postgres', `ALTER DATABASE "${db}" SET search_path = app`)
      expect(await pool(url).searchPathMismatch()).toEqual(['app'])
      // ?schema= says where names resolve (and sets it on Sluice's own connections)
      expect(await pool(`${url}?schema=app`).searchPathMismatch()).toBeUndefined()
    } finally {
      await Promise.all(pools.map((p) => p.close()))
    }
  })
})
