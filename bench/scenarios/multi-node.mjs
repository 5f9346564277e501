#!/usr/bin/env node
// Scenario "multi-node" (issue 5): several Sluice nodes sharing one Redis (README, "Several nodes:
// the Redis tier").
//
// Set-up: a redis-server on a spare port (`--save "" --appendonly no`), a small database
// `sluice_multinode` (the e2e schema, 1,000 users), and four Sluice processes on the same origin:
//   A  --redis <url>                        (eventual; the node that invalidates / writes)
//   B  --redis <url>                        (eventual; the node that is polled)
//   S  --redis <url> --consistency strict   (strict)
//   L  no --redis                           (L1 only)
// A real Prisma 7.10 client (withAccelerate) sends one cached query through node L while
// globalThis.fetch is wrapped (bench/lib/capture.mjs): `user.findUnique({ where: { id: 42 },
// cacheStrategy: { ttl: 60, tags: ['t'] } })` — the exact POST /query (headers `cache-control:
// max-age=60`, `accelerate-cache-tags: t`, JSON body) is then sent raw to any node.
//
// (a) Invalidation propagation, ~200 times each:
//     tag     B answers the query from its cache (`accelerate-cache-status: ttl`); A gets
//             `POST /invalidate {"tags":["t"]}` while B is asked again and again (one request at a
//             time, keep-alive, concurrently with A's call) until it answers `miss`. Measured: start
//             of A's call → sending of B's first request answered `miss` (upper bound of the
//             propagation), the same from A's 200, and how many stale hits B served after A's 200.
//     write   the same, but the invalidation is a write through A's Postgres wire door
//             (`UPDATE "User" SET "updatedAt" = "updatedAt" WHERE id = 42` with node-postgres):
//             (write-aware invalidation; A's ack = the UPDATE's result).
//     strict  tag invalidation on A, polling the strict node S.
//     Goal: p99 ≤ 50 ms (eventual).
// (b) Hit throughput, L1 only vs with L2: wrk (bench/lib/replay.lua, 2 threads, 16 connections)
//     replays the captured cached /query against L, A (eventual) and S (strict), interleaved with
//     rotating order; req/s, p50/p99, Sluice CPU µs/request (and redis-server's).
// (c) Cross-node L2 hits: for fresh keys (ids 101…), a miss on A then the same query on B: B's
//     status (expected `ttl` from Redis, not `miss`) and latency, next to an L1 hit on B.
//
//   node bench/scenarios/multi-node.mjs [--quick] [--iterations 200] [--duration 5] [--repetitions 3]
//
// Prints the Markdown report on stdout and writes bench/results/multi-node.{md,json}.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { multiNodeChart } from '../lib/charts.mjs'
import pg from 'pg'
import { describeMachine, processCpuSeconds, startCpuMeter, topProcesses, waitForIdle } from '../lib/proc.mjs'
import { percentile, round } from '../lib/stats.mjs'
import { startSluiceProcess } from '../lib/sluice-process.mjs'
import { loadPrismaClient } from '../lib/prisma-clients.mjs'
import { captureRequests, theQuery } from '../lib/capture.mjs'
import { cleanupAll, commandVersion, ensureAptCommand, installCleanupHandlers, onCleanup, startRedis, trackPid, writeChartedReport } from '../lib/standalone.mjs'

export const name = 'multi-node'
export const description = 'two+ Sluice nodes on one Redis: invalidation propagation between nodes, hit throughput L1-only vs L2 (eventual, strict)'

const repoRootDefault = join(dirname(fileURLToPath(import.meta.url)), '../..')

export const GOALS = { propagationP99Ms: 50 }

export const NODE_LABELS = {
  L: 'L1 only (no --redis)',
  A: '--redis (eventual)',
  S: '--redis --consistency strict',
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
    database: options.database ?? 'sluice_multinode',
    keepDb: !!options.keepDb,
    iterations: options.iterations ?? (quick ? 50 : 200),
    modes: options.modes ?? ['tag', 'write', 'strict'],
    durationSeconds: options.durationSeconds ?? (quick ? 2 : 5),
    repetitions: options.repetitions ?? (quick ? 1 : 3),
    connections: options.connections ?? 16,
    wrkThreads: options.wrkThreads ?? 2,
    crossKeys: options.crossKeys ?? (quick ? 30 : 100),
    poolSize: options.poolSize ?? 4,
    pollTimeoutMs: options.pollTimeoutMs ?? 2000,
    warmupIterations: options.warmupIterations ?? 5,
    noiseThreshold: options.noiseThreshold ?? 0.1,
    maxRetries: options.maxRetries ?? (quick ? 0 : 1),
    idleWait: options.idleWait ?? true,
    idleMaxWait: options.idleMaxWait ?? (quick ? 10 : 30),
    log: options.log ?? log,
  }
}

