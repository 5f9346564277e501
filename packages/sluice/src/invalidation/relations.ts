// Which tables a result really depends on, and which tables a write really touches, when the SQL
// names a view or a table with inheritance children (partitions).
//
// Statement analysis sees names. A cached read of a view `v` over table `t` depends on `t`; a
// read of a partitioned table depends on its partitions, which writes may name directly; a write
// through a parent lands in its children, whose own cached reads must go too. The origin's
// catalog knows these links: it is loaded in one query (views with their definitions, every
// inheritance link), refreshed in the background when older than `maxAgeMs`, and read again
// before use after DDL through Sluice.
//
// Reads: a view is replaced by what its definition reads (recursively) and a parent brings its
// descendants. A view whose definition cannot be analysed, or which calls functions that are not
// known built-ins (a user function may read anything), makes the result unknown: not stored. A
// view calling a volatile built-in (now(), random(), nextval()…) is noted: the cache does not
// store such reads where Sluice itself chose to cache them (a wire door's auto mode).
// Writes: a table brings its descendants. While no catalog is loaded (at start, after DDL, when
// it cannot be read), writes invalidate the whole origin and reads wait for it or are not stored —
// never a stale answer.
import type { StatementAnalysis } from '../sql/analyze.js'
import { READ_ONLY_FUNCTIONS, VOLATILE_FUNCTIONS } from '../sql/functions.js'
import { MYSQL_DETERMINISTIC_FUNCTIONS, MYSQL_READ_ONLY_FUNCTIONS, MYSQL_VOLATILE_FUNCTIONS } from '../sql/mysql-functions.js'

/** One relation of the origin's catalog that is a view or takes part in inheritance. */
export interface RelationRow {
  /** `schema.name`, as statement analysis writes it. */
  name: string
  /** View definition (views only). */
  definition: string | null
  /** Direct parents (`schema.name`), for inheritance children and partitions. */
  parents: readonly string[]
}

/**
 * What a read depends on: the tables (and, `volatile`, why its result changes even without a
 * write: a view it reads calls a volatile function), or why they cannot be told (then the result
 * is not stored).
 */
export type ReadDependencies = { tables: string[]; volatile?: string } | { unknown: string }

/** What a view's definition reads directly: tables and views, and a volatile function it calls. */
interface ViewReads {
  reads: readonly string[]
  volatile?: string
}

interface Graph {
  /** View → what its definition reads, or why that cannot be told. */
  views: Map<string, ViewReads | { unknown: string }>
  /** Parent → its direct children. */
  children: Map<string, string[]>
}

/** What a dialect's view definitions may call. */
export interface ViewFunctions {
  /** Built-ins that read no table: a view calling anything else (a user function) reads what cannot be told. */
  builtins: ReadonlySet<string>
  /** Built-ins whose result changes without a write. */
  volatile: ReadonlySet<string>
}

export const POSTGRES_VIEW_FUNCTIONS: ViewFunctions = {
  builtins: new Set([...READ_ONLY_FUNCTIONS, ...VOLATILE_FUNCTIONS]),
  volatile: VOLATILE_FUNCTIONS,
}

// Volatile: the list the wire door's safety check uses for statements, so a view is judged as the
// same SELECT written out would be.
export const MYSQL_VIEW_FUNCTIONS: ViewFunctions = {
  builtins: new Set([...MYSQL_DETERMINISTIC_FUNCTIONS, ...MYSQL_READ_ONLY_FUNCTIONS, ...MYSQL_VOLATILE_FUNCTIONS]),
  volatile: MYSQL_VOLATILE_FUNCTIONS,
}

export interface RelationGraphOptions {
  /** Reads the origin's views and inheritance links. */
  load: () => Promise<RelationRow[]>
  /** The origin's statement analysis (its dialect and default schema). */
  analyze: (sql: string) => StatementAnalysis
  /** What view definitions may call, per dialect (default: Postgres's). */
  functions?: ViewFunctions
  /** Reload the catalog when it is older than this (catches DDL made behind Sluice's back). */
  maxAgeMs?: number
  now?: () => number
}

export class RelationGraph {
  readonly #options: RelationGraphOptions
  readonly #maxAgeMs: number
  readonly #now: () => number
  #graph: Graph | undefined
  #loadedAt = 0
  #loading: Promise<Graph | undefined> | undefined
  /** Bumped by changed(): a load that began before it does not count as current. */
  #generation = 0

  constructor(options: RelationGraphOptions) {
    this.#options = options
    this.#maxAgeMs = options.maxAgeMs ?? 60_000
    this.#now = options.now ?? Date.now
  }

  /** DDL went through Sluice: the catalog is read again before it is used. */
  changed(): void {
    this.#generation++
    this.#graph = undefined
  }

  /**
   * Tables a result reading `tables` depends on. Waits for the catalog when none is loaded (a
   * fill holds no origin connection by then).
   */
  readsOf(tables: readonly string[]): ReadDependencies | Promise<ReadDependencies> {
    const graph = this.#usable()
    if (graph !== undefined) return expandReads(graph, tables)
    return this.#reload().then((g) => (g === undefined ? { unknown: 'relation catalog unavailable' } : expandReads(g, tables)))
  }

