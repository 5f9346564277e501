// The MySQL wire door with real clients — the `mariadb` command-line client, mysql2 (text and
// prepared), the `mariadb` connector, Prisma with @prisma/adapter-mariadb — results compared with the origin directly; caching,
// invalidation at commit, transactions, authentication (mysql_native_password,
// caching_sha2_password over TLS and with RSA) and malformed input.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync } from 'node:fs'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import * as mariadb from 'mariadb'
import mysql from 'mysql2/promise'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { hashApiKey } from '../../../src/config/api-keys.js'
import { DEFAULT_CACHE, DEFAULT_LIMITS, type SluiceConfig } from '../../../src/config/schema.js'
import type { Invalidation } from '../../../src/invalidation/epochs.js'
import { startSluice, type RunningSluice } from '../../../src/server/sluice.js'
import { analyzeMysql } from '../../../src/sql/mysql-analyze.js'
import { BASE_CAPS, CAP, PacketReader, handshakeResponse, packet } from '../../../src/wire/mysql/protocol.js'
import { createMariadbDatabase, describeWithMariadb, mariadbQuery } from '../../helpers/mariadb.js'
import { peakWhileClientPaused } from '../../helpers/memory.js'
import { loadClient, mysqlDdl } from '../../e2e/clients.js'

/* eslint-disable @typescript-eslint/no-explicit-any */
const run = promisify(execFile)

type MysqlSettings = NonNullable<SluiceConfig['mysql']>

async function startWithMysql(origin: string, mysqlSettings: Partial<MysqlSettings> = {}, tls?: { cert: string; key: string }): Promise<RunningSluice> {
  return startSluice({
    http: { port: 0, host: '127.0.0.1', ...(tls ? { tls } : {}) },
    region: 'TST',
    logLevel: (process.env.SLUICE_TEST_LOG as SluiceConfig['logLevel']) ?? 'silent',
    limits: DEFAULT_LIMITS,
    cache: DEFAULT_CACHE,
    mysql: { port: 0, host: '127.0.0.1', cache: 'off', auth: 'mysql_native_password', requireTls: false, autoTtlMs: 60_000, maxResultBytes: 1024 * 1024, rules: [], ...mysqlSettings },
    tenants: [{ name: 'default', origin, invalidateOnWrite: true, consistency: 'eventual', pgPoolMode: 'transaction', pgAuth: 'scram', apiKeyHashes: [hashApiKey('k')] }],
  })
}

const DDL = `CREATE TABLE kv (k INT PRIMARY KEY, v VARCHAR(50), n DECIMAL(10,2), d DATETIME, b BLOB);
INSERT INTO kv SELECT seq, CONCAT('v', seq), seq / 4, '2024-01-02 03:04:05' + INTERVAL seq MINUTE, UNHEX(HEX(seq)) FROM seq_1_to_100;
CREATE TABLE other (id INT PRIMARY KEY, name TEXT); INSERT INTO other VALUES (1, 'one'), (2, 'two');`

