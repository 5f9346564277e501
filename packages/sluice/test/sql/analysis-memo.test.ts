import { describe, expect, it } from 'vitest'
import { AnalysisMemo } from '../../src/sql/analysis-memo.js'
import type { StatementAnalysis } from '../../src/sql/analyze.js'
import { sqlShape } from '../../src/sql/shape.js'

const analysis = (sql: string) => ({ kind: 'read', reads: [sql], writes: [], writesUnknown: false, functions: [], locking: false, unparsed: false, statements: 1, sqlValueFunctions: false, sessionState: false }) as StatementAnalysis

describe('AnalysisMemo', () => {
  it('shares one analysis per shape, and finds a remembered text without shaping it', () => {
    let shaped = 0
    const memo = new AnalysisMemo((sql) => {
      shaped++
      return sqlShape(sql)
    })
    const a = memo.get('SELECT a FROM t WHERE k = 1', 'public', analysis)
    expect(memo.get('SELECT a FROM t WHERE k = 2', 'public', analysis)).toBe(a)
    expect(shaped).toBe(2)
    memo.remember('SELECT a FROM t WHERE k = 2', 'public', a)
    expect(memo.get('SELECT a FROM t WHERE k = 2', 'public', analysis)).toBe(a)
    expect(shaped).toBe(2)
    // per scope
    expect(memo.get('SELECT a FROM t WHERE k = 2', 'other', analysis)).not.toBe(a)
  })
})
