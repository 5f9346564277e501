#!/usr/bin/env node
// Sluice benchmarks: `npm run bench` (builds Sluice and the Prisma clients first), or directly
// `node bench/run.mjs [options]`. See bench/README.md. Numbers from this tool are for reports only:
// they never decide whether a test passes.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
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
import * as pgbench from './scenarios/pgbench.mjs'
import * as multiNode from './scenarios/multi-node.mjs'
import * as mysqlBench from './scenarios/mysql.mjs'
import { cleanupAll, csvList, ensureAptCommand, installCleanupHandlers } from './lib/standalone.mjs'
import { README_END, README_START, evaluateTargets, readResults, renderTargetsTable, updateReadmeBlock } from './lib/targets.mjs'

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..')
const SCENARIOS = { [missPath.name]: missPath, [concurrentMisses.name]: concurrentMisses, [httpReplay.name]: httpReplay }

const GROUPS = ['http', 'pgbench', 'multinode', 'mysql']
const HTTP_SCENARIOS = Object.keys(SCENARIOS)

const HELP = `Usage: npm run bench -- [options]            (or: node bench/run.mjs [options] after npm run build)

Runs, by default, every scenario group in one go (about 14 min on a quiet 2-core machine):
  http       the HTTP door (real Prisma 7.10 client, wrk): miss-path, concurrent-misses, http-replay
  pgbench    the Postgres wire door: pgbench against direct PostgreSQL, PgBouncer (transaction mode),
             pgpool-II (query cache on) and Sluice (cache off / --wire-cache auto), interleaved
  multinode  Sluice nodes sharing Redis: invalidation propagation, hit throughput L1 vs L2
  mysql      the MySQL wire door: sysbench against direct MariaDB and Sluice (cache off / auto),
             interleaved
Each writes its report under bench/results/ (http.md, pgbench.md, multi-node.md, mysql.md, with .json
and .svg);
then latest.md (machine + the targets of issues 2, 3, 4 and 5, met or not) and the README block between
<!-- bench:targets:start --> and <!-- bench:targets:end --> are rewritten from the latest result of
each scenario. PgBouncer, pgpool-II, wrk, redis-server and sysbench are installed with apt-get when missing
(as root; the run says so).

Profiles:
  (default)  reduced matrices sized for < 15 min: HTTP 2 s blocks × 2 repetitions; pgbench 6 tests
             × 1/8/32 clients × 5 targets, 2 s × 2; multinode 100 iterations, 3 s × 2 wrk blocks;
             mysql 4 sysbench tests × 1/8/32 threads × 3 targets, 1 s × 2 (~2 min)
  --full     the full matrices: miss-path + aggregate, 4 s blocks × 3, replay of /health too; pgbench
             all 8 tests, 5 s × 2; multinode 200 iterations, 5 s × 3; mysql all 6 tests, 3 s × 2
             (~40–45 min)
  --quick    plumbing check, 1 repetition, short blocks (~4 min; numbers not meaningful;
             README not touched)

Choosing:
  --only <groups>          http,pgbench,multinode,mysql (default all); HTTP sub-scenarios by name too
                           (miss-path, concurrent-misses, http-replay)
  --scenarios <a,b>        alias of --only (kept for old command lines)
  --duration <s>           seconds per measured block in every group (pgbench rounds to whole s)
  --repetitions <n>        interleaved repetitions in every group (default: HTTP 2, pgbench 2,
                           multinode 2; --full 3, 2, 3; --quick 1)

HTTP door (group http):
  --concurrency <list>     miss-path client concurrency levels (default 1,8)
  --targets <list>         miss-path targets (default direct,stub,sluice,cached; stub = bare HTTP
                           server with canned answers: the client-side floor of the Accelerate path;
                           cached = through Sluice with cacheStrategy { ttl: 3600 })
  --queries <list>         miss-path queries (default findUnique,findMany100,findMany100Hot;
                           --full adds aggregate; also findUniqueHot)
  --burst-size <n>         concurrent-misses: identical calls per burst (default 100)
  --bursts <n>             concurrent-misses: bursts per target and repetition (default 10; 3 with --quick)
  --pool-size <n>          connections to Postgres for both direct and Sluice (default: max concurrency)
  --replay <list>          http-replay targets (default findUnique,findUniqueHit,floor; --full
                           adds health; also findMany100)
  --connections <n>        wrk connections (default 16)
  --wrk-threads <n>        wrk threads (default 2)
  --header "<Name: value>" extra header on replayed /query requests, repeatable
  --cpu-prof               run Sluice under node --cpu-prof; adds the top self-time functions to
                           the report (timings of a profiled run are slower: compare ratios only)
  --goal-ms <ms>           miss-path goal for Sluice p50 minus direct p50 (default 0.3)
  --database <name>        HTTP benchmark database, dropped and recreated (default sluice_bench)
  --keep-db                keep it afterwards

Wire door (group pgbench; database sluice_pgbench, pgbench -i -s 10, created once and reused):
  --pgbench-tests <list>   default S_simple,S_extended,S_prepared,hot_simple,tpcb,storm
                           (--full: also hot_extended,hot_prepared)
  --pgbench-clients <list> default 1,8,32 (8 with --quick)
  --pgbench-targets <list> default direct,pgbouncer,pgpool,sluice-off,sluice-auto; also pgpool-nocache
  --pgbench-duration <s>   seconds per pgbench run (default 2; --full 5)
  --pgbench-repetitions <n> default 2

Redis tier (group multinode):
  --multinode-iterations <n>  propagation measurements per mode (default 100; --full 200)
  --multinode-duration <s>    seconds per wrk block (default 3; --full 5)

MySQL wire door (group mysql; MariaDB 127.0.0.1:3306 as root, database sluice_sysbench, 1 table ×
100k rows, created once with sysbench prepare and reused; sysbench installed with apt when missing):
  --mysql-tests <list>     default ps_text,ps_binary,hot_binary,rw (--full: also hot_text, rw_text;
                           the standalone script's default adds hot_text)
  --mysql-threads <list>   default 1,8,32 (8 with --quick)
  --mysql-duration <s>     seconds per sysbench run (default 1; --full 3)
  --mysql-repetitions <n>  default 2 (1 with --quick)
  --mysql-port <n>         MariaDB's port (default 3306)

Method and output:
  --noise-threshold <f>    share of the machine's CPU used by unrelated processes above which a
                           cell is measured again (default 0.10)
  --max-retries <n>        re-measurements per noisy cell (default 1; 0 with --quick)
  --retry-budget <s>       seconds spent re-measuring, per scenario (default 15, pgbench twice
                           that; --full 60)
  --idle-wait <s>          wait up to this long for a quiet machine before each scenario
                           (default 10; --full 30; --no-idle-wait: not at all)
  --pg-url <url>           admin URL of the Postgres server (default $SLUICE_BENCH_PG_URL,
                           $SLUICE_TEST_PG_URL or postgresql://postgres@127.0.0.1:5432/postgres)
  --out <dir>              where the reports go (default bench/results)
  --no-readme              do not rewrite the targets block in README.md
  --summary                measure nothing: rewrite latest.md and the README block from the
                           result files already in --out
  --render <file.json>     only re-render the Markdown and charts of an earlier http.json
  -h, --help               this help`

