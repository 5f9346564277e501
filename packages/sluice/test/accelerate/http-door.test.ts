// Behaviour of the HTTP door towards bad input and its limits: every failure gets its documented
// code, nothing leaks, and the next good request still succeeds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminQuery, createDatabase, describeWithPostgres } from '../helpers/postgres.js'
import { startSluice, type TestSluice } from '../helpers/sluice.js'
import { ddl, loadClient } from '../e2e/clients.js'

/* eslint-disable @typescript-eslint/no-explicit-any */
async function prismaFor(s: TestSluice, key = 'k1'): Promise<any> {
  const { PrismaClient, withAccelerate } = await loadClient('7.10')
  return new PrismaClient({ accelerateUrl: s.accelerateUrl(key) }).$extends(withAccelerate())
}

async function post(s: TestSluice, path: string, body: string | undefined, headers: Record<string, string> = {}) {
  const res = await fetch(`${s.httpUrl}${path}`, {
    method: 'POST',
    headers: { authorization: 'Bearer k1', 'content-type': 'application/json', 'prisma-engine-hash': '7.10.1', ...headers },
    ...(body !== undefined ? { body } : {}),
  })
  const text = await res.text()
  return { status: res.status, headers: res.headers, text, json: text ? JSON.parse(text) : undefined }
}

const RAW_SELECT_ONE = JSON.stringify({
  operation: 'queryRaw',
  plan: { type: 'query', args: { type: 'rawSql', sql: 'SELECT 1::int AS one', args: [], argTypes: [] } },
  params: {},
})

