// Scenario "concurrent-misses": N identical queries issued at the same moment against a key that
// is not in the cache (a "thundering herd" on a cold key), repeated with a fresh key every time.
//
// Targets (the same real Prisma 7.10 client, the same query):
//   direct  @prisma/adapter-pg straight to Postgres: N queries on the database
//   sluice  through Sluice without cacheStrategy: N queries too (through Sluice's pool)
//   cached  through Sluice with `cacheStrategy: { ttl: 3600 }`: single flight should make it ONE
//           query, the other N − 1 callers joining it
// The query is `probe.findFirst({ where: { id } })` on the test schema's "Probe" view, whose every
// returned row advances the sequence probe_reads: the sequence's movement during a burst is the
// number of database reads that burst caused, counted on the database side. Each burst uses a new
// id, so its key has never been cached. (findFirst, not findUnique: the Prisma client merges
// same-tick findUnique calls into one request and drops the cache headers on them.)
//
// Latency of each call is measured from the start of the burst (all N calls are made in one
// synchronous loop) to its answer.
import pg from 'pg'
import { round, summarize } from '../lib/stats.mjs'
import { startCpuMeter } from '../lib/proc.mjs'
import { withCacheStrategy } from './miss-path.mjs'

export const name = 'concurrent-misses'
export const description = 'N identical cached queries at once on a cold key (single flight), counted on the database, vs the same N calls direct'
export const CM_TARGETS = ['direct', 'sluice', 'cached']

