// `sluice stats` (the built CLI) against a running Sluice's admin API.
import { execFile } from 'node:child_process'
import { createServer } from 'node:net'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDatabase, describeWithPostgres } from '../helpers/postgres.js'
import { startSluice, type TestSluice } from '../helpers/sluice.js'
import { ddl, loadClient } from '../e2e/clients.js'
import { SLUICE_BIN } from './process.js'
import { formatStats } from '../../src/cli/stats.js'

const run = promisify(execFile)
const sluice = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  run(process.execPath, [SLUICE_BIN, ...args], { env: { ...process.env, ...env } }).then(
    (r) => ({ code: 0, ...r }),
    (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
  )

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const srv = createServer()
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  const port = (srv.address() as { port: number }).port
  await new Promise((r) => srv.close(r))
  return port
}

describe('sluice stats (no server needed)', () => {
  it('has --help, refuses bad options and says when the admin API is unreachable', async () => {
    const help = await sluice(['stats', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toContain('Usage: sluice stats')
    expect(help.stdout).toContain('--admin-url')
    expect((await sluice(['--help'])).stdout).toMatch(/^\s+stats\s+top query shapes/m)
    expect((await sluice(['stats', '--top', 'many'])).code).toBe(2)
    expect((await sluice(['stats', '--sort', 'weird'])).code).toBe(2)
    const port = await closedPort()
    const down = await sluice(['stats', '--admin-url', `http://127.0.0.1:${port}`])
    expect(down.code).toBe(1)
    expect(down.stderr).toContain(`cannot reach the admin API at http://127.0.0.1:${port}`)
  })

  it('formats an empty node', () => {
    const out = formatStats({ uptimeSeconds: 5, totals: { requests: 0, hits: 0, misses: 0, hitRate: null }, cache: { entries: 0, bytes: 0, maxBytes: 1024 }, shapes: { tracked: 0, top: [] } })
    expect(out).toContain('hit rate —')
    expect(out).toContain('no query shapes yet')
  })
})

describeWithPostgres('sluice stats against a running node', () => {
  let s: TestSluice
  let adminUrl: string
  beforeAll(async () => {
    const url = await createDatabase('cli_stats', ddl())
    s = await startSluice({ origin: url, apiKeys: ['k'] })
    adminUrl = `http://127.0.0.1:${s.sluice.adminPort}`
    const { PrismaClient, withAccelerate } = await loadClient('7.10')
    const prisma = new PrismaClient({ accelerateUrl: s.accelerateUrl('k') }).$extends(withAccelerate())
    for (let i = 0; i < 3; i++) await prisma.user.findMany({ where: { id: { gt: 12345 } }, cacheStrategy: { ttl: 60 } })
    await prisma.post.count()
  })
  afterAll(async () => s?.close())

  it('prints the top query shapes as a table', async () => {
    const r = await sluice(['stats', '--admin-url', adminUrl])
    expect(r.code).toBe(0)
    const lines = r.stdout.split('\n')
    expect(lines[0]).toMatch(/uptime \d+s · \d+ requests · hit rate 66\.7% \(2 hits, 1 misses\)/)
    const header = lines.find((l) => l.includes('COUNT'))!
    expect(header.split(/\s{2,}/).map((h) => h.trim()).filter(Boolean)).toEqual(['COUNT', 'HIT %', 'P50', 'P99', 'SAVED', 'DOOR', 'TENANT', 'WHY NOT CACHED', 'SHAPE'])
    const many = lines.find((l) => l.includes('User.findMany'))!
    expect(many).toMatch(/^\s*3\s+66\.7%\s+\S+\s+\S+\s+\S+\s+http\s+default\s+cached\s+User\.findMany\s+SELECT/)
    expect(many).not.toContain('12345')
    expect(lines.find((l) => l.includes('Post.aggregate'))).toMatch(/no cache strategy/)
  })

  it('--json prints the API answer, --top limits it, SLUICE_ADMIN_URL works', async () => {
    const r = await sluice(['stats', '--json', '--top', '1'], { SLUICE_ADMIN_URL: adminUrl })
    expect(r.code).toBe(0)
    const body = JSON.parse(r.stdout)
    expect(body.shapes.top).toHaveLength(1)
    expect(body.shapes.top[0]).toMatchObject({ label: 'User.findMany', count: 3, hits: 2, misses: 1 })
  })
})