function parseOptions(argv) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      only: { type: 'string' },
      scenarios: { type: 'string' },
      full: { type: 'boolean' },
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
      'pgbench-tests': { type: 'string' },
      'pgbench-clients': { type: 'string' },
      'pgbench-targets': { type: 'string' },
      'pgbench-duration': { type: 'string' },
      'pgbench-repetitions': { type: 'string' },
      'multinode-iterations': { type: 'string' },
      'multinode-duration': { type: 'string' },
      'mysql-tests': { type: 'string' },
      'mysql-threads': { type: 'string' },
      'mysql-duration': { type: 'string' },
      'mysql-repetitions': { type: 'string' },
      'mysql-port': { type: 'string' },
      'noise-threshold': { type: 'string' },
      'max-retries': { type: 'string' },
      'retry-budget': { type: 'string' },
      'idle-wait': { type: 'string' },
      'pg-url': { type: 'string' },
      database: { type: 'string' },
      'keep-db': { type: 'boolean' },
      'no-idle-wait': { type: 'boolean' },
      'no-readme': { type: 'boolean' },
      summary: { type: 'boolean' },
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
  const quick = !!values.quick
  const full = !!values.full
  if (quick && full) throw new Error('--quick and --full exclude each other')
  const profile = quick ? 'quick' : full ? 'full' : 'default'
  const pick = (q, d, f) => (quick ? q : full ? f : d)

  // groups and HTTP sub-scenarios
  const only = values.only ?? values.scenarios
  const groups = new Set()
  let httpScenarios = [...HTTP_SCENARIOS]
  if (only) {
    const subs = []
    for (const g of csvList(only)) {
      const name = g === 'multi-node' ? 'multinode' : g === 'wire' ? 'pgbench' : g
      if (GROUPS.includes(name)) groups.add(name)
      else if (SCENARIOS[name]) {
        groups.add('http')
        subs.push(name)
      } else throw new Error(`unknown scenario "${g}"; known: ${GROUPS.join(', ')} (or the http ones: ${HTTP_SCENARIOS.join(', ')})`)
    }
    if (subs.length && !csvList(only).includes('http')) httpScenarios = HTTP_SCENARIOS.filter((s) => subs.includes(s))
  } else for (const g of GROUPS) groups.add(g)

  const duration = values.duration !== undefined ? num(values.duration, 'duration', { min: 0.2 }) : undefined
  const repetitions = values.repetitions !== undefined ? num(values.repetitions, 'repetitions', { min: 1, int: true }) : undefined
  const httpDuration = duration ?? pick(1.5, 2, 4)
  const concurrency = values.concurrency ? csvList(values.concurrency).map((c) => num(c, 'concurrency', { min: 1, int: true })) : [1, 8]
  const missTargets = values.targets ? csvList(values.targets) : [...missPath.MISS_TARGETS]
  for (const t of missTargets) if (!missPath.MISS_TARGETS.includes(t)) throw new Error(`unknown miss-path target "${t}"; known: ${missPath.MISS_TARGETS.join(', ')}`)
  if (!missTargets.includes('sluice')) throw new Error('--targets must include sluice')
  const replayTargets = values.replay ? csvList(values.replay) : full ? ['findUnique', 'findUniqueHit', 'health', 'floor'] : ['findUnique', 'findUniqueHit', 'floor']
  for (const t of replayTargets) if (!httpReplay.REPLAY_TARGETS.includes(t)) throw new Error(`unknown replay target "${t}"; known: ${httpReplay.REPLAY_TARGETS.join(', ')}`)
  const pgbenchTests = values['pgbench-tests'] ? csvList(values['pgbench-tests']) : pick(['S_simple', 'hot_simple', 'storm'], ['S_simple', 'S_extended', 'S_prepared', 'hot_simple', 'tpcb', 'storm'], Object.keys(pgbench.TESTS))
  for (const t of pgbenchTests) if (!pgbench.TESTS[t]) throw new Error(`unknown pgbench test "${t}"; known: ${Object.keys(pgbench.TESTS).join(', ')}`)
  const pgbenchTargets = values['pgbench-targets'] ? csvList(values['pgbench-targets']) : [...pgbench.DEFAULT_TARGETS]
  for (const t of pgbenchTargets) if (!pgbench.TARGETS.includes(t)) throw new Error(`unknown pgbench target "${t}"; known: ${pgbench.TARGETS.join(', ')}`)
  const mysqlTests = values['mysql-tests'] ? csvList(values['mysql-tests']) : pick(['ps_text', 'ps_binary', 'hot_binary', 'rw'], ['ps_text', 'ps_binary', 'hot_binary', 'rw'], Object.keys(mysqlBench.TESTS))
  for (const t of mysqlTests) if (!mysqlBench.TESTS[t]) throw new Error(`unknown mysql test "${t}"; known: ${Object.keys(mysqlBench.TESTS).join(', ')}`)
  const idleMaxWait = values['idle-wait'] !== undefined ? num(values['idle-wait'], 'idle-wait') : pick(5, 10, 30)
  return {
    profile,
    groups: GROUPS.filter((g) => groups.has(g)),
    scenarios: httpScenarios,
    quick,
    full,
    repetitions: repetitions ?? pick(1, 2, 3),
    durationMs: httpDuration * 1000,
    blockWarmupMs: quick ? 200 : 500,
    initialWarmupMs: quick ? 500 : 2000,
    concurrency,
    missTargets,
    queries: parseQueryList(values.queries ?? (full ? 'findUnique,findMany100,aggregate,findMany100Hot' : 'findUnique,findMany100,findMany100Hot')),
    burstSize: values['burst-size'] !== undefined ? num(values['burst-size'], 'burst-size', { min: 2, int: true }) : 100,
    bursts: values.bursts !== undefined ? num(values.bursts, 'bursts', { min: 1, int: true }) : quick ? 3 : 10,
    poolSize: values['pool-size'] !== undefined ? num(values['pool-size'], 'pool-size', { min: 1, int: true }) : Math.max(...concurrency),
    replayTargets,
    replaySeconds: Math.max(1, Math.round(httpDuration)),
    replayWarmupSeconds: quick ? 1 : 2,
    connections: values.connections !== undefined ? num(values.connections, 'connections', { min: 1, int: true }) : 16,
    wrkThreads: values['wrk-threads'] !== undefined ? num(values['wrk-threads'], 'wrk-threads', { min: 1, int: true }) : 2,
    headers: values.header ?? [],
    cpuProf: !!values['cpu-prof'],
    noiseThreshold: values['noise-threshold'] !== undefined ? num(values['noise-threshold'], 'noise-threshold') : 0.1,
    maxRetries: values['max-retries'] !== undefined ? num(values['max-retries'], 'max-retries', { int: true }) : quick ? 0 : 1,
    retryBudgetSeconds: values['retry-budget'] !== undefined ? num(values['retry-budget'], 'retry-budget') : pick(0, 15, 60),
    goalP50Ms: values['goal-ms'] !== undefined ? num(values['goal-ms'], 'goal-ms') : 0.3,
    pgbench: {
      tests: pgbenchTests,
      clients: values['pgbench-clients'] ? csvList(values['pgbench-clients']).map((c) => num(c, 'pgbench-clients', { min: 1, int: true })) : pick([8], [1, 8, 32], [1, 8, 32]),
      targets: pgbenchTargets,
      durationSeconds: values['pgbench-duration'] !== undefined ? num(values['pgbench-duration'], 'pgbench-duration', { min: 1, int: true }) : duration !== undefined ? Math.max(1, Math.round(duration)) : pick(2, 2, 5),
      repetitions: values['pgbench-repetitions'] !== undefined ? num(values['pgbench-repetitions'], 'pgbench-repetitions', { min: 1, int: true }) : repetitions ?? pick(1, 2, 2),
      warmupSeconds: pick(1, 2, 3),
    },
    multinode: {
      iterations: values['multinode-iterations'] !== undefined ? num(values['multinode-iterations'], 'multinode-iterations', { min: 1, int: true }) : pick(50, 100, 200),
      durationSeconds: values['multinode-duration'] !== undefined ? num(values['multinode-duration'], 'multinode-duration', { min: 1, int: true }) : duration !== undefined ? Math.max(1, Math.round(duration)) : pick(2, 3, 5),
      repetitions: repetitions ?? pick(1, 2, 3),
      crossKeys: pick(30, 50, 100),
    },
    mysql: {
      tests: mysqlTests,
      threads: values['mysql-threads'] ? csvList(values['mysql-threads']).map((c) => num(c, 'mysql-threads', { min: 1, int: true })) : pick([8], [1, 8, 32], [1, 8, 32]),
      durationSeconds: values['mysql-duration'] !== undefined ? num(values['mysql-duration'], 'mysql-duration', { min: 1, int: true }) : duration !== undefined ? Math.max(1, Math.round(duration)) : pick(1, 1, 3),
      repetitions: values['mysql-repetitions'] !== undefined ? num(values['mysql-repetitions'], 'mysql-repetitions', { min: 1, int: true }) : repetitions ?? pick(1, 2, 2),
      warmupSeconds: pick(1, 2, 3),
      port: values['mysql-port'] !== undefined ? num(values['mysql-port'], 'mysql-port', { min: 1, int: true }) : 3306,
    },
    idleMaxWait,
    pgUrl: values['pg-url'] ?? process.env.SLUICE_BENCH_PG_URL ?? process.env.SLUICE_TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
    database: values.database ?? 'sluice_bench',
    keepDb: !!values['keep-db'],
    idleWait: !values['no-idle-wait'],
    readme: !values['no-readme'],
    summaryOnly: !!values.summary,
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

/** Group "http": the HTTP-door scenarios on one seeded database; writes http.{md,json} and their charts. */
async function runHttp(opts, argv, machine) {
  const startedAt = new Date()
  const tmpDir = join(opts.outDir, 'tmp')
  mkdirSync(tmpDir, { recursive: true })
  const toolNotes = []
  if (opts.scenarios.includes('http-replay')) {
    const wrk = ensureAptCommand({ command: 'wrk', pkg: 'wrk', log })
    if (wrk.note) toolNotes.push(wrk.note)
    if (!wrk.path) throw new Error('http-replay needs wrk: apt-get install -y wrk (or run with --only miss-path,concurrent-misses)')
    machine = { ...machine, wrk: describeMachine().wrk }
  }
  log(`HTTP door: ${opts.scenarios.join(', ')}`)

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
        idle = await waitForIdle({ maxWait: opts.idleMaxWait, log })
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
    command: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    elapsedSeconds: Math.round((finishedAt - startedAt) / 100) / 10,
    git: { commit: git(['rev-parse', '--short', 'HEAD']), sluiceSrcDirty: dirty ? dirty.split('\n').length : 0 },
    machine: { ...machine, postgres: monitor.version, postgresSettings: monitor.settings, topProcessesAtEnd: topProcesses(5) },
    versions: { prisma: lib.versions, sluice: JSON.parse(readFileSync(join(repoRoot, 'packages/sluice/package.json'), 'utf8')).version },
    dataset: seeded,
    notes: toolNotes,
    options: { ...opts, pgbench: undefined, multinode: undefined, mysql: undefined, pgUrl: redact(opts.pgUrl) },
    results,
    cpuProfiles: profileSummaries,
  }
  mkdirSync(opts.outDir, { recursive: true })
  const jsonPath = join(opts.outDir, 'http.json')
  const mdPath = join(opts.outDir, 'http.md')
  writeFileSync(jsonPath, `${JSON.stringify(report, null, 2)}\n`)
  const charts = writeCharts(report, opts.outDir)
  writeFileSync(mdPath, renderMarkdown(report, charts))
  log(`\nwrote ${[mdPath, jsonPath, ...Object.values(charts).map((c) => join(opts.outDir, c))].map((p) => relative(process.cwd(), p)).join(', ')} (${report.elapsedSeconds} s)`)
  return { report: 'http.md', charts: Object.values(charts) }
}

