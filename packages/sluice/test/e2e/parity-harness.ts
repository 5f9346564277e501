// The comparison machinery of the parity suites (prisma-parity.test.ts for PostgreSQL,
// prisma-parity-mysql.test.ts for MySQL/MariaDB): outcomes of the same step on a direct client and
// on a client through Sluice, normalised where they legitimately differ (see prisma-parity.test.ts).
import { expect } from 'vitest'
import type { LoadedClient } from './clients.js'

// The generated clients are loaded at run time and not type-checked here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Db = any

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const CUID_RE = /^c[0-9a-z]{24}$/
/** Fields filled by the database (now()) or by the executor (@updatedAt) at the time of the write. */
const VOLATILE_DATE_KEYS = new Set(['createdAt', 'updatedAt'])

export type Outcome = { value: unknown } | { error: Record<string, unknown> }

/** Makes an outcome comparable across the two sides (see the file comment). */
export function normalise(lib: LoadedClient, value: unknown, key?: string): unknown {
  if (value instanceof Date) {
    if (key !== undefined && VOLATILE_DATE_KEYS.has(key)) {
      return Number.isNaN(value.getTime()) ? '<invalid date>' : '<date>'
    }
    return value
  }
  if (typeof value === 'string' && key === 'id') {
    if (UUID_RE.test(value)) return '<uuid>'
    if (CUID_RE.test(value)) return '<cuid>'
    return value
  }
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('hex') }
  if (lib.Prisma.Decimal.isDecimal(value)) return { $decimal: (value as { toFixed(): string }).toFixed() }
  if (Array.isArray(value)) return value.map((v) => normalise(lib, v))
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) out[k] = normalise(lib, v, k)
    return out
  }
  return value
}

/** What is compared of an error: its kind and Prisma code, and the stable parts of its meta. */
export function describeError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { thrown: String(error) }
  const e = error as Error & { code?: string; meta?: Record<string, unknown> }
  if (e.code === undefined) return { name: e.name, message: e.message }
  const out: Record<string, unknown> = { name: e.name, code: e.code }
  if (e.code === 'P2028') return out // transaction expired: meta holds timings
  const meta = e.meta ?? {}
  const cause = (meta.driverAdapterError as { cause?: Record<string, unknown> } | undefined)?.cause
  out.modelName = meta.modelName
  if ('operation' in meta) out.operation = meta.operation
  if ('expectedRows' in meta) out.expectedRows = meta.expectedRows
  if (cause) {
    out.kind = cause.kind
    out.originalCode = cause.originalCode
    out.constraint = cause.constraint
  }
  return out
}

export async function outcome(lib: LoadedClient, run: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { value: normalise(lib, await run()) }
  } catch (error) {
    return { error: describeError(error) }
  }
}

export function codeOf(o: Outcome): unknown {
  return 'error' in o ? o.error.code : undefined
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

export interface ParitySteps {
  both(run: (db: Db) => Promise<unknown>): Promise<Outcome>
  bothConcurrently(run: (db: Db) => Promise<unknown>): Promise<Outcome>
  ok(run: (db: Db) => Promise<unknown>): Promise<unknown>
  fails(code: string, run: (db: Db) => Promise<unknown>): Promise<Outcome>
}

/** Step runners over the two clients, read when a step runs (they are created in beforeAll). */
export function paritySteps(sides: () => { lib: LoadedClient; direct: Db; viaSluice: Db }): ParitySteps {
  /** Runs one step on the direct side, then on the Sluice side, and compares the outcomes. */
  async function both(run: (db: Db) => Promise<unknown>): Promise<Outcome> {
    const { lib, direct, viaSluice } = sides()
    const expected = await outcome(lib, () => run(direct))
    const actual = await outcome(lib, () => run(viaSluice))
    expect(actual).toEqual(expected)
    return expected
  }

  /** Same, but with both sides running at once (for steps that mostly wait). */
  async function bothConcurrently(run: (db: Db) => Promise<unknown>): Promise<Outcome> {
    const { lib, direct, viaSluice } = sides()
    const [expected, actual] = await Promise.all([outcome(lib, () => run(direct)), outcome(lib, () => run(viaSluice))])
    expect(actual).toEqual(expected)
    return expected
  }

  /** A step that must succeed on the direct side (guards the sequence itself). */
  async function ok(run: (db: Db) => Promise<unknown>): Promise<unknown> {
    const o = await both(run)
    if ('error' in o) throw new Error(`step failed on the direct side too: ${JSON.stringify(o.error)}`)
    return o.value
  }

  /** A step that must fail with `code` on the direct side (and identically through Sluice). */
  async function fails(code: string, run: (db: Db) => Promise<unknown>): Promise<Outcome> {
    const o = await both(run)
    expect(codeOf(o), `direct side outcome: ${JSON.stringify(o)}`).toBe(code)
    return o
  }

  return { both, bothConcurrently, ok, fails }
}
