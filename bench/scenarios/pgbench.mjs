#!/usr/bin/env node
// Scenario "pgbench" (issue 4): pgbench, in one run, against
//   direct       PostgreSQL itself
//   pgbouncer    PgBouncer (Debian 1.18) in transaction mode, pool 10 — the peer to beat
//   pgpool       pgpool-II (Debian 4.3) with its in-memory query cache on (shmem), raw mode, one child
//                per client (it pools per session; see startPgpool in ../lib/standalone.mjs)
//   sluice-off   Sluice's Postgres wire door, cache off (the default: only hinted statements are cached)
//   sluice-auto  Sluice's wire door with `--wire-cache auto --wire-cache-ttl 600s` (every safe read cached)
// on a dedicated database `sluice_pgbench` (`pgbench -i -s 10`: 1,000,000 accounts). Tests: `-S` in the
// simple, extended and prepared protocols (1M random keys: a cache rarely hits within a short run), a
// hot-set variant of each (`\set aid random(1, 1000)` + the -S select, after a warm-up pass on
// sluice-auto so that hits dominate), the connection storm `-C -S`, and the default TPC-B-like
// read/write mix; at 1, 8 and 32 clients (-j 2). Targets are interleaved within each repetition
// (rotating order), as in bench/README.md and /work/shared/research/baselines.md.
//
//   node bench/scenarios/pgbench.mjs [--quick] [--duration 5] [--repetitions 2] [--clients 1,8,32] …
//
// Prints the Markdown report on stdout and writes bench/results/pgbench.{md,json}.
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { pgbenchChart } from '../lib/charts.mjs'
import pg from 'pg'
import { describeMachine, startCpuMeter, topProcesses, waitForIdle } from '../lib/proc.mjs'
import { percentile, round } from '../lib/stats.mjs'
import { startSluiceProcess } from '../lib/sluice-process.mjs'
import { cleanupAll, commandVersion, csvList, ensurePgbouncer, ensurePgpool, installCleanupHandlers, listFiles, onCleanup, postmasterChildrenSeconds, remeasuredNote, startBackendSampler, startPgbouncer, startPgpool, tcpBytesDelta, tcpBytesTo, trackPid, which, writeChartedReport } from '../lib/standalone.mjs'

export const name = 'pgbench'
export const description = 'pgbench against direct PostgreSQL, PgBouncer (transaction mode) and Sluice’s wire door (cache off / auto), interleaved'

const repoRootDefault = join(dirname(fileURLToPath(import.meta.url)), '../..')

/** Every target this scenario knows; `DEFAULT_TARGETS` run unless --targets says otherwise. */
export const TARGETS = ['direct', 'pgbouncer', 'pgpool', 'pgpool-nocache', 'sluice-off', 'sluice-auto']
export const DEFAULT_TARGETS = ['direct', 'pgbouncer', 'pgpool', 'sluice-off', 'sluice-auto']
const PGPOOL_TARGETS = ['pgpool', 'pgpool-nocache']
export const TARGET_LABELS = {
  direct: 'direct PostgreSQL',
  pgbouncer: 'PgBouncer (txn, pool 10)',
  pgpool: 'pgpool-II, query cache on',
  'pgpool-nocache': 'pgpool-II, query cache off',
  'sluice-off': 'Sluice wire, cache off',
  'sluice-auto': 'Sluice wire, --wire-cache auto',
}

const HOT_SQL = '\\set aid random(1, 1000)\nSELECT abalance FROM pgbench_accounts WHERE aid = :aid;\n'

/** The tests; `args` are the pgbench arguments that differ between them. */
export const TESTS = {
  S_simple: { label: '`-S -M simple` (1M random keys)', args: ['-S', '-M', 'simple'], pointSelect: true },
  S_extended: { label: '`-S -M extended` (1M random keys)', args: ['-S', '-M', 'extended'], pointSelect: true },
  S_prepared: { label: '`-S -M prepared` (1M random keys)', args: ['-S', '-M', 'prepared'], pointSelect: true, pgbouncerUnsupported: true },
  hot_simple: { label: 'hot set, 1,000 keys, `-f hot.sql -M simple` (warmed cache)', args: ['-f', '<hot.sql>', '-M', 'simple'], pointSelect: true, hot: true },
  hot_extended: { label: 'hot set, 1,000 keys, `-f hot.sql -M extended` (warmed cache)', args: ['-f', '<hot.sql>', '-M', 'extended'], pointSelect: true, hot: true },
  hot_prepared: { label: 'hot set, 1,000 keys, `-f hot.sql -M prepared` (warmed cache)', args: ['-f', '<hot.sql>', '-M', 'prepared'], pointSelect: true, hot: true, pgbouncerUnsupported: true },
  storm: { label: 'connection storm `-C -S -M simple`', args: ['-C', '-S', '-M', 'simple'], storm: true },
  tpcb: { label: 'TPC-B-like read/write (default script, `-M simple`)', args: ['-M', 'simple'], tpcb: true },
}

export const GOALS = {
  cacheOffVsPgbouncer: 0.8,
  hitVsPgbouncer: 2.5,
  hitVsDirect: 1.5,
  hitP50Ms: 0.1,
}

function log(msg) {
  process.stderr.write(`${msg}\n`)
}

export function resolveOptions(options = {}) {
  const quick = !!options.quick
  return {
    quick,
    repoRoot: options.repoRoot ?? repoRootDefault,
    pgUrl: options.pgUrl ?? process.env.SLUICE_BENCH_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres',
    database: options.database ?? 'sluice_pgbench',
    scale: options.scale ?? 10,
    reinit: !!options.reinit,
    dropDb: !!options.dropDb,
    durationSeconds: options.durationSeconds ?? (quick ? 2 : 5),
    repetitions: options.repetitions ?? (quick ? 1 : 2),
    clients: options.clients ?? (quick ? [8] : [1, 8, 32]),
    threads: options.threads ?? 2,
    tests: options.tests ?? Object.keys(TESTS),
    targets: options.targets ?? [...DEFAULT_TARGETS],
    poolSize: options.poolSize ?? 10,
    wireCacheTtl: options.wireCacheTtl ?? '600s',
    warmupSeconds: options.warmupSeconds ?? (quick ? 1 : 3),
    noiseThreshold: options.noiseThreshold ?? 0.1,
    maxRetries: options.maxRetries ?? (quick ? 0 : 1),
    retryBudgetSeconds: options.retryBudgetSeconds ?? 120,
    idleWait: options.idleWait ?? true,
    idleMaxWait: options.idleMaxWait ?? (quick ? 10 : 30),
    log: options.log ?? log,
  }
}

// ---- pgbench ---------------------------------------------------------------------------------------

