// Cache semantics on a MariaDB origin (the suite itself is in cache-semantics-suite.ts).
import { createMariadbDatabase, describeWithMariadb, mariadbQuery } from '../helpers/mariadb.js'
import { cacheSemanticsSuite } from './cache-semantics-suite.js'
import { mysqlDdl } from './clients.js'

const dbName = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1))

cacheSemanticsSuite({
  name: 'MariaDB',
  describe: describeWithMariadb,
  provider: 'mysql',
  createDatabase: (name) => createMariadbDatabase(name, mysqlDdl()),
  exec: (url, sql) => mariadbQuery(dbName(url), sql),
  // "Probe" is a view whose every row calls NEXTVAL(probe_reads), a NOCACHE sequence: its
  // next_not_cached_value is the next value it will hand out, so it counts rows read exactly.
  probeReads: async (url) => Number((await mariadbQuery<{ v: bigint | number }[]>(dbName(url), 'SELECT next_not_cached_value - 1 AS v FROM probe_reads'))[0]!.v),
  q: (ident) => `\`${ident}\``,
  resolvesViews: true,
})
