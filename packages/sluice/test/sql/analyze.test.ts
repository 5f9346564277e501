import { beforeAll, describe, expect, it } from 'vitest'
import { analyzeSql, initSqlParser } from '../../src/sql/analyze.js'

beforeAll(() => initSqlParser())

describe('analyzeSql', () => {
  it('finds the tables a Prisma read depends on, including joins and lateral subqueries', () => {
    const a = analyzeSql(
      'SELECT "t0"."id", "t1"."posts" FROM "public"."User" AS "t0" LEFT JOIN LATERAL (SELECT COALESCE(JSONB_AGG("p"), \'[]\') AS "posts" FROM "public"."Post" AS "p" WHERE "p"."authorId" = "t0"."id") AS "t1" ON true WHERE "t0"."email" = $1 LIMIT $2',
    )
    expect(a.kind).toBe('read')
    expect(a.reads.sort()).toEqual(['public.Post', 'public.User'])
    expect(a.writes).toEqual([])
    expect(a.functions).toContain('jsonb_agg')
  })

  it('classifies writes and their targets', () => {
    expect(analyzeSql('INSERT INTO "public"."User" ("email") VALUES ($1) RETURNING "id"')).toMatchObject({ kind: 'write', writes: ['public.User'] })
    expect(analyzeSql('UPDATE users SET n = 1 FROM accounts WHERE users.a = accounts.id')).toMatchObject({ kind: 'write', writes: ['public.users'], reads: ['public.accounts'] })
    expect(analyzeSql('DELETE FROM app.orders WHERE id = $1')).toMatchObject({ kind: 'write', writes: ['app.orders'] })
    expect(analyzeSql('TRUNCATE a, b.c')).toMatchObject({ kind: 'write', writes: ['public.a', 'b.c'] })
    expect(analyzeSql('WITH moved AS (DELETE FROM q RETURNING *) INSERT INTO done SELECT * FROM moved').writes.sort()).toEqual(['public.done', 'public.q'])
    expect(analyzeSql('MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET v = s.v')).toMatchObject({ kind: 'write', writes: ['public.t'] })
  })

  it('set_config() is a setting: session state unless local, and a moved search path when it names one (or cannot be read)', () => {
    expect(analyzeSql("SELECT set_config('app.tenant', '42', true)")).toMatchObject({ sessionState: false, writes: [], writesUnknown: false })
    expect(analyzeSql("SELECT set_config('app.tenant', '42', true)").searchPath).toBeUndefined()
    expect(analyzeSql("SELECT set_config('app.tenant', '42', false)")).toMatchObject({ sessionState: true })
    expect(analyzeSql("SELECT set_config('search_path', 'app', true)")).toMatchObject({ sessionState: false, searchPath: true })
    expect(analyzeSql('SELECT set_config($1, $2, true)')).toMatchObject({ sessionState: false, searchPath: true })
    expect(analyzeSql('SELECT set_config($1, $2, $3)')).toMatchObject({ sessionState: true, searchPath: true })
    // Texts of one shape that name different settings are analysed each by their own text.
    expect(analyzeSql("SELECT set_config('app.x', 'v', false)").searchPath).toBeUndefined()
    expect(analyzeSql("SELECT set_config('search_path', 'v', false)").searchPath).toBe(true)
    expect(analyzeSql("SELECT set_config('app.x', 'w', false)").searchPath).toBeUndefined()
  })

  it('SET of search_path or role moves name resolution; RESET of one does not', () => {
    expect(analyzeSql('SET LOCAL search_path TO app, public')).toMatchObject({ searchPath: true, sessionState: false })
    expect(analyzeSql('SET search_path = DEFAULT')).toMatchObject({ searchPath: true, sessionState: true })
    expect(analyzeSql('SET ROLE reporting').searchPath).toBe(true)
    expect(analyzeSql('SET TimeZone = UTC').searchPath).toBeUndefined()
    expect(analyzeSql('RESET search_path').searchPath).toBeUndefined()
  })

  it('uses the default schema for unqualified names and keeps quoted case', () => {
    expect(analyzeSql('SELECT * FROM "User", post', 'tenant1').reads.sort()).toEqual(['tenant1.User', 'tenant1.post'])
    expect(analyzeSql('SELECT * FROM Users').reads).toEqual(['public.users'])
  })

  it('flags statements whose effect cannot be bounded', () => {
    expect(analyzeSql('ALTER TABLE "User" ADD COLUMN x int')).toMatchObject({ kind: 'ddl', writesUnknown: true })
    expect(analyzeSql('CALL refresh_everything()')).toMatchObject({ writesUnknown: true })
    expect(analyzeSql('DO $$ BEGIN PERFORM 1; END $$')).toMatchObject({ writesUnknown: true })
    expect(analyzeSql('SELECT * INTO copy FROM src')).toMatchObject({ writesUnknown: true })
    expect(analyzeSql('this is not sql')).toMatchObject({ unparsed: true, writesUnknown: true })
  })

  it('treats session and transaction control as neither read nor write', () => {
    for (const sql of ['BEGIN', 'COMMIT', 'ROLLBACK', 'SET search_path TO x', 'SHOW TimeZone']) {
      expect(analyzeSql(sql)).toMatchObject({ kind: 'other', writes: [], writesUnknown: false })
    }
  })

  it('notices locking reads', () => {
    expect(analyzeSql('SELECT * FROM t WHERE id = 1 FOR UPDATE').locking).toBe(true)
    expect(analyzeSql('SELECT * FROM t').locking).toBe(false)
  })
})

describe('sqlShape', async () => {
  const { sqlShape } = await import('../../src/sql/shape.js')
  it('replaces literals and nothing else', () => {
    expect(sqlShape('SELECT abalance FROM pgbench_accounts WHERE aid = 12345;')).toBe('SELECT abalance FROM pgbench_accounts WHERE aid = ?;')
    expect(sqlShape("SELECT 'a''b', E'x\\'y', 1.5e-3, t1.c2 FROM t1 WHERE x = $1")).toBe('SELECT ?, ?, ?, t1.c2 FROM t1 WHERE x = $1')
    expect(sqlShape('SELECT "col 1", \'it\'\'s\' -- 42\nFROM "t2"')).toBe('SELECT "col 1", ? -- 42\nFROM "t2"')
    expect(sqlShape('SELECT $$ 12 $$, $tag$ x $tag$, col9 FROM t /* 7 */')).toBe('SELECT $$ 12 $$, $tag$ x $tag$, col9 FROM t /* 7 */')
    expect(sqlShape("SELECT 'unterminated")).toBe("SELECT 'unterminated")
  })
  it('gives equal analyses for statements that differ only in literals', () => {
    expect(analyzeSql('UPDATE t SET v = 1 WHERE id = 2')).toEqual(analyzeSql('UPDATE t SET v = 99 WHERE id = 7'))
  })
  it('never shares an analysis between tables whose names differ in digits after a non-ASCII letter', () => {
    expect(analyzeSql('SELECT * FROM é1 WHERE x = 1').reads).toEqual(['public.é1'])
    expect(analyzeSql('SELECT * FROM é2 WHERE x = 1').reads).toEqual(['public.é2'])
  })
})