function parsePgbenchOutput(out) {
  const num = (re) => {
    const m = re.exec(out)
    return m ? Number(m[1]) : undefined
  }
  return {
    tps: num(/^tps = ([\d.]+)/m),
    transactions: num(/number of transactions actually processed: (\d+)/),
    failed: num(/number of failed transactions: (\d+)/) ?? 0,
    latencyAvgMs: num(/latency average = ([\d.]+) ms/),
    connectionTimeMs: num(/average connection time = ([\d.]+) ms/) ?? num(/initial connection time = ([\d.]+) ms/),
    aborted: /aborted|error:/i.test(out),
  }
}

/** Per-transaction latencies (ms) from pgbench --log files (field 3 = elapsed µs). */
function readLatencies(files) {
  let buf = new Float64Array(1 << 16)
  let n = 0
  for (const f of files) {
    const text = readFileSync(f, 'utf8')
    let start = 0
    for (;;) {
      const end = text.indexOf('\n', start)
      if (end < 0) break
      // client_id transaction_no time script_no time_epoch time_us
      const a = text.indexOf(' ', start)
      const b = text.indexOf(' ', a + 1)
      const c = text.indexOf(' ', b + 1)
      const v = Number(text.slice(b + 1, c))
      if (Number.isFinite(v)) {
        if (n === buf.length) {
          const bigger = new Float64Array(buf.length * 2)
          bigger.set(buf)
          buf = bigger
        }
        buf[n++] = v / 1000
      }
      start = end + 1
    }
  }
  return buf.subarray(0, n)
}

function runPgbench({ port, user, database, args, clients, threads, seconds, logPrefix }) {
  const fullArgs = ['-h', '127.0.0.1', '-p', String(port), '-U', user, '-n', ...args, '-c', String(clients), '-j', String(Math.min(threads, clients)), '-T', String(seconds)]
  if (logPrefix) fullArgs.push('--log', `--log-prefix=${logPrefix}`)
  fullArgs.push(database)
  return new Promise((resolve, reject) => {
    const child = spawn('pgbench', fullArgs, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PGCONNECT_TIMEOUT: '10' } })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    child.on('error', reject)
    child.on('exit', (code) => resolve({ code, out, command: `pgbench ${fullArgs.join(' ')}`, ...parsePgbenchOutput(out) }))
  })
}

/** Sluice's Prometheus /metrics (admin port), as { name → summed value } for the cache figures. */
async function scrapeMetrics(adminPort) {
  if (!adminPort) return undefined
  try {
    const text = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text()
    const out = {}
    for (const line of text.split('\n')) {
      const m = /^(sluice_cache_[a-z_]+|sluice_requests_total)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line)
      if (!m) continue
      let key = m[1]
      if (key === 'sluice_requests_total') {
        if (!/door="pg"/.test(m[2] ?? '')) continue
        key = `pg_${/status="([^"]*)"/.exec(m[2])?.[1] ?? 'none'}`
      }
      out[key] = (out[key] ?? 0) + Number(m[3])
    }
    return out
  } catch {
    return undefined
  }
}

/** pgpool-II's query-cache counters (`SHOW pool_cache`, answered by pgpool itself): hits and SELECTs sent on. */
async function pgpoolCacheStats(port, user, database) {
  try {
    const r = await adminQuery(`postgresql://${user}@127.0.0.1:${port}/${database}`, 'SHOW pool_cache')
    const row = r.rows[0]
    return { hits: Number(row.num_cache_hits), selects: Number(row.num_selects), entries: Number(row.num_cache_entries), bytes: Number(row.used_cache_entries_size) }
  } catch {
    return undefined
  }
}

/** '600s' / '10m' / '500ms' / '30' → whole seconds (pgpool's memqcache_expire). */
function parseDurationSeconds(v) {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(String(v).trim())
  if (!m) return 600
  const n = Number(m[1]) * ({ ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] ?? 's'])
  return Math.max(1, Math.round(n))
}

async function adminQuery(url, sql, params) {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    return await c.query(sql, params)
  } finally {
    await c.end()
  }
}

function dbUrl(pgUrl, database) {
  const u = new URL(pgUrl)
  u.pathname = `/${database}`
  return u.toString()
}

/** Creates and initialises the database when it is missing or not at the right scale. */
async function ensureDatabase(o) {
  if (!/^[a-z_][a-z0-9_]*$/.test(o.database)) throw new Error(`unsafe database name ${o.database}`)
  const exists = (await adminQuery(o.pgUrl, 'SELECT 1 FROM pg_database WHERE datname = $1', [o.database])).rowCount === 1
  let ok = false
  if (exists && !o.reinit) {
    try {
      const r = await adminQuery(dbUrl(o.pgUrl, o.database), 'SELECT (SELECT count(*) FROM pgbench_branches)::int AS branches, (SELECT count(*) FROM pgbench_accounts)::int AS accounts')
      ok = r.rows[0].branches === o.scale && r.rows[0].accounts === o.scale * 100_000
    } catch {
      ok = false
    }
  }
  if (ok) return { created: false, note: `reused the existing database ${o.database} (pgbench scale ${o.scale})` }
  const t0 = performance.now()
  await adminQuery(o.pgUrl, `DROP DATABASE IF EXISTS ${o.database} WITH (FORCE)`)
  await adminQuery(o.pgUrl, `CREATE DATABASE ${o.database}`)
  const u = new URL(o.pgUrl)
  await new Promise((resolve, reject) => {
    const child = spawn('pgbench', ['-h', u.hostname, '-p', u.port || '5432', '-U', decodeURIComponent(u.username || 'postgres'), '-i', '-s', String(o.scale), '-q', o.database], { stdio: ['ignore', 'ignore', 'pipe'] })
    let err = ''
    child.stderr.on('data', (d) => (err += d))
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`pgbench -i failed: ${err}`))))
  })
  await adminQuery(dbUrl(o.pgUrl, o.database), 'VACUUM ANALYZE')
  return { created: true, note: `created ${o.database} with \`pgbench -i -s ${o.scale}\` in ${((performance.now() - t0) / 1000).toFixed(1)} s` }
}

// ---- the run ----------------------------------------------------------------------------------------

