// What a statement reads and writes, from PostgreSQL's own parser (libpg-query, the parser of
// the server itself compiled to WebAssembly). Used for write-aware invalidation (which tables a
// write touched) and for cache dependencies (which tables a read depends on).
//
// Prisma sends the same SQL text over and over with different parameters, so analyses are
// memoised by SQL text: a parse costs ~50 µs, a memo hit a map lookup.
import { loadModule, parseSync } from 'libpg-query'
import { AnalysisMemo } from './analysis-memo.js'
import { sqlShape } from './shape.js'

export interface StatementAnalysis {
  /** `read`: a plain query; `write`: changes rows; `ddl`: changes schema; `other`: session/transaction control. */
  kind: 'read' | 'write' | 'ddl' | 'other'
  /** Tables read, as `schema.table` (unquoted names folded to lower case, as Postgres does). */
  reads: string[]
  /** Tables written. */
  writes: string[]
  /** True when the effect cannot be bounded to `writes` (DDL, CALL, DO, unknown functions in a write-capable context…). */
  writesUnknown: boolean
  /** Names of the functions called (lower case, unqualified). */
  functions: string[]
  /** SELECT … FOR UPDATE / FOR SHARE. */
  locking: boolean
  /** The text could not be parsed: treat as a write of unknown extent. */
  unparsed: boolean
  /** Number of statements in the text. */
  statements: number
  /** Uses CURRENT_TIMESTAMP, CURRENT_USER and the like (SQL value functions). */
  sqlValueFunctions: boolean
  /** Changes session state that would leak to the next user of a pooled connection (SET, PREPARE, LISTEN, temp tables…). */
  sessionState: boolean
  /**
   * May change where unqualified table names resolve (SET [LOCAL] search_path or role,
   * set_config() of those or of a name not known here): later writes cannot be bounded by name.
   */
  searchPath?: boolean
  /**
   * What the analysis says depends on a literal (which setting a set_config() call names), so it
   * must not stand for other texts of the same shape (AnalysisMemo keeps it by its own text).
   */
  literalDependent?: boolean
}

/** Settings that decide where an unqualified table name resolves ("$user" in the path: the role). */
const NAME_RESOLUTION_SETTINGS = new Set(['search_path', 'role', 'session_authorization'])

interface ConstArg {
  A_Const?: { sval?: { sval?: string }; boolval?: { boolval?: boolean } }
}

/** set_config(name, value, is_local): which setting (undefined when not a constant), and whether it ends with the transaction. */
function setConfigCall(args: ConstArg[] | undefined): { name: string | undefined; local: boolean } {
  const name = args?.[0]?.A_Const?.sval?.sval
  const local = args?.[2]?.A_Const
  const isLocal = local?.boolval?.boolval === true || ['true', 't', 'on', 'yes', '1'].includes(local?.sval?.sval?.toLowerCase() ?? '')
  return { name: name?.toLowerCase(), local: isLocal }
}

let ready: Promise<void> | undefined

/** Loads the parser's WebAssembly once. Call at startup; analyses before that throw. */
export function initSqlParser(): Promise<void> {
  ready ??= loadModule()
  return ready
}

const memo = new AnalysisMemo(sqlShape)

const WRITE_TARGETS: Record<string, string> = {
  InsertStmt: 'relation',
  UpdateStmt: 'relation',
  DeleteStmt: 'relation',
  MergeStmt: 'relation',
}

// Statements that only steer the session or transaction.
const SESSION_STATEMENTS = new Set(['TransactionStmt', 'VariableSetStmt', 'VariableShowStmt', 'DiscardStmt', 'DeallocateStmt', 'PrepareStmt', 'ListenStmt', 'UnlistenStmt', 'CheckPointStmt'])

/**
 * Analyses one SQL text (possibly several statements). `defaultSchema` qualifies unqualified table
 * names (the origin's `schema` parameter, else `public`).
 */
export function analyzeSql(sql: string, defaultSchema = 'public'): StatementAnalysis {
  return memo.get(sql, defaultSchema, analyzeUncached)
}

/**
 * Lets analyzeSql find the analysis of `sql` by its own text next time (texts with literals are
 * otherwise found by their shape, which costs a pass over the text): for statements known to repeat.
 */
export function rememberSqlText(sql: string, defaultSchema: string, analysis: StatementAnalysis): void {
  memo.remember(sql, defaultSchema, analysis)
}

