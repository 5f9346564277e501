import { Registry } from 'prom-client'
import { describe, expect, it } from 'vitest'
import { LatencyMetric } from '../../src/observability/latency-metric.js'

describe('LatencyMetric', () => {
  it('renders Prometheus histogram lines: cumulative buckets (le = at most), +Inf, sum and count per label set', async () => {
    const registry = new Registry()
    const metric = new LatencyMetric('t_seconds', 'test latency', [0.001, 0.01, 0.1])
    registry.registerMetric(metric.asMetric())
    const hit = metric.series({ door: 'http', kind: 'hit' })
    hit.observe(0.0005)
    hit.observe(0.001) // on a bound: counted in that bucket
    hit.observe(0.05)
    hit.observe(3) // above every bound: only +Inf
    metric.series({ door: 'pg', kind: 'miss' }).observe(0.02)
    expect(metric.series({ door: 'http', kind: 'hit' })).toBe(hit) // one series per label set

    const text = await registry.metrics()
    expect(text).toContain('# TYPE t_seconds histogram')
    expect(text).toContain('t_seconds_bucket{door="http",kind="hit",le="0.001"} 2')
    expect(text).toContain('t_seconds_bucket{door="http",kind="hit",le="0.01"} 2')
    expect(text).toContain('t_seconds_bucket{door="http",kind="hit",le="0.1"} 3')
    expect(text).toContain('t_seconds_bucket{door="http",kind="hit",le="+Inf"} 4')
    expect(text).toContain('t_seconds_count{door="http",kind="hit"} 4')
    expect(text).toMatch(/t_seconds_sum\{door="http",kind="hit"\} 3\.0515/)
    expect(text).toContain('t_seconds_bucket{door="pg",kind="miss",le="0.001"} 0')
    expect(text).toContain('t_seconds_bucket{door="pg",kind="miss",le="0.1"} 1')
    expect(text).toContain('t_seconds_count{door="pg",kind="miss"} 1')

    metric.reset()
    expect(await registry.metrics()).not.toContain('t_seconds_count')
  })
})
