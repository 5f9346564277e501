// Scenario "miss-path": what Sluice adds to a query that goes to the database.
//
// The same real Prisma 7.10 client runs the same queries against up to three targets:
//   direct  new PrismaClient({ adapter: new PrismaPg({ connectionString, max: pool }) })
//   sluice  new PrismaClient({ accelerateUrl }).$extends(withAccelerate())   (no cacheStrategy:
//           every request is executed on the database)
//   stub    the same Accelerate client against bench/lib/stub-accelerate.mjs, a bare node:http
//           server answering canned responses captured from Sluice (no database). It is the floor
//           of the Accelerate path: the client-side cost of fetch + JSON + hydration that no server
//           can remove. sluice − stub = Sluice's own cost (+ the database), stub − direct = what
//           the HTTP protocol costs the client.
// Closed loop (each worker sends its next query when the previous one answered) at each
// concurrency. Within every repetition each (query, concurrency) cell runs the targets back to
// back, rotating which goes first, so all see the same machine conditions. Latency is measured in
// the client around the awaited Prisma call (so it includes the client's own work).
import { QUERIES } from '../lib/workloads.mjs'
import { prng, round, summarize } from '../lib/stats.mjs'
import { startCpuMeter, waitForIdle } from '../lib/proc.mjs'
import { captureRequests } from '../lib/capture.mjs'
import { startChildServer } from '../lib/child-server.mjs'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const MISS_TARGETS = ['direct', 'stub', 'sluice', 'cached']

/**
 * The same client with `cacheStrategy` added to every model query (issue 3's target: the cached
 * 100-row findMany ≥ 2× faster than direct). Note that the Prisma client batches findUnique calls
 * made in the same tick into one request without the extension's cache headers, so at
 * concurrency > 1 cached findUnique calls are not cache hits.
 */
export function withCacheStrategy(prisma, cacheStrategy, models = ['user', 'post', 'probe']) {
  const out = { $disconnect: () => prisma.$disconnect() }
  for (const m of models) {
    out[m] = new Proxy(prisma[m], {
      get: (target, key) => (typeof target[key] === 'function' ? (args) => target[key]({ ...args, cacheStrategy }) : target[key]),
    })
  }
  return out
}

export const name = 'miss-path'
export const description = 'Prisma 7.10 client through Sluice (no cacheStrategy) vs the same client direct via @prisma/adapter-pg'

