// SIGHUP: `sluice start` re-reads its config file and applies keys and wire cache rules without
// dropping connections; a bad file is refused with the field named and the running config stays.
import { createHash } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createDatabase, describeWithPostgres } from '../helpers/postgres.js'
import { SLUICE_BIN, spawnNode, type Spawned } from './process.js'

const sha = (key: string) => `sha256:${createHash('sha256').update(key).digest('hex')}`
const RAW = JSON.stringify({ operation: 'queryRaw', plan: { type: 'query', args: { type: 'rawSql', sql: 'SELECT name FROM items', args: [], argTypes: [] } }, params: {} })

describeWithPostgres('sluice start: SIGHUP reload', () => {
  let db: string
  let file: string
  let p: Spawned
  let httpUrl: string
  let metricsUrl: string
  let wireUrl: string

  const write = (config: unknown) => writeFileSync(file, JSON.stringify(config, null, 2))
  const tenant = (apiKeys: unknown[]) => ({ name: 'app', origin: db, apiKeys })
  const query = async (key: string) => {
    const res = await fetch(`${httpUrl}/query`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: RAW })
    return { status: res.status, ray: res.headers.get('cf-ray')!, body: (await res.json()) as { data?: unknown; code?: string } }
  }
  /** `sluice_requests_total` of wire statements with this cache status. */
  const wireCount = async (status: string) => {
    const text = await (await fetch(metricsUrl)).text()
    const m = new RegExp(`^sluice_requests_total\\{door="pg",operation="statement",status="${status}",code=""\\} (\\d+)$`, 'm').exec(text)
    return Number(m?.[1] ?? 0)
  }
  const RELOADED = 'configuration reloaded'
  const NEEDS_RESTART = 'configuration reloaded; these changes need a restart and are ignored until then'
  const REFUSED = 'configuration reload refused; the running configuration stays'
  /** Log lines (parsed) whose message is exactly `msg`. */
  const logLines = (msg: string) =>
    p.stderr().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === msg)
  const until = async (done: () => boolean, what: string) => {
    for (const deadline = Date.now() + 15_000; !done(); await new Promise((r) => setTimeout(r, 50))) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\nstderr: ${p.stderr()}`)
    }
  }
  /**
   * Sends one SIGHUP and returns the log line with `msg` it produced (the first one after those
   * already there), and, when asked, also waits for its line with `alsoMsg`.
   */
  const hup = async (msg: string, alsoMsg?: string) => {
    const before = logLines(msg).length
    const alsoBefore = alsoMsg === undefined ? 0 : logLines(alsoMsg).length
    p.child.kill('SIGHUP')
    await until(() => logLines(msg).length > before && (alsoMsg === undefined || logLines(alsoMsg).length > alsoBefore), `"${msg}" after SIGHUP`)
    return [logLines(msg)[before]!, alsoMsg === undefined ? undefined : logLines(alsoMsg)[alsoBefore]!] as const
  }

  beforeAll(async () => {
    db = await createDatabase('cli_reload', "CREATE TABLE items (id int primary key, name text); INSERT INTO items VALUES (1, 'one')")
    file = join(mkdtempSync(join(tmpdir(), 'sluice-reload-')), 'sluice.json')
    write({ logLevel: 'info', pg: { cache: 'off' }, tenants: [tenant([sha('old-key')])] })
    p = spawnNode([SLUICE_BIN, 'start', '--config', file, '--host', '127.0.0.1', '--http-port', '0', '--pg-port', '0', '--admin-port', '0'], { SLUICE_API_KEYS: '', SLUICE_CONFIG: '' })
    await p.waitFor(/accelerateUrl=/)
    httpUrl = `http://127.0.0.1:${p.stdout().match(/HTTP door .* on http:\/\/127\.0\.0\.1:(\d+)/)![1]}`
    metricsUrl = p.stdout().match(/metrics: +(http:\S+\/metrics)/)![1]!
    wireUrl = p.stdout().match(/app: (postgresql:\S+)/)![1]!
  })
  afterAll(() => {
    if (p && p.child.exitCode === null) p.child.kill('SIGKILL')
  })

  it('applies new keys and cache rules; open wire connections carry on; a bad file changes nothing', async () => {
    expect(wireUrl).toMatch(/^postgresql:\/\/postgres@127\.0\.0\.1:\d+\/cli_reload_\d+$/)
    expect(await query('old-key')).toMatchObject({ status: 200, body: { data: { rows: [['one']] } } })
    const client = new pg.Client({ connectionString: wireUrl })
    await client.connect()
    try {
      expect((await client.query('SELECT name FROM items')).rows).toEqual([{ name: 'one' }])
      const uncached = await wireCount('none')
      expect(uncached).toBeGreaterThanOrEqual(1)
      expect(await wireCount('miss')).toBe(0)

      // Revoke the old key, add a new one (in the object form `keys create` writes), cache items.
      write({ logLevel: 'info', pg: { cache: 'off', rules: [{ table: 'items', ttl: '60s' }] }, tenants: [tenant([{ hash: sha('new-key'), label: 'rotated' }])] })
      const [reloaded] = await hup(RELOADED)
      expect(reloaded.applied).toEqual(['keys', 'pg.rules'])

      const revoked = await query('old-key')
      expect(revoked).toMatchObject({ status: 401, body: { code: 'P6002' } })
      expect(await query('new-key')).toMatchObject({ status: 200, body: { data: { rows: [['one']] } } })

      // The connection opened before the reload still works, and the rule now caches its read.
      expect((await client.query('SELECT name FROM items')).rows).toEqual([{ name: 'one' }])
      expect(await wireCount('miss')).toBe(1)
      expect((await client.query('SELECT name FROM items')).rows).toEqual([{ name: 'one' }])
      expect(await wireCount('ttl')).toBe(1)
      expect(await wireCount('none')).toBe(uncached)

      // A bad file: refused with the field named; the running keys stay.
      write({ logLevel: 'info', tenants: [tenant(['new-key-in-clear'])] })
      const [refused] = await hup(REFUSED)
      expect(String(refused.error)).toContain('tenants[0].apiKeys[0]')
      expect(await query('new-key')).toMatchObject({ status: 200 })

      // A change that needs a restart is reported and ignored; the rest applies.
      write({ logLevel: 'info', limits: { queryTimeout: '3s' }, pg: { cache: 'off' }, tenants: [tenant([sha('new-key'), sha('third-key')])] })
      const [restart, applied] = await hup(NEEDS_RESTART, RELOADED)
      expect(restart.fields).toEqual(['limits.queryTimeout'])
      expect(applied!.applied).toEqual(['keys', 'pg.rules'])
      expect(await query('third-key')).toMatchObject({ status: 200 })
      expect((await client.query('SELECT 1 AS still_connected')).rows).toEqual([{ still_connected: 1 }])

      // The log level reloads: refused requests (info) stop being logged at warn.
      const logged = (ray: string) => p.stderr().split('\n').filter((l) => l.includes(`"requestId":"${ray}"`))
      expect(logged(revoked.ray), p.stderr()).toEqual([expect.stringContaining('"code":"P6002"')])
      write({ logLevel: 'warn', limits: { queryTimeout: '3s' }, pg: { cache: 'off' }, tenants: [tenant([sha('new-key'), sha('third-key')])] })
      // (its "configuration reloaded" line is at info: not written any more)
      expect((await hup(NEEDS_RESTART))[0].level).toBe(40)
      const quiet = await query('old-key')
      expect(quiet).toMatchObject({ status: 401 })
      // Log lines come out in order: once a later warn line is out, a line for that request would be too.
      await hup(NEEDS_RESTART)
      expect(logged(quiet.ray), p.stderr()).toEqual([])
    } finally {
      await client.end()
    }
    p.child.kill('SIGTERM')
    expect(await p.exited).toBe(0)
  })
})
