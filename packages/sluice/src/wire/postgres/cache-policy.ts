// Which Postgres wire statements are safe to cache (volatile functions, locking reads, system
// catalogs…); hints, rules, auto mode and the decision memo are shared with the MySQL door.
import type { StatementAnalysis } from '../../sql/analyze.js'
import { statementPolicy } from '../cache-policy.js'

export { parseHint, type CacheRule, type WireCacheSettings } from '../cache-policy.js'

// Functions whose result changes from one call to the next (or with the session): never cached.
const VOLATILE = new Set([
  'now', 'random', 'nextval', 'currval', 'lastval', 'setval', 'clock_timestamp', 'statement_timestamp', 'transaction_timestamp',
  'timeofday', 'gen_random_uuid', 'uuid_generate_v1', 'uuid_generate_v4', 'txid_current', 'pg_backend_pid', 'pg_sleep',
  'inet_client_addr', 'current_setting', 'set_config', 'pg_advisory_lock', 'pg_try_advisory_lock', 'setseed', 'version',
])

/** Why a statement is not cacheable, or undefined when it is safe to cache. */
export function unsafeReason(a: StatementAnalysis): string | undefined {
  if (a.unparsed) return 'unparsable'
  if (a.statements !== 1) return 'multiple statements'
  if (a.kind !== 'read') return a.kind === 'other' ? 'not a query' : 'write'
  if (a.locking) return 'locking read (FOR UPDATE/SHARE)'
  if (a.sqlValueFunctions || a.functions.some((f) => VOLATILE.has(f))) return 'volatile function'
  if (a.reads.some((t) => t.startsWith('pg_catalog.') || t.startsWith('information_schema.') || /\.pg_/.test(t))) return 'system catalog'
  if (a.reads.length === 0) return 'reads no table'
  return undefined
}

// The safety rules read the analysis only: decisions can be kept per analysis (see statementPolicy).
export const cachePolicyForStatement = statementPolicy((_sql, a) => unsafeReason(a), { byAnalysis: true })
