// The freshness promise over the wire: readers with a long hinted ttl while writers update the
// same rows through the wire door. No read may return a version older than the last write
// acknowledged before the read began (randomised; thousands of operations).
import pg from 'pg'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createDatabase, describeWithPostgres } from '../../helpers/postgres.js'
import { startSluice, type TestSluice } from '../../helpers/sluice.js'
import { prng } from '../../../../../bench/lib/stats.mjs'

describeWithPostgres('no stale read over the wire after an acknowledged write', () => {
  let s: TestSluice
  let wire: string
  const ROWS = 6
  beforeAll(async () => {
    const url = await createDatabase('wire_stale', `CREATE TABLE versions (id int PRIMARY KEY, v int NOT NULL); INSERT INTO versions SELECT g, 0 FROM generate_series(1, ${ROWS}) g`)
    s = await startSluice({ origin: `${url}?connection_limit=6`, apiKeys: ['k'], pg: {} })
    wire = s.pgUrl(url)
  })
  afterAll(async () => s?.close())

  it('holds for thousands of randomised reads and writes', async () => {
    const startSeed = Number(process.env.STALE_SEED ?? Date.now() % 100000)
    const random = prng(startSeed)
    const acked = new Map<number, number>()
    const next = new Map<number, number>()
    const locks = new Map<number, Promise<void>>()
    for (let id = 1; id <= ROWS; id++) {
      acked.set(id, 0)
      next.set(id, 0)
      locks.set(id, Promise.resolve())
    }
    const violations: string[] = []
    let reads = 0
    let writes = 0
    const pick = () => 1 + Math.floor(random() * ROWS)

    const clients = await Promise.all(Array.from({ length: 14 }, async () => {
      const c = new pg.Client({ connectionString: wire })
      await c.connect()
      return c
    }))
    const write = async (c: pg.Client) => {
      const id = pick()
      const prev = locks.get(id)!
      let release!: () => void
      locks.set(id, new Promise<void>((r) => (release = r)))
      await prev
      const version = next.get(id)! + 1
      next.set(id, version)
      try {
        if (random() < 0.5) await c.query('UPDATE versions SET v = $1 WHERE id = $2', [version, id])
        else {
          await c.query('BEGIN')
          await c.query(`UPDATE versions SET v = ${version} WHERE id = ${id}`)
          await c.query('COMMIT')
        }
        acked.set(id, version)
        writes++
      } finally {
        release()
      }
    }
    const read = async (c: pg.Client) => {
      const id = pick()
      const floor = acked.get(id)!
      const hint = random() < 0.7 ? 'ttl=60' : 'ttl=0 swr=60'
      const r = await c.query(`/* sluice: ${hint} */ SELECT v FROM versions WHERE id = ${id}`)
      reads++
      if (r.rows[0].v < floor) violations.push(`row ${id}: read version ${r.rows[0].v} after version ${floor} was acknowledged`)
    }
    try {
      await Promise.all(clients.map(async (c, i) => {
        const writeShare = i < 2 ? 0.6 : 0.15
        for (let n = 0; n < 220; n++) await (random() < writeShare ? write(c) : read(c))
      }))
    } finally {
      await Promise.all(clients.map((c) => c.end()))
    }
    expect(violations, `seed ${startSeed}`).toEqual([])
    expect(reads + writes).toBeGreaterThan(2500)
    expect(writes).toBeGreaterThan(300)
    const st = s.sluice.cache.stats()
    expect(st.hitsFresh + st.hitsStale).toBeGreaterThan(100) // the cache was really in play
  }, 120_000)
})
