// The benchmark targets the issues name (2, 3 and 4; 5's propagation goal too; 8's MySQL figures, which
// have no numeric goal: judged "measured"), each judged from the latest results written under
// bench/results/: http.json (miss-path, concurrent-misses, http-replay), pgbench.json, multi-node.json
// and mysql.json. Each scenario's file may come from a different run; the table
// says which run and whether it was a --quick plumbing check (whose numbers mean nothing).
//
// Used by bench/run.mjs to write bench/results/latest.md and the block between
// <!-- bench:targets:start --> and <!-- bench:targets:end --> in README.md.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const README_START = '<!-- bench:targets:start -->'
export const README_END = '<!-- bench:targets:end -->'

/** The targets, quoted from the issues. `from` = which scenario measures it. */
export const TARGETS = [
  { id: 'miss-findUnique', issue: 2, from: 'http', quote: 'miss-path overhead of Sluice against Prisma with `@prisma/adapter-pg` direct for `findUnique` … Goal: ≤ +0.3 ms p50 over direct' },
  { id: 'miss-findMany100', issue: 2, from: 'http', quote: '… and a 100-row `findMany` with a relation … Goal: ≤ +0.3 ms p50 over direct' },
  { id: 'hit-throughput', issue: 3, from: 'http', quote: 'cache-hit throughput of the HTTP door at 16 connections ≥ 30k requests/s (replay a captured `/query` body with an HTTP load tool)' },
  { id: 'cached-findMany', issue: 3, from: 'http', quote: "the real Prisma client's cached 100-row findMany with a relation ≥ 2× faster than the same query direct through `@prisma/adapter-pg`" },
  { id: 'single-flight', issue: 3, from: 'http', quote: '100 concurrent identical misses produce one query on the database (count it on the database side)' },
  { id: 'wire-cache-off', issue: 4, from: 'pgbench', quote: 'with caching off Sluice reaches ≥ 0.8× PgBouncer’s throughput' },
  { id: 'wire-hit-pgbouncer', issue: 4, from: 'pgbench', quote: 'with a warmed cache on `-S`-style point selects at 8 and 32 clients ≥ 2.5× PgBouncer' },
  { id: 'wire-hit-direct', issue: 4, from: 'pgbench', quote: '… and ≥ 1.5× direct' },
  { id: 'wire-hit-p50', issue: 4, from: 'pgbench', quote: 'c=1 hit latency p50 ≤ 100 µs' },
  { id: 'propagation', issue: 5, from: 'multinode', quote: 'invalidation propagation between two nodes, p50/p99 (goal p99 ≤ 50 ms on one machine)' },
  { id: 'mysql-cache-off', issue: 8, from: 'mysql', quote: 'point selects and a read/write mix against direct MariaDB in one run (cache off …)' },
  { id: 'mysql-warmed', issue: 8, from: 'mysql', quote: '… and warmed)' },
]

export const RESULT_FILES = { http: 'http.json', pgbench: 'pgbench.json', multinode: 'multi-node.json', mysql: 'mysql.json' }

const ms = (v) => (v == null ? '–' : v < 1 ? `${Math.round(v * 1000)} µs` : `${v.toFixed(2)} ms`)
const signedMs = (v) => (v == null ? '–' : `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(2)} ms`)
const x = (v) => (v == null ? '–' : `${v.toFixed(2)}×`)
const k = (v) => (v == null ? '–' : v >= 1000 ? `${(v / 1000).toFixed(1)}k` : String(Math.round(v)))

/** met / partly / not met from per-cell booleans. */
function verdict(cells) {
  const judged = cells.filter((c) => c !== null && c !== undefined)
  if (!judged.length) return null
  const n = judged.filter(Boolean).length
  return n === judged.length ? 'met' : n === 0 ? 'not met' : `partly (${n} of ${judged.length})`
}

/** Reads the scenario result files in `dir` (missing ones are undefined). */
export function readResults(dir) {
  const out = {}
  for (const [key, file] of Object.entries(RESULT_FILES)) {
    const p = join(dir, file)
    if (!existsSync(p)) continue
    try {
      out[key] = JSON.parse(readFileSync(p, 'utf8'))
    } catch {
      // unreadable: treated as missing
    }
  }
  return out
}

function sourceOf(key, r) {
  if (!r) return undefined
  const startedAt = r.startedAt
  const quick = key === 'http' ? !!r.options?.quick : !!r.settings?.quick
  return { file: RESULT_FILES[key].replace('.json', '.md'), startedAt, quick }
}

