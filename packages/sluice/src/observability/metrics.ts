// Prometheus metrics. Counters the doors bump as they answer; cache and pool figures are read
// from their own statistics at scrape time (no bookkeeping on the hot path beyond one counter
// increment and one histogram observation per request).
import { Counter, Gauge, Registry } from 'prom-client'
import { LatencyMetric } from './latency-metric.js'
import type { QueryCache } from '../cache/query-cache.js'
import type { Origin } from '../pool/origin.js'

export type RequestOutcome = 'ttl' | 'swr' | 'miss' | 'none' | 'error'

export class Metrics {
  readonly registry = new Registry()
  readonly requests: Counter<'door' | 'operation' | 'status' | 'code'>
  readonly latency: LatencyMetric
  readonly invalidations: Counter<'cause'>
  readonly notCached: Counter<'door' | 'reason'>

  constructor(sources: { cache: QueryCache; origins: readonly Origin[] }) {
    const r = this.registry
    this.requests = new Counter({
      name: 'sluice_requests_total',
      help: 'Requests answered, by door, operation, cache status (ttl|swr|miss|none|error) and error code',
      labelNames: ['door', 'operation', 'status', 'code'],
      registers: [r],
      collect: () => Tally.flush(this.#requestTallies, this.requests),
    })
    this.latency = new LatencyMetric(
      'sluice_request_duration_seconds',
      'Time to answer a request: kind=hit (from the cache), miss (filled), origin (not cached)',
      [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    )
    r.registerMetric(this.latency.asMetric())
    this.invalidations = new Counter({
      name: 'sluice_invalidations_total',
      help: 'Invalidations applied, by cause: write (tables written through Sluice), tag, all',
      labelNames: ['cause'],
      registers: [r],
    })
    this.notCached = new Counter({
      name: 'sluice_not_cached_total',
      help: 'Statements that could have been cached but were not, by reason',
      labelNames: ['door', 'reason'],
      registers: [r],
      collect: () => Tally.flush(this.#notCachedTallies, this.notCached),
    })
    const { cache, origins } = sources
    const cacheGauge = (name: string, help: string, read: (s: ReturnType<QueryCache['stats']>) => number) =>
      new Gauge({ name, help, registers: [r], collect() { this.set(read(cache.stats())) } })
    // Cumulative figures exposed as gauges set at scrape time (they only grow).
    cacheGauge('sluice_cache_hits_fresh', 'Cache hits within ttl (cumulative)', (s) => s.hitsFresh)
    cacheGauge('sluice_cache_hits_stale', 'Cache hits within swr (cumulative)', (s) => s.hitsStale)
    cacheGauge('sluice_cache_hits_shared', 'Hits served from the shared (Redis) tier (cumulative)', (s) => s.hitsShared)
    cacheGauge('sluice_cache_misses', 'Cache misses (cumulative)', (s) => s.misses)
    cacheGauge('sluice_cache_fills', 'Results stored (cumulative)', (s) => s.fills)
    cacheGauge('sluice_cache_fills_fenced', 'Fills refused because a dependency was invalidated while the query ran (cumulative)', (s) => s.fillsFenced)
    cacheGauge('sluice_cache_fills_skipped', 'Results not stored: too large, unknown dependencies, no lifetime (cumulative)', (s) => s.fillsSkipped)
    cacheGauge('sluice_cache_evictions', 'Entries evicted to stay within the byte bound (cumulative)', (s) => s.evictions)
    cacheGauge('sluice_cache_single_flight_joins', 'Misses that joined a running identical query (cumulative)', (s) => s.joins)
    cacheGauge('sluice_cache_refreshes', 'Background refreshes started (cumulative)', (s) => s.refreshes)
    cacheGauge('sluice_cache_bypassed', 'Lookups bypassed because the shared tier was unavailable (cumulative)', (s) => s.bypassed)
    cacheGauge('sluice_cache_entries', 'Entries in the local cache', (s) => s.entries)
    cacheGauge('sluice_cache_bytes', 'Bytes held by the local cache (payload and bookkeeping)', (s) => s.bytes)
    cacheGauge('sluice_cache_max_bytes', 'Byte bound of the local cache', (s) => s.maxBytes)
    const poolGauge = (name: string, help: string, read: (o: Origin) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['origin'],
        registers: [r],
        collect() {
          for (const o of origins) this.set({ origin: o.id }, read(o))
        },
      })
    poolGauge('sluice_pool_in_use', 'Origin connections checked out', (o) => o.stats().total - o.stats().idle)
    poolGauge('sluice_pool_idle', 'Idle origin connections', (o) => o.stats().idle)
    poolGauge('sluice_pool_waiting', 'Requests waiting for an origin connection', (o) => o.stats().waiting)
    poolGauge('sluice_pool_limit', 'connection_limit of the origin', (o) => o.stats().limit)
    poolGauge('sluice_pool_timeouts', 'Waits that ran past pool_timeout (cumulative)', (o) => o.stats().timeouts)
  }

  // Request and not-cached counts are tallied in plain numbers per label set and added to
  // prom-client's counters when they are read (scrape): prom-client hashes the labels on every
  // inc(), even through a labels() child, and these are bumped on every answer, cache hits included.
  #requestChildren = new Map<string, Map<string, Map<string, Tally>>>()
  readonly #requestTallies: Tally[] = []

  countRequest(door: string, operation: string, status: string, code: string): void {
    this.requestCounter(door, operation, status, code).inc()
  }

  /** The request counter of one label set, for a door that keeps it (no lookup per answer). */
  requestCounter(door: string, operation: string, status: string, code: string): { inc(): void } {
    const key = `${door}|${operation}`
    let byStatus = this.#requestChildren.get(key)
    if (!byStatus) this.#requestChildren.set(key, (byStatus = new Map()))
    let byCode = byStatus.get(status)
    if (!byCode) byStatus.set(status, (byCode = new Map()))
    let child = byCode.get(code)
    if (!child) {
      byCode.set(code, (child = new Tally({ door, operation, status, code })))
      this.#requestTallies.push(child)
    }
    return child
  }

  #notCachedChildren = new Map<string, Map<string, Tally>>()
  readonly #notCachedTallies: Tally[] = []

  /** Counts a statement not cached for `reason` (label children kept, as for requests). */
  countNotCached(door: string, reason: string): void {
    let byReason = this.#notCachedChildren.get(door)
    if (!byReason) this.#notCachedChildren.set(door, (byReason = new Map()))
    let child = byReason.get(reason)
    if (!child) {
      byReason.set(reason, (child = new Tally({ door, reason })))
      this.#notCachedTallies.push(child)
    }
    child.inc()
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }
}

/** Increments of one label set of a counter, not yet added to it. */
class Tally {
  #pending = 0
  constructor(readonly labels: Record<string, string>) {}

  inc(): void {
    this.#pending++
  }

  static flush(tallies: readonly Tally[], counter: Counter<string>): void {
    for (const t of tallies) {
      if (t.#pending === 0) continue
      counter.inc(t.labels, t.#pending)
      t.#pending = 0
    }
  }
}