describeWithMariadb('MySQL wire door', () => {
  let s: RunningSluice
  let direct: string
  let db: string
  const invalidations: Invalidation[] = []
  const conf = (database = db) => ({ host: '127.0.0.1', user: 'root', database })
  const wire = () => ({ ...conf(), port: s.mysqlPort! })

  beforeAll(async () => {
    direct = await createMariadbDatabase('wire_mysql', DDL)
    db = new URL(direct).pathname.slice(1)
    s = await startWithMysql(`${direct}?connection_limit=4`)
    const previous = s.cache.onInvalidate
    s.cache.onInvalidate = (inv) => {
      invalidations.push(inv)
      previous(inv)
    }
  })
  afterAll(async () => s?.close())

  const mariadbCli = (port: number, ...statements: string[]) =>
    run('mariadb', ['-h', '127.0.0.1', '-P', String(port), '-u', 'root', '--force', db, '-e', statements.join(';\n')]).catch((e: any) => e)

  it('mariadb CLI: same output as direct, errors included', async () => {
    const statements = ['SELECT k, v, n, d, HEX(b) FROM kv WHERE k <= 5 ORDER BY k', 'SELECT * FROM missing_table', 'SELECT 1/0, NULL, _utf8mb4 0x26C3A9', 'SHOW WARNINGS', 'SELECT COUNT(*) FROM kv']
    const viaDirect = await mariadbCli(3306, ...statements)
    const viaWire = await mariadbCli(s.mysqlPort!, ...statements)
    expect(viaWire.stdout).toBe(viaDirect.stdout)
    expect(viaWire.stdout).toContain('v3')
    expect(viaWire.stderr).toBe(viaDirect.stderr)
    expect(viaWire.stderr).toContain("Table '" + db + ".missing_table' doesn't exist")
    // \s status output names the server the client believes it talks to.
    const status = await run('mariadb', ['-h', '127.0.0.1', '-P', String(s.mysqlPort), '-u', 'root', db, '-e', 'status'])
    expect(status.stdout).toMatch(/Server:\s+MariaDB/)
  })

  it('mysql2: text and prepared statements across pooled connections, identical to direct', async () => {
    const workload = async (c: mysql.Connection, i: number) => {
      const out: unknown[] = []
      for (let j = 1; j <= 15; j++) {
        const k = ((i * 15 + j) % 100) + 1
        out.push((await c.query('SELECT k, v, n, d, b FROM kv WHERE k = ?', [k]))[0])
        out.push((await c.execute('SELECT k, v, n, d, b, ? + 1 AS p FROM kv WHERE k = ?', [k, k]))[0])
        out.push((await c.execute('SELECT v FROM kv WHERE k IN (?, ?) ORDER BY k', [k, (k % 100) + 1]))[0])
      }
      return out
    }
    const clients = await Promise.all(Array.from({ length: 8 }, () => mysql.createConnection(wire())))
    const d = await mysql.createConnection({ ...conf(), port: 3306 })
    try {
      const results = await Promise.all(clients.map(workload))
      const expected = []
      for (let i = 0; i < clients.length; i++) expected.push(await workload(d, i))
      expect(results).toEqual(expected)
      // Never more server connections than connection_limit.
      const stats = s.mysqlDoor!.poolStats()
      expect(Object.values(stats)[0]!.total).toBeLessThanOrEqual(4)
      // Errors keep their code and SQLSTATE, and the session keeps working.
      const err = await clients[0]!.query('SELECT nope FROM kv').catch((e: any) => e)
      expect(err.errno).toBe(1054)
      expect(err.sqlState).toBe('42S22')
      const perr = await clients[0]!.execute('SELECT nope FROM kv WHERE k = ?', [1]).catch((e: any) => e)
      expect(perr.errno).toBe(1054)
      expect((await clients[0]!.query('SELECT 1 AS one'))[0]).toEqual([{ one: 1 }])
      // A statement prepared once runs on whichever server connection is free, many times.
      const [rows] = await clients[1]!.execute('SELECT COUNT(*) AS c FROM kv WHERE k > ?', [50])
      expect(rows).toEqual([{ c: 50 }])
      // Explicitly prepared, executed, closed.
      const stmt = await clients[2]!.prepare('SELECT v FROM kv WHERE k = ?')
      expect((await stmt.execute([7]))[0]).toEqual([{ v: 'v7' }])
      await stmt.close()
    } finally {
      await Promise.all([...clients, d].map((c) => c.end()))
    }
  })

  it('mariadb connector: query, execute and pipelined prepare+execute, identical to direct', async () => {
    const workload = async (c: mariadb.Connection) => {
      const out: unknown[] = []
      out.push(await c.query('SELECT k, v, n, d, b FROM kv WHERE k <= ? ORDER BY k', [3]))
      out.push(await c.execute('SELECT k, v, n FROM kv WHERE k = ?', [42]))
      out.push(await c.execute('SELECT k, v, n FROM kv WHERE k = ?', [43]))
      out.push(await Promise.all([c.execute('SELECT v FROM kv WHERE k = ?', [1]), c.execute('SELECT v FROM kv WHERE k = ?', [2]), c.query('SELECT COUNT(*) AS c FROM other')]))
      const err = await c.query('SELECT * FROM nowhere').catch((e: any) => ({ errno: e.errno, sqlState: e.sqlState }))
      out.push(err)
      return out.map((r) => JSON.parse(JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? String(v) : v))))
    }
    const viaWire = await mariadb.createConnection({ ...wire(), prepareCacheLength: 0 })
    const viaDirect = await mariadb.createConnection({ ...conf(), port: 3306, prepareCacheLength: 0 })
    try {
      const [w, d] = [await workload(viaWire), await workload(viaDirect)]
      expect(w).toEqual(d)
      expect(w[4]).toEqual({ errno: 1146, sqlState: '42S02' })
    } finally {
      await viaWire.end()
      await viaDirect.end()
    }
  })

  it('transactions keep one server connection; a rollback leaves nothing; session state stays with the client', async () => {
    const c = await mysql.createConnection(wire())
    const other = await mysql.createConnection(wire())
    try {
      await c.query('BEGIN')
      await c.query("UPDATE other SET name = 'uno' WHERE id = 1")
      expect((await c.query('SELECT name FROM other WHERE id = 1'))[0]).toEqual([{ name: 'uno' }])
      expect((await other.query('SELECT name FROM other WHERE id = 1'))[0]).toEqual([{ name: 'one' }])
      await c.query('ROLLBACK')
      expect((await c.query('SELECT name FROM other WHERE id = 1'))[0]).toEqual([{ name: 'one' }])
      // Session variables and temporary tables keep working (the client keeps its server connection).
      await c.query('SET @x = 41')
      await c.query('CREATE TEMPORARY TABLE tmp (a INT)')
      await c.query('INSERT INTO tmp VALUES (1)')
      expect((await c.query('SELECT @x + 1 AS y, (SELECT COUNT(*) FROM tmp) AS t'))[0]).toEqual([{ y: 42, t: 1 }])
      // USE switches the database for the rest of the session.
      await c.query('USE mysql')
      expect((await c.query('SELECT DATABASE() AS d'))[0]).toEqual([{ d: 'mysql' }])
    } finally {
      await c.end()
      await other.end()
    }
    // The next client does not see the previous client's session.
    const next = await mysql.createConnection(wire())
    try {
      expect((await next.query('SELECT @x AS x, DATABASE() AS d'))[0]).toEqual([{ x: null, d: db }])
    } finally {
      await next.end()
    }
  })

  it('caches hinted reads, replays the same bytes, and invalidates on writes at commit, not on rollback', async () => {
    const c = await mysql.createConnection(wire())
    const hinted = '/* sluice: ttl=60 tags=kvtag */ SELECT k, v FROM kv WHERE k = 10'
    try {
      const first = (await c.query(hinted))[0]
      // Changed behind Sluice's back: a hit still shows the cached row.
      await mariadbQuery(db, "UPDATE kv SET v = 'behind' WHERE k = 10")
      expect((await c.query(hinted))[0]).toEqual(first)
      // Prepared executions are cached by parameters.
      const prepared = '/* sluice: ttl=60 */ SELECT k, v FROM kv WHERE k = ?'
      const p1 = (await c.execute(prepared, [11]))[0]
      await mariadbQuery(db, "UPDATE kv SET v = 'behind11' WHERE k = 11")
      expect((await c.execute(prepared, [11]))[0]).toEqual(p1)
      expect((await c.execute(prepared, [12]))[0]).toEqual([{ k: 12, v: 'v12' }])

      // A rolled-back write invalidates nothing.
      invalidations.length = 0
      await c.query('START TRANSACTION')
      await c.query("UPDATE kv SET v = 'rolled' WHERE k = 99")
      // Inside a transaction nothing comes from the cache.
      expect((await c.query(hinted))[0]).toEqual([{ k: 10, v: 'behind' }])
      await c.query('ROLLBACK')
      expect(invalidations).toEqual([])
      expect((await c.query(hinted))[0]).toEqual(first)

      // A committed write through the door invalidates that table before the client hears of it.
      await c.query('START TRANSACTION')
      await c.query("UPDATE kv SET v = 'w' WHERE k = 98")
      await c.query('COMMIT')
      expect(invalidations).toEqual([{ kind: 'tables', origin: s.origins[0]!.id, tables: [`${db}.kv`] }])
      // The names match what the HTTP door reads for the same table (one cache, one invalidation).
      expect(analyzeMysql(`SELECT \`${db}\`.\`kv\`.\`k\` FROM \`${db}\`.\`kv\``, db).reads).toEqual([`${db}.kv`])
      expect((await c.query(hinted))[0]).toEqual([{ k: 10, v: 'behind' }])
      expect((await c.execute(prepared, [11]))[0]).toEqual([{ k: 11, v: 'behind11' }])

      // An autocommitted write invalidates too.
      await mariadbQuery(db, "UPDATE kv SET v = 'again' WHERE k = 10")
      await c.execute("UPDATE kv SET v = ? WHERE k = 97", ['x'])
      expect((await c.query(hinted))[0]).toEqual([{ k: 10, v: 'again' }])
    } finally {
      await c.end()
    }
  })

  it('a result too large to cache is relayed as the origin sends it, not gathered first (text and prepared)', async () => {
    const c = await mysql.createConnection(wire())
    try {
      await c.query('CREATE TABLE IF NOT EXISTS big_t (id INT PRIMARY KEY, pad TEXT)')
      await c.query('INSERT IGNORE INTO big_t SELECT seq, REPEAT(MD5(seq), 4) FROM seq_1_to_20000')
      // 20,000 rows of ~135 bytes: ~2.7 MB, above the 1 MB a result may have to be cached.
      const notCached = s.mysqlDoor!.notCached as Map<string, number>
      notCached.clear()
      const check = (rows: unknown) => {
        const list = rows as { id: number; pad: string }[]
        expect(list.length).toBe(20000)
        expect(list[19999]).toEqual({ id: 20000, pad: createHash('md5').update('20000').digest('hex').repeat(4) })
      }
      for (let i = 0; i < 2; i++) check((await c.query('/* sluice: ttl=60 */ SELECT id, pad FROM big_t ORDER BY id'))[0])
      expect(notCached.get('too large')).toBe(2)
      for (let i = 0; i < 2; i++) check((await c.execute('/* sluice: ttl=60 */ SELECT id, pad FROM big_t WHERE id > ? ORDER BY id', [0]))[0])
      expect(notCached.get('too large')).toBe(4)
      expect((await c.query('/* sluice: ttl=60 */ SELECT pad FROM big_t WHERE id = 1'))[0]).toEqual([{ pad: createHash('md5').update('1').digest('hex').repeat(4) }])
    } finally {
      await c.end()
    }
  })

  it('a client that reads slowly is not outpaced: the origin is not read while the client socket is full', async () => {
    const c = await mysql.createConnection(wire())
    try {
      // ~60 MB of rows (no table: never cached, relayed as it comes).
      const socket = (c as unknown as { connection: { stream: import('node:net').Socket } }).connection.stream
      const { peak, result } = await peakWhileClientPaused(socket, () => c.query(`SELECT seq, REPEAT('x', 1000) AS pad FROM seq_1_to_60000`))
      const rows = result[0] as { seq: number; pad: string }[]
      expect(rows.length).toBe(60000)
      expect(rows[59999]!.pad).toBe('x'.repeat(1000))
      // Sluice (in this process) held a few socket buffers' worth, not the result.
      expect(peak).toBeLessThan(16 * 1024 * 1024)
      expect((await c.query('SELECT 1 AS one'))[0]).toEqual([{ one: 1 }])
    } finally {
      await c.end()
    }
  })

  it('never caches volatile, locking or in-transaction reads, and says why', async () => {
    const c = await mysql.createConnection(wire())
    try {
      const notCached = s.mysqlDoor!.notCached as Map<string, number>
      notCached.clear()
      await c.query('/* sluice: ttl=60 */ SELECT k, NOW() FROM kv WHERE k = 1')
      await c.query('/* sluice: ttl=60 */ SELECT k, RAND() FROM kv WHERE k = 1')
      await c.query('/* sluice: ttl=60 */ SELECT UUID(), k FROM kv WHERE k = 1')
      await c.query('/* sluice: ttl=60 */ SELECT LAST_INSERT_ID(), k FROM kv WHERE k = 1')
      await c.query('/* sluice: ttl=60 */ SELECT k FROM kv WHERE k = 1 FOR UPDATE')
      await c.query('/* sluice: ttl=60 */ SELECT k FROM kv WHERE k = 1 LOCK IN SHARE MODE')
      await c.query('BEGIN')
      await c.query('/* sluice: ttl=60 */ SELECT k FROM kv WHERE k = 2')
      await c.query('COMMIT')
      expect(notCached.get('volatile function')).toBe(4)
      expect(notCached.get('locking read (FOR UPDATE/SHARE)')).toBe(2)
      expect(notCached.get('in transaction')).toBeGreaterThanOrEqual(1)
      const [a] = await c.query('/* sluice: ttl=60 */ SELECT RAND() AS r FROM kv WHERE k = 1')
      const [b] = await c.query('/* sluice: ttl=60 */ SELECT RAND() AS r FROM kv WHERE k = 1')
      expect(a).not.toEqual(b)
    } finally {
      await c.end()
    }
  })

  it('a cached read of a view goes when its base table is written through the door; views calling stored or volatile functions', async () => {
    await mariadbQuery(db, 'CREATE TABLE vbase (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO vbase VALUES (1, \'a\'), (2, \'b\')')
    await mariadbQuery(db, 'CREATE VIEW vview AS SELECT id, v FROM vbase; CREATE VIEW vview2 AS SELECT v FROM vview WHERE id < 10')
    await mariadbQuery(db, 'CREATE FUNCTION vcount() RETURNS INT READS SQL DATA RETURN (SELECT COUNT(*) FROM vbase); CREATE VIEW vcounted AS SELECT vcount() AS n')
    await mariadbQuery(db, 'CREATE VIEW vclock AS SELECT id, v, NOW(6) AS t FROM vbase')
    // A Sluice of its own: its relation catalog is read after the views exist.
    const own = await startWithMysql(direct, { cache: 'auto', autoTtlMs: 60_000 })
    const c = await mysql.createConnection({ ...conf(), port: own.mysqlPort! })
    try {
      const hinted = async (sql: string) => (await c.query(`/* sluice: ttl=3600 */ ${sql}`))[0]
      expect(await hinted('SELECT v FROM vview WHERE id = 1')).toEqual([{ v: 'a' }])
      expect(await hinted('SELECT v FROM vview2 ORDER BY v')).toEqual([{ v: 'a' }, { v: 'b' }])
      await mariadbQuery(db, "UPDATE vbase SET v = 'behind' WHERE id = 1")
      expect(await hinted('SELECT v FROM vview WHERE id = 1')).toEqual([{ v: 'a' }]) // cached
      expect(await hinted('SELECT v FROM vview2 ORDER BY v')).toEqual([{ v: 'a' }, { v: 'b' }])
      await c.query("UPDATE vbase SET v = 'through' WHERE id = 2")
      expect(await hinted('SELECT v FROM vview WHERE id = 1')).toEqual([{ v: 'behind' }])
      expect(await hinted('SELECT v FROM vview2 ORDER BY v')).toEqual([{ v: 'behind' }, { v: 'through' }])

      // A view calling a stored function may read anything: answered, never stored.
      expect(await hinted('SELECT n FROM vcounted')).toEqual([{ n: 2 }])
      await mariadbQuery(db, "INSERT INTO vbase VALUES (3, 'c')")
      expect(await hinted('SELECT n FROM vcounted')).toEqual([{ n: 3 }])

      // Auto mode does not store a read of a view calling NOW() (not even on its second miss); it
      // does store a plain view (from its second miss on).
      const clock: unknown[] = []
      for (let i = 0; i < 3; i++) {
        clock.push(((await c.query('SELECT t FROM vclock WHERE id = 1'))[0] as any[])[0].t)
        await new Promise((r) => setTimeout(r, 5))
      }
      expect(clock[2]).not.toEqual(clock[1])
      expect((await c.query('SELECT v FROM vview WHERE id = 3'))[0]).toEqual([{ v: 'c' }])
      expect((await c.query('SELECT v FROM vview WHERE id = 3'))[0]).toEqual([{ v: 'c' }])
      await mariadbQuery(db, "UPDATE vbase SET v = 'behind3' WHERE id = 3")
      expect((await c.query('SELECT v FROM vview WHERE id = 3'))[0]).toEqual([{ v: 'c' }])

      // Prepared executions in auto mode: the first miss is relayed (prepared and executed on the
      // client's own path), the second stored, the third a hit.
      const exec = async () => (await c.execute('SELECT v FROM vbase WHERE id = ?', [2]))[0]
      expect(await exec()).toEqual([{ v: 'through' }])
      await mariadbQuery(db, "UPDATE vbase SET v = 'p1' WHERE id = 2")
      expect(await exec()).toEqual([{ v: 'p1' }])
      await mariadbQuery(db, "UPDATE vbase SET v = 'p2' WHERE id = 2")
      expect(await exec()).toEqual([{ v: 'p1' }])
    } finally {
      await c.end()
      await own.close()
    }
  })

  it('malformed and truncated packets get an ERR packet or a closed connection, never a crash', async () => {
    const { mysqlPort } = s
    // A raw session that authenticates as root (empty password) and then sends `bytes`.
    const attempt = (bytes: Buffer, authenticate: boolean) =>
      new Promise<'err' | 'closed' | 'silent'>((resolve) => {
        const sock = connect(mysqlPort!, '127.0.0.1')
        const reader = new PacketReader()
        let stage = 0
        let result: 'err' | 'closed' | 'silent' = 'silent'
        const timer = setTimeout(() => {
          sock.destroy()
          resolve(result)
        }, 300)
        sock.on('data', (chunk) => {
          reader.push(chunk)
          for (let p = reader.next(); p; p = reader.next()) {
            if (stage === 0) {
              stage = 1
              if (authenticate) sock.write(packet(1, handshakeResponse({ capabilities: BASE_CAPS | CAP.DEPRECATE_EOF, charset: 45, user: 'root', authResponse: Buffer.alloc(0), database: db, authPlugin: 'mysql_native_password' })))
              else {
                sock.write(bytes)
                stage = 2
              }
            } else if (stage === 1) {
              stage = 2
              sock.write(bytes)
            } else if (p.payload[0] === 0xff) result = 'err'
          }
        })
        sock.on('error', () => {})
        sock.on('close', () => {
          clearTimeout(timer)
          resolve(result === 'err' ? 'err' : 'closed')
        })
      })
    let seed = 7
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff
      return seed % n
    }
    const cases: [Buffer, boolean][] = []
    for (let i = 0; i < 60; i++) {
      const len = rand(40)
      const body = Buffer.from(Array.from({ length: len }, () => rand(256)))
      const header = Buffer.alloc(4)
      header.writeUIntLE(rand(3) === 0 ? len + 1 + rand(5) : len, 0, 3) // sometimes truncated
      header[3] = rand(4) === 0 ? rand(256) : i % 2
      cases.push([Buffer.concat([header, body]), i % 2 === 0])
    }
    // Commands with truncated arguments after a valid login.
    for (const cmd of [0x16, 0x17, 0x18, 0x19, 0x1a, 0x1c, 0x11, 0x02, 0x03, 0x1b, 0x04, 0x09, 0x42])
      cases.push([packet(0, Buffer.from([cmd, 1])), true])
    cases.push([packet(0, Buffer.from([0x17, 0xff, 0xff, 0xff, 0xff, 0, 1, 0, 0, 0])), true])
    cases.push([Buffer.from([0xff, 0xff, 0xff, 0x00, 1, 2, 3]), true]) // announces 16 MiB, then vanishes
    cases.push([packet(0, Buffer.alloc(0)), true])
    const results = []
    for (let i = 0; i < cases.length; i += 10) results.push(...(await Promise.all(cases.slice(i, i + 10).map(([b, a]) => attempt(b, a)))))
    expect(results.filter((r) => r === 'err').length).toBeGreaterThan(10)
    // Still serving, and no server connection was lost to the noise.
    const c = await mysql.createConnection(wire())
    expect((await c.query('SELECT COUNT(*) AS c FROM other'))[0]).toEqual([{ c: 2 }])
    await c.end()
  })
})