/** Evaluates every target against `results` ({ http, pgbench, multinode }). */
export function evaluateTargets(results) {
  const rows = []
  const http = results.http
  const sub = (name) => http?.results?.find((r) => r.scenario === name)
  const missPath = sub('miss-path')
  const replay = sub('http-replay')
  const herd = sub('concurrent-misses')
  const pgb = results.pgbench
  const mn = results.multinode
  const my = results.mysql
  for (const t of TARGETS) {
    const row = { ...t, measured: undefined, met: null, source: undefined }
    if (t.id.startsWith('miss-') && missPath) {
      const q = t.id === 'miss-findUnique' ? 'findUnique' : 'findMany100'
      const cmps = missPath.comparisons.filter((c) => c.target === 'sluice' && c.baseline === 'direct' && c.query === q).sort((a, b) => a.concurrency - b.concurrency)
      if (cmps.length) {
        row.measured = cmps.map((c) => `**${signedMs(c.deltaP50Ms)}** at c=${c.concurrency} (${ms(c.targetP50)} vs ${ms(c.baselineP50)})`).join('; ')
        row.met = verdict(cmps.map((c) => c.deltaP50Ms <= (c.goalMs ?? 0.3)))
        row.source = sourceOf('http', http)
      }
    } else if (t.id === 'hit-throughput' && replay) {
      const hit = replay.summary.find((s) => s.target === 'findUniqueHit')
      if (hit) {
        const n = replay.settings.repetitions
        const runs = hit.throughputMin != null && n > 1 ? ` (${k(hit.throughputMin)}–${k(hit.throughputMax)} over ${n} runs)` : ` (${n} run)`
        const floor = hit.throughputRatioToFloor != null ? `; ${x(hit.throughputRatioToFloor)} a bare node:http server` : ''
        row.measured = `**${k(hit.throughputMean)} req/s**${runs}${floor}; ${hit.serverCpuUsPerRequest ?? '–'} µs Sluice CPU per hit`
        row.met = verdict([hit.throughputMean >= 30000])
        row.source = sourceOf('http', http)
      }
    } else if (t.id === 'cached-findMany' && missPath) {
      const q = missPath.comparisons.some((c) => c.target === 'cached' && c.query === 'findMany100Hot') ? 'findMany100Hot' : 'findMany100'
      const cmps = missPath.comparisons.filter((c) => c.target === 'cached' && c.baseline === 'direct' && c.query === q).sort((a, b) => a.concurrency - b.concurrency)
      if (cmps.length) {
        row.measured = cmps.map((c) => `**${x(1 / c.p50Ratio)}** at c=${c.concurrency} (p50 ${ms(c.targetP50)} vs ${ms(c.baselineP50)})`).join('; ') + (q === 'findMany100Hot' ? ' — hot set of 10 windows' : '')
        row.met = verdict(cmps.map((c) => 1 / c.p50Ratio >= 2))
        row.source = sourceOf('http', http)
      }
    } else if (t.id === 'single-flight' && herd) {
      const c = herd.summary.find((s) => s.target === 'cached')
      const d = herd.summary.find((s) => s.target === 'direct')
      if (c) {
        row.measured = `**${c.dbReadsPerBurst.mean} database read(s) per burst** of ${herd.settings.burstSize} (max ${c.dbReadsPerBurst.max}, ${c.bursts} bursts)${d ? `; direct: ${d.dbReadsPerBurst.mean}` : ''}`
        row.met = verdict([c.dbReadsPerBurst.max <= 1])
        row.source = sourceOf('http', http)
      }
    } else if (t.from === 'pgbench' && pgb) {
      const goals = pgb.goals ?? []
      const pick = {
        'wire-cache-off': (g) => g.goal.startsWith('cache off'),
        'wire-hit-pgbouncer': (g) => g.goal.startsWith('warmed') && g.goal.includes('PgBouncer'),
        'wire-hit-direct': (g) => g.goal.startsWith('warmed') && g.goal.includes('direct'),
        'wire-hit-p50': (g) => g.goal.startsWith('c=1'),
      }[t.id]
      const gs = goals.filter(pick).filter((g) => g.met !== null)
      if (gs.length) {
        const vals = gs.map((g) => g.value)
        const lo = Math.min(...vals)
        const hi = Math.max(...vals)
        const fmtV = t.id === 'wire-hit-p50' ? (v) => `${Math.round(v * 1000)} µs` : (v) => `${v.toFixed(2)}×`
        const range = lo === hi ? fmtV(lo) : `${fmtV(lo)}–${fmtV(hi)}`
        const cells = [...new Set(gs.map((g) => g.test))].join(', ')
        const best = t.id === 'wire-hit-p50' ? gs.reduce((a, b) => (b.value < a.value ? b : a)) : gs.reduce((a, b) => (b.value > a.value ? b : a))
        let cpu = ''
        if (t.id !== 'wire-cache-off') {
          const r = pgb.summary.find((s) => s.test === best.test && s.clients === best.clients && s.target === 'sluice-auto')
          if (r?.proxyCpuUsPerXact != null) cpu = `; Sluice CPU ${r.proxyCpuUsPerXact} µs/xact there`
          if (t.id === 'wire-hit-pgbouncer' && r?.vsPgpool != null) cpu += `; vs pgpool-II with its cache on: ${x(r.vsPgpool)}`
        }
        row.measured = `**${range}** over ${gs.length} cell${gs.length === 1 ? '' : 's'} (${cells}); best ${best.test} c=${best.clients}: ${best.display}${cpu}`
        row.met = verdict(gs.map((g) => g.met))
        row.source = sourceOf('pgbench', pgb)
      }
    } else if (t.from === 'mysql' && my?.summary) {
      // no numeric goal (issue 8 asks for the figures): tps × direct per test, over the thread counts
      const target = t.id === 'mysql-cache-off' ? 'sluice-off' : 'sluice-auto'
      const tests = [...new Set(my.summary.map((r) => r.test))].filter((test) => (t.id === 'mysql-warmed') === test.startsWith('hot_'))
      const parts = []
      for (const test of tests) {
        const rs = my.summary.filter((r) => r.test === test && r.target === target && r.vsDirect != null).sort((a, b) => a.threads - b.threads)
        if (!rs.length) continue
        const lo = Math.min(...rs.map((r) => r.vsDirect))
        const hi = Math.max(...rs.map((r) => r.vsDirect))
        const cpu = rs.filter((r) => r.sluiceCpuUsPerQuery != null).map((r) => r.sluiceCpuUsPerQuery)
        const hits = rs.filter((r) => r.hitShare != null).map((r) => r.hitShare)
        const c1 = rs.find((r) => r.threads === 1)
        parts.push(
          `${test} **${lo === hi ? x(lo) : `${x(lo)}–${x(hi)}`}**` +
            (t.id === 'mysql-warmed' && c1?.latencyMs?.p50 != null ? ` (p50 ${ms(c1.latencyMs.p50)} at 1 thread` + (hits.length ? `, ${Math.min(...hits) >= 1 ? '100%' : `≥ ${Math.floor(Math.min(...hits) * 100)}%`} hits` : '') + ')' : '') +
            (cpu.length ? `, Sluice ${[...new Set([Math.round(Math.min(...cpu)), Math.round(Math.max(...cpu))])].join('–')} µs CPU/stmt` : ''),
        )
      }
      const failed = my.failures?.filter((f) => f.target === target || f.target === 'direct') ?? []
      if (parts.length || failed.length) {
        row.measured = `× direct at ${my.settings.threads.join('/')} threads: ${parts.join('; ')}${failed.length ? `; ⚠ ${failed.length} failed run(s)` : ''}`
        row.met = 'measured'
        row.source = sourceOf('mysql', my)
      }
    } else if (t.id === 'propagation' && mn?.propagation) {
      const ev = Object.entries(mn.propagation).filter(([, p]) => p.reader !== 'S')
      if (ev.length) {
        row.measured = ev.map(([mode, p]) => `${mode}: **p99 ${ms(p.ms.p99)}** (p50 ${ms(p.ms.p50)})`).join('; ')
        row.met = verdict(ev.map(([, p]) => p.ms.p99 <= 50))
        row.source = sourceOf('multinode', mn)
      }
    }
    rows.push(row)
  }
  return rows
}