const redact = (url) => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')

async function runPgbench(opts, argv) {
  const o = opts.pgbench
  const result = await pgbench.run({
    quick: opts.quick,
    repoRoot,
    pgUrl: opts.pgUrl,
    tests: o.tests,
    clients: o.clients,
    targets: o.targets,
    durationSeconds: o.durationSeconds,
    repetitions: o.repetitions,
    warmupSeconds: o.warmupSeconds,
    noiseThreshold: opts.noiseThreshold,
    maxRetries: opts.maxRetries,
    retryBudgetSeconds: opts.retryBudgetSeconds * 2,
    idleWait: opts.idleWait,
    idleMaxWait: opts.idleMaxWait,
    log,
    commandLine: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
  })
  const files = pgbench.writeReport(opts.outDir, result)
  log(`wrote ${[files.md, files.json, files.svg].map((p) => relative(process.cwd(), p)).join(', ')}`)
  return { report: 'pgbench.md', charts: ['pgbench.svg'] }
}

async function runMultinode(opts, argv) {
  const o = opts.multinode
  const result = await multiNode.run({
    quick: opts.quick,
    repoRoot,
    pgUrl: opts.pgUrl,
    iterations: o.iterations,
    durationSeconds: o.durationSeconds,
    repetitions: o.repetitions,
    crossKeys: o.crossKeys,
    connections: opts.connections,
    noiseThreshold: opts.noiseThreshold,
    maxRetries: opts.maxRetries,
    idleWait: opts.idleWait,
    idleMaxWait: opts.idleMaxWait,
    log,
    commandLine: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
  })
  const files = multiNode.writeReport(opts.outDir, result)
  log(`wrote ${[files.md, files.json, files.svg].map((p) => relative(process.cwd(), p)).join(', ')}`)
  return { report: 'multi-node.md', charts: ['multi-node.svg'] }
}

