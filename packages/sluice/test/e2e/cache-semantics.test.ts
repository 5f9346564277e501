// Cache semantics on a PostgreSQL origin (the suite itself is in cache-semantics-suite.ts).
import { adminQuery, createDatabase, describeWithPostgres } from '../helpers/postgres.js'
import { cacheSemanticsSuite } from './cache-semantics-suite.js'
import { ddl } from './clients.js'

const dbName = (url: string) => new URL(url).pathname.slice(1)

cacheSemanticsSuite({
  name: 'PostgreSQL',
  describe: describeWithPostgres,
  provider: 'postgresql',
  createDatabase: (name) => createDatabase(name, ddl()),
  exec: (url, sql) => adminQuery(dbName(url), sql),
  // "Probe" is a view whose every row calls nextval('probe_reads').
  probeReads: async (url) =>
    Number((await adminQuery<{ v: string }>(dbName(url), 'SELECT (CASE WHEN is_called THEN last_value ELSE 0 END)::text AS v FROM probe_reads')).rows[0]!.v),
  q: (ident) => `"${ident}"`,
  resolvesViews: true,
})
