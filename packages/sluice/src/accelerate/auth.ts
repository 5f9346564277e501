// API-key authentication. Keys are held only as sha256 digests; a presented key is hashed and
// compared against every stored digest with timingSafeEqual, so the time taken does not depend
// on which key (or how much of one) matched.
import { timingSafeEqual } from 'node:crypto'
import { hashApiKey } from '../config/api-keys.js'

export class KeyRing<T> {
  #entries: { hash: Buffer; owner: T }[] = []

  add(hash: Buffer, owner: T): void {
    if (hash.length !== 32) throw new Error('API key hashes are 32-byte sha256 digests')
    this.#entries.push({ hash, owner })
  }

  /**
   * Swaps in a whole new set of keys at once (config reload): a lookup sees either the old set or
   * the new one, never a mix. Requests already authenticated keep going.
   */
  replace(entries: Iterable<{ hash: Buffer; owner: T }>): void {
    const next: { hash: Buffer; owner: T }[] = []
    for (const e of entries) {
      if (e.hash.length !== 32) throw new Error('API key hashes are 32-byte sha256 digests')
      next.push({ hash: e.hash, owner: e.owner })
    }
    this.#entries = next
  }

  get size(): number {
    return this.#entries.length
  }

  /** The owner of the key, or undefined. Always scans every entry. */
  lookup(key: string): T | undefined {
    const hash = hashApiKey(key)
    let found: T | undefined
    for (const e of this.#entries) {
      if (timingSafeEqual(e.hash, hash) && found === undefined) found = e.owner
    }
    return found
  }
}

/** Extracts the key from `Authorization: Bearer <key>`; undefined when absent or malformed. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header)
  return m?.[1]
}
