// One SVG chart per scenario of a bench run (bench/results/<scenario>.svg), drawn by ./svg.mjs.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { QUERIES } from './workloads.mjs'
import { barChart, formatNumber } from './svg.mjs'

const LATENCY = [
  { key: 'p50', name: 'p50', color: '#1f5fa8' },
  { key: 'p99', name: 'p99', color: '#9cc2ea' },
]
const qname = (q) => QUERIES[q]?.short ?? q
const ms = (v) => formatNumber(v)
const signed = (v) => (v === null || v === undefined ? '–' : `${v >= 0 ? '+' : ''}${v.toFixed(3)}`)

function when(report) {
  return `${report.startedAt.slice(0, 16).replace('T', ' ')} UTC · git ${report.git?.commit ?? '?'}${report.git?.sluiceSrcDirty ? ' (+ uncommitted changes in packages/sluice/src)' : ''} · ${report.command}`
}

export function missPathChart(r, report) {
  const s = r.settings
  const targetLabel = { direct: 'direct', stub: 'stub', sluice: 'Sluice', cached: 'cached' }
  const panels = []
  for (const q of s.queries.map((x) => x.name)) {
    for (const c of s.concurrency) {
      const cmp = r.comparisons.find((x) => x.target === 'sluice' && x.baseline === 'direct' && x.query === q && x.concurrency === c)
      const cached = r.comparisons.find((x) => x.target === 'cached' && x.baseline === 'direct' && x.query === q && x.concurrency === c)
      const notes = []
      if (cmp) notes.push(`Sluice − direct p50 ${signed(cmp.deltaP50Ms)} ms`)
      if (cached) notes.push(`cached ${(1 / cached.p50Ratio).toFixed(2)}× direct speed`)
      panels.push({
        title: `${qname(q)} · concurrency ${c}`,
        note: notes.join(' · '),
        unit: 'ms',
        format: ms,
        categories: s.targets.map((t) => {
          const x = r.summary.find((y) => y.query === q && y.concurrency === c && y.target === t)
          return { label: targetLabel[t] ?? t, values: { p50: x?.latencyMs.p50, p99: x?.latencyMs.p99 } }
        }),
      })
    }
  }
  return barChart({
    title: 'miss-path: latency of one Prisma call, per target (lower is better)',
    subtitle: [
      'direct = @prisma/adapter-pg to Postgres · stub = Accelerate client vs a canned-answer server (client-side floor) · Sluice = no cacheStrategy (every call runs on Postgres) · cached = cacheStrategy ttl 3600, warmed',
      `Closed loop, ${s.repetitions} × ${s.durationSeconds} s per target and cell, interleaved; pool ${s.poolSize}. Goal: Sluice p50 ≤ direct p50 + ${report.options?.goalP50Ms ?? 0.3} ms.`,
    ],
    series: LATENCY,
    columns: s.concurrency.length,
    panels,
    footnotes: [when(report)],
  })
}

export function httpReplayChart(r, report) {
  const s = r.settings
  const label = (t) => t.target
  const tp = {
    title: `Throughput, wrk -t ${s.wrkThreads} -c ${s.connections} (mean of ${s.repetitions} runs, whisker = min–max)`,
    unit: 'req/s',
    format: (v) => Math.round(v).toLocaleString('en-US'),
    ref: r.summary.some((x) => x.target === 'findUniqueHit') ? { value: 30000, label: 'goal: cache hits ≥ 30k req/s' } : undefined,
    categories: r.summary.map((x) => ({
      label: label(x),
      values: { rps: x.throughputMean },
      ranges: { rps: [x.throughputMin, x.throughputMax] },
    })),
  }
  const lat = {
    title: 'Latency seen by wrk (median over runs)',
    unit: 'ms',
    format: ms,
    categories: r.summary.map((x) => ({ label: label(x), values: { p50: x.latencyMs.p50, p99: x.latencyMs.p99 } })),
  }
  return barChart({
    title: 'http-replay: a captured Prisma /query request replayed by wrk',
    subtitle: [
      'findUnique = no cache (Postgres every time) · findUniqueHit = same request + cache-control: max-age=60 (cache hits) · health = GET /health · floor = bare node:http answering the same bytes',
    ],
    series: [{ key: 'rps', name: 'req/s', color: '#2e7d4f' }, ...LATENCY],
    columns: 2,
    panelWidth: 460,
    panels: [tp, lat],
    footnotes: [when(report)],
  })
}