describeWithMariadb('MySQL wire door authentication', () => {
  let url: string
  let db: string
  let dir: string
  beforeAll(async () => {
    const base = await createMariadbDatabase('wire_mysql_auth', 'CREATE TABLE t (a INT); INSERT INTO t VALUES (1)')
    db = new URL(base).pathname.slice(1)
    await mariadbQuery(undefined, `CREATE OR REPLACE USER 'sluice_wire'@'%' IDENTIFIED BY 's3cret'; GRANT ALL ON \`${db}\`.* TO 'sluice_wire'@'%'`)
    const u = new URL(base)
    u.username = 'sluice_wire'
    u.password = 's3cret'
    url = u.toString()
    dir = mkdtempSync(join(tmpdir(), 'sluice-mytls-'))
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')])
  })

  it('mysql_native_password: the origin password is required', async () => {
    const s = await startWithMysql(url)
    try {
      const c = await mysql.createConnection({ host: '127.0.0.1', port: s.mysqlPort!, user: 'sluice_wire', password: 's3cret', database: db })
      expect((await c.query('SELECT a FROM t'))[0]).toEqual([{ a: 1 }])
      await c.end()
      await expect(mysql.createConnection({ host: '127.0.0.1', port: s.mysqlPort!, user: 'sluice_wire', password: 'wrong', database: db })).rejects.toMatchObject({ errno: 1045 })
      await expect(mysql.createConnection({ host: '127.0.0.1', port: s.mysqlPort!, user: 'someone', password: 's3cret', database: db })).rejects.toMatchObject({ errno: 1045 })
      const cli = await run('mariadb', ['-h', '127.0.0.1', '-P', String(s.mysqlPort), '-u', 'sluice_wire', '-ps3cret', db, '-N', '-e', 'SELECT a FROM t'])
      expect(cli.stdout.trim()).toBe('1')
    } finally {
      await s.close()
    }
  })

  it('caching_sha2_password: full authentication with RSA or over TLS, then the fast path', async () => {
    const tls = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') }
    const s = await startWithMysql(url, { auth: 'caching_sha2_password' }, tls)
    const opts = { host: '127.0.0.1', port: s.mysqlPort!, user: 'sluice_wire', database: db }
    try {
      // Wrong password, full authentication: denied.
      await expect(mysql.createConnection({ ...opts, password: 'wrong' })).rejects.toMatchObject({ errno: 1045 })
      // First login: the password travels RSA-encrypted with Sluice's public key.
      const rsa = await mysql.createConnection({ ...opts, password: 's3cret' })
      expect((await rsa.query('SELECT a FROM t'))[0]).toEqual([{ a: 1 }])
      await rsa.end()
      // Over TLS (cleartext inside the tunnel) works as well.
      const secure = await mysql.createConnection({ ...opts, password: 's3cret', ssl: { rejectUnauthorized: false } })
      expect((await secure.query("SHOW STATUS LIKE 'Ssl_cipher'"))[0]).toBeDefined()
      expect((secure as any).connection.stream.encrypted).toBe(true)
      await secure.end()
      // Verified once: now the scramble (fast path) suffices; a wrong one is refused.
      const fast = await mariadb.createConnection({ ...opts, password: 's3cret' })
      expect(await fast.query('SELECT a FROM t')).toEqual([{ a: 1 }])
      await fast.end()
      await expect(mariadb.createConnection({ ...opts, password: 'nope' })).rejects.toMatchObject({ errno: 1045 })
    } finally {
      await s.close()
    }
  })

  it('can require TLS', async () => {
    const tls = { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') }
    const s = await startWithMysql(url, { requireTls: true }, tls)
    const opts = { host: '127.0.0.1', port: s.mysqlPort!, user: 'sluice_wire', password: 's3cret', database: db }
    try {
      await expect(mysql.createConnection(opts)).rejects.toMatchObject({ errno: 1045 })
      const c = await mysql.createConnection({ ...opts, ssl: { rejectUnauthorized: false } })
      expect((await c.query('SELECT a FROM t'))[0]).toEqual([{ a: 1 }])
      await c.end()
      const cli = await run('mariadb', ['-h', '127.0.0.1', '-P', String(s.mysqlPort), '-u', 'sluice_wire', '-ps3cret', '--ssl', '--skip-ssl-verify-server-cert', db, '-N', '-e', 'SELECT a FROM t']).catch((e: any) => e)
      expect(cli.stdout.trim()).toBe('1')
    } finally {
      await s.close()
    }
  })
})

describeWithMariadb('MySQL wire door with Prisma', () => {
  it('Prisma with @prisma/adapter-mariadb through the wire door equals direct', async () => {
    const direct = await createMariadbDatabase('wire_mysql_prisma', mysqlDdl())
    const db = new URL(direct).pathname.slice(1)
    const s = await startWithMysql(`${direct}?connection_limit=3`, { cache: 'auto' })
    const { PrismaClient, PrismaMariaDb } = await loadClient('7.10', 'mysql')
    const adapter = (port: number) => new PrismaMariaDb({ host: '127.0.0.1', port, user: 'root', database: db, connectionLimit: 4 })
    const viaWire = new PrismaClient({ adapter: adapter(s.mysqlPort!) })
    const viaDirect = new PrismaClient({ adapter: adapter(3306) })
    try {
      const u = await viaWire.user.create({ data: { email: 'wire@x.io', name: 'W', posts: { create: [{ title: 't', slug: 's', metadata: { a: [1, 2] } }] } }, include: { posts: true } })
      expect(u.posts).toHaveLength(1)
      const q = (c: any) => c.user.findMany({ where: { email: { contains: '@' } }, include: { posts: true }, orderBy: { id: 'asc' } })
      expect(await q(viaWire)).toEqual(await q(viaDirect))
      await expect(viaWire.user.create({ data: { email: 'wire@x.io' } })).rejects.toMatchObject({ code: 'P2002' })
      const n = await viaWire.$transaction(async (tx: any) => {
        await tx.user.update({ where: { id: u.id }, data: { name: 'W2' } })
        return tx.user.count()
      })
      expect(n).toBe(await viaDirect.user.count())
      // Auto mode cached the reads; the writes above invalidated them: the wire door shows the update.
      expect((await q(viaWire))[0].name).toBe('W2')
      expect(await viaWire.$queryRaw`SELECT COUNT(*) AS c FROM Post`).toEqual(await viaDirect.$queryRaw`SELECT COUNT(*) AS c FROM Post`)
    } finally {
      await viaWire.$disconnect()
      await viaDirect.$disconnect()
      await s.close()
    }
  })
})
