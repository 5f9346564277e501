// Access to the machine's real PostgreSQL for tests.
//
// Locally, a suite that needs Postgres is skipped with a visible reason when no server answers.
// Under CI (CI=true) the server is mandatory: the suite fails instead of skipping.
import pg from 'pg'
import { describe } from 'vitest'

export const PG_ADMIN_URL = process.env.SLUICE_TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'

let available: Promise<string | null> | undefined

/** Resolves to null when Postgres answers, otherwise to the reason it does not. */
export function postgresUnavailableReason(): Promise<string | null> {
  available ??= (async () => {
    const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 })
    try {
      await client.connect()
      await client.query('SELECT 1')
      return null
    } catch (error) {
      return `PostgreSQL at ${PG_ADMIN_URL} is not reachable (${(error as Error).message})`
    } finally {
      await client.end().catch(() => {})
    }
  })()
  return available
}

const reason = await postgresUnavailableReason()
if (reason !== null && process.env.CI === 'true') {
  throw new Error(`CI=true requires PostgreSQL: ${reason}`)
}
if (reason !== null) {
  console.warn(`[sluice tests] SKIPPING PostgreSQL suites: ${reason}`)
}

/** `describe` that runs only when Postgres is reachable (mandatory under CI=true). */
export const describeWithPostgres = reason === null ? describe : describe.skip

/** Builds a connection URL for a database on the test server. */
export function databaseUrl(database: string, params: Record<string, string> = {}): string {
  const url = new URL(PG_ADMIN_URL)
  url.pathname = `/${database}`
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
  return url.toString()
}

/** Runs SQL as the admin user against one database. */
export async function adminQuery<T extends pg.QueryResultRow = pg.QueryResultRow>(
  database: string,
  sql: string,
  values?: unknown[],
): Promise<pg.QueryResult<T>> {
  const client = new pg.Client({ connectionString: databaseUrl(database) })
  await client.connect()
  try {
    return await client.query<T>(sql, values)
  } finally {
    await client.end()
  }
}

/**
 * (Re)creates an empty database, optionally running a DDL script in it, and returns its URL.
 * Names are suffixed with the process id so that parallel runs on one machine do not collide.
 */
export async function createDatabase(name: string, ddl?: string): Promise<string> {
  const db = `${name}_${process.pid}`
  await adminQuery('postgres', `DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`)
  await adminQuery('postgres', `CREATE DATABASE "${db}"`)
  if (ddl) await adminQuery(db, ddl)
  return databaseUrl(db)
}

export async function dropDatabase(url: string): Promise<void> {
  const db = new URL(url).pathname.slice(1)
  await adminQuery('postgres', `DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`)
}

/** Number of server connections currently open to one database (seen from the database side). */
export async function connectionCount(url: string): Promise<number> {
  const db = new URL(url).pathname.slice(1)
  const res = await adminQuery<{ n: string }>(
    'postgres',
    'SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
    [db],
  )
  return Number(res.rows[0]?.n ?? 0)
}
