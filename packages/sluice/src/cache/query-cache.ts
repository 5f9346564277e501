// The query-result cache shared by every door: encoded results, bounded in bytes (LRU), with
// per-request freshness (ttl / swr), epoch-fenced fills and single flight — optionally backed by a
// shared tier (Redis: L2 entries, global epochs, fan-out, cross-node leases).
//
// Door-independent: a door turns its request into a key and a policy, and hands over a
// `produce` function that runs the query and returns the encoded answer plus its dependencies.
import { createHash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import { type Dependencies, type Epochs, type Invalidation } from '../invalidation/epochs.js'
import type { RedisTier, SharedEntry } from './redis-tier.js'
import type { RelationGraph } from '../invalidation/relations.js'
import type { ShapeRecord } from '../observability/shape-stats.js'
import { DependencyInterner } from './dependency-interner.js'

export interface CachePolicy {
  /** Fresh for this long (ms). */
  ttlMs: number
  /** After ttl, served stale (with one background refresh) for this long (ms). */
  swrMs: number
  tags: readonly string[]
  /** Strict consistency (shared tier): every hit confirms its epochs against Redis. */
  strict?: boolean
  /**
   * Sluice chose to cache this, the caller did not ask (a wire door's auto mode): a read that
   * turns out to change without a write — a view it reads calls now(), random(), nextval()… — is
   * answered and not stored. A caller's explicit ttl (hint, rule, cacheStrategy) is honoured.
   */
  auto?: boolean
}

/** What a producer hands back: the encoded answer and what it depends on. */
export interface Produced {
  payload: Buffer
  deps: Dependencies
  /** `snapshot()` taken before the query ran. */
  startedSeq: number
  /** Wall-clock time (ms) the query started: the age of the result counts from here. */
  producedAt: number
  /** False when the result must not be stored (too large, unknown dependencies…). */
  storable: boolean
  /** Why it is not storable, in a few words (for per-shape statistics). */
  notStoredReason?: string
  /** The door's per-shape statistics record, kept on the entry so that a hit needs no lookup. */
  shape?: ShapeRecord
}

/**
 * A stored result. Kept lean: the auto mode of a wire door holds one per distinct statement text,
 * and most are a few hundred bytes of payload. Dependencies are shared between entries
 * (DependencyInterner); the HTTP-only headers are rendered on first use, so wire entries never
 * pay for them.
 */
export class CacheEntry {
  #lastModified: string | undefined
  #signature: string | undefined
  /**
   * Epochs.changes when a lookup last found the entry fresh in the LRU; -1 before that and once the
   * LRU no longer holds it (see QueryCache.getKnown).
   */
  judged = -1
  /** When (Date.now()) a lookup last made the entry recent in the LRU. */
  touchedAt = 0

  constructor(
    /** The cache key (the signature is its digest). */
    readonly key: string,
    readonly payload: Buffer,
    readonly deps: Dependencies,
    /** dependencyFields(deps), shared: the hit path checks them without building strings. */
    readonly fields: readonly string[],
    readonly filledSeq: number,
    readonly producedAt: number,
    /** What the entry counts against the cache's byte bound. */
    readonly size: number,
    /** Per-shape statistics record (observability); entries from the shared tier start without one. */
    public shape: ShapeRecord | undefined,
    lastModified?: string,
    signature?: string,
  ) {
    this.#lastModified = lastModified
    this.#signature = signature
  }

  /** `last-modified` header value. */
  get lastModified(): string {
    return (this.#lastModified ??= new Date(this.producedAt).toUTCString())
  }

  /** Stable digest of the key (Accelerate's `accelerate-signature`). */
  get signature(): string {
    return (this.#signature ??= cacheSignature(this.key))
  }
}

export type Lookup = { entry: CacheEntry; state: 'fresh' | 'stale' } | undefined

export interface CacheStats {
  entries: number
  bytes: number
  maxBytes: number
  hitsFresh: number
  hitsStale: number
  hitsShared: number
  misses: number
  fills: number
  fillsFenced: number
  fillsSkipped: number
  evictions: number
  joins: number
  leaseWaits: number
  refreshes: number
  bypassed: number
}

// What an entry costs beyond its payload and key, measured (test/cache/query-cache.test.ts): the
// entry object, the payload's Buffer object and pool slack, the key's string headers and the
// LRU's per-entry slots. Counting less would let the process hold several times the configured
// bound (it did, at ~1.2 KB real per 470 B counted, before entries were made lean). 440 measured;
// +30 for the two lookup fields (judged, and touchedAt: a boxed number once the entry was hit).
const ENTRY_OVERHEAD = 470

// Admission of auto-cached statements (see admit): a key is stored when it misses a second time
// while the first miss is still remembered — among the last 64k–128k distinct first misses.
const ADMISSION_GENERATION = 65_536
// How often a node waiting on another node's lease looks for the entry.
const LEASE_POLL_MS = 10

// getKnown answers an entry without the LRU for at most this long after a lookup made it recent:
// a hot entry's recency is bumped once in this time rather than on every hit. Being evicted in
// spite of its hits would take more than the whole cache's worth of other entries stored or made
// recent within that time.
const RECENCY_GRAIN_MS = 1000

/** `snapshot()` while the shared tier is unavailable: results of such reads are never stored. */
const NO_CLOCK = -1

interface Flight {
  promise: Promise<{ produced: Produced; stored: boolean }>
}

export interface QueryCacheOptions {
  maxBytes: number
  epochs: Epochs
  /** The shared tier; without it the cache is this process only. */
  shared?: RedisTier
  /** How long a node may hold the cross-node fill lease (the query timeout). */
  leaseMs?: number
}

export class QueryCache {
  readonly #lru: LRUCache<string, CacheEntry>
  readonly #epochs: Epochs
  readonly #shared: RedisTier | undefined
  readonly #leaseMs: number
  readonly #flights = new Map<string, Flight>()
  readonly #interned = new DependencyInterner()
  /** Hashes of keys that missed once recently, in two generations (see admit). */
  #missedOnce = new Set<number>()
  #missedOnceBefore = new Set<number>()
  readonly #stats: Omit<CacheStats, 'entries' | 'bytes' | 'maxBytes'> = {
    hitsFresh: 0,
    hitsStale: 0,
    hitsShared: 0,
    misses: 0,
    fills: 0,
    fillsFenced: 0,
    fillsSkipped: 0,
    evictions: 0,
    joins: 0,
    leaseWaits: 0,
    refreshes: 0,
    bypassed: 0,
  }
  readonly maxBytes: number
  /** Observer of applied invalidations (metrics). */
  onInvalidate: (inv: Invalidation) => void = () => {}
  /**
   * Views and inheritance links per origin id: a result reading a view depends on the view's base
   * tables, a write to a parent table invalidates its children (invalidation/relations.ts).
   */
  readonly relations = new Map<string, RelationGraph>()

  constructor(options: QueryCacheOptions) {
    this.maxBytes = options.maxBytes
    this.#epochs = options.epochs
    this.#shared = options.shared
    this.#leaseMs = options.leaseMs ?? 10_000
    this.#lru = new LRUCache<string, CacheEntry>({
      maxSize: options.maxBytes,
      // One result may not take more than a quarter of the cache.
      maxEntrySize: Math.max(1, Math.floor(options.maxBytes / 4)),
      sizeCalculation: (e) => e.size,
      dispose: (entry, _k, reason) => {
        entry.judged = -1
        if (reason === 'evict') this.#stats.evictions++
      },
    })
  }

  /**
   * Whether a miss of `key` is worth storing, for statements Sluice chose to cache (auto mode):
   * yes when the key missed before, recently; the first miss is only remembered. A workload that
   * reads a million keys once each then costs what it costs without a cache — its statements are
   * relayed, not filled, stored and evicted unread — while keys that come back are stored on their
   * second miss. Keys are remembered by a 30-bit hash: a collision only admits a key early.
   */
  admit(key: string): boolean {
    const h = keyHash(key)
    if (this.#missedOnce.has(h) || this.#missedOnceBefore.has(h)) return true
    if (this.#missedOnce.size >= ADMISSION_GENERATION) {
      this.#missedOnceBefore = this.#missedOnce
      this.#missedOnce = new Set()
    }
    this.#missedOnce.add(h)
    return false
  }

  /** Forgets every local entry (the shared tier calls this when it may have missed invalidations). */
  clearLocal(): void {
    this.#lru.clear()
  }

  /** False while a configured shared tier is unavailable: the cache is then bypassed. */
  get usable(): boolean {
    return this.#shared === undefined || this.#shared.healthy
  }

  /**
   * The sequence number a read must note before it runs (see Epochs); pass it back as
   * `Produced.startedSeq` so the fill can be fenced. Never throws: without a usable shared tier it
   * returns a value that makes the result unstorable.
   */
  async snapshot(): Promise<number> {
    if (this.#shared === undefined) return this.#epochs.now()
    if (!this.#shared.healthy) return NO_CLOCK
    try {
      return await this.#shared.snapshot()
    } catch {
      return NO_CLOCK
    }
  }

  /**
   * Applies an invalidation (and shares it with the other nodes). Doors call this after a write
   * committed and before answering it, or for an explicit invalidate request.
   */
  async invalidate(written: Invalidation): Promise<void> {
    const inv = this.#affected(written)
    // Before the epochs move: a fill that starts meanwhile already waits for the new catalog.
    this.afterInvalidation(inv)
    if (this.#shared) await this.#shared.publish(inv)
    else this.#epochs.apply(inv)
    this.onInvalidate(inv)
  }

  /**
   * What an invalidation does beyond the epochs, on the node that makes it and (through the shared
   * tier, once applied) on every other: DDL makes the node read its relation catalog again — else a view
   * created through another node would be cached here as a table of its own, and writes to its
   * base tables would not reach it — and "all" frees the tenant's memory at once (other
   * invalidations are enforced at lookup).
   */
  afterInvalidation(inv: Invalidation): void {
    if (inv.kind === 'origin' && inv.ddl === true) this.relations.get(inv.origin)?.changed()
    if (inv.kind === 'tenant') this.#dropTenant(inv.tenant)
  }

  /** What a write really changed: its tables' inheritance children too. */
  #affected(inv: Invalidation): Invalidation {
    if (inv.kind !== 'tables') return inv
    const graph = this.relations.get(inv.origin)
    if (graph === undefined) return inv
    const tables = graph.writesOf(inv.tables)
    if (tables === null) return { kind: 'origin', origin: inv.origin }
    return tables.length === inv.tables.length ? inv : { ...inv, tables }
  }

  /**
   * A produced result with the tables it really depends on (views resolved); not storable when
   * they cannot be told, or when Sluice chose to cache it and a view it reads is volatile.
   */
  async #resolve(produced: Produced, policy: CachePolicy): Promise<Produced> {
    const tables = produced.deps.tables
    const graph = tables !== null && produced.storable ? this.relations.get(produced.deps.origin) : undefined
    if (graph === undefined || tables === null) return produced
    const resolved = await graph.readsOf(tables)
    if ('unknown' in resolved) return { ...produced, storable: false, notStoredReason: resolved.unknown }
    if (resolved.volatile !== undefined && policy.auto === true) return { ...produced, storable: false, notStoredReason: resolved.volatile }
    return resolved.tables.length === tables.length ? produced : { ...produced, deps: { ...produced.deps, tables: resolved.tables } }
  }

  /**
   * A servable entry for `key` under `policy`, or undefined. Entries invalidated since they were
   * filled are dropped; entries older than ttl + swr are a miss for this caller. With a shared
   * tier: L1, then L2; strict policies confirm the entry's epochs in Redis; while the tier is
   * unavailable nothing can be proven fresh, so everything is a miss.
   */
  async get(key: string, policy: CachePolicy, now = Date.now()): Promise<Lookup> {
    const shared = this.#shared
    if (shared === undefined) return this.lookup(key, policy, now)
    if (!shared.healthy) {
      this.#stats.bypassed++
      return undefined
    }
    try {
      let found = this.lookup(key, policy, now)
      if (found === undefined) found = await this.#lookupShared(shared, key, policy, now)
      else if (policy.strict && !(await shared.confirm(found.entry.deps, found.entry.filledSeq))) {
        this.#lru.delete(key)
        this.#stats.misses++
        return undefined
      }
      return found
    } catch {
      this.#stats.bypassed++
      return undefined // Redis slow or gone: the database answers
    }
  }

  /**
   * The synchronous part of `get`: answers from the local cache when that alone decides (no
   * shared tier, or a local hit under an eventual policy); null means "ask `get`".
   */
  getLocal(key: string, policy: CachePolicy, now = Date.now()): Lookup | null {
    const shared = this.#shared
    if (shared === undefined) return this.lookup(key, policy, now)
    if (policy.strict || !shared.healthy) return null
    // Only a servable local entry is answered here (counted as get would); anything else is left
    // to get(), which counts it once.
    const entry = this.#lru.peek(key)
    if (entry === undefined || !this.#epochs.areFresh(entry.fields, entry.filledSeq)) return null
    const state = this.#state(entry, policy, now)
    if (state === undefined) return null
    this.#lru.get(key) // recency
    this.#judged(entry, now)
    this.#countHit(state)
    return { entry, state }
  }

  /**
   * getLocal(entry.key) for an entry this cache answered before (the wire door's hot statements
   * keep the one they were last answered with). While the LRU still holds it, no invalidation was
   * applied since a lookup found it fresh, and that lookup made it recent less than RECENCY_GRAIN_MS
   * ago, it is judged here without the LRU's map or the epochs: only its age against the policy.
   * The LRU's recency of such entries is thereby up to RECENCY_GRAIN_MS old; in every other
   * respect this is getLocal.
   */
  getKnown(entry: CacheEntry, policy: CachePolicy, now = Date.now()): Lookup | null {
    if (entry.judged !== this.#epochs.changes || now - entry.touchedAt >= RECENCY_GRAIN_MS) return this.getLocal(entry.key, policy, now)
    const shared = this.#shared
    if (shared !== undefined && (policy.strict || !shared.healthy)) return null
    const state = this.#state(entry, policy, now)
    if (state === undefined) return this.getLocal(entry.key, policy, now)
    this.#countHit(state)
    return { entry, state }
  }

  #countHit(state: 'fresh' | 'stale'): void {
    if (state === 'fresh') this.#stats.hitsFresh++
    else this.#stats.hitsStale++
  }

  /** A lookup found `entry` fresh in the LRU and made it recent there. */
  #judged(entry: CacheEntry, now: number): void {
    entry.judged = this.#epochs.changes
    entry.touchedAt = now
  }

  async #lookupShared(shared: RedisTier, key: string, policy: CachePolicy, now: number, count = true): Promise<Lookup> {
    const e = await shared.getEntry(key)
    if (e === undefined) return undefined
    const entry = this.#entry(key, e)
    if (!this.#epochs.areFresh(entry.fields, entry.filledSeq)) return undefined
    if (policy.strict && !(await shared.confirm(e.deps, e.filledSeq))) return undefined
    const state = this.#state(entry, policy, now)
    if (state === undefined) return undefined
    this.#lru.set(key, entry, { ttl: Math.max(1, policy.ttlMs + policy.swrMs - (now - entry.producedAt)) })
    if (count) {
      this.#stats.misses-- // the L1 miss counted in lookup() turned out to be a hit
      this.#stats.hitsShared++
      this.#countHit(state)
    }
    return { entry, state }
  }

  /** Synchronous L1 lookup (see get). */
  lookup(key: string, policy: CachePolicy, now: number): Lookup {
    const entry = this.#lru.get(key)
    if (entry === undefined) {
      this.#stats.misses++
      return undefined
    }
    if (!this.#epochs.areFresh(entry.fields, entry.filledSeq)) {
      this.#lru.delete(key)
      this.#stats.misses++
      return undefined
    }
    const state = this.#state(entry, policy, now)
    if (state === undefined) {
      this.#stats.misses++
      return undefined
    }
    this.#judged(entry, now)
    this.#countHit(state)
    return { entry, state }
  }

  #state(entry: CacheEntry, policy: CachePolicy, now: number): 'fresh' | 'stale' | undefined {
    const age = now - entry.producedAt
    if (age <= policy.ttlMs) return 'fresh'
    if (age <= policy.ttlMs + policy.swrMs) return 'stale'
    return undefined
  }

  /**
   * Runs `produce` for a missed key, at most once at a time per key (concurrent callers join the
   * running one; with a shared tier, callers on other nodes wait on its lease), and stores the
   * result if it is storable and nothing it depends on was invalidated while it ran. A caller that
   * joined a run fenced by an invalidation runs its own query instead: it may have started after
   * the invalidating write was acknowledged.
   */
  async fill(key: string, policy: CachePolicy, produce: () => Promise<Produced>): Promise<Produced> {
    const flight = this.#flights.get(key)
    if (flight) {
      this.#stats.joins++
      const { produced, stored } = await flight.promise
      if (stored || (produced.startedSeq !== NO_CLOCK && this.#epochs.isFresh(produced.deps, produced.startedSeq))) return produced
      return produce()
    }
    return (await this.#run(key, policy, produce, true)).produced
  }

  /** Starts one background refresh for `key` unless a fill or refresh is already running. */
  refresh(key: string, policy: CachePolicy, produce: () => Promise<Produced>, onError: (err: unknown) => void): void {
    if (this.#flights.has(key)) return
    this.#stats.refreshes++
    this.#run(key, policy, produce, false).catch(onError)
  }

  /**
   * `fill`: a miss, which may take an entry another node stored since this node looked (not so a
   * refresh, whose point is a newer result).
   */
  #run(key: string, policy: CachePolicy, produce: () => Promise<Produced>, fill: boolean) {
    const promise = (async () => {
      const shared = this.#shared
      if (shared !== undefined && shared.healthy) {
        const leased = await shared.lease(key, this.#leaseMs).catch(() => true) // Redis trouble: just run it
        if (!leased) {
          const theirs = await this.#awaitOtherNode(shared, key, policy)
          if (theirs) return { produced: theirs, stored: true }
        }
        try {
          // Another node may have filled and released the lease between this node's lookup and
          // its lease: look again before running the query (else two nodes query for one miss).
          if (fill) {
            const theirs = await this.#freshShared(shared, key, policy)
            if (theirs) return { produced: theirs, stored: true }
          }
          const produced = await this.#resolve(await produce(), policy)
          return { produced, stored: await this.#store(key, policy, produced) }
        } finally {
          if (leased) shared.release(key).catch(() => {})
        }
      }
      const produced = await this.#resolve(await produce(), policy)
      return { produced, stored: await this.#store(key, policy, produced) }
    })()
    const flight: Flight = { promise }
    this.#flights.set(key, flight)
    const clear = () => {
      if (this.#flights.get(key) === flight) this.#flights.delete(key)
    }
    promise.then(clear, clear)
    return promise
  }

  /** A servable entry for `key` in the shared tier, as what a fill produces (not stored again). */
  async #freshShared(shared: RedisTier, key: string, policy: CachePolicy): Promise<Produced | undefined> {
    const found = await this.#lookupShared(shared, key, policy, Date.now(), false)
    if (found === undefined) return undefined
    const e = found.entry
    return { payload: e.payload, deps: e.deps, startedSeq: e.filledSeq, producedAt: e.producedAt, storable: false }
  }

  /** Another node holds the lease: wait for its entry (or for the lease to lapse). */
  async #awaitOtherNode(shared: RedisTier, key: string, policy: CachePolicy): Promise<Produced | undefined> {
    this.#stats.leaseWaits++
    const deadline = Date.now() + this.#leaseMs
    try {
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, LEASE_POLL_MS))
        const found = await this.#freshShared(shared, key, policy)
        if (found) return found
        // The lease may have been released just after the lookup above, with the entry stored:
        // one more look before running the query here.
        if (!(await shared.leaseHeld(key))) return await this.#freshShared(shared, key, policy)
      }
    } catch {
      // Redis trouble while waiting: run the query here.
    }
    return undefined
  }

  #entry(key: string, e: SharedEntry | Produced): CacheEntry {
    const { deps, fields } = this.#interned.intern(e.deps)
    // Key characters count as bytes: keys are SQL text or a digest, almost always one byte each.
    const size = e.payload.length + key.length + ENTRY_OVERHEAD
    // An entry from the shared tier comes with its headers rendered; a fill renders them on first use.
    if ('filledSeq' in e) return new CacheEntry(key, e.payload, deps, fields, e.filledSeq, e.producedAt, size, undefined, e.lastModified, e.signature)
    return new CacheEntry(key, e.payload, deps, fields, e.startedSeq, e.producedAt, size, e.shape)
  }

  async #store(key: string, policy: CachePolicy, p: Produced): Promise<boolean> {
    const lifetime = policy.ttlMs + policy.swrMs
    if (!p.storable || lifetime <= 0 || p.startedSeq === NO_CLOCK) {
      // Why, for per-shape statistics (a producer's own reason stays).
      p.notStoredReason ??= p.startedSeq === NO_CLOCK ? 'cache bypassed (shared tier unavailable)' : lifetime <= 0 ? 'ttl and swr are 0' : undefined
      this.#stats.fillsSkipped++
      return false
    }
    if (!this.#epochs.isFresh(p.deps, p.startedSeq)) {
      this.#stats.fillsFenced++
      return false
    }
    const shared = this.#shared
    if (shared !== undefined) {
      // Fence against every node's invalidations, not only those that reached us already.
      try {
        if (!shared.healthy || !(await shared.confirm(p.deps, p.startedSeq))) {
          if (!shared.healthy) p.notStoredReason ??= 'cache bypassed (shared tier unavailable)'
          this.#stats.fillsFenced++
          return false
        }
      } catch {
        p.notStoredReason ??= 'cache bypassed (shared tier unavailable)'
        this.#stats.fillsSkipped++
        return false
      }
    }
    const entry = this.#entry(key, p)
    this.#lru.set(key, entry, { ttl: lifetime })
    if (this.#lru.peek(key) !== entry) {
      // Refused by the LRU (larger than one entry may be).
      p.notStoredReason ??= 'too large'
      this.#stats.fillsSkipped++
      return false
    }
    if (shared !== undefined) {
      const { payload, deps, filledSeq, producedAt, lastModified, signature } = entry
      await shared.setEntry(key, { payload, deps, filledSeq, producedAt, lastModified, signature }, lifetime).catch(() => {})
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

/** FNV-1a over the key's UTF-16 code units, folded to a small integer (V8 keeps it unboxed). */
function keyHash(key: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193)
  return h & 0x3fffffff
}

/** A stable, non-reversible digest of a cache key. */
export function cacheSignature(key: string): string {
  return createHash('sha256').update(key, 'latin1').digest('hex').slice(0, 32)
}
