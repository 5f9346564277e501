// Supported Prisma client versions. The query plans a Prisma 7 client sends are coupled to the
// version of its query compiler, so each client minor line is served by the interpreter
// (`@prisma/client-engine-runtime`) and driver adapter of the same line. npm aliases let one
// install hold several of them; each is loaded on first use.
import type * as Runtime from '@prisma/client-engine-runtime'
import type * as AdapterPg from '@prisma/adapter-pg'
import type * as AdapterMariaDb from '@prisma/adapter-mariadb'

export type RuntimeModule = typeof Runtime
export type AdapterPgModule = typeof AdapterPg
export type AdapterMariaDbModule = typeof AdapterMariaDb

export interface EngineModules {
  /** Version of the interpreter package actually loaded. */
  runtimeVersion: string
  runtime: RuntimeModule
  adapterPg: AdapterPgModule
  /** The MySQL/MariaDB adapter, loaded on first use by a `mysql://` or `mariadb://` origin. */
  loadAdapterMariaDb: () => Promise<AdapterMariaDbModule>
}

interface RegistryEntry {
  /** Client minor line, `major.minor`. */
  line: string
  runtimeVersion: string
  load: () => Promise<Omit<EngineModules, 'runtimeVersion'>>
}

// Newest first: clients that send no version (curl, tests, dev builds `0.0.0`) get the newest.
const ENTRIES: RegistryEntry[] = [
  {
    line: '7.10',
    runtimeVersion: '7.10.0',
    load: async () => ({
      runtime: await import('@prisma/client-engine-runtime'),
      adapterPg: await import('@prisma/adapter-pg'),
      loadAdapterMariaDb: () => import('@prisma/adapter-mariadb'),
    }),
  },
  {
    line: '7.9',
    runtimeVersion: '7.9.1',
    load: async () => ({
      runtime: (await import('prisma-runtime-7.9')) as unknown as RuntimeModule,
      adapterPg: (await import('prisma-adapter-pg-7.9')) as unknown as AdapterPgModule,
      // @prisma/adapter-mariadb 7.9.x cannot draw on a pool it did not create (its factory always
      // creates and owns one), which would give the origin a second connection budget. Its 7.10.0
      // successor implements the same driver-adapter interface over an external pool; 7.9 clients'
      // plans run on it (proven by the parity suite with the 7.9 client).
      loadAdapterMariaDb: () => import('@prisma/adapter-mariadb'),
    }),
  },
]

export const SUPPORTED_CLIENT_LINES: readonly string[] = ENTRIES.map((e) => e.line)

/** Human-readable list for error messages: "7.10.x, 7.9.x". */
export function describeSupported(): string {
  return ENTRIES.map((e) => `${e.line}.x`).join(', ')
}

const loaded = new Map<string, Promise<EngineModules>>()

/**
 * Finds the registry line for a client version as sent in `Prisma-Engine-Hash`
 * (`7.10.1`, `7.9.0-dev.3`, `0.0.0`). Returns undefined when the version is not supported.
 */
export function resolveClientLine(clientVersion: string | undefined): string | undefined {
  if (clientVersion === undefined || clientVersion === '' || clientVersion === '0.0.0') return ENTRIES[0]!.line
  // Every request names its client version; clients send a handful of them.
  const known = resolved.get(clientVersion)
  if (known !== undefined) return known ?? undefined
  const line = resolveUncached(clientVersion)
  if (resolved.size >= 256) resolved.clear()
  resolved.set(clientVersion, line ?? null)
  return line
}

const resolved = new Map<string, string | null>()

function resolveUncached(clientVersion: string): string | undefined {
  const m = /^(\d+)\.(\d+)\./.exec(clientVersion)
  if (!m) return undefined
  const line = `${m[1]}.${m[2]}`
  return ENTRIES.some((e) => e.line === line) ? line : undefined
}

export function loadEngineModules(line: string): Promise<EngineModules> {
  let p = loaded.get(line)
  if (!p) {
    const entry = ENTRIES.find((e) => e.line === line)
    if (!entry) throw new Error(`unknown client line ${line}`)
    p = entry.load().then((m) => ({ ...m, runtimeVersion: entry.runtimeVersion }))
    loaded.set(line, p)
  }
  return p
}
