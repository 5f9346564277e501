import { describe, expect, it } from 'vitest'
import { bearerToken, KeyRing } from '../../src/accelerate/auth.js'
import { hashApiKey } from '../../src/config/api-keys.js'

describe('KeyRing', () => {
  it('finds the owner of a key by its hash, and nothing for other keys', () => {
    const ring = new KeyRing<string>()
    ring.add(hashApiKey('alpha'), 'A')
    ring.add(hashApiKey('beta'), 'B')
    ring.add(hashApiKey('alpha-2'), 'A')
    expect(ring.lookup('alpha')).toBe('A')
    expect(ring.lookup('alpha-2')).toBe('A')
    expect(ring.lookup('beta')).toBe('B')
    expect(ring.lookup('alph')).toBeUndefined()
    expect(ring.lookup('')).toBeUndefined()
    expect(() => ring.add(Buffer.alloc(3), 'C')).toThrow()
  })
  it('keeps answering proven keys (from its memo) and refusing unknown ones', () => {
    const ring = new KeyRing<string>()
    ring.add(hashApiKey('alpha'), 'A')
    expect(ring.lookup('alpha')).toBe('A') // proven: enters the memo
    expect(ring.lookup('nope')).toBeUndefined()
    for (let i = 0; i < 3; i++) {
      expect(ring.lookup('alpha')).toBe('A')
      expect(ring.lookup('nope')).toBeUndefined()
    }
    ring.add(hashApiKey('beta'), 'B') // adding a key empties the memo: nothing stale survives a change
    expect(ring.lookup('alpha')).toBe('A')
    expect(ring.lookup('beta')).toBe('B')
    // A reload that revokes alpha: the proven key must stop working at once.
    ring.replace([{ hash: hashApiKey('beta'), owner: 'B' }])
    expect(ring.lookup('alpha')).toBeUndefined()
    expect(ring.lookup('beta')).toBe('B')
  })
  it('parses bearer tokens', () => {
    expect(bearerToken('Bearer abc')).toBe('abc')
    expect(bearerToken('bearer abc ')).toBe('abc')
    expect(bearerToken('Basic abc')).toBeUndefined()
    expect(bearerToken('Bearer a b')).toBeUndefined()
    expect(bearerToken(undefined)).toBeUndefined()
  })
})
