// One Dependencies object and one epoch-field list per distinct set of dependencies, shared by
// every cache entry that has them.
//
// A wire door's auto mode fills an entry per distinct statement text: hundreds of thousands of
// entries that all read `public.pgbench_accounts` of one tenant. Built per entry, the field names
// (`t:<origin>:<table>`…), the tables array and the Dependencies object cost ~750 bytes of heap —
// several times the payload of a point select — and each is one more object for every major GC to
// trace. Interned, an entry holds two pointers to what its siblings hold.
//
// The table is bounded: dependency sets named by per-user tags can be as many as entries. When a
// set falls out, entries keep what they point at (still correct); new entries get a fresh copy.
import { LRUCache } from 'lru-cache'
import { dependencyFields, type Dependencies } from '../invalidation/epochs.js'

export interface InternedDependencies {
  readonly deps: Dependencies
  /** dependencyFields(deps): the hit path checks them without building strings. */
  readonly fields: readonly string[]
}

const DEFAULT_MAX_SETS = 8192

export class DependencyInterner {
  readonly #sets: LRUCache<string, InternedDependencies>

  constructor(maxSets = DEFAULT_MAX_SETS) {
    this.#sets = new LRUCache({ max: maxSets })
  }

  /** The shared copy of `deps` (taken from `deps` itself the first time it is seen). */
  intern(deps: Dependencies): InternedDependencies {
    // JSON, not a join: quoted identifiers may contain any separator, and two different sets
    // must never share an id (an entry would be invalidated by the other set's writes).
    const id = JSON.stringify([deps.origin, deps.tenant, deps.tables, deps.tags])
    const known = this.#sets.get(id)
    if (known !== undefined) return known
    const fields = dependencyFields(deps)
    const frozen: Dependencies = {
      origin: deps.origin,
      tables: deps.tables === null ? null : [...deps.tables],
      tenant: deps.tenant,
      tags: [...deps.tags],
    }
    const set = { deps: frozen, fields }
    this.#sets.set(id, set)
    return set
  }

  get size(): number {
    return this.#sets.size
  }
}