export async function run(ctx) {
  const { opts, lib, log } = ctx
  const targetNames = CM_TARGETS
  const n = opts.burstSize
  const sluice = await ctx.startSluice(name)
  const counter = new pg.Client({ connectionString: ctx.benchDbUrl })
  await counter.connect()
  const reads = async () => {
    const { rows } = await counter.query('SELECT last_value::text AS v, is_called FROM probe_reads')
    return rows[0].is_called ? Number(rows[0].v) : 0
  }
  const clients = {}
  const httpCounts = new Map()
  const realFetch = globalThis.fetch
  let nextId = 1
  const blocks = []
  const pooled = new Map(targetNames.map((t) => [t, { latencies: [], bursts: [] }]))
  try {
    // withAccelerate() takes globalThis.fetch when it is called: install the counter first.
    globalThis.fetch = (input, init) => {
      const url = typeof input === 'string' ? input : String(input?.url ?? input)
      httpCounts.set(url, (httpCounts.get(url) ?? 0) + 1)
      return realFetch(input, init)
    }
    clients.direct = new lib.PrismaClient({
      adapter: new lib.PrismaPg({ connectionString: ctx.benchDbUrl, max: opts.poolSize, idleTimeoutMillis: 60_000 }),
    })
    clients.sluice = new lib.PrismaClient({ accelerateUrl: sluice.accelerateUrl }).$extends(lib.withAccelerate())
    clients.cached = withCacheStrategy(new lib.PrismaClient({ accelerateUrl: sluice.accelerateUrl }).$extends(lib.withAccelerate()), { ttl: 3600 })
    const queryUrl = `http://localhost:${sluice.port}/query`
    const httpCount = () => httpCounts.get(queryUrl) ?? 0

    async function burst(target) {
      const prisma = clients[target]
      const id = nextId++
      const before = await reads()
      const http0 = httpCount()
      const latencies = new Array(n)
      const t0 = performance.now()
      const settled = await Promise.allSettled(
        Array.from({ length: n }, (_, i) =>
          prisma.probe.findFirst({ where: { id } }).then((row) => {
            latencies[i] = performance.now() - t0
            return row
          }),
        ),
      )
      const wallMs = performance.now() - t0
      const dbReads = (await reads()) - before
      const ok = settled.filter((s) => s.status === 'fulfilled')
      const failed = settled.filter((s) => s.status === 'rejected')
      for (const s of ok) if (s.value?.id !== id) throw new Error(`concurrent-misses: ${target} answered ${JSON.stringify(s.value)} for id ${id}`)
      return {
        id,
        dbReads,
        // every database read hands out a new probe_reads value: callers that got the same value
        // were served by the same read
        distinctResults: new Set(ok.map((s) => String(s.value.reads))).size,
        httpRequests: target === 'direct' ? undefined : httpCount() - http0,
        wallMs,
        latencies: latencies.filter((v) => v !== undefined),
        errors: failed.length,
        firstError: failed[0] ? String(failed[0].reason?.message ?? failed[0].reason).slice(0, 300) : undefined,
      }
    }

    // Warm-up: opens the HTTP connections (N of them) and the pools; not reported.
    for (const t of targetNames) {
      for (let i = 0; i < 2; i++) {
        const b = await burst(t)
        if (b.errors) throw new Error(`concurrent-misses warm-up on ${t}: ${b.firstError}`)
      }
    }

    const pgPids = () => ctx.monitor.backendPids()
    for (let rep = 0; rep < opts.repetitions; rep++) {
      const order = targetNames.map((_, i) => targetNames[(i + rep) % targetNames.length])
      for (const [position, target] of order.entries()) {
        const meter = await startCpuMeter({ serverPid: target === 'direct' ? undefined : sluice.pid, pgPids })
        const bursts = []
        for (let i = 0; i < opts.bursts; i++) bursts.push(await burst(target))
        const cpu = await meter.stop()
        const all = bursts.flatMap((b) => b.latencies)
        const lat = summarize(all)
        const block = {
          repetition: rep + 1,
          target,
          position: position + 1,
          bursts: bursts.length,
          requests: all.length,
          dbReadsPerBurst: bursts.map((b) => b.dbReads),
          distinctResultsPerBurst: bursts.map((b) => b.distinctResults),
          httpRequestsPerBurst: target === 'direct' ? undefined : bursts.map((b) => b.httpRequests),
          burstWallMs: bursts.map((b) => round(b.wallMs, 3)),
          latencyMs: Object.fromEntries(Object.entries(lat).map(([k, v]) => [k, k === 'n' ? v : round(v, 4)])),
          errors: bursts.reduce((a, b) => a + b.errors, 0),
          firstError: bursts.find((b) => b.firstError)?.firstError,
          cpuSeconds: Object.fromEntries(Object.entries(cpu).map(([k, v]) => [k, round(v, 3)])),
          otherCpuShare: round(cpu.other / (cpu.wallSeconds * cpu.cores), 3),
        }
        blocks.push(block)
        const p = pooled.get(target)
        for (const v of all) p.latencies.push(v)
        p.bursts.push(...bursts.map(({ latencies, ...rest }) => rest))
        const reads = block.dbReadsPerBurst
        log(
          `  rep ${rep + 1} ${target.padEnd(6)} ${bursts.length} bursts × ${n}: database reads per burst ${Math.min(...reads)}–${Math.max(...reads)}` +
            `  p50 ${lat.p50.toFixed(2)} ms  p99 ${lat.p99.toFixed(2)} ms  max ${lat.max.toFixed(2)} ms  other ${(block.otherCpuShare * 100).toFixed(0)}%` +
            (block.errors ? `  ERRORS ${block.errors}: ${block.firstError}` : ''),
        )
      }
    }
  } finally {
    globalThis.fetch = realFetch
    await Promise.allSettled(Object.values(clients).map((c) => c.$disconnect()))
    await counter.end().catch(() => {})
    await sluice.stop()
  }

  const summary = targetNames.map((target) => {
    const p = pooled.get(target)
    const reads = p.bursts.map((b) => b.dbReads)
    const distinct = p.bursts.map((b) => b.distinctResults)
    const http = p.bursts.map((b) => b.httpRequests).filter((v) => v !== undefined)
    const walls = summarize(p.bursts.map((b) => b.wallMs))
    const lat = summarize(p.latencies)
    const mean = (a) => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : null)
    return {
      target,
      bursts: p.bursts.length,
      callsPerBurst: n,
      calls: p.latencies.length,
      errors: p.bursts.reduce((a, b) => a + b.errors, 0),
      dbReadsPerBurst: { mean: round(mean(reads), 3), min: Math.min(...reads), max: Math.max(...reads) },
      distinctResultsPerBurst: { min: Math.min(...distinct), max: Math.max(...distinct) },
      httpRequestsPerBurst: http.length ? { mean: round(mean(http), 2), min: Math.min(...http), max: Math.max(...http) } : undefined,
      latencyMs: Object.fromEntries(Object.entries(lat).map(([k, v]) => [k, k === 'n' ? v : round(v, 4)])),
      burstWallMs: { p50: round(walls.p50, 3), max: round(walls.max, 3), mean: round(walls.mean, 3) },
    }
  })
  const direct = summary.find((s) => s.target === 'direct')
  for (const s of summary) {
    s.p50RatioToDirect = round(s.latencyMs.p50 / direct.latencyMs.p50, 3)
    s.p99RatioToDirect = round(s.latencyMs.p99 / direct.latencyMs.p99, 3)
    s.burstWallRatioToDirect = round(s.burstWallMs.p50 / direct.burstWallMs.p50, 3)
  }
  const cached = summary.find((s) => s.target === 'cached')
  return {
    scenario: name,
    description,
    settings: {
      burstSize: n,
      burstsPerBlock: opts.bursts,
      repetitions: opts.repetitions,
      targets: targetNames,
      poolSize: opts.poolSize,
      query: 'probe.findFirst({ where: { id } }), a new id for every burst',
      sluiceOrigin: sluice.origin,
    },
    summary,
    singleFlight: { held: cached.dbReadsPerBurst.max === 1 && cached.dbReadsPerBurst.min === 1 && cached.errors === 0, dbReadsPerBurst: cached.dbReadsPerBurst },
    blocks,
  }
}
