// Markdown rendering of a bench run (bench/results/latest.md).
import { QUERIES } from './workloads.mjs'

const f = (v, d = 3) => (v === null || v === undefined || Number.isNaN(v) ? '–' : Number(v).toFixed(d))
const pct = (v) => (v === null || v === undefined ? '–' : `${(v * 100).toFixed(0)}%`)
const int = (v) => (v === null || v === undefined ? '–' : Math.round(v).toLocaleString('en-US'))
const signed = (v, d = 3) => (v === null || v === undefined ? '–' : `${v >= 0 ? '+' : ''}${Number(v).toFixed(d)}`)
const qname = (q) => QUERIES[q]?.short ?? q

function table(headers, rows) {
  return [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n')
}

const NOISY = 0.05

function chart(charts, scenario) {
  const file = charts?.[scenario]
  return file ? [`![${scenario} chart](${file})`, ''] : []
}

function retryNote(r) {
  const x = r.retries
  if (!x) return ''
  const n = x.discardedBlocks.length
  return n
    ? `Noise control: ${n} block(s) of cells where unrelated processes used more than ${pct(x.noiseThreshold)} of the machine were measured again (${f(x.retrySeconds, 0)} s); the quieter attempt of each cell is reported, the others are in http.json (\`retries.discardedBlocks\`).`
    : `Noise control: no cell needed re-measuring (threshold ${pct(x.noiseThreshold)} of the machine used by unrelated processes, up to ${x.maxRetries} retry per cell).`
}

function missPath(r, report, charts) {
  const out = []
  const s = r.settings
  out.push(`## miss-path — ${r.description}`)
  out.push('')
  out.push(...chart(charts, r.scenario))
  out.push(
    `Closed loop; ${s.repetitions} repetition(s) × ${s.durationSeconds} s per block (after ${s.blockWarmupSeconds} s unmeasured warm-up per block and ${s.initialWarmupSeconds} s per target and query at start); ` +
      `the targets (${s.targets.join(', ')}) run back to back in every repetition, rotating which goes first. Pool: ${s.poolSize} connections for both (direct: PrismaPg \`max\`; Sluice: \`connection_limit\`). ` +
      `Latency is measured in the client around the awaited Prisma call. Percentiles pool all repetitions; "per-rep Δ" is Sluice p50 − direct p50 within each repetition.`,
  )
  out.push('')
  out.push('Queries:')
  for (const q of s.queries) out.push(`- \`${qname(q.name)}\`: ${q.label}`)
  out.push('')
  const head = r.comparisons.filter((c) => c.target === 'sluice' && c.baseline === 'direct')
  if (head.length) {
    out.push(`### Headline: Sluice p50 − direct p50 (goal ≤ +${f(report.options.goalP50Ms, 1)} ms)`)
    out.push('')
    out.push(
      table(
        ['query', 'conc.', 'direct p50 ms', 'Sluice p50 ms', '**Δ p50 ms**', 'per-rep Δ ms', 'goal', 'p50 ratio', 'p99 ratio', 'throughput ratio', 'Sluice CPU s / 1k calls', 'Sluice CPU s / 1k HTTP req', 'total CPU ratio'],
        head.map((c) => [
          qname(c.query),
          c.concurrency,
          f(c.baselineP50),
          f(c.targetP50),
          `**${signed(c.deltaP50Ms)}**`,
          c.deltaP50PerRepetitionMs.map((v) => signed(v)).join(', '),
          c.goalMet ? 'met' : '**not met**',
          `${f(c.p50Ratio, 2)}x`,
          `${f(c.p99Ratio, 2)}x`,
          `${f(c.throughputRatio, 2)}x`,
          f(c.serverCpuSecondsPer1kRequests, 3),
          f(r.summary.find((x) => x.target === 'sluice' && x.query === c.query && x.concurrency === c.concurrency)?.cpuSecondsPer1kRequests.serverPer1kHttpRequests, 3),
          `${f(c.totalCpuRatio, 2)}x`,
        ]),
      ),
    )
    out.push('')
    out.push(
      '"Sluice CPU s / 1k calls" = CPU seconds of the Sluice process per 1,000 Prisma calls (= ms of CPU per call); "/ 1k HTTP req" per 1,000 HTTP requests it received ' +
        '(the Prisma client batches findUnique calls made in the same tick into one request, so at concurrency > 1 one request can carry several calls). ' +
        '"total CPU ratio": CPU of client + server process + Postgres backends per request, Sluice path / direct path. ' +
        'Throughput ratio is the closed-loop req/s of Sluice / direct at that concurrency (on 2 shared cores, often limited by the client process itself).',
    )
    out.push('')
  }
  const cachedCmp = r.comparisons.filter((c) => c.target === 'cached' && c.baseline === 'direct')
  if (cachedCmp.length) {
    out.push('### Cached through Sluice (`cacheStrategy: { ttl: 3600 }`, warmed) vs direct (goal: findMany-100-hot ≥ 2× faster)')
    out.push('')
    out.push(
      table(
        ['query', 'conc.', 'direct p50 ms', 'cached p50 ms', '**speed-up (direct p50 / cached p50)**', 'throughput ratio', 'goal', 'Sluice CPU s / 1k calls'],
        cachedCmp.map((c) => [
          qname(c.query),
          c.concurrency,
          f(c.baselineP50),
          f(c.targetP50),
          `**${f(1 / c.p50Ratio, 2)}x**`,
          `${f(c.throughputRatio, 2)}x`,
          c.query === 'findMany100Hot' ? (1 / c.p50Ratio >= 2 ? 'met' : '**not met**') : '–',
          f(c.serverCpuSecondsPer1kRequests, 3),
        ]),
      ),
    )
    out.push('')
    out.push('At concurrency > 1 the Prisma client batches same-tick findUnique calls into one request without the extension\'s cache headers, so those calls are not cached (a client behaviour, not Sluice\'s).')
    out.push('')
  }
  const stubCmp = r.comparisons.filter((c) => c.baseline === 'direct' && c.target === 'stub')
  if (stubCmp.length && head.length) {
    out.push('### Where the difference comes from (p50, ms)')
    out.push('')
    out.push(
      '`stub` is the same Accelerate client against a bare node:http server that answers canned responses (no database, no work): ' +
        '**stub − direct** is what the HTTP protocol costs the *client* (fetch, JSON, hydration) — the floor for any Accelerate-compatible server; ' +
        '**Sluice − stub** is Sluice\'s own processing plus its round trip to Postgres (which direct also pays inside its own time).',
    )
    out.push('')
    const rows = []
    for (const c of head) {
      const st = stubCmp.find((x) => x.query === c.query && x.concurrency === c.concurrency)
      const ss = r.comparisons.find((x) => x.target === 'sluice' && x.baseline === 'stub' && x.query === c.query && x.concurrency === c.concurrency)
      const stubSummary = r.summary.find((x) => x.target === 'stub' && x.query === c.query && x.concurrency === c.concurrency)
      rows.push([
        qname(c.query),
        c.concurrency,
        f(c.baselineP50),
        st ? f(st.targetP50) : '–',
        f(c.targetP50),
        st ? signed(st.deltaP50Ms) : '–',
        st ? st.deltaP50PerRepetitionMs.map((v) => signed(v)).join(', ') : '–',
        ss ? signed(ss.deltaP50Ms) : '–',
        ss ? ss.deltaP50PerRepetitionMs.map((v) => signed(v)).join(', ') : '–',
        stubSummary ? f(stubSummary.cpuSecondsPer1kRequests.client) : '–',
      ])
    }
    out.push(
      table(
        ['query', 'conc.', 'direct', 'stub', 'Sluice', '**stub − direct**', 'per rep', '**Sluice − stub**', 'per rep', 'client CPU s / 1k calls via stub'],
        rows,
      ),
    )
    out.push('')
  }
  out.push('### Per target')
  out.push('')
  out.push('"calls" are Prisma calls (awaited client operations); "HTTP req" what the Accelerate client actually sent. "server" CPU is the target\'s server process: Sluice, the stub, or nothing for direct (its pool lives in the client).')
  out.push('')
  out.push(
    table(
      ['query', 'conc.', 'target', 'calls', 'HTTP req', 'calls / HTTP req', 'calls/s', 'p50 ms', 'p90 ms', 'p99 ms', 'mean ms', 'max ms', 'CPU s / 1k calls: server', 'Postgres', 'client', 'server CPU s / 1k HTTP req', 'errors', 'other CPU'],
      r.summary.map((x) => [
        qname(x.query),
        x.concurrency,
        x.target,
        int(x.requests),
        int(x.httpRequests),
        f(x.callsPerHttpRequest, 2),
        int(x.throughput),
        f(x.latencyMs.p50),
        f(x.latencyMs.p90),
        f(x.latencyMs.p99),
        f(x.latencyMs.mean),
        f(x.latencyMs.max, 1),
        f(x.cpuSecondsPer1kRequests.server),
        f(x.cpuSecondsPer1kRequests.postgres),
        f(x.cpuSecondsPer1kRequests.client),
        f(x.cpuSecondsPer1kRequests.serverPer1kHttpRequests),
        x.errors,
        pct(x.otherCpuShare) + (x.otherCpuShare > NOISY ? ' ⚠' : ''),
      ]),
    ),
  )
  out.push('')
  out.push(retryNote(r))
  out.push('')
  out.push('<details><summary>Every measured block</summary>')
  out.push('')
  out.push(
    table(
      ['rep', 'attempt', 'query', 'conc.', 'target', 'order', 'calls', 'HTTP req', 'calls/s', 'p50 ms', 'p99 ms', 'mean ms', 'CPU s: server', 'Postgres', 'client', 'irq', 'other', 'other share'],
      r.blocks.map((b) => [
        b.repetition,
        b.attempt ?? 1,
        qname(b.query),
        b.concurrency,
        b.target,
        b.position,
        int(b.requests),
        int(b.httpRequests),
        int(b.throughput),
        f(b.latencyMs.p50),
        f(b.latencyMs.p99),
        f(b.latencyMs.mean),
        f(b.cpuSeconds.server, 2),
        f(b.cpuSeconds.postgres, 2),
        f(b.cpuSeconds.self, 2),
        f(b.cpuSeconds.irq, 2),
        f(b.cpuSeconds.other, 2),
        pct(b.otherCpuShare) + (b.otherCpuShare > NOISY ? ' ⚠' : ''),
      ]),
    ),
  )
  out.push('')
  out.push('</details>')
  return out.join('\n')
}

function httpReplay(r, charts) {
  const out = []
  const s = r.settings
  out.push(`## http-replay — ${r.description}`)
  out.push('')
  out.push(...chart(charts, r.scenario))
  out.push(
    `wrk -t ${s.wrkThreads} -c ${s.connections}, ${s.repetitions} repetition(s) × ${s.durationSeconds} s per target, targets rotated within each repetition, after ${s.warmupSeconds} s warm-up each. ` +
      `Latency percentiles are wrk's (median over repetitions). CPU per request: "server" is Sluice (or the floor server for \`floor\`). ` +
      '"cache status" is the `accelerate-cache-status` Sluice answered to a second identical request just before the replay.' +
      (s.extraHeaders.length ? ` Extra headers on replayed requests: ${s.extraHeaders.map((h) => `\`${h}\``).join(', ')}.` : ' No extra headers (the captured request has `cache-control: no-cache`).'),
  )
  out.push('')
  const what = {
    findUnique: 'POST /query, captured `user.findUnique({ where: { id: 42 } })`',
    findUniqueHit: 'the same findUnique + `cache-control: max-age=60` (served from the cache)',
    findMany100: 'POST /query, captured findMany 100 users + posts',
    health: 'GET /health (HTTP + routing, no query)',
    floor: 'bare node:http, same request, answers the findUnique response bytes',
  }
  out.push(
    table(
      ['target', 'what', 'response bytes', 'cache status', '**req/s** (mean)', 'min–max', 'p50 ms', 'p90 ms', 'p99 ms', 'server CPU µs/req', 'Postgres µs/req', 'wrk µs/req', 'vs floor', 'errors', 'other CPU'],
      r.summary.map((x) => [
        x.target,
        what[x.target] ?? '',
        int(x.responseBytes),
        x.cacheStatus ?? '–',
        `**${int(x.throughputMean)}**`,
        `${int(x.throughputMin)}–${int(x.throughputMax)}`,
        f(x.latencyMs.p50),
        f(x.latencyMs.p90),
        f(x.latencyMs.p99),
        f(x.serverCpuUsPerRequest, 1),
        f(x.postgresCpuUsPerRequest, 1),
        f(x.wrkCpuUsPerRequest, 1),
        x.throughputRatioToFloor !== undefined ? `${f(x.throughputRatioToFloor, 2)}x` : '–',
        x.errors,
        pct(x.otherCpuShare) + (x.otherCpuShare > NOISY ? ' ⚠' : ''),
      ]),
    ),
  )
  out.push('')
  if (r.captured.findUnique) {
    const c = r.captured.findUnique
    out.push(`Captured findUnique request as replayed (${c.bodyBytes} bytes of JSON body; files in \`${s.replayDir}\`):`)
    out.push('')
    out.push('```')
    out.push(`${c.method} ${new URL(c.url).pathname}`)
    for (const [n, v] of c.headers) out.push(`${n}: ${v}`)
    out.push('```')
    out.push('')
  }
  if (s.manualCommand) {
    out.push('Replay by hand (add a line such as `cache-control: max-age=60` to the headers file for a cache-hit run):')
    out.push('')
    out.push('```sh')
    out.push(s.manualCommand)
    out.push('```')
    out.push('')
  }
  out.push(retryNote(r))
  out.push('')
  out.push('<details><summary>Every measured run</summary>')
  out.push('')
  out.push(
    table(
      ['rep', 'attempt', 'target', 'order', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'max ms', 'CPU s: server', 'Postgres', 'wrk', 'irq', 'other', 'other share', 'errors'],
      r.blocks.map((b) => [
        b.repetition,
        b.attempt ?? 1,
        b.target,
        b.position,
        int(b.requests),
        int(b.throughput),
        f(b.latencyMs.p50),
        f(b.latencyMs.p99),
        f(b.latencyMs.max, 1),
        f(b.cpuSeconds.server, 2),
        f(b.cpuSeconds.postgres, 2),
        f(b.cpuSeconds.children, 2),
        f(b.cpuSeconds.irq, 2),
        f(b.cpuSeconds.other, 2),
        pct(b.otherCpuShare) + (b.otherCpuShare > NOISY ? ' ⚠' : ''),
        Object.values(b.errors).reduce((a, c) => a + c, 0),
      ]),
    ),
  )
  out.push('')
  out.push('</details>')
  return out.join('\n')
}

