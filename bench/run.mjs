#!/usr/bin/env node
// Sluice benchmarks: `npm run bench` (builds Sluice and the Prisma clients first), or directly
// `node bench/run.mjs [options]`. See bench/README.md. Numbers from this tool are for reports only:
// they never decide whether a test passes.
import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createBenchDatabase, dropBenchDatabase, openMonitor, adminUrl } from './lib/db.mjs'
import { describeMachine, topProcesses, waitForIdle } from './lib/proc.mjs'
import { loadPrismaClient } from './lib/prisma-clients.mjs'
import { startSluiceProcess } from './lib/sluice-process.mjs'
import { parseQueryList } from './lib/workloads.mjs'
import { callersOf, summarizeCpuProfile } from './lib/cpuprofile.mjs'
import { renderMarkdown } from './lib/report.mjs'
import * as missPath from './scenarios/miss-path.mjs'
import * as httpReplay from './scenarios/http-replay.mjs'
import * as concurrentMisses from './scenarios/concurrent-misses.mjs'
import { writeCharts } from './lib/charts.mjs'

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..')
const SCENARIOS = { [missPath.name]: missPath, [concurrentMisses.name]: concurrentMisses, [httpReplay.name]: httpReplay }

const HELP = `Usage: node bench/run.mjs [options]        (npm run bench -- [options])

Scenarios (default: all):
  miss-path    real Prisma 7.10 client through Sluice (no cacheStrategy) vs direct @prisma/adapter-pg
               (and vs a stub server, and cached through Sluice): findUnique by id, a 100-row
               findMany with include, an aggregate; closed loop, interleaved
  concurrent-misses
               N identical cached queries at once on a cold key, repeated with fresh keys: database
               reads per burst (single flight: 1) and latency of the N calls, vs the same N direct
  http-replay  wrk replays a captured /query request at 16 connections, without and with
               cache-control: max-age=60 (+ /health and a bare node:http floor for reference)

Options:
  --scenarios <a,b>        scenarios to run (${Object.keys(SCENARIOS).join(', ')})
  --duration <s>           seconds per measured block (default 4; wrk rounds to whole seconds)
  --repetitions <n>        interleaved repetitions of every comparison (default 3)
  --quick                  plumbing check: 1 repetition, short blocks (numbers not meaningful)
  --concurrency <list>     miss-path client concurrency levels (default 1,8)
  --targets <list>         miss-path targets (default direct,stub,sluice,cached; stub = bare HTTP
                           server with canned answers: the client-side floor of the Accelerate path;
                           cached = through Sluice with cacheStrategy { ttl: 3600 })
  --queries <list>         miss-path queries (default findUnique,findMany100,aggregate,findMany100Hot;
                           also findUniqueHot)
  --burst-size <n>         concurrent-misses: identical calls per burst (default 100)
  --bursts <n>             concurrent-misses: bursts per target and repetition (default 10; 3 with --quick)
  --pool-size <n>          connections to Postgres for both direct and Sluice (default: max concurrency)
  --replay <list>          http-replay targets (default findUnique,findUniqueHit,health,floor;
                           also findMany100)
  --connections <n>        wrk connections (default 16)
  --wrk-threads <n>        wrk threads (default 2)
  --header "<Name: value>" extra header on replayed /query requests, repeatable
                           (e.g. --header "cache-control: max-age=60" for a cache-hit run)
  --cpu-prof               run Sluice under node --cpu-prof; adds the top self-time functions to
                           the report (timings of a profiled run are slower: compare ratios only)
  --noise-threshold <f>    share of the machine's CPU used by unrelated processes above which a
                           cell (all targets of one comparison) is measured again (default 0.10)
  --max-retries <n>        re-measurements per noisy cell (default 1; 0 with --quick)
  --retry-budget <s>       total seconds spent re-measuring, per scenario (default 60)
  --goal-ms <ms>           miss-path goal for Sluice p50 minus direct p50 (default 0.3)
  --pg-url <url>           admin URL of the Postgres server (default $SLUICE_BENCH_PG_URL,
                           $SLUICE_TEST_PG_URL or postgresql://postgres@127.0.0.1:5432/postgres)
  --database <name>        benchmark database, dropped and recreated (default sluice_bench)
  --keep-db                keep the benchmark database afterwards
  --no-idle-wait           do not wait for the machine to be quiet before starting
  --out <dir>              where latest.md / latest.json go (default bench/results)
  --render <file.json>     only re-render the Markdown report of an earlier run (next to the JSON)
  -h, --help               this help`

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      scenarios: { type: 'string' },
      duration: { type: 'string' },
      repetitions: { type: 'string' },
      quick: { type: 'boolean' },
      concurrency: { type: 'string' },
      targets: { type: 'string' },
      queries: { type: 'string' },
      'pool-size': { type: 'string' },
      'burst-size': { type: 'string' },
      bursts: { type: 'string' },
      replay: { type: 'string' },
      connections: { type: 'string' },
      'wrk-threads': { type: 'string' },
      header: { type: 'string', multiple: true },
      'cpu-prof': { type: 'boolean' },
      'goal-ms': { type: 'string' },
      'noise-threshold': { type: 'string' },
      'max-retries': { type: 'string' },
      'retry-budget': { type: 'string' },
      'pg-url': { type: 'string' },
      database: { type: 'string' },
      'keep-db': { type: 'boolean' },
      'no-idle-wait': { type: 'boolean' },
      out: { type: 'string' },
      render: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    console.log(HELP)
    process.exit(0)
  }
  if (values.render) {
    const md = values.render.replace(/\.json$/, '') + '.md'
    const report = JSON.parse(readFileSync(values.render, 'utf8'))
    const charts = writeCharts(report, dirname(md))
    writeFileSync(md, renderMarkdown(report, charts))
    console.log(`wrote ${[md, ...Object.values(charts).map((c) => join(dirname(md), c))].join(', ')}`)
    process.exit(0)
  }
  const num = (v, name, { min = 0, int = false } = {}) => {
    const n = Number(v)
    if (!Number.isFinite(n) || n < min || (int && !Number.isInteger(n))) throw new Error(`--${name}: expected a number ≥ ${min}, got "${v}"`)
    return n
  }
  const list = (v) => v.split(',').map((s) => s.trim()).filter(Boolean)
  const quick = !!values.quick
  const scenarios = values.scenarios ? list(values.scenarios) : Object.keys(SCENARIOS)
  for (const s of scenarios) if (!SCENARIOS[s]) throw new Error(`unknown scenario "${s}"; known: ${Object.keys(SCENARIOS).join(', ')}`)
  const duration = values.duration !== undefined ? num(values.duration, 'duration', { min: 0.2 }) : quick ? 1.5 : 4
  const concurrency = values.concurrency ? list(values.concurrency).map((c) => num(c, 'concurrency', { min: 1, int: true })) : [1, 8]
  const missTargets = values.targets ? list(values.targets) : [...missPath.MISS_TARGETS]
  for (const t of missTargets) if (!missPath.MISS_TARGETS.includes(t)) throw new Error(`unknown miss-path target "${t}"; known: ${missPath.MISS_TARGETS.join(', ')}`)
  if (!missTargets.includes('sluice')) throw new Error('--targets must include sluice')
  const replayTargets = values.replay ? list(values.replay) : ['findUnique', 'findUniqueHit', 'health', 'floor']
  for (const t of replayTargets) if (!httpReplay.REPLAY_TARGETS.includes(t)) throw new Error(`unknown replay target "${t}"; known: ${httpReplay.REPLAY_TARGETS.join(', ')}`)
  return {
    scenarios,
    quick,
    repetitions: values.repetitions !== undefined ? num(values.repetitions, 'repetitions', { min: 1, int: true }) : quick ? 1 : 3,
    durationMs: duration * 1000,
    blockWarmupMs: quick ? 200 : 500,
    initialWarmupMs: quick ? 500 : 2000,
    concurrency,
    missTargets,
    queries: parseQueryList(values.queries ?? 'findUnique,findMany100,aggregate,findMany100Hot'),
    burstSize: values['burst-size'] !== undefined ? num(values['burst-size'], 'burst-size', { min: 2, int: true }) : 100,
    bursts: values.bursts !== undefined ? num(values.bursts, 'bursts', { min: 1, int: true }) : quick ? 3 : 10,
    poolSize: values['pool-size'] !== undefined ? num(values['pool-size'], 'pool-size', { min: 1, int: true }) : Math.max(...concurrency),
    replayTargets,
    replaySeconds: Math.max(1, Math.round(duration)),
    replayWarmupSeconds: quick ? 1 : 2,
    connections: values.connections !== undefined ? num(values.connections, 'connections', { min: 1, int: true }) : 16,
    wrkThreads: values['wrk-threads'] !== undefined ? num(values['wrk-threads'], 'wrk-threads', { min: 1, int: true }) : 2,
    headers: values.header ?? [],
    cpuProf: !!values['cpu-prof'],
    noiseThreshold: values['noise-threshold'] !== undefined ? num(values['noise-threshold'], 'noise-threshold') : 0.1,
    maxRetries: values['max-retries'] !== undefined ? num(values['max-retries'], 'max-retries', { int: true }) : quick ? 0 : 1,
    retryBudgetSeconds: values['retry-budget'] !== undefined ? num(values['retry-budget'], 'retry-budget') : 60,
    goalP50Ms: values['goal-ms'] !== undefined ? num(values['goal-ms'], 'goal-ms') : 0.3,
    pgUrl: values['pg-url'] ?? process.env.SLUICE_BENCH_PG_URL ?? process.env.SLUICE_TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
    database: values.database ?? 'sluice_bench',
    keepDb: !!values['keep-db'],
    idleWait: !values['no-idle-wait'],
    outDir: values.out ?? join(repoRoot, 'bench/results'),
  }
}

