// Per-client settings: what a startup packet asks for, how a connection is brought to it, and the
// part of the cache key it makes.
import { describe, expect, it } from 'vitest'
import { DEFAULT_SETTINGS, needsCheck, schemaOf, settingsKey, settingsSql, startupRequest, startupSettings, withSetting } from '../../../src/wire/postgres/settings.js'

const defaults = new Map([
  ['timezone', 'Etc/UTC'],
  ['datestyle', 'ISO, MDY'],
  ['client_encoding', 'UTF8'],
])
const params = (o: Record<string, string>) => new Map(Object.entries(o))
/** What a startup packet asks for (startupRequest), when it is servable. */
const request = (o: Record<string, string>) => {
  const r = startupRequest(params(o))
  if (typeof r === 'string') throw new Error(r)
  return r
}

describe('startupSettings', () => {
  it('keeps what differs from the defaults, by lower-case name, and nothing that is not a setting', () => {
    const s = startupSettings(request({ user: 'u', database: 'd', TimeZone: 'Asia/Tokyo', DateStyle: 'ISO, MDY', client_encoding: 'utf-8', application_name: 'app' }), defaults)
    expect([...s]).toEqual([
      ['timezone', 'Asia/Tokyo'],
      ['application_name', 'app'],
    ])
  })

  it('a client with the defaults gets DEFAULT_SETTINGS itself, and equal settings are one object', () => {
    expect(startupSettings(request({ user: 'u', TimeZone: 'Etc/UTC', client_encoding: 'UNICODE' }), defaults)).toBe(DEFAULT_SETTINGS)
    const a = startupSettings(request({ application_name: 'x', TimeZone: 'Asia/Tokyo' }), defaults)
    const b = startupSettings(request({ TimeZone: 'Asia/Tokyo', application_name: 'x' }), defaults)
    expect(a).toBe(b)
    expect(withSetting(DEFAULT_SETTINGS, 'timezone', 'Asia/Tokyo', 'Etc/UTC')).toBe(withSetting(DEFAULT_SETTINGS, 'timezone', 'Asia/Tokyo', 'Etc/UTC'))
  })

  it('only application_name needs no word from the origin', () => {
    expect(needsCheck(startupSettings(request({ application_name: 'psql' }), defaults))).toBe(false)
    expect(needsCheck(startupSettings(request({ application_name: 'psql', TimeZone: 'Asia/Tokyo' }), defaults))).toBe(true)
  })
})

describe('startupRequest', () => {
  it('serves UTF8 in its spellings and SQL_ASCII, refuses other encodings', () => {
    for (const e of ['UTF8', 'utf-8', 'Unicode', 'SQL_ASCII']) expect(typeof startupRequest(params({ client_encoding: e }))).not.toBe('string')
    expect(startupRequest(params({ client_encoding: 'LATIN1' }))).toContain('client_encoding "LATIN1"')
  })

  it('reads options as Postgres does: -c name=value, --name=value, backslash escapes; the packet’s own entries win', () => {
    const r = request({ options: '-c statement_timeout=5s  --lock-timeout=2s -capplication_name=my\\ app -c search_path=app', statement_timeout: '7s' })
    expect([...r].sort()).toEqual([
      ['application_name', 'my app'],
      ['lock_timeout', '2s'],
      ['search_path', 'app'],
      ['statement_timeout', '7s'],
    ])
    expect(startupRequest(params({ options: '-d 5' }))).toContain('"-d" is not one')
    expect(startupRequest(params({ options: '-c' }))).toContain('"-c" is not one')
    expect(startupRequest(params({ options: '-c novalue' }))).toContain('is not one')
    expect([...request({ options: '  ' })]).toEqual([])
  })

  it('takes a search_path of one schema (quoted names keep their case), refuses several', () => {
    expect(schemaOf(startupSettings(request({ search_path: 'app' }), defaults))).toBe('app')
    expect(schemaOf(startupSettings(request({ search_path: ' "App" , pg_catalog' }), defaults))).toBe('App')
    expect(schemaOf(startupSettings(request({ search_path: 'App' }), defaults))).toBe('app')
    expect(schemaOf(DEFAULT_SETTINGS)).toBeUndefined()
    for (const path of ['app, public', '"$user", public', '$user', '']) expect(startupRequest(params({ search_path: path }))).toContain('one schema')
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
    const s = startupSettings(request({ TimeZone: 'Asia/Tokyo', DateStyle: 'SQL, DMY', application_name: 'a' }), defaults)
    expect(settingsKey(s)).toBe('datestyle=SQL, DMY\u0001timezone=Asia/Tokyo\u0001')
    expect(settingsKey(startupSettings(request({ application_name: 'b' }), defaults))).toBe('')
  })
})