function profiles(list) {
  const out = ['## CPU profile of the Sluice process (`--cpu-prof`)', '']
  out.push(
    'Self time per function over the whole life of the Sluice process of each scenario (start-up included), as a share of its non-idle time. ' +
      'Profiled runs are slower than normal ones: use their timings only as ratios within the run. ' +
      'V8 samples on a wall-clock timer: a system call such as `writev` collects samples while the thread waits or is preempted inside it ' +
      '(on 2 shared cores, writing to Postgres or to the client wakes a process that may take the CPU), so its share overstates CPU use.',
  )
  for (const p of list) {
    out.push('')
    out.push(`### ${p.scenario} — \`${p.file}\` (${p.samples} samples, ${f(p.busyMs / 1000, 1)} s busy of ${f(p.wallMs / 1000, 1)} s)`)
    out.push('')
    out.push('By package:')
    out.push('')
    out.push(table(['package', 'self ms', 'share'], p.packages.slice(0, 15).map((x) => [x.package, f(x.selfMs, 1), `${f(x.busyPercent, 1)}%`])))
    out.push('')
    out.push('Top functions by self time:')
    out.push('')
    out.push(table(['#', 'function', 'where', 'self ms', 'share'], p.functions.map((x, i) => [i + 1, `\`${x.function}\``, x.location ? `\`${x.location}\`` : x.package, f(x.selfMs, 1), `${f(x.busyPercent, 1)}%`])))
    for (const n of p.nativeCallers ?? []) {
      out.push('')
      out.push(`\`${n.function}\` (${f(n.totalMs, 1)} ms) by caller:`)
      out.push('')
      for (const c of n.stacks) out.push(`- ${f(c.ms, 1)} ms: \`${c.stack}\``)
    }
  }
  return out.join('\n')
}

