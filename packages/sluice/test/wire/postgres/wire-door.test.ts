// The Postgres wire door with real clients: psql, node-postgres, postgres.js, Prisma with
// @prisma/adapter-pg and pgbench — results compared with the origin directly — plus caching,
// invalidation shared with the HTTP door, and bad input.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { connect } from 'node:net'
import { promisify } from 'node:util'
import pg from 'pg'
import postgres from 'postgres'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { adminQuery, createDatabase, describeWithPostgres } from '../../helpers/postgres.js'
import { startSluice, type TestSluice } from '../../helpers/sluice.js'
import { peakWhileClientPaused } from '../../helpers/memory.js'
import { ddl, loadClient } from '../../e2e/clients.js'

/* eslint-disable @typescript-eslint/no-explicit-any */
const run = promisify(execFile)

describeWithPostgres('Postgres wire door', () => {
  let s: TestSluice
  let direct: string
  let wire: string
  let dbName: string

  beforeAll(async () => {
    direct = await createDatabase('wire_door', ddl() + `; CREATE TABLE kv (k int PRIMARY KEY, v text); INSERT INTO kv SELECT g, 'v' || g FROM generate_series(1, 100) g;`)
    dbName = new URL(direct).pathname.slice(1)
    s = await startSluice({ origin: `${direct}?connection_limit=6`, apiKeys: ['k'], pg: {} })
    wire = s.pgUrl(direct)
  })
  afterAll(async () => s?.close())

  const probeReads = async () =>
    Number((await adminQuery<{ v: string }>(dbName, 'SELECT (CASE WHEN is_called THEN last_value ELSE 0 END)::text AS v FROM probe_reads')).rows[0]!.v)

  it('psql: same output as direct, including errors with their SQLSTATE and notices', async () => {
    const args = ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=0', '-c', 'SELECT k, v FROM kv WHERE k <= 3 ORDER BY k', '-c', "DO $$ BEGIN RAISE NOTICE 'hello %', 1; END $$", '-c', 'SELECT * FROM missing_table']
    const viaDirect = await run('psql', [direct, ...args]).catch((e) => e)
    const viaWire = await run('psql', [wire, ...args]).catch((e) => e)
    expect(viaWire.stdout).toBe(viaDirect.stdout)
    expect(viaWire.stdout).toContain('1|v1')
    expect(viaWire.stderr).toBe(viaDirect.stderr)
    expect(viaWire.stderr).toContain('NOTICE:  hello 1')
    expect(viaWire.stderr).toContain('relation "missing_table" does not exist')
  })

  it('psql: COPY in and out pass through', async () => {
    await run('psql', [wire, '-c', 'CREATE TABLE copied (a int, b text)'])
    const copyIn = await run('bash', ['-c', `printf '1\\tone\\n2\\ttwo\\n' | psql "${wire}" -c "COPY copied FROM STDIN"`])
    expect(copyIn.stdout).toContain('COPY 2')
    const out = await run('psql', [wire, '-c', 'COPY (SELECT * FROM copied ORDER BY a) TO STDOUT'])
    expect(out.stdout).toBe('1\tone\n2\ttwo\n')
  })

  it('node-postgres: simple, extended and named statements across pooled connections', async () => {
    const clients = await Promise.all(Array.from({ length: 8 }, async () => {
      const c = new pg.Client({ connectionString: wire })
      await c.connect()
      return c
    }))
    try {
      // Each client runs its own sequence of named and unnamed statements.
      const workload = async (c: pg.Client, i: number) => {
        const rows: unknown[] = []
        for (let j = 1; j <= 20; j++) {
          const k = ((i * 20 + j) % 100) + 1
          rows.push((await c.query({ name: 'by_key', text: 'SELECT v FROM kv WHERE k = $1', values: [k] })).rows[0])
          rows.push((await c.query('SELECT $1::int * 2 AS d', [k])).rows[0])
        }
        return rows
      }
      const results = await Promise.all(clients.map(workload))
      const d = new pg.Client({ connectionString: direct })
      await d.connect()
      const expected = await Promise.all(clients.map((_, i) => workload(d, i)))
      await d.end()
      expect(results).toEqual(expected)
      // The origin never saw more than connection_limit connections from this Sluice.
      expect(s.sluice.origins[0]!.stats().total).toBeLessThanOrEqual(6)
      // Errors keep their SQLSTATE and the session keeps working.
      const err = await clients[0]!.query('SELECT 1/0').catch((e: any) => e)
      expect(err.code).toBe('22012')
      expect((await clients[0]!.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
    } finally {
      await Promise.all(clients.map((c) => c.end()))
    }
  })

  it('postgres.js (named prepared statements, pipelining) gets the same results as direct', async () => {
    const viaWire = postgres(wire, { max: 4 })
    const viaDirect = postgres(direct, { max: 4 })
    try {
      const q = (sql: any) => Promise.all(Array.from({ length: 30 }, (_, i) => sql`SELECT k, v FROM kv WHERE k = ${i + 1}`))
      expect(await q(viaWire)).toEqual(await q(viaDirect))
      const tx = await viaWire.begin(async (sql: any) => {
        await sql`UPDATE kv SET v = 'tx' WHERE k = 100`
        return sql`SELECT v FROM kv WHERE k = 100`
      })
      expect(tx).toEqual([{ v: 'tx' }])
    } finally {
      await viaWire.end()
      await viaDirect.end()
    }
  })

  it('Prisma with @prisma/adapter-pg through the wire door equals direct', async () => {
    const { PrismaClient, PrismaPg } = await loadClient('7.10')
    const viaWire = new PrismaClient({ adapter: new PrismaPg({ connectionString: wire }) })
    const viaDirect = new PrismaClient({ adapter: new PrismaPg({ connectionString: direct }) })
    try {
      const u = await viaWire.user.create({ data: { email: 'wire@x.io', name: 'W', posts: { create: [{ title: 't', slug: 's' }] } }, include: { posts: true } })
      expect(u.posts).toHaveLength(1)
      const q = (c: any) => c.user.findMany({ where: { email: { contains: '@' } }, include: { posts: true }, orderBy: { id: 'asc' } })
      expect(await q(viaWire)).toEqual(await q(viaDirect))
      await expect(viaWire.user.create({ data: { email: 'wire@x.io' } })).rejects.toMatchObject({ code: 'P2002' })
      const n = await viaWire.$transaction(async (tx: any) => {
        await tx.user.update({ where: { id: u.id }, data: { name: 'W2' } })
        return tx.user.count()
      })
      expect(n).toBe(await viaDirect.user.count())
    } finally {
      await viaWire.$disconnect()
      await viaDirect.$disconnect()
    }
  })

  it('pgbench: -S in simple, extended and prepared mode, the default mix, and -C all run clean', async () => {
    await run('pgbench', ['-i', '-s', '1', '-q', direct.replace(/\?.*$/, '')]).catch(async () =>
      run('pgbench', ['-i', '-s', '1', '-q', '-h', '127.0.0.1', '-U', 'postgres', dbName]),
    )
    const port = String(s.sluice.pgPort)
    const bench = (extra: string[]) => run('pgbench', ['-n', '-h', '127.0.0.1', '-p', port, '-U', 'postgres', '-c', '4', '-j', '2', '-T', '2', ...extra, dbName])
    for (const extra of [['-S', '-M', 'simple'], ['-S', '-M', 'extended'], ['-S', '-M', 'prepared'], [], ['-S', '-C']]) {
      const { stdout, stderr } = await bench(extra)
      expect(stderr, extra.join(' ')).not.toMatch(/error|abort/i)
      expect(stdout).toMatch(/number of failed transactions: 0/)
      expect(Number(/tps = ([\d.]+)/.exec(stdout)?.[1])).toBeGreaterThan(50)
    }
    // the read/write mix kept the books balanced, as it does direct
    const sums = await adminQuery<{ a: string; b: string }>(dbName, 'SELECT (SELECT sum(abalance) FROM pgbench_accounts)::text AS a, (SELECT sum(bbalance) FROM pgbench_branches)::text AS b')
    expect(sums.rows[0]!.a).toBe(sums.rows[0]!.b)
  })

  it('caches by hint and replays the same bytes; volatile and in-transaction statements are never cached', async () => {
    const c = new pg.Client({ connectionString: wire })
    await c.connect()
    try {
      await adminQuery(dbName, `INSERT INTO "ProbeData" VALUES (1, 'one') ON CONFLICT DO NOTHING`)
      const hinted = '/* sluice: ttl=60 */ SELECT id, label, reads FROM "Probe" WHERE id = 1'
      const before = await probeReads()
      const a = await c.query(hinted)
      const b = await c.query(hinted)
      expect(b.rows).toEqual(a.rows)
      expect(b.fields.map((f) => [f.name, f.dataTypeID])).toEqual(a.fields.map((f) => [f.name, f.dataTypeID]))
      expect(await probeReads()).toBe(before + 1)
      // without a hint (cache off by default): every read reaches the database
      await c.query('SELECT id, label, reads FROM "Probe" WHERE id = 1')
      expect(await probeReads()).toBe(before + 2)
      // the same in the extended protocol: unhinted, it goes through (and says why); hinted, cached
      const noHint = s.sluice.pgDoor!.notCached.get('no rule or hint') ?? 0
      await c.query('SELECT id, label, reads FROM "Probe" WHERE id = $1', [1])
      expect(await probeReads()).toBe(before + 3)
      expect(s.sluice.pgDoor!.notCached.get('no rule or hint')).toBe(noHint + 1)
      const x = await c.query('/* sluice: ttl=60 */ SELECT id, label, reads FROM "Probe" WHERE id = $1', [1])
      const y = await c.query('/* sluice: ttl=60 */ SELECT id, label, reads FROM "Probe" WHERE id = $1', [1])
      expect(y.rows).toEqual(x.rows)
      expect(await probeReads()).toBe(before + 4)
      // volatile: not cached
      const t1 = (await c.query('/* sluice: ttl=60 */ SELECT now()::text AS t, label FROM "ProbeData" WHERE id = 1')).rows[0].t
      await new Promise((r) => setTimeout(r, 5))
      const t2 = (await c.query('/* sluice: ttl=60 */ SELECT now()::text AS t, label FROM "ProbeData" WHERE id = 1')).rows[0].t
      expect(t2).not.toBe(t1)
      // inside a transaction block: not cached
      await c.query('BEGIN')
      await c.query(hinted)
      await c.query(hinted)
      await c.query('COMMIT')
      expect(await probeReads()).toBe(before + 6)
      // and the door keeps the reasons
      const reasons = s.sluice.pgDoor!.notCached
      expect(reasons.get('volatile function')).toBeGreaterThan(0)
      expect(reasons.get('in transaction')).toBeGreaterThan(0)
      expect(reasons.get('no rule or hint')).toBeGreaterThan(0)
    } finally {
      await c.end()
    }
  })

  it('a write over the wire invalidates wire and HTTP entries; a rolled-back write invalidates nothing', async () => {
    const c = new pg.Client({ connectionString: wire })
    await c.connect()
    const { PrismaClient, withAccelerate } = await loadClient('7.10')
    const http = new PrismaClient({ accelerateUrl: s.accelerateUrl('k') }).$extends(withAccelerate())
    try {
      const read = () => c.query('/* sluice: ttl=3600 */ SELECT v FROM kv WHERE k = 50')
      const httpRead = () => http.$queryRaw`SELECT 1` && http.user.findMany({ where: { email: 'nobody' }, cacheStrategy: { ttl: 3600 } }).withAccelerateInfo()
      expect((await read()).rows).toEqual([{ v: 'v50' }])
      await httpRead()
      expect((await httpRead()).info.cacheStatus).toBe('ttl')
      // rolled back: both entries survive
      await c.query('BEGIN')
      await c.query(`UPDATE kv SET v = 'rolled' WHERE k = 50`)
      await c.query(`UPDATE "User" SET name = 'rolled' WHERE false`)
      await c.query('ROLLBACK')
      expect((await read()).rows).toEqual([{ v: 'v50' }])
      expect((await httpRead()).info.cacheStatus).toBe('ttl')
      // committed: the wire entry is refreshed; a write to "User" drops the HTTP entry
      await c.query(`UPDATE kv SET v = 'new' WHERE k = 50`)
      expect((await read()).rows).toEqual([{ v: 'new' }])
      await c.query('BEGIN')
      await c.query(`UPDATE "User" SET name = name WHERE false`)
      await c.query('COMMIT')
      expect((await httpRead()).info.cacheStatus).toBe('miss')
      // and the other way round: an HTTP write drops wire entries
      await read()
      await http.$executeRaw`UPDATE kv SET v = 'from http' WHERE k = 50`
      expect((await read()).rows).toEqual([{ v: 'from http' }])
    } finally {
      await c.end()
    }
  })

  it('a cached read of a view or a partitioned table goes when what it reads is written; writes through a parent reach its partitions', async () => {
    const c = new pg.Client({ connectionString: wire })
    await c.connect()
    try {
      // DDL through Sluice: the relation catalog is read again before the next fill.
      await c.query(`CREATE TABLE base (id int PRIMARY KEY, v text); INSERT INTO base VALUES (1, 'a'), (2, 'b')`)
      await c.query(`CREATE VIEW base_view AS SELECT id, v FROM base; CREATE VIEW view_of_view AS SELECT v FROM base_view WHERE id < 10`)
      await c.query(`CREATE TABLE meas (id int, region text, v int) PARTITION BY LIST (region)`)
      await c.query(`CREATE TABLE meas_eu PARTITION OF meas FOR VALUES IN ('eu'); CREATE TABLE meas_us PARTITION OF meas FOR VALUES IN ('us')`)
      await c.query(`INSERT INTO meas VALUES (1, 'eu', 10), (2, 'us', 20)`)
      await c.query(`CREATE FUNCTION base_count() RETURNS int LANGUAGE sql STABLE AS 'SELECT count(*)::int FROM base'; CREATE VIEW counted AS SELECT base_count() AS n`)

      const hinted = (sql: string) => c.query(`/* sluice: ttl=3600 */ ${sql}`).then((r) => r.rows)
      const behindSluice = (sql: string) => adminQuery(dbName, sql)

      // A view: cached (a change behind Sluice's back is not seen), then dropped by a write to its base table.
      expect(await hinted('SELECT v FROM base_view WHERE id = 1')).toEqual([{ v: 'a' }])
      expect(await hinted('SELECT v FROM view_of_view ORDER BY v')).toEqual([{ v: 'a' }, { v: 'b' }])
      await behindSluice(`UPDATE base SET v = 'behind' WHERE id = 1`)
      expect(await hinted('SELECT v FROM base_view WHERE id = 1')).toEqual([{ v: 'a' }])
      expect(await hinted('SELECT v FROM view_of_view ORDER BY v')).toEqual([{ v: 'a' }, { v: 'b' }])
      await c.query(`UPDATE base SET v = 'through' WHERE id = 2`)
      expect(await hinted('SELECT v FROM base_view WHERE id = 1')).toEqual([{ v: 'behind' }])
      expect(await hinted('SELECT v FROM view_of_view ORDER BY v')).toEqual([{ v: 'behind' }, { v: 'through' }])

      // A partitioned table: a write to a partition drops cached reads of the parent…
      expect(await hinted('SELECT sum(v)::int AS s FROM meas')).toEqual([{ s: 30 }])
      await c.query(`UPDATE meas_eu SET v = v + 1`)
      expect(await hinted('SELECT sum(v)::int AS s FROM meas')).toEqual([{ s: 31 }])
      // …and a write through the parent drops cached reads of the partition it landed in.
      expect(await hinted('SELECT v FROM meas_us WHERE id = 2')).toEqual([{ v: 20 }])
      await c.query(`UPDATE meas SET v = 200 WHERE id = 2`)
      expect(await hinted('SELECT v FROM meas_us WHERE id = 2')).toEqual([{ v: 200 }])

      // A view calling a user function may read anything: answered, never stored.
      expect(await hinted('SELECT n FROM counted')).toEqual([{ n: 2 }])
      await behindSluice(`INSERT INTO base VALUES (3, 'c')`)
      expect(await hinted('SELECT n FROM counted')).toEqual([{ n: 3 }])
    } finally {
      await c.end()
    }
  })

  it('caches extended-protocol executions: parameters and formats are part of the key', async () => {
    const c = new pg.Client({ connectionString: wire })
    await c.connect()
    const d = new pg.Client({ connectionString: direct })
    await d.connect()
    try {
      const before = await probeReads()
      const q = (client: pg.Client, id: number, name?: string) =>
        client.query({ ...(name ? { name } : {}), text: '/* sluice: ttl=60 */ SELECT id, label, reads FROM "Probe" WHERE id = $1', values: [id] })
      await adminQuery(dbName, `INSERT INTO "ProbeData" VALUES (2, 'two') ON CONFLICT DO NOTHING`)
      const a = await q(c, 1)
      const b = await q(c, 1)
      expect(b.rows).toEqual(a.rows)
      expect(await probeReads()).toBe(before + 1)
      // another parameter value is another entry
      const two = await q(c, 2)
      expect(two.rows[0].label).toBe('two')
      expect(await probeReads()).toBe(before + 2)
      // named statements too, and the statement stays usable afterwards
      const named1 = await q(c, 1, 'probe_by_id')
      const named2 = await q(c, 1, 'probe_by_id')
      expect(named1.rows).toEqual(a.rows)
      expect(named2.rows).toEqual(a.rows)
      expect(await probeReads()).toBe(before + 2)
      // binary result format (node-postgres asks for text; use a raw Bind via the rowMode-less path of pg-protocol)
      // results are identical to direct, where the reads counter is not involved
      const kvWire = await c.query({ text: '/* sluice: ttl=60 */ SELECT k, v FROM kv WHERE k BETWEEN $1 AND $2 ORDER BY k', values: [3, 7] })
      const kvDirect = await d.query({ text: '/* sluice: ttl=60 */ SELECT k, v FROM kv WHERE k BETWEEN $1 AND $2 ORDER BY k', values: [3, 7] })
      expect(kvWire.rows).toEqual(kvDirect.rows)
      const again = await c.query({ text: '/* sluice: ttl=60 */ SELECT k, v FROM kv WHERE k BETWEEN $1 AND $2 ORDER BY k', values: [3, 7] })
      expect(again.rows).toEqual(kvDirect.rows)
      // errors still come from the server, exactly
      const err = await c.query({ text: '/* sluice: ttl=60 */ SELECT k FROM kv WHERE k = $1', values: ['not a number'] }).catch((e: any) => e)
      expect(err.code).toBe('22P02')
      expect((await c.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }])
    } finally {
      await c.end()
      await d.end()
    }
  })

  it('caches by rules from the config: per table and per query pattern', async () => {
    const t = await startSluice({
      origin: direct,
      apiKeys: ['k3'],
      pg: { rules: [{ table: 'Probe', ttlMs: 60_000, swrMs: 0, tags: ['probe'] }, { pattern: '^SELECT v FROM kv', ttlMs: 60_000, swrMs: 0, tags: [] }] },
    })
    const c = new pg.Client({ connectionString: t.pgUrl(direct) })
    await c.connect()
    try {
      const before = await probeReads()
      await c.query('SELECT reads FROM "Probe" WHERE id = 1')
      await c.query('SELECT reads FROM "Probe" WHERE id = 1')
      expect(await probeReads()).toBe(before + 1)
      const a = await c.query('SELECT v FROM kv WHERE k = 5')
      await adminQuery(dbName, `UPDATE kv SET v = 'behind' WHERE k = 5`)
      expect((await c.query('SELECT v FROM kv WHERE k = 5')).rows).toEqual(a.rows) // cached, the write bypassed Sluice
      await c.query('SELECT k FROM kv WHERE k = 5') // matches no rule
      expect(t.sluice.pgDoor!.notCached.get('no rule or hint')).toBeGreaterThan(0)
      // a tag from a rule works with the HTTP door's invalidate
      await fetch(`${t.httpUrl}/invalidate`, { method: 'POST', headers: { authorization: 'Bearer k3' }, body: JSON.stringify({ tags: ['probe'] }) })
      await c.query('SELECT reads FROM "Probe" WHERE id = 1')
      expect(await probeReads()).toBe(before + 2)
    } finally {
      await c.end()
      await t.close()
    }
  })

  /** A Sluice whose rule caches "Probe" (tag `probe`), and a pg client on its wire door; both closed after `body`. */
  async function withProbeRule(apiKey: string, body: (t: TestSluice, c: pg.Client) => Promise<void>): Promise<void> {
    const t = await startSluice({ origin: direct, apiKeys: [apiKey], pg: { rules: [{ table: 'Probe', ttlMs: 60_000, swrMs: 0, tags: ['probe'] }] } })
    const c = new pg.Client({ connectionString: t.pgUrl(direct) })
    await c.connect()
    try {
      await body(t, c)
    } finally {
      await c.end()
      await t.close()
    }
  }

  it('a text answered from the cache again skips its analysis, yet follows writes, tags, settings and a rules reload', async () => {
    await withProbeRule('k5', async (t, c) => {
      // Simple protocol (no parameters): the path that keeps a record per text.
      const label = async () => (await c.query('SELECT id, label FROM "Probe" WHERE id = 7')).rows[0]?.label
      await adminQuery(dbName, `INSERT INTO "ProbeData" VALUES (7, 'seven') ON CONFLICT (id) DO UPDATE SET label = 'seven'`)
      const before = await probeReads()
      for (let i = 0; i < 4; i++) expect(await label()).toBe('seven') // a fill, a hit, then hits found by the text
      expect(await probeReads()).toBe(before + 1)
      // A write through the door: the next read refills, and the hits after it answer the new rows.
      await c.query(`UPDATE "ProbeData" SET label = 'changed' WHERE id = 7`)
      for (let i = 0; i < 3; i++) expect(await label()).toBe('changed')
      expect(await probeReads()).toBe(before + 2)
      // A tag from the rule.
      await fetch(`${t.httpUrl}/invalidate`, { method: 'POST', headers: { authorization: 'Bearer k5' }, body: JSON.stringify({ tags: ['probe'] }) })
      for (let i = 0; i < 2; i++) expect(await label()).toBe('changed')
      expect(await probeReads()).toBe(before + 3)
      // A setting that is part of the key is another key space; back without it, the entry is there.
      await c.query(`SET TimeZone TO 'Asia/Tokyo'`)
      for (let i = 0; i < 2; i++) await label()
      expect(await probeReads()).toBe(before + 4)
      await c.query('RESET TimeZone')
      await label()
      expect(await probeReads()).toBe(before + 4)
      // Rules reloaded without the rule: the text is no longer cached, although it was found by its text.
      t.sluice.pgDoor!.setCacheSettings({ mode: 'off', autoTtlMs: 60_000, maxResultBytes: 1 << 20, rules: [] })
      for (let i = 0; i < 2; i++) expect(await label()).toBe('changed')
      expect(await probeReads()).toBe(before + 6)
      // And with the rule again, answered from the cache again.
      t.sluice.pgDoor!.setCacheSettings({ mode: 'off', autoTtlMs: 60_000, maxResultBytes: 1 << 20, rules: [{ table: 'Probe', policy: { ttlMs: 60_000, swrMs: 0, tags: ['probe'] } }] })
      for (let i = 0; i < 3; i++) expect(await label()).toBe('changed')
      expect(await probeReads()).toBe(before + 6) // the entry filled before is still there
    })
  })

  it('an extended execution answered from the cache again (unnamed and named, by parameters) follows writes, tags, settings and a rules reload', async () => {
    await withProbeRule('k6', async (t, c) => {
      for (const name of [undefined, 'probe_label']) {
        // Parameters: the extended protocol, whose records are kept per text and per parameters.
        const label = async (id: number) => (await c.query({ ...(name ? { name } : {}), text: 'SELECT id, label FROM "Probe" WHERE id = $1', values: [id] })).rows[0]?.label
        await adminQuery(dbName, `INSERT INTO "ProbeData" VALUES (7, 'seven'), (8, 'eight') ON CONFLICT (id) DO UPDATE SET label = excluded.label`)
        const before = await probeReads()
        for (let i = 0; i < 4; i++) expect(await label(7)).toBe('seven') // a fill, a hit, then hits found by the text
        for (let i = 0; i < 3; i++) expect(await label(8)).toBe('eight') // other parameters: their own entry
        expect(await probeReads()).toBe(before + 2)
        // A write through the door: both refill once, and the hits after answer the new rows.
        await c.query(`UPDATE "ProbeData" SET label = 'changed' WHERE id = 7`)
        for (let i = 0; i < 3; i++) expect(await label(7)).toBe('changed')
        for (let i = 0; i < 2; i++) expect(await label(8)).toBe('eight')
        expect(await probeReads()).toBe(before + 4)
        // A tag from the rule.
        await fetch(`${t.httpUrl}/invalidate`, { method: 'POST', headers: { authorization: 'Bearer k6' }, body: JSON.stringify({ tags: ['probe'] }) })
        for (let i = 0; i < 2; i++) expect(await label(7)).toBe('changed')
        expect(await probeReads()).toBe(before + 5)
        // A setting that is part of the key is another key space; back without it, the entry is there.
        await c.query(`SET TimeZone TO 'Asia/Tokyo'`)
        for (let i = 0; i < 2; i++) await label(7)
        expect(await probeReads()).toBe(before + 6)
        await c.query('RESET TimeZone')
        await label(7)
        expect(await probeReads()).toBe(before + 6)
        // Rules reloaded with a rule for another table only (executions are still held and looked
        // at): no longer cached, although found by its text before.
        t.sluice.pgDoor!.setCacheSettings({ mode: 'off', autoTtlMs: 60_000, maxResultBytes: 1 << 20, rules: [{ table: 'auto_t', policy: { ttlMs: 60_000, swrMs: 0, tags: [] } }] })
        for (let i = 0; i < 2; i++) expect(await label(7)).toBe('changed')
        expect(await probeReads()).toBe(before + 8)
        // And with the rule again, answered from the cache again.
        t.sluice.pgDoor!.setCacheSettings({ mode: 'off', autoTtlMs: 60_000, maxResultBytes: 1 << 20, rules: [{ table: 'Probe', policy: { ttlMs: 60_000, swrMs: 0, tags: ['probe'] } }] })
        for (let i = 0; i < 3; i++) expect(await label(7)).toBe('changed')
        expect(await probeReads()).toBe(before + 8) // the entry filled before is still there
        await c.query(`UPDATE "ProbeData" SET label = 'seven' WHERE id = 7`)
      }
    })
  })

  it('one text executed unnamed and as a prepared statement shares its entry, each answered as it was sent', async () => {
    await withProbeRule('k7', async (t, c) => {
      await adminQuery(dbName, `INSERT INTO "ProbeData" VALUES (9, 'nine') ON CONFLICT (id) DO UPDATE SET label = excluded.label`)
      const text = 'SELECT id, label FROM "Probe" WHERE id = $1'
      // What the client is answered, message by message (pg tolerates a stray ParseComplete; a
      // stricter driver would not): ParseComplete only for executions that sent a Parse.
      let parseCompletes = 0
      ;(c as unknown as { connection: NodeJS.EventEmitter }).connection.on('parseComplete', () => parseCompletes++)
      const before = await probeReads()
      // Unnamed: Parse each time (ParseComplete precedes the rows).
      for (let i = 0; i < 3; i++) expect((await c.query({ text, values: [9] })).rows).toEqual([{ id: 9, label: 'nine' }])
      expect(parseCompletes).toBe(3)
      // Named: Parse the first time only, then Bind alone — answered from the same entry, with
      // BindComplete alone before the rows.
      for (let i = 0; i < 4; i++) expect((await c.query({ name: 'probe_nine', text, values: [9] })).rows).toEqual([{ id: 9, label: 'nine' }])
      expect(parseCompletes).toBe(4)
      for (let i = 0; i < 2; i++) expect((await c.query({ text, values: [9] })).rows).toEqual([{ id: 9, label: 'nine' }])
      expect(parseCompletes).toBe(6)
      expect(await probeReads()).toBe(before + 1)
    })
  })

  it('a result too large to cache is relayed as the origin sends it, not gathered first (simple and extended)', async () => {
    await adminQuery(dbName, `CREATE TABLE IF NOT EXISTS big_t (id int PRIMARY KEY, pad text); INSERT INTO big_t SELECT g, repeat(md5(g::text), 4) FROM generate_series(1, 20000) g ON CONFLICT DO NOTHING`)
    // 20,000 rows of ~140 bytes: ~2.8 MB, above the 1 MB a result may have to be cached.
    const t = await startSluice({ origin: direct, apiKeys: ['k8'], pg: {} })
    const c = new pg.Client({ connectionString: t.pgUrl(direct) })
    await c.connect()
    try {
      const tooLarge = () => t.sluice.pgDoor!.notCached.get('too large') ?? 0
      const check = (rows: { id: number; pad: string }[]) => {
        expect(rows.length).toBe(20000)
        expect(rows[19999]).toEqual({ id: 20000, pad: createHash('md5').update('20000').digest('hex').repeat(4) })
      }
      for (let i = 0; i < 2; i++) check((await c.query('/* sluice: ttl=60 */ SELECT id, pad FROM big_t ORDER BY id')).rows)
      expect(tooLarge()).toBe(2)
      for (let i = 0; i < 2; i++) check((await c.query({ text: '/* sluice: ttl=60 */ SELECT id, pad FROM big_t WHERE id > $1 ORDER BY id', values: [0] })).rows)
      expect(tooLarge()).toBe(4)
      // The session and the pool carry on.
      expect((await c.query('/* sluice: ttl=60 */ SELECT pad FROM big_t WHERE id = 1')).rows).toEqual([{ pad: createHash('md5').update('1').digest('hex').repeat(4) }])
    } finally {
      await c.end()
      await t.close()
    }
  })

  it('a client that reads slowly is not outpaced: the origin is not read while the client socket is full', async () => {
    const c = new pg.Client({ connectionString: wire })
    await c.connect()
    try {
      // ~60 MB of rows (no table: never cached, relayed as it comes).
      const socket = (c as unknown as { connection: { stream: import('node:net').Socket } }).connection.stream
      const { peak, result } = await peakWhileClientPaused(socket, () => c.query(`SELECT g, repeat('x', 1000) AS pad FROM generate_series(1, 60000) g`))
      const rows = result.rows
      expect(rows.length).toBe(60000)
      expect(rows[59999].pad).toBe('x'.repeat(1000))
      // Sluice (in this process) held a few socket buffers' worth, not the result.
      expect(peak).toBeLessThan(16 * 1024 * 1024)
      expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
    } finally {
      await c.end()
    }
  })

  it('auto mode caches every safe read on its route, but not reads of views calling volatile functions', async () => {
    await adminQuery(dbName, `CREATE TABLE IF NOT EXISTS auto_t (id int PRIMARY KEY, v text); INSERT INTO auto_t VALUES (1, 'a') ON CONFLICT DO NOTHING`)
    await adminQuery(dbName, `INSERT INTO "ProbeData" VALUES (1, 'one') ON CONFLICT DO NOTHING`)
    await adminQuery(dbName, `CREATE OR REPLACE VIEW auto_recent AS SELECT id, v, now() - interval '1 hour' AS since FROM auto_t`)
    const t = await startSluice({ origin: direct, apiKeys: ['k2'], pg: { cache: 'auto', autoTtlMs: 60_000 } })
    const c = new pg.Client({ connectionString: t.pgUrl(direct) })
    await c.connect()
    try {
      // A plain table: a key is stored when it misses the second time (the first miss is relayed
      // and only remembered), then cached (a change behind Sluice's back is not seen within the ttl).
      const readT = async () => (await c.query('SELECT v FROM auto_t WHERE id = 1')).rows
      expect(await readT()).toEqual([{ v: 'a' }])
      await adminQuery(dbName, `UPDATE auto_t SET v = 'behind' WHERE id = 1`)
      expect(await readT()).toEqual([{ v: 'behind' }]) // the first miss was not stored; this one is
      await adminQuery(dbName, `UPDATE auto_t SET v = 'behind again' WHERE id = 1`)
      expect(await readT()).toEqual([{ v: 'behind' }])
      // The same in the extended protocol (parameters), unnamed and named: the first miss is relayed
      // as the client sent it, the second stored, the third a hit.
      for (const name of [undefined, 'auto_by_id']) {
        const exec = async () => (await c.query({ ...(name ? { name } : {}), text: 'SELECT v FROM auto_t WHERE id = $1 AND v IS NOT NULL' + (name ? ' AND true' : ''), values: [1] })).rows
        expect(await exec()).toEqual([{ v: 'behind again' }])
        await adminQuery(dbName, `UPDATE auto_t SET v = 'x1' WHERE id = 1`)
        expect(await exec()).toEqual([{ v: 'x1' }])
        await adminQuery(dbName, `UPDATE auto_t SET v = 'behind again' WHERE id = 1`)
        expect(await exec()).toEqual([{ v: 'x1' }])
      }

      // Views whose definition calls nextval() ("Probe") or now(): answered every time by the
      // database, never stored (not even on a second miss), whatever the statement itself looks like.
      const before = await probeReads()
      for (let i = 0; i < 3; i++) await c.query('SELECT reads FROM "Probe" WHERE id = 1')
      expect(await probeReads()).toBe(before + 3)
      const since: string[] = []
      for (let i = 0; i < 3; i++) {
        since.push((await c.query('SELECT since::text FROM auto_recent WHERE id = 1')).rows[0].since)
        await new Promise((r) => setTimeout(r, 20))
      }
      expect(since[2]).not.toBe(since[1])
      const stats = await (await fetch(`http://127.0.0.1:${t.sluice.adminPort}/api/stats?top=50`)).json()
      const reasons = JSON.stringify(stats)
      expect(reasons).toContain('view public.Probe calls nextval()')
      expect(reasons).toContain('view public.auto_recent calls now()')

      // An explicit hint is the caller's ttl: honoured (the hinted Probe reads above other tests count on it).
      const hinted = '/* sluice: ttl=60 */ SELECT reads FROM "Probe" WHERE id = 1'
      const b2 = await probeReads()
      await c.query(hinted)
      await c.query(hinted)
      expect(await probeReads()).toBe(b2 + 1)
    } finally {
      await c.end()
      await t.close()
    }
  })

  it('applies options and a one-schema search_path; refuses, with a clear FATAL, what it cannot carry', async () => {
    // psql sends application_name (and client_encoding): accepted as before.
    expect((await run('psql', [wire, '-X', '-A', '-t', '-c', 'SELECT 1'])).stdout.trim()).toBe('1')
    // PGOPTIONS becomes the startup parameter "options": its settings are the client's own.
    const viaOptions = await run('psql', [wire, '-X', '-A', '-t', '-c', 'SHOW statement_timeout'], { env: { ...process.env, PGOPTIONS: '-c statement_timeout=4321ms' } })
    expect(viaOptions.stdout.trim()).toBe('4321ms')
    const c = new pg.Client({ connectionString: wire, options: '-c statement_timeout=5s' } as any)
    await c.connect()
    expect((await c.query('SHOW statement_timeout')).rows).toEqual([{ statement_timeout: '5s' }])
    await c.end()
    // a search_path of several schemas, a switch other than -c, a replication connection: raw startups
    const refusedFor = async (params: Record<string, string>) => {
      const body = Buffer.concat([Buffer.from([0, 3, 0, 0]), Buffer.from(Object.entries({ user: 'postgres', database: dbName, ...params }).map(([k, v]) => `${k}\0${v}\0`).join('') + '\0')])
      const len = Buffer.alloc(4)
      len.writeInt32BE(body.length + 4)
      const socket = connect(s.sluice.pgPort!, '127.0.0.1')
      const chunks: Buffer[] = []
      socket.write(Buffer.concat([len, body]))
      // A refusal closes the connection; an accepted startup answers and waits for more.
      await new Promise((r) => {
        socket.on('data', (d) => {
          chunks.push(d)
          setTimeout(r, 50)
        })
        socket.on('close', r)
      })
      socket.destroy()
      return Buffer.concat(chunks).toString('latin1')
    }
    expect(await refusedFor({ search_path: 'elsewhere, public' })).toMatch(/^E.*SFATAL.*C0A000.*search_path of one schema/s)
    expect(await refusedFor({ options: '-d 5' })).toMatch(/^E.*SFATAL.*C0A000.*"-d" is not one/s)
    expect(await refusedFor({ replication: 'database' })).toContain('Sluice does not serve replication connections')
    expect(await refusedFor({ options: '' })).toMatch(/^R/) // an empty options is no setting: authentication goes on
    // and the door keeps serving
    expect((await run('psql', [wire, '-X', '-A', '-t', '-c', 'SELECT 2'])).stdout.trim()).toBe('2')
  })

  it('malformed, truncated and oversized messages get 08P01 or a closed connection; the server keeps serving', async () => {
    const port = s.sluice.pgPort!
    const startup = (() => {
      const body = Buffer.concat([Buffer.from([0, 3, 0, 0]), Buffer.from(`user\0postgres\0database\0${dbName}\0\0`)])
      const len = Buffer.alloc(4)
      len.writeInt32BE(body.length + 4)
      return Buffer.concat([len, body])
    })()
    const cases: Buffer[] = [
      Buffer.from([0, 0, 0, 3]), // impossible startup length
      Buffer.from([0, 0, 0, 8, 0, 9, 0, 0]), // unknown protocol
      Buffer.concat([startup, Buffer.from('Q\xff\xff\xff\xff', 'latin1')]), // absurd length
      Buffer.concat([startup, Buffer.from([0x5a, 0, 0, 0, 4])]), // a backend message from a client
      Buffer.concat([startup, Buffer.from([0x51, 0, 0, 0, 9]), Buffer.from('SEL')]), // truncated, then gone
      Buffer.concat([startup, Buffer.from([0x50, 0, 0, 0, 6, 0x41, 0x42])]), // Parse without terminators
    ]
    for (let i = 0; i < 200; i++) {
      const junk = Buffer.alloc(1 + (i % 40))
      for (let j = 0; j < junk.length; j++) junk[j] = (i * 31 + j * 17) % 256
      cases.push(i % 2 ? Buffer.concat([startup, junk]) : junk)
    }
    for (const bytes of cases) {
      await new Promise<void>((resolve) => {
        const sock = connect(port, '127.0.0.1', () => {
          sock.write(bytes)
          setTimeout(() => sock.destroy(), 30)
        })
        sock.on('data', () => {})
        sock.on('close', () => resolve())
        sock.on('error', () => resolve())
      })
    }
    const c = new pg.Client({ connectionString: wire })
    await c.connect()
    expect((await c.query('SELECT count(*)::int AS n FROM kv')).rows).toEqual([{ n: 100 }])
    await c.end()
    // no server connection was left behind busy
    const st = s.sluice.origins[0]!.stats()
    expect(st.total).toBeLessThanOrEqual(6)
  })

  it('a client that vanishes mid-transaction leaves a clean server connection behind', async () => {
    const c = new pg.Client({ connectionString: wire })
    await c.connect()
    await c.query('BEGIN')
    await c.query(`UPDATE kv SET v = 'abandoned' WHERE k = 1`)
    c.on('error', () => {}) // the client notices its own socket vanish
    ;(c as any).connection.stream.destroy()
    await new Promise((r) => setTimeout(r, 200))
    expect((await adminQuery(dbName, 'SELECT v FROM kv WHERE k = 1')).rows).toEqual([{ v: 'v1' }])
    const idleInTx = await adminQuery<{ n: string }>('postgres', "SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = $1 AND state LIKE 'idle in transaction%'", [dbName])
    expect(idleInTx.rows[0]!.n).toBe('0')
  })

  it('cancel requests reach the right origin backend', async () => {
    const c = new pg.Client({ connectionString: wire })
    await c.connect()
    const slow = c.query('SELECT pg_sleep(5)').catch((e: any) => e)
    await new Promise((r) => setTimeout(r, 200))
    const canceller = new pg.Client({ connectionString: wire })
    await canceller.connect()
    const started = Date.now()
    // pg's cancel: a CancelRequest with the BackendKeyData Sluice gave this client
    await new Promise<void>((resolve, reject) => {
      const sock = connect(s.sluice.pgPort!, '127.0.0.1', () => {
        const p = Buffer.alloc(16)
        p.writeInt32BE(16, 0)
        p.writeInt32BE(80877102, 4)
        p.writeInt32BE((c as any).processID, 8)
        p.writeInt32BE((c as any).secretKey, 12)
        sock.end(p)
      })
      sock.on('close', () => resolve())
      sock.on('error', reject)
    })
    const err = await slow
    expect(err.code).toBe('57014')
    expect(Date.now() - started).toBeLessThan(3000)
    expect((await c.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }])
    await c.end()
    await canceller.end()
  })
})