export async function run(options = {}) {
  const o = resolveOptions(options)
  const L = o.log
  for (const t of o.tests) if (!TESTS[t]) throw new Error(`unknown test "${t}"; known: ${Object.keys(TESTS).join(', ')}`)
  for (const t of o.targets) if (!TARGETS.includes(t)) throw new Error(`unknown target "${t}"; known: ${TARGETS.join(', ')}`)
  if (!which('pgbench')) throw new Error('pgbench is not installed (apt-get install -y postgresql-client-15)')
  const pgu = new URL(o.pgUrl)
  const pgPort = Number(pgu.port || 5432)
  const pgUser = decodeURIComponent(pgu.username || 'postgres')
  const notes = []
  const machine = describeMachine()
  const startedAt = new Date()
  const tmp = mkdtempSync(join(os.tmpdir(), 'sluice-bench-pgbench-'))
  const removeTmp = onCleanup(() => rmSync(tmp, { recursive: true, force: true }))
  const hotFile = join(tmp, 'hot.sql')
  writeFileSync(hotFile, HOT_SQL)
  const servers = {}
  let monitor
  try {
    const db = await ensureDatabase(o)
    notes.push(db.note)
    L(db.note)
    const versions = {
      pgbench: commandVersion('pgbench', ['--version']),
      postgres: (await adminQuery(o.pgUrl, 'SHOW server_version')).rows[0].server_version,
      sluice: JSON.parse(readFileSync(join(o.repoRoot, 'packages/sluice/package.json'), 'utf8')).version,
    }

    // 1. targets
    const ports = { direct: pgPort }
    const pids = {}
    const adminPorts = {}
    const commands = {}
    if (o.targets.includes('pgbouncer')) {
      const pb = ensurePgbouncer(L)
      if (pb.note) notes.push(pb.note)
      versions.pgbouncer = pb.version
      if (pb.path) {
        servers.pgbouncer = await startPgbouncer({ path: pb.path, pgPort, database: o.database, poolSize: o.poolSize })
        ports.pgbouncer = servers.pgbouncer.port
        pids.pgbouncer = servers.pgbouncer.pid
        commands.pgbouncer = `${pb.path} pgbouncer.ini  (as the postgres OS user; pool_mode = transaction, default_pool_size = ${o.poolSize}, auth_type = trust)`
        L(`PgBouncer ${pb.version?.replace(/^PgBouncer /, '')} on port ${ports.pgbouncer} (pid ${pids.pgbouncer})`)
      } else o.targets = o.targets.filter((t) => t !== 'pgbouncer')
    }
    if (o.targets.some((t) => PGPOOL_TARGETS.includes(t))) {
      const pp = ensurePgpool(L)
      if (pp.note) notes.push(pp.note)
      versions.pgpool = pp.version
      // pgpool pools per session (one child process per client connection): it needs a child for each
      // concurrent client (and for the warm-up's 8), so it gets max(clients) children where the
      // other pools get `poolSize` server connections.
      const children = Math.max(o.poolSize, 8, ...o.clients)
      for (const t of PGPOOL_TARGETS.filter((x) => o.targets.includes(x))) {
        if (!pp.path) {
          o.targets = o.targets.filter((x) => x !== t)
          continue
        }
        const cache = t === 'pgpool'
        servers[t] = await startPgpool({ path: pp.path, pgPort, numInitChildren: children, cache, cacheExpire: parseDurationSeconds(o.wireCacheTtl) })
        ports[t] = servers[t].port
        pids[t] = servers[t].pid
        commands[t] = `${pp.path} -n -f pgpool.conf -F pcp.conf  (raw mode, one backend, num_init_children = ${children}, max_pool = 1, memory_cache_enabled = ${cache ? 'on' : 'off'}${cache ? `, memqcache_method = 'shmem', memqcache_total_size = 64MB, memqcache_expire = ${parseDurationSeconds(o.wireCacheTtl)}` : ''})`
        L(`${t}: ${pp.version} on port ${ports[t]} (pid ${pids[t]}, ${children} children, query cache ${cache ? 'on' : 'off'})`)
      }
      if (pp.path) {
        notes.push(
          `pgpool-II pools per session, not per transaction: each of its ${children} child processes serves one client connection at a time and keeps its Postgres connection (max_pool = 1) for the next client, ` +
            `so it holds one Postgres connection per concurrent client (up to ${children}) where PgBouncer and Sluice hold at most ${o.poolSize}; its proxy CPU is the sum over all its processes. ` +
            'Its query cache (memqcache, shmem) caches SELECTs in the simple and the extended protocol (keyed with the Bind parameters) and drops a table\'s entries when a write goes through pgpool; ' +
            'per its documentation it does not cache SELECTs with non-immutable functions, temp/unlogged tables, timestamptz values, system catalogs or FOR UPDATE/SHARE, results above memqcache_maxcache (400 kB), ' +
            'and views only when listed in cache_safe_memqcache_table_list. Its hit share ("hits") comes from `SHOW pool_cache`; hot-set tests warm its cache as they warm Sluice\'s.',
        )
      }
    }
    const origin = `${dbUrl(o.pgUrl, o.database)}?connection_limit=${o.poolSize}`
    for (const [t, extra] of [
      ['sluice-off', []],
      ['sluice-auto', ['--wire-cache', 'auto', '--wire-cache-ttl', o.wireCacheTtl]],
    ]) {
      if (!o.targets.includes(t)) continue
      const s = await startSluiceProcess({ repoRoot: o.repoRoot, origin, extraArgs: extra })
      const untrack = trackPid(s.pid)
      servers[t] = { ...s, stop: onCleanup(async () => { await s.stop(); untrack() }) }
      const m = /Postgres wire door on (?:port |[^\s]+:)(\d+)/.exec(s.banner)
      if (!m) throw new Error(`${t}: no wire door in the banner:\n${s.banner}`)
      ports[t] = Number(m[1])
      pids[t] = s.pid
      adminPorts[t] = Number(/metrics: +http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(s.banner)?.[1]) || undefined
      commands[t] = `node packages/sluice/dist/cli/main.js start --origin "${origin}" --http-port 0 --pg-port 0 --host 127.0.0.1 --api-key bench --log-level silent${extra.length ? ' ' + extra.join(' ') : ''}`
      L(`${t}: Sluice ${versions.sluice} wire door on port ${ports[t]} (pid ${s.pid})`)
    }
    // every target answers
    for (const t of o.targets) {
      const r = await adminQuery(`postgresql://${pgUser}@127.0.0.1:${ports[t]}/${o.database}`, 'SELECT count(*)::int AS n FROM pgbench_branches')
      if (r.rows[0].n !== o.scale) throw new Error(`${t}: unexpected answer ${JSON.stringify(r.rows)}`)
    }

    monitor = new pg.Client({ connectionString: o.pgUrl })
    await monitor.connect()
    let postmasterPid
    try {
      const dir = (await monitor.query('SHOW data_directory')).rows[0].data_directory
      postmasterPid = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]) || undefined
    } catch {
      notes.push('postmaster pid not readable: Postgres CPU of the -C test not measured')
    }
    if (o.idleWait) {
      const idle = await waitForIdle({ maxWait: o.idleMaxWait, log: L })
      notes.push(idle.idle ? `machine idle before start (${idle.busyCores.toFixed(2)} cores busy)` : `machine still busy after ${idle.waitedSeconds.toFixed(0)} s (${idle.busyCores.toFixed(2)} cores in use by others): ${topProcesses(3).join(' | ')}`)
    }

    const blocks = []
    const discarded = []
    const unsupported = {}
    const warmups = []
    let retrySeconds = 0

    const testArgs = (test) => TESTS[test].args.map((a) => (a === '<hot.sql>' ? hotFile : a))

    async function measure({ test, clients, target, rep, position, attempt }) {
      if (TESTS[test].tpcb) {
        // what pgbench does itself without -n, directly on Postgres (as in the baselines)
        const c = new pg.Client({ connectionString: dbUrl(o.pgUrl, o.database) })
        await c.connect()
        try {
          for (const sql of ['VACUUM pgbench_branches', 'VACUUM pgbench_tellers', 'TRUNCATE pgbench_history', 'CHECKPOINT']) await c.query(sql)
        } finally {
          await c.end()
        }
      }
      const logDir = join(tmp, `log-${blocks.length}-${discarded.length}-${target}`)
      mkdirSync(logDir)
      const bytesBefore = pids[target] && target.startsWith('sluice') ? tcpBytesTo(pids[target], pgPort) : undefined
      const metricsBefore = await scrapeMetrics(adminPorts[target])
      const poolCacheBefore = target === 'pgpool' ? await pgpoolCacheStats(ports[target], pgUser, o.database) : undefined
      const sampler = startBackendSampler(monitor, o.database)
      await sampler.ready
      const pmBefore = postmasterChildrenSeconds(postmasterPid)
      const meter = await startCpuMeter({ serverPid: pids[target], serverTree: PGPOOL_TARGETS.includes(target) })
      const r = await runPgbench({ port: ports[target], user: pgUser, database: o.database, args: testArgs(test), clients, threads: o.threads, seconds: o.durationSeconds, logPrefix: join(logDir, 'pgbench_log') })
      const cpu = await meter.stop()
      const pgCpu = await sampler.stop()
      const pmAfter = postmasterChildrenSeconds(postmasterPid)
      const bytesAfter = bytesBefore ? tcpBytesTo(pids[target], pgPort) : undefined
      const metricsAfter = metricsBefore ? await scrapeMetrics(adminPorts[target]) : undefined
      const poolCacheAfter = poolCacheBefore ? await pgpoolCacheStats(ports[target], pgUser, o.database) : undefined
      const d = (k) => (metricsAfter?.[k] ?? 0) - (metricsBefore?.[k] ?? 0)
      // statements the wire door answered, by cache status (sluice_requests_total{door="pg"}); for
      // pgpool-II, SELECTs answered from its cache vs sent to Postgres (SHOW pool_cache)
      let answeredFromCache = metricsAfter ? d('pg_ttl') + d('pg_swr') : undefined
      let answeredMisses = metricsAfter ? d('pg_miss') : undefined
      if (poolCacheBefore && poolCacheAfter) {
        answeredFromCache = poolCacheAfter.hits - poolCacheBefore.hits
        answeredMisses = poolCacheAfter.selects - poolCacheBefore.selects
      }
      const lat = readLatencies(listFiles(logDir, 'pgbench_log'))
      rmSync(logDir, { recursive: true, force: true })
      const xacts = r.transactions ?? 0
      const per = (s) => (xacts > 0 ? round((s / xacts) * 1e6, 1) : null)
      const sortedLat = Float64Array.from(lat).sort()
      // backends sampled every 100 ms; under -C they live ~1-5 ms, so there: the live ones plus what the
      // postmaster's exited children used (that includes exited backends of other databases)
      const postgresSeconds = !TESTS[test].storm
        ? pgCpu.sampled
        : pmBefore !== undefined && pmAfter !== undefined
          ? pgCpu.alive + (pmAfter - pmBefore) - pgCpu.exitedBase
          : undefined
      const other = Math.max(0, cpu.other - (postgresSeconds ?? 0))
      const block = {
        test,
        clients,
        target,
        repetition: rep + 1,
        position: position + 1,
        attempt,
        exitCode: r.code,
        tps: r.tps,
        transactions: xacts,
        failed: r.failed,
        latencyAvgMs: r.latencyAvgMs,
        connectionTimeMs: r.connectionTimeMs,
        latencyMs: { n: sortedLat.length, p50: round(percentile(sortedLat, 50), 4), p90: round(percentile(sortedLat, 90), 4), p99: round(percentile(sortedLat, 99), 4), max: round(sortedLat[sortedLat.length - 1], 3) },
        cpuSeconds: {
          wall: round(cpu.wallSeconds, 3),
          proxy: round(cpu.server, 3),
          pgbench: round(cpu.children, 3),
          postgres: postgresSeconds === undefined ? null : round(postgresSeconds, 3),
          orchestrator: round(cpu.self, 3),
          irq: round(cpu.irq, 3),
          other: round(other, 3),
        },
        proxyCpuUsPerXact: pids[target] ? per(cpu.server) : null,
        pgbenchCpuUsPerXact: per(cpu.children),
        postgresCpuUsPerXact: postgresSeconds === undefined ? null : per(postgresSeconds),
        upstreamBytesPerXact: bytesAfter && bytesBefore ? per(tcpBytesDelta(bytesBefore, bytesAfter).received / 1e6) : null,
        cacheHits: answeredFromCache,
        cacheMisses: answeredMisses,
        upstreamConnections: bytesAfter && bytesBefore ? (({ opened, closed, connections }) => ({ opened, closed, atEnd: connections }))(tcpBytesDelta(bytesBefore, bytesAfter)) : null,
        otherCpuShare: round(other / (cpu.wallSeconds * cpu.cores), 3),
        command: r.command,
      }
      if (r.code !== 0 || !r.tps) block.error = r.out.split('\n').filter((l) => /error|abort|fatal/i.test(l)).slice(0, 3).join(' | ') || r.out.slice(-300)
      L(
        `  ${test.padEnd(12)} c=${String(clients).padEnd(2)} rep ${rep + 1}${attempt > 1 ? `.${attempt}` : '  '} ${target.padEnd(11)} ` +
          (block.error
            ? `FAILED (exit ${r.code}): ${block.error}`
            : `${String(Math.round(block.tps)).padStart(6)} tps  p50 ${block.latencyMs.p50?.toFixed(3)} ms  p99 ${block.latencyMs.p99?.toFixed(3)} ms` +
              (block.proxyCpuUsPerXact !== null ? `  proxy ${block.proxyCpuUsPerXact} µs/xact` : '') +
              (block.upstreamBytesPerXact !== null ? `  upstream ${block.upstreamBytesPerXact} B/xact` : '') +
              `  other ${(block.otherCpuShare * 100).toFixed(0)}%`),
      )
      return { block, latencies: lat }
    }

    const latencyPool = new Map() // `${test}|${clients}|${target}` → Float64Array[] (kept cells only)
    const t0 = performance.now()
    for (const test of o.tests) {
      const spec = TESTS[test]
      L(`${test}: ${spec.label}`)
      let targets = [...o.targets]
      if (spec.pgbouncerUnsupported && targets.includes('pgbouncer')) {
        // show it, once, as the baselines did: clients abort (with few clients and an idle pool a
        // client may keep landing on the server connection it prepared on, so use 8 clients)
        const r = await runPgbench({ port: ports.pgbouncer, user: pgUser, database: o.database, args: testArgs(test), clients: 8, threads: o.threads, seconds: 2 })
        const err = r.out.split('\n').find((l) => /prepared statement/i.test(l))?.trim() ?? r.out.split('\n').find((l) => /error/i.test(l))?.trim()
        if (r.code !== 0 || !r.tps || err) {
          unsupported[test] = { target: 'pgbouncer', exitCode: r.code, tps: r.tps ?? null, error: (err ?? r.out.trim().slice(-200)).replace(/^pgbench: error: /, ''), command: r.command }
          targets = targets.filter((t) => t !== 'pgbouncer')
          L(`  pgbouncer: not supported (exit ${r.code}): ${err}`)
        } else L(`  pgbouncer ran ${test} without errors (${Math.round(r.tps)} tps): measuring it`)
      }
      // warm-up pass on the caching targets: every one of the 1,000 keys in this protocol (random, ≈ 20k+ transactions)
      for (const t of spec.hot ? ['sluice-auto', 'pgpool'].filter((x) => targets.includes(x)) : []) {
        const w = await runPgbench({ port: ports[t], user: pgUser, database: o.database, args: testArgs(test), clients: 8, threads: o.threads, seconds: o.warmupSeconds })
        warmups.push({ test, target: t, seconds: o.warmupSeconds, transactions: w.transactions, tps: w.tps, command: w.command })
        L(`  warm-up on ${t}: ${w.transactions} transactions in ${o.warmupSeconds} s`)
      }
      for (const clients of o.clients) {
        for (let rep = 0; rep < o.repetitions; rep++) {
          const order = targets.map((_, i) => targets[(i + rep + clients) % targets.length])
          let best
          for (let attempt = 1; ; attempt++) {
            const c0 = performance.now()
            const cell = []
            for (const [position, target] of order.entries()) cell.push(await measure({ test, clients, target, rep, position, attempt }))
            if (attempt > 1) retrySeconds += (performance.now() - c0) / 1000
            const noise = Math.max(...cell.map((c) => c.block.otherCpuShare))
            if (!best || noise < best.noise) {
              if (best) discarded.push(...best.cell.map((c) => c.block))
              best = { cell, noise }
            } else discarded.push(...cell.map((c) => c.block))
            if (best.noise <= o.noiseThreshold || attempt > o.maxRetries || retrySeconds >= o.retryBudgetSeconds) break
            L(`  … ${(noise * 100).toFixed(0)}% of the machine used by other processes during this cell: waiting for quiet, then measuring it again`)
            await waitForIdle({ maxWait: Math.min(15, o.idleMaxWait) })
          }
          for (const { block, latencies } of best.cell) {
            blocks.push(block)
            const k = `${block.test}|${block.clients}|${block.target}`
            if (!latencyPool.has(k)) latencyPool.set(k, [])
            latencyPool.get(k).push(latencies)
          }
        }
      }
    }
    const elapsedSeconds = (performance.now() - t0) / 1000

    // 2. summary per (test, clients, target)
    const summary = []
    for (const test of o.tests) {
      for (const clients of o.clients) {
        const rows = []
        for (const target of o.targets) {
          const bs = blocks.filter((b) => b.test === test && b.clients === clients && b.target === target)
          if (bs.length === 0) {
            if (unsupported[test]?.target === target) rows.push({ test, clients, target, unsupported: unsupported[test].error })
            continue
          }
          const okBlocks = bs.filter((b) => !b.error)
          const xacts = okBlocks.reduce((a, b) => a + b.transactions, 0)
          const sum = (k) => okBlocks.reduce((a, b) => a + (b.cpuSeconds[k] ?? 0), 0)
          const pooled = (latencyPool.get(`${test}|${clients}|${target}`) ?? []).filter((_, i) => !bs[i]?.error)
          const all = new Float64Array(pooled.reduce((a, l) => a + l.length, 0))
          let off = 0
          for (const l of pooled) {
            all.set(l, off)
            off += l.length
          }
          all.sort()
          const tps = okBlocks.map((b) => b.tps)
          rows.push({
            test,
            clients,
            target,
            repetitions: bs.length,
            errors: bs.filter((b) => b.error).map((b) => b.error),
            tps: tps.length ? round(tps.reduce((a, b) => a + b, 0) / tps.length, 1) : null,
            tpsRuns: tps.map((v) => round(v, 0)),
            latencyMs: { p50: round(percentile(all, 50), 4), p99: round(percentile(all, 99), 4), n: all.length },
            latencyAvgMs: okBlocks.length ? round(okBlocks.reduce((a, b) => a + b.latencyAvgMs, 0) / okBlocks.length, 4) : null,
            connectionTimeMs: TESTS[test].storm && okBlocks.length ? round(okBlocks.reduce((a, b) => a + (b.connectionTimeMs ?? 0), 0) / okBlocks.length, 3) : null,
            proxyCpuUsPerXact: pids[target] && xacts ? round((sum('proxy') / xacts) * 1e6, 1) : null,
            pgbenchCpuUsPerXact: xacts ? round((sum('pgbench') / xacts) * 1e6, 1) : null,
            postgresCpuUsPerXact: !xacts || okBlocks.some((b) => b.cpuSeconds.postgres === null) ? null : round((sum('postgres') / xacts) * 1e6, 1),
            upstreamBytesPerXact: target.startsWith('sluice') && okBlocks.length ? round(okBlocks.reduce((a, b) => a + (b.upstreamBytesPerXact ?? 0) * b.transactions, 0) / xacts, 1) : null,
            cacheHits: okBlocks.some((b) => b.cacheHits !== undefined) ? okBlocks.reduce((a, b) => a + (b.cacheHits ?? 0), 0) : undefined,
            cacheMisses: okBlocks.some((b) => b.cacheMisses !== undefined) ? okBlocks.reduce((a, b) => a + (b.cacheMisses ?? 0), 0) : undefined,
            otherCpuShare: okBlocks.length ? round(sum('other') / okBlocks.reduce((a, b) => a + b.cpuSeconds.wall * machine.logicalCpus, 0), 3) : null,
          })
        }
        const by = Object.fromEntries(rows.map((r) => [r.target, r]))
        for (const r of rows) {
          if (r.tps == null) continue
          if (by.direct?.tps) r.vsDirect = round(r.tps / by.direct.tps, 3)
          if (by.pgbouncer?.tps) r.vsPgbouncer = round(r.tps / by.pgbouncer.tps, 3)
          if (by.pgpool?.tps) r.vsPgpool = round(r.tps / by.pgpool.tps, 3)
          if (r.cacheHits !== undefined && r.cacheHits + r.cacheMisses > 0) {
            if (r.target === 'sluice-auto') r.vsCacheOff = by['sluice-off']?.tps ? round(r.tps / by['sluice-off'].tps, 3) : undefined
            r.hitShare = round(r.cacheHits / (r.cacheHits + r.cacheMisses), 4) // exact: Sluice's /metrics, pgpool's SHOW pool_cache
          }
          if (r.target === 'sluice-auto' && by['sluice-off']?.upstreamBytesPerXact && r.upstreamBytesPerXact !== null) {
            r.vsCacheOff = by['sluice-off'].tps ? round(r.tps / by['sluice-off'].tps, 3) : undefined
            // share of transactions that never reached Postgres, from the bytes Postgres sent to Sluice
            r.estimatedHitShare = round(Math.max(0, 1 - r.upstreamBytesPerXact / by['sluice-off'].upstreamBytesPerXact), 3)
          }
        }
        summary.push(...rows)
      }
    }

    const result = {
      scenario: name,
      description,
      startedAt: startedAt.toISOString(),
      elapsedSeconds: round(elapsedSeconds, 1),
      machine,
      versions,
      settings: {
        quick: o.quick,
        database: o.database,
        scale: o.scale,
        durationSeconds: o.durationSeconds,
        repetitions: o.repetitions,
        clients: o.clients,
        threads: o.threads,
        tests: o.tests,
        targets: o.targets,
        poolSize: o.poolSize,
        wireCacheTtl: o.wireCacheTtl,
        warmupSeconds: o.warmupSeconds,
        noiseThreshold: o.noiseThreshold,
        hotSql: HOT_SQL,
        ports,
        commands,
        pgbouncerIni: servers.pgbouncer?.ini,
        pgpoolConf: (servers.pgpool ?? servers['pgpool-nocache'])?.conf,
        commandLine: options.commandLine,
      },
      notes,
      warmups,
      unsupported,
      summary,
      goals: evaluateGoals(summary, o),
      blocks,
      retries: { noiseThreshold: o.noiseThreshold, maxRetries: o.maxRetries, retrySeconds: round(retrySeconds, 1), discardedBlocks: discarded },
    }
    for (const t of ['sluice-off', 'sluice-auto']) {
      const m = await scrapeMetrics(adminPorts[t])
      if (!m) continue
      result.cacheAtEnd ??= {}
      result.cacheAtEnd[t] = m
      if (m.sluice_cache_entries) {
        result.notes.push(`${t} cache at the end (/metrics): ${fmt(m.sluice_cache_entries)} entries, ${fmt(m.sluice_cache_bytes / 2 ** 20, 1)} MB counted against --cache-max-size ${fmt(m.sluice_cache_max_bytes / 2 ** 20)} MB, ${fmt(m.sluice_cache_evictions)} evictions`)
      }
    }
    if (servers.pgpool) {
      const st = await pgpoolCacheStats(ports.pgpool, pgUser, o.database)
      if (st) result.notes.push(`pgpool query cache at the end (SHOW pool_cache): ${fmt(st.entries)} entries, ${fmt(st.bytes / 2 ** 20, 1)} MB of 64 MB`)
    }
    for (const t of ['sluice-off', 'sluice-auto', 'pgbouncer']) {
      const pid = pids[t]
      if (!pid) continue
      try {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8')
        const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(status)?.[1])
        result.notes.push(`${t} process memory at the end: RSS ${Math.round(kb('VmRSS') / 1024)} MB (peak ${Math.round(kb('VmHWM') / 1024)} MB)`)
      } catch {
        // gone
      }
    }
    // anything Sluice wrote on stderr (it runs with --log-level silent: should be nothing)
    for (const t of ['sluice-off', 'sluice-auto']) if (servers[t]?.stderr?.trim()) result.notes.push(`${t} stderr: ${servers[t].stderr.trim().slice(0, 500)}`)
    return result
  } finally {
    await monitor?.end().catch(() => {})
    for (const t of ['sluice-auto', 'sluice-off', 'pgpool', 'pgpool-nocache', 'pgbouncer']) await servers[t]?.stop()
    if (o.dropDb) await adminQuery(o.pgUrl, `DROP DATABASE IF EXISTS ${o.database} WITH (FORCE)`).catch(() => {})
    await removeTmp()
  }
}

