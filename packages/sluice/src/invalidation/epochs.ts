// Epochs: the ordering that keeps the cache honest (DESIGN.md, invariant 3).
//
// A monotonic sequence number orders invalidations. Every invalidation — a table written through
// Sluice, a tag or "all" invalidated by a tenant — stores the sequence number at which it
// happened. A read takes `now()` before it runs; its result may be stored only if no dependency
// was bumped after that (`isFresh(deps, startedAt)`), and a stored entry is served only while that
// still holds. So a write acknowledged to a client (bumped before its response leaves) makes every
// result computed before it unservable, including ones still in flight when it happened.
//
// With a shared tier (Redis) the sequence is global: bumps take their number from Redis and every
// node applies them with that number (`apply(inv, seq)`), so entries filled on one node are judged
// on another by the same clock.

/** What a cached result depends on. */
export interface Dependencies {
  /** Origin identity: tables are shared by every tenant of the origin. */
  origin: string
  /** Tables read, `schema.table`; null when write-aware invalidation is off for the tenant. */
  tables: readonly string[] | null
  tenant: string
  tags: readonly string[]
}

/** One invalidation, as doors and the Redis fan-out describe it. */
export type Invalidation =
  | { kind: 'tables'; origin: string; tables: readonly string[] }
  /**
   * Everything of an origin. `ddl`: the origin's catalog may have changed too (DDL, or a write
   * whose effect Sluice could not bound): nodes read their relation catalog again. Without it the
   * origin is invalidated only because a write could not be narrowed down to tables (no catalog
   * loaded yet), which must not throw the catalog away.
   */
  | { kind: 'origin'; origin: string; ddl?: true }
  | { kind: 'tags'; tenant: string; tags: readonly string[] }
  | { kind: 'tenant'; tenant: string }

/** Epoch-map field names; also the field names of the Redis hash. */
export function invalidationFields(inv: Invalidation): string[] {
  switch (inv.kind) {
    case 'tables':
      return inv.tables.map((t) => tableField(inv.origin, t))
    case 'origin':
      return [originField(inv.origin)]
    case 'tags':
      return inv.tags.map((t) => tagField(inv.tenant, t))
    case 'tenant':
      return [tenantField(inv.tenant)]
  }
}

const tableField = (origin: string, table: string) => `t:${origin}:${table}`
const originField = (origin: string) => `o:${origin}`
const tagField = (tenant: string, tag: string) => `g:${tenant}:${tag}`
const tenantField = (tenant: string) => `a:${tenant}`

/** Every field an entry with these dependencies must check (in a fixed order). */
export function dependencyFields(deps: Dependencies): string[] {
  const fields = [tenantField(deps.tenant)]
  for (const tag of deps.tags) fields.push(tagField(deps.tenant, tag))
  if (deps.tables !== null) {
    fields.push(originField(deps.origin))
    for (const t of deps.tables) fields.push(tableField(deps.origin, t))
  }
  return fields
}

export class Epochs {
  #seq = 0
  #fields = new Map<string, number>()

  /** The current sequence number: take it before running a read. */
  now(): number {
    return this.#seq
  }

  /** Records an invalidation at `seq` (a global number from the shared tier) or at the next local number. */
  apply(inv: Invalidation, seq?: number): number {
    const at = this.#advance(seq)
    this.#changes++
    for (const f of invalidationFields(inv)) if ((this.#fields.get(f) ?? 0) < at) this.#fields.set(f, at)
    return at
  }

  #changes = 0

  /**
   * Counts the invalidations applied. What `areFresh` says of an entry can only change when this
   * does, so a caller may keep an answer for as long as it stays the same.
   */
  get changes(): number {
    return this.#changes
  }

  /** Moves the clock forward to a sequence number seen elsewhere (never backwards). */
  observe(seq: number): void {
    if (seq > this.#seq) this.#seq = seq
  }

  #advance(seq?: number): number {
    if (seq === undefined) return ++this.#seq
    if (seq > this.#seq) this.#seq = seq
    return seq
  }

  /** True when nothing `deps` depends on was invalidated after sequence number `since`. */
  isFresh(deps: Dependencies, since: number): boolean {
    const f = this.#fields
    if ((f.get(tenantField(deps.tenant)) ?? 0) > since) return false
    for (const tag of deps.tags) if ((f.get(tagField(deps.tenant, tag)) ?? 0) > since) return false
    if (deps.tables === null) return true
    if ((f.get(originField(deps.origin)) ?? 0) > since) return false
    for (const t of deps.tables) if ((f.get(tableField(deps.origin, t)) ?? 0) > since) return false
    return true
  }

  /** isFresh over precomputed `dependencyFields(deps)` (the hit path: no string building). */
  areFresh(fields: readonly string[], since: number): boolean {
    const f = this.#fields
    for (let i = 0; i < fields.length; i++) if ((f.get(fields[i]!) ?? 0) > since) return false
    return true
  }

  // Convenience forms used by tests and single-node code.
  bumpTables(origin: string, tables: Iterable<string>): void {
    this.apply({ kind: 'tables', origin, tables: [...tables] })
  }
  bumpOrigin(origin: string): void {
    this.apply({ kind: 'origin', origin })
  }
  bumpTags(tenant: string, tags: Iterable<string>): void {
    this.apply({ kind: 'tags', tenant, tags: [...tags] })
  }
  bumpTenant(tenant: string): void {
    this.apply({ kind: 'tenant', tenant })
  }
}
