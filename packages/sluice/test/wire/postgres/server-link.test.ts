// Server connections borrowed by the wire door keep a record of the per-client settings they
// carry, across borrows and trips through the pool; anyone else borrowing one gets it reset.
import pino from 'pino'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { OriginPool } from '../../../src/pool/origin-pool.js'
import { parseOriginUrl } from '../../../src/pool/origin-url.js'
import { OriginStatementError, ServerLink } from '../../../src/wire/postgres/server-link.js'
import { DEFAULT_SETTINGS, withSetting } from '../../../src/wire/postgres/settings.js'
import { createDatabase, describeWithPostgres } from '../../helpers/postgres.js'

describeWithPostgres('ServerLink settings', () => {
  let origin: OriginPool

  beforeAll(async () => {
    const url = await createDatabase('server_link', 'SELECT 1')
    origin = new OriginPool(parseOriginUrl(`${url}?connection_limit=1`), { statementTimeoutMs: 0, logger: pino({ level: 'silent' }) })
  })
  afterAll(async () => origin?.close())

  const tokyo = withSetting(DEFAULT_SETTINGS, 'timezone', 'Asia/Tokyo', undefined)
  const show = async () => (await origin.pool.query<{ tz: string }>("SELECT current_setting('TimeZone') AS tz")).rows[0]!.tz

  it('applies settings once, keeps the record through the pool, and resets for other borrowers', async () => {
    const defaultTz = await show()
    let link = await ServerLink.acquire(origin)
    expect(link.settings).toBe(DEFAULT_SETTINGS)
    await link.align(tokyo)
    expect(link.align(tokyo)).toBeUndefined() // already there: no statement
    link.release()
    // Back to the pool (as when someone else waits), then borrowed by the wire door again: it is
    // taken as it is, no statement to run.
    const raw = await origin.connectRaw() // the park gives its connection back to the pool first
    raw.release()
    link = await ServerLink.acquire(origin)
    expect(link.settings).toBe(tokyo)
    expect(link.align(tokyo)).toBeUndefined()
    link.release()
    // Anyone else (the HTTP door, Sluice's own queries) gets the origin's defaults…
    expect(await show()).toBe(defaultTz)
    // …and the wire door knows the connection was reset.
    link = await ServerLink.acquire(origin)
    expect(link.settings).toBe(DEFAULT_SETTINGS)
    link.release()
  })

  it('a connection with a cancel request in flight goes to nobody else before the origin has handled it', async () => {
    const link = await ServerLink.acquire(origin)
    let settle!: () => void
    link.holdUntil(new Promise<void>((r) => (settle = r)))
    link.release()
    // One connection in all: the next borrower waits for this one.
    let next: ServerLink | undefined
    const borrowing = ServerLink.acquire(origin).then((l) => (next = l))
    await new Promise((r) => setTimeout(r, 150))
    expect(next).toBeUndefined()
    settle()
    await borrowing
    expect(next).toBeDefined()
    next!.release()
  })

  it('a value the origin refuses rejects with its SQLSTATE, and the connection is not reused', async () => {
    const link = await ServerLink.acquire(origin)
    const err = await link.align(withSetting(DEFAULT_SETTINGS, 'timezone', 'Nowhere/Else', undefined))!.catch((e: unknown) => e)
    expect(err).toBeInstanceOf(OriginStatementError)
    expect(err).toMatchObject({ code: '22023' })
    const before = origin.pool.totalCount
    link.release()
    expect(origin.pool.totalCount).toBe(before - 1)
    expect(await show()).toBeTruthy()
  })
})