describeWithPostgres('Postgres wire door in session mode', () => {
  it('keeps one server connection per client: SET and LISTEN/NOTIFY work', async () => {
    const url = await createDatabase('wire_session', 'CREATE SCHEMA other; CREATE TABLE other.t (x int); INSERT INTO other.t VALUES (7)')
    const s = await startSluice({ origin: url, apiKeys: ['k'], pg: {}, pgPoolMode: 'session' })
    try {
      const c = new pg.Client({ connectionString: s.pgUrl(url) })
      await c.connect()
      await c.query('SET search_path TO other')
      expect((await c.query('SELECT x FROM t')).rows).toEqual([{ x: 7 }])
      const heard = new Promise<string>((resolve) => c.on('notification', (n) => resolve(n.payload ?? '')))
      await c.query('LISTEN news')
      const other = new pg.Client({ connectionString: url })
      await other.connect()
      await other.query("NOTIFY news, 'hello'")
      await other.end()
      expect(await heard).toBe('hello')
      await c.end()
    } finally {
      await s.close()
    }
  })
})

describeWithPostgres('Postgres wire door TLS', () => {
  it('serves sslmode=require with the configured certificate, and can require it', async () => {
    const { mkdtempSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const dir = mkdtempSync(join(tmpdir(), 'sluice-pgtls-'))
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')])
    const url = await createDatabase('wire_tls', 'SELECT 1')
    const tls = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') }
    const s = await startSluice({ origin: url, apiKeys: ['k'], pg: {}, tls })
    try {
      const { stdout } = await run('psql', [`${s.pgUrl(url)}?sslmode=require`, '-c', '\\conninfo'])
      expect(stdout).toMatch(/SSL connection \(protocol: TLS/)
      const c = new pg.Client({ connectionString: s.pgUrl(url), ssl: { rejectUnauthorized: false } })
      await c.connect()
      expect((c as any).connection.stream.encrypted).toBe(true)
      expect((await c.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
      await c.end()
    } finally {
      await s.close()
    }
    const strict = await startSluice({ origin: url, apiKeys: ['k'], pg: { requireTls: true }, tls })
    try {
      await expect(new pg.Client({ connectionString: strict.pgUrl(url) }).connect()).rejects.toMatchObject({ code: '28000' })
      const c = new pg.Client({ connectionString: strict.pgUrl(url), ssl: { rejectUnauthorized: false } })
      await c.connect()
      await c.end()
    } finally {
      await strict.close()
    }
  })
})

describeWithPostgres('Postgres wire door authentication', () => {
  it('with a password in the origin URL, clients must present it (SCRAM-SHA-256)', async () => {
    const base = await createDatabase('wire_auth', 'SELECT 1')
    const u = new URL(base)
    u.password = 's3cret'
    // The machine's Postgres trusts local connections, so only Sluice checks the password here.
    const s = await startSluice({ origin: u.toString(), apiKeys: ['k'], pg: {} })
    try {
      const good = new pg.Client({ connectionString: s.pgUrl(u.toString()) })
      await good.connect()
      expect((await good.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
      await good.end()
      const badUrl = new URL(s.pgUrl(u.toString()))
      badUrl.password = 'wrong'
      const bad = new pg.Client({ connectionString: badUrl.toString() })
      await expect(bad.connect()).rejects.toMatchObject({ code: '28P01' })
      const other = new URL(s.pgUrl(u.toString()))
      other.pathname = '/somewhere_else'
      await expect(new pg.Client({ connectionString: other.toString() }).connect()).rejects.toMatchObject({ code: '28000' })
    } finally {
      await s.close()
    }
  })

  it('routes by tenant prefix in the user name when tenants share a database', async () => {
    const url = await createDatabase('wire_route', 'SELECT 1')
    const s = await startSluice({ tenants: [{ name: 'alpha', origin: url, apiKeys: ['a'] }, { name: 'beta', origin: url, apiKeys: ['b'], pgPoolMode: 'session' }], pg: {} })
    try {
      const asBeta = new URL(s.pgUrl(url))
      asBeta.username = 'beta.postgres'
      const c = new pg.Client({ connectionString: asBeta.toString() })
      await c.connect()
      // session mode proves the route: SET survives across statements only for tenant beta
      await c.query(`SET application_name = 'routed'`)
      expect((await c.query('SHOW application_name')).rows).toEqual([{ application_name: 'routed' }])
      await c.end()
      const unknown = new URL(s.pgUrl(url))
      unknown.username = 'gamma.postgres'
      await expect(new pg.Client({ connectionString: unknown.toString() }).connect()).rejects.toMatchObject({ code: '28000' })
    } finally {
      await s.close()
    }
  })

  it('md5 and cleartext where configured', async () => {
    const base = await createDatabase('wire_auth2', 'SELECT 1')
    const u = new URL(base)
    u.password = 'pw'
    for (const pgAuth of ['md5', 'cleartext'] as const) {
      const s = await startSluice({ tenants: [{ name: 't', origin: u.toString(), apiKeys: ['k'], pgAuth }], pg: {} })
      try {
        const good = new pg.Client({ connectionString: s.pgUrl(u.toString()) })
        await good.connect()
        expect((await good.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }])
        await good.end()
        const bad = new URL(s.pgUrl(u.toString()))
        bad.password = 'nope'
        await expect(new pg.Client({ connectionString: bad.toString() }).connect()).rejects.toMatchObject({ code: '28P01' })
      } finally {
        await s.close()
      }
    }
  })
})
