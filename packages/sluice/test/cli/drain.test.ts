// SIGTERM drains both doors: in-flight work finishes, idle wire clients are told the server is
// shutting down (57P01, as Postgres does), and the process exits 0.
import pg from 'pg'
import { beforeAll, expect, it } from 'vitest'
import { createDatabase, describeWithPostgres } from '../helpers/postgres.js'
import { SLUICE_BIN, spawnNode } from './process.js'

describeWithPostgres('sluice start: SIGTERM drain of the wire door', () => {
  let db: string
  beforeAll(async () => {
    db = await createDatabase('cli_drain')
  })

  it('lets a running statement finish, says goodbye to idle clients, exits 0', async () => {
    const p = spawnNode([SLUICE_BIN, 'start', '--origin', db, '--host', '127.0.0.1', '--http-port', '0', '--pg-port', '0', '--admin-port', 'off', '--log-level', 'warn'], { SLUICE_API_KEYS: 'k', SLUICE_CONFIG: '' })
    try {
      await p.waitFor(/accelerateUrl=/)
      const wireUrl = p.stdout().match(/default: (postgresql:\S+)/)![1]!
      const idle = new pg.Client({ connectionString: wireUrl })
      const busy = new pg.Client({ connectionString: wireUrl })
      await Promise.all([idle.connect(), busy.connect()])
      const idleError = new Promise<Error & { code?: string }>((resolve) => idle.on('error', resolve))
      // Once its statement is answered, the busy client is idle too and gets the same goodbye.
      const busyError = new Promise<Error & { code?: string }>((resolve) => busy.on('error', resolve))
      // Something to wait for: the statement has started on the origin before SIGTERM.
      const running = busy.query('SELECT pg_sleep(0.8)::text AS slept')
      await new Promise((r) => setTimeout(r, 300))
      p.child.kill('SIGTERM')
      expect((await running).rows).toEqual([{ slept: '' }])
      expect(await idleError).toMatchObject({ code: '57P01' })
      expect(await busyError).toMatchObject({ code: '57P01' })
      expect(await p.exited).toBe(0)
    } finally {
      if (p.child.exitCode === null) p.child.kill('SIGKILL')
    }
  })
})