function analyzeUncached(sql: string, defaultSchema: string): StatementAnalysis {
  let tree: { stmts?: { stmt: Record<string, unknown> }[] }
  try {
    tree = parseSync(sql) as typeof tree
  } catch {
    return { kind: 'write', reads: [], writes: [], writesUnknown: true, functions: [], locking: false, unparsed: true, statements: 0, sqlValueFunctions: false, sessionState: false }
  }
  const reads = new Set<string>()
  const writes = new Set<string>()
  const functions = new Set<string>()
  let kind: StatementAnalysis['kind'] = 'other'
  let writesUnknown = false
  let locking = false
  let sqlValueFunctions = false
  let sessionState = false
  let searchPath = false
  let literalDependent = false

  const rank = { other: 0, read: 1, write: 2, ddl: 3 } as const
  const raise = (k: StatementAnalysis['kind']) => {
    if (rank[k] > rank[kind]) kind = k
  }
  const tableName = (rv: { schemaname?: string; relname?: string }) => `${rv.schemaname ?? defaultSchema}.${rv.relname}`

  const visit = (node: unknown, parentKey: string | undefined): void => {
    if (Array.isArray(node)) {
      for (const n of node) visit(n, parentKey)
      return
    }
    if (node === null || typeof node !== 'object') return
    for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
      if (key === 'RangeVar') {
        // Write targets are taken by their statement below and never visited; the rest are reads.
        reads.add(tableName(value as { schemaname?: string; relname?: string }))
        continue
      }
      if (key in WRITE_TARGETS) {
        raise('write')
        const stmt = value as Record<string, unknown>
        const target = stmt[WRITE_TARGETS[key]!] as { schemaname?: string; relname?: string } | undefined
        if (target?.relname) writes.add(tableName(target))
        for (const [k, v] of Object.entries(stmt)) if (k !== WRITE_TARGETS[key]) visit(v, k)
        continue
      }
      switch (key) {
        case 'SelectStmt': {
          raise('read')
          const s = value as { lockingClause?: unknown; intoClause?: unknown }
          if (s.lockingClause) locking = true
          if (s.intoClause) {
            raise('ddl')
            writesUnknown = true
          }
          break
        }
        case 'TruncateStmt': {
          raise('write')
          for (const r of ((value as { relations?: { RangeVar?: { schemaname?: string; relname?: string } }[] }).relations ?? [])) {
            if (r.RangeVar?.relname) writes.add(tableName(r.RangeVar))
          }
          continue
        }
        case 'CopyStmt': {
          const c = value as { is_from?: boolean; relation?: { schemaname?: string; relname?: string }; query?: unknown }
          if (c.is_from && c.relation?.relname) {
            raise('write')
            writes.add(tableName(c.relation))
          } else {
            raise('read')
            if (c.relation?.relname) reads.add(tableName(c.relation))
            visit(c.query, 'query')
          }
          continue
        }
        case 'FuncCall': {
          const names = ((value as { funcname?: { String?: { sval?: string } }[] }).funcname ?? []).map((n) => n.String?.sval ?? '')
          const fn = (names[names.length - 1] ?? '').toLowerCase()
          functions.add(fn)
          if (fn === 'set_config') {
            // A setting, like SET: changes no table, but outlives the transaction unless local.
            const call = setConfigCall((value as { args?: ConstArg[] }).args)
            literalDependent = true
            if (!call.local) sessionState = true
            if (call.name === undefined || NAME_RESOLUTION_SETTINGS.has(call.name)) searchPath = true
          }
          break
        }
        case 'SQLValueFunction':
          sqlValueFunctions = true
          break
        case 'VariableSetStmt': {
          // SET LOCAL ends with the transaction; plain SET outlives it.
          const set = value as { is_local?: boolean; name?: string; kind?: string }
          if (!set.is_local) sessionState = true
          if (set.name !== undefined && NAME_RESOLUTION_SETTINGS.has(set.name.toLowerCase()) && set.kind !== 'VAR_RESET') searchPath = true
          break
        }
        case 'PrepareStmt':
        case 'ListenStmt':
        case 'DeclareCursorStmt':
          sessionState = true
          break
        case 'CreateStmt':
          if ((value as { relation?: { relpersistence?: string } }).relation?.relpersistence === 't') sessionState = true
          raise('ddl')
          writesUnknown = true
          break
        case 'CallStmt':
        case 'DoStmt':
          raise('write')
          writesUnknown = true
          break
        case 'ExplainStmt':
          // EXPLAIN ANALYZE runs its statement; plain EXPLAIN reads nothing. Visiting the inner
          // statement classifies both conservatively.
          break
        default:
          if (key.endsWith('Stmt') && !SESSION_STATEMENTS.has(key) && key !== 'RawStmt' && parentKey === 'stmt') {
            // CREATE/ALTER/DROP/GRANT/…: results of any query may change.
            raise('ddl')
            writesUnknown = true
          }
      }
      visit(value, key)
    }
  }

  for (const s of tree.stmts ?? []) visit(s.stmt, 'stmt')
  return {
    kind,
    reads: [...reads],
    writes: [...writes],
    writesUnknown,
    functions: [...functions],
    locking,
    unparsed: false,
    statements: tree.stmts?.length ?? 0,
    sqlValueFunctions,
    sessionState,
    ...(searchPath ? { searchPath } : {}),
    ...(literalDependent ? { literalDependent } : {}),
  }
}
