import { describe, expect, it } from 'vitest'
import { sqlShape } from '../../src/sql/shape.js'

describe('sqlShape', () => {
  it('replaces numbers, including decimals and exponents', () => {
    expect(sqlShape('SELECT 1, 2.5, 1e5, 1.5e-3, 2E+7 FROM t')).toBe('SELECT ?, ?, ?, ?, ? FROM t')
    expect(sqlShape('SELECT abalance FROM pgbench_accounts WHERE aid = 12345;')).toBe('SELECT abalance FROM pgbench_accounts WHERE aid = ?;')
    expect(sqlShape('SELECT 42')).toBe('SELECT ?')
  })

  it('leaves identifiers containing digits alone', () => {
    expect(sqlShape('SELECT t1.c2, col9, x_1 FROM t1')).toBe('SELECT t1.c2, col9, x_1 FROM t1')
    // digits followed by an identifier character are not a number on their own
    expect(sqlShape('SELECT 1abc FROM t')).toBe('SELECT 1abc FROM t')
    expect(sqlShape('SELECT a$1 FROM t')).toBe('SELECT a$1 FROM t')
    // non-ASCII letters are identifier characters too: `é1` and `é2` are different tables, not `é?`
    expect(sqlShape('SELECT * FROM é1 WHERE x = 2')).toBe('SELECT * FROM é1 WHERE x = ?')
    expect(sqlShape('SELECT größe2, 3 FROM t')).toBe('SELECT größe2, ? FROM t')
  })

  it('replaces strings, with doubled quotes and E-string escapes', () => {
    expect(sqlShape("SELECT 'a''b', 'it''s' FROM t")).toBe('SELECT ?, ? FROM t')
    expect(sqlShape("SELECT E'x\\'y', e'\\\\' FROM t")).toBe('SELECT ?, ? FROM t')
    // E at the end of an identifier does not start an escape string
    expect(sqlShape("SELECT name'x' FROM t")).toBe('SELECT name? FROM t')
    expect(sqlShape("SELECT 'unterminated")).toBe("SELECT 'unterminated")
    expect(sqlShape("SELECT E'unterminated\\'")).toBe("SELECT E'unterminated\\'")
  })

  it('keeps quoted identifiers', () => {
    expect(sqlShape('SELECT "col 1", "x\'2" FROM "t2" WHERE a = 3')).toBe('SELECT "col 1", "x\'2" FROM "t2" WHERE a = ?')
    expect(sqlShape('SELECT "open 1')).toBe('SELECT "open 1')
  })

  it('keeps comments', () => {
    expect(sqlShape("SELECT 'x' -- 42 'y'\nFROM t WHERE a = 1")).toBe("SELECT ? -- 42 'y'\nFROM t WHERE a = ?")
    expect(sqlShape('SELECT 1 -- trailing 7')).toBe('SELECT ? -- trailing 7')
    expect(sqlShape("/* sluice: ttl=60 */ SELECT a FROM t /* 7 '8' */ WHERE b = 9")).toBe("/* sluice: ttl=60 */ SELECT a FROM t /* 7 '8' */ WHERE b = ?")
    expect(sqlShape('SELECT 1 /* unterminated')).toBe('SELECT 1 /* unterminated')
  })

  it('keeps dollar-quoted bodies and parameters', () => {
    expect(sqlShape('SELECT $$ 12 $$, $tag$ x $tag$, $_t1$ 3 $_t1$, col9 FROM t')).toBe('SELECT $$ 12 $$, $tag$ x $tag$, $_t1$ 3 $_t1$, col9 FROM t')
    expect(sqlShape('SELECT a FROM t WHERE x = $1 AND y = $12 AND z = 5')).toBe('SELECT a FROM t WHERE x = $1 AND y = $12 AND z = ?')
    expect(sqlShape('SELECT $a$ unterminated')).toBe('SELECT $a$ unterminated')
    // a tag longer than 64 characters is not taken for a tag
    const long = '$' + 'a'.repeat(70) + '$'
    expect(sqlShape(`SELECT ${long} 5`)).toBe(`SELECT ${long} ?`)
  })

  it('returns the text itself when there is nothing to replace', () => {
    const sql = 'SELECT a FROM t WHERE b = $1'
    expect(sqlShape(sql)).toBe(sql)
    expect(sqlShape('')).toBe('')
  })
})
