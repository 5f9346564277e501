import { describe, expect, it } from 'vitest'
import { DependencyInterner } from '../../src/cache/dependency-interner.js'
import { dependencyFields, type Dependencies } from '../../src/invalidation/epochs.js'

const deps = (over: Partial<Dependencies> = {}): Dependencies => ({ origin: 'o1', tables: ['public.t'], tenant: 'a', tags: [], ...over })

describe('DependencyInterner', () => {
  it('gives entries with the same dependencies one shared object and field list', () => {
    const interner = new DependencyInterner()
    const a = interner.intern(deps())
    const b = interner.intern(deps())
    expect(b).toBe(a)
    expect(a.deps).toEqual(deps())
    expect(a.fields).toEqual(dependencyFields(deps()))
  })

  it('keeps sets apart that differ in anything the cache checks, the origin included', () => {
    const interner = new DependencyInterner()
    const variants = [
      deps(),
      deps({ tables: ['public.u'] }),
      deps({ tables: ['public.t', 'public.u'] }),
      deps({ tags: ['x'] }),
      deps({ tenant: 'b' }),
      deps({ origin: 'o2' }),
      // without tracked tables the fields leave the origin out: the origin must still count
      deps({ tables: null }),
      deps({ tables: null, origin: 'o2' }),
      deps({ tables: [] }),
      // separators inside quoted identifiers cannot make two sets look alike
      deps({ tables: ['public.x', 'public.y'] }),
      deps({ tables: ['public.x\u0001t:o1:public.y'] }),
      deps({ tables: ['public.x","public.y'] }),
    ]
    const got = variants.map((d) => interner.intern(d))
    expect(new Set(got).size).toBe(variants.length)
    got.forEach((g, i) => expect(g.deps).toEqual(variants[i]))
  })

  it('does not alias the caller’s arrays', () => {
    const interner = new DependencyInterner()
    const tables = ['public.t']
    const tags = ['x']
    const got = interner.intern(deps({ tables, tags }))
    tables.push('public.evil')
    tags.push('y')
    expect(got.deps.tables).toEqual(['public.t'])
    expect(got.deps.tags).toEqual(['x'])
  })

  it('is bounded: a set that fell out is interned afresh, equal to the old one', () => {
    const interner = new DependencyInterner(4)
    const first = interner.intern(deps({ tags: ['t0'] }))
    for (let i = 1; i < 10; i++) interner.intern(deps({ tags: [`t${i}`] }))
    expect(interner.size).toBe(4)
    const again = interner.intern(deps({ tags: ['t0'] }))
    expect(again).not.toBe(first)
    expect(again).toEqual(first)
  })
})