const mark = (met) => (met == null ? '– (not measured)' : met === 'met' ? '✅ met' : met === 'not met' ? '❌ not met' : met === 'measured' ? '📏 measured (no goal)' : `◐ ${met}`)

/** The Markdown targets table; `linkPrefix` is prepended to report file names (e.g. 'bench/results/'). */
export function renderTargetsTable(rows, { linkPrefix = '' } = {}) {
  const out = []
  out.push('| issue | target (quoted) | latest measured | | run |')
  out.push('| --- | --- | --- | --- | --- |')
  for (const r of rows) {
    const src = r.source ? `[${r.source.file.replace('.md', '')}](${linkPrefix}${r.source.file}) ${r.source.startedAt?.slice(0, 16).replace('T', ' ') ?? ''}${r.source.quick ? ' **--quick**' : ''}` : '–'
    out.push(`| ${r.issue} | ${r.quote} | ${r.measured ?? 'not measured yet'} | ${mark(r.met)} | ${src} |`)
  }
  return out.join('\n')
}

/** Replaces the text between the README markers; returns false when the markers are missing. */
export function updateReadmeBlock(readmePath, block) {
  if (!existsSync(readmePath)) return false
  const text = readFileSync(readmePath, 'utf8')
  const a = text.indexOf(README_START)
  const b = text.indexOf(README_END)
  if (a < 0 || b < a) return false
  const next = `${text.slice(0, a + README_START.length)}\n${block.trim()}\n${text.slice(b)}`
  if (next !== text) writeFileSync(readmePath, next)
  return true
}
