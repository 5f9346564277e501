// From the SQL a request actually executed to what it wrote.
import { analyzeSql, type StatementAnalysis } from '../sql/analyze.js'
import { READ_ONLY_FUNCTIONS } from '../sql/functions.js'
import { analyzeMysql } from '../sql/mysql-analyze.js'
import { MYSQL_READ_ONLY_FUNCTIONS } from '../sql/mysql-functions.js'
import type { Invalidation } from './epochs.js'

export interface WriteSet {
  tables: Set<string>
  /** Some statement's effect could not be bounded to tables: invalidate the whole origin. */
  unknown: boolean
  /**
   * An earlier statement moved the search_path (or role): table names that follow were resolved in
   * the default schema and may be wrong, so a write after it counts as unknown.
   */
  pathMoved?: boolean
}

/** The SQL dialect of an origin: which parser and which function lists apply. */
export type SqlDialect = 'postgres' | 'mysql'

/** Analyses one statement with the parser of `dialect` (`defaultSchema`: schema or database of unqualified names). */
export function analyzeFor(dialect: SqlDialect, sql: string, defaultSchema: string): StatementAnalysis {
  return dialect === 'mysql' ? analyzeMysql(sql, defaultSchema) : analyzeSql(sql, defaultSchema)
}

export const emptyWriteSet = (): WriteSet => ({ tables: new Set(), unknown: false })

/**
 * Adds the writes of `statements` to `into`. `raw` marks statements written by the user
 * ($queryRaw/$executeRaw): there, a call to a function Sluice cannot prove read-only counts as
 * a write of unknown extent. Statements Prisma generates for model operations call only built-ins.
 */
export function collectWrites(
  statements: readonly string[],
  defaultSchema: string,
  raw: boolean,
  into: WriteSet = emptyWriteSet(),
  dialect: SqlDialect = 'postgres',
): WriteSet {
  for (const sql of statements) collectWritesFrom(analyzeFor(dialect, sql, defaultSchema), raw, into, dialect)
  return into
}

/**
 * Adds the writes of one statement already analysed (by `dialect`'s parser) to `into`, by the
 * rules of collectWrites: a door that analysed the statement to decide on it does not parse or
 * shape it a second time.
 */
export function collectWritesFrom(a: StatementAnalysis, raw: boolean, into: WriteSet, dialect: SqlDialect = 'postgres'): WriteSet {
  for (const t of a.writes) into.tables.add(t)
  if (a.writesUnknown) into.unknown = true
  if (a.searchPath === true) into.pathMoved = true
  if (into.pathMoved === true && a.writes.length > 0) into.unknown = true
  if (raw && !into.unknown) {
    const readOnly = dialect === 'mysql' ? MYSQL_READ_ONLY_FUNCTIONS : READ_ONLY_FUNCTIONS
    for (const f of a.functions) {
      if (!readOnly.has(f)) {
        into.unknown = true
        break
      }
    }
  }
  return into
}

/** Tables a cached read depends on, from its analysis: null when it could not be analysed. */
export function tablesRead(a: StatementAnalysis): string[] | null {
  return a.unparsed ? null : [...a.reads]
}

/** Tables the statements read, or null if one of them could not be analysed. */
export function collectReads(statements: readonly string[], defaultSchema: string, dialect: SqlDialect = 'postgres'): string[] | null {
  const tables = new Set<string>()
  for (const sql of statements) {
    const a = analyzeFor(dialect, sql, defaultSchema)
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
  if (ws.unknown) return { kind: 'origin', origin, ddl: true }
  if (ws.tables.size > 0) return { kind: 'tables', origin, tables: [...ws.tables] }
  return null
}
