// The query-result cache shared by every door: encoded results, bounded in bytes (LRU), with
// per-request freshness (ttl / swr), epoch-fenced fills and single flight.
//
// Door-independent: a door turns its request into a key and a policy, and hands over a
// `produce` function that runs the query and returns the encoded answer plus its dependencies.
import { createHash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import type { Dependencies, Epochs, Invalidation } from '../invalidation/epochs.js'

export interface CachePolicy {
  /** Fresh for this long (ms). */
  ttlMs: number
  /** After ttl, served stale (with one background refresh) for this long (ms). */
  swrMs: number
  tags: readonly string[]
}

/** What a producer hands back: the encoded answer and what it depends on. */
export interface Produced {
  payload: Buffer
  deps: Dependencies
  /** `Epochs.now()` taken before the query ran. */
  startedSeq: number
  /** Wall-clock time (ms) the query started: the age of the result counts from here. */
  producedAt: number
  /** False when the result must not be stored (too large, unknown dependencies…). */
  storable: boolean
}

export interface CacheEntry {
  payload: Buffer
  deps: Dependencies
  filledSeq: number
  producedAt: number
  /** `last-modified` header value, rendered once. */
  lastModified: string
  /** Stable digest of the key (Accelerate's `accelerate-signature`). */
  signature: string
  size: number
}

export type Lookup = { entry: CacheEntry; state: 'fresh' | 'stale' } | undefined

export interface CacheStats {
  entries: number
  bytes: number
  maxBytes: number
  hitsFresh: number
  hitsStale: number
  misses: number
  fills: number
  fillsFenced: number
  fillsSkipped: number
  evictions: number
  joins: number
  refreshes: number
}

// Per-entry bookkeeping beyond key and payload (maps, arrays, timestamps), counted in the bound.
const ENTRY_OVERHEAD = 256

interface Flight {
  promise: Promise<{ produced: Produced; stored: boolean }>
}

export class QueryCache {
  readonly #lru: LRUCache<string, CacheEntry>
  readonly #epochs: Epochs
  readonly #flights = new Map<string, Flight>()
  readonly #stats: Omit<CacheStats, 'entries' | 'bytes' | 'maxBytes'> = {
    hitsFresh: 0,
    hitsStale: 0,
    misses: 0,
    fills: 0,
    fillsFenced: 0,
    fillsSkipped: 0,
    evictions: 0,
    joins: 0,
    refreshes: 0,
  }
  readonly maxBytes: number

  constructor(options: { maxBytes: number; epochs: Epochs }) {
    this.maxBytes = options.maxBytes
    this.#epochs = options.epochs
    this.#lru = new LRUCache<string, CacheEntry>({
      maxSize: options.maxBytes,
      // One result may not take more than a quarter of the cache.
      maxEntrySize: Math.max(1, Math.floor(options.maxBytes / 4)),
      sizeCalculation: (e) => e.size,
      dispose: (_v, _k, reason) => {
        if (reason === 'evict') this.#stats.evictions++
      },
    })
  }

  /**
   * The sequence number a read must note before it runs (see Epochs); pass it back as
   * `Produced.startedSeq` so the fill can be fenced.
   */
  async snapshot(): Promise<number> {
    return this.#epochs.now()
  }

  /**
   * Applies an invalidation. Doors call this after a write committed and before answering it, or
   * for an explicit invalidate request.
   */
  async invalidate(inv: Invalidation): Promise<void> {
    this.#epochs.apply(inv)
    // "all" frees the tenant's memory at once; other invalidations are enforced at lookup.
    if (inv.kind === 'tenant') this.#dropTenant(inv.tenant)
  }

  /**
   * A servable entry for `key` under `policy`, or undefined. Entries invalidated since they were
   * filled are dropped here; entries older than ttl + swr are a miss for this caller.
   */
  async get(key: string, policy: CachePolicy, now = Date.now()): Promise<Lookup> {
    return this.lookup(key, policy, now)
  }

  /** Synchronous L1 lookup (see get). */
  lookup(key: string, policy: CachePolicy, now: number): Lookup {
    const entry = this.#lru.get(key)
    if (entry === undefined) {
      this.#stats.misses++
      return undefined
    }
    if (!this.#epochs.isFresh(entry.deps, entry.filledSeq)) {
      this.#lru.delete(key)
      this.#stats.misses++
      return undefined
    }
    const age = now - entry.producedAt
    if (age <= policy.ttlMs) {
      this.#stats.hitsFresh++
      return { entry, state: 'fresh' }
    }
    if (age <= policy.ttlMs + policy.swrMs) {
      this.#stats.hitsStale++
      return { entry, state: 'stale' }
    }
    this.#stats.misses++
    return undefined
  }

  /**
   * Runs `produce` for a missed key, at most once at a time per key (concurrent callers join the
   * running one), and stores the result if it is storable and nothing it depends on was
   * invalidated while it ran. A caller that joined a run fenced by an invalidation runs its own
   * query instead: it may have started after the invalidating write was acknowledged.
   */
  async fill(key: string, policy: CachePolicy, produce: () => Promise<Produced>): Promise<Produced> {
    const flight = this.#flights.get(key)
    if (flight) {
      this.#stats.joins++
      const { produced, stored } = await flight.promise
      if (stored || this.#epochs.isFresh(produced.deps, produced.startedSeq)) return produced
      return produce()
    }
    return (await this.#run(key, policy, produce)).produced
  }

  /** Starts one background refresh for `key` unless a fill or refresh is already running. */
  refresh(key: string, policy: CachePolicy, produce: () => Promise<Produced>, onError: (err: unknown) => void): void {
    if (this.#flights.has(key)) return
    this.#stats.refreshes++
    this.#run(key, policy, produce).catch(onError)
  }

  #run(key: string, policy: CachePolicy, produce: () => Promise<Produced>) {
    const promise = (async () => {
      const produced = await produce()
      return { produced, stored: this.#store(key, policy, produced) }
    })()
    const flight: Flight = { promise }
    this.#flights.set(key, flight)
    const clear = () => {
      if (this.#flights.get(key) === flight) this.#flights.delete(key)
    }
    promise.then(clear, clear)
    return promise
  }

  #store(key: string, policy: CachePolicy, p: Produced): boolean {
    const lifetime = policy.ttlMs + policy.swrMs
    if (!p.storable || lifetime <= 0) {
      this.#stats.fillsSkipped++
      return false
    }
    if (!this.#epochs.isFresh(p.deps, p.startedSeq)) {
      this.#stats.fillsFenced++
      return false
    }
    const size = p.payload.length + key.length + ENTRY_OVERHEAD + 32 * ((p.deps.tables?.length ?? 0) + p.deps.tags.length)
    const entry: CacheEntry = {
      payload: p.payload,
      deps: p.deps,
      filledSeq: p.startedSeq,
      producedAt: p.producedAt,
      lastModified: new Date(p.producedAt).toUTCString(),
      signature: cacheSignature(key),
      size,
    }
    this.#lru.set(key, entry, { ttl: lifetime })
    if (this.#lru.peek(key) !== entry) {
      // Refused by the LRU (larger than one entry may be).
      this.#stats.fillsSkipped++
      return false
    }
    this.#stats.fills++
    return true
  }

  #dropTenant(tenant: string): void {
    for (const [key, entry] of this.#lru.entries()) if (entry.deps.tenant === tenant) this.#lru.delete(key)
  }

  stats(): CacheStats {
    return { ...this.#stats, entries: this.#lru.size, bytes: this.#lru.calculatedSize, maxBytes: this.maxBytes }
  }
}

/** A stable, non-reversible digest of a cache key. */
export function cacheSignature(key: string): string {
  return createHash('sha256').update(key, 'latin1').digest('hex').slice(0, 32)
}
