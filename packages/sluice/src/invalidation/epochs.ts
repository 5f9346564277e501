// Epochs: the ordering that keeps the cache honest (DESIGN.md, invariant 3).
//
// One monotonic sequence number per node. Every invalidation — a table written through Sluice,
// a tag or "all" invalidated by a tenant — stores the sequence number at which it happened.
// A read takes `now()` before it runs; its result may be stored only if no dependency was
// bumped after that (`isFresh(deps, startedAt)`), and a stored entry is served only while that
// still holds. So a write acknowledged to a client (bumped before its response leaves) makes every
// result computed before it unservable, including ones still in flight when it happened.

/** What a cached result depends on. */
export interface Dependencies {
  /** Origin identity: tables are shared by every tenant of the origin. */
  origin: string
  /** Tables read, `schema.table`; ignored when `tables` is null (write-aware invalidation off). */
  tables: readonly string[] | null
  tenant: string
  tags: readonly string[]
}

/** One invalidation, as doors and the Redis fan-out describe it. */
export type Invalidation =
  | { kind: 'tables'; origin: string; tables: readonly string[] }
  | { kind: 'origin'; origin: string }
  | { kind: 'tags'; tenant: string; tags: readonly string[] }
  | { kind: 'tenant'; tenant: string }

export class Epochs {
  #seq = 0
  #tables = new Map<string, number>()
  #origins = new Map<string, number>()
  #tags = new Map<string, number>()
  #tenants = new Map<string, number>()

  /** The current sequence number: take it before running a read. */
  now(): number {
    return this.#seq
  }

  bumpTables(origin: string, tables: Iterable<string>): void {
    const seq = ++this.#seq
    for (const t of tables) this.#tables.set(`${origin}\u0000${t}`, seq)
  }

  /** A write whose extent is unknown (DDL, CALL, unparsable SQL): every table of the origin. */
  bumpOrigin(origin: string): void {
    this.#origins.set(origin, ++this.#seq)
  }

  bumpTags(tenant: string, tags: Iterable<string>): void {
    const seq = ++this.#seq
    for (const t of tags) this.#tags.set(`${tenant}\u0000${t}`, seq)
  }

  bumpTenant(tenant: string): void {
    this.#tenants.set(tenant, ++this.#seq)
  }

  apply(inv: Invalidation): void {
    switch (inv.kind) {
      case 'tables':
        return this.bumpTables(inv.origin, inv.tables)
      case 'origin':
        return this.bumpOrigin(inv.origin)
      case 'tags':
        return this.bumpTags(inv.tenant, inv.tags)
      case 'tenant':
        return this.bumpTenant(inv.tenant)
    }
  }

  /** True when nothing `deps` depends on was invalidated after sequence number `since`. */
  isFresh(deps: Dependencies, since: number): boolean {
    if ((this.#tenants.get(deps.tenant) ?? 0) > since) return false
    for (const tag of deps.tags) if ((this.#tags.get(`${deps.tenant}\u0000${tag}`) ?? 0) > since) return false
    if (deps.tables === null) return true
    if ((this.#origins.get(deps.origin) ?? 0) > since) return false
    for (const t of deps.tables) if ((this.#tables.get(`${deps.origin}\u0000${t}`) ?? 0) > since) return false
    return true
  }
}
