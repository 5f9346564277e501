// `sluice start` with a MySQL/MariaDB origin: the banner names the MySQL wire door and a URL that
// works with only host and port changed, and no Postgres wire door listens for it.
import { createConnection } from 'mysql2/promise'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createMariadbDatabase, describeWithMariadb, dropMariadbDatabase } from '../helpers/mariadb.js'
import { SLUICE_BIN, spawnNode, type Spawned } from './process.js'

describeWithMariadb('sluice start with a MySQL origin', () => {
  let dbUrl: string
  let p: Spawned | undefined
  beforeAll(async () => {
    dbUrl = await createMariadbDatabase('cli_start_mysql', 'CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO t VALUES (1, \'one\')')
  })
  afterAll(async () => {
    if (p && p.child.exitCode === null) p.child.kill('SIGKILL')
    await dropMariadbDatabase(dbUrl)
  })

  it('prints the MySQL wire door and a URL a client connects with; no Postgres door', async () => {
    p = spawnNode([SLUICE_BIN, 'start', '--origin', dbUrl, '--http-port', '0', '--pg-port', '0', '--mysql-port', '0', '--admin-port', 'off', '--api-key', 'k', '--log-level', 'warn'])
    await p.waitFor(/accelerateUrl=/)
    const banner = p.stdout()
    expect(banner).not.toContain('Postgres wire door')
    const [, port] = (await p.waitFor(/MySQL wire door on [^:]+:(\d+)/))
    const [, url] = (await p.waitFor(/^ {4}default: (mysql:\/\/\S+)$/m))
    expect(new URL(url!).port).toBe(port)
    // The pasted URL works (the origin's user, no password; the door checks it against the origin).
    const u = new URL(url!)
    const c = await createConnection({ host: '127.0.0.1', port: Number(u.port), user: decodeURIComponent(u.username), database: u.pathname.slice(1) })
    try {
      const [rows] = await c.query('SELECT v FROM t WHERE id = 1')
      expect(rows).toEqual([{ v: 'one' }])
    } finally {
      await c.end()
    }
    p.child.kill('SIGTERM')
    expect(await p.exited).toBe(0)
  })
})
