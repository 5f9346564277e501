// The admin token: flag > env > config file, never required, refused when too short.
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, loadConfig, readConfigFile } from '../../src/config/load.js'

function configFile(content: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sluice-admin-')), 'sluice.json')
  writeFileSync(file, JSON.stringify(content))
  return file
}

const origin = 'postgresql://db/app'

describe('admin token', () => {
  it('is absent by default', () => {
    expect(loadConfig({ origin }, {}).admin).toEqual({ port: 9466, host: '127.0.0.1' })
  })

  it('comes from --admin-token over SLUICE_ADMIN_TOKEN over admin.token in the file', () => {
    const file = configFile({ admin: { token: 'from-the-file-0123456789' } })
    expect(loadConfig({ origin, config: file }, {}).admin?.token).toBe('from-the-file-0123456789')
    expect(loadConfig({ origin, config: file }, { SLUICE_ADMIN_TOKEN: 'from-the-env-0123456789' }).admin?.token).toBe('from-the-env-0123456789')
    expect(loadConfig({ origin, config: file, adminToken: 'from-the-flag-0123456789' }, { SLUICE_ADMIN_TOKEN: 'from-the-env-0123456789' }).admin?.token).toBe(
      'from-the-flag-0123456789',
    )
    // an empty variable means "not set"
    expect(loadConfig({ origin, config: file }, { SLUICE_ADMIN_TOKEN: '' }).admin?.token).toBe('from-the-file-0123456789')
  })

  it('is refused when shorter than 16 characters, naming the field', () => {
    expect(() => loadConfig({ origin, adminToken: 'short' }, {})).toThrow(ConfigError)
    expect(() => loadConfig({ origin, adminToken: 'short' }, {})).toThrow(/--admin-token: use at least 16 characters/)
    expect(() => readConfigFile(configFile({ admin: { token: 'short' } }))).toThrow(/admin\.token: use at least 16 characters/)
  })
})
