import { describe, expect, it } from 'vitest'
import { analyzeMysql } from '../../src/sql/mysql-analyze.js'
import { mysqlShape } from '../../src/sql/mysql-shape.js'
import { MYSQL_READ_ONLY_FUNCTIONS, volatileMysqlFunctions } from '../../src/sql/mysql-functions.js'

describe('analyzeMysql', () => {
  it('finds the tables a Prisma read depends on, qualified with the default database and lower-cased', () => {
    const a = analyzeMysql(
      'SELECT `t0`.`id`, `t0`.`email` FROM `App`.`User` AS `t0` WHERE (`t0`.`id` IN (SELECT `t1`.`authorId` FROM `Post` AS `t1` WHERE `t1`.`published` = ?)) LIMIT ? OFFSET ?',
      'shop',
    )
    expect(a).toMatchObject({ kind: 'read', writes: [], writesUnknown: false, unparsed: false, statements: 1, locking: false, sessionState: false })
    expect(a.reads.sort()).toEqual(['app.user', 'shop.post'])
  })

  it('classifies writes and their targets', () => {
    expect(analyzeMysql('INSERT INTO `shop`.`User` (`email`) VALUES (?)', 'shop')).toMatchObject({ kind: 'write', writes: ['shop.user'], reads: [] })
    expect(analyzeMysql('UPDATE `Post` SET `views` = `views` + 1 WHERE `authorId` IN (SELECT id FROM `User` WHERE email = ?)', 'db')).toMatchObject({
      kind: 'write',
      writes: ['db.post'],
      reads: ['db.user'],
    })
    expect(analyzeMysql('DELETE FROM orders WHERE id = 1', 'db')).toMatchObject({ kind: 'write', writes: ['db.orders'] })
    expect(analyzeMysql('REPLACE INTO t VALUES (1)', 'db')).toMatchObject({ kind: 'write', writes: ['db.t'] })
    expect(analyzeMysql('TRUNCATE TABLE x.t', 'db')).toMatchObject({ kind: 'write', writes: ['x.t'] })
    expect(analyzeMysql('INSERT INTO a SELECT * FROM b', 'db')).toMatchObject({ writes: ['db.a'], reads: ['db.b'] })
    expect(analyzeMysql('INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = VALUES(a)', 'db')).toMatchObject({ kind: 'write', writes: ['db.t'] })
    expect(analyzeMysql("LOAD DATA INFILE 'f.csv' INTO TABLE t", 'db')).toMatchObject({ kind: 'write', writes: ['db.t'] })
  })

  it('counts every table of a multi-table UPDATE/DELETE as written (never fewer than the truth)', () => {
    expect(analyzeMysql('UPDATE t1 JOIN t2 ON t1.id = t2.id SET t1.a = t2.a', 'db').writes.sort()).toEqual(['db.t1', 'db.t2'])
    expect(analyzeMysql('DELETE t1 FROM t1 JOIN t2 ON t1.id = t2.id', 'db').writes.sort()).toEqual(['db.t1', 'db.t2'])
  })

  it('flags statements whose effect cannot be bounded', () => {
    expect(analyzeMysql('ALTER TABLE t ADD c int', 'db')).toMatchObject({ kind: 'ddl', writesUnknown: true })
    expect(analyzeMysql('DROP TABLE t', 'db')).toMatchObject({ kind: 'ddl', writesUnknown: true })
    expect(analyzeMysql('CALL refresh_everything()', 'db')).toMatchObject({ kind: 'write', writesUnknown: true })
    expect(analyzeMysql('this is not sql', 'db')).toMatchObject({ unparsed: true, writesUnknown: true, kind: 'write' })
    // Executable comments are code to the server, comments to the parser.
    expect(analyzeMysql('/*!50000 DROP TABLE t */', 'db')).toMatchObject({ unparsed: true, writesUnknown: true })
    expect(analyzeMysql('SELECT 1 /*M! , (SELECT 1) */', 'db')).toMatchObject({ unparsed: true })
  })

  it('treats transaction control as neither read nor write, and notices session state', () => {
    for (const sql of ['BEGIN', 'START TRANSACTION', 'COMMIT', 'ROLLBACK', 'SAVEPOINT sp1', 'RELEASE SAVEPOINT sp1', 'ROLLBACK TO SAVEPOINT sp1']) {
      expect(analyzeMysql(sql, 'db'), sql).toMatchObject({ kind: 'other', writes: [], writesUnknown: false, unparsed: false, sessionState: false })
    }
    for (const sql of ['SET @a = 1', 'SET SESSION sql_mode = ?', 'SET NAMES utf8mb4', 'SET TRANSACTION ISOLATION LEVEL READ COMMITTED', 'USE other', 'LOCK TABLES t WRITE']) {
      expect(analyzeMysql(sql, 'db'), sql).toMatchObject({ writesUnknown: false, sessionState: true })
    }
    expect(analyzeMysql('CREATE TEMPORARY TABLE tmp (a int)', 'db')).toMatchObject({ sessionState: true, kind: 'ddl' })
    expect(analyzeMysql("SELECT GET_LOCK('x', 1)", 'db').sessionState).toBe(true)
    expect(analyzeMysql('SELECT a INTO @x FROM t', 'db').sessionState).toBe(true)
    expect(analyzeMysql('SELECT LAST_INSERT_ID(5)', 'db').sessionState).toBe(true)
    expect(analyzeMysql('SELECT LAST_INSERT_ID()', 'db').sessionState).toBe(false)
  })

  it('notices locking reads in both dialects', () => {
    expect(analyzeMysql('SELECT * FROM t WHERE id = 1 FOR UPDATE', 'db').locking).toBe(true)
    expect(analyzeMysql('SELECT * FROM t LOCK IN SHARE MODE', 'db').locking).toBe(true)
    expect(analyzeMysql('SELECT * FROM t', 'db').locking).toBe(false)
  })

  it('lists the functions called and session-dependent values', () => {
    const a = analyzeMysql('SELECT NOW(), RAND(), UUID(), LAST_INSERT_ID(), COUNT(*), my_func(a) FROM t', 'db')
    expect(a.functions.sort()).toEqual(['count', 'last_insert_id', 'my_func', 'now', 'rand', 'uuid'])
    expect(volatileMysqlFunctions(a.functions).sort()).toEqual(['last_insert_id', 'my_func', 'now', 'rand', 'uuid'])
    expect(analyzeMysql('SELECT CURRENT_TIMESTAMP FROM t', 'db').sqlValueFunctions).toBe(true)
    expect(analyzeMysql('SELECT @@version', 'db').sqlValueFunctions).toBe(true)
    expect(analyzeMysql('SELECT COUNT(*), JSON_EXTRACT(j, ?) FROM t GROUP BY b', 'db')).toMatchObject({ sqlValueFunctions: false })
    expect(volatileMysqlFunctions(analyzeMysql('SELECT COUNT(*), JSON_EXTRACT(j, ?) FROM t', 'db').functions)).toEqual([])
    // A user function may write: not on the read-only list.
    expect(MYSQL_READ_ONLY_FUNCTIONS.has('my_func')).toBe(false)
    expect(MYSQL_READ_ONLY_FUNCTIONS.has('now')).toBe(true)
  })

  it('counts statements', () => {
    expect(analyzeMysql('SELECT 1; SELECT 2', 'db').statements).toBe(2)
  })
})

