// Server connections parked between wire transactions: reused by the next transaction, but given
// back to the pool (whose budget the HTTP door shares) when someone else needs one, after a short
// idle time, and at shutdown.
import pg from 'pg'
import { afterAll, beforeAll, expect, it } from 'vitest'
import type { OriginPool } from '../../../src/pool/origin-pool.js'
import { connectionCount, createDatabase, describeWithPostgres } from '../../helpers/postgres.js'
import { startSluice, type TestSluice } from '../../helpers/sluice.js'

describeWithPostgres('parked wire server connections', () => {
  let s: TestSluice
  let direct: string
  let wire: string
  let origin: OriginPool

  beforeAll(async () => {
    direct = await createDatabase('link_park', 'CREATE TABLE t (k int PRIMARY KEY); INSERT INTO t VALUES (1)')
    s = await startSluice({ origin: `${direct}?connection_limit=1&pool_timeout=2`, apiKeys: ['k'], pg: {} })
    wire = s.pgUrl(direct)
    origin = s.sluice.origins[0] as OriginPool
  })
  afterAll(async () => s?.close())

  async function wireStatements(...sql: string[]): Promise<void> {
    const c = new pg.Client({ connectionString: wire })
    await c.connect()
    try {
      for (const q of sql) await c.query(q)
    } finally {
      await c.end()
    }
  }

  it('a transaction parks its connection; the next one reuses it', async () => {
    await wireStatements('SELECT k FROM t')
    expect(origin.pool.totalCount).toBe(1)
    expect(origin.pool.idleCount).toBe(0) // parked: still checked out…
    expect(origin.stats()).toMatchObject({ total: 1, idle: 1 }) // …but serving nobody
    await wireStatements('SELECT k FROM t', 'BEGIN', 'SELECT k FROM t', 'COMMIT', 'SELECT k FROM t')
    expect(origin.stats()).toMatchObject({ total: 1, idle: 1 })
  })

  it('at the connection limit, the pool takes a parked connection back instead of waiting (promise and callback forms)', async () => {
    await wireStatements('SELECT k FROM t')
    const started = Date.now()
    const client = await origin.pool.connect()
    client.release()
    await wireStatements('SELECT k FROM t')
    expect((await origin.pool.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }])
    expect(Date.now() - started).toBeLessThan(1000)
    expect(await connectionCount(direct)).toBeLessThanOrEqual(1)
  })

  it('a parked connection goes back to the pool after a short idle time', async () => {
    await wireStatements('SELECT k FROM t')
    expect(origin.pool.idleCount).toBe(0)
    await new Promise((r) => setTimeout(r, 1500))
    expect(origin.pool.idleCount).toBe(1)
    expect(origin.stats()).toMatchObject({ total: 1, idle: 1 })
  })

  it('session state is reset before a connection is parked', async () => {
    await wireStatements("SET application_name = 'parked'")
    const c = new pg.Client({ connectionString: wire })
    await c.connect()
    expect((await c.query('SHOW application_name')).rows[0].application_name).not.toBe('parked')
    await c.end()
  })

  it('shutdown ends cleanly with a parked connection', async () => {
    const other = await startSluice({ origin: `${direct}?connection_limit=2`, apiKeys: ['k'], pg: {} })
    const c = new pg.Client({ connectionString: other.pgUrl(direct) })
    await c.connect()
    await c.query('SELECT k FROM t')
    const started = Date.now()
    c.on('error', () => {})
    await other.close()
    // Not held up until the parked connection's idle time (1 s) runs out.
    expect(Date.now() - started).toBeLessThan(900)
    expect((other.sluice.origins[0] as OriginPool).pool.totalCount).toBe(0)
  })
})
