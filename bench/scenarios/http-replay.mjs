// Scenario "http-replay": raw HTTP throughput of Sluice, without a Prisma client in the loop.
//
// 1. A real Prisma 7.10 client (with withAccelerate) runs one query through Sluice while
//    globalThis.fetch is wrapped: the exact URL, headers and JSON body it sends are recorded.
// 2. wrk replays that request on every connection (bench/lib/replay.lua; default 2 threads,
//    16 connections) against Sluice, interleaved with reference targets:
//      findUnique / findMany100  the captured POST /query (no cacheStrategy: each one hits the database)
//      findUniqueHit             the captured findUnique + `cache-control: max-age=60` (cache hits)
//      health                    GET /health on the same Sluice (HTTP + routing, no query)
//      floor                     a bare node:http server answering the captured findUnique response
//                                (the most any Node HTTP server can do here; bench/lib/floor-server.mjs)
// Extra request headers (`--header "cache-control: max-age=60"`) are added to the replayed /query
// requests (replacing a captured header of the same name): that is how a cache-hit run is made.
import { spawn } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { QUERIES } from '../lib/workloads.mjs'
import { round } from '../lib/stats.mjs'
import { startCpuMeter, waitForIdle } from '../lib/proc.mjs'
import { captureRequests, theQuery } from '../lib/capture.mjs'
import { startChildServer } from '../lib/child-server.mjs'

export const name = 'http-replay'
export const description = 'wrk replays a captured Prisma /query request against Sluice (plus /health and a bare node:http floor)'

export const REPLAY_TARGETS = ['findUnique', 'findUniqueHit', 'findMany100', 'health', 'floor']

function applyExtraHeaders(headers, extra) {
  const out = headers.filter(([n]) => !extra.some(([e]) => e.toLowerCase() === n.toLowerCase()))
  return [...out, ...extra]
}

function parseHeader(h) {
  const i = h.indexOf(':')
  if (i <= 0) throw new Error(`--header expects "Name: value", got "${h}"`)
  return [h.slice(0, i).trim(), h.slice(i + 1).trim()]
}