export function evaluateGoals(summary, o = {}) {
  const row = (test, clients, target) => summary.find((r) => r.test === test && r.clients === clients && r.target === target)
  const out = []
  // 1. cache off ≥ 0.8× PgBouncer, wherever PgBouncer runs
  for (const r of summary.filter((r) => r.target === 'sluice-off' && r.vsPgbouncer !== undefined)) {
    out.push({ goal: `cache off ≥ ${GOALS.cacheOffVsPgbouncer}× PgBouncer`, test: r.test, clients: r.clients, value: r.vsPgbouncer, display: `${r.vsPgbouncer.toFixed(2)}×`, met: r.vsPgbouncer >= GOALS.cacheOffVsPgbouncer })
  }
  // 2. warmed cache, point selects, 8 and 32 clients: ≥ 2.5× PgBouncer and ≥ 1.5× direct
  for (const r of summary.filter((r) => r.target === 'sluice-auto' && TESTS[r.test]?.hot && r.clients >= 8 && r.tps != null)) {
    if (r.vsPgbouncer !== undefined) out.push({ goal: `warmed cache, point selects, c ≥ 8: ≥ ${GOALS.hitVsPgbouncer}× PgBouncer`, test: r.test, clients: r.clients, value: r.vsPgbouncer, display: `${r.vsPgbouncer.toFixed(2)}×`, met: r.vsPgbouncer >= GOALS.hitVsPgbouncer })
    else if (TESTS[r.test].pgbouncerUnsupported) out.push({ goal: `warmed cache, point selects, c ≥ 8: ≥ ${GOALS.hitVsPgbouncer}× PgBouncer`, test: r.test, clients: r.clients, value: null, display: 'PgBouncer 1.18 cannot run it', met: null })
    if (r.vsDirect !== undefined) out.push({ goal: `warmed cache, point selects, c ≥ 8: ≥ ${GOALS.hitVsDirect}× direct`, test: r.test, clients: r.clients, value: r.vsDirect, display: `${r.vsDirect.toFixed(2)}×`, met: r.vsDirect >= GOALS.hitVsDirect })
  }
  // 3. c=1 hit latency p50 ≤ 100 µs
  for (const r of summary.filter((r) => r.target === 'sluice-auto' && TESTS[r.test]?.hot && r.clients === 1 && r.latencyMs?.p50 != null)) {
    out.push({ goal: `c=1 hit latency p50 ≤ ${GOALS.hitP50Ms * 1000} µs`, test: r.test, clients: 1, value: r.latencyMs.p50, display: `${Math.round(r.latencyMs.p50 * 1000)} µs`, met: r.latencyMs.p50 <= GOALS.hitP50Ms })
  }
  void row
  void o
  return out
}

