import { beforeAll, describe, expect, it } from 'vitest'
import { MYSQL_VIEW_FUNCTIONS, RelationGraph, type RelationRow } from '../../src/invalidation/relations.js'
import { analyzeMysql } from '../../src/sql/mysql-analyze.js'
import { analyzeSql, initSqlParser } from '../../src/sql/analyze.js'

beforeAll(() => initSqlParser())

// A catalog as the Postgres query returns it: two views (one over the other), a partitioned table
// with a sub-partitioned partition, and a view calling a user function.
const catalog: RelationRow[] = [
  { name: 'public.v_users', definition: ' SELECT u.id, u.name FROM users u JOIN teams t ON t.id = u.team;', parents: [] },
  { name: 'public.v_top', definition: ' SELECT v_users.name FROM v_users WHERE v_users.id < 10;', parents: [] },
  { name: 'public.m_eu', definition: null, parents: ['public.m'] },
  { name: 'public.m_us', definition: null, parents: ['public.m'] },
  { name: 'public.m_us_east', definition: null, parents: ['public.m_us'] },
  { name: 'public.v_counted', definition: ' SELECT count_things() AS n;', parents: [] },
  { name: 'public.v_meas', definition: ' SELECT sum(m.v) AS s FROM m;', parents: [] },
  { name: 'public.v_recent', definition: ' SELECT users.id FROM users WHERE users.seen > (now() - \'01:00:00\'::interval);', parents: [] },
  { name: 'public.v_recent_top', definition: ' SELECT v_recent.id FROM v_recent WHERE v_recent.id < 10;', parents: [] },
  { name: 'public.v_today', definition: ' SELECT users.id FROM users WHERE users.day = CURRENT_DATE;', parents: [] },
]

function graph(rows: () => Promise<RelationRow[]>, now?: () => number) {
  return new RelationGraph({ load: rows, analyze: (sql) => analyzeSql(sql, 'public'), maxAgeMs: 1000, ...(now ? { now } : {}) })
}

const sorted = (r: unknown) => {
  const x = r as { tables?: string[] }
  return x.tables ? { tables: [...x.tables].sort() } : r
}

