// Reads the pool settings Prisma users already put in their database URL
// (`connection_limit`, `pool_timeout`) and removes them before the URL reaches the driver.
import { availableParallelism, cpus } from 'node:os'
import { readFileSync } from 'node:fs'

export interface OriginSettings {
  /** Connection string handed to the driver, without Sluice's own parameters. */
  url: string
  /** Stable identity of the origin (pools are shared by every tenant pointing at it). */
  key: string
  connectionLimit: number
  /** Seconds; 0 waits forever. */
  poolTimeoutSeconds: number
  /** Postgres schema from `?schema=`, as Prisma users set it. */
  schema?: string
}

const SLUICE_PARAMS = ['connection_limit', 'pool_timeout', 'schema']

export function parseOriginUrl(raw: string): OriginSettings {
  const url = new URL(raw)
  const limit = url.searchParams.get('connection_limit')
  const timeout = url.searchParams.get('pool_timeout')
  const schema = url.searchParams.get('schema') ?? undefined
  for (const p of SLUICE_PARAMS) url.searchParams.delete(p)
  const connectionLimit = limit === null ? defaultConnectionLimit() : positiveInt(limit, 'connection_limit', 1)
  const poolTimeoutSeconds = timeout === null ? 10 : positiveInt(timeout, 'pool_timeout', 0)
  const clean = url.toString()
  return { url: clean, key: `${clean}#${schema ?? ''}`, connectionLimit, poolTimeoutSeconds, ...(schema ? { schema } : {}) }
}

function positiveInt(v: string, name: string, min: number): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n < min) throw new Error(`origin URL: ${name} must be an integer ≥ ${min}, got "${v}"`)
  return n
}

/** Prisma's default pool size: physical CPUs × 2 + 1. */
export function defaultConnectionLimit(): number {
  return physicalCpuCount() * 2 + 1
}

let physical: number | undefined
function physicalCpuCount(): number {
  if (physical !== undefined) return physical
  try {
    // Count distinct (physical id, core id) pairs: hyperthreads share a core.
    const info = readFileSync('/proc/cpuinfo', 'utf8')
    const cores = new Set<string>()
    for (const block of info.split('\n\n')) {
      const phys = /physical id\s*:\s*(\d+)/.exec(block)?.[1]
      const core = /core id\s*:\s*(\d+)/.exec(block)?.[1]
      if (phys !== undefined && core !== undefined) cores.add(`${phys}:${core}`)
    }
    physical = cores.size > 0 ? cores.size : availableParallelism()
  } catch {
    physical = cpus().length || availableParallelism()
  }
  return physical
}

/** The URL with its password masked, for logs and startup output. */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw)
    if (u.password) u.password = '***'
    return u.toString()
  } catch {
    return '[invalid url]'
  }
}
