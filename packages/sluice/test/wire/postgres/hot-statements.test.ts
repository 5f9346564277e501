import { describe, expect, it } from 'vitest'
import { HOT_LIMIT, HOT_TEXT_MAX, HotStatements, joinedAnswer, type HotExecution, type HotStatement } from '../../../src/wire/postgres/hot-statements.js'
import { CacheEntry } from '../../../src/cache/query-cache.js'
import { analyzeSql } from '../../../src/sql/analyze.js'
import type { WireCacheSettings } from '../../../src/wire/postgres/cache-policy.js'

const rules = (): WireCacheSettings => ({ mode: 'auto', autoTtlMs: 60_000, maxResultBytes: 1 << 20 })
const record = (key: string, r: WireCacheSettings): HotStatement => ({
  analysis: analyzeSql('SELECT 1 FROM t'),
  policy: { ttlMs: 60_000, swrMs: 0, tags: [] },
  key,
  rules: r,
  entry: undefined,
  head: undefined,
  answer: undefined,
})

describe('HotStatements', () => {
  it('keeps records per key space', () => {
    const hot = new HotStatements<HotStatement>()
    const r = rules()
    const a = hot.space('a')
    const b = hot.space('b')
    expect(hot.space('a')).toBe(a)
    hot.remember(a, 'SELECT 1 FROM t', record('ka', r))
    expect(a.get('SELECT 1 FROM t')?.key).toBe('ka')
    expect(b.get('SELECT 1 FROM t')).toBeUndefined()
  })

  it('keeps the first record made under the same rules, and replaces one made under rules since replaced', () => {
    const hot = new HotStatements<HotStatement>()
    const before = rules()
    const space = hot.space('s')
    hot.remember(space, 'q', record('first', before))
    hot.remember(space, 'q', record('second', before))
    expect(space.get('q')?.key).toBe('first')
    const after = rules()
    hot.remember(space, 'q', record('third', after))
    expect(space.get('q')?.key).toBe('third')
    expect(hot.size).toBe(1)
  })

  it('does not keep long texts', () => {
    const hot = new HotStatements<HotStatement>()
    const space = hot.space('s')
    hot.remember(space, 'x'.repeat(HOT_TEXT_MAX + 1), record('k', rules()))
    expect(space.size).toBe(0)
    hot.remember(space, 'x'.repeat(HOT_TEXT_MAX), record('k', rules()))
    expect(space.size).toBe(1)
  })

  it('starts again past its bound, emptying the tables sessions hold', () => {
    const hot = new HotStatements<HotStatement>()
    const r = rules()
    const a = hot.space('a')
    const b = hot.space('b')
    for (let i = 0; i < HOT_LIMIT; i++) hot.remember(i % 2 === 0 ? a : b, `q${i}`, record(`k${i}`, r))
    expect(hot.size).toBe(HOT_LIMIT)
    hot.remember(a, 'one more', record('k', r))
    expect(hot.size).toBe(1)
    expect(a.size).toBe(1)
    expect(b.size).toBe(0)
    expect(hot.space('b')).toBe(b)
  })

  it('counts the parameter sets of executions like records, within the same bound', () => {
    const hot = new HotStatements<HotExecution>()
    const r = rules()
    const space = hot.space('x')
    const execution = hot.remember(space, 'SELECT v FROM t WHERE id = $1', {
      analysis: analyzeSql('SELECT v FROM t WHERE id = $1'),
      policy: { ttlMs: 60_000, swrMs: 0, tags: [] },
      rules: r,
      parse: true,
      describe: true,
      paramTypes: Buffer.alloc(2),
      keyHead: 'head\u0000',
      byParams: new Map(),
    })!
    expect(hot.knownFor(execution, 'p1')).toBe(hot.knownFor(execution, 'p1'))
    expect(hot.size).toBe(2)
    for (let i = 2; i < HOT_LIMIT; i++) hot.knownFor(execution, `p${i}`)
    expect(hot.size).toBe(HOT_LIMIT)
    hot.knownFor(execution, 'one more')
    expect(hot.size).toBe(1)
    expect(space.size).toBe(0)
  })
})

describe('joinedAnswer', () => {
  const entry = (payload: Buffer) => new CacheEntry('k', payload, { origin: 'o', tables: [], tenant: 't', tags: [] }, [], 0, Date.now(), payload.length, undefined)
  const ready = Buffer.from('Z')

  it('joins what precedes the rows, the rows and ReadyForQuery once per entry', () => {
    const known = { entry: undefined, head: undefined, answer: undefined }
    const e1 = entry(Buffer.from('rows'))
    const head = Buffer.from('12')
    const a = joinedAnswer(known, e1, head, ready)
    expect(a?.toString()).toBe('12rowsZ')
    expect(joinedAnswer(known, e1, head, ready)).toBe(a)
    // The same entry with another head (an execution sent without Parse): joined again.
    expect(joinedAnswer(known, e1, Buffer.from('2'), ready)?.toString()).toBe('2rowsZ')
    const e2 = entry(Buffer.from('new'))
    expect(joinedAnswer(known, e2, undefined, ready)?.toString()).toBe('newZ')
  })

  it('keeps nothing for large results', () => {
    const known = { entry: undefined, head: undefined, answer: undefined }
    joinedAnswer(known, entry(Buffer.from('small')), undefined, ready)
    expect(joinedAnswer(known, entry(Buffer.alloc(4096)), undefined, ready)).toBeUndefined()
    expect(known).toEqual({ entry: undefined, head: undefined, answer: undefined })
  })
})