function git(args) {
  try {
    return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim()
  } catch {
    return undefined
  }
}

function log(msg) {
  process.stderr.write(`${msg}\n`)
}

async function main() {
  const argv = process.argv.slice(2)
  const opts = parseOptions(argv)
  const startedAt = new Date()
  const tmpDir = join(opts.outDir, 'tmp')
  mkdirSync(tmpDir, { recursive: true })
  if (opts.scenarios.includes('http-replay')) {
    try {
      execFileSync('sh', ['-c', 'command -v wrk'], { stdio: 'ignore' })
    } catch {
      throw new Error('http-replay needs wrk: apt-get install -y wrk (or run with --scenarios miss-path)')
    }
  }

  const machine = describeMachine()
  log(`Sluice bench: ${opts.scenarios.join(', ')} — ${machine.cpuModel}, ${machine.logicalCpus} CPUs, ${machine.os}, Node ${machine.node}`)

  const lib = await loadPrismaClient(repoRoot, '7.10')
  log(`Prisma client ${lib.versions.client} (runtime ${lib.versions.runtime}, adapter-pg ${lib.versions.adapterPg}, extension-accelerate ${lib.versions.extensionAccelerate})`)

  const seeded = await createBenchDatabase({ pgUrl: opts.pgUrl, database: opts.database, repoRoot })
  log(`database ${seeded.database}: ${seeded.users} users, ${seeded.posts} posts (seeded in ${seeded.seedSeconds.toFixed(1)} s)`)
  const benchDbUrl = adminUrl(opts.pgUrl, opts.database)
  const monitor = await openMonitor(opts.pgUrl, opts.database)

  const profiles = []
  const running = new Set()
  const ctx = {
    repoRoot,
    opts,
    lib,
    log,
    machine,
    monitor,
    benchDbUrl,
    tmpDir,
    data: { users: seeded.users, postsPerUser: seeded.posts / seeded.users },
    async startSluice(scenario) {
      const origin = `${benchDbUrl}?connection_limit=${opts.poolSize}`
      const proc = await startSluiceProcess({
        repoRoot,
        origin,
        cpuProfDir: opts.cpuProf ? join(tmpDir, 'profiles', scenario) : undefined,
      })
      proc.origin = origin
      running.add(proc)
      const stop = proc.stop
      proc.stop = async () => {
        const r = await stop()
        running.delete(proc)
        for (const p of r.profiles) if (!profiles.some((x) => x.file === p)) profiles.push({ scenario, file: p })
        return r
      }
      log(`Sluice pid ${proc.pid} on :${proc.port} (origin ${origin})${opts.cpuProf ? ' under --cpu-prof' : ''}`)
      return proc
    },
  }

  const results = []
  let idle
  try {
    for (const s of opts.scenarios) {
      if (opts.idleWait) {
        idle = await waitForIdle({ log })
        if (!idle.idle) log(`machine still busy after ${idle.waitedSeconds.toFixed(0)} s (${idle.busyCores.toFixed(2)} cores in use); measuring anyway — see "other CPU" in the report`)
      }
      log(`\n== ${s}: ${SCENARIOS[s].description}`)
      const started = performance.now()
      const r = await SCENARIOS[s].run(ctx)
      r.elapsedSeconds = Math.round((performance.now() - started) / 100) / 10
      r.idleBefore = idle
      results.push(r)
    }
  } finally {
    for (const p of running) await p.stop().catch(() => {})
    await monitor.close().catch(() => {})
    if (!opts.keepDb) await dropBenchDatabase(opts.pgUrl, opts.database).catch((e) => log(`could not drop ${opts.database}: ${e.message}`))
  }

  const profileSummaries = profiles.map((p) => {
    const summary = summarizeCpuProfile(p.file, 25)
    // native functions (no script location) say little alone: split them by caller chain
    const nativeCallers = summary.functions
      .filter((f) => !f.location && !f.function.startsWith('('))
      .slice(0, 3)
      .map((f) => ({ function: f.function, ...callersOf(p.file, f.function, 7, 3) }))
    return { scenario: p.scenario, ...summary, nativeCallers, file: relative(repoRoot, p.file) }
  })
  const finishedAt = new Date()
  const dirty = git(['status', '--porcelain', '--', 'packages/sluice/src'])
  const report = {
    tool: 'sluice bench',
    command: `node bench/run.mjs${argv.length ? ` ${argv.join(' ')}` : ''}`,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    elapsedSeconds: Math.round((finishedAt - startedAt) / 100) / 10,
    git: { commit: git(['rev-parse', '--short', 'HEAD']), sluiceSrcDirty: dirty ? dirty.split('\n').length : 0 },
    machine: { ...machine, postgres: monitor.version, postgresSettings: monitor.settings, topProcessesAtEnd: topProcesses(5) },
    versions: { prisma: lib.versions, sluice: JSON.parse(readFileSync(join(repoRoot, 'packages/sluice/package.json'), 'utf8')).version },
    dataset: seeded,
    options: { ...opts, pgUrl: opts.pgUrl.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@') },
    results,
    cpuProfiles: profileSummaries,
  }
  mkdirSync(opts.outDir, { recursive: true })
  const jsonPath = join(opts.outDir, 'latest.json')
  const mdPath = join(opts.outDir, 'latest.md')
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`)
  const charts = writeCharts(report, opts.outDir)
  writeFileSync(mdPath, renderMarkdown(report, charts))
  log(`\nwrote ${[mdPath, jsonPath, ...Object.values(charts).map((c) => join(opts.outDir, c))].map((p) => relative(process.cwd(), p)).join(', ')} (${report.elapsedSeconds} s)`)
}

main().catch((err) => {
  console.error(`bench: ${err instanceof Error ? err.stack : err}`)
  process.exit(1)
})
