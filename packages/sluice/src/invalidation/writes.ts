// From the SQL a request actually executed to what it wrote.
import { analyzeSql } from '../sql/analyze.js'
import { READ_ONLY_FUNCTIONS } from '../sql/functions.js'
import type { Invalidation } from './epochs.js'

export interface WriteSet {
  tables: Set<string>
  /** Some statement's effect could not be bounded to tables: invalidate the whole origin. */
  unknown: boolean
}

export const emptyWriteSet = (): WriteSet => ({ tables: new Set(), unknown: false })

/**
 * Adds the writes of `statements` to `into`. `raw` marks statements written by the user
 * ($queryRaw/$executeRaw): there, a call to a function Sluice cannot prove read-only counts as
 * a write of unknown extent. Statements Prisma generates for model operations call only built-ins.
 */
export function collectWrites(statements: readonly string[], defaultSchema: string, raw: boolean, into: WriteSet = emptyWriteSet()): WriteSet {
  for (const sql of statements) {
    const a = analyzeSql(sql, defaultSchema)
    for (const t of a.writes) into.tables.add(t)
    if (a.writesUnknown) into.unknown = true
    if (raw && a.functions.some((f) => !READ_ONLY_FUNCTIONS.has(f))) into.unknown = true
  }
  return into
}

/** Tables the statements read, or null if one of them could not be analysed. */
export function collectReads(statements: readonly string[], defaultSchema: string): string[] | null {
  const tables = new Set<string>()
  for (const sql of statements) {
    const a = analyzeSql(sql, defaultSchema)
    if (a.unparsed) return null
    for (const t of a.reads) tables.add(t)
    for (const t of a.writes) tables.add(t)
  }
  return [...tables]
}

export function hasWrites(ws: WriteSet): boolean {
  return ws.unknown || ws.tables.size > 0
}

/** The invalidation a write set calls for, or null when it wrote nothing. */
export function writeInvalidation(origin: string, ws: WriteSet): Invalidation | null {
  if (ws.unknown) return { kind: 'origin', origin }
  if (ws.tables.size > 0) return { kind: 'tables', origin, tables: [...ws.tables] }
  return null
}
