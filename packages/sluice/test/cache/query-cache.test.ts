import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { QueryCache, cacheSignature, type CachePolicy, type Produced } from '../../src/cache/query-cache.js'
import { Epochs, type Dependencies, type Invalidation } from '../../src/invalidation/epochs.js'
import { RelationGraph } from '../../src/invalidation/relations.js'
import { analyzeSql } from '../../src/sql/analyze.js'

const policy: CachePolicy = { ttlMs: 1000, swrMs: 1000, tags: [] }
const deps = (tables: string[] = ['public.t'], tags: string[] = []): Dependencies => ({ origin: 'o1', tables, tenant: 'a', tags })

function producer(epochs: Epochs, bytes = 10, d = deps()) {
  let calls = 0
  const produce = async (): Promise<Produced> => {
    calls++
    const startedSeq = epochs.now()
    await new Promise((r) => setTimeout(r, 5))
    return { payload: Buffer.alloc(bytes, 1), deps: d, startedSeq, producedAt: Date.now(), storable: true }
  }
  return { produce, calls: () => calls }
}

describe('QueryCache', () => {
  it('serves fresh, then stale within swr, then misses', async () => {
    const epochs = new Epochs()
    const cache = new QueryCache({ maxBytes: 1e6, epochs })
    const p = producer(epochs)
    await cache.fill('k', policy, p.produce)
    const t0 = Date.now()
    expect(cache.lookup('k', policy, t0)?.state).toBe('fresh')
    expect(cache.lookup('k', policy, t0 + 1500)?.state).toBe('stale')
    expect(cache.lookup('k', policy, t0 + 2500)).toBeUndefined()
    // the caller's policy decides: a stricter caller gets a miss where a looser one gets a hit
    expect(cache.lookup('k', { ttlMs: 0, swrMs: 0, tags: [] }, t0 + 50)).toBeUndefined()
  })

  it('runs concurrent identical misses once', async () => {
    const epochs = new Epochs()
    const cache = new QueryCache({ maxBytes: 1e6, epochs })
    const p = producer(epochs)
    const results = await Promise.all(Array.from({ length: 50 }, () => cache.fill('k', policy, p.produce)))
    expect(p.calls()).toBe(1)
    expect(new Set(results).size).toBe(1)
    expect(cache.stats().joins).toBe(49)
  })

  it('refuses a fill when a dependency was invalidated while it ran, and joiners re-run', async () => {
    const epochs = new Epochs()
    const cache = new QueryCache({ maxBytes: 1e6, epochs })
    const p = producer(epochs)
    const leader = cache.fill('k', policy, p.produce)
    const joiner = cache.fill('k', policy, p.produce)
    epochs.bumpTables('o1', ['public.t']) // a write acknowledged while the read is in flight
    await leader
    await joiner
    expect(p.calls()).toBe(2)
    expect(cache.stats().fillsFenced).toBe(1)
    expect(cache.lookup('k', policy, Date.now())).toBeUndefined()
  })

  it('stops serving entries whose tables, tags, origin or tenant were invalidated', async () => {
    for (const invalidate of [
      (e: Epochs) => e.bumpTables('o1', ['public.t']),
      (e: Epochs) => e.bumpOrigin('o1'),
      (e: Epochs) => e.bumpTags('a', ['tag1']),
      (e: Epochs) => e.bumpTenant('a'),
    ]) {
      const epochs = new Epochs()
      const cache = new QueryCache({ maxBytes: 1e6, epochs })
      await cache.fill('k', policy, producer(epochs, 10, deps(['public.t'], ['tag1'])).produce)
      expect(cache.lookup('k', policy, Date.now())).toBeDefined()
      invalidate(epochs)
      expect(cache.lookup('k', policy, Date.now())).toBeUndefined()
    }
  })

  it('ignores unrelated invalidations', async () => {
    const epochs = new Epochs()
    const cache = new QueryCache({ maxBytes: 1e6, epochs })
    await cache.fill('k', policy, producer(epochs, 10, deps(['public.t'], ['tag1'])).produce)
    epochs.bumpTables('o1', ['public.other'])
    epochs.bumpTables('o2', ['public.t'])
    epochs.bumpTags('b', ['tag1'])
    epochs.bumpTenant('b')
    epochs.bumpOrigin('o2')
    expect(cache.lookup('k', policy, Date.now())).toBeDefined()
  })

  it('with write-aware invalidation off, table writes do not matter but tags still do', async () => {
    const epochs = new Epochs()
    const cache = new QueryCache({ maxBytes: 1e6, epochs })
    await cache.fill('k', policy, producer(epochs, 10, { origin: 'o1', tables: null, tenant: 'a', tags: ['x'] }).produce)
    epochs.bumpOrigin('o1')
    expect(cache.lookup('k', policy, Date.now())).toBeDefined()
    epochs.bumpTags('a', ['x'])
    expect(cache.lookup('k', policy, Date.now())).toBeUndefined()
  })

  it('renders the HTTP headers of an entry on first use: last-modified from when it was produced, the signature from its key', async () => {
    const epochs = new Epochs()
    const cache = new QueryCache({ maxBytes: 1e6, epochs })
    const produced = await cache.fill('k', policy, producer(epochs).produce)
    const entry = cache.lookup('k', policy, Date.now())!.entry
    expect(entry.lastModified).toBe(new Date(produced.producedAt).toUTCString())
    expect(entry.signature).toBe(cacheSignature('k'))
    expect(entry.signature).toMatch(/^[0-9a-f]{32}$/)
    expect(entry.signature).toBe(entry.signature)
    expect(cacheSignature('k2')).not.toBe(entry.signature)
  })

  it('admits a key for auto-mode storing on its second miss while the first is remembered', () => {
    const cache = new QueryCache({ maxBytes: 1e6, epochs: new Epochs() })
    expect(cache.admit('k1')).toBe(false)
    expect(cache.admit('k1')).toBe(true)
    expect(cache.admit('k1')).toBe(true)
    expect(cache.admit('k2')).toBe(false)
    // remembered for at least 65,536 other first misses, then forgotten
    for (let i = 0; i < 65_536; i++) cache.admit(`other-${i}`)
    expect(cache.admit('k2')).toBe(true)
    for (let i = 0; i < 2 * 65_536; i++) cache.admit(`more-${i}`)
    expect(cache.admit('k1')).toBe(false)
  })

  it('reads the relation catalog again after DDL only, not when a write was widened to the whole origin for want of a catalog', async () => {
    const epochs = new Epochs()
    const cache = new QueryCache({ maxBytes: 1e6, epochs })
    let release: () => void = () => {}
    let loads = 0
    const graph = new RelationGraph({
      load: () => {
        loads++
        return new Promise((resolve) => (release = () => resolve([{ name: 'public.p_1', definition: null, parents: ['public.p'] }])))
      },
      analyze: (sql) => analyzeSql(sql, 'public'),
    })
    cache.relations.set('o1', graph)
    const seen: Invalidation[] = []
    cache.onInvalidate = (inv) => seen.push(inv)
    // No catalog yet: a write is widened to the whole origin (and starts the load)...
    await cache.invalidate({ kind: 'tables', origin: 'o1', tables: ['public.p'] })
    expect(seen.at(-1)).toEqual({ kind: 'origin', origin: 'o1' })
    // ...which, here or arriving from another node, must not throw the loading catalog away.
    cache.afterInvalidation({ kind: 'origin', origin: 'o1' })
    release()
    await graph.readsOf([])
    expect(graph.writesOf(['public.p'])).toEqual(['public.p', 'public.p_1'])
    expect(loads).toBe(1)
    // DDL does.
    await cache.invalidate({ kind: 'origin', origin: 'o1', ddl: true })
    expect(graph.writesOf(['public.p'])).toBeNull()
    release()
    await graph.readsOf([])
    expect(loads).toBe(2)
  })

  it('counts what its entries really hold: the heap of 40,000 small entries stays within the bytes it counts', async () => {
    // Many small entries (a wire door in auto mode: one per statement text) are where per-entry
    // bookkeeping dominates; the byte bound is only honest if that bookkeeping is counted.
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as () => void
    const epochs = new Epochs()
    const cache = new QueryCache({ maxBytes: 1e9, epochs })
    const longTtl: CachePolicy = { ttlMs: 600_000, swrMs: 0, tags: [] }
    const n = 40_000
    const prefix = 'default\u0000o1\u0000pg\u0000db\u0000postgres\u0000'
    gc()
    gc()
    const before = process.memoryUsage()
    for (let i = 0; i < n; i++) {
      // As a wire door makes them: the text decoded from a socket read, the payload joined from frames.
      const key = prefix + Buffer.from(`SELECT abalance FROM pgbench_accounts WHERE aid = ${i};`).toString('latin1')
      const d = { origin: 'o1', tables: ['public.pgbench_accounts'], tenant: 'default', tags: [] }
      const payload = Buffer.concat([Buffer.alloc(60, 1), Buffer.alloc(40, 2)])
      await cache.fill(key, longTtl, async () => ({ payload, deps: d, startedSeq: epochs.now(), producedAt: Date.now(), storable: true }))
    }
    gc()
    gc()
    const after = process.memoryUsage()
    const real = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers)
    const counted = cache.stats().bytes
    expect(cache.stats().entries).toBe(n)
    expect(real).toBeLessThanOrEqual(counted * 1.1)
    // and it does not overcount wildly either (the bound would then waste memory it could use)
    expect(real).toBeGreaterThanOrEqual(counted * 0.6)
  })

  it('stays within its byte bound under a load of large results, evicting least recently used', async () => {
    const epochs = new Epochs()
    const max = 1024 * 1024
    const cache = new QueryCache({ maxBytes: max, epochs })
    let peak = 0
    for (let i = 0; i < 200; i++) {
      await cache.fill(`k${i}`, policy, producer(epochs, 60_000 + (i % 7) * 1000).produce)
      if (i === 5) cache.lookup('k0', policy, Date.now()) // k0 recently used
      peak = Math.max(peak, cache.stats().bytes)
    }
    const st = cache.stats()
    expect(peak).toBeLessThanOrEqual(max)
    expect(st.evictions).toBeGreaterThan(150)
    expect(st.entries).toBeGreaterThan(5)
    expect(cache.lookup('k199', policy, Date.now())).toBeDefined()
    expect(cache.lookup('k1', policy, Date.now())).toBeUndefined()
    // An entry larger than a quarter of the cache is served but not kept.
    const big = producer(epochs, max / 2)
    expect((await cache.fill('huge', policy, big.produce)).payload.length).toBe(max / 2)
    expect(cache.lookup('huge', policy, Date.now())).toBeUndefined()
  })

  describe('getKnown (an entry answered before, as the wire door keeps it)', () => {
    const known = async (maxBytes = 1e6) => {
      const epochs = new Epochs()
      const cache = new QueryCache({ maxBytes, epochs })
      await cache.fill('k', policy, producer(epochs).produce)
      const t0 = Date.now()
      const first = cache.getLocal('k', policy, t0)
      expect(first?.state).toBe('fresh')
      return { epochs, cache, entry: first!.entry, t0 }
    }

    it('answers it by its age alone, and stops at the policy as getLocal does', async () => {
      const { cache, entry, t0 } = await known()
      expect(cache.getKnown(entry, policy, t0 + 10)).toEqual({ entry, state: 'fresh' })
      expect(cache.getKnown(entry, policy, t0 + 999 - (t0 - entry.producedAt))?.state).toBe('fresh')
      expect(cache.getKnown(entry, { ttlMs: 0, swrMs: 0, tags: [] }, t0 + 50)).toBeUndefined()
      expect(cache.stats().hitsFresh).toBe(3)
    })

    it('never answers it after an invalidation of what it read, and still does after an unrelated one', async () => {
      const { epochs, cache, entry, t0 } = await known()
      epochs.bumpTables('o1', ['public.other'])
      expect(cache.getKnown(entry, policy, t0 + 10)?.entry).toBe(entry)
      epochs.bumpTables('o1', ['public.t'])
      expect(cache.getKnown(entry, policy, t0 + 20)).toBeUndefined()
      // gone from the cache too: a later fill is what answers
      expect(cache.stats().entries).toBe(0)
    })

    it('never answers it once the cache dropped it, but answers what replaced it under the key', async () => {
      const { epochs, cache, entry, t0 } = await known()
      cache.clearLocal()
      expect(cache.getKnown(entry, policy, t0 + 10)).toBeUndefined()
      await cache.fill('k', policy, producer(epochs, 20).produce)
      const now = Date.now()
      const hit = cache.getKnown(entry, policy, now)
      expect(hit?.entry).not.toBe(entry)
      expect(hit?.entry.payload.length).toBe(20)
    })

    it('keeps a hot entry recent in the LRU (within a second), so eviction takes colder ones', async () => {
      // What one 10-byte entry counts, then a cache with room for four of them.
      const probe = await known()
      const { epochs, cache, entry, t0 } = await known(4 * probe.cache.stats().bytes + 10)
      const long: CachePolicy = { ttlMs: 60_000, swrMs: 0, tags: [] }
      for (const k of ['b', 'c', 'd']) await cache.fill(k, policy, producer(epochs).produce)
      // 'k' is the least recent in the LRU; a hit through getKnown more than a second after the
      // last bump makes it recent again.
      expect(cache.getKnown(entry, long, t0 + 1500)?.entry).toBe(entry)
      await cache.fill('e', policy, producer(epochs).produce)
      expect(cache.stats().evictions).toBe(1)
      expect(cache.lookup('b', policy, Date.now())).toBeUndefined()
      expect(cache.getKnown(entry, long, t0 + 1600)?.entry).toBe(entry)
    })
  })

  it('keeps one background refresh per key', async () => {
    const epochs = new Epochs()
    const cache = new QueryCache({ maxBytes: 1e6, epochs })
    const p = producer(epochs)
    for (let i = 0; i < 10; i++) cache.refresh('k', policy, p.produce, () => {})
    await new Promise((r) => setTimeout(r, 30))
    expect(p.calls()).toBe(1)
    expect(cache.lookup('k', policy, Date.now())?.state).toBe('fresh')
  })
})
