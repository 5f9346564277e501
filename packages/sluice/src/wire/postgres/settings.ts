// Per-client settings on shared server connections (TimeZone, DateStyle, application_name, …).
//
// A client's startup packet may carry run-time settings, and a client may change a reported one
// (TimeZone, DateStyle…) with SET. Directly on Postgres they last for the client's session; behind a
// transaction pool the server connection changes every transaction. So, as PgBouncer does for its
// tracked parameters, each client's settings are remembered and each server connection records the
// settings it has; when a client is given a connection whose settings differ, the difference is
// applied first (set_config / RESET) and the client's statements wait for it. Clients with the
// origin's defaults — most of them — cost nothing: both sides hold the same DEFAULT_SETTINGS object.
//
// Settings are part of the cache key (TimeZone changes how timestamptz is printed, DateStyle how
// dates are…), except application_name, which changes no result.

/** A client's settings that differ from the origin's defaults: lower-case name → value. */
export type Settings = ReadonlyMap<string, string>

/** The origin's defaults: what a pooled connection has after connecting or DISCARD ALL. */
export const DEFAULT_SETTINGS: Settings = new Map()

// Equal settings are one object, so that a connection last used by a client with the same settings
// (the common case: every client of an app sends the same application_name) is recognised by
// identity, without comparing entries on every transaction.
const INTERNED_MAX = 1000
const interned = new Map<string, Settings>()

function intern(settings: Map<string, string>): Settings {
  if (settings.size === 0) return DEFAULT_SETTINGS
  const id = JSON.stringify([...settings].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
  const known = interned.get(id)
  if (known !== undefined) return known
  if (interned.size >= INTERNED_MAX) interned.clear()
  interned.set(id, settings)
  return settings
}

/** Startup packet entries that are not run-time settings (replication is refused elsewhere). */
const NOT_SETTINGS = new Set(['user', 'database', 'options', 'replication'])

/** Reported parameters (ParameterStatus) a client's SET changes for the rest of its session. */
export const FOLLOWED_REPORTS = new Set(['client_encoding', 'datestyle', 'intervalstyle', 'timezone', 'standard_conforming_strings', 'application_name'])

/** Settings that change no result: left out of cache keys, and not checked with the origin at startup. */
const KEYLESS = new Set(['application_name'])

/** Does applying `settings` need the origin's word first (can a value be refused)? */
export function needsCheck(settings: Settings): boolean {
  for (const name of settings.keys()) if (!KEYLESS.has(name)) return true
  return false
}

/**
 * The settings a startup packet asks for — those in its `options` (`-c name=value`,
 * `--name=value`), overridden by its own entries, as Postgres applies them — by lower-case name;
 * or why Sluice cannot serve them (a string).
 */
export function startupRequest(params: ReadonlyMap<string, string>): ReadonlyMap<string, string> | string {
  const request = new Map<string, string>()
  const options = params.get('options')
  if (options !== undefined) {
    const parsed = optionSettings(options)
    if (typeof parsed === 'string') return parsed
    for (const [name, value] of parsed) request.set(name, value)
  }
  for (const [rawName, value] of params) {
    const name = rawName.toLowerCase()
    if (!NOT_SETTINGS.has(name)) request.set(name, value)
  }
  const encoding = request.get('client_encoding')
  if (encoding !== undefined && !isUtf8(encoding) && encodingName(encoding) !== 'SQLASCII') {
    // Sluice reads statement texts as UTF-8 (cache keys, analysis) and rewrites some messages; under
    // SQL_ASCII the server passes UTF-8 bytes through unchanged.
    return `Sluice speaks UTF8 to clients and cannot serve client_encoding "${encoding.slice(0, 40)}": connect with client_encoding=UTF8 (PGCLIENTENCODING=UTF8)`
  }
  const path = request.get('search_path')
  if (path !== undefined && schemaOfPath(path) === undefined) {
    return `Sluice applies a startup search_path of one schema (unqualified table names must resolve to one place for invalidation); "${path.slice(0, 100)}" is not: name one schema, or schema-qualify your tables`
  }
  return request
}

/**
 * The settings in a startup `options` string, split as Postgres splits it (spaces separate,
 * backslash escapes): `-c name=value`, `-cname=value` and `--name=value`; dashes in names are
 * underscores. Other switches are refused (a string says why).
 */
function optionSettings(options: string): Map<string, string> | string {
  const words: string[] = []
  let word = ''
  let inWord = false
  for (let i = 0; i < options.length; i++) {
    const c = options[i]!
    if (c === '\\' && i + 1 < options.length) {
      word += options[++i]
      inWord = true
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word)
      word = ''
      inWord = false
    } else {
      word += c
      inWord = true
    }
  }
  if (inWord) words.push(word)
  const settings = new Map<string, string>()
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!
    const pair = w === '-c' ? words[++i] : w.startsWith('--') ? w.slice(2) : w.startsWith('-c') ? w.slice(2) : undefined
    const eq = pair?.indexOf('=') ?? -1
    if (pair === undefined || eq <= 0) {
      return `Sluice applies "-c name=value" and "--name=value" in the startup parameter "options"; "${w.slice(0, 60)}" is not one`
    }
    settings.set(pair.slice(0, eq).replace(/-/g, '_').toLowerCase(), pair.slice(eq + 1))
  }
  return settings
}

