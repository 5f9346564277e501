// Which origin a MySQL wire client reaches: the tenant whose origin URL has the client's user
// (and database, when the client names one). A client proves the origin URL's password (Sluice
// holds it; the origin checks Sluice the same way), so an app keeps its DATABASE_URL and changes
// only host and port. `<tenant>.<user>` as the user name picks one of several tenants on one origin.
import type { ConnectionBudget } from '../../pool/connection-budget.js'
import type { LinkTarget } from './server-link.js'

export interface MysqlRoute {
  tenant: string
  /** The origin's identity in cache keys and epochs (shared with the HTTP door). */
  originId: string
  user: string
  password: string
  /** The URL's database: the default for clients that name none. */
  database: string
  target: LinkTarget
  connectionLimit: number
  poolTimeoutSeconds: number
  /** The origin's connection budget, shared with the HTTP door (one of its own when absent). */
  budget?: ConnectionBudget
}

/** The origin as the wire door needs it (the MySQL origin pool provides these). */
export interface MysqlOrigin {
  id: string
  settings: { url: string; connectionLimit: number; poolTimeoutSeconds: number }
  /** Shared with the HTTP door: both doors' connections count against connection_limit. */
  budget?: ConnectionBudget
  /** Session settings (statement timeout) for every server connection. */
  sessionInitSql?: string
}

export function mysqlRouteFor(tenant: string, origin: MysqlOrigin, connectTimeoutMs = 10_000): MysqlRoute {
  const url = new URL(origin.settings.url)
  const user = decodeURIComponent(url.username || 'root')
  const password = decodeURIComponent(url.password)
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''))
  return {
    tenant,
    originId: origin.id,
    user,
    password,
    database,
    target: {
      host: url.hostname.replace(/^\[|\]$/g, '') || 'localhost',
      port: Number(url.port || 3306),
      user,
      password,
      database,
      connectTimeoutMs,
      ...(origin.sessionInitSql ? { initSql: origin.sessionInitSql } : {}),
    },
    connectionLimit: origin.settings.connectionLimit,
    poolTimeoutSeconds: origin.settings.poolTimeoutSeconds,
    ...(origin.budget ? { budget: origin.budget } : {}),
  }
}

/** The route for a client's user and database (see the file comment). */
export function findRoute(routes: readonly MysqlRoute[], user: string, database: string | undefined): MysqlRoute | undefined {
  const matches = (r: MysqlRoute, u: string) => r.user === u && (database === undefined || r.database === '' || r.database === database)
  const dot = user.indexOf('.')
  if (dot > 0) {
    const tenant = user.slice(0, dot)
    const named = routes.find((r) => r.tenant === tenant && matches(r, user.slice(dot + 1)))
    if (named) return named
  }
  return routes.find((r) => matches(r, user) && (database === undefined || r.database === database)) ?? routes.find((r) => matches(r, user))
}