describe('mysqlShape', () => {
  it('replaces literals and nothing else', () => {
    expect(mysqlShape('SELECT c FROM t1 WHERE id = 12345 AND s = \'x\'\'y\'')).toBe('SELECT c FROM t1 WHERE id = ? AND s = ?')
    expect(mysqlShape('SELECT `col 1`, 2e-3 FROM `t2` # 42\nWHERE x = ?')).toBe('SELECT `col 1`, ? FROM `t2` # 42\nWHERE x = ?')
    expect(mysqlShape('SELECT 1abc FROM t /* 7 */')).toBe('SELECT 1abc FROM t /* 7 */')
  })
  it('keeps texts whose lexing depends on sql_mode as they are', () => {
    // "…" is an identifier under ANSI_QUOTES: never replaced.
    expect(mysqlShape('SELECT * FROM "users" WHERE a = 1')).toBe('SELECT * FROM "users" WHERE a = ?')
    // A backslash escapes a quote unless NO_BACKSLASH_ESCAPES: no shape at all.
    expect(mysqlShape("SELECT 'a\\', b FROM t WHERE x = 1")).toBe("SELECT 'a\\', b FROM t WHERE x = 1")
    expect(mysqlShape("SELECT 'unterminated")).toBe("SELECT 'unterminated")
  })
  it('gives equal analyses for statements that differ only in literals', () => {
    const a = analyzeMysql('SELECT * FROM t WHERE id = 1', 'db')
    expect(analyzeMysql('SELECT * FROM t WHERE id = 2', 'db')).toBe(a)
    expect(analyzeMysql('SELECT * FROM t WHERE id = 2', 'other')).not.toBe(a)
  })
})