// ---- HTTP: one keep-alive connection per node ---------------------------------------------------------

function makeClient(baseUrl) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const u = new URL(baseUrl)
  return {
    request(method, path, headers, body) {
      return new Promise((resolve, reject) => {
        const t0 = performance.now()
        const req = http.request({ host: u.hostname, port: u.port, method, path, headers, agent }, (res) => {
          const chunks = []
          res.on('data', (c) => chunks.push(c))
          res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString(), t0, t1: performance.now() }))
          res.on('error', reject)
        })
        req.on('error', reject)
        req.end(body)
      })
    },
    close() {
      agent.destroy()
    },
  }
}

function summarize(values) {
  const s = Float64Array.from(values).sort()
  return {
    n: s.length,
    p50: round(percentile(s, 50), 3),
    p90: round(percentile(s, 90), 3),
    p99: round(percentile(s, 99), 3),
    max: s.length ? round(s[s.length - 1], 3) : null,
    mean: s.length ? round(s.reduce((a, b) => a + b, 0) / s.length, 3) : null,
  }
}

// ---- wrk -------------------------------------------------------------------------------------------------

function runWrk({ url, luaPath, headersFile, bodyFile, threads, connections, seconds }) {
  const args = ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--timeout', '5s', '--latency', '-s', luaPath, url]
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, { env: { ...process.env, REPLAY_METHOD: 'POST', REPLAY_HEADERS: headersFile, REPLAY_BODY: bodyFile }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('error', reject)
    child.on('exit', (code) => {
      const m = /^WRK_JSON (.*)$/m.exec(out)
      if (code !== 0 || !m) return reject(new Error(`wrk failed (exit ${code}): ${err || out}`))
      resolve({ ...JSON.parse(m[1]), non2xx: Number(/Non-2xx or 3xx responses:\s*(\d+)/.exec(out)?.[1] ?? 0), command: `wrk ${args.join(' ')}` })
    })
  })
}

// ---- database ----------------------------------------------------------------------------------------------

function dbUrl(pgUrl, database) {
  const u = new URL(pgUrl)
  u.pathname = `/${database}`
  return u.toString()
}

async function withClient(url, fn) {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    return await fn(c)
  } finally {
    await c.end()
  }
}

async function createDatabase(o) {
  if (!/^[a-z_][a-z0-9_]*$/.test(o.database)) throw new Error(`unsafe database name ${o.database}`)
  await withClient(o.pgUrl, async (c) => {
    await c.query(`DROP DATABASE IF EXISTS ${o.database} WITH (FORCE)`)
    await c.query(`CREATE DATABASE ${o.database}`)
  })
  await withClient(dbUrl(o.pgUrl, o.database), async (c) => {
    await c.query(readFileSync(join(o.repoRoot, 'packages/sluice/test/e2e/prisma/schema.sql'), 'utf8'))
    await c.query(`INSERT INTO "User" (id, email, name, "updatedAt") SELECT i, 'user' || i || '@bench.example.com', 'User Number ' || i, timestamp '2025-06-01' + i * interval '11 minutes' FROM generate_series(1, 1000) AS i`)
    await c.query('ANALYZE')
  })
}

// ---- the run -------------------------------------------------------------------------------------------------