function concurrentMisses(r, charts) {
  const out = []
  const s = r.settings
  out.push(`## concurrent-misses — ${r.description}`)
  out.push('')
  out.push(...chart(charts, r.scenario))
  out.push(
    `Each burst makes ${s.burstSize} identical \`${s.query.split(',')[0]}…\` calls in one synchronous loop, with a new id every burst (a key never cached before); ` +
      `${s.repetitions} repetition(s) × ${s.burstsPerBlock} bursts per target, targets rotated. Database reads are counted on the database: every row the test schema's \`Probe\` view returns ` +
      `advances the sequence \`probe_reads\`, read before and after each burst. "distinct answers" counts the different \`reads\` values the callers received (callers served by the same database read get the same value). ` +
      `Latency is from the start of the burst to each call's answer; "whole burst" is the time to the last answer. Pool: ${s.poolSize} connections for direct and for Sluice.`,
  )
  out.push('')
  const label = { direct: 'direct (@prisma/adapter-pg)', sluice: 'Sluice, no cacheStrategy', cached: 'Sluice, `cacheStrategy: { ttl: 3600 }`' }
  out.push(
    table(
      ['target', 'bursts', '**database reads per burst** (mean, min–max)', 'distinct answers per burst', 'HTTP req per burst', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'whole burst p50 ms', 'p50 vs direct', 'errors'],
      r.summary.map((x) => [
        label[x.target] ?? x.target,
        x.bursts,
        `**${f(x.dbReadsPerBurst.mean, 2)}** (${x.dbReadsPerBurst.min}–${x.dbReadsPerBurst.max})`,
        `${x.distinctResultsPerBurst.min}–${x.distinctResultsPerBurst.max}`,
        x.httpRequestsPerBurst ? `${f(x.httpRequestsPerBurst.mean, 1)}` : '–',
        f(x.latencyMs.p50),
        f(x.latencyMs.p90),
        f(x.latencyMs.p99),
        f(x.latencyMs.max, 1),
        f(x.burstWallMs.p50),
        `${f(x.p50RatioToDirect, 2)}x`,
        x.errors,
      ]),
    ),
  )
  out.push('')
  const sf = r.singleFlight
  out.push(
    sf.held
      ? `**Single flight held:** every cached burst of ${s.burstSize} concurrent identical misses ran exactly one database query.`
      : `**Single flight did NOT hold:** cached bursts ran ${sf.dbReadsPerBurst.min}–${sf.dbReadsPerBurst.max} database queries (mean ${f(sf.dbReadsPerBurst.mean, 2)}).`,
  )
  out.push('')
  out.push('<details><summary>Every measured block</summary>')
  out.push('')
  out.push(
    table(
      ['rep', 'target', 'order', 'calls', 'database reads per burst', 'p50 ms', 'p99 ms', 'max ms', 'whole burst ms', 'CPU s: server', 'Postgres', 'client', 'other share'],
      r.blocks.map((b) => [
        b.repetition,
        b.target,
        b.position,
        int(b.requests),
        b.dbReadsPerBurst.join(' '),
        f(b.latencyMs.p50),
        f(b.latencyMs.p99),
        f(b.latencyMs.max, 1),
        b.burstWallMs.map((v) => f(v, 1)).join(' '),
        f(b.cpuSeconds.server, 2),
        f(b.cpuSeconds.postgres, 2),
        f(b.cpuSeconds.self, 2),
        pct(b.otherCpuShare) + (b.otherCpuShare > NOISY ? ' ⚠' : ''),
      ]),
    ),
  )
  out.push('')
  out.push('</details>')
  return out.join('\n')
}

