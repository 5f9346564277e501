// check-config, keys create and invalidate from the command line.
import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { createDatabase, describeWithPostgres } from '../helpers/postgres.js'
import { startSluice } from '../helpers/sluice.js'
import { ddl, loadClient } from '../e2e/clients.js'
import { SLUICE_BIN } from './process.js'

const run = promisify(execFile)
const sluice = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  run(process.execPath, [SLUICE_BIN, ...args], { env: { ...process.env, ...env } }).then(
    (r) => ({ code: 0, ...r }),
    (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
  )

describe('sluice keys create / check-config', () => {
  it('creates a key whose stored form a config file accepts, and check-config validates it', async () => {
    const created = await sluice(['keys', 'create'])
    expect(created.code).toBe(0)
    const key = /API key \(shown once\): (\S+)/.exec(created.stdout)![1]!
    const stored = /stored form for the config file: (sha256:[0-9a-f]{64})/.exec(created.stdout)![1]!
    const dir = mkdtempSync(join(tmpdir(), 'sluice-cmd-'))
    const file = join(dir, 'sluice.json')
    writeFileSync(file, JSON.stringify({ tenants: [{ name: 'app', origin: 'postgresql://db/app', apiKeys: [stored] }] }))
    const ok = await sluice(['check-config', '--config', file])
    expect(ok.code).toBe(0)
    expect(ok.stdout).toContain('configuration is valid: 1 tenant(s) (app)')
    writeFileSync(file, JSON.stringify({ tenants: [{ name: 'app', origin: 'postgresql://db/app', apiKeys: [key] }] }))
    const bad = await sluice(['check-config', '--config', file])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toContain('tenants[0].apiKeys[0]')
  })

  it('check-config reads the same flags as start and names a bad one', async () => {
    const ok = await sluice(['check-config', '--origin', 'postgresql://db/app', '--pg-port', 'off', '--http-port', '5000'])
    expect(ok.code).toBe(0)
    expect(ok.stdout).toContain('HTTP port 5000')
    expect(ok.stdout).not.toContain('wire port')
    const bad = await sluice(['check-config', '--origin', 'postgresql://db/app', '--query-timeout', 'soon'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/^sluice: --query-timeout: /)
    expect((await sluice(['check-config', '--no-such-flag'])).code).toBe(2)
  })
})

describeWithPostgres('sluice invalidate', () => {
  it('drops tagged entries on a running Sluice, and reports a bad key', async () => {
    const url = await createDatabase('cli_invalidate', ddl())
    const s = await startSluice({ origin: url, apiKeys: ['k'] })
    try {
      const { PrismaClient, withAccelerate } = await loadClient('7.10')
      const prisma = new PrismaClient({ accelerateUrl: s.accelerateUrl('k') }).$extends(withAccelerate())
      const q = () => prisma.user.findMany({ cacheStrategy: { ttl: 60, tags: ['users'] } }).withAccelerateInfo()
      await q()
      expect((await q()).info.cacheStatus).toBe('ttl')
      const r = await sluice(['invalidate', '--tag', 'users', '--url', s.httpUrl], { SLUICE_API_KEY: 'k' })
      expect(r.code).toBe(0)
      expect(r.stdout).toContain('invalidated users')
      expect((await q()).info.cacheStatus).toBe('miss')
      expect((await sluice(['invalidate', '--all', '--url', s.httpUrl, '--api-key', 'k'])).code).toBe(0)
      expect((await q()).info.cacheStatus).toBe('miss')
      const wrong = await sluice(['invalidate', '--all', '--url', s.httpUrl, '--api-key', 'nope'])
      expect(wrong.code).toBe(1)
      expect(wrong.stderr).toContain('P6002')
      expect((await sluice(['invalidate', '--url', s.httpUrl, '--api-key', 'k'])).code).toBe(2)
    } finally {
      await s.close()
    }
  })
})
