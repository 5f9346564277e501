// What a MySQL/MariaDB statement reads and writes: the counterpart of analyze.ts for `mysql://`
// and `mariadb://` origins, with the same StatementAnalysis, so invalidation, cache dependencies
// and the wire door's cache policy work unchanged.
//
// The parser is node-sql-parser (a PEG grammar per dialect): the MariaDB grammar first, the MySQL
// grammar when that fails (it knows `LOCK IN SHARE MODE` and `->`), then a few control statements
// neither grammar knows (SAVEPOINT, SET TRANSACTION, SET NAMES …) recognised by their whole text.
// Anything else that does not parse is `unparsed`: a write of unknown extent.
//
// Table names are `database.table`, both lower-cased. MySQL has no schemas; unqualified names
// resolve to the connection's default database. On Linux MariaDB/MySQL compare table names
// case-sensitively (lower_case_table_names=0), elsewhere not: folding to lower case can only
// merge two tables that differ by case (an extra invalidation), never miss one, whatever the
// server's setting.
//
// Parsing costs 1–20 ms, so analyses are memoised by SQL text and by shape (literals removed).
// The two grammars (~270 KB of code each) are loaded on the first MySQL analysis only, so a
// Sluice without MySQL origins does not carry them in its heap.
import { createRequire } from 'node:module'
import type { Parser } from 'node-sql-parser'
import type { StatementAnalysis } from './analyze.js'
import { MYSQL_SESSION_FUNCTIONS, MYSQL_VALUE_FUNCTIONS } from './mysql-functions.js'
import { AnalysisMemo } from './analysis-memo.js'
import { mysqlShape } from './mysql-shape.js'

const require = createRequire(import.meta.url)
let grammars: { database: string; parser: Parser }[] | undefined
function parsers(): { database: string; parser: Parser }[] {
  grammars ??= [
    { database: 'MariaDB', parser: new (require('node-sql-parser/build/mariadb') as { Parser: typeof Parser }).Parser() },
    { database: 'MySQL', parser: new (require('node-sql-parser/build/mysql') as { Parser: typeof Parser }).Parser() },
  ]
  return grammars
}

const memo = new AnalysisMemo(mysqlShape)

/**
 * Analyses one SQL text (possibly several statements). `defaultDatabase` qualifies unqualified
 * table names (the database in the origin URL; see MysqlOriginPool.defaultSchema).
 */
export function analyzeMysql(sql: string, defaultDatabase = ''): StatementAnalysis {
  return memo.get(sql, defaultDatabase.toLowerCase(), analyzeUncached)
}

const UNPARSED: StatementAnalysis = Object.freeze({
  kind: 'write',
  reads: [],
  writes: [],
  writesUnknown: true,
  functions: [],
  locking: false,
  unparsed: true,
  statements: 0,
  sqlValueFunctions: false,
  sessionState: false,
}) as StatementAnalysis

