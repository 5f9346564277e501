// @sluice/prisma: with a prisma:// URL (TLS), the stock extension sends invalidations to Prisma's
// hosted service; withSluice() sends them to this Sluice. Real client, real TLS.
import { execFileSync } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createDatabase, describeWithPostgres } from '../helpers/postgres.js'
import { startSluice, type TestSluice } from '../helpers/sluice.js'
import { spawnNode } from '../cli/process.js'
import { ddl } from './clients.js'

const SCRIPT = fileURLToPath(new URL('./fixtures/with-sluice-script.ts', import.meta.url))

describeWithPostgres('@sluice/prisma withSluice() over TLS', () => {
  let s: TestSluice
  let dir: string
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-ext-'))
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
    const url = await createDatabase('ext_tls', ddl())
    s = await startSluice({ origin: url, apiKeys: ['k'], tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') } })
  })
  afterAll(async () => s?.close())

  async function run(extension: 'sluice' | 'stock') {
    const p = spawnNode(['--import', 'tsx', SCRIPT], {
      SLUICE_URL: `prisma://localhost:${s.port}/?api_key=k`,
      NODE_EXTRA_CA_CERTS: join(dir, 'cert.pem'),
      EXTENSION: extension,
    })
    await p.exited
    return JSON.parse(p.stdout().trim().split('\n').pop() || '{}')
  }

  it('withSluice() delivers invalidate and invalidateAll to Sluice', async () => {
    const r = await run('sluice')
    expect(r).toMatchObject({ first: 'miss', second: 'ttl', invalidate: { ok: true }, afterInvalidate: 'miss', invalidateAll: { ok: true } })
    expect(r.invalidate.requestId).toMatch(/-TST$/)
  })

  it('the stock extension would send them to the hosted service instead (the trap withSluice closes)', async () => {
    const r = await run('stock')
    expect(r.invalidate.ok).toBe(false) // posted to accelerate.prisma-data.net, unreachable here
    expect(r.afterInvalidate).toBe('ttl') // so Sluice never heard of it
  })
})
