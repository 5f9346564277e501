// The request-latency histogram (`sluice_request_duration_seconds`), tallied in plain numbers per
// label set and handed to prom-client's registry as a custom metric when it is scraped.
// prom-client's own Histogram builds a labels object and a label-hash string on every observe(),
// labels() children included, and every cache hit observes once.
import type { Metric } from 'prom-client'

/** Observations of one label set: counts per bucket (not cumulative), sum and count. */
export class LatencySeries {
  readonly counts: Float64Array
  sum = 0
  count = 0

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    readonly bounds: readonly number[],
  ) {
    // One slot per bound, and one for values above the last (the +Inf bucket).
    this.counts = new Float64Array(bounds.length + 1)
  }

  observe(seconds: number): void {
    const bounds = this.bounds
    let i = 0
    while (i < bounds.length && seconds > bounds[i]!) i++
    this.counts[i]!++
    this.sum += seconds
    this.count++
  }
}

export class LatencyMetric {
  readonly type = 'histogram'
  readonly aggregator = 'sum'
  readonly #series = new Map<string, LatencySeries>()

  constructor(
    readonly name: string,
    readonly help: string,
    readonly bounds: readonly number[],
  ) {}

  /** The series of one label set (a door keeps it: no lookup per observation). */
  series(labels: Readonly<Record<string, string>>): LatencySeries {
    const key = Object.values(labels).join('\u0000')
    let s = this.#series.get(key)
    if (s === undefined) this.#series.set(key, (s = new LatencySeries(labels, this.bounds)))
    return s
  }

  /** What prom-client's registry renders: cumulative buckets with `le`, then _sum and _count. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: { metricName: string; labels: Record<string, string | number>; value: number }[] }> {
    const values: { metricName: string; labels: Record<string, string | number>; value: number }[] = []
    for (const s of this.#series.values()) {
      let cumulative = 0
      for (let i = 0; i < s.bounds.length; i++) {
        cumulative += s.counts[i]!
        values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: s.bounds[i]! }, value: cumulative })
      }
      values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: s.count })
      values.push({ metricName: `${this.name}_sum`, labels: { ...s.labels }, value: s.sum })
      values.push({ metricName: `${this.name}_count`, labels: { ...s.labels }, value: s.count })
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values }
  }

  reset(): void {
    this.#series.clear()
  }

  /** For `registry.registerMetric` (prom-client only calls get(), reset() and reads the names). */
  asMetric(): Metric {
    return this as unknown as Metric
  }
}
