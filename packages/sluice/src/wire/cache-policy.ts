// Which wire statements may be cached, and for how long — the part both wire doors share: a hint
// in a leading comment (`/* sluice: ttl=60 swr=30 tags=a,b */`), config rules, auto mode, and the
// per-statement decision memo. What is *safe* to cache is the dialect's (wire/<door>/cache-policy.ts).
import type { CachePolicy } from '../cache/query-cache.js'
import type { StatementAnalysis } from '../sql/analyze.js'

export interface WireCacheSettings {
  /** `off`: only hinted statements and rules; `auto`: every safe read, with `autoTtlMs`. */
  mode: 'off' | 'auto'
  autoTtlMs: number
  /** Results larger than this are answered but not cached. */
  maxResultBytes: number
  /** Cache rules from the config file, first match wins (after a hint, before auto). */
  rules?: CacheRule[]
}

export interface CacheRule {
  /** Matches statements reading this table (`schema.table`, or `table` in the default schema). */
  table?: string
  /** Matches statements whose text matches this regular expression. */
  pattern?: RegExp
  policy: CachePolicy
}

function ruleMatches(rule: CacheRule, sql: string, a: StatementAnalysis): boolean {
  if (rule.table !== undefined && !a.reads.some((t) => t === rule.table || t.endsWith(`.${rule.table}`))) return false
  if (rule.pattern !== undefined && !rule.pattern.test(sql)) return false
  return rule.table !== undefined || rule.pattern !== undefined
}

/** Why a statement was not cached when neither a hint, nor a rule, nor auto mode chose it. */
export const NO_RULE_OR_HINT = 'no rule or hint'

/** Why an auto-cached statement's first miss is relayed, not stored (QueryCache.admit): both doors report it. */
export const NOT_ADMITTED = 'first miss (auto mode stores a key when it misses again)'

const HINT = /^\s*\/\*\s*sluice:([^*]*)\*\//

/** Can statements without a hint be cached under `settings` (auto mode, or rules)? */
export function cachesUnhinted(settings: WireCacheSettings): boolean {
  return settings.mode === 'auto' || (settings.rules?.length ?? 0) > 0
}

/** Does the SQL text start with a comment (where a hint would be)? A cheap test before parseHint. */
export function startsWithComment(sql: string): boolean {
  return /^\s*\/\*/.test(sql)
}

/** Parses a leading `/* sluice: … *\/` hint. Undefined when there is none or it is malformed. */
export function parseHint(sql: string): CachePolicy | undefined {
  const m = HINT.exec(sql)
  if (!m) return undefined
  let ttl = 0
  let swr = 0
  let tags: string[] = []
  for (const part of m[1]!.trim().split(/\s+/).filter(Boolean)) {
    const [k, v] = part.split('=', 2)
    if (k === 'ttl' && v !== undefined && /^\d+(\.\d+)?$/.test(v)) ttl = Number(v)
    else if (k === 'swr' && v !== undefined && /^\d+(\.\d+)?$/.test(v)) swr = Number(v)
    else if (k === 'tags' && v !== undefined && /^[A-Za-z0-9_]{1,64}(,[A-Za-z0-9_]{1,64}){0,4}$/.test(v)) tags = v.split(',')
    else return undefined
  }
  if (ttl === 0 && swr === 0) ttl = 60
  return { ttlMs: ttl * 1000, swrMs: swr * 1000, tags }
}

/** Why a statement may not be cached (the dialect's safety rules), or undefined when it may. */
export type UnsafeReason = (sql: string, a: StatementAnalysis) => string | undefined

/**
 * A door's decision function: the policy for a statement outside a transaction, or null (not
 * cached). `notCached` hears why a statement that could have been cached was not (for statistics
 * and metrics).
 *
 * Applications repeat their statements: decisions are kept per statement text and settings (a
 * reload brings new settings, hence new decisions); the reason is still reported each time.
 *
 * `byAnalysis`: the dialect's safety rules look at the analysis only, not at the text. Then, unless
 * a rule matches the text with a pattern (which may see literals), decisions are kept per analysis
 * instead: analyses are memoised per shape (literals replaced), and what else the decision reads
 * from the text — a leading hint comment — is part of the shape, so every text sharing an analysis
 * gets the same decision. Statements whose literals change every time then cost no memo entry each.
 */
export function statementPolicy(unsafeReason: UnsafeReason, options: { byAnalysis?: boolean } = {}) {
  const memos = new WeakMap<WireCacheSettings, DecisionMemo>()

  function decide(sql: string, a: StatementAnalysis, settings: WireCacheSettings): Decision {
    const chosen =
      parseHint(sql) ??
      settings.rules?.find((r) => ruleMatches(r, sql, a))?.policy ??
      (settings.mode === 'auto' ? { ttlMs: settings.autoTtlMs, swrMs: 0, tags: [], auto: true } : undefined)
    if (chosen === undefined) return { analysis: a, policy: null, reason: NO_RULE_OR_HINT }
    const reason = unsafeReason(sql, a)
    if (reason !== undefined) return { analysis: a, policy: null, reason }
    return { analysis: a, policy: Object.freeze({ ...chosen, tags: Object.freeze([...chosen.tags]) }) }
  }

  function memoFor(settings: WireCacheSettings): DecisionMemo {
    let memo = memos.get(settings)
    if (memo === undefined) {
      const byAnalysis = options.byAnalysis === true && !(settings.rules ?? []).some((r) => r.pattern !== undefined)
      memos.set(settings, (memo = { bySql: new Map(), byAnalysis: byAnalysis ? new WeakMap() : undefined }))
    }
    return memo
  }

  return function cachePolicyForStatement(
    sql: string,
    a: StatementAnalysis,
    settings: WireCacheSettings,
    notCached: (reason: string) => void = () => {},
  ): Readonly<CachePolicy> | null {
    const memo = memoFor(settings)
    let d: Decision | undefined
    if (memo.byAnalysis !== undefined) {
      d = memo.byAnalysis.get(a)
      if (d === undefined) memo.byAnalysis.set(a, (d = decide(sql, a, settings)))
    } else {
      d = memo.bySql.get(sql)
      // The analysis object is part of the key (it is memoised per text and default schema, and table
      // rules depend on the schema-qualified tables it found).
      if (d === undefined || d.analysis !== a) {
        d = decide(sql, a, settings)
        if (memo.bySql.size >= DECISION_LIMIT) memo.bySql.clear()
        memo.bySql.set(sql, d)
      }
    }
    if (d.reason !== undefined) notCached(d.reason)
    return d.policy
  }
}

interface DecisionMemo {
  bySql: Map<string, Decision>
  byAnalysis: WeakMap<StatementAnalysis, Decision> | undefined
}

interface Decision {
  analysis: StatementAnalysis
  policy: Readonly<CachePolicy> | null
  reason?: string
}

const DECISION_LIMIT = 10_000