describeWithPostgres('HTTP door: routes, auth, bad input', () => {
  let s: TestSluice
  let dbUrl: string
  beforeAll(async () => {
    dbUrl = await createDatabase('door', ddl())
    s = await startSluice({ origin: dbUrl, apiKeys: ['k1', 'k1-second'], limits: { maxRequestSize: 64 * 1024 } })
  })
  afterAll(async () => s?.close())

  async function expectStillServing() {
    const ok = await post(s, '/query', RAW_SELECT_ONE)
    expect(ok.status).toBe(200)
    expect(ok.json.data.rows).toEqual([[1]])
  }

  it('GET /health answers without a key', async () => {
    const res = await fetch(`${s.httpUrl}/health`)
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ status: 'ok' })
  })

  it('GET /connection-info describes the origin for the query compiler', async () => {
    const res = await fetch(`${s.httpUrl}/connection-info`, { headers: { authorization: 'Bearer k1', 'prisma-engine-hash': '7.10.1' } })
    expect(res.status).toBe(200)
    const body = (await res.json()) as any
    expect(body.provider).toBe('postgres')
    expect(body.connectionInfo.supportsRelationJoins).toBe(true)
  })

  it('runs a raw plan, and every key of the tenant works', async () => {
    await expectStillServing()
    const second = await post(s, '/query', RAW_SELECT_ONE, { authorization: 'Bearer k1-second' })
    expect(second.status).toBe(200)
    expect(second.headers.get('cf-ray')).toMatch(/^[0-9a-f]+-TST$/)
  })

  it('missing or invalid API key → P6002', async () => {
    const missing = await post(s, '/query', RAW_SELECT_ONE, { authorization: '' })
    expect(missing.status).toBe(401)
    expect(missing.json.code).toBe('P6002')
    const wrong = await post(s, '/query', RAW_SELECT_ONE, { authorization: 'Bearer nope' })
    expect(wrong.status).toBe(401)
    expect(wrong.json).toMatchObject({ code: 'P6002', message: 'Invalid API key' })
    expect(wrong.headers.get('prisma-error-code')).toBe('P6002')
    // a prefix of a valid key is not a valid key
    expect((await post(s, '/query', RAW_SELECT_ONE, { authorization: 'Bearer k' })).json.code).toBe('P6002')
    await expectStillServing()
  })

  it('the real client surfaces a bad key as P6002', async () => {
    const prisma = await prismaFor(s, 'not-a-key')
    await expect(prisma.user.findMany()).rejects.toMatchObject({ code: 'P6002' })
  })

  it('malformed JSON and invalid bodies → P6005, then the next request succeeds', async () => {
    const bad = await post(s, '/query', '{"operation": "findMany", "plan": ')
    expect(bad.status).toBe(400)
    expect(bad.json).toMatchObject({ code: 'P6005', message: 'Request body is not valid JSON' })
    const shape = await post(s, '/query', JSON.stringify({ operation: 'findMany', plan: 'nope', params: {} }))
    expect(shape.json.code).toBe('P6005')
    expect(shape.json.message).toContain('plan')
    const garbagePlan = await post(s, '/query', JSON.stringify({ operation: 'findMany', plan: { type: 'bogus' }, params: {} }))
    expect(garbagePlan.status).toBeGreaterThanOrEqual(400)
    expect(garbagePlan.json.code).toMatch(/^P/)
    await expectStillServing()
  })

  it('a body over the limit → 413 P6005', async () => {
    const huge = JSON.stringify({ operation: 'queryRaw', plan: {}, params: { x: 'a'.repeat(100 * 1024) } })
    const res = await post(s, '/query', huge)
    expect(res.status).toBe(413)
    expect(res.json.code).toBe('P6005')
    expect(res.json.message).toContain('64KB')
    await expectStillServing()
  })

  it('unknown route → 404, wrong method → 405, both with a P-code', async () => {
    const unknown = await post(s, '/nope', '{}')
    expect(unknown.status).toBe(404)
    expect(unknown.json.code).toBe('P6000')
    const wrong = await fetch(`${s.httpUrl}/query`, { headers: { authorization: 'Bearer k1' } })
    expect(wrong.status).toBe(405)
    expect(wrong.headers.get('allow')).toBe('POST')
    expect(((await wrong.json()) as any).code).toBe('P6000')
    await expectStillServing()
  })

  it('unknown transaction id → P2028', async () => {
    for (const op of ['query', 'commit', 'rollback']) {
      const res = await post(s, `/transaction/00000000-0000-0000-0000-000000000000/${op}`, op === 'query' ? RAW_SELECT_ONE : undefined)
      expect(res.status).toBe(404)
      expect(res.json.code).toBe('P2028')
    }
    await expectStillServing()
  })

  it('unsupported client version → P6006 naming the supported ones', async () => {
    for (const version of ['6.19.0', '7.8.0', '8.0.0', 'garbage']) {
      const res = await post(s, '/query', RAW_SELECT_ONE, { 'prisma-engine-hash': version })
      expect(res.status).toBe(400)
      expect(res.json.code).toBe('P6006')
      expect(res.json.message).toContain('7.10.x')
      expect(res.json.message).toContain('7.9.x')
    }
    const info = await fetch(`${s.httpUrl}/connection-info`, { headers: { authorization: 'Bearer k1', 'prisma-engine-hash': '6.19.0' } })
    expect(((await info.json()) as any).code).toBe('P6006')
    await expectStillServing()
  })

  it('/invalidate validates its body', async () => {
    expect((await post(s, '/invalidate', JSON.stringify({ tags: ['a_b', 'C1'] }))).status).toBe(200)
    expect((await post(s, '/invalidate', JSON.stringify({ tags: 'all' }))).status).toBe(200)
    for (const bad of [{ tags: [] }, { tags: ['no-dash'] }, { tags: ['a', 'b', 'c', 'd', 'e', 'f'] }, { tags: 'some' }, {}]) {
      const res = await post(s, '/invalidate', JSON.stringify(bad))
      expect(res.status).toBe(400)
      expect(res.json.code).toBe('P6005')
    }
    expect((await post(s, '/invalidate', JSON.stringify({ tags: 'all' }), { authorization: 'Bearer bad' })).json.code).toBe('P6002')
  })

  it('database errors keep their Prisma code and leak no stack or connection string', async () => {
    const prisma = await prismaFor(s)
    await prisma.user.create({ data: { email: 'dup@x.io' } })
    const err = await prisma.user.create({ data: { email: 'dup@x.io' } }).catch((e: unknown) => e)
    expect(err).toMatchObject({ code: 'P2002' })
    const raw = await post(
      s,
      '/query',
      JSON.stringify({ operation: 'queryRaw', plan: { type: 'query', args: { type: 'rawSql', sql: 'SELECT * FROM no_such_table', args: [], argTypes: [] } }, params: {} }),
    )
    expect(raw.status).toBe(400)
    expect(raw.text).not.toMatch(/node_modules|\.js:\d+|\n\s+at |postgres(ql)?:\/\//)
  })

  it('a malformed HTTP request does not take the server down', async () => {
    const net = await import('node:net')
    await new Promise<void>((resolve) => {
      const sock = net.connect(s.port, '127.0.0.1', () => sock.write('GARBAGE \x00\x01 HTTP/9\r\n\r\n'))
      sock.on('data', () => {})
      sock.on('close', () => resolve())
      sock.on('error', () => resolve())
    })
    await expectStillServing()
  })
})