function runWrk({ url, luaPath, method, headersFile, bodyFile, threads, connections, seconds, timeoutSeconds = 5 }) {
  const args = ['-t', String(threads), '-c', String(connections), '-d', `${seconds}s`, '--timeout', `${timeoutSeconds}s`, '--latency', '-s', luaPath, url]
  return new Promise((resolve, reject) => {
    const child = spawn('wrk', args, {
      env: { ...process.env, REPLAY_METHOD: method, REPLAY_HEADERS: headersFile ?? '', REPLAY_BODY: bodyFile ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('error', reject)
    child.on('exit', (code) => {
      const m = /^WRK_JSON (.*)$/m.exec(out)
      if (code !== 0 || !m) return reject(new Error(`wrk failed (exit ${code}): ${err || out}`))
      const json = JSON.parse(m[1])
      const non2xx = Number(/Non-2xx or 3xx responses:\s*(\d+)/.exec(out)?.[1] ?? 0)
      resolve({ ...json, non2xx, command: `wrk ${args.join(' ')}`, stdout: out })
    })
  })
}

export async function run(ctx) {
  const { opts, lib, log, repoRoot } = ctx
  const targets = opts.replayTargets
  const extra = opts.headers.map(parseHeader)
  const dir = join(ctx.tmpDir, 'replay')
  mkdirSync(dir, { recursive: true })
  const luaPath = join(repoRoot, 'bench/lib/replay.lua')
  const sluice = await ctx.startSluice(name)
  let floor
  const specs = {}
  const captured = {}
  try {
    // 1. capture the requests
    const writeHeaders = (name, headers) => {
      const file = join(dir, `${name}.headers`)
      writeFileSync(file, `# captured from a real Prisma ${lib.versions.client} client + withAccelerate\n${headers.map(([n, v]) => `${n}: ${v}`).join('\n')}\n`)
      return file
    }
    for (const q of ['findUnique', 'findMany100']) {
      const needed = q === 'findUnique' ? ['findUnique', 'findUniqueHit', 'floor'] : [q]
      if (!needed.some((t) => targets.includes(t))) continue
      const c = theQuery(await captureRequests(lib, sluice.accelerateUrl, (prisma) => QUERIES[q].fixed(prisma)))
      if (c.status !== 200) throw new Error(`http-replay: captured ${q} answered ${c.status}: ${c.responseBody}`)
      const headers = applyExtraHeaders(c.headers, extra)
      const bodyFile = join(dir, `${q}.body`)
      const responseFile = join(dir, `${q}.response.json`)
      writeFileSync(bodyFile, c.body)
      writeFileSync(responseFile, c.responseBody)
      captured[q] = { url: c.url, method: c.method, headers, bodyBytes: Buffer.byteLength(c.body), responseBytes: c.responseBody.length, body: c.body }
      specs[q] = { url: `${sluice.httpUrl}/query`, method: 'POST', headers, body: c.body, headersFile: writeHeaders(q, headers), bodyFile, pid: sluice.pid, responseFile }
    }
    if (targets.includes('findUniqueHit')) {
      // the same request asking for the cache (what issue 3's ≥ 30k req/s target is about)
      const headers = applyExtraHeaders(captured.findUnique.headers, [['cache-control', 'max-age=60']])
      specs.findUniqueHit = { ...specs.findUnique, headers, headersFile: writeHeaders('findUniqueHit', headers) }
    }
    if (targets.includes('health')) specs.health = { url: `${sluice.httpUrl}/health`, method: 'GET', headers: [], pid: sluice.pid }
    if (targets.includes('floor')) {
      floor = await startChildServer(join(repoRoot, 'bench/lib/floor-server.mjs'), [specs.findUnique.responseFile])
      specs.floor = { ...specs.findUnique, url: `${floor.url}/query`, pid: floor.pid }
    }
    // 2. check every target answers 200 with the expected payload size
    for (const t of targets) {
      const s = specs[t]
      // twice: with a cache-control header the first request fills, the second shows the state
      // the replay will see (response header accelerate-cache-status: none | miss | ttl | swr)
      for (let i = 0; i < 2; i++) {
        const res = await fetch(s.url, { method: s.method, headers: s.headers, body: s.body })
        const text = await res.text()
        if (res.status !== 200) throw new Error(`http-replay: target ${t} answered ${res.status}: ${text.slice(0, 300)}`)
        s.responseBytes = Buffer.byteLength(text)
        s.cacheStatus = res.headers.get('accelerate-cache-status') ?? undefined
      }
    }
    // 3. warm-up, then interleaved measured runs
    const wrkBase = { luaPath, threads: opts.wrkThreads, connections: opts.connections }
    for (const t of targets) await runWrk({ ...wrkBase, ...specs[t], seconds: opts.replayWarmupSeconds })
    const blocks = []
    const discarded = []
    let retrySeconds = 0
    const pgPids = () => ctx.monitor.backendPids()
    async function measure(rep, position, t, attempt) {
      const s = specs[t]
      const meter = await startCpuMeter({ serverPid: s.pid, pgPids })
      const w = await runWrk({ ...wrkBase, ...s, seconds: opts.replaySeconds })
      const cpu = await meter.stop()
      const seconds = w.duration_us / 1e6
      const per = (v) => round((v / Math.max(1, w.requests)) * 1e6, 1) // µs per request
      const block = {
        repetition: rep + 1,
        attempt,
        target: t,
        position: position + 1,
        requests: w.requests,
        seconds: round(seconds, 3),
        throughput: round(w.requests / seconds, 1),
        latencyMs: {
          p50: w.latency_us.p50 / 1000,
          p90: w.latency_us.p90 / 1000,
          p99: w.latency_us.p99 / 1000,
          p999: w.latency_us.p99_9 / 1000,
          max: w.latency_us.max / 1000,
          mean: round(w.latency_us.mean / 1000, 4),
        },
        errors: { ...w.errors, non2xx: w.non2xx },
        transferBytes: w.bytes,
        cpuSeconds: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, round(v, 3)])),
        // the server process is Sluice, or the floor server for target "floor"
        serverCpuUsPerRequest: per(cpu.server),
        postgresCpuUsPerRequest: per(cpu.postgres),
        wrkCpuUsPerRequest: per(cpu.children),
        otherCpuShare: round(cpu.other / (cpu.wallSeconds * cpu.cores), 3),
        command: w.command,
      }
      const errs = Object.values(block.errors).reduce((a, b) => a + b, 0)
      log(
        `  rep ${rep + 1}${attempt > 1 ? `.${attempt}` : '  '} ${t.padEnd(13)} ${String(block.throughput.toFixed(0)).padStart(6)} req/s  p50 ${block.latencyMs.p50.toFixed(3)} ms  p99 ${block.latencyMs.p99.toFixed(3)} ms` +
          `  server cpu ${block.serverCpuUsPerRequest} µs/req  other ${(block.otherCpuShare * 100).toFixed(0)}%` +
          (errs ? `  ERRORS ${JSON.stringify(block.errors)}` : ''),
      )
      return block
    }
    for (let rep = 0; rep < opts.repetitions; rep++) {
      const order = targets.map((_, i) => targets[(i + rep) % targets.length])
      // One cell = one repetition of every target; a noisy cell is measured again (see miss-path).
      let best
      for (let attempt = 1; ; attempt++) {
        const t0 = performance.now()
        const cell = []
        for (const [position, t] of order.entries()) cell.push(await measure(rep, position, t, attempt))
        const noise = Math.max(...cell.map((b) => b.otherCpuShare))
        if (attempt > 1) retrySeconds += (performance.now() - t0) / 1000
        if (!best || noise < best.noise) {
          if (best) discarded.push(...best.cell)
          best = { cell, noise }
        } else discarded.push(...cell)
        if (best.noise <= opts.noiseThreshold || attempt > opts.maxRetries || retrySeconds >= opts.retryBudgetSeconds) break
        log(`  … ${(noise * 100).toFixed(0)}% of the machine used by other processes during this repetition: waiting for quiet, then measuring it again`)
        await waitForIdle({ maxWait: 15 })
      }
      blocks.push(...best.cell)
    }
    const summary = targets.map((t) => {
      const bs = blocks.filter((b) => b.target === t)
      const tp = bs.map((b) => b.throughput)
      const req = bs.reduce((a, b) => a + b.requests, 0)
      const sum = (k) => bs.reduce((a, b) => a + b.cpuSeconds[k], 0)
      const med = (vals) => [...vals].sort((a, b) => a - b)[Math.floor((vals.length - 1) / 2)]
      return {
        target: t,
        url: specs[t].url,
        method: specs[t].method,
        responseBytes: specs[t].responseBytes,
        cacheStatus: specs[t].cacheStatus,
        requests: req,
        throughputMean: round(tp.reduce((a, b) => a + b, 0) / tp.length, 1),
        throughputMin: Math.min(...tp),
        throughputMax: Math.max(...tp),
        // wrk reports percentiles per run: the median over the repetitions
        latencyMs: {
          p50: med(bs.map((b) => b.latencyMs.p50)),
          p90: med(bs.map((b) => b.latencyMs.p90)),
          p99: med(bs.map((b) => b.latencyMs.p99)),
          mean: round(bs.reduce((a, b) => a + b.latencyMs.mean * b.requests, 0) / req, 4),
        },
        errors: bs.reduce((a, b) => a + Object.values(b.errors).reduce((x, y) => x + y, 0), 0),
        serverCpuUsPerRequest: round((sum('server') / req) * 1e6, 1),
        postgresCpuUsPerRequest: round((sum('postgres') / req) * 1e6, 1),
        wrkCpuUsPerRequest: round((sum('children') / req) * 1e6, 1),
        otherCpuShare: round(sum('other') / bs.reduce((a, b) => a + b.cpuSeconds.wallSeconds * b.cpuSeconds.cores, 0), 3),
      }
    })
    const floorSummary = summary.find((s) => s.target === 'floor')
    for (const s of summary) if (floorSummary) s.throughputRatioToFloor = round(s.throughputMean / floorSummary.throughputMean, 3)
    return {
      scenario: name,
      description,
      settings: {
        repetitions: opts.repetitions,
        durationSeconds: opts.replaySeconds,
        warmupSeconds: opts.replayWarmupSeconds,
        wrkThreads: opts.wrkThreads,
        connections: opts.connections,
        targets,
        extraHeaders: opts.headers,
        sluiceOrigin: sluice.origin,
        replayScript: 'bench/lib/replay.lua',
        replayDir: relative(repoRoot, dir) || dir,
        manualCommand:
          specs.findUnique &&
          `REPLAY_METHOD=POST REPLAY_HEADERS=${relative(repoRoot, specs.findUnique.headersFile)} REPLAY_BODY=${relative(repoRoot, specs.findUnique.bodyFile)} wrk -t ${opts.wrkThreads} -c ${opts.connections} -d 10s --latency -s bench/lib/replay.lua http://127.0.0.1:<sluice-port>/query`,
      },
      captured,
      summary,
      blocks,
      retries: { noiseThreshold: opts.noiseThreshold, maxRetries: opts.maxRetries, retrySeconds: round(retrySeconds, 1), discardedBlocks: discarded },
    }
  } finally {
    await floor?.stop()
    await sluice.stop()
  }
}