export function concurrentMissesChart(r, report) {
  const s = r.settings
  const label = { direct: 'direct', sluice: 'Sluice, no cache', cached: 'Sluice cached' }
  const reads = {
    title: `Database reads per burst of ${s.burstSize} identical calls`,
    note: 'counted on the database (probe_reads sequence); whisker = min–max over bursts',
    unit: 'reads',
    format: (v) => (Number.isInteger(v) ? String(v) : v.toFixed(2)),
    categories: r.summary.map((x) => ({
      label: label[x.target] ?? x.target,
      values: { reads: x.dbReadsPerBurst.mean },
      ranges: { reads: [x.dbReadsPerBurst.min, x.dbReadsPerBurst.max] },
    })),
  }
  const lat = {
    title: `Latency of each call from the start of its burst`,
    note: `${r.summary[0]?.bursts ?? '?'} bursts × ${s.burstSize} calls per target; "last" = whole burst (median)`,
    unit: 'ms',
    format: ms,
    categories: r.summary.map((x) => ({
      label: label[x.target] ?? x.target,
      values: { p50: x.latencyMs.p50, p99: x.latencyMs.p99, last: x.burstWallMs.p50 },
    })),
  }
  return barChart({
    title: `concurrent-misses: ${s.burstSize} identical queries at once on a cold key`,
    subtitle: [`${s.query}; pool ${s.poolSize} connections (direct and Sluice). Single flight should make the cached burst one database read.`],
    series: [{ key: 'reads', name: 'database reads', color: '#8e44ad' }, ...LATENCY, { key: 'last', name: 'last answer of the burst', color: '#d9a441' }],
    columns: 2,
    panelWidth: 460,
    panels: [reads, lat],
    footnotes: [when(report)],
  })
}

const CLIENT_COLORS = ['#9cc2ea', '#1f5fa8', '#0b2e59', '#5d8aa8']