describe('RelationGraph', () => {
  it('resolves a read of a view to what it reads, through views of views', async () => {
    const g = graph(async () => catalog)
    expect(sorted(await g.readsOf(['public.v_top']))).toEqual({ tables: ['public.teams', 'public.users', 'public.v_top', 'public.v_users'] })
    // plain tables stay as they are (and, once loaded, the answer comes without waiting)
    expect(g.readsOf(['public.users'])).toEqual({ tables: ['public.users'] })
  })

  it('a read of a parent depends on every descendant; a view over it too', async () => {
    const g = graph(async () => catalog)
    expect(sorted(await g.readsOf(['public.m']))).toEqual({ tables: ['public.m', 'public.m_eu', 'public.m_us', 'public.m_us_east'] })
    expect(sorted(await g.readsOf(['public.v_meas']))).toEqual({ tables: ['public.m', 'public.m_eu', 'public.m_us', 'public.m_us_east', 'public.v_meas'] })
    // a partition read directly depends on itself (writes through the parent reach it, below)
    expect(await g.readsOf(['public.m_eu'])).toEqual({ tables: ['public.m_eu'] })
  })

  it('a write to a parent changes its descendants; a write to a child only the child', async () => {
    const g = graph(async () => catalog)
    await g.readsOf([]) // loaded
    expect([...(g.writesOf(['public.m']) ?? [])].sort()).toEqual(['public.m', 'public.m_eu', 'public.m_us', 'public.m_us_east'])
    expect(g.writesOf(['public.m_us_east'])).toEqual(['public.m_us_east'])
    expect(g.writesOf(['public.users'])).toEqual(['public.users'])
  })

  it('a write never waits for the catalog: before it is loaded, the whole origin (null), and the load starts', async () => {
    let loads = 0
    const g = graph(async () => {
      loads++
      return catalog
    })
    expect(g.writesOf(['public.m'])).toBeNull()
    expect(loads).toBe(1)
    await g.readsOf([]) // the same load
    expect(loads).toBe(1)
    expect(g.writesOf(['public.m'])).toHaveLength(4)
  })

  it('a view calling a function that is not a known built-in makes the result unknown', async () => {
    const g = graph(async () => catalog)
    expect(await g.readsOf(['public.users', 'public.v_counted'])).toEqual({ unknown: 'view public.v_counted calls count_things()' })
  })

  it('notes a view calling a volatile built-in, through views of views (the cache then leaves auto-mode reads unstored)', async () => {
    const g = graph(async () => catalog)
    const recent = (await g.readsOf(['public.v_recent_top'])) as { tables: string[]; volatile?: string }
    expect([...recent.tables].sort()).toEqual(['public.users', 'public.v_recent', 'public.v_recent_top'])
    expect(recent.volatile).toBe('view public.v_recent calls now()')
    expect(((await g.readsOf(['public.v_today'])) as { volatile?: string }).volatile).toMatch(/^view public\.v_today reads the clock/)
    // views without one are not noted
    expect(await g.readsOf(['public.v_users'])).not.toHaveProperty('volatile')
  })

  it('MySQL: view definitions as MariaDB prints them, with the MySQL lists of functions', async () => {
    const rows: RelationRow[] = [
      { name: 'shop.v_items', definition: 'select `shop`.`items`.`id` AS `id` from `shop`.`items`', parents: [] },
      { name: 'shop.v_top', definition: 'select `v_items`.`id` AS `id` from `shop`.`v_items` where `v_items`.`id` < 3', parents: [] },
      { name: 'shop.v_clock', definition: 'select `shop`.`items`.`id` AS `id`,current_timestamp() AS `t` from `shop`.`items`', parents: [] },
      { name: 'shop.v_seq', definition: 'select nextval(`shop`.`s`) AS `n` from `shop`.`items`', parents: [] },
      { name: 'shop.v_stored', definition: 'select `shop`.`item_count`() AS `n`', parents: [] },
      { name: 'shop.v_hidden', definition: '', parents: [] },
    ]
    const g = new RelationGraph({ load: async () => rows, analyze: (sql) => analyzeMysql(sql, 'shop'), functions: MYSQL_VIEW_FUNCTIONS })
    expect(sorted(await g.readsOf(['shop.v_top']))).toEqual({ tables: ['shop.items', 'shop.v_items', 'shop.v_top'] })
    expect(await g.readsOf(['shop.v_clock'])).toMatchObject({ volatile: expect.stringMatching(/^view shop\.v_clock /) })
    // a sequence is a built-in that reads no table: volatile, not unknown
    expect(await g.readsOf(['shop.v_seq'])).toMatchObject({ volatile: 'view shop.v_seq calls nextval()' })
    expect(await g.readsOf(['shop.v_stored'])).toHaveProperty('unknown')
    // a definition the user may not see cannot be analysed: never stored
    expect(await g.readsOf(['shop.v_hidden'])).toEqual({ unknown: 'view shop.v_hidden could not be analysed' })
  })

  it('when the catalog cannot be read: reads unknown, writes null (the whole origin); retried next time', async () => {
    let fail = true
    const g = graph(async () => {
      if (fail) throw new Error('origin down')
      return catalog
    })
    expect(await g.readsOf(['public.users'])).toEqual({ unknown: 'relation catalog unavailable' })
    expect(g.writesOf(['public.m'])).toBeNull() // (and tries again, in vain)
    await new Promise((r) => setTimeout(r, 0))
    fail = false
    expect(sorted(await g.readsOf(['public.v_users']))).toEqual({ tables: ['public.teams', 'public.users', 'public.v_users'] })
  })

  it('loads once for concurrent questions; refreshes in the background when older than maxAgeMs; reloads first after changed()', async () => {
    let loads = 0
    let rows: RelationRow[] = []
    let clock = 0
    let release: () => void = () => {}
    let gate: Promise<void> = Promise.resolve()
    const g = graph(
      async () => {
        loads++
        await gate
        return rows
      },
      () => clock,
    )
    await Promise.all([g.readsOf(['public.v_users']), g.readsOf(['public.m']), g.readsOf(['public.x'])])
    expect(loads).toBe(1)
    // a view created behind Sluice's back: the old answer until the catalog is older than maxAgeMs…
    rows = catalog
    expect(g.readsOf(['public.v_users'])).toEqual({ tables: ['public.v_users'] })
    clock = 1001
    gate = new Promise((r) => (release = r))
    // …then the old answer still, at once, while the new catalog loads…
    expect(g.readsOf(['public.v_users'])).toEqual({ tables: ['public.v_users'] })
    expect(loads).toBe(2)
    release()
    await g.readsOf([]) // (settles)
    await new Promise((r) => setTimeout(r, 0))
    // …and the new one once loaded
    expect(sorted(g.readsOf(['public.v_users']))).toEqual({ tables: ['public.teams', 'public.users', 'public.v_users'] })
    // DDL through Sluice: the next read waits for a reload; writes meanwhile are origin-wide
    rows = []
    g.changed()
    expect(g.writesOf(['public.m'])).toBeNull()
    expect(await g.readsOf(['public.v_users'])).toEqual({ tables: ['public.v_users'] })
    expect(loads).toBe(3)
  })
})
