// Per-client settings: what a startup packet asks for, how a connection is brought to it, and the
// part of the cache key it makes.
import { describe, expect, it } from 'vitest'
import { DEFAULT_SETTINGS, needsCheck, refusedEncoding, settingsKey, settingsSql, startupSettings, withSetting } from '../../../src/wire/postgres/settings.js'

const defaults = new Map([
  ['timezone', 'Etc/UTC'],
  ['datestyle', 'ISO, MDY'],
  ['client_encoding', 'UTF8'],
])
const params = (o: Record<string, string>) => new Map(Object.entries(o))

describe('startupSettings', () => {
  it('keeps what differs from the defaults, by lower-case name, and nothing that is not a setting', () => {
    const s = startupSettings(params({ user: 'u', database: 'd', TimeZone: 'Asia/Tokyo', DateStyle: 'ISO, MDY', client_encoding: 'utf-8', application_name: 'app' }), defaults)
    expect([...s]).toEqual([
      ['timezone', 'Asia/Tokyo'],
      ['application_name', 'app'],
    ])
  })

  it('a client with the defaults gets DEFAULT_SETTINGS itself, and equal settings are one object', () => {
    expect(startupSettings(params({ user: 'u', TimeZone: 'Etc/UTC', client_encoding: 'UNICODE' }), defaults)).toBe(DEFAULT_SETTINGS)
    const a = startupSettings(params({ application_name: 'x', TimeZone: 'Asia/Tokyo' }), defaults)
    const b = startupSettings(params({ TimeZone: 'Asia/Tokyo', application_name: 'x' }), defaults)
    expect(a).toBe(b)
    expect(withSetting(DEFAULT_SETTINGS, 'timezone', 'Asia/Tokyo', 'Etc/UTC')).toBe(withSetting(DEFAULT_SETTINGS, 'timezone', 'Asia/Tokyo', 'Etc/UTC'))
  })

  it('only application_name needs no word from the origin', () => {
    expect(needsCheck(startupSettings(params({ application_name: 'psql' }), defaults))).toBe(false)
    expect(needsCheck(startupSettings(params({ application_name: 'psql', TimeZone: 'Asia/Tokyo' }), defaults))).toBe(true)
  })
})

describe('refusedEncoding', () => {
  it('serves UTF8 in its spellings and SQL_ASCII, refuses the rest', () => {
    for (const e of ['UTF8', 'utf-8', 'Unicode', 'SQL_ASCII']) expect(refusedEncoding(params({ client_encoding: e }))).toBeUndefined()
    expect(refusedEncoding(params({}))).toBeUndefined()
    expect(refusedEncoding(params({ client_encoding: 'LATIN1' }))).toContain('client_encoding "LATIN1"')
  })
})

describe('withSetting', () => {
  it('a value back to the default is no setting', () => {
    const tokyo = withSetting(DEFAULT_SETTINGS, 'timezone', 'Asia/Tokyo', 'Etc/UTC')
    expect(withSetting(tokyo, 'timezone', 'Etc/UTC', 'Etc/UTC')).toBe(DEFAULT_SETTINGS)
    expect(withSetting(tokyo, 'timezone', 'Asia/Tokyo', 'Etc/UTC')).toBe(tokyo)
  })
})

describe('settingsSql', () => {
  it('sets what differs with set_config (dollar-quoted, whatever the value holds) and resets what is gone', () => {
    const from = withSetting(withSetting(DEFAULT_SETTINGS, 'timezone', 'Asia/Tokyo', undefined), 'statement_timeout', '5s', undefined)
    const to = withSetting(DEFAULT_SETTINGS, 'application_name', "it's $s$ mine", undefined)
    expect(settingsSql(from, to)).toBe(`SELECT pg_catalog.set_config($s$application_name$s$, $s0$it's $s$ mine$s0$, false); RESET "timezone"; RESET "statement_timeout"`)
    expect(settingsSql(to, to)).toBeUndefined()
    expect(settingsSql(DEFAULT_SETTINGS, DEFAULT_SETTINGS)).toBeUndefined()
    expect(settingsSql(new Map([['timezone', 'UTC']]), new Map([['timezone', 'UTC']]))).toBeUndefined()
  })
})

describe('settingsKey', () => {
  it('is empty for the defaults, ordered by name, and leaves application_name out', () => {
    expect(settingsKey(DEFAULT_SETTINGS)).toBe('')
    const s = startupSettings(params({ TimeZone: 'Asia/Tokyo', DateStyle: 'SQL, DMY', application_name: 'a' }), defaults)
    expect(settingsKey(s)).toBe('datestyle=SQL, DMY\u0001timezone=Asia/Tokyo\u0001')
    expect(settingsKey(startupSettings(params({ application_name: 'b' }), defaults))).toBe('')
  })
})