// ---- Markdown ------------------------------------------------------------------------------------------

const fmt = (v, d = 0) => (v === null || v === undefined || Number.isNaN(v) ? '–' : Number(v).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }))
const ms = (v) => (v === null || v === undefined ? '–' : v < 1 ? `${Math.round(v * 1000)} µs` : `${v.toFixed(2)} ms`)
const ratio = (v) => (v === null || v === undefined ? '–' : `${v.toFixed(2)}×`)
const mark = (met) => (met === null ? '–' : met ? '✅ met' : '❌ not met')

export function renderMarkdown(result, { chart } = {}) {
  const s = result.settings
  const lines = []
  lines.push(`# pgbench: Sluice's Postgres wire door vs PgBouncer, pgpool-II and direct PostgreSQL`)
  lines.push('')
  lines.push(`${result.startedAt} · ${result.machine.cpuModel}, ${result.machine.logicalCpus} CPUs, ${result.machine.os}, Node ${result.machine.node} · ` +
    `PostgreSQL ${result.versions.postgres}, ${result.versions.pgbench}, ${result.versions.pgbouncer ?? 'no PgBouncer'}, ${result.versions.pgpool ?? 'no pgpool-II'}, Sluice ${result.versions.sluice}` +
    (s.quick ? ' · **--quick: plumbing check, numbers not meaningful**' : ''))
  lines.push('')
  if (chart) lines.push(`![${name} chart](${chart})`, '')
  lines.push(`Database \`${s.database}\` (\`pgbench -i -s ${s.scale}\`: ${fmt(s.scale * 100000)} accounts). Each cell runs every target back to back (rotating order) for ` +
    `${s.durationSeconds} s × ${s.repetitions} repetition(s); \`-j ${s.threads}\` (\`-j 1\` at 1 client); every run \`-n\` with \`--log\` (per-transaction latencies → p50/p99, pooled over the repetitions). ` +
    `Pools: PgBouncer \`default_pool_size = ${s.poolSize}\`, Sluice \`connection_limit=${s.poolSize}\`${s.pgpoolConf ? `, pgpool-II \`num_init_children = ${/num_init_children = (\d+)/.exec(s.pgpoolConf)?.[1]}\` (one per client: it pools per session)` : ''}. Before each TPC-B run, directly on Postgres: \`VACUUM pgbench_branches; VACUUM pgbench_tellers; TRUNCATE pgbench_history; CHECKPOINT\`. ` +
    `Hot-set tests: \`hot.sql\` = \`\\set aid random(1, 1000)\` + the -S select; before each, a ${s.warmupSeconds} s warm-up pass (8 clients) on sluice-auto${s.targets.includes('pgpool') ? ' and pgpool-II' : ''} in the same protocol fills its cache (ttl ${s.wireCacheTtl}).`)
  lines.push('')
  lines.push('Columns: tps = mean over repetitions (each run in brackets: the spread); ×PgB / ×pgpool / ×direct = tps ratios within the same cell; proxy CPU = the PgBouncer or Sluice process, or all pgpool-II processes, (utime+stime from `/proc/<pid>/stat`) per transaction; ' +
    'pgbench and Postgres CPU likewise (Postgres = backends of the database, sampled every 100 ms; under `-C`, where backends live a few ms, the live backends plus the exited children of the postmaster, which includes backends of other databases); upstream B/xact = bytes Postgres sent to Sluice per transaction (`ss -ti`), ' +
    'hits = share of the statements answered from the cache (sluice-auto: \`sluice_requests_total{door="pg"}\` from its /metrics, "≈" = estimated as 1 − upstream bytes auto/off when no metrics; pgpool-II: \`SHOW pool_cache\`, hits / (hits + SELECTs sent on)); other = CPU of unrelated processes (⚠ above 5%).')
  lines.push('')
  if (result.notes.length) {
    for (const n of result.notes) lines.push(`* ${n}`)
    lines.push('')
  }

  lines.push('## Goals')
  lines.push('')
  lines.push('| goal | test | clients | value | |')
  lines.push('|---|---|---|---|---|')
  for (const g of result.goals) lines.push(`| ${g.goal} | ${g.test} | ${g.clients} | ${g.display} | ${mark(g.met)} |`)
  const by = (pred) => result.goals.filter(pred)
  const tally = (gs) => `${gs.filter((g) => g.met).length} of ${gs.filter((g) => g.met !== null).length}`
  lines.push('')
  lines.push(`Met: cache off vs PgBouncer ${tally(by((g) => g.goal.startsWith('cache off')))} cells; warmed cache vs PgBouncer ${tally(by((g) => g.goal.includes('PgBouncer') && g.goal.startsWith('warmed')))}; ` +
    `warmed cache vs direct ${tally(by((g) => g.goal.includes('direct')))}; c=1 hit p50 ${tally(by((g) => g.goal.startsWith('c=1')))}.`)
  lines.push('')

  lines.push('## Results')
  for (const test of s.tests) {
    const rows = result.summary.filter((r) => r.test === test)
    if (!rows.length) continue
    lines.push('')
    lines.push(`### ${test}: ${TESTS[test]?.label ?? test}`)
    lines.push('')
    const storm = TESTS[test]?.storm
    lines.push(`| clients | target | tps (runs) | ×PgB | ×pgpool | ×direct | p50 | p99 | ${storm ? 'connect | ' : ''}proxy CPU µs/xact | pgbench µs/xact | Postgres µs/xact | upstream B/xact | hits | other |`)
    lines.push(`|---|---|---|---|---|---|---|---|${storm ? '---|' : ''}---|---|---|---|---|---|`)
    for (const r of rows) {
      if (r.unsupported) {
        lines.push(`| ${r.clients} | ${TARGET_LABELS[r.target]} | not supported: ${r.unsupported.replace(/\|/g, '\\|')} |${' |'.repeat(storm ? 12 : 11)}`)
        continue
      }
      const errs = r.errors?.length ? ` ⚠ ${r.errors.length} failed run(s): ${r.errors[0].replace(/\|/g, '\\|').slice(0, 120)}` : ''
      lines.push(
        `| ${r.clients} | ${TARGET_LABELS[r.target]} | **${fmt(r.tps)}** (${r.tpsRuns.map((v) => fmt(v)).join(' / ')})${errs} | ${ratio(r.vsPgbouncer)} | ${ratio(r.vsPgpool)} | ${ratio(r.vsDirect)} | ${ms(r.latencyMs.p50)} | ${ms(r.latencyMs.p99)} | ` +
          `${storm ? `${ms(r.connectionTimeMs)} | ` : ''}${fmt(r.proxyCpuUsPerXact, 1)} | ${fmt(r.pgbenchCpuUsPerXact, 1)} | ${fmt(r.postgresCpuUsPerXact, 1)} | ${fmt(r.upstreamBytesPerXact, 1)} | ` +
          `${r.hitShare != null ? `${(r.hitShare * 100).toFixed(1)}%` : r.estimatedHitShare != null ? `≈${(r.estimatedHitShare * 100).toFixed(1)}%` : '–'} | ${r.otherCpuShare != null ? `${(r.otherCpuShare * 100).toFixed(0)}%${r.otherCpuShare > 0.05 ? ' ⚠' : ''}` : '–'} |`,
      )
    }
  }
  lines.push('')
  if (Object.keys(result.unsupported).length) {
    lines.push('## Not supported')
    lines.push('')
    for (const [test, u] of Object.entries(result.unsupported)) lines.push(`* ${test} on ${u.target}: exit ${u.exitCode}, \`${u.error}\` (\`${u.command}\`)`)
    lines.push('')
  }
  lines.push('## How it was run')
  lines.push('')
  if (s.commandLine) lines.push(`\`${s.commandLine}\` (${fmt(result.elapsedSeconds)} s of measuring)`)
  lines.push('')
  lines.push('```sh')
  for (const [t, c] of Object.entries(s.commands)) lines.push(`# ${t}\n${c}`)
  const example = result.blocks.find((b) => b.test === 'S_simple') ?? result.blocks[0]
  if (example) lines.push(`# one measured block (ports: ${Object.entries(s.ports).map(([k, v]) => `${k} ${v}`).join(', ')})\n${example.command.replace(/--log-prefix=\S+/, '--log-prefix=<tmp>/pgbench_log')}`)
  lines.push('```')
  if (s.pgpoolConf) {
    lines.push('')
    lines.push('<details><summary>pgpool.conf</summary>\n\n```ini\n' + s.pgpoolConf.trim() + '\n```\n</details>')
  }
  if (s.pgbouncerIni) {
    lines.push('')
    lines.push('<details><summary>pgbouncer.ini</summary>\n\n```ini\n' + s.pgbouncerIni.trim() + '\n```\n</details>')
  }
  const again = remeasuredNote(result.retries)
  if (again) lines.push(again)
  lines.push('')
  return lines.join('\n')
}

