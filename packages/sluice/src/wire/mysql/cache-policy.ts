// Which MySQL wire statements are safe to cache: the hint syntax, rules, auto mode and decision memo
// are shared with the Postgres door (wire/cache-policy.ts); the safety rules differ where the dialects do
// (MySQL's volatile functions, its system schemas, user and system variables).
import type { StatementAnalysis } from '../../sql/analyze.js'
import { MYSQL_VOLATILE_FUNCTIONS } from '../../sql/mysql-functions.js'
import { statementPolicy } from '../cache-policy.js'

export { NOT_ADMITTED, parseHint, type CacheRule, type WireCacheSettings } from '../cache-policy.js'

const SYSTEM_SCHEMAS = ['information_schema.', 'performance_schema.', 'mysql.', 'sys.']

/** SQL without its string literals and comments (for the checks the analysis does not cover). */
function codeOnly(sql: string): string {
  return sql.replace(/'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*"|\/\*[\s\S]*?\*\/|(?:--\s|#)[^\n]*/g, ' ')
}

/** Why a statement is not cacheable, or undefined when it is safe to cache. */
export function unsafeReason(sql: string, a: StatementAnalysis): string | undefined {
  if (a.unparsed) return 'unparsable'
  if (a.statements !== 1) return 'multiple statements'
  if (a.kind !== 'read') return a.kind === 'other' ? 'not a query' : 'write'
  const code = codeOnly(sql)
  if (a.locking || /\b(for\s+update|lock\s+in\s+share\s+mode|for\s+share)\b/i.test(code)) return 'locking read (FOR UPDATE/SHARE)'
  if (a.sqlValueFunctions || a.functions.some((f) => MYSQL_VOLATILE_FUNCTIONS.has(f.toLowerCase()))) return 'volatile function'
  if (/\b(now|sysdate|rand|uuid|uuid_short|last_insert_id|connection_id|found_rows|row_count)\s*\(/i.test(code) || /\b(current_timestamp|current_date|current_time|localtime|localtimestamp|utc_timestamp|current_user)\b/i.test(code))
    return 'volatile function'
  if (code.includes('@')) return 'user or system variable'
  if (/\binto\s+(@|outfile|dumpfile)/i.test(code)) return 'write'
  if (a.reads.some((t) => SYSTEM_SCHEMAS.some((s) => t.startsWith(s)))) return 'system catalog'
  if (a.reads.length === 0) return 'reads no table'
  return undefined
}

/** The policy for a statement outside a transaction, or null (not cached); `notCached` hears why. */
export const cachePolicyForStatement = statementPolicy(unsafeReason)
