// Structured logs: every failed request or statement gives exactly one JSON line with its code, the
// request id the client saw (cf-ray), the tenant and the door; stacks only for internal failures.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/observability/logger.js'
import { createDatabase, describeWithPostgres } from '../helpers/postgres.js'
import { startSluice, type TestSluice } from '../helpers/sluice.js'

type Line = Record<string, unknown>

/** A logger whose lines land in an array, parsed. */
function capture(level = 'info') {
  const lines: Line[] = []
  const logger = createLogger(level, { write: (s: string) => void lines.push(JSON.parse(s)) })
  return { logger, lines, coded: (code: string) => lines.filter((l) => l.code === code) }
}

const raw = (sql: string) => JSON.stringify({ operation: 'queryRaw', plan: { type: 'query', args: { type: 'rawSql', sql, args: [], argTypes: [] } }, params: {} })

async function post(s: TestSluice, body: string, key?: string) {
  const res = await fetch(`${s.httpUrl}/query`, { method: 'POST', headers: key ? { authorization: `Bearer ${key}` } : {}, body })
  return { status: res.status, ray: res.headers.get('cf-ray')!, json: (await res.json()) as { code: string } }
}

describe('logs without a database', () => {
  it('an internal failure (origin unreachable) is one error line with the stack; the answer has none', async () => {
    const log = capture()
    const s = await startSluice({ origin: 'postgresql://postgres@127.0.0.1:1/nowhere?connection_limit=1&pool_timeout=2', apiKeys: ['k'], logger: log.logger })
    try {
      const r = await post(s, raw('SELECT 1'), 'k')
      expect(r.json.code).toBe('P6008')
      const lines = log.coded('P6008')
      expect(lines).toHaveLength(1)
      expect(lines[0]).toMatchObject({ level: 50, requestId: r.ray, door: 'http', tenant: 'default', operation: 'query', status: 503 })
      expect(JSON.stringify(lines[0]!.err)).toContain('stack')
    } finally {
      await s.close()
    }
  })
})

describeWithPostgres('logs', () => {
  let s: TestSluice
  let url: string
  const log = capture()
  beforeAll(async () => {
    url = await createDatabase('logs', 'CREATE TABLE t (id int primary key)')
    s = await startSluice({ origin: url, apiKeys: ['good-key'], pg: {}, logger: log.logger })
  })
  afterAll(() => s?.close())

  it('HTTP: one line per refused request, with its code and the cf-ray id, no stack and no key', async () => {
    const bad = await post(s, raw('SELECT 1'), 'wrong-key')
    expect(bad.status).toBe(401)
    const invalid = await post(s, '{not json', 'good-key')
    expect(invalid.json.code).toBe('P6005')
    const dbError = await post(s, raw('SELECT * FROM no_such_table'), 'good-key')
    expect(dbError.status).toBe(400)
    const ok = await post(s, raw('SELECT 1'), 'good-key')
    expect(ok.status).toBe(200)

    expect(log.coded('P6002')).toEqual([expect.objectContaining({ level: 30, requestId: bad.ray, door: 'http', operation: 'query', status: 401 })])
    expect(log.coded('P6002')[0]!.tenant).toBeUndefined()
    expect(log.coded('P6005')).toEqual([expect.objectContaining({ requestId: invalid.ray, tenant: 'default', door: 'http' })])
    expect(log.coded(dbError.json.code)).toEqual([expect.objectContaining({ requestId: dbError.ray, tenant: 'default' })])
    // Nothing for the request that succeeded, and no line names another request's id twice.
    expect(log.lines.filter((l) => l.requestId === ok.ray)).toEqual([])
    const http = log.lines.filter((l) => l.door === 'http')
    expect(new Set(http.map((l) => l.requestId)).size).toBe(http.length)
    const text = JSON.stringify(http)
    expect(text).not.toContain('wrong-key')
    expect(text).not.toContain('good-key')
    expect(text).not.toMatch(/"stack"|"err"/)
  })

  it('wire door: one line per error with its SQLSTATE and the session id', async () => {
    const client = new pg.Client({ connectionString: s.pgUrl(url) })
    await client.connect()
    try {
      await expect(client.query('SELEC 1')).rejects.toMatchObject({ code: '42601' })
      await expect(client.query('INSERT INTO t VALUES (1), (1)')).rejects.toMatchObject({ code: '23505' })
      expect((await client.query('SELECT count(*)::int AS n FROM t')).rows).toEqual([{ n: 0 }])
    } finally {
      await client.end()
    }
    const syntax = log.coded('42601')
    expect(syntax).toEqual([expect.objectContaining({ level: 30, door: 'pg', tenant: 'default', requestId: expect.stringMatching(/^[0-9a-f]{14}-TST$/) })])
    const unique = log.coded('23505')
    expect(unique).toHaveLength(1)
    // Both statements ran on the same session: the same id.
    expect(unique[0]!.requestId).toBe(syntax[0]!.requestId)
    expect(JSON.stringify(unique)).not.toMatch(/"stack"|"err"|Key \(id\)/)

    const stranger = new pg.Client({ connectionString: s.pgUrl(url).replace(/\/[^/?]+(\?|$)/, '/no_such_db$1') })
    await expect(stranger.connect()).rejects.toMatchObject({ code: '28000' })
    expect(log.coded('28000')).toEqual([expect.objectContaining({ door: 'pg', requestId: expect.stringMatching(/-TST$/) })])
    expect(log.coded('28000')[0]!.requestId).not.toBe(syntax[0]!.requestId)
  })
})