async function runMysql(opts, argv) {
  const o = opts.mysql
  const result = await mysqlBench.run({
    quick: opts.quick,
    repoRoot,
    mysqlPort: o.port,
    tests: o.tests,
    threads: o.threads,
    durationSeconds: o.durationSeconds,
    repetitions: o.repetitions,
    warmupSeconds: o.warmupSeconds,
    noiseThreshold: opts.noiseThreshold,
    maxRetries: opts.maxRetries,
    retryBudgetSeconds: Math.min(opts.retryBudgetSeconds, 10),
    idleWait: opts.idleWait,
    idleMaxWait: opts.idleMaxWait,
    log,
    commandLine: `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`,
  })
  const files = mysqlBench.writeReport(opts.outDir, result)
  log(`wrote ${[files.md, files.json, files.svg].map((p) => relative(process.cwd(), p)).join(', ')}`)
  return { report: 'mysql.md', charts: ['mysql.svg'] }
}

const RUNNERS = { http: runHttp, pgbench: runPgbench, multinode: runMultinode, mysql: runMysql }

async function main() {
  const argv = process.argv.slice(2)
  const opts = parseOptions(argv)
  mkdirSync(opts.outDir, { recursive: true })
  const command = `npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`
  if (opts.summaryOnly) {
    writeSummary({ opts, command, runs: undefined })
    return
  }
  installCleanupHandlers(log)
  const startedAt = new Date()
  const machine = describeMachine()
  log(`Sluice bench (${opts.profile}): ${opts.groups.join(', ')} — ${machine.cpuModel}, ${machine.logicalCpus} CPUs, ${machine.os}, Node ${machine.node}`)
  const runs = []
  for (const group of opts.groups) {
    log(`\n######## ${group}`)
    const t0 = performance.now()
    try {
      const r = await RUNNERS[group](opts, argv, machine)
      runs.push({ group, ...r, elapsedSeconds: Math.round((performance.now() - t0) / 100) / 10 })
    } catch (err) {
      // the other groups still run; the exit code says that one failed
      log(`${group} failed: ${err instanceof Error ? err.stack : err}`)
      await cleanupAll()
      runs.push({ group, error: String(err instanceof Error ? err.message : err).slice(0, 500), elapsedSeconds: Math.round((performance.now() - t0) / 100) / 10 })
    }
  }
  const finishedAt = new Date()
  writeSummary({ opts, command, machine, runs, startedAt, finishedAt })
  log(`\nwhole run: ${((finishedAt - startedAt) / 60000).toFixed(1)} min`)
  if (runs.some((r) => r.error)) process.exitCode = 1
}