export async function run(options = {}) {
  const o = resolveOptions(options)
  const L = o.log
  const notes = []
  // the tools this scenario needs, installed from the system's packages when missing (root only)
  for (const [command, pkg] of [['redis-server', 'redis-server'], ['wrk', 'wrk']]) {
    const t = ensureAptCommand({ command, pkg, log: L })
    if (t.note) notes.push(t.note)
    if (!t.path) throw new Error(`${command} is not installed (apt-get install -y ${pkg})`)
  }
  const machine = describeMachine()
  const startedAt = new Date()
  const tmp = mkdtempSync(join(os.tmpdir(), 'sluice-bench-multinode-'))
  const removeTmp = onCleanup(() => rmSync(tmp, { recursive: true, force: true }))
  const nodes = {}
  const clients = []
  let redis
  let wire
  try {
    await createDatabase(o)
    L(`database ${o.database}: e2e schema, 1,000 users`)
    const lib = await loadPrismaClient(o.repoRoot, '7.10')
    redis = await startRedis()
    L(`redis-server on port ${redis.port} (pid ${redis.pid})`)
    const origin = `${dbUrl(o.pgUrl, o.database)}?connection_limit=${o.poolSize}`
    const nodeArgs = {
      A: ['--redis', redis.url],
      B: ['--redis', redis.url],
      S: ['--redis', redis.url, '--consistency', 'strict'],
      L: [],
    }
    const commands = {}
    for (const [n, extra] of Object.entries(nodeArgs)) {
      const s = await startSluiceProcess({ repoRoot: o.repoRoot, origin, extraArgs: extra })
      const untrack = trackPid(s.pid)
      const pgPort = Number(/Postgres wire door on (?:port |[^\s]+:)(\d+)/.exec(s.banner)?.[1]) || undefined
      nodes[n] = { ...s, pgPort, stop: onCleanup(async () => { await s.stop(); untrack() }) }
      commands[n] = `node packages/sluice/dist/cli/main.js start --origin "${origin}" --http-port 0 --pg-port 0 --host 127.0.0.1 --api-key bench --log-level silent${extra.length ? ' ' + extra.join(' ') : ''}`
      L(`node ${n}: ${s.httpUrl} (pid ${s.pid}${pgPort ? `, wire door ${pgPort}` : ''}) ${extra.join(' ')}`)
    }
    const versions = {
      sluice: JSON.parse(readFileSync(join(o.repoRoot, 'packages/sluice/package.json'), 'utf8')).version,
      redis: commandVersion('redis-server', ['--version']),
      wrk: machine.wrk,
      prismaClient: lib.versions.client,
    }

    // 1. capture the cached query
    const seen = await captureRequests(lib, nodes.L.accelerateUrl, (prisma) => prisma.user.findUnique({ where: { id: 42 }, cacheStrategy: { ttl: 60, tags: ['t'] } }))
    const cap = theQuery(seen)
    if (cap.status !== 200) throw new Error(`captured query answered ${cap.status}: ${cap.responseBody}`)
    const headers = Object.fromEntries(cap.headers.map(([k, v]) => [k.toLowerCase(), v]))
    const body = cap.body
    if (!/"%1":42\b/.test(body)) throw new Error('captured body does not carry the id as "%1":42')
    const bodyFor = (id) => body.replace(/"%1":42\b/, `"%1":${id}`)
    const headersFile = join(tmp, 'query.headers')
    const bodyFile = join(tmp, 'query.body')
    writeFileSync(headersFile, Object.entries(headers).map(([k, v]) => `${k}: ${v}`).join('\n') + '\n')
    writeFileSync(bodyFile, body)
    const captured = { headers, body, bodyBytes: Buffer.byteLength(body), responseBytes: cap.responseBody.length }
    for (const n of Object.keys(nodes)) {
      nodes[n].http = makeClient(nodes[n].httpUrl)
      clients.push(nodes[n].http)
    }
    const query = (n, b = body) => nodes[n].http.request('POST', '/query', { ...headers, 'content-length': Buffer.byteLength(b) }, b)
    const invalidate = (n, tags) => {
      const b = JSON.stringify({ tags })
      return nodes[n].http.request('POST', '/invalidate', { authorization: 'Bearer bench', 'content-type': 'application/json', 'content-length': Buffer.byteLength(b) }, b)
    }
    const status = (r) => r.headers['accelerate-cache-status']
    // all nodes answer the query, and a second time from the cache
    for (const n of Object.keys(nodes)) {
      for (let i = 0; i < 2; i++) {
        const r = await query(n)
        if (r.status !== 200) throw new Error(`node ${n} answered ${r.status}: ${r.body.slice(0, 300)}`)
        nodes[n].lastStatus = status(r)
      }
    }
    L(`cache status after 2 requests: ${Object.keys(nodes).map((n) => `${n}=${nodes[n].lastStatus}`).join(' ')}`)
    wire = new pg.Client({ connectionString: `postgresql://postgres@127.0.0.1:${nodes.A.pgPort}/${o.database}` })
    await wire.connect()

    if (o.idleWait) {
      const idle = await waitForIdle({ maxWait: o.idleMaxWait, log: L })
      notes.push(idle.idle ? `machine idle before start (${idle.busyCores.toFixed(2)} cores busy)` : `machine still busy after ${idle.waitedSeconds.toFixed(0)} s (${idle.busyCores.toFixed(2)} cores in use by others): ${topProcesses(3).join(' | ')}`)
    }

    // 2. (a) propagation
    const propagation = {}
    for (const mode of o.modes) {
      const reader = mode === 'strict' ? 'S' : 'B'
      const samples = [] // start of A's call → sending of the reader's first request answered `miss`
      const fromAck = [] // A's ack → the same (negative: the reader had it before A answered)
      const answered = [] // A's ack → that `miss` answer received (includes the reader's refill from Postgres)
      const missMs = []
      const staleHits = []
      const actMs = []
      const unexpected = []
      let timeouts = 0
      const busyBefore = machineBusy()
      // a few unrecorded iterations first: the reader's first miss opens its first Postgres connection
      for (let i = -o.warmupIterations; i < o.iterations; i++) {
        // the reader has the entry (a hit), else fill it
        let warm
        for (let k = 0; k < 5; k++) {
          warm = await query(reader)
          if (status(warm) === 'ttl') break
        }
        if (status(warm) !== 'ttl') {
          unexpected.push(`iteration ${i}: reader ${reader} never answered ttl before the invalidation (last: ${status(warm)})`)
          continue
        }
        // the action on A and the polling of the reader run at the same time, on their own connections
        const act = (async () => {
          if (mode === 'write') {
            const a = performance.now()
            await wire.query('UPDATE "User" SET "updatedAt" = "updatedAt" WHERE id = 42')
            return { t0: a, t1: performance.now() }
          }
          const r = await invalidate('A', ['t'])
          if (r.status !== 200) throw new Error(`POST /invalidate on A answered ${r.status}: ${r.body}`)
          return { t0: r.t0, t1: r.t1 }
        })()
        act.catch(() => {})
        const polls = []
        let miss
        const pollStart = performance.now()
        for (;;) {
          const r = await query(reader)
          polls.push(r)
          const st = status(r)
          if (st === 'miss') {
            miss = r
            break
          }
          if (st !== 'ttl') unexpected.push(`iteration ${i}: reader answered ${r.status} ${st}`)
          if (r.t1 - pollStart > o.pollTimeoutMs) break
        }
        const { t0, t1 } = await act
        actMs.push(t1 - t0)
        const stale = polls.filter((p) => status(p) === 'ttl' && p.t0 > t1).length
        if (i < 0) continue
        if (!miss) timeouts++
        else {
          samples.push(Math.max(0, miss.t0 - t0))
          fromAck.push(miss.t0 - t1)
          answered.push(miss.t1 - t1)
          missMs.push(miss.t1 - miss.t0)
        }
        staleHits.push(stale)
        // a short, varying pause so iterations do not fall in step with anything
        await new Promise((r) => setTimeout(r, 2 + (i % 5)))
      }
      const busy = machineBusy(busyBefore)
      const s = summarize(samples)
      const withStale = staleHits.filter((x) => x > 0).length
      propagation[mode] = {
        reader,
        iterations: o.iterations,
        samples: samples.map((v) => round(v, 3)),
        ms: s,
        fromAckMs: summarize(fromAck),
        fromAckSamples: fromAck.map((v) => round(v, 3)),
        answeredMs: summarize(answered),
        missRequestMs: summarize(missMs),
        missRequestSamples: missMs.map((v) => round(v, 3)),
        actionMs: summarize(actMs),
        staleHitsAfterAck: { iterationsWithAny: withStale, max: Math.max(0, ...staleHits), total: staleHits.reduce((a, b) => a + b, 0) },
        timeouts,
        unexpected: unexpected.slice(0, 10),
        unexpectedCount: unexpected.length,
        machineBusyShare: busy,
        goalMet: mode === 'strict' ? null : s.p99 !== null && s.p99 <= GOALS.propagationP99Ms && timeouts === 0,
      }
      L(`(a) ${mode.padEnd(6)} A → ${reader}: applied by p50 ${s.p50} ms  p99 ${s.p99} ms  max ${s.max} ms (from A's ack: p50 ${propagation[mode].fromAckMs.p50} p99 ${propagation[mode].fromAckMs.p99}); miss answered p50 ${propagation[mode].answeredMs.p50} ms p99 ${propagation[mode].answeredMs.p99} ms (${samples.length} samples, ${timeouts} timeouts); stale hits after A's ack in ${withStale} of ${o.iterations} iterations; A's ${mode === 'write' ? 'UPDATE' : '/invalidate'} p50 ${propagation[mode].actionMs.p50} ms`)
    }

    // 3. (c) cross-node L2 hits: a miss on A fills Redis, then B asks for the same key
    const cross = { statuses: {}, bLatencyMs: [], aMissMs: [], bL1HitMs: [] }
    for (let i = 0; i < o.crossKeys; i++) {
      const b = bodyFor(101 + i)
      const ra = await query('A', b)
      cross.aMissMs.push(ra.t1 - ra.t0)
      const rb = await query('B', b)
      const st = `${status(ra)}→${status(rb)}`
      cross.statuses[st] = (cross.statuses[st] ?? 0) + 1
      cross.bLatencyMs.push(rb.t1 - rb.t0)
      const rb2 = await query('B', b)
      if (status(rb2) === 'ttl') cross.bL1HitMs.push(rb2.t1 - rb2.t0)
    }
    const crossSummary = {
      keys: o.crossKeys,
      statuses: cross.statuses,
      aMissMs: summarize(cross.aMissMs),
      bFromL2Ms: summarize(cross.bLatencyMs),
      bL1HitMs: summarize(cross.bL1HitMs),
    }
    L(`(c) cross-node: ${JSON.stringify(cross.statuses)}; B from L2 p50 ${crossSummary.bFromL2Ms.p50} ms vs L1 hit p50 ${crossSummary.bL1HitMs.p50} ms`)

    // 4. (b) hit throughput
    const luaPath = join(o.repoRoot, 'bench/lib/replay.lua')
    const targets = ['L', 'A', 'S']
    for (const n of targets) {
      await query(n)
      const r = await query(n)
      nodes[n].replayStatus = status(r)
      await runWrk({ url: `${nodes[n].httpUrl}/query`, luaPath, headersFile, bodyFile, threads: o.wrkThreads, connections: o.connections, seconds: 1 })
    }
    const blocks = []
    const discarded = []
    for (let rep = 0; rep < o.repetitions; rep++) {
      const order = targets.map((_, i) => targets[(i + rep) % targets.length])
      let best
      for (let attempt = 1; ; attempt++) {
        const cell = []
        for (const [position, n] of order.entries()) {
          const redisBefore = processCpuSeconds(redis.pid) ?? 0
          const meter = await startCpuMeter({ serverPid: nodes[n].pid })
          const w = await runWrk({ url: `${nodes[n].httpUrl}/query`, luaPath, headersFile, bodyFile, threads: o.wrkThreads, connections: o.connections, seconds: o.durationSeconds })
          const cpu = await meter.stop()
          const redisCpu = (processCpuSeconds(redis.pid) ?? redisBefore) - redisBefore
          const after = await query(n)
          const seconds = w.duration_us / 1e6
          const per = (v) => round((v / Math.max(1, w.requests)) * 1e6, 1)
          const other = Math.max(0, cpu.other - redisCpu)
          const block = {
            repetition: rep + 1,
            attempt,
            position: position + 1,
            node: n,
            requests: w.requests,
            throughput: round(w.requests / seconds, 1),
            latencyMs: { p50: w.latency_us.p50 / 1000, p90: w.latency_us.p90 / 1000, p99: w.latency_us.p99 / 1000, max: w.latency_us.max / 1000 },
            errors: { ...w.errors, non2xx: w.non2xx },
            statusAfter: status(after),
            cpuSeconds: { wall: round(cpu.wallSeconds, 3), sluice: round(cpu.server, 3), redis: round(redisCpu, 3), wrk: round(cpu.children, 3), irq: round(cpu.irq, 3), other: round(other, 3) },
            sluiceCpuUsPerRequest: per(cpu.server),
            redisCpuUsPerRequest: per(redisCpu),
            wrkCpuUsPerRequest: per(cpu.children),
            otherCpuShare: round(other / (cpu.wallSeconds * cpu.cores), 3),
            command: w.command,
          }
          const errs = Object.values(block.errors).reduce((a, b) => a + b, 0)
          L(`(b) rep ${rep + 1}${attempt > 1 ? `.${attempt}` : '  '} ${n} ${NODE_LABELS[n].padEnd(30)} ${String(Math.round(block.throughput)).padStart(6)} req/s  p50 ${block.latencyMs.p50.toFixed(3)} ms  p99 ${block.latencyMs.p99.toFixed(3)} ms  sluice ${block.sluiceCpuUsPerRequest} µs/req  redis ${block.redisCpuUsPerRequest} µs/req  other ${(block.otherCpuShare * 100).toFixed(0)}%${errs ? `  ERRORS ${JSON.stringify(block.errors)}` : ''}`)
          cell.push(block)
        }
        const noise = Math.max(...cell.map((b) => b.otherCpuShare))
        if (!best || noise < best.noise) {
          if (best) discarded.push(...best.cell)
          best = { cell, noise }
        } else discarded.push(...cell)
        if (best.noise <= o.noiseThreshold || attempt > o.maxRetries) break
        L(`  … ${(noise * 100).toFixed(0)}% of the machine used by other processes: waiting for quiet, then measuring this repetition again`)
        await waitForIdle({ maxWait: Math.min(15, o.idleMaxWait) })
      }
      blocks.push(...best.cell)
    }
    const throughput = targets.map((n) => {
      const bs = blocks.filter((b) => b.node === n)
      const req = bs.reduce((a, b) => a + b.requests, 0)
      const sum = (k) => bs.reduce((a, b) => a + b.cpuSeconds[k], 0)
      const med = (vals) => [...vals].sort((a, b) => a - b)[Math.floor((vals.length - 1) / 2)]
      const tp = bs.map((b) => b.throughput)
      return {
        node: n,
        label: NODE_LABELS[n],
        statusBefore: nodes[n].replayStatus,
        statusesAfter: [...new Set(bs.map((b) => b.statusAfter))],
        throughputMean: round(tp.reduce((a, b) => a + b, 0) / tp.length, 0),
        throughputRuns: tp.map((v) => Math.round(v)),
        latencyMs: { p50: med(bs.map((b) => b.latencyMs.p50)), p99: med(bs.map((b) => b.latencyMs.p99)) },
        errors: bs.reduce((a, b) => a + Object.values(b.errors).reduce((x, y) => x + y, 0), 0),
        sluiceCpuUsPerRequest: round((sum('sluice') / req) * 1e6, 1),
        redisCpuUsPerRequest: round((sum('redis') / req) * 1e6, 1),
        wrkCpuUsPerRequest: round((sum('wrk') / req) * 1e6, 1),
        otherCpuShare: round(sum('other') / bs.reduce((a, b) => a + b.cpuSeconds.wall * machine.logicalCpus, 0), 3),
      }
    })
    const l1 = throughput.find((t) => t.node === 'L')
    for (const t of throughput) t.vsL1Only = round(t.throughputMean / l1.throughputMean, 3)

    for (const n of Object.keys(nodes)) if (nodes[n].stderr?.trim()) notes.push(`node ${n} stderr: ${nodes[n].stderr.trim().slice(0, 500)}`)
    return {
      scenario: name,
      description,
      startedAt: startedAt.toISOString(),
      machine,
      versions,
      settings: {
        quick: o.quick,
        database: o.database,
        iterations: o.iterations,
        modes: o.modes,
        durationSeconds: o.durationSeconds,
        repetitions: o.repetitions,
        connections: o.connections,
        wrkThreads: o.wrkThreads,
        crossKeys: o.crossKeys,
        poolSize: o.poolSize,
        pollTimeoutMs: o.pollTimeoutMs,
        warmupIterations: o.warmupIterations,
        redisCommand: redis.command,
        commands,
        query: "prisma.user.findUnique({ where: { id: 42 }, cacheStrategy: { ttl: 60, tags: ['t'] } })",
        manualReplay: `REPLAY_METHOD=POST REPLAY_HEADERS=query.headers REPLAY_BODY=query.body wrk -t ${o.wrkThreads} -c ${o.connections} -d ${o.durationSeconds}s --latency -s bench/lib/replay.lua http://127.0.0.1:<node port>/query`,
        commandLine: options.commandLine,
      },
      notes,
      captured,
      propagation,
      crossNode: crossSummary,
      throughput,
      blocks,
      discardedBlocks: discarded,
    }
  } finally {
    for (const c of clients) c.close()
    await wire?.end().catch(() => {})
    for (const n of ['A', 'B', 'S', 'L']) await nodes[n]?.stop()
    await redis?.stop()
    if (!o.keepDb) await withClient(o.pgUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${o.database} WITH (FORCE)`)).catch(() => {})
    await removeTmp()
  }
}

/** Share of the machine's CPU busy since `before` (or a snapshot). */
function machineBusy(before) {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/).slice(1).map(Number)
  const busy = line[0] + line[1] + line[2] + line[5] + line[6] + line[7]
  const total = busy + line[3] + line[4]
  if (!before) return { busy, total }
  return round((busy - before.busy) / Math.max(1, total - before.total), 3)
}

// ---- Markdown --------------------------------------------------------------------------------------------

const ms = (v) => (v === null || v === undefined ? '–' : Math.abs(v) < 1 ? `${Math.round(v * 1000)} µs` : `${v.toFixed(2)} ms`)
const fmt = (v, d = 0) => (v === null || v === undefined || Number.isNaN(v) ? '–' : Number(v).toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }))
const mark = (met) => (met === null || met === undefined ? '–' : met ? '✅ met' : '❌ not met')

export function renderMarkdown(result, { chart } = {}) {
  const s = result.settings
  const lines = []
  lines.push('# multi-node: Sluice nodes sharing Redis')
  lines.push('')
  lines.push(`${result.startedAt} · ${result.machine.cpuModel}, ${result.machine.logicalCpus} CPUs, ${result.machine.os}, Node ${result.machine.node} · Sluice ${result.versions.sluice}, ${result.versions.redis?.replace(/ sha=.*$/, '')}, ${result.versions.wrk ?? 'wrk'}, Prisma client ${result.versions.prismaClient}` +
    (s.quick ? ' · **--quick: plumbing check, numbers not meaningful**' : ''))
  lines.push('')
  if (chart) lines.push(`![${name} chart](${chart})`, '')
  lines.push(`Four Sluice processes on one origin (database \`${s.database}\`, \`connection_limit=${s.poolSize}\`) and one \`${s.redisCommand.replace(/--port \d+/, '--port <spare>').replace(/--dir \S+/, '--dir <tmp>')}\`: ` +
    `**A**, **B** \`--redis\` (eventual), **S** \`--redis --consistency strict\`, **L** without \`--redis\`. The query is \`${s.query}\`, captured from a real Prisma client (withAccelerate) and sent raw ` +
    `(\`cache-control: max-age=60\`, \`accelerate-cache-tags: t\`, ${result.captured.bodyBytes} B body, ${result.captured.responseBytes} B answer).`)
  lines.push('')
  for (const n of result.notes) lines.push(`* ${n}`)
  if (result.notes.length) lines.push('')

  lines.push('## (a) Invalidation propagation between nodes')
  lines.push('')
  lines.push(`Per iteration: the reader node answers the query from its cache (\`accelerate-cache-status: ttl\`); then the action is sent to A and, at the same time on its own keep-alive connection, the reader is asked again and again (one request at a time) until it answers \`miss\`. ` +
    `**Applied by** = from the start of A's call to the sending of the reader's first request answered \`miss\` (the reader had applied the invalidation by then: an upper bound on the propagation, with the resolution of one hit round trip); the goal is judged on its p99. **From A's ack** = the same point measured from A's acknowledgement (200, or the UPDATE's result): negative when the reader dropped the entry before A answered. ` +
    `**Miss answered** = from A's ack to that \`miss\` answer received (adds the reader's refill from Postgres). "Stale hits after ack" counts \`ttl\` answers to requests sent after A's acknowledgement. ${s.iterations} iterations each, after ${s.warmupIterations ?? 0} unrecorded ones (the reader's first miss opens its first Postgres connection); poll timeout ${s.pollTimeoutMs} ms.`)
  lines.push('')
  lines.push('| action on A | reader | applied by p50 | p90 | p99 | max | from A\'s ack p50 / p99 | miss answered p50 / p99 | iterations with stale hits after ack (max per iteration) | timeouts | action on A p50 / p99 | goal p99 ≤ 50 ms |')
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|---|')
  const actionLabel = { tag: '`POST /invalidate {"tags":["t"]}`', write: '`UPDATE "User" …` through A\'s wire door', strict: '`POST /invalidate {"tags":["t"]}`' }
  for (const [mode, p] of Object.entries(result.propagation)) {
    lines.push(`| ${actionLabel[mode]} | ${p.reader} (${p.reader === 'S' ? 'strict' : 'eventual'}) | **${ms(p.ms.p50)}** | ${ms(p.ms.p90)} | **${ms(p.ms.p99)}** | ${ms(p.ms.max)} | ${ms(p.fromAckMs.p50)} / ${ms(p.fromAckMs.p99)} | ${ms(p.answeredMs.p50)} / ${ms(p.answeredMs.p99)} | ${p.staleHitsAfterAck.iterationsWithAny} of ${p.iterations} (${p.staleHitsAfterAck.max}) | ${p.timeouts} | ${ms(p.actionMs.p50)} / ${ms(p.actionMs.p99)} | ${p.reader === 'S' ? '(strict: n/a)' : mark(p.goalMet)} |`)
  }
  for (const [mode, p] of Object.entries(result.propagation)) if (p.unexpectedCount) lines.push(`\n⚠ ${mode}: ${p.unexpectedCount} unexpected answers, e.g. ${p.unexpected.slice(0, 3).join('; ')}`)
  lines.push('')
  const busy = Object.entries(result.propagation).map(([m, p]) => `${m} ${(p.machineBusyShare * 100).toFixed(0)}%`).join(', ')
  lines.push(`Machine CPU busy during these loops (all processes, both cores): ${busy}.`)
  lines.push('')

  lines.push('## (b) Hit throughput: L1 only vs with the Redis tier')
  lines.push('')
  lines.push(`wrk replays the captured cached /query (\`bench/lib/replay.lua\`, ${s.wrkThreads} threads, ${s.connections} connections, ${s.durationSeconds} s × ${s.repetitions} repetitions, nodes interleaved with rotating order); ` +
    'every answer is a cache hit (status before and after each run in the table). p50/p99: median over the repetitions of wrk\'s percentiles. CPU from `/proc/<pid>/stat`.')
  lines.push('')
  lines.push('| node | status before / after | req/s (runs) | × L1 only | p50 | p99 | Sluice CPU µs/req | redis CPU µs/req | wrk CPU µs/req | errors | other |')
  lines.push('|---|---|---|---|---|---|---|---|---|---|---|')
  for (const t of result.throughput) {
    lines.push(`| ${t.node}: ${t.label} | ${t.statusBefore} / ${t.statusesAfter.join(',')} | **${fmt(t.throughputMean)}** (${t.throughputRuns.map((v) => fmt(v)).join(' / ')}) | ${t.vsL1Only.toFixed(2)}× | ${ms(t.latencyMs.p50)} | ${ms(t.latencyMs.p99)} | ${fmt(t.sluiceCpuUsPerRequest, 1)} | ${fmt(t.redisCpuUsPerRequest, 1)} | ${fmt(t.wrkCpuUsPerRequest, 1)} | ${t.errors} | ${(t.otherCpuShare * 100).toFixed(0)}%${t.otherCpuShare > 0.05 ? ' ⚠' : ''} |`)
  }
  lines.push('')

  const c = result.crossNode
  lines.push('## (c) A miss on A is a hit on B')
  lines.push('')
  lines.push(`${c.keys} fresh keys (ids 101…): the query on A (a miss, fills L1 of A and Redis), then on B, then on B again. Status pairs A→B: ${Object.entries(c.statuses).map(([k, v]) => `\`${k}\` × ${v}`).join(', ')}.`)
  lines.push('')
  lines.push('| request | p50 | p99 | max |')
  lines.push('|---|---|---|---|')
  lines.push(`| A, miss (Postgres) | ${ms(c.aMissMs.p50)} | ${ms(c.aMissMs.p99)} | ${ms(c.aMissMs.max)} |`)
  lines.push(`| B, first time (from Redis) | ${ms(c.bFromL2Ms.p50)} | ${ms(c.bFromL2Ms.p99)} | ${ms(c.bFromL2Ms.max)} |`)
  lines.push(`| B, second time (L1 hit) | ${ms(c.bL1HitMs.p50)} | ${ms(c.bL1HitMs.p99)} | ${ms(c.bL1HitMs.max)} |`)
  lines.push('')
  lines.push('Latencies in (a) and (c) are measured in the benchmark process around one `node:http` request on a keep-alive connection.')
  lines.push('')

  lines.push('## How it was run')
  lines.push('')
  if (s.commandLine) lines.push(`\`${s.commandLine}\``)
  lines.push('')
  lines.push('```sh')
  for (const [n, cmd] of Object.entries(s.commands)) lines.push(`# node ${n}\n${cmd}`)
  lines.push(`# (b)\n${s.manualReplay}`)
  lines.push('```')
  if (result.discardedBlocks?.length) lines.push(`\n${result.discardedBlocks.length} wrk block(s) measured again because the machine was busy with other processes (the quieter attempt is kept; all are in the JSON).`)
  lines.push('')
  return lines.join('\n')
}

