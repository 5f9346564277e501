// API keys kept in the config file: `sluice keys create|list|revoke --config <file>`.
//
// The file is the store, so a running node picks changes up on SIGHUP and there is no second source
// of truth. Only hashes are written. Each key is known by a short id — the first 8 hex digits of
// its hash — which is safe to show and type (it reveals nothing usable about the key).
// Edits go through the raw JSON (not the parsed config) so that fields the schema resolves — durations,
// sizes — keep the operator's spelling, and are validated against the schema before the file is
// replaced atomically (temp file in the same directory, then rename).
import { randomBytes } from 'node:crypto'
import { chmodSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { ConfigError, describeIssues, expandEnv } from './load.js'
import { fileConfigSchema, type ApiKeyEntry } from './schema.js'

export interface StoredKey {
  /** First 8 hex digits of the hash. */
  id: string
  tenant: string
  label: string | undefined
  created: string | undefined
  /** `sha256:<hex>`. */
  hash: string
}

interface RawTenant {
  name?: unknown
  apiKeys?: unknown
  [k: string]: unknown
}

interface RawConfig {
  tenants?: RawTenant[]
  [k: string]: unknown
}

export const keyId = (hash: string): string => hash.slice('sha256:'.length, 'sha256:'.length + 8)

function entryHash(e: unknown): string | undefined {
  if (typeof e === 'string') return e
  if (e && typeof e === 'object' && typeof (e as { hash?: unknown }).hash === 'string') return (e as { hash: string }).hash
  return undefined
}

/** Reads the file and checks it against the schema; the raw JSON is returned for editing. */
function readRaw(path: string): { raw: RawConfig; indent: string } {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`)
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`)
  }
  const problems = issues(raw)
  if (problems) throw new ConfigError(`invalid config file ${path}:\n${problems}`)
  // Keep the file's own indentation (first indented line), two spaces when it has none.
  const indent = /\n([ \t]+)\S/.exec(text)?.[1] ?? '  '
  return { raw: raw as RawConfig, indent }
}

/**
 * Schema problems of the file, or undefined. `${VAR}` references are expanded from this process's
 * environment where set; a field still holding a reference (its secret lives only where Sluice
 * runs) is not this command's business and is not checked.
 */
function issues(raw: unknown): string | undefined {
  const parsed = fileConfigSchema.safeParse(expandEnv(raw, process.env, 'keep'))
  if (parsed.success) return undefined
  const relevant = parsed.error.issues.filter((i) => {
    let v: unknown = raw
    for (const p of i.path) v = (v as Record<PropertyKey, unknown> | undefined)?.[p as PropertyKey]
    return !(typeof v === 'string' && v.includes('${'))
  })
  return relevant.length === 0 ? undefined : describeIssues({ issues: relevant })
}

/** Validates and replaces the file atomically, keeping its permissions (it may be 0600). */
function writeRaw(path: string, raw: RawConfig, indent: string): void {
  const problems = issues(raw)
  if (problems) throw new ConfigError(`refusing to write an invalid config file:\n${problems}`)
  const mode = statSync(path).mode & 0o777
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    writeFileSync(tmp, `${JSON.stringify(raw, null, indent)}\n`, { mode, flag: 'wx' })
    chmodSync(tmp, mode)
    renameSync(tmp, path)
  } catch (e) {
    try {
      unlinkSync(tmp)
    } catch {
      // already renamed or never created
    }
    throw new ConfigError(`cannot write config file ${path}: ${(e as Error).message}`)
  }
}

function tenantsOf(raw: RawConfig, path: string): RawTenant[] {
  if (!Array.isArray(raw.tenants) || raw.tenants.length === 0) {
    throw new ConfigError(`${path} has no tenants: add one ({ "name", "origin", "apiKeys" }) first`)
  }
  return raw.tenants
}

/** Adds a key hash to a tenant's `apiKeys`. `tenant` may be omitted when the file has exactly one. */
export function addKey(path: string, tenant: string | undefined, hash: string, label: string | undefined, now = new Date()): StoredKey {
  const { raw, indent } = readRaw(path)
  const tenants = tenantsOf(raw, path)
  let target: RawTenant | undefined
  if (tenant === undefined) {
    if (tenants.length > 1) throw new ConfigError(`${path} has several tenants (${tenants.map((t) => t.name).join(', ')}): choose one with --tenant`)
    target = tenants[0]
  } else {
    target = tenants.find((t) => t.name === tenant)
    if (!target) throw new ConfigError(`--tenant: no tenant "${tenant}" in ${path} (tenants: ${tenants.map((t) => t.name).join(', ')})`)
  }
  const entry: ApiKeyEntry = { hash, ...(label !== undefined ? { label } : {}), created: now.toISOString().replace(/\.\d{3}Z$/, 'Z') }
  const keys = Array.isArray(target!.apiKeys) ? target!.apiKeys : []
  target!.apiKeys = [...keys, entry]
  writeRaw(path, raw, indent)
  return { id: keyId(hash), tenant: String(target!.name), label, created: entry.created, hash }
}

/** Every stored key of every tenant (hashes only; the keys themselves were never stored). */
export function listKeys(path: string): StoredKey[] {
  const { raw } = readRaw(path)
  const out: StoredKey[] = []
  for (const t of raw.tenants ?? []) {
    for (const e of (t.apiKeys as unknown[] | undefined) ?? []) {
      const hash = entryHash(e)!
      const obj = typeof e === 'object' ? (e as Exclude<ApiKeyEntry, string>) : undefined
      out.push({ id: keyId(hash), tenant: String(t.name), label: obj?.label, created: obj?.created, hash })
    }
  }
  return out
}

/**
 * Removes the key whose id (or any longer prefix of its hex hash, or the whole `sha256:…` form)
 * is given. Refuses an ambiguous id, and refusing to leave a tenant without keys is the schema's
 * job (a tenant needs at least one).
 */
export function revokeKey(path: string, id: string): StoredKey {
  const wanted = id.startsWith('sha256:') ? id.slice('sha256:'.length).toLowerCase() : id.toLowerCase()
  if (!/^[0-9a-f]{8,64}$/.test(wanted)) throw new ConfigError(`key id: expected the 8 hex digits "sluice keys list" shows, got "${id}"`)
  const { raw, indent } = readRaw(path)
  const matches: { tenant: RawTenant; index: number; key: StoredKey }[] = []
  for (const t of raw.tenants ?? []) {
    const keys = (t.apiKeys as unknown[] | undefined) ?? []
    keys.forEach((e, index) => {
      const hash = entryHash(e)!
      if (!hash.slice('sha256:'.length).startsWith(wanted)) return
      const obj = typeof e === 'object' ? (e as Exclude<ApiKeyEntry, string>) : undefined
      matches.push({ tenant: t, index, key: { id: keyId(hash), tenant: String(t.name), label: obj?.label, created: obj?.created, hash } })
    })
  }
  if (matches.length === 0) throw new ConfigError(`no key with id ${id} in ${path} (see: sluice keys list --config ${path})`)
  if (matches.length > 1) throw new ConfigError(`key id ${id} is ambiguous (${matches.length} keys): give more digits of the hash`)
  const { tenant, index, key } = matches[0]!
  const keys = tenant.apiKeys as unknown[]
  if (keys.length === 1) {
    throw new ConfigError(`key ${key.id} is the last key of tenant "${key.tenant}": create its replacement first (sluice keys create --tenant ${key.tenant})`)
  }
  tenant.apiKeys = keys.filter((_, i) => i !== index)
  writeRaw(path, raw, indent)
  return key
}
