// The Accelerate extension sends `cacheStrategy` as request headers:
//   cache-control: max-age=<ttl>,stale-while-revalidate=<swr>   (or no-cache)
//   accelerate-cache-tags: a,b
import type { CachePolicy } from '../cache/query-cache.js'
import { MAX_TAGS, TAG_PATTERN } from './bodies.js'
import { invalidParameters } from './errors.js'

/** Operations whose results may be cached (count() arrives as aggregate). */
export const CACHEABLE_OPERATIONS: ReadonlySet<string> = new Set([
  'findUnique',
  'findUniqueOrThrow',
  'findFirst',
  'findFirstOrThrow',
  'findMany',
  'aggregate',
  'groupBy',
])

/** Model operations that only read (everything else Prisma sends may write). */
export const READ_OPERATIONS: ReadonlySet<string> = CACHEABLE_OPERATIONS

// An application sends a handful of distinct strategies over and over: parsed policies are kept
// by header values (bounded; a client inventing new values each time just misses the memo).
const MEMO_LIMIT = 512
/** A parsed strategy, as an eventual and as a strict policy (a tenant's consistency picks one). */
interface Parsed {
  eventual: Readonly<CachePolicy>
  strict: Readonly<CachePolicy>
}
const memo = new Map<string, Map<string, Parsed | null>>()
let memoSize = 0

/**
 * The caller's cache policy, or null when it asked for none (no header, `no-cache`, or neither
 * max-age nor stale-while-revalidate). Invalid tags are refused with P6005, never truncated.
 * `strict`: the tenant confirms hits against the shared tier. The returned policy is shared
 * between requests: never modify it.
 */
export function cachePolicyFrom(cacheControl: string | undefined, tagsHeader: string | undefined, strict = false): Readonly<CachePolicy> | null {
  if (cacheControl === undefined || cacheControl === 'no-cache') return null
  const tags = tagsHeader ?? ''
  let parsed = memo.get(cacheControl)?.get(tags)
  if (parsed === undefined) {
    const policy = parsePolicy(cacheControl, tagsHeader)
    parsed = policy === null ? null : { eventual: Object.freeze(policy), strict: Object.freeze({ ...policy, strict: true }) }
    if (memoSize >= MEMO_LIMIT) {
      memo.clear()
      memoSize = 0
    }
    let byTags = memo.get(cacheControl)
    if (byTags === undefined) memo.set(cacheControl, (byTags = new Map()))
    byTags.set(tags, parsed)
    memoSize++
  }
  return parsed === null ? null : strict ? parsed.strict : parsed.eventual
}

function parsePolicy(cacheControl: string, tagsHeader: string | undefined): CachePolicy | null {
  let ttl: number | undefined
  let swr: number | undefined
  for (const part of cacheControl.split(',')) {
    const [name, value] = part.trim().split('=', 2)
    if (name === 'no-cache' || name === 'no-store') return null
    if (name === 'max-age' || name === 'stale-while-revalidate') {
      const n = Number(value)
      if (value === undefined || !Number.isFinite(n) || n < 0) {
        throw invalidParameters(`cacheStrategy: ${name === 'max-age' ? 'ttl' : 'swr'} must be a non-negative number of seconds, got "${value ?? ''}"`)
      }
      if (name === 'max-age') ttl = n
      else swr = n
    }
  }
  if (ttl === undefined && swr === undefined) return null
  return { ttlMs: (ttl ?? 0) * 1000, swrMs: (swr ?? 0) * 1000, tags: parseTags(tagsHeader), strict: false }
}

export function parseTags(header: string | undefined): string[] {
  if (header === undefined || header === '') return []
  const tags = header.split(',').map((t) => t.trim())
  if (tags.length > MAX_TAGS) throw invalidParameters(`cacheStrategy: at most ${MAX_TAGS} tags per query, got ${tags.length}`, { tags })
  for (const t of tags) {
    if (!TAG_PATTERN.test(t)) throw invalidParameters(`cacheStrategy: invalid tag "${t}": tags may contain only letters, digits and "_" (1-64 characters)`, { tag: t })
  }
  return tags
}
