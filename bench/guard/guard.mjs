// The hit-path regression guard: a fixed micro-workload of cache hits (bench/guard/measure.mjs),
// measured by counting, never by timing, and compared with bench/guard/reference.json.
//
// Three measures, each from its own process (see measure.mjs for how each is taken):
//   instructionsPerHit  instructions executed per hit (server + the minimal client), counted by
//                       valgrind --tool=callgrind; the primary gate
//   callsPerHit         calls per hit of JSON.parse/stringify, createHash, Buffer.from/concat/
//                       toString, Date.now, RegExp#exec, … and async resources (promises, ticks)
//                       created per hit; exact counts, a structural gate (it says *what* grew)
//   heapBytesPerHit     bytes allocated on the V8 heap per hit; a secondary gate
//
// Used by packages/sluice/test/perf/hit-path-guard.test.ts, bench/guard/check.mjs and
// bench/guard/record.mjs (which writes the reference).
import { execFile, execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'

const here = dirname(fileURLToPath(import.meta.url))
export const repoRoot = join(here, '..', '..')
export const REFERENCE_PATH = join(here, 'reference.json')
export const MEASURE_SCRIPT = join(here, 'measure.mjs')

/** The workload. Changing it invalidates the reference (record it again). */
export const WORKLOAD = { hits: 1000, warmup: 3000, settle: 300 }

/**
 * V8 flags of the measured process. --single-threaded: no background compilation or GC threads,
 * whose interleaving made instruction counts drift by ~1.4 % between runs (0.1 % without them);
 * --predictable-gc-schedule: heap growth not driven by measured allocation *rates* (time);
 * --random-seed: the same object identity hashes (WeakMap / Map buckets) in every run.
 */
export const NODE_FLAGS = ['--expose-gc', '--single-threaded', '--predictable-gc-schedule', '--random-seed=1']

/** Marker functions (see measure.mjs): zero the counters before the measured hits, dump after. */
export const CALLGRIND_ARGS = ['--tool=callgrind', '--zero-before=uv_os_getppid', '--dump-before=uv_resident_set_memory']

/** Default tolerances: how much worse than the reference a measure may get before the guard fails. */
export const DEFAULT_TOLERANCE = {
  /** relative: fail above reference × (1 + 0.03) */
  instructionsPerHit: 0.03,
  /** relative */
  heapBytesPerHit: 0.05,
  /** absolute, per counter: fail when a counter grows by this much per hit (one more call every other hit) */
  callsPerHit: 0.5,
}

export function valgrindVersion() {
  try {
    return execFileSync('valgrind', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return null
  }
}

function git(args) {
  try {
    return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return undefined
  }
}

export function environment() {
  const dirty = git(['status', '--porcelain', '--', 'packages/sluice/src'])
  return {
    node: process.version,
    arch: process.arch,
    valgrind: valgrindVersion(),
    nodeFlags: NODE_FLAGS,
    git: git(['rev-parse', '--short', 'HEAD']),
    sluiceSrcDirty: dirty ? dirty.split('\n').length : 0,
  }
}

function dbUrl(pgUrl, database) {
  const u = new URL(pgUrl)
  u.pathname = `/${database}`
  return u.toString()
}

/**
 * Creates a throwaway database with the e2e schema and the one row the guard's query reads
 * (user 42). Returns its URL and a drop function.
 */
export async function prepareDatabase(pgUrl) {
  const name = `sluice_guard_${process.pid}`
  const admin = new pg.Client({ connectionString: dbUrl(pgUrl, 'postgres') })
  await admin.connect()
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const url = dbUrl(pgUrl, name)
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    await c.query(readFileSync(join(repoRoot, 'packages/sluice/test/e2e/prisma/schema.sql'), 'utf8'))
    await c.query(
      `INSERT INTO "User" (id, email, name, role, tags, "createdAt", "updatedAt")
       VALUES (42, 'user42@bench.example.com', 'User Number 42', 'USER', ARRAY['tag0', 'tag9'], '2025-01-02 01:54:00', '2025-06-01 07:42:00')`,
    )
  } finally {
    await c.end()
  }
  return {
    url,
    async drop() {
      const a = new pg.Client({ connectionString: dbUrl(pgUrl, 'postgres') })
      await a.connect()
      try {
        await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      } finally {
        await a.end()
      }
    },
  }
}

/**
 * Runs a measuring process and resolves to its GUARD_JSON. `onReady(pid)` is awaited when the
 * process prints GUARD_READY (it then waits for `goFile` to exist before its measured phase).
 */
function run(cmd, args, { timeoutMs = 400_000, onReady, goFile } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } })
    let out = ''
    let err = ''
    let readySeen = false
    child.stdout.on('data', (d) => {
      out += d
      const m = !readySeen && /^GUARD_READY (\d+)$/m.exec(out)
      if (m) {
        readySeen = true
        Promise.resolve(onReady?.(Number(m[1])))
          .then(() => writeFileSync(goFile, 'go\n'))
          .catch((e) => {
            err += `\n${e.message}`
            child.kill('SIGKILL')
          })
      }
    })
    child.stderr.on('data', (d) => (err += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', reject)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      const m = /^GUARD_JSON (.*)$/m.exec(out)
      if (code !== 0 || !m) return reject(new Error(`${cmd} ${args.join(' ')} failed (${signal ?? `exit ${code}`}):\n${err.slice(-3000)}${out.slice(-1000)}`))
      resolve(JSON.parse(m[1]))
    })
  })
}