describe('HTTP door without a database', () => {
  it('an unreachable origin → P6008 and the server keeps answering', async () => {
    const s = await startSluice({ origin: 'postgresql://postgres@127.0.0.1:1/nowhere?connection_limit=2&pool_timeout=2', apiKeys: ['k1'] })
    try {
      const res = await post(s, '/query', RAW_SELECT_ONE)
      expect(res.status).toBe(503)
      expect(res.json.code).toBe('P6008')
      expect(res.text).not.toContain('127.0.0.1:1')
      const prisma = await prismaFor(s)
      await expect(prisma.$queryRaw`SELECT 1`).rejects.toMatchObject({ code: 'P6008' })
      expect((await fetch(`${s.httpUrl}/health`)).status).toBe(200)
    } finally {
      await s.close()
    }
  })
})

describeWithPostgres('HTTP door: tenants', () => {
  let s: TestSluice
  let urlA: string
  let urlB: string
  beforeAll(async () => {
    urlA = await createDatabase('tenant_a', 'CREATE TABLE marker (name text); INSERT INTO marker VALUES (\'A\')')
    urlB = await createDatabase('tenant_b', 'CREATE TABLE marker (name text); INSERT INTO marker VALUES (\'B\')')
    s = await startSluice({ tenants: [{ name: 'a', origin: urlA, apiKeys: ['key-a'] }, { name: 'b', origin: urlB, apiKeys: ['key-b'] }] })
  })
  afterAll(async () => s?.close())

  it('each key reaches its own origin', async () => {
    const { PrismaClient, withAccelerate } = await loadClient('7.10')
    const a = new PrismaClient({ accelerateUrl: s.accelerateUrl('key-a') }).$extends(withAccelerate())
    const b = new PrismaClient({ accelerateUrl: s.accelerateUrl('key-b') }).$extends(withAccelerate())
    expect(await a.$queryRaw`SELECT name FROM marker`).toEqual([{ name: 'A' }])
    expect(await b.$queryRaw`SELECT name FROM marker`).toEqual([{ name: 'B' }])
  })

  it("one tenant cannot touch another tenant's transaction", async () => {
    const start = await post(s, '/transaction/start', JSON.stringify({ maxWait: 2000, timeout: 5000 }), { authorization: 'Bearer key-a' })
    expect(start.status).toBe(200)
    const id = start.json.id as string
    expect(start.headers.get('prisma-transaction-id')).toBe(id)
    const hijack = await post(s, `/transaction/${id}/query`, RAW_SELECT_ONE, { authorization: 'Bearer key-b' })
    expect(hijack.json.code).toBe('P2028')
    expect((await post(s, `/transaction/${id}/commit`, undefined, { authorization: 'Bearer key-b' })).json.code).toBe('P2028')
    expect((await post(s, `/transaction/${id}/query`, RAW_SELECT_ONE, { authorization: 'Bearer key-a' })).status).toBe(200)
    expect((await post(s, `/transaction/${id}/rollback`, undefined, { authorization: 'Bearer key-a' })).status).toBe(200)
  })

  it('keeps the databases apart (sanity check on the origin side)', async () => {
    const rows = await adminQuery(new URL(urlA).pathname.slice(1), 'SELECT name FROM marker')
    expect(rows.rows).toEqual([{ name: 'A' }])
  })
})