export function renderMarkdown(report, charts = {}) {
  const m = report.machine
  const out = []
  out.push('# Sluice benchmark report')
  out.push('')
  out.push('> Generated by `bench/run.mjs`. Timings are for reading, never for pass/fail. Everything (client, Sluice, Postgres, wrk) shares this machine, ')
  out.push('> so compare targets **within** this run (ratios, deltas); absolute numbers drift 20–25% between runs on this kind of VM.')
  out.push('')
  out.push(
    table(
      ['', ''],
      [
        ['date', `${report.startedAt} (${f(report.elapsedSeconds / 60, 1)} min)`],
        ['command', `\`${report.command}\``],
        ['git', `${report.git.commit ?? '?'}${report.git.sluiceSrcDirty ? ` + ${report.git.sluiceSrcDirty} uncommitted file(s) in packages/sluice/src` : ''}`],
        ['CPU', `${m.cpuModel}${m.cpuMHz ? ` @ ${Math.round(m.cpuMHz)} MHz` : ''}, ${m.logicalCpus} logical CPU(s)${m.physicalCores ? ` / ${m.physicalCores} core(s)` : ''}${m.virtualized ? ', virtualized' : ''}${m.cacheSize ? `, cache ${m.cacheSize}` : ''}`],
        ['memory', `${m.memTotalGiB} GiB`],
        ['OS', `${m.os}, kernel ${m.kernel}, ${m.arch}`],
        ['software', `Node ${m.node}; PostgreSQL ${m.postgres}; ${m.wrk ?? 'wrk not installed'}`],
        ['Postgres settings', Object.entries(m.postgresSettings ?? {}).map(([k, v]) => `${k}=${v}`).join(', ')],
        ['Prisma', `client ${report.versions.prisma.client} (runtime ${report.versions.prisma.runtime}), @prisma/adapter-pg ${report.versions.prisma.adapterPg}, @prisma/extension-accelerate ${report.versions.prisma.extensionAccelerate}`],
        ['Sluice', `${report.versions.sluice}, separate process, \`--log-level silent\`${report.options.cpuProf ? ', **under --cpu-prof**' : ''}`],
        ['dataset', `database \`${report.dataset.database}\`: ${int(report.dataset.users)} users, ${int(report.dataset.posts)} posts, ${int(report.dataset.profiles)} profiles, ${int(report.dataset.postCategories)} post–category links${report.dataset.probeRows ? `, ${int(report.dataset.probeRows)} Probe rows` : ''}`],
        ['load average at start', m.loadAverage.join(' ')],
      ],
    ),
  )
  out.push('')
  for (const n of report.notes ?? []) out.push(`* ${n}`)
  if (report.notes?.length) out.push('')
  const noisy = []
  for (const r of report.results) {
    for (const b of r.blocks) if (b.otherCpuShare > NOISY) noisy.push(b)
    if (r.idleBefore && !r.idleBefore.idle) out.push(`⚠ Before ${r.scenario} the machine was still busy (${f(r.idleBefore.busyCores, 2)} cores in use by other processes after waiting ${f(r.idleBefore.waitedSeconds, 0)} s).`)
  }
  if (noisy.length) {
    out.push(
      `⚠ ${noisy.length} measured block(s) had more than ${NOISY * 100}% of the machine's CPU used by unrelated processes ("other CPU", marked ⚠ below). ` +
        `Treat those comparisons with extra caution. Busiest processes at the end: ${(m.topProcessesAtEnd ?? []).map((p) => `\`${p}\``).join('; ')}`,
    )
    out.push('')
  } else {
    out.push(`No measured block had more than ${NOISY * 100}% of the machine's CPU used by unrelated processes.`)
    out.push('')
  }
  for (const r of report.results) {
    if (r.scenario === 'miss-path') out.push(missPath(r, report, charts))
    else if (r.scenario === 'concurrent-misses') out.push(concurrentMisses(r, charts))
    else if (r.scenario === 'http-replay') out.push(httpReplay(r, charts))
    out.push('')
  }
  if (report.cpuProfiles?.length) {
    out.push(profiles(report.cpuProfiles))
    out.push('')
  }
  out.push('---')
  out.push('CPU accounting: /proc/<pid>/stat utime+stime of the Sluice process and of the Postgres backends connected to the benchmark database, ')
  out.push('`process.cpuUsage()` of the load generator, cutime+cstime for wrk, /proc/stat for interrupts and for everything else ("other").')
  out.push('')
  return out.join('\n')
}
