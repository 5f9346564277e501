import { beforeAll, describe, expect, it } from 'vitest'
import { Epochs } from '../../src/invalidation/epochs.js'
import { collectReads, collectWrites, collectWritesFrom, emptyWriteSet, writeInvalidation } from '../../src/invalidation/writes.js'
import { analyzeSql, initSqlParser } from '../../src/sql/analyze.js'

beforeAll(() => initSqlParser())

describe('write sets', () => {
  it('collects written tables from executed SQL', () => {
    const ws = collectWrites(['BEGIN', 'INSERT INTO "public"."User" ("email") VALUES ($1)', 'UPDATE "public"."Post" SET x = 1', 'COMMIT'], 'public', false)
    expect([...ws.tables].sort()).toEqual(['public.Post', 'public.User'])
    expect(ws.unknown).toBe(false)
  })
  it('treats user functions in raw SQL as writes of unknown extent, built-ins not', () => {
    expect(collectWrites(['SELECT do_things($1)'], 'public', true).unknown).toBe(true)
    expect(collectWrites(['SELECT count(*), lower(name) FROM t'], 'public', true).unknown).toBe(false)
    // Prisma-generated statements are trusted
    expect(collectWrites(['SELECT do_things($1)'], 'public', false).unknown).toBe(false)
  })
  it('after the search_path (or role) moved, writes count as unknown: their names may resolve elsewhere', () => {
    expect(collectWrites(['UPDATE items SET n = 1'], 'public', true)).toMatchObject({ unknown: false })
    expect(collectWrites(['BEGIN', 'SET LOCAL search_path TO app', 'UPDATE items SET n = 1', 'COMMIT'], 'public', true).unknown).toBe(true)
    expect(collectWrites(["SELECT set_config('search_path', 'app', true)", 'INSERT INTO items VALUES (1)'], 'public', true).unknown).toBe(true)
    // reads after it change nothing; other settings move nothing
    expect(collectWrites(['SET LOCAL search_path TO app', 'SELECT * FROM items'], 'public', true).unknown).toBe(false)
    expect(collectWrites(["SELECT set_config('app.tenant', '42', true)", 'UPDATE items SET n = 1'], 'public', true)).toMatchObject({ unknown: false, tables: new Set(['public.items']) })
  })
  it('collects from an analysis already made, by the same rules', () => {
    const into = emptyWriteSet()
    collectWritesFrom(analyzeSql('UPDATE "public"."Post" SET x = 1', 'public'), true, into)
    collectWritesFrom(analyzeSql('SELECT count(*) FROM t', 'public'), true, into)
    expect([...into.tables]).toEqual(['public.Post'])
    expect(into.unknown).toBe(false)
    expect(collectWritesFrom(analyzeSql('SELECT do_things(1)', 'public'), true, emptyWriteSet()).unknown).toBe(true)
    expect(collectWritesFrom(analyzeSql('SELECT do_things(1)', 'public'), false, emptyWriteSet()).unknown).toBe(false)
    expect(collectWritesFrom(analyzeSql('DROP TABLE t', 'public'), false, emptyWriteSet()).unknown).toBe(true)
  })
  it('applies to epochs: tables, or the whole origin when unknown', () => {
    const e = new Epochs()
    const dep = { origin: 'o', tables: ['public.a'], tenant: 't', tags: [] }
    const s0 = e.now()
    const apply = (sql: string) => {
      const inv = writeInvalidation('o', collectWrites([sql], 'public', true))
      if (inv) e.apply(inv)
    }
    apply('UPDATE b SET x = 1')
    expect(e.isFresh(dep, s0)).toBe(true)
    apply('UPDATE a SET x = 1')
    expect(e.isFresh(dep, s0)).toBe(false)
    const s1 = e.now()
    apply('ALTER TABLE z ADD COLUMN q int')
    expect(writeInvalidation('o', collectWrites(['SELECT 1'], 'public', true))).toBeNull()
    expect(e.isFresh(dep, s1)).toBe(false)
  })
  it('collects read dependencies, or null when one statement cannot be parsed', () => {
    expect(collectReads(['SELECT * FROM "public"."User" JOIN "public"."Post" ON true'], 'public')?.sort()).toEqual(['public.Post', 'public.User'])
    expect(collectReads(['SELECT * FROM x', 'not sql at all'], 'public')).toBeNull()
  })
})

describe('write sets on MySQL origins', () => {
  it('analyses with the MySQL parser and qualifies with the default database', () => {
    const ws = collectWrites(['BEGIN', 'INSERT INTO `User` (`email`) VALUES (?)', 'UPDATE `shop`.`Post` SET `views` = `views` + 1', 'COMMIT'], 'shop', false, undefined, 'mysql')
    expect([...ws.tables].sort()).toEqual(['shop.post', 'shop.user'])
    expect(ws.unknown).toBe(false)
    expect(collectReads(['SELECT `t0`.`id` FROM `Post` AS `t0` WHERE `t0`.`id` = ?'], 'shop', 'mysql')).toEqual(['shop.post'])
  })
  it('treats functions off the MySQL read-only list in raw SQL as writes of unknown extent', () => {
    expect(collectWrites(['SELECT do_things(?)'], 'shop', true, undefined, 'mysql').unknown).toBe(true)
    expect(collectWrites(['SELECT COUNT(*), NOW(), JSON_EXTRACT(j, ?) FROM t'], 'shop', true, undefined, 'mysql').unknown).toBe(false)
    expect(collectWrites(['CALL refresh()'], 'shop', true, undefined, 'mysql').unknown).toBe(true)
  })
  it('reads that cannot be parsed have unknown dependencies (never cached)', () => {
    expect(collectReads(['SELECT * FROM t WHERE MATCH (a) AGAINST (? IN BOOLEAN MODE) PROCEDURE ANALYSE()'], 'shop', 'mysql')).toBeNull()
  })
})