/**
 * The one schema a search_path names (besides pg_catalog), as Postgres reads the list (quoted
 * names keep their case), or undefined when it names none, several, or "$user".
 */
function schemaOfPath(path: string): string | undefined {
  const schemas: string[] = []
  const space = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\r'
  let i = 0
  while (i <= path.length) {
    while (space(path[i])) i++
    let name = ''
    if (path[i] === '"') {
      for (let j = i + 1; ; ) {
        const q = path.indexOf('"', j)
        if (q === -1) return undefined
        name += path.slice(j, q)
        if (path[q + 1] !== '"') {
          i = q + 1
          break
        }
        name += '"'
        j = q + 2
      }
    } else {
      const comma = path.indexOf(',', i)
      const end = comma === -1 ? path.length : comma
      name = path.slice(i, end).trim().toLowerCase()
      i = end
    }
    while (space(path[i])) i++
    if (i < path.length && path[i] !== ',') return undefined
    if (name !== 'pg_catalog') schemas.push(name)
    i++ // past the comma, or the end
  }
  return schemas.length === 1 && schemas[0] !== '' && schemas[0] !== '$user' ? schemas[0] : undefined
}

/** The schema unqualified table names resolve to under `settings`, when they set a search_path. */
export function schemaOf(settings: Settings): string | undefined {
  const path = settings.get('search_path')
  return path === undefined ? undefined : schemaOfPath(path)
}

/**
 * What the client asked for at startup (startupRequest), minus what equals the origin's defaults
 * (`defaults`: lower-case name → value, from the origin's ParameterStatus values).
 */
export function startupSettings(request: ReadonlyMap<string, string>, defaults: ReadonlyMap<string, string>): Settings {
  let settings: Map<string, string> | undefined
  for (const [name, value] of request) {
    if (name === 'client_encoding' && isUtf8(value)) continue
    if (defaults.get(name) === value) continue
    ;(settings ??= new Map()).set(name, value)
  }
  return settings === undefined ? DEFAULT_SETTINGS : intern(settings)
}

/** An encoding name as Postgres compares them: case, dashes and underscores do not count. */
const encodingName = (encoding: string) => encoding.toUpperCase().replace(/[-_]/g, '')
const isUtf8 = (encoding: string) => ['UTF8', 'UNICODE'].includes(encodingName(encoding))

/** `settings` with `name` (lower case) set to `value`, or dropped when that is the default. */
export function withSetting(settings: Settings, name: string, value: string, defaultValue: string | undefined): Settings {
  if (settings.get(name) === value) return settings
  if (value === defaultValue || (name === 'client_encoding' && isUtf8(value))) {
    if (!settings.has(name)) return settings
    const next = new Map(settings)
    next.delete(name)
    return intern(next)
  }
  return intern(new Map(settings).set(name, value))
}

/** A SQL string literal that means `s` whatever standard_conforming_strings says: dollar-quoted. */
function dollarQuoted(s: string): string {
  let tag = '$s$'
  for (let i = 0; s.includes(tag); i++) tag = `$s${i}$`
  return tag + s + tag
}

/**
 * The statements that take a connection from `from` to `to`, or undefined when they agree.
 * set_config() applies a value exactly as a startup packet does (list values included); RESET
 * returns a setting to the connection's default.
 */
export function settingsSql(from: Settings, to: Settings): string | undefined {
  if (from === to) return undefined
  const sets: string[] = []
  const resets: string[] = []
  for (const [name, value] of to) if (from.get(name) !== value) sets.push(`pg_catalog.set_config(${dollarQuoted(name)}, ${dollarQuoted(value)}, false)`)
  for (const name of from.keys()) if (!to.has(name)) resets.push(`RESET "${name.replace(/"/g, '""')}"`)
  if (sets.length === 0 && resets.length === 0) return undefined
  return [...(sets.length > 0 ? [`SELECT ${sets.join(', ')}`] : []), ...resets].join('; ')
}

/** The settings' part of a cache key: '' for the defaults. */
export function settingsKey(settings: Settings): string {
  if (settings === DEFAULT_SETTINGS) return ''
  let key = ''
  for (const name of [...settings.keys()].sort()) if (!KEYLESS.has(name)) key += `${name}=${settings.get(name)}\u0001`
  return key
}
