// Access to the machine's real MariaDB (or MySQL) for tests.
//
// Locally, a suite that needs MariaDB is skipped with a visible reason when no server answers.
// Under CI (CI=true) the server is mandatory: the suite fails instead of skipping.
import * as mariadb from 'mariadb'
import { describe } from 'vitest'

export const MARIADB_ADMIN_URL = process.env.SLUICE_TEST_MARIADB_URL ?? 'mariadb://root@127.0.0.1:3306/test'

function adminConfig(database?: string): mariadb.ConnectionConfig {
  const u = new URL(MARIADB_ADMIN_URL)
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username) || 'root',
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(database !== undefined ? { database } : {}),
    connectTimeout: 3000,
    multipleStatements: true,
  }
}

let available: Promise<string | null> | undefined

/** Resolves to null when MariaDB answers, otherwise to the reason it does not. */
export function mariadbUnavailableReason(): Promise<string | null> {
  available ??= (async () => {
    let conn: mariadb.Connection | undefined
    try {
      conn = await mariadb.createConnection(adminConfig())
      await conn.query('SELECT 1')
      return null
    } catch (error) {
      return `MariaDB at ${MARIADB_ADMIN_URL} is not reachable (${(error as Error).message})`
    } finally {
      await conn?.end().catch(() => {})
    }
  })()
  return available
}

const reason = await mariadbUnavailableReason()
if (reason !== null && process.env.CI === 'true') {
  throw new Error(`CI=true requires MariaDB: ${reason}`)
}
if (reason !== null) {
  console.warn(`[sluice tests] SKIPPING MariaDB suites: ${reason}`)
}

/** `describe` that runs only when MariaDB is reachable (mandatory under CI=true). */
export const describeWithMariadb = reason === null ? describe : describe.skip

/** A connection URL (`mysql://` by default, as Prisma users write it) for a database on the test server. */
export function mariadbUrl(database: string, params: Record<string, string> = {}, scheme: 'mysql' | 'mariadb' = 'mysql'): string {
  const url = new URL(MARIADB_ADMIN_URL.replace(/^\w+:/, `${scheme}:`))
  url.pathname = `/${database}`
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
  return url.toString()
}

/** Runs SQL (several statements allowed) as the admin user, in `database` when given. */
export async function mariadbQuery<T = unknown>(database: string | undefined, sql: string, values?: unknown[]): Promise<T> {
  const conn = await mariadb.createConnection(adminConfig(database))
  try {
    return (await conn.query(sql, values)) as T
  } finally {
    await conn.end()
  }
}

/**
 * (Re)creates an empty database, optionally running a DDL script in it, and returns its URL.
 * Names are suffixed with the process id so that parallel runs on one machine do not collide.
 */
export async function createMariadbDatabase(name: string, ddl?: string, params: Record<string, string> = {}): Promise<string> {
  const db = `${name}_${process.pid}`
  await mariadbQuery(undefined, `DROP DATABASE IF EXISTS \`${db}\`; CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`)
  if (ddl) await mariadbQuery(db, ddl)
  return mariadbUrl(db, params)
}

export async function dropMariadbDatabase(url: string): Promise<void> {
  const db = decodeURIComponent(new URL(url).pathname.slice(1))
  await mariadbQuery(undefined, `DROP DATABASE IF EXISTS \`${db}\``)
}

/** Server connections currently open to one database (seen from the database side), the caller's own excluded. */
export async function mariadbConnectionCount(url: string): Promise<number> {
  const db = decodeURIComponent(new URL(url).pathname.slice(1))
  const rows = await mariadbQuery<{ n: bigint | number }[]>(
    undefined,
    'SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()',
    [db],
  )
  return Number(rows[0]?.n ?? 0)
}