async function closedLoop({ op, concurrency, durationMs }) {
  const latencies = []
  let errors = 0
  let firstError
  const started = performance.now()
  const deadline = started + durationMs
  async function worker() {
    while (performance.now() < deadline) {
      const t0 = performance.now()
      try {
        await op()
        latencies.push(performance.now() - t0)
      } catch (err) {
        errors++
        firstError ??= err
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  return { latencies, errors, firstError, wallMs: performance.now() - started }
}

function sameResult(a, b) {
  return JSON.stringify(a) === JSON.stringify(b)
}

/** Canned answers for the stub, captured from Sluice for each query's fixed variant. */
async function cannedAnswers(ctx, sluice) {
  const canned = { connectionInfo: undefined, queries: {} }
  for (const q of ctx.opts.queries) {
    const seen = await captureRequests(ctx.lib, sluice.accelerateUrl, (prisma) => QUERIES[q].fixed(prisma))
    for (const r of seen) {
      if (r.status !== 200) throw new Error(`miss-path: capture of ${q}: ${r.path} answered ${r.status}`)
      if (r.path === '/connection-info') canned.connectionInfo = r.responseBody.toString('utf8')
      if (r.path === '/query') {
        const { model, operation } = JSON.parse(r.body)
        canned.queries[`${model}.${operation}`] = r.responseBody.toString('utf8')
      }
    }
  }
  if (!canned.connectionInfo) throw new Error('miss-path: no /connection-info request was captured')
  return canned
}

export async function run(ctx) {
  const { opts, lib, log } = ctx
  const targetNames = opts.missTargets
  const sluice = await ctx.startSluice(name)
  let stub
  const clients = {}
  const blocks = []
  const pooled = new Map() // `${query}|${concurrency}|${target}` → { latencies, requests, wallMs, cpu sums }
  let retryInfo
  let realFetch
  const httpCounts = new Map()
  try {
    if (targetNames.includes('stub')) {
      const file = join(ctx.tmpDir, 'stub-canned.json')
      mkdirSync(ctx.tmpDir, { recursive: true })
      writeFileSync(file, JSON.stringify(await cannedAnswers(ctx, sluice)))
      stub = await startChildServer(join(ctx.repoRoot, 'bench/lib/stub-accelerate.mjs'), [file])
    }
    // Count the HTTP requests the Accelerate clients send (the Prisma client batches findUnique
    // calls made in the same tick into one request, so calls ≠ requests at concurrency > 1).
    // withAccelerate() takes globalThis.fetch when it is called: install the counter first.
    realFetch = globalThis.fetch
    globalThis.fetch = (input, init) => {
      const url = typeof input === 'string' ? input : String(input?.url ?? input)
      httpCounts.set(url, (httpCounts.get(url) ?? 0) + 1)
      return realFetch(input, init)
    }
    if (stub) {
      clients.stub = new lib.PrismaClient({ accelerateUrl: `prisma+postgres://localhost:${stub.port}/?api_key=bench` }).$extends(lib.withAccelerate())
    }
    if (targetNames.includes('direct')) {
      clients.direct = new lib.PrismaClient({
        adapter: new lib.PrismaPg({ connectionString: ctx.benchDbUrl, max: opts.poolSize, idleTimeoutMillis: 60_000 }),
      })
    }
    if (targetNames.includes('sluice')) clients.sluice = new lib.PrismaClient({ accelerateUrl: sluice.accelerateUrl }).$extends(lib.withAccelerate())
    if (targetNames.includes('cached')) {
      clients.cached = withCacheStrategy(new lib.PrismaClient({ accelerateUrl: sluice.accelerateUrl }).$extends(lib.withAccelerate()), { ttl: 3600 })
    }
    const targets = Object.fromEntries(targetNames.map((t) => [t, clients[t]]))
    const serverPid = { direct: undefined, stub: stub?.pid, sluice: sluice.pid, cached: sluice.pid }

    // Sanity: every target returns the same data (the stub answers the fixed variants verbatim).
    for (const q of opts.queries) {
      const results = await Promise.all(targetNames.map((t) => QUERIES[q].fixed(targets[t])))
      for (let i = 1; i < results.length; i++) {
        if (!sameResult(results[0], results[i])) throw new Error(`miss-path: ${q} returns different data via ${targetNames[i]} than via ${targetNames[0]}`)
      }
    }
    // Warm-up: JIT, query-plan caches, pools filled to the highest concurrency.
    const maxConc = Math.max(...opts.concurrency)
    for (const q of opts.queries) {
      for (const [t, prisma] of Object.entries(targets)) {
        const rand = prng(1)
        const r = await closedLoop({ op: () => QUERIES[q].run(prisma, rand, ctx.data), concurrency: maxConc, durationMs: opts.initialWarmupMs })
        if (r.errors) throw new Error(`miss-path warm-up ${q} on ${t}: ${r.firstError?.message}`)
      }
    }

    const queryUrl = { stub: stub && `http://localhost:${stub.port}/query`, sluice: `http://localhost:${sluice.port}/query`, cached: `http://localhost:${sluice.port}/query` }
    const httpCount = (target) => (queryUrl[target] ? (httpCounts.get(queryUrl[target]) ?? 0) : undefined)

    const pgPids = () => ctx.monitor.backendPids()
    async function measureBlock({ rep, q, concurrency, target, position }) {
      const prisma = targets[target]
      const seed = 1000 * rep + 10 * concurrency + opts.queries.indexOf(q) + 7
      // short unmeasured warm-up (wakes idle connections, re-warms after the other targets)
      const warmRand = prng(seed + 99991)
      await closedLoop({ op: () => QUERIES[q].run(prisma, warmRand, ctx.data), concurrency, durationMs: opts.blockWarmupMs })
      const rand = prng(seed)
      const http0 = httpCount(target)
      // "server" CPU is the server process of the target: Sluice, the stub, or none (direct)
      const meter = await startCpuMeter({ serverPid: serverPid[target], pgPids })
      const r = await closedLoop({ op: () => QUERIES[q].run(prisma, rand, ctx.data), concurrency, durationMs: opts.durationMs })
      const cpu = await meter.stop()
      const n = r.latencies.length
      const httpRequests = http0 === undefined ? undefined : httpCount(target) - http0
      const lat = summarize(r.latencies)
      return {
        block: {
          repetition: rep + 1,
          query: q,
          concurrency,
          target,
          position: position + 1,
          requests: n,
          httpRequests,
          errors: r.errors,
          firstError: r.firstError ? String(r.firstError.message ?? r.firstError).slice(0, 300) : undefined,
          wallSeconds: round(r.wallMs / 1000, 3),
          throughput: round(n / (r.wallMs / 1000), 1),
          latencyMs: Object.fromEntries(Object.entries(lat).map(([k, v]) => [k, k === 'n' ? v : round(v, 4)])),
          cpuSeconds: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, round(v, 3)])),
          otherCpuShare: round(cpu.other / (cpu.wallSeconds * cpu.cores), 3),
        },
        latencies: r.latencies,
        cpu,
        wallMs: r.wallMs,
      }
    }

    const discarded = []
    let retrySeconds = 0
    {
      for (let rep = 0; rep < opts.repetitions; rep++) {
        const order = targetNames.map((_, i) => targetNames[(i + rep) % targetNames.length])
        for (const q of opts.queries) {
          for (const concurrency of opts.concurrency) {
            // One cell = every target back to back. A cell where unrelated processes used more
            // than opts.noiseThreshold of the machine is run again (within the retry budget) and
            // the quieter attempt is kept.
            let best
            for (let attempt = 1; ; attempt++) {
              const t0 = performance.now()
              const cell = []
              for (const [position, target] of order.entries()) {
                const m = await measureBlock({ rep, q, concurrency, target, position })
                m.block.attempt = attempt
                cell.push(m)
                const b = m.block
                log(
                  `  rep ${rep + 1}${attempt > 1 ? `.${attempt}` : '  '} ${QUERIES[q].short.padEnd(12)} c=${concurrency} ${target.padEnd(6)} ` +
                    `${String(b.requests).padStart(6)} req  ${b.throughput.toFixed(0).padStart(5)}/s  p50 ${b.latencyMs.p50.toFixed(3)} ms  p99 ${b.latencyMs.p99.toFixed(3)} ms` +
                    `  server cpu ${((m.cpu.server / Math.max(1, b.httpRequests ?? b.requests)) * 1e6).toFixed(0)} µs/${b.httpRequests !== undefined ? 'http req' : 'req'}` +
                    `  other ${(b.otherCpuShare * 100).toFixed(0)}%` +
                    (b.errors ? `  ERRORS ${b.errors}: ${b.firstError}` : ''),
                )
              }
              const noise = Math.max(...cell.map((m) => m.block.otherCpuShare))
              if (attempt > 1) retrySeconds += (performance.now() - t0) / 1000
              if (!best || noise < best.noise) {
                if (best) discarded.push(...best.cell.map((m) => m.block))
                best = { cell, noise }
              } else discarded.push(...cell.map((m) => m.block))
              if (best.noise <= opts.noiseThreshold || attempt > opts.maxRetries || retrySeconds >= opts.retryBudgetSeconds) break
              log(`  … ${(noise * 100).toFixed(0)}% of the machine used by other processes during this cell: waiting for quiet, then measuring it again`)
              await waitForIdle({ maxWait: 15 })
            }
            for (const m of best.cell) {
              blocks.push(m.block)
              const key = `${q}|${concurrency}|${m.block.target}`
              let p = pooled.get(key)
              if (!p) pooled.set(key, (p = { query: q, concurrency, target: m.block.target, latencies: [], requests: 0, httpRequests: 0, errors: 0, wallSeconds: 0, cpu: {} }))
              for (const v of m.latencies) p.latencies.push(v)
              p.requests += m.block.requests
              p.httpRequests += m.block.httpRequests ?? 0
              p.errors += m.block.errors
              p.wallSeconds += m.wallMs / 1000
              for (const [k, v] of Object.entries(m.cpu)) if (typeof v === 'number' && k !== 'cores') p.cpu[k] = (p.cpu[k] ?? 0) + v
            }
          }
        }
      }
    }
    retryInfo = { discardedBlocks: discarded, retrySeconds: round(retrySeconds, 1) }
  } finally {
    if (realFetch) globalThis.fetch = realFetch
    await Promise.allSettled(Object.values(clients).map((c) => c.$disconnect()))
    await stub?.stop()
  }
  const stopped = await sluice.stop()

  // Per target: pooled latency over all repetitions; throughput = requests / time.
  const summary = [...pooled.values()].map((p) => {
    const lat = summarize(p.latencies)
    const per1k = (s) => round((s / p.requests) * 1000, 4) // CPU seconds per 1000 requests
    return {
      query: p.query,
      concurrency: p.concurrency,
      target: p.target,
      requests: p.requests,
      httpRequests: p.target === 'direct' ? undefined : p.httpRequests,
      callsPerHttpRequest: p.target === 'direct' || !p.httpRequests ? undefined : round(p.requests / p.httpRequests, 2),
      errors: p.errors,
      throughput: round(p.requests / p.wallSeconds, 1),
      latencyMs: Object.fromEntries(Object.entries(lat).map(([k, v]) => [k, k === 'n' ? v : round(v, 4)])),
      cpuSecondsPer1kRequests: {
        // the target's server process: Sluice for "sluice", the stub for "stub", none for "direct"
        server: per1k(p.cpu.server),
        // per 1000 HTTP requests (what the server actually handled), for stub and sluice
        serverPer1kHttpRequests: p.target === 'direct' || !p.httpRequests ? undefined : round((p.cpu.server / p.httpRequests) * 1000, 4),
        postgres: per1k(p.cpu.postgres),
        client: per1k(p.cpu.self),
        irq: per1k(p.cpu.irq),
        total: per1k(p.cpu.self + p.cpu.server + p.cpu.postgres),
      },
      otherCpuShare: round(p.cpu.other / (p.cpu.wallSeconds * ctx.machine.logicalCpus), 3),
    }
  })

  // Per (query, concurrency): sluice vs direct (the headline), stub vs direct, sluice vs stub.
  // Pooled deltas, and the per-repetition paired deltas (same repetition, adjacent in time).
  const pairs = [
    ['sluice', 'direct'],
    ['stub', 'direct'],
    ['sluice', 'stub'],
    ['cached', 'direct'],
  ].filter(([a, b]) => targetNames.includes(a) && targetNames.includes(b))
  const comparisons = []
  for (const [a, b] of pairs) {
    for (const q of opts.queries) {
      for (const concurrency of opts.concurrency) {
        const find = (t) => summary.find((x) => x.query === q && x.concurrency === concurrency && x.target === t)
        const sa = find(a)
        const sb = find(b)
        if (!sa || !sb) continue
        const perRep = []
        for (let rep = 1; rep <= opts.repetitions; rep++) {
          const block = (t) => blocks.find((x) => x.repetition === rep && x.query === q && x.concurrency === concurrency && x.target === t)
          const ba = block(a)
          const bb = block(b)
          if (ba && bb) perRep.push(round(ba.latencyMs.p50 - bb.latencyMs.p50, 4))
        }
        const deltaP50 = sa.latencyMs.p50 - sb.latencyMs.p50
        comparisons.push({
          target: a,
          baseline: b,
          query: q,
          concurrency,
          baselineP50: sb.latencyMs.p50,
          targetP50: sa.latencyMs.p50,
          deltaP50Ms: round(deltaP50, 4),
          deltaP50PerRepetitionMs: perRep,
          deltaP99Ms: round(sa.latencyMs.p99 - sb.latencyMs.p99, 4),
          deltaMeanMs: round(sa.latencyMs.mean - sb.latencyMs.mean, 4),
          p50Ratio: round(sa.latencyMs.p50 / sb.latencyMs.p50, 3),
          p99Ratio: round(sa.latencyMs.p99 / sb.latencyMs.p99, 3),
          throughputRatio: round(sa.throughput / sb.throughput, 3),
          totalCpuRatio: round(sa.cpuSecondsPer1kRequests.total / sb.cpuSecondsPer1kRequests.total, 3),
          serverCpuSecondsPer1kRequests: sa.cpuSecondsPer1kRequests.server,
          ...(a === 'sluice' && b === 'direct' ? { goalMs: opts.goalP50Ms, goalMet: deltaP50 <= opts.goalP50Ms } : {}),
        })
      }
    }
  }
  return {
    scenario: name,
    description,
    settings: {
      repetitions: opts.repetitions,
      durationSeconds: opts.durationMs / 1000,
      blockWarmupSeconds: opts.blockWarmupMs / 1000,
      initialWarmupSeconds: opts.initialWarmupMs / 1000,
      concurrency: opts.concurrency,
      targets: targetNames,
      queries: opts.queries.map((q) => ({ name: q, label: QUERIES[q].label })),
      poolSize: opts.poolSize,
      sluiceOrigin: sluice.origin,
      cpuProfile: stopped.profiles[0],
    },
    summary,
    comparisons,
    blocks,
    retries: { noiseThreshold: opts.noiseThreshold, maxRetries: opts.maxRetries, retrySeconds: retryInfo?.retrySeconds, discardedBlocks: retryInfo?.discardedBlocks ?? [] },
  }
}
