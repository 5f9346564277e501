// Per-client settings through the wire door, against the real Postgres: what a client sets at
// startup (TimeZone, DateStyle, application_name…) or later with SET follows it from one pooled
// server connection to the next, never reaches another client or the HTTP door, and is part of
// what a cached result is stored under.
import postgres from 'postgres'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createDatabase, describeWithPostgres } from '../../helpers/postgres.js'
import { startSluice, type TestSluice } from '../../helpers/sluice.js'

/* eslint-disable @typescript-eslint/no-explicit-any */

describeWithPostgres('Postgres wire door: per-client settings', () => {
  let s: TestSluice
  let direct: string
  let wire: string
  const clients: postgres.Sql[] = []

  const client = (url: string, connection: Record<string, string> = {}) => {
    const u = new URL(url)
    const sql = postgres({ host: u.hostname, port: Number(u.port), user: decodeURIComponent(u.username), database: u.pathname.slice(1), max: 1, connection, onnotice: () => {} })
    clients.push(sql)
    return sql
  }

  beforeAll(async () => {
    direct = await createDatabase(
      'wire_settings',
      `CREATE TABLE events (id int PRIMARY KEY, at timestamptz NOT NULL, day date NOT NULL);
       INSERT INTO events SELECT g, '2024-03-01 12:00:00+00'::timestamptz + g * interval '1 hour', '2024-03-01'::date + g FROM generate_series(1, 5) g;
       CREATE SCHEMA app; CREATE TABLE app.items (id int PRIMARY KEY, v text); INSERT INTO app.items VALUES (1, 'one');
       CREATE TABLE items (id int PRIMARY KEY, v text); INSERT INTO items VALUES (1, 'public one');`,
    )
    // One server connection: every client below takes turns on the same one.
    s = await startSluice({ origin: `${direct}?connection_limit=1`, apiKeys: ['k'], pg: {} })
    wire = s.pgUrl(direct)
  })
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.end({ timeout: 1 })))
    await s?.close()
  })

  const tokyo = { TimeZone: 'asia/tokyo', DateStyle: 'SQL, DMY', application_name: 'tokyo-app' }
  const show = (sql: postgres.Sql | postgres.TransactionSql) => sql`SELECT current_setting('TimeZone') AS tz, current_setting('DateStyle') AS ds, current_setting('application_name') AS app, (SELECT at::text FROM events WHERE id = 1) AS at`
  // Cached by hint, in the simple and in the extended protocol.
  const cachedSimple = (sql: postgres.Sql) => sql.unsafe('/* sluice: ttl=60 */ SELECT id, at::text, day::text FROM events ORDER BY id').simple()
  const cachedExtended = (sql: postgres.Sql) => sql`/* sluice: ttl=60 */ SELECT id, at::text, day::text FROM events WHERE id <= ${3} ORDER BY id`

  /** The origin's own defaults, as a direct client without settings sees them. */
  const originDefaults = async () => (await show(client(direct)))[0]!

  it('startup settings apply on the shared connection, turn by turn, and equal direct', async () => {
    const a = client(wire, tokyo)
    const b = client(wire)
    const da = client(direct, tokyo)
    const db = client(direct)
    for (let round = 0; round < 3; round++) {
      expect(await show(a)).toEqual(await show(da))
      expect(await show(b)).toEqual(await show(db))
    }
    expect((await show(a))[0]).toMatchObject({ tz: 'Asia/Tokyo', ds: 'SQL, DMY', app: 'tokyo-app', at: '01/03/2024 22:00:00 JST' })
    expect((await show(b))[0]!.at).toBe((await originDefaults()).at)
    // Any run-time setting, custom ones included, is the client's own.
    const c = client(wire, { 'app.tenant': 'acme', statement_timeout: '1234ms' })
    const custom = (sql: postgres.Sql) => sql`SELECT coalesce(current_setting('app.tenant', true), '') AS tenant, current_setting('statement_timeout') AS timeout`
    expect((await custom(c))[0]).toEqual({ tenant: 'acme', timeout: '1234ms' })
    expect((await custom(b))[0]!.tenant).toBe('')
    expect((await custom(c))[0]).toEqual({ tenant: 'acme', timeout: '1234ms' })
    // The client is told its own values at startup, spelled as the server spells them.
    expect(a.parameters.TimeZone).toBe(da.parameters.TimeZone)
    expect(a.parameters.DateStyle).toBe('SQL, DMY')
  })

  it('cached results are stored per settings: one client never gets another one’s rendering', async () => {
    const a = client(wire, tokyo)
    const b = client(wire)
    const da = client(direct, tokyo)
    const db = client(direct)
    const expected = [await cachedSimple(da), await cachedSimple(db), await cachedExtended(db), await cachedExtended(da)]
    expect(expected[0]![0]!.at).toContain('JST')
    expect(expected[1]![0]!.at).toBe((await originDefaults()).at)
    const got = async () => [await cachedSimple(a), await cachedSimple(b), await cachedExtended(b), await cachedExtended(a)]
    // (postgres.js prepares a statement on its first run, pipelined with that run: that run is relayed.)
    expect(await got()).toEqual(expected)
    expect(await got()).toEqual(expected)
    // Changed behind Sluice's back: what the wire door answers now comes from its cache, and each
    // client still gets its own rendering.
    await db`UPDATE events SET day = day + 1`
    try {
      expect(await got()).toEqual(expected)
      // Same settings from another app: the same entries.
      const a2 = client(wire, { TimeZone: 'Asia/Tokyo', DateStyle: 'SQL, DMY', application_name: 'other-app' })
      expect(await cachedSimple(a2)).toEqual(expected[0])
    } finally {
      await db`UPDATE events SET day = day - 1`
    }
  })

  it('SET and set_config() of a reported setting follow the client to its next transactions, and stay its own', async () => {
    const a = client(wire)
    const b = client(wire)
    const defaults = await originDefaults()
    await a`SET TimeZone = 'Europe/Paris'`
    expect((await show(b))[0]!.tz).toBe(defaults.tz)
    expect((await show(a))[0]).toMatchObject({ tz: 'Europe/Paris', at: '2024-03-01 14:00:00+01' })
    await a`SELECT set_config('DateStyle', 'German', false)`
    expect((await show(b))[0]!.ds).toBe(defaults.ds)
    expect((await show(a))[0]).toMatchObject({ tz: 'Europe/Paris', ds: 'German, DMY' })
    // A SET LOCAL ends with its transaction.
    await a.begin(async (t) => {
      await t`SET LOCAL TimeZone = 'Asia/Tokyo'`
      expect((await show(t))[0]!.tz).toBe('Asia/Tokyo')
    })
    expect((await show(a))[0]!.tz).toBe('Europe/Paris')
    await a`RESET ALL`
    expect((await show(a))[0]).toMatchObject({ tz: defaults.tz, ds: defaults.ds })
  })

  it('a write after SET LOCAL search_path invalidates the table it reached; set_config() neither leaks nor invalidates', async () => {
    const a = client(wire)
    const b = client(wire)
    const db = client(direct)
    const cachedItem = () => a.unsafe('/* sluice: ttl=60 */ SELECT v FROM app.items WHERE id = 1').simple()
    expect(await cachedItem()).toEqual([{ v: 'one' }])
    // An unqualified name that resolves to app.items only because of the moved search path.
    await b.begin(async (t) => {
      await t`SET LOCAL search_path TO app`
      await t`UPDATE items SET v = 'two' WHERE id = 1`
    })
    expect(await cachedItem()).toEqual([{ v: 'two' }])
    // A session set_config() of search_path is session state: it does not reach the next client.
    const defaultPath = (await db`SHOW search_path`)[0]!.search_path
    await b`SELECT set_config('search_path', 'app', false)`
    expect((await a`SHOW search_path`)[0]!.search_path).toBe(defaultPath)
    // A transaction-local set_config() (row-level security's usual tenant switch) writes nothing:
    // the cached read stays cached (changed behind Sluice's back, it still answers the old value).
    await db`UPDATE app.items SET v = 'three' WHERE id = 1`
    try {
      await b.begin(async (t) => {
        await t`SELECT set_config('app.tenant', '42', true)`
        await t`SELECT v FROM items WHERE id = 1`
      })
      expect(await cachedItem()).toEqual([{ v: 'two' }])
    } finally {
      await db`UPDATE app.items SET v = 'two' WHERE id = 1`
    }
  })

  it('a client whose search_path names another schema reads and writes there, cached and invalidated as such', async () => {
    const inApp = client(wire, { search_path: 'app' })
    const inPublic = client(wire)
    const qualified = client(wire)
    const cachedItems = (sql: postgres.Sql) => sql.unsafe('/* sluice: ttl=60 */ SELECT v FROM items WHERE id = 1').simple()
    const cachedApp = () => qualified.unsafe('/* sluice: ttl=60 */ SELECT v FROM app.items WHERE id = 1').simple()
    // The same text reads different tables, and is cached apart.
    expect(await cachedItems(inApp)).toEqual(await client(direct, { search_path: 'app' }).unsafe('SELECT v FROM items WHERE id = 1'))
    expect(await cachedItems(inPublic)).toEqual([{ v: 'public one' }])
    const before = await cachedApp()
    // A write by name under search_path app reaches app.items — and invalidates what read it.
    await inApp`UPDATE items SET v = 'four' WHERE id = 1`
    expect(await cachedApp()).toEqual([{ v: 'four' }])
    expect(await cachedItems(inApp)).toEqual([{ v: 'four' }])
    expect(await cachedItems(inPublic)).toEqual([{ v: 'public one' }])
    await inApp`UPDATE items SET v = ${before[0]!.v} WHERE id = 1`
  })

  it('a value the origin refuses gets the FATAL a direct connection gets; a client_encoding other than UTF8 is refused', async () => {
    const viaWire = await client(wire, { TimeZone: 'Nowhere/Else' })`SELECT 1`.catch((e: any) => e)
    const viaDirect = await client(direct, { TimeZone: 'Nowhere/Else' })`SELECT 1`.catch((e: any) => e)
    expect(viaWire).toMatchObject({ code: viaDirect.code, severity: 'FATAL', message: viaDirect.message })
    expect(viaWire.code).toBe('22023')
    const unknown = await client(wire, { no_such_setting: 'x' })`SELECT 1`.catch((e: any) => e)
    expect(unknown).toMatchObject({ code: '42704', severity: 'FATAL' })
    const latin = await client(wire, { client_encoding: 'LATIN1' })`SELECT 1`.catch((e: any) => e)
    expect(latin).toMatchObject({ code: '0A000', severity: 'FATAL' })
    expect(latin.message).toContain('client_encoding "LATIN1"')
    // and the door keeps serving, on a clean connection
    expect((await show(client(wire)))[0]!.tz).toBe((await originDefaults()).tz)
  })

  it('the connection goes back to the pool (and the HTTP door) with the origin’s defaults', async () => {
    const a = client(wire, tokyo)
    await show(a)
    // The pool takes the parked connection back for its own query.
    const origin = s.sluice.origins[0]!
    if (origin.provider !== 'postgres') throw new Error('expected a Postgres origin')
    const { rows } = await origin.pool.query("SELECT current_setting('TimeZone') AS tz, current_setting('DateStyle') AS ds, current_setting('application_name') AS app")
    const defaults = await originDefaults()
    expect(rows[0]).toEqual({ tz: defaults.tz, ds: defaults.ds, app: '' })
    expect((await show(a))[0]!.tz).toBe('Asia/Tokyo')
  })
})