/**
 * bench/results/latest.{md,json}: the machine, what this run did, and the targets table from the
 * latest result file of every scenario; then the README block (unless --quick or --no-readme).
 */
function writeSummary({ opts, command, machine, runs, startedAt, finishedAt }) {
  const results = readResults(opts.outDir)
  const rows = evaluateTargets(results)
  const latestJson = join(opts.outDir, 'latest.json')
  let previous
  try {
    previous = JSON.parse(readFileSync(latestJson, 'utf8'))
  } catch {
    previous = undefined
  }
  if (previous?.tool !== 'sluice bench summary') previous = undefined
  const run = runs
    ? { command, profile: opts.profile, startedAt: startedAt.toISOString(), finishedAt: finishedAt.toISOString(), elapsedSeconds: Math.round((finishedAt - startedAt) / 100) / 10, git: { commit: git(['rev-parse', '--short', 'HEAD']), sluiceSrcDirty: (git(['status', '--porcelain', '--', 'packages/sluice/src']) || '').split('\n').filter(Boolean).length }, groups: runs }
    : previous?.run
  machine ??= previous?.machine ?? results.http?.machine ?? results.pgbench?.machine ?? describeMachine()
  const summary = { tool: 'sluice bench summary', writtenAt: new Date().toISOString(), run, machine, targets: rows }
  writeFileSync(latestJson, `${JSON.stringify(summary, null, 2)}\n`)
  const md = renderSummary(summary, results, opts.outDir)
  writeFileSync(join(opts.outDir, 'latest.md'), md)
  log(`wrote ${relative(process.cwd(), join(opts.outDir, 'latest.md'))} and latest.json`)
  const met = rows.filter((r) => r.met === 'met').length
  log(`targets: ${met} met, ${rows.filter((r) => r.met && r.met !== 'met' && r.met !== 'measured').length} not or partly met, ${rows.filter((r) => r.met === 'measured').length} measured (no numeric goal), ${rows.filter((r) => !r.met).length} not measured`)
  const readme = join(repoRoot, 'README.md')
  if (!opts.readme) return
  if (runs && opts.quick) return log('README.md not touched (--quick: its numbers mean nothing); `npm run bench -- --summary` writes it from the current results')
  if (resolve(opts.outDir) !== resolve(join(repoRoot, 'bench/results'))) return log('README.md not touched (--out is not bench/results)')
  const block = [
    renderTargetsTable(rows, { linkPrefix: 'bench/results/' }),
    '',
    `Each figure is the latest run of its scenario (column "run"; machine: ${machineLine(machine)}). ` +
      'Full reports with every cell, spread and CPU per request: [bench/results/latest.md](bench/results/latest.md). ' +
      'This block is rewritten by `npm run bench` (and `npm run bench -- --summary`).',
  ].join('\n')
  if (updateReadmeBlock(readme, block)) log('README.md: targets block rewritten')
  else log(`README.md has no ${README_START} … ${README_END} block: not touched`)
}

