// `sluice keys create|list|revoke`: keys are printed once and stored only as hashes in the config file.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync, chmodSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { beforeEach, describe, expect, it } from 'vitest'
import { SLUICE_BIN } from './process.js'

const run = promisify(execFile)
const sluice = (args: string[]) =>
  run(process.execPath, [SLUICE_BIN, ...args]).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e) => ({ code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string }),
  )
const sha = (key: string) => `sha256:${createHash('sha256').update(key).digest('hex')}`
const LEGACY = sha('legacy-key')

describe('sluice keys', () => {
  let dir: string
  let file: string
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sluice-keys-'))
    file = join(dir, 'sluice.json')
    // Four-space indentation and a duration spelled by hand: both must survive an edit.
    writeFileSync(
      file,
      JSON.stringify(
        {
          limits: { queryTimeout: '5s' },
          tenants: [
            { name: 'shop', origin: 'postgresql://shop@db/shop', apiKeys: [LEGACY] },
            { name: 'crm', origin: 'postgresql://crm@db/crm', apiKeys: [sha('crm-key')] },
          ],
        },
        null,
        4,
      ),
    )
    chmodSync(file, 0o600)
  })

  it('without --config prints a key and its stored form, as before', async () => {
    const r = await sluice(['keys', 'create'])
    expect(r.code).toBe(0)
    const key = /API key \(shown once\): (sk_\S+)/.exec(r.stdout)![1]!
    expect(r.stdout).toContain(`stored form for the config file: ${sha(key)}`)
  })

  it('create --config writes only the hash, with label and time; list shows ids, never keys; revoke removes one', async () => {
    const created = await sluice(['keys', 'create', '--config', file, '--tenant', 'shop', '--label', 'checkout service'])
    expect(created.code, created.stderr).toBe(0)
    const key = /API key \(shown once\): (sk_\S+)/.exec(created.stdout)![1]!
    const id = sha(key).slice(7, 15)
    expect(created.stdout).toContain(`tenant "shop" with id ${id}`)

    const text = readFileSync(file, 'utf8')
    expect(text).not.toContain(key)
    expect(text).toMatch(/^ {4}"limits"/m) // the file's own indentation
    const json = JSON.parse(text)
    expect(json.limits.queryTimeout).toBe('5s')
    expect(json.tenants[0].apiKeys).toEqual([LEGACY, { hash: sha(key), label: 'checkout service', created: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/) }])
    expect(statSync(file).mode & 0o777).toBe(0o600)
    expect(readdirSync(dir)).toEqual(['sluice.json']) // no temp file left behind

    // The file with both kinds of entry is a valid configuration.
    expect((await sluice(['check-config', '--config', file])).code).toBe(0)

    const listed = await sluice(['keys', 'list', '--config', file])
    expect(listed.code).toBe(0)
    expect(listed.stdout).not.toContain(key)
    expect(listed.stdout).not.toContain(sha(key))
    const lines = listed.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^ID\s+TENANT\s+LABEL\s+CREATED$/)
    expect(lines.slice(1).map((l) => l.split(/\s{2,}/).slice(0, 3))).toEqual([
      [LEGACY.slice(7, 15), 'shop', '-'],
      [id, 'shop', 'checkout service'],
      [sha('crm-key').slice(7, 15), 'crm', '-'],
    ])

    const revoked = await sluice(['keys', 'revoke', '--config', file, LEGACY.slice(7, 15)])
    expect(revoked.code, revoked.stderr).toBe(0)
    expect(revoked.stdout).toContain(`revoked key ${LEGACY.slice(7, 15)} of tenant "shop"`)
    expect(JSON.parse(readFileSync(file, 'utf8')).tenants[0].apiKeys).toEqual([expect.objectContaining({ hash: sha(key) })])
    expect((await sluice(['keys', 'list', '--config', file])).stdout).not.toContain(LEGACY.slice(7, 15))
  })

  it('picks the only tenant, and asks for --tenant when there are several', async () => {
    const several = await sluice(['keys', 'create', '--config', file])
    expect(several.code).toBe(2)
    expect(several.stderr).toContain('choose one with --tenant')
    expect(several.stdout).toBe('') // no key printed that was not stored
    const unknown = await sluice(['keys', 'create', '--config', file, '--tenant', 'nope'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('no tenant "nope"')

    // The origin's secret lives in the environment of the server, not here: the file is still editable.
    writeFileSync(file, JSON.stringify({ tenants: [{ name: 'only', origin: '${SLUICE_TEST_UNSET_ORIGIN}', apiKeys: [LEGACY] }] }))
    const one = await sluice(['keys', 'create', '--config', file])
    expect(one.code, one.stderr).toBe(0)
    expect(one.stdout).toContain('tenant "only"')
    expect(JSON.parse(readFileSync(file, 'utf8')).tenants[0]).toMatchObject({ origin: '${SLUICE_TEST_UNSET_ORIGIN}', apiKeys: [LEGACY, expect.anything()] })
  })

  it('refuses to revoke a tenant\'s last key, unknown or malformed ids, and leaves the file alone', async () => {
    const before = readFileSync(file, 'utf8')
    const last = await sluice(['keys', 'revoke', '--config', file, sha('crm-key').slice(7, 15)])
    expect(last.code).toBe(2)
    expect(last.stderr).toContain('last key of tenant "crm"')
    expect((await sluice(['keys', 'revoke', '--config', file, '00000000'])).stderr).toContain('no key with id 00000000')
    expect((await sluice(['keys', 'revoke', '--config', file, 'xyz'])).code).toBe(2)
    expect((await sluice(['keys', 'revoke', '--config', file])).code).toBe(2)
    expect((await sluice(['keys', 'list'])).stderr).toContain('--config <file> is required')
    expect((await sluice(['keys', 'create', '--label', 'x'])).code).toBe(2)
    expect((await sluice(['keys', 'frobnicate'])).stderr).toContain('unknown keys command "frobnicate"')
    expect((await sluice(['keys'])).code).toBe(2)
    expect(readFileSync(file, 'utf8')).toBe(before)
  })

  it('does not edit a config file that is invalid, and names the field', async () => {
    writeFileSync(file, JSON.stringify({ tenants: [{ name: 'a', origin: 'postgresql://u@db/d', apiKeys: ['clear-text'] }] }))
    const r = await sluice(['keys', 'create', '--config', file])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('tenants[0].apiKeys[0]')
    expect(r.stdout).toBe('')
  })
})