/** Writes <outDir>/{name}.md, .json and .svg (the chart, embedded in the Markdown). */
export function writeReport(outDir, result) {
  return writeChartedReport(outDir, name, result, pgbenchChart(result, { labels: TARGET_LABELS, tests: TESTS }), renderMarkdown)
}

// ---- CLI -------------------------------------------------------------------------------------------

const HELP = `Usage: node bench/scenarios/pgbench.mjs [options]

  --quick                 2 s blocks, 1 repetition, 8 clients only (plumbing check)
  --duration <s>          seconds per pgbench run (default 5)
  --repetitions <n>       interleaved repetitions (default 2)
  --clients <list>        client counts (default 1,8,32)
  --tests <list>          ${Object.keys(TESTS).join(',')}
  --targets <list>        default ${DEFAULT_TARGETS.join(',')}; also pgpool-nocache
  --pool-size <n>         PgBouncer default_pool_size and Sluice connection_limit (default 10)
  --warmup <s>            warm-up pass before each hot-set test (default 3)
  --database <name>       default sluice_pgbench (created with pgbench -i -s 10 when missing)
  --reinit                recreate the database even when it exists
  --drop-db               drop it at the end
  --pg-url <url>          admin URL (default postgresql://postgres@127.0.0.1:5432/postgres)
  --no-idle-wait          do not wait for a quiet machine
  --out <dir>             default bench/results
  --render <file.json>    re-render the Markdown of an earlier run`

