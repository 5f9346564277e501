// Which Postgres wire statements are safe to cache (volatile functions, locking reads, system
// catalogs…); hints, rules, auto mode and the decision memo are shared with the MySQL door.
import type { StatementAnalysis } from '../../sql/analyze.js'
import { VOLATILE_FUNCTIONS } from '../../sql/functions.js'
import { statementPolicy } from '../cache-policy.js'

export { NOT_ADMITTED, NO_RULE_OR_HINT, cachesUnhinted, parseHint, startsWithComment, type CacheRule, type WireCacheSettings } from '../cache-policy.js'

/** Why a statement is not cacheable, or undefined when it is safe to cache. */
export function unsafeReason(a: StatementAnalysis): string | undefined {
  if (a.unparsed) return 'unparsable'
  if (a.statements !== 1) return 'multiple statements'
  if (a.kind !== 'read') return a.kind === 'other' ? 'not a query' : 'write'
  if (a.locking) return 'locking read (FOR UPDATE/SHARE)'
  if (a.sqlValueFunctions || a.functions.some((f) => VOLATILE_FUNCTIONS.has(f))) return 'volatile function'
  if (a.reads.some((t) => t.startsWith('pg_catalog.') || t.startsWith('information_schema.') || /\.pg_/.test(t))) return 'system catalog'
  if (a.reads.length === 0) return 'reads no table'
  return undefined
}

// The safety rules read the analysis only: decisions can be kept per analysis (see statementPolicy).
export const cachePolicyForStatement = statementPolicy((_sql, a) => unsafeReason(a), { byAnalysis: true })
