// `npm start` runs `sluice dev`: an embedded PostgreSQL (PGlite) behind Sluice, and a URL that a
// real Prisma client can use straight away. No database server is needed for this test.
import { expect, it } from 'vitest'
import { runClientScript, SLUICE_BIN, spawnNode } from './process.js'

it('sluice dev prints a DATABASE_URL with which a Prisma client queries the embedded database', async () => {
  const p = spawnNode([SLUICE_BIN, 'dev', '--http-port', '0'])
  try {
    const [, url] = await p.waitFor(/DATABASE_URL="([^"]+)"/, 60_000)
    expect(url).toMatch(/^prisma\+postgres:\/\/localhost:\d+\/\?api_key=/)
    const { code, result } = await runClientScript(url!)
    expect(result).toMatchObject({ rows: [{ id: 1, note: 'hello' }], invalidated: { ok: true } })
    expect(code).toBe(0)
    p.child.kill('SIGINT')
    expect(await p.exited).toBe(0)
  } finally {
    if (p.child.exitCode === null) p.child.kill('SIGKILL')
  }
}, 90_000)