/** One measurement in a fresh process. mode: instructions (needs valgrind) | calls | heap. */
export async function measureOnce({ origin, mode, hits = WORKLOAD.hits, warmup = WORKLOAD.warmup, settle = WORKLOAD.settle }) {
  const scriptArgs = [MEASURE_SCRIPT, '--origin', origin, '--mode', mode, '--hits', String(hits), '--warmup', String(warmup), '--settle', String(settle)]
  if (mode !== 'instructions') return run(process.execPath, [...NODE_FLAGS, ...scriptArgs])
  const dir = mkdtempSync(join(tmpdir(), 'sluice-guard-'))
  try {
    const out = join(dir, 'callgrind.out')
    const goFile = join(dir, 'go')
    // Start uninstrumented (valgrind then runs ~5x faster than with callgrind's instrumentation):
    // start-up, the first miss and the warm-up hits are not measured anyway. When the process is
    // ready, switch instrumentation on (callgrind_control talks to it through vgdb), then let it go.
    const atStart = process.env.SLUICE_GUARD_INSTR_ATSTART === '1' // study: instrument the whole run
    const r = await run('valgrind', [...CALLGRIND_ARGS, ...(atStart ? [] : ['--instr-atstart=no']), `--callgrind-out-file=${out}`, process.execPath, ...NODE_FLAGS, ...scriptArgs, ...(atStart ? [] : ['--wait-for', goFile])], {
      goFile,
      onReady: (pid) =>
        new Promise((resolve, reject) =>
          execFile('callgrind_control', ['--instr=on', String(pid)], { timeout: 60_000 }, (e, stdout, stderr) =>
            e || !/OK/.test(stdout) ? reject(new Error(`callgrind_control --instr=on ${pid} failed: ${e?.message ?? ''} ${stdout} ${stderr}`)) : resolve(),
          ),
        ),
    })
    // Marker dumps: part 1 (callgrind.out.1) is the floor (bare node:http, same request and
    // answer), part 2 Sluice's hits; the file without suffix is the rest of the run.
    const totalOf = (name) => {
      if (!readdirSync(dir).includes(name)) {
        throw new Error(`callgrind wrote no ${name} at the markers (files: ${readdirSync(dir).join(', ')}); is ${process.execPath} stripped of uv_* symbols?`)
      }
      const text = readFileSync(join(dir, name), 'utf8')
      const totals = /^totals:\s+(\d+)/m.exec(text) ?? /^summary:\s+(\d+)/m.exec(text)
      if (!totals) throw new Error(`no totals in the callgrind dump ${name}`)
      return Number(totals[1])
    }
    const floor = totalOf('callgrind.out.1')
    const instructions = totalOf('callgrind.out.2')
    return {
      ...r,
      instructions,
      instructionsPerHit: instructions / hits,
      floorInstructionsPerHit: floor / r.floorHits,
      instructionsVsFloor: instructions / hits / (floor / r.floorHits),
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * Runs the measures (each `runs` times) against a fresh database; returns the raw runs.
 * `modes` defaults to all three ('instructions' only when valgrind is installed).
 */
export async function measure({ pgUrl, modes, runs = 1, log = () => {} }) {
  modes ??= valgrindVersion() ? ['instructions', 'calls', 'heap'] : ['calls', 'heap']
  const db = await prepareDatabase(pgUrl)
  const out = { instructions: [], calls: [], heap: [] }
  try {
    for (let i = 0; i < runs; i++) {
      for (const mode of modes) {
        const t0 = Date.now()
        const r = await measureOnce({ origin: db.url, mode })
        out[mode].push(r)
        const what = mode === 'instructions' ? `${Math.round(r.instructionsPerHit).toLocaleString('en-US')} instructions/hit` : mode === 'heap' ? `${Math.round(r.heapBytesPerHit).toLocaleString('en-US')} heap bytes/hit` : 'calls counted'
        log(`  run ${i + 1}/${runs} ${mode.padEnd(12)} ${what}  (${((Date.now() - t0) / 1000).toFixed(1)} s)`)
      }
    }
  } finally {
    await db.drop().catch(() => {})
  }
  return out
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}
const spread = (xs) => (xs.length > 1 ? (Math.max(...xs) - Math.min(...xs)) / median(xs) : 0)

/** Builds the reference file's content from several runs of each measure. */
export function buildReference(runs, tolerance = DEFAULT_TOLERANCE) {
  const ref = {
    about:
      'Reference for the hit-path guard (packages/sluice/test/perf/hit-path-guard.test.ts). Counts, not timings. Re-record with `node bench/guard/record.mjs` after an intended change of the hit path, a Node.js upgrade or a change of the workload; see bench/README.md.',
    recordedAt: new Date().toISOString(),
    environment: environment(),
    workload: { ...WORKLOAD, query: 'bench/guard/query.json', cacheControl: 'max-age=3600' },
    tolerance,
  }
  if (runs.instructions.length) {
    const v = runs.instructions.map((r) => r.instructionsPerHit)
    ref.instructionsPerHit = { value: Math.round(median(v)), runs: v.map((x) => Math.round(x)), spread: round(spread(v), 5) }
    const f = runs.instructions.map((r) => r.floorInstructionsPerHit)
    ref.floorInstructionsPerHit = { value: Math.round(median(f)), runs: f.map((x) => Math.round(x)), spread: round(spread(f), 5) }
    const q = runs.instructions.map((r) => r.instructionsVsFloor)
    ref.instructionsVsFloor = { value: round(median(q), 4), runs: q.map((x) => round(x, 4)), spread: round(spread(q), 5) }
  }
  if (runs.heap.length) {
    const v = runs.heap.map((r) => r.heapBytesPerHit)
    ref.heapBytesPerHit = { value: Math.round(median(v)), runs: v.map((x) => Math.round(x)), spread: round(spread(v), 5) }
  }
  if (runs.calls.length) {
    const keys = [...new Set(runs.calls.flatMap((r) => Object.keys(r.callsPerHit)))].sort()
    ref.callsPerHit = {
      value: Object.fromEntries(keys.map((k) => [k, round(median(runs.calls.map((r) => r.callsPerHit[k] ?? 0)), 3)])),
      runs: runs.calls.map((r) => r.callsPerHit),
    }
  }
  return ref
}

function round(v, d) {
  const f = 10 ** d
  return Math.round(v * f) / f
}

/**
 * Compares one run of each measure with the reference. Returns { ok, problems, notes, rows }:
 * rows for printing, problems (regressions, or a reference taken with another Node / valgrind),
 * notes (improvements worth re-recording).
 */
export function compare(measured, reference) {
  const tol = { ...DEFAULT_TOLERANCE, ...reference.tolerance }
  const rows = []
  const problems = []
  const notes = []
  const env = environment()
  const relative = (name, value, ref, limit, unit) => {
    const change = value / ref - 1
    const ok = change <= limit
    rows.push({ measure: name, reference: ref, measured: value, change, limit: `+${(limit * 100).toFixed(0)}%`, ok })
    if (!ok) problems.push(`${name}: ${fmt(value)} ${unit} vs reference ${fmt(ref)} (${pctStr(change)}, limit +${(limit * 100).toFixed(0)}%)`)
    else if (change < -limit) notes.push(`${name} improved ${pctStr(change)} (${fmt(value)} vs ${fmt(ref)}): record the reference again (node bench/guard/record.mjs) so the guard keeps the gain`)
  }
  if (measured.instructions?.length && reference.instructionsVsFloor) {
    // The gate: Sluice's instructions per hit relative to the floor measured in the same process
    // (bare node:http answering the same bytes). Absolute counts move with the CPU model (glibc and
    // V8 choose code by CPU features; the same build counted twice as many on another machine),
    // the ratio does not; the absolute counts are shown for information.
    relative('instructions per hit ÷ floor', median(measured.instructions.map((r) => r.instructionsVsFloor)), reference.instructionsVsFloor.value, tol.instructionsPerHit, '×')
    const info = (name, value, ref) => rows.push({ measure: name, reference: ref, measured: value, change: value / ref - 1, limit: 'info', ok: true })
    info('instructionsPerHit (absolute)', median(measured.instructions.map((r) => r.instructionsPerHit)), reference.instructionsPerHit.value)
    info('floor instructions per request', median(measured.instructions.map((r) => r.floorInstructionsPerHit)), reference.floorInstructionsPerHit.value)
    if (reference.environment?.node !== env.node || reference.environment?.valgrind !== env.valgrind) {
      notes.push(`the reference was recorded with Node ${reference.environment?.node} / ${reference.environment?.valgrind}, this is Node ${env.node} / ${env.valgrind}: record it again when convenient (node bench/guard/record.mjs)`)
    }
  } else if (measured.instructions?.length) {
    problems.push('the reference has no instructionsVsFloor: record it again (node bench/guard/record.mjs)')
  }
  if (measured.heap?.length && reference.heapBytesPerHit) {
    relative('heapBytesPerHit', median(measured.heap.map((r) => r.heapBytesPerHit)), reference.heapBytesPerHit.value, tol.heapBytesPerHit, 'bytes')
  }
  if (measured.calls?.length && reference.callsPerHit) {
    const got = measured.calls[0].callsPerHit
    const ref = reference.callsPerHit.value
    for (const k of [...new Set([...Object.keys(ref), ...Object.keys(got)])].sort()) {
      const a = ref[k] ?? 0
      const b = got[k] ?? 0
      const ok = b - a < tol.callsPerHit
      rows.push({ measure: `calls/hit ${k}`, reference: a, measured: b, change: b - a, limit: `+${tol.callsPerHit}`, ok, absolute: true })
      if (!ok) problems.push(`${k}: ${b} per hit vs reference ${a} (limit +${tol.callsPerHit} per hit)`)
      else if (a - b >= tol.callsPerHit) notes.push(`${k}: ${b} per hit, reference ${a}: fewer calls; record the reference again (node bench/guard/record.mjs)`)
    }
  }
  return { ok: problems.length === 0, problems, notes, rows }
}

function fmt(v) {
  return Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : String(round(v, 3))
}
function pctStr(v) {
  return `${v >= 0 ? '+' : ''}${(v * 100).toFixed(2)}%`
}

/** A plain-text table of compare() rows. */
export function formatRows(rows) {
  const lines = rows.map((r) => [
    r.measure,
    fmt(r.reference),
    fmt(r.measured),
    r.absolute ? `${r.change >= 0 ? '+' : ''}${round(r.change, 3)}` : pctStr(r.change),
    r.limit,
    r.ok ? 'ok' : 'REGRESSION',
  ])
  const head = ['measure', 'reference', 'measured', 'change', 'limit', '']
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => String(l[i]).length)))
  return [head, ...lines].map((l) => l.map((c, i) => String(c).padEnd(widths[i])).join('  ')).join('\n')
}

export function readReference(path = REFERENCE_PATH) {
  return JSON.parse(readFileSync(path, 'utf8'))
}