/** pgbench scenario (its own result object, as written to pgbench.json): tps per target, one panel per test. */
export function pgbenchChart(result, { labels = {}, tests = {} } = {}) {
  const s = result.settings
  const series = s.clients.map((c, i) => ({ key: `c${c}`, name: `${c} client${c === 1 ? '' : 's'}`, color: CLIENT_COLORS[i % CLIENT_COLORS.length] }))
  const panels = []
  for (const test of s.tests) {
    const rows = result.summary.filter((r) => r.test === test)
    if (!rows.length) continue
    const goals = (result.goals ?? []).filter((g) => g.test === test && g.met !== null)
    panels.push({
      title: `${test}: ${(tests[test]?.label ?? test).replace(/`/g, '')}`,
      note: goals.length ? `goals: ${goals.filter((g) => g.met).length} of ${goals.length} met in this test` : undefined,
      unit: 'tps',
      format: (v) => Math.round(v).toLocaleString('en-US'),
      categories: s.targets.map((t) => {
        const values = {}
        const ranges = {}
        for (const c of s.clients) {
          const r = rows.find((x) => x.target === t && x.clients === c)
          if (!r || r.tps == null) continue
          values[`c${c}`] = r.tps
          if (r.tpsRuns?.length > 1) ranges[`c${c}`] = [Math.min(...r.tpsRuns), Math.max(...r.tpsRuns)]
        }
        return { label: labels[t] ?? t, values, ranges }
      }),
    })
  }
  return barChart({
    title: 'pgbench: throughput per target (higher is better)',
    subtitle: [
      [
        s.targets.includes('direct') && `PostgreSQL ${(result.versions?.postgres ?? '').replace(/ \(.*/, '')} direct`,
        s.targets.includes('pgbouncer') && `${result.versions?.pgbouncer ?? 'PgBouncer'} (transaction mode, pool ${s.poolSize})`,
        s.targets.some((t) => t.startsWith('pgpool')) && `${(result.versions?.pgpool ?? 'pgpool-II').replace(/ version/, '').replace(/ \(.*/, '')} (per session; query cache on${s.targets.includes('pgpool-nocache') ? ' / off' : ''})`,
        s.targets.some((t) => t.startsWith('sluice')) && 'Sluice wire door, cache off and --wire-cache auto',
      ].filter(Boolean).join(' · '),
      `${s.durationSeconds} s × ${s.repetitions} repetition(s) per target and cell, interleaved; bar = mean, whisker = min–max over repetitions; a missing bar = not supported (PgBouncer cannot run -M prepared).`,
    ],
    series,
    columns: 2,
    panelWidth: 460,
    panels,
    footnotes: [`${result.startedAt.slice(0, 16).replace('T', ' ')} UTC · ${s.commandLine ?? 'node bench/scenarios/pgbench.mjs'}${s.quick ? ' · --quick: numbers not meaningful' : ''}`],
  })
}

/** mysql scenario (mysql.json): tps per target, one panel per sysbench test, bars per thread count. */
export function mysqlChart(result, { labels = {}, tests = {} } = {}) {
  const s = result.settings
  const series = s.threads.map((c, i) => ({ key: `t${c}`, name: `${c} thread${c === 1 ? '' : 's'}`, color: CLIENT_COLORS[i % CLIENT_COLORS.length] }))
  const panels = []
  for (const test of s.tests) {
    const rows = result.summary.filter((r) => r.test === test)
    if (!rows.length) continue
    const auto = rows.filter((r) => r.target === 'sluice-auto' && r.vsDirect != null)
    const off = rows.filter((r) => r.target === 'sluice-off' && r.vsDirect != null)
    const span = (rs) => (rs.length ? `${Math.min(...rs.map((r) => r.vsDirect)).toFixed(2)}–${Math.max(...rs.map((r) => r.vsDirect)).toFixed(2)}×` : '–')
    panels.push({
      title: `${test}: ${(tests[test]?.label ?? test).replace(/`/g, '')}`,
      note: `vs direct: cache off ${span(off)}, auto ${span(auto)}`,
      unit: 'tps',
      format: (v) => Math.round(v).toLocaleString('en-US'),
      categories: s.targets.map((t) => {
        const values = {}
        const ranges = {}
        for (const c of s.threads) {
          const r = rows.find((x) => x.target === t && x.threads === c)
          if (!r || r.tps == null) continue
          values[`t${c}`] = r.tps
          if (r.tpsRuns?.length > 1) ranges[`t${c}`] = [Math.min(...r.tpsRuns), Math.max(...r.tpsRuns)]
        }
        return { label: labels[t] ?? t, values, ranges }
      }),
    })
  }
  return barChart({
    title: 'sysbench through the MySQL wire door: throughput per target (higher is better)',
    subtitle: [
      `MariaDB ${result.versions?.mariadb ?? ''} direct · Sluice MySQL door, cache off and --wire-cache auto · ${result.versions?.sysbench ?? 'sysbench'}`,
      `${s.durationSeconds} s × ${s.repetitions} repetition(s) per target and cell, interleaved; bar = median, whisker = min–max over repetitions; a missing bar = the run failed (see the report).`,
    ],
    series,
    columns: 2,
    panelWidth: 460,
    panels,
    footnotes: [`${result.startedAt.slice(0, 16).replace('T', ' ')} UTC · ${s.commandLine ?? 'node bench/scenarios/mysql.mjs'}${s.quick ? ' · --quick: numbers not meaningful' : ''}`],
  })
}

/** multi-node scenario (multi-node.json): propagation latency per mode, hit throughput per node kind. */
export function multiNodeChart(result) {
  const s = result.settings
  const modeLabel = { tag: 'tag invalidate (eventual)', write: 'write via wire (eventual)', strict: 'tag invalidate (strict)' }
  const prop = {
    title: 'Invalidation on A → applied on the reader',
    note: `${s.iterations} iterations per mode; upper bound (resolution = one hit round trip)`,
    unit: 'ms',
    format: ms,
    ref: { value: 50, label: 'goal: p99 ≤ 50 ms' },
    categories: Object.entries(result.propagation).map(([mode, p]) => ({ label: modeLabel[mode] ?? mode, values: { p50: p.ms.p50, p99: p.ms.p99 } })),
  }
  const tp = {
    title: `Cache-hit throughput, wrk -t ${s.wrkThreads} -c ${s.connections}`,
    note: `${s.repetitions} × ${s.durationSeconds} s per node, interleaved; whisker = min–max`,
    unit: 'req/s',
    format: (v) => Math.round(v).toLocaleString('en-US'),
    categories: result.throughput.map((t) => ({
      label: t.label,
      values: { rps: t.throughputMean },
      ranges: t.throughputRuns?.length > 1 ? { rps: [Math.min(...t.throughputRuns), Math.max(...t.throughputRuns)] } : {},
    })),
  }
  return barChart({
    title: 'multi-node: Sluice nodes sharing one Redis',
    subtitle: [`Sluice ${result.versions?.sluice ?? ''}, ${result.versions?.redis?.replace(/ sha=.*$/, '') ?? 'redis'}; four nodes on one origin: A, B eventual, S strict, L without Redis.`],
    series: [...LATENCY, { key: 'rps', name: 'req/s', color: '#2e7d4f' }],
    columns: 2,
    panelWidth: 460,
    panels: [prop, tp],
    footnotes: [`${result.startedAt.slice(0, 16).replace('T', ' ')} UTC · ${s.commandLine ?? 'node bench/scenarios/multi-node.mjs'}${s.quick ? ' · --quick: numbers not meaningful' : ''}`],
  })
}

const CHARTS = { 'miss-path': missPathChart, 'http-replay': httpReplayChart, 'concurrent-misses': concurrentMissesChart }

/** Writes `<scenario>.svg` into `dir` for every scenario of the report; returns { scenario: file name }. */
export function writeCharts(report, dir) {
  const written = {}
  for (const r of report.results) {
    const draw = CHARTS[r.scenario]
    if (!draw) continue
    const file = `${r.scenario}.svg`
    writeFileSync(join(dir, file), draw(r, report))
    written[r.scenario] = file
  }
  return written
}