async function main() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean' },
      duration: { type: 'string' },
      repetitions: { type: 'string' },
      clients: { type: 'string' },
      tests: { type: 'string' },
      targets: { type: 'string' },
      'pool-size': { type: 'string' },
      warmup: { type: 'string' },
      database: { type: 'string' },
      reinit: { type: 'boolean' },
      'drop-db': { type: 'boolean' },
      'pg-url': { type: 'string' },
      'no-idle-wait': { type: 'boolean' },
      out: { type: 'string' },
      render: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) return console.log(HELP)
  if (values.render) {
    const files = writeReport(dirname(values.render), JSON.parse(readFileSync(values.render, 'utf8')))
    return process.stdout.write(files.markdown)
  }
  installCleanupHandlers()
  const result = await run({
    quick: values.quick,
    durationSeconds: values.duration ? Number(values.duration) : undefined,
    repetitions: values.repetitions ? Number(values.repetitions) : undefined,
    clients: csvList(values.clients)?.map(Number),
    tests: csvList(values.tests),
    targets: csvList(values.targets),
    poolSize: values['pool-size'] ? Number(values['pool-size']) : undefined,
    warmupSeconds: values.warmup ? Number(values.warmup) : undefined,
    database: values.database,
    reinit: values.reinit,
    dropDb: values['drop-db'],
    pgUrl: values['pg-url'],
    idleWait: !values['no-idle-wait'],
    commandLine: `node bench/scenarios/pgbench.mjs ${process.argv.slice(2).join(' ')}`.trim(),
  })
  const files = writeReport(values.out ?? join(repoRootDefault, 'bench/results'), result)
  process.stdout.write(files.markdown)
  log(`wrote ${files.md}, ${files.json} and ${files.svg}`)
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch(async (err) => {
    console.error(err)
    await cleanupAll()
    process.exit(1)
  })
}