function machineLine(m) {
  if (!m) return 'unknown'
  return `${m.cpuModel}, ${m.logicalCpus} logical CPU(s)${m.virtualized ? ' (virtualized)' : ''}, ${m.memTotalGiB} GiB, ${m.os}, Node ${m.node}`
}

function renderSummary(summary, results, outDir) {
  const m = summary.machine
  const out = []
  out.push('# Sluice benchmarks: latest results')
  out.push('')
  out.push('> Generated by `npm run bench` (bench/run.mjs). Each scenario measures Sluice and its peers in the same run, interleaved, with repetitions; ' +
    'absolute numbers drift 20–25% between runs on a shared VM, so read the ratios. Timings never decide a test.')
  out.push('')
  out.push('| | |')
  out.push('| --- | --- |')
  out.push(`| machine | ${m.cpuModel}${m.cpuMHz ? ` @ ${Math.round(m.cpuMHz)} MHz` : ''}, ${m.logicalCpus} logical CPU(s)${m.physicalCores ? ` / ${m.physicalCores} core(s)` : ''}${m.virtualized ? ', virtualized' : ''}, ${m.memTotalGiB} GiB |`)
  out.push(`| OS | ${m.os}, kernel ${m.kernel}, ${m.arch}; Node ${m.node} |`)
  const v = []
  if (results.http) v.push(`PostgreSQL ${results.http.machine?.postgres ?? '?'}`, `Prisma ${results.http.versions?.prisma?.client ?? '?'}`, results.http.machine?.wrk)
  if (results.pgbench) v.push(results.pgbench.versions?.pgbench, results.pgbench.versions?.pgbouncer, results.pgbench.versions?.pgpool)
  if (results.multinode) v.push(results.multinode.versions?.redis?.replace(/ sha=.*$/, ''))
  if (results.mysql) v.push(`MariaDB ${results.mysql.versions?.mariadb ?? '?'}`, results.mysql.versions?.sysbench)
  out.push(`| software | ${[...new Set(v.filter(Boolean))].join('; ')} |`)
  if (summary.run) {
    const r = summary.run
    out.push(`| last run | \`${r.command}\` (${r.profile}), ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${(r.elapsedSeconds / 60).toFixed(1)} min, git ${r.git?.commit ?? '?'}${r.git?.sluiceSrcDirty ? ` + ${r.git.sluiceSrcDirty} uncommitted file(s) in packages/sluice/src` : ''} |`)
    out.push(`| its groups | ${r.groups.map((g) => `${g.group}: ${g.error ? `**failed** (${g.error.replace(/\|/g, '\\|').slice(0, 200)})` : `[${g.report}](${g.report})`} ${(g.elapsedSeconds / 60).toFixed(1)} min`).join('; ')} |`)
  }
  out.push('')
  out.push('## Targets')
  out.push('')
  out.push('Every benchmark target named in issues 2, 3 and 4 (and issue 5’s propagation goal, issue 8’s MySQL figures), judged on the latest result of its scenario. ' +
    '"partly (k of n)": met in k of the n cells (concurrency levels, tests) the target covers.')
  out.push('')
  out.push(renderTargetsTable(summary.targets))
  out.push('')
  out.push('## Charts')
  out.push('')
  for (const [file, title] of [['miss-path.svg', 'HTTP door, miss path'], ['concurrent-misses.svg', 'HTTP door, concurrent identical misses'], ['http-replay.svg', 'HTTP door, wrk replay'], ['pgbench.svg', 'wire door, pgbench'], ['multi-node.svg', 'Redis tier'], ['mysql.svg', 'MySQL wire door, sysbench']]) {
    if (existsSync(join(outDir, file))) out.push(`### ${title}\n\n![${title}](${file})\n`)
  }
  out.push('## Reproduce')
  out.push('')
  out.push('```sh')
  out.push('npm run bench                      # everything, reduced matrices (< 15 min on 2 cores)')
  out.push('npm run bench -- --full            # full matrices (~40–45 min)')
  out.push('npm run bench -- --only pgbench    # one group: http, pgbench, multinode, mysql')
  out.push('npm run bench -- --quick           # plumbing check (numbers not meaningful)')
  out.push('npm run bench -- --help')
  out.push('```')
  out.push('')
  return out.join('\n')
}

main().catch((err) => {
  console.error(`bench: ${err instanceof Error ? err.stack : err}`)
  process.exit(1)
})
