// API-key authentication. Keys are held only as sha256 digests; a presented key is hashed and
// compared against every stored digest with timingSafeEqual, so the time taken does not depend
// on which key (or how much of one) matched.
import { timingSafeEqual } from 'node:crypto'
import { hashApiKey } from '../config/api-keys.js'

// Keys already proven valid, so a client's every request does not pay a sha256 (a large share
// of a cache hit's cost). Only valid keys enter, so an unknown key always takes the full,
// constant-time scan; a memo hit reveals only that the key is valid, which the answer says anyway.
const VERIFIED_LIMIT = 1024

export class KeyRing<T> {
  #entries: { hash: Buffer; owner: T }[] = []
  #verified = new Map<string, T>()

  add(hash: Buffer, owner: T): void {
    if (hash.length !== 32) throw new Error('API key hashes are 32-byte sha256 digests')
    this.#entries.push({ hash, owner })
    this.#verified.clear()
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
    // A revoked key must stop working at once: forget every proven key.
    this.#verified.clear()
  }

  get size(): number {
    return this.#entries.length
  }

  /** The owner of the key, or undefined. Unknown keys always scan every entry. */
  lookup(key: string): T | undefined {
    const memo = this.#verified.get(key)
    if (memo !== undefined) return memo
    const hash = hashApiKey(key)
    let found: T | undefined
    for (const e of this.#entries) {
      if (timingSafeEqual(e.hash, hash) && found === undefined) found = e.owner
    }
    if (found !== undefined) {
      if (this.#verified.size >= VERIFIED_LIMIT) this.#verified.clear()
      this.#verified.set(key, found)
    }
    return found
  }
}

/** Extracts the key from `Authorization: Bearer <key>`; undefined when absent or malformed. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined
  // What clients send ("Bearer " and printable ASCII) without a regular expression.
  if (header.length > 7 && header.startsWith('Bearer ') && printableAscii(header, 7)) return header.slice(7)
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header)
  return m?.[1]
}

function printableAscii(s: string, from: number): boolean {
  for (let i = from; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c <= 0x20 || c >= 0x7f) return false
  }
  return true
}