// Control statements the grammars do not know, recognised only when the whole text is exactly one
// of them (an identifier, optional semicolon). `sessionState` as the server treats them.
const CONTROL: { pattern: RegExp; sessionState: boolean }[] = [
  { pattern: /^\s*(SAVEPOINT|RELEASE\s+SAVEPOINT|ROLLBACK\s+(WORK\s+)?TO\s+(SAVEPOINT\s+)?)\s*(`[^`]+`|\w+)\s*;?\s*$/i, sessionState: false },
  // Applies to the next transaction of the session: leaks to the next client if none starts.
  { pattern: /^\s*SET\s+(SESSION\s+|GLOBAL\s+)?TRANSACTION\s+(ISOLATION\s+LEVEL\s+(READ\s+UNCOMMITTED|READ\s+COMMITTED|REPEATABLE\s+READ|SERIALIZABLE)|READ\s+ONLY|READ\s+WRITE)\s*;?\s*$/i, sessionState: true },
  { pattern: /^\s*SET\s+(NAMES|CHARACTER\s+SET|CHARSET)\s+('?\w+'?|DEFAULT)(\s+COLLATE\s+'?\w+'?)?\s*;?\s*$/i, sessionState: true },
]

type Node = Record<string, unknown>

function parse(sql: string): Node[] | undefined {
  for (const { database, parser } of parsers()) {
    try {
      const ast = parser.astify(sql, { database }) as unknown as Node | Node[]
      return Array.isArray(ast) ? ast : [ast]
    } catch {
      // next grammar
    }
  }
  return undefined
}

function analyzeUncached(sql: string, defaultDatabase: string): StatementAnalysis {
  // Executable comments (`/*! … */`, `/*M! … */`, `/*!50700 … */`) are code to the server but
  // comments to the parser: whatever they hide cannot be analysed.
  if (/\/\*[!M]/.test(sql)) return UNPARSED
  const control = CONTROL.find((c) => c.pattern.test(sql))
  if (control) return { ...UNPARSED, kind: 'other', writesUnknown: false, unparsed: false, statements: 1, sessionState: control.sessionState }
  const statements = parse(sql)
  if (!statements) return UNPARSED

  const reads = new Set<string>()
  const writes = new Set<string>()
  const functions = new Set<string>()
  let kind: StatementAnalysis['kind'] = 'other'
  let writesUnknown = false
  let locking = false
  let sqlValueFunctions = false
  let sessionState = false

  const rank = { other: 0, read: 1, write: 2, ddl: 3 } as const
  const raise = (k: StatementAnalysis['kind']) => {
    if (rank[k] > rank[kind]) kind = k
  }
  const tableName = (ref: Node): string | undefined => {
    const table = ref.table
    if (typeof table !== 'string' || table === '') return undefined
    const db = typeof ref.db === 'string' && ref.db !== '' ? ref.db.toLowerCase() : defaultDatabase
    return `${db}.${table.toLowerCase()}`
  }
  // A table reference: `{ db, table, as }` (column references carry `column`, not `db`).
  const isTableRef = (n: Node) => 'db' in n && typeof n.table === 'string' && !('column' in n)
  const addTables = (into: Set<string>, refs: unknown) => {
    for (const r of Array.isArray(refs) ? refs : [refs]) {
      if (r && typeof r === 'object' && isTableRef(r as Node)) {
        const name = tableName(r as Node)
        if (name) into.add(name)
      }
    }
  }

  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      for (const n of node) visit(n)
      return
    }
    if (node === null || typeof node !== 'object') return
    const n = node as Node
    if (isTableRef(n)) {
      const name = tableName(n)
      if (name) reads.add(name)
    }
    switch (n.type) {
      case 'function': {
        const name = functionName(n.name)
        if (name) {
          functions.add(name)
          if (MYSQL_VALUE_FUNCTIONS.has(name)) sqlValueFunctions = true
          if (MYSQL_SESSION_FUNCTIONS.has(name)) sessionState = true
          // LAST_INSERT_ID(expr) sets the value the session's next LAST_INSERT_ID() returns.
          if (name === 'last_insert_id' && argCount(n) > 0) sessionState = true
        }
        break
      }
      case 'aggr_func':
        if (typeof n.name === 'string') functions.add(n.name.toLowerCase())
        break
      case 'var':
        // @user and @@system variables: the value belongs to the session.
        sqlValueFunctions = true
        break
      case 'assign':
        // `@a := …` inside a query
        sessionState = true
        break
    }
    for (const [key, value] of Object.entries(n)) {
      // Subqueries carry the parser's own table/column lists as strings; the `ast` beside them is visited.
      if (key === 'tableList' || key === 'columnList') continue
      if (value !== null && typeof value === 'object') visit(value)
    }
  }

  const statement = (s: Node): void => {
    const type = typeof s.type === 'string' ? s.type.toLowerCase() : ''
    switch (type) {
      case 'select': {
        raise('read')
        if (s.locking_read) locking = true
        const into = s.into as Node | undefined
        if (into && into.type === 'into') {
          if (into.keyword === 'var') sessionState = true
          else raise('write') // INTO OUTFILE/DUMPFILE: a side effect outside the tables
        }
        visit(s)
        return
      }
      case 'insert':
      case 'replace':
      case 'update':
      case 'delete': {
        raise('write')
        // Every table named as a target is written. For multi-table UPDATE/DELETE this also counts
        // the joined tables as written: more invalidation than needed, never less.
        addTables(writes, s.table)
        if (type === 'delete') addTables(writes, s.from)
        for (const [k, v] of Object.entries(s)) {
          if (k === 'table' || (type === 'delete' && k === 'from')) {
            // Their ON conditions may hold subqueries and function calls.
            for (const r of Array.isArray(v) ? v : [v]) if (r && typeof r === 'object') visit({ ...(r as Node), db: undefined, table: undefined })
          } else if (v !== null && typeof v === 'object') visit(v)
        }
        return
      }
      case 'truncate':
        raise('write')
        addTables(writes, s.name)
        return
      case 'load_data':
        raise('write')
        addTables(writes, s.table)
        return
      case 'transaction':
        return
      case 'set':
      case 'use':
      case 'lock':
      case 'unlock':
        sessionState = true
        visit(s)
        return
      case 'show':
      case 'desc':
      case 'explain':
        raise('read')
        visit(s)
        return
      case 'create':
        if (s.temporary) sessionState = true
        raise('ddl')
        writesUnknown = true
        return
      case 'call':
        raise('write')
        writesUnknown = true
        visit(s)
        return
      default:
        // CREATE/ALTER/DROP/RENAME/GRANT/…, and whatever the grammar adds later: results of any
        // query may change.
        raise('ddl')
        writesUnknown = true
    }
  }

  for (const s of statements) statement(s)
  return {
    kind,
    reads: [...reads].filter((t) => !writes.has(t)),
    writes: [...writes],
    writesUnknown,
    functions: [...functions],
    locking,
    unparsed: false,
    statements: statements.length,
    sqlValueFunctions,
    sessionState,
  }
}

function functionName(name: unknown): string | undefined {
  if (typeof name === 'string') return name.toLowerCase()
  const parts = (name as { name?: { value?: unknown }[] } | undefined)?.name
  const last = Array.isArray(parts) ? parts[parts.length - 1]?.value : undefined
  return typeof last === 'string' ? last.toLowerCase() : undefined
}

function argCount(n: Node): number {
  const v = (n.args as { value?: unknown } | undefined)?.value
  return Array.isArray(v) ? v.length : 0
}
