// X-Capture-Telemetry: query — a Prisma client with query logging on gets a `query` event for every
// statement Sluice ran for it (none for a cache hit), through the real client and extension.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { queryLogs, withQueryLog } from '../../src/accelerate/query-log.js'
import { createDatabase, describeWithPostgres } from '../helpers/postgres.js'
import { startSluice, type TestSluice } from '../helpers/sluice.js'
import { ddl, loadClient } from '../e2e/clients.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

describe('query log encoding', () => {
  it('adds extensions.logs to an encoded answer, leaving the answer itself as it was', () => {
    const payload = Buffer.from(JSON.stringify({ data: [{ id: 1 }] }))
    const copy = Buffer.from(payload)
    const out = JSON.parse(
      withQueryLog(payload, [{ sql: 'SELECT $1, $2, $3', args: [7n, new Uint8Array([104, 105]), 'x'], startedAt: 1_700_000_000_123, durationMs: 1.23456 }]).toString(),
    )
    expect(payload).toEqual(copy)
    expect(out.data).toEqual([{ id: 1 }])
    expect(out.extensions.logs).toEqual([
      { level: 'query', timestamp: [1_700_000_000, 123_000_000], attributes: { query: 'SELECT $1, $2, $3', params: '["7","aGk=","x"]', duration_ms: 1.235 } },
    ])
    expect(queryLogs([])).toEqual([])
  })
})

describeWithPostgres('query log through Sluice (real client)', () => {
  let s: TestSluice
  beforeAll(async () => {
    const url = await createDatabase('query_log', ddl())
    s = await startSluice({ origin: url, apiKeys: ['k1'] })
  })
  afterAll(async () => s?.close())

  it('emits a query event per statement run; a cache hit runs none', async () => {
    const { PrismaClient, withAccelerate } = await loadClient('7.10')
    const base = new PrismaClient({ accelerateUrl: s.accelerateUrl('k1'), log: [{ emit: 'event', level: 'query' }] })
    const events: { query: string; params: string; duration: number; timestamp: Date }[] = []
    base.$on('query', (e: any) => events.push(e))
    const prisma = base.$extends(withAccelerate())
    try {
      const before = Date.now()
      const user = await prisma.user.create({ data: { email: 'log@x.io', name: 'L', posts: { create: [{ title: 't', slug: 'log-1' }] } } })
      // a nested create: several statements, each logged with its parameters
      expect(events.length).toBeGreaterThanOrEqual(2)
      expect(events.some((e) => /INSERT INTO "public"\."User"/.test(e.query) && e.params.includes('log@x.io'))).toBe(true)
      expect(events.some((e) => /INSERT INTO "public"\."Post"/.test(e.query))).toBe(true)
      for (const e of events) {
        expect(e.duration).toBeGreaterThanOrEqual(0)
        expect(e.timestamp.getTime()).toBeGreaterThanOrEqual(before - 1000)
      }

      events.length = 0
      const read = () => prisma.user.findUnique({ where: { id: user.id }, cacheStrategy: { ttl: 60 } }).withAccelerateInfo()
      const miss = await read()
      expect(miss.info.cacheStatus).toBe('miss')
      expect(events).toHaveLength(1)
      expect(events[0]!.query).toMatch(/SELECT .* FROM "public"\."User"/)
      expect(JSON.parse(events[0]!.params)).toContain(user.id)
      const hit = await read()
      expect(hit.info.cacheStatus).toBe('ttl')
      expect(hit.data).toEqual(miss.data)
      expect(events).toHaveLength(1) // nothing ran for the hit

      // inside an interactive transaction too
      events.length = 0
      await prisma.$transaction(async (tx: any) => {
        await tx.user.findMany({ where: { email: 'log@x.io' } })
      })
      expect(events.some((e) => /SELECT .* FROM "public"\."User"/.test(e.query))).toBe(true)
    } finally {
      await prisma.$disconnect()
    }
  })

  it('a client without query logging gets no query events, and the entry a logging client filled serves it unchanged', async () => {
    const { PrismaClient, withAccelerate } = await loadClient('7.10')
    const logging = new PrismaClient({ accelerateUrl: s.accelerateUrl('k1'), log: [{ emit: 'event', level: 'query' }] })
    const seen: unknown[] = []
    logging.$on('query', (e: unknown) => seen.push(e))
    const quiet = new PrismaClient({ accelerateUrl: s.accelerateUrl('k1') })
    const quietEvents: unknown[] = []
    quiet.$on('query', (e: unknown) => quietEvents.push(e))
    const a = logging.$extends(withAccelerate())
    const b = quiet.$extends(withAccelerate())
    try {
      const q = (c: any) => c.user.findMany({ where: { email: 'nobody@x.io' }, cacheStrategy: { ttl: 60 } }).withAccelerateInfo()
      expect((await q(a)).info.cacheStatus).toBe('miss')
      expect(seen).toHaveLength(1)
      const fromCache = await q(b)
      expect(fromCache.info.cacheStatus).toBe('ttl')
      expect(fromCache.data).toEqual([])
      await b.user.count()
      expect(quietEvents).toHaveLength(0)
    } finally {
      await a.$disconnect()
      await b.$disconnect()
    }
  })
})