/** Writes <outDir>/{name}.md, .json and .svg (the chart, embedded in the Markdown). */
export function writeReport(outDir, result) {
  return writeChartedReport(outDir, name, result, multiNodeChart(result), renderMarkdown)
}

// ---- CLI ---------------------------------------------------------------------------------------------------

const HELP = `Usage: node bench/scenarios/multi-node.mjs [options]

  --quick                 50 iterations, 2 s wrk blocks, 1 repetition
  --iterations <n>        propagation measurements per mode (default 200)
  --modes <list>          tag,write,strict (default all)
  --duration <s>          seconds per wrk block (default 5)
  --repetitions <n>       interleaved wrk repetitions (default 3)
  --connections <n>       wrk connections (default 16)
  --database <name>       default sluice_multinode (dropped and recreated; dropped at the end)
  --keep-db               keep the database
  --pg-url <url>          admin URL (default postgresql://postgres@127.0.0.1:5432/postgres)
  --no-idle-wait          do not wait for a quiet machine
  --out <dir>             default bench/results
  --render <file.json>    re-render the Markdown of an earlier run`

async function main() {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean' },
      iterations: { type: 'string' },
      modes: { type: 'string' },
      duration: { type: 'string' },
      repetitions: { type: 'string' },
      connections: { type: 'string' },
      database: { type: 'string' },
      'keep-db': { type: 'boolean' },
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
    iterations: values.iterations ? Number(values.iterations) : undefined,
    modes: values.modes?.split(',').map((s) => s.trim()).filter(Boolean),
    durationSeconds: values.duration ? Number(values.duration) : undefined,
    repetitions: values.repetitions ? Number(values.repetitions) : undefined,
    connections: values.connections ? Number(values.connections) : undefined,
    database: values.database,
    keepDb: values['keep-db'],
    pgUrl: values['pg-url'],
    idleWait: !values['no-idle-wait'],
    commandLine: `node bench/scenarios/multi-node.mjs ${process.argv.slice(2).join(' ')}`.trim(),
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
