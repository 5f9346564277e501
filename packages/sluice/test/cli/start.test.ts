// `sluice start`: the CLI contract, TLS for prisma:// URLs, and graceful drain on SIGTERM.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDatabase, describeWithPostgres } from '../helpers/postgres.js'
import { runClientScript, SLUICE_BIN, spawnNode, type Spawned } from './process.js'

function stop(p: Spawned | undefined) {
  if (p && p.child.exitCode === null) p.child.kill('SIGKILL')
}

describe('sluice CLI basics', () => {
  it('prints help and version, and rejects bad input with exit code 2', () => {
    const help = execFileSync(process.execPath, [SLUICE_BIN, 'start', '--help']).toString()
    expect(help).toContain('--origin')
    expect(help).toContain('SLUICE_API_KEYS')
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
    expect(execFileSync(process.execPath, [SLUICE_BIN, 'version']).toString().trim()).toBe(pkg.version)
    for (const args of [['start'], ['start', '--origin', 'mysqlx://nope'], ['start', '--origin', 'postgresql://x/y', '--query-timeout', 'soon'], ['start', '--bogus'], ['frobnicate']]) {
      let status = 0
      let stderr = ''
      try {
        execFileSync(process.execPath, [SLUICE_BIN, ...args], { stdio: 'pipe' })
      } catch (e) {
        status = (e as { status: number }).status
        stderr = String((e as { stderr: Buffer }).stderr)
      }
      expect(status, args.join(' ')).toBe(2)
      expect(stderr).toMatch(/^sluice: /)
    }
  })

  it('names the field when the config file is invalid', () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-cfg-'))
    const file = join(dir, 'sluice.json')
    writeFileSync(file, JSON.stringify({ tenants: [{ name: 'a', origin: 'postgresql://db/a', apiKeys: ['plaintext-key'] }] }))
    let stderr = ''
    try {
      execFileSync(process.execPath, [SLUICE_BIN, 'start', '--config', file], { stdio: 'pipe' })
    } catch (e) {
      stderr = String((e as { stderr: Buffer }).stderr)
    }
    expect(stderr).toContain('tenants[0].apiKeys[0]')
    expect(stderr).toContain('sha256:')
  })
})

describeWithPostgres('sluice start', () => {
  let dbUrl: string
  beforeAll(async () => {
    dbUrl = await createDatabase('cli_start')
  })

  it('serves plain HTTP for prisma+postgres://localhost URLs; keys from env; drains on SIGTERM', async () => {
    const p = spawnNode([SLUICE_BIN, 'start', '--origin', dbUrl, '--http-port', '0', '--pg-port', '0', '--admin-port', '0', '--log-level', 'warn'], { SLUICE_API_KEYS: 'env-key-1, env-key-2' })
    try {
      const [, url] = await p.waitFor(/accelerateUrl="([^"]+)"/)
      expect(url).toMatch(/^prisma\+postgres:\/\/localhost:\d+\/\?api_key=env-key-1$/)
      expect(p.stdout()).toContain('connection_limit')
      // The banner: every listener and what to paste.
      const out = p.stdout()
      expect(out).toMatch(/HTTP door \(Prisma Accelerate protocol\) on http:\/\/0\.0\.0\.0:\d+/)
      expect(out).toMatch(/default: postgresql:\/\/postgres@localhost:\d+\/cli_start_\d+\n/)
      expect(out).toMatch(/metrics: +http:\/\/127\.0\.0\.1:\d+\/metrics/)
      expect(out).toMatch(/dashboard: +http:\/\/127\.0\.0\.1:\d+\//)
      expect(out).toContain(`kill -HUP ${p.child.pid}`)
      const { code, result } = await runClientScript(url!.replace('env-key-1', 'env-key-2'))
      expect(result).toMatchObject({ rows: [{ id: 1, note: 'hello' }], invalidated: { ok: true } })
      expect(code).toBe(0)

      // An in-flight request finishes before the process exits.
      const port = new URL(url!.replace('prisma+postgres', 'http')).port
      const slow = fetch(`http://127.0.0.1:${port}/query`, {
        method: 'POST',
        headers: { authorization: 'Bearer env-key-1' },
        body: JSON.stringify({ operation: 'queryRaw', plan: { type: 'query', args: { type: 'rawSql', sql: 'SELECT pg_sleep(0.7)::text AS s', args: [], argTypes: [] } }, params: {} }),
      })
      await new Promise((r) => setTimeout(r, 200))
      p.child.kill('SIGTERM')
      const res = await slow
      expect(res.status).toBe(200)
      expect(await p.exited).toBe(0)
      expect(p.stdout()).toContain('SIGTERM received')
    } finally {
      stop(p)
    }
  })

  it('generates and prints a key when none is configured', async () => {
    const p = spawnNode([SLUICE_BIN, 'start', '--origin', dbUrl, '--http-port', '0', '--pg-port', '0', '--admin-port', '0'], { SLUICE_API_KEYS: '' })
    try {
      const [, url] = await p.waitFor(/accelerateUrl="([^"]+)"/)
      expect(url).toMatch(/api_key=sk_[A-Za-z0-9_-]{32}$/)
      const { result } = await runClientScript(url!)
      expect(result.rows).toEqual([{ id: 1, note: 'hello' }])
    } finally {
      stop(p)
    }
  })

  describe('TLS', () => {
    let dir: string
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'sluice-tls-'))
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'),
      ], { stdio: 'ignore' })
    })
    let p: Spawned | undefined
    afterAll(() => stop(p))

    it('serves prisma:// clients over HTTPS; a private CA works with NODE_EXTRA_CA_CERTS', async () => {
      p = spawnNode([SLUICE_BIN, 'start', '--origin', dbUrl, '--http-port', '0', '--pg-port', '0', '--admin-port', '0', '--api-key', 'tls-key', '--tls-cert', join(dir, 'cert.pem'), '--tls-key', join(dir, 'key.pem')], {
        SLUICE_API_KEYS: '',
      })
      const [, port] = await p.waitFor(/https:\/\/0\.0\.0\.0:(\d+)/)
      const url = `prisma://localhost:${port}/?api_key=tls-key`
      const trusted = await runClientScript(url, { NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem') })
      expect(trusted.result.rows).toEqual([{ id: 1, note: 'hello' }])
      // Without the CA the client refuses the self-signed certificate.
      const untrusted = await runClientScript(url, { NODE_EXTRA_CA_CERTS: '' })
      expect(untrusted.code).not.toBe(0)
      expect(JSON.stringify(untrusted.result)).toMatch(/fetch failed|certificate|self.signed/i)
    })
  })
})