  /**
   * Tables a write of `tables` changes, or null when that cannot be told (invalidate the whole
   * origin). Never waits: a committing session still holds its origin connection, and a catalog
   * load waiting for one could stall every writer at the connection limit.
   */
  writesOf(tables: readonly string[]): string[] | null {
    const graph = this.#usable()
    return graph === undefined ? null : expandWrites(graph, tables)
  }

  /**
   * The graph to answer from, or undefined when none is loaded since the last change. One older
   * than maxAgeMs is still used while a fresh one loads in the background (a relation created
   * behind Sluice's back is known within about maxAgeMs).
   */
  #usable(): Graph | undefined {
    const graph = this.#graph
    if (graph === undefined || this.#now() - this.#loadedAt > this.#maxAgeMs) void this.#reload()
    return graph
  }

  #reload(): Promise<Graph | undefined> {
    return (this.#loading ??= this.#load(this.#now()))
  }

  async #load(startedAt: number): Promise<Graph | undefined> {
    const generation = this.#generation
    try {
      const graph = buildGraph(await this.#options.load(), this.#options.analyze, this.#options.functions ?? POSTGRES_VIEW_FUNCTIONS)
      if (generation === this.#generation) {
        this.#graph = graph
        this.#loadedAt = startedAt
      }
      return graph
    } catch {
      return undefined
    } finally {
      this.#loading = undefined
    }
  }
}

function buildGraph(rows: readonly RelationRow[], analyze: (sql: string) => StatementAnalysis, functions: ViewFunctions): Graph {
  const views = new Map<string, ViewReads | { unknown: string }>()
  const children = new Map<string, string[]>()
  for (const row of rows) {
    for (const parent of row.parents) {
      const list = children.get(parent)
      if (list === undefined) children.set(parent, [row.name])
      else list.push(row.name)
    }
    if (row.definition !== null) views.set(row.name, viewReads(row.name, row.definition, analyze, functions))
  }
  return { views, children }
}

function viewReads(name: string, definition: string, analyze: (sql: string) => StatementAnalysis, functions: ViewFunctions): ViewReads | { unknown: string } {
  const a = analyze(definition)
  if (a.unparsed || a.kind !== 'read') return { unknown: `view ${name} could not be analysed` }
  const unknownFunction = a.functions.find((f) => !functions.builtins.has(f.toLowerCase()))
  if (unknownFunction !== undefined) return { unknown: `view ${name} calls ${unknownFunction}()` }
  const volatileFunction = a.functions.find((f) => functions.volatile.has(f.toLowerCase()))
  if (volatileFunction !== undefined) return { reads: a.reads, volatile: `view ${name} calls ${volatileFunction}()` }
  if (a.sqlValueFunctions) return { reads: a.reads, volatile: `view ${name} reads the clock or the session (CURRENT_TIMESTAMP, CURRENT_USER…)` }
  return { reads: a.reads }
}

/**
 * `tables` with the descendants of every parent among them and, `throughViews`, what every view
 * among them reads (recursively, with the first volatile view met); the view's reason when one
 * cannot be told.
 */
function closure(graph: Graph, tables: readonly string[], throughViews: boolean): ReadDependencies {
  const out = new Set<string>()
  let volatile: string | undefined
  const todo = [...tables]
  for (let t = todo.pop(); t !== undefined; t = todo.pop()) {
    if (out.has(t)) continue
    out.add(t)
    const view = throughViews ? graph.views.get(t) : undefined
    if (view !== undefined) {
      if ('unknown' in view) return view
      volatile ??= view.volatile
      todo.push(...view.reads)
    }
    const kids = graph.children.get(t)
    if (kids !== undefined) todo.push(...kids)
  }
  return volatile === undefined ? { tables: [...out] } : { tables: [...out], volatile }
}

const expandReads = (graph: Graph, tables: readonly string[]): ReadDependencies => closure(graph, tables, true)

/** A write changes what it names and every descendant (rows written through a parent land in its children). */
const expandWrites = (graph: Graph, tables: readonly string[]): string[] => (closure(graph, tables, false) as { tables: string[] }).tables

/**
 * The Postgres catalog query behind RelationGraph: views (with their definitions, as
 * pg_get_viewdef prints them under the connection's search_path) and every inheritance link
 * (partitions included), outside the system schemas.
 */
export const POSTGRES_RELATIONS_SQL = `
SELECT n.nspname || '.' || c.relname AS name,
       CASE WHEN c.relkind = 'v' THEN pg_get_viewdef(c.oid) END AS definition,
       ARRAY(SELECT pn.nspname || '.' || p.relname
               FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace
              WHERE i.inhrelid = c.oid) AS parents
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%'
   AND (c.relkind = 'v' OR EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid))`

/**
 * The MySQL/MariaDB catalog query behind RelationGraph: every view the origin's user may see,
 * outside the system schemas, named as the MySQL analyser names tables (`database.table`, lower
 * case). MySQL has no table inheritance (its partitions are not tables of their own). A view whose
 * definition the user may not see (no SHOW VIEW privilege) has an empty one: it cannot be analysed,
 * so reads of it are not stored.
 */
export const MYSQL_RELATIONS_SQL = `
SELECT LOWER(CONCAT(TABLE_SCHEMA, '.', TABLE_NAME)) AS name, VIEW_DEFINITION AS definition
  FROM information_schema.VIEWS
 WHERE TABLE_SCHEMA NOT IN ('mysql', 'sys', 'information_schema', 'performance_schema')`
