// The targets table of `npm run bench` (bench/lib/targets.mjs): each target of issues 2–5 is judged
// from the scenario result files, and the README block between the markers is rewritten in place.
// Synthetic result objects, no measuring.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { README_END, README_START, TARGETS, evaluateTargets, renderTargetsTable, updateReadmeBlock } from '../../../../bench/lib/targets.mjs'

const cmp = (target: string, query: string, concurrency: number, targetP50: number, baselineP50: number) => ({
  target,
  baseline: 'direct',
  query,
  concurrency,
  targetP50,
  baselineP50,
  deltaP50Ms: targetP50 - baselineP50,
  p50Ratio: targetP50 / baselineP50,
  goalMs: 0.3,
})

const http = {
  startedAt: '2026-11-22T10:00:00.000Z',
  options: { quick: false },
  results: [
    {
      scenario: 'miss-path',
      comparisons: [
        cmp('sluice', 'findUnique', 1, 0.45, 0.25), // +0.20 ms: met
        cmp('sluice', 'findUnique', 8, 1.0, 0.5), // +0.50 ms: not met
        cmp('sluice', 'findMany100', 1, 9, 4),
        cmp('cached', 'findMany100Hot', 1, 1.5, 4), // 2.67×: met
        cmp('cached', 'findMany100Hot', 8, 15, 25), // 1.67×: not met
      ],
    },
    { scenario: 'http-replay', settings: { repetitions: 3 }, summary: [{ target: 'findUniqueHit', throughputMean: 31000, throughputMin: 30000, throughputMax: 32000, serverCpuUsPerRequest: 25 }] },
    { scenario: 'concurrent-misses', settings: { burstSize: 100 }, summary: [{ target: 'cached', bursts: 30, dbReadsPerBurst: { mean: 1, max: 1 } }] },
  ],
}

const pgbench = {
  startedAt: '2026-11-22T10:10:00.000Z',
  settings: { quick: true },
  summary: [{ test: 'hot_simple', clients: 8, target: 'sluice-auto', proxyCpuUsPerXact: 20, vsPgpool: 0.9 }],
  goals: [
    { goal: 'cache off ≥ 0.8× PgBouncer', test: 'S_simple', clients: 8, value: 0.7, display: '0.70×', met: false },
    { goal: 'warmed cache, point selects, c ≥ 8: ≥ 2.5× PgBouncer', test: 'hot_simple', clients: 8, value: 2.6, display: '2.60×', met: true },
    { goal: 'warmed cache, point selects, c ≥ 8: ≥ 2.5× PgBouncer', test: 'hot_prepared', clients: 8, value: null, display: 'PgBouncer 1.18 cannot run it', met: null },
    { goal: 'c=1 hit latency p50 ≤ 100 µs', test: 'hot_simple', clients: 1, value: 0.07, display: '70 µs', met: true },
  ],
}

describe('bench targets table', () => {
  const rows = evaluateTargets({ http, pgbench })
  const row = (id: string) => {
    const r = rows.find((x) => x.id === id)
    if (!r) throw new Error(`no row ${id}`)
    return r
  }

  it('has one row per target, in the order of the issues', () => {
    expect(rows.map((r) => r.id)).toEqual(TARGETS.map((t) => t.id))
  })

  it('judges each target from its cells: met, not met, or partly', () => {
    expect(row('miss-findUnique').met).toBe('partly (1 of 2)')
    expect(row('miss-findMany100').met).toBe('not met')
    expect(row('hit-throughput').met).toBe('met')
    expect(row('cached-findMany').met).toBe('partly (1 of 2)')
    expect(row('cached-findMany').measured).toContain('2.67×')
    expect(row('single-flight').met).toBe('met')
    expect(row('wire-cache-off').met).toBe('not met')
    // a cell PgBouncer cannot run is not judged
    expect(row('wire-hit-pgbouncer').met).toBe('met')
    expect(row('wire-hit-pgbouncer').measured).toContain('pgpool-II')
    expect(row('wire-hit-p50').measured).toContain('70 µs')
  })

  it('says what was not measured, and flags --quick results', () => {
    expect(row('wire-hit-direct').met).toBeNull()
    expect(row('propagation').met).toBeNull()
    const table = renderTargetsTable(rows, { linkPrefix: 'bench/results/' })
    expect(table).toContain('not measured yet')
    expect(table).toContain('[pgbench](bench/results/pgbench.md) 2026-11-22 10:10 **--quick**')
    expect(table).not.toContain('[http](bench/results/http.md) 2026-11-22 10:00 **--quick**')
  })

  it('reports the MySQL figures of issue 8 (no numeric goal: "measured"), cache off and warmed apart', () => {
    const r = (test: string, threads: number, target: string, vsDirect: number, extra = {}) => ({ test, threads, target, vsDirect, latencyMs: { p50: 0.12, p99: 0.5 }, sluiceCpuUsPerQuery: 40, ...extra })
    const mysql = {
      startedAt: '2026-11-22T10:20:00.000Z',
      settings: { quick: false, threads: [1, 8] },
      summary: [
        r('ps_text', 1, 'sluice-off', 0.5),
        r('ps_text', 8, 'sluice-off', 0.4),
        r('ps_text', 8, 'sluice-auto', 0.45, { hitShare: 0.03 }),
        r('hot_binary', 1, 'sluice-auto', 1.1, { hitShare: 1 }),
        r('hot_binary', 8, 'sluice-auto', 1.8, { hitShare: 0.99 }),
        r('hot_binary', 8, 'sluice-off', 0.45),
      ],
      failures: [{ test: 'rw', threads: 8, target: 'sluice-off', error: 'exit 1' }],
    }
    const rs = evaluateTargets({ http, pgbench, mysql })
    const off = rs.find((x) => x.id === 'mysql-cache-off')
    const warm = rs.find((x) => x.id === 'mysql-warmed')
    expect(off?.met).toBe('measured')
    expect(off?.measured).toContain('ps_text **0.40×–0.50×**')
    expect(off?.measured).not.toContain('hot_binary')
    expect(off?.measured).toContain('1 failed run')
    expect(warm?.met).toBe('measured')
    expect(warm?.measured).toContain('hot_binary **1.10×–1.80×** (p50 120 µs at 1 thread, ≥ 99% hits)')
    expect(warm?.measured).not.toContain('ps_text')
    expect(renderTargetsTable(rs)).toContain('📏 measured (no goal)')
    // without a mysql.json: not measured
    expect(rows.find((x) => x.id === 'mysql-warmed')?.met).toBeNull()
  })

  describe('README block', () => {
    const dir = mkdtempSync(join(os.tmpdir(), 'sluice-targets-test-'))
    afterAll(() => rmSync(dir, { recursive: true, force: true }))

    it('replaces only the text between the markers, and again on the next run', () => {
      const file = join(dir, 'README.md')
      writeFileSync(file, `# T\n\nbefore\n${README_START}\nold table\n${README_END}\nafter\n`)
      expect(updateReadmeBlock(file, 'new table 1')).toBe(true)
      expect(updateReadmeBlock(file, 'new table 2')).toBe(true)
      expect(readFileSync(file, 'utf8')).toBe(`# T\n\nbefore\n${README_START}\nnew table 2\n${README_END}\nafter\n`)
    })

    it('leaves a README without markers alone', () => {
      const file = join(dir, 'other.md')
      writeFileSync(file, 'no markers here\n')
      expect(updateReadmeBlock(file, 'table')).toBe(false)
      expect(readFileSync(file, 'utf8')).toBe('no markers here\n')
    })
  })
})
