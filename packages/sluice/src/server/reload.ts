// What a configuration reload (SIGHUP) may change on a running node, and what needs a restart.
//
// Reloaded in place: API keys, the wire door's cache settings (rules, mode, auto ttl, result size
// bound) and the log level — all read per request or per statement, so swapping them drops no
// connection. Everything that shapes listeners, pools or the cache itself (ports, hosts, TLS,
// origins and their pool settings, limits, cache size, Redis, tenants' behaviour) is only reported.
import type { SluiceConfig, TenantConfig } from '../config/schema.js'
import type { WireCacheSettings } from '../wire/cache-policy.js'

export interface ReloadReport {
  /** What changed and was applied, e.g. `keys`, `pg.rules`, `logLevel`. */
  applied: string[]
  /** Fields that changed but need a restart; ignored until then. */
  needsRestart: string[]
}

const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null)

/** Tenant fields other than its keys: all need a restart. */
function tenantShape(t: TenantConfig): unknown {
  return { origin: t.origin, invalidateOnWrite: t.invalidateOnWrite, consistency: t.consistency, pgPoolMode: t.pgPoolMode, pgAuth: t.pgAuth }
}

const keySet = (t: TenantConfig | undefined) => (t?.apiKeyHashes ?? []).map((h) => h.toString('hex')).sort().join(',')

/** Compares the configuration a node runs with a newly loaded one. */
export function compareConfigs(running: SluiceConfig, next: SluiceConfig): ReloadReport & { keysChanged: boolean; pgCacheChanged: boolean; logLevelChanged: boolean } {
  const needsRestart: string[] = []
  const check = (field: string, a: unknown, b: unknown) => {
    if (!same(a, b)) needsRestart.push(field)
  }
  check('http.port', running.http.port, next.http.port)
  check('http.host', running.http.host, next.http.host)
  check('http.tls', running.http.tls, next.http.tls)
  check('region', running.region, next.region)
  check('limits.queryTimeout', running.limits.queryTimeoutMs, next.limits.queryTimeoutMs)
  check('limits.maxTransactionTimeout', running.limits.maxTransactionTimeoutMs, next.limits.maxTransactionTimeoutMs)
  check('limits.maxResponseSize', running.limits.maxResponseSize, next.limits.maxResponseSize)
  check('limits.maxRequestSize', running.limits.maxRequestSize, next.limits.maxRequestSize)
  check('cache.maxSize', running.cache.maxBytes, next.cache.maxBytes)
  check('cache.invalidateRateLimit', running.cache.invalidateRateLimit, next.cache.invalidateRateLimit)
  check('admin', running.admin, next.admin)
  check('redis', running.redis, next.redis)
  if ((running.pg === undefined) !== (next.pg === undefined)) needsRestart.push('pg (wire door on/off)')
  else if (running.pg && next.pg) {
    check('pg.port', running.pg.port, next.pg.port)
    check('pg.host', running.pg.host, next.pg.host)
    check('pg.requireTls', running.pg.requireTls, next.pg.requireTls)
  }

  let keysChanged = false
  const before = new Map(running.tenants.map((t) => [t.name, t]))
  const after = new Map(next.tenants.map((t) => [t.name, t]))
  for (const [name, t] of after) {
    const old = before.get(name)
    if (!old) {
      needsRestart.push(`tenants.${name} (new tenant)`)
      continue
    }
    if (!same(tenantShape(old), tenantShape(t))) needsRestart.push(`tenants.${name} (origin or options)`)
  }
  for (const [name, t] of before) {
    if (after.has(name)) {
      if (keySet(t) !== keySet(after.get(name))) keysChanged = true
    } else {
      // Its keys stop working now; its pool closes with the process.
      needsRestart.push(`tenants.${name} (removed: keys revoked now, pool closed at restart)`)
      if (t.apiKeyHashes.length > 0) keysChanged = true
    }
  }

  const pgCacheChanged =
    running.pg !== undefined &&
    next.pg !== undefined &&
    !same(
      { cache: running.pg.cache, autoTtlMs: running.pg.autoTtlMs, maxResultBytes: running.pg.maxResultBytes, rules: running.pg.rules },
      { cache: next.pg.cache, autoTtlMs: next.pg.autoTtlMs, maxResultBytes: next.pg.maxResultBytes, rules: next.pg.rules },
    )
  const logLevelChanged = running.logLevel !== next.logLevel
  const applied = [...(keysChanged ? ['keys'] : []), ...(pgCacheChanged ? ['pg.rules'] : []), ...(logLevelChanged ? ['logLevel'] : [])]
  return { applied, needsRestart, keysChanged, pgCacheChanged, logLevelChanged }
}

/**
 * What the node runs after a reload: the started configuration with the reloadable parts taken
 * from `next`. The next reload compares against this, so a field that needs a restart keeps being
 * reported, and reloadable parts are compared with what is actually in force.
 */
export function afterReload(running: SluiceConfig, next: SluiceConfig): SluiceConfig {
  const keys = new Map(next.tenants.map((t) => [t.name, t.apiKeyHashes]))
  return {
    ...running,
    logLevel: next.logLevel,
    ...(running.pg && next.pg
      ? { pg: { ...running.pg, cache: next.pg.cache, autoTtlMs: next.pg.autoTtlMs, maxResultBytes: next.pg.maxResultBytes, rules: next.pg.rules } }
      : {}),
    // A removed tenant keeps its place (its pool lives on) but no longer has keys.
    tenants: running.tenants.map((t) => ({ ...t, apiKeyHashes: keys.get(t.name) ?? [] })),
  }
}

/** A wire door's cache settings (Postgres or MySQL section) from the resolved configuration. */
export function wireCacheSettings(door: Pick<NonNullable<SluiceConfig['pg']>, 'cache' | 'autoTtlMs' | 'maxResultBytes' | 'rules'>): WireCacheSettings {
  return {
    mode: door.cache,
    autoTtlMs: door.autoTtlMs,
    maxResultBytes: door.maxResultBytes,
    rules: door.rules.map((r) => ({
      ...(r.table !== undefined ? { table: r.table } : {}),
      ...(r.pattern !== undefined ? { pattern: new RegExp(r.pattern) } : {}),
      policy: { ttlMs: r.ttlMs, swrMs: r.swrMs, tags: r.tags },
    })),
  }
}
