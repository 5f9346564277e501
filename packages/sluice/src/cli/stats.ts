// `sluice stats`: the top query shapes of a running node, from its admin API (GET /api/stats).
import { parseArgs } from 'node:util'
import { ConfigError } from '../config/load.js'

export const STATS_HELP = `Usage: sluice stats [--admin-url <url>] [--top <n>] [--sort count|saved|recent] [--json]

Prints the top query shapes of a running Sluice (count, hit rate, p50/p99 latency, time saved by
the cache, why not cached) and its totals, from GET /api/stats on the admin port.

Options:
  --admin-url <url>   admin listener of the node, default http://127.0.0.1:9466 [SLUICE_ADMIN_URL]
  --top <n>           number of shapes, default 20
  --sort <order>      count (default), saved (time saved) or recent
  --json              print the API's JSON as it is
  -h, --help          this help

Shapes are redacted: literals are replaced by "?", parameters are never recorded.`

interface ShapeRow {
  door: string
  tenant: string
  label: string
  sql: string
  count: number
  hitRatio: number | null
  p50Ms: number | null
  p99Ms: number | null
  savedMs: number
  lastReason: string | null
  hits: number
  misses: number
}

interface Stats {
  uptimeSeconds: number
  totals: { requests: number; hits: number; misses: number; hitRate: number | null }
  cache: { entries: number; bytes: number; maxBytes: number }
  shapes: { tracked: number; top: ShapeRow[] }
}

export async function stats(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      'admin-url': { type: 'string' },
      top: { type: 'string' },
      sort: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (values.help) {
    console.log(STATS_HELP)
    return 0
  }
  const base = values['admin-url'] ?? process.env.SLUICE_ADMIN_URL ?? 'http://127.0.0.1:9466'
  const top = values.top ?? '20'
  if (!/^\d+$/.test(top)) throw new ConfigError(`--top: expected a whole number, got "${top}"`)
  const sort = values.sort ?? 'count'
  if (!['count', 'saved', 'recent'].includes(sort)) throw new ConfigError(`--sort: use count, saved or recent, got "${sort}"`)
  let url: URL
  try {
    url = new URL(`/api/stats?top=${top}&sort=${sort}`, base)
  } catch {
    throw new ConfigError(`--admin-url: not a URL: "${base}"`)
  }
  let res: Response
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(10_000) })
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message
    console.error(`sluice: cannot reach the admin API at ${url.origin} (${cause}). Is Sluice running with its admin port (--admin-port)?`)
    return 1
  }
  const text = await res.text()
  if (!res.ok) {
    console.error(`sluice: ${url.href} answered ${res.status}: ${text.slice(0, 500)}`)
    return 1
  }
  if (values.json) {
    console.log(text)
    return 0
  }
  let body: Stats
  try {
    body = JSON.parse(text) as Stats
  } catch {
    console.error(`sluice: ${url.href} did not answer JSON (is that the admin port?)`)
    return 1
  }
  console.log(formatStats(body))
  return 0
}

/** The human-readable report: a summary line, then one row per shape. */
export function formatStats(s: Stats, width = process.stdout.columns || 120): string {
  const t = s.totals
  const lines = [
    `uptime ${formatUptime(s.uptimeSeconds)} · ${t.requests.toLocaleString('en-US')} requests · hit rate ${pct(t.hitRate)} ` +
      `(${t.hits.toLocaleString('en-US')} hits, ${t.misses.toLocaleString('en-US')} misses) · cache ${s.cache.entries.toLocaleString('en-US')} entries, ` +
      `${formatBytes(s.cache.bytes)} of ${formatBytes(s.cache.maxBytes)} · ${s.shapes.tracked} shapes tracked`,
    '',
  ]
  if (s.shapes.top.length === 0) {
    lines.push('no query shapes yet: send traffic through the HTTP or Postgres door')
    return lines.join('\n')
  }
  const header = ['COUNT', 'HIT %', 'P50', 'P99', 'SAVED', 'DOOR', 'TENANT', 'WHY NOT CACHED', 'SHAPE']
  const rows = s.shapes.top.map((r) => [
    r.count.toLocaleString('en-US'),
    pct(r.hitRatio),
    ms(r.p50Ms),
    ms(r.p99Ms),
    r.savedMs > 0 ? ms(r.savedMs) : '—',
    r.door === 'pg' ? 'wire' : 'http',
    r.tenant,
    r.lastReason ?? (r.hits + r.misses > 0 ? 'cached' : '—'),
    `${r.label}  ${r.sql.replace(/\s+/g, ' ')}`.trim(),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const fixed = widths.slice(0, -1).reduce((a, w) => a + w + 2, 0)
  widths[widths.length - 1] = Math.max(20, Math.min(widths[widths.length - 1]!, width - fixed))
  const right = new Set([0, 1, 2, 3, 4])
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => {
        const w = widths[i]!
        const cut = c.length > w ? `${c.slice(0, w - 1)}…` : c
        return right.has(i) ? cut.padStart(w) : i === cells.length - 1 ? cut : cut.padEnd(w)
      })
      .join('  ')
  lines.push(fmt(header), ...rows.map(fmt))
  return lines.join('\n')
}

function pct(x: number | null): string {
  return x === null ? '—' : `${(x * 100).toFixed(1)}%`
}

function ms(v: number | null): string {
  if (v === null) return '—'
  if (v < 1) return `${Math.round(v * 1000)}µs`
  if (v < 1000) return `${v < 10 ? v.toFixed(2) : v.toFixed(1)}ms`
  if (v < 120_000) return `${(v / 1000).toFixed(2)}s`
  return `${(v / 60_000).toFixed(1)}min`
}

function formatBytes(b: number): string {
  const units = ['B', 'KB', 'MB', 'GB']
  let i = 0
  while (b >= 1024 && i < units.length - 1) {
    b /= 1024
    i++
  }
  return `${i === 0 ? b : b.toFixed(1)}${units[i]}`
}

function formatUptime(s: number): string {
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${s}s`
}
