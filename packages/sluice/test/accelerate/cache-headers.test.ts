import { describe, expect, it } from 'vitest'
import { cachePolicyFrom } from '../../src/accelerate/cache-headers.js'

describe('cachePolicyFrom', () => {
  it('parses ttl, swr and tags, and answers null without a strategy', () => {
    expect(cachePolicyFrom('max-age=60,stale-while-revalidate=30', 'a,b')).toEqual({ ttlMs: 60_000, swrMs: 30_000, tags: ['a', 'b'], strict: false })
    expect(cachePolicyFrom('stale-while-revalidate=5', undefined)).toEqual({ ttlMs: 0, swrMs: 5_000, tags: [], strict: false })
    expect(cachePolicyFrom(undefined, 'a')).toBeNull()
    expect(cachePolicyFrom('no-cache', undefined)).toBeNull()
    expect(cachePolicyFrom('private', undefined)).toBeNull()
  })

  it('hands out one frozen policy per header pair, so no request can change another one', () => {
    const a = cachePolicyFrom('max-age=61', 'x')
    const b = cachePolicyFrom('max-age=61', 'x')
    expect(b).toBe(a)
    expect(Object.isFrozen(a)).toBe(true)
    expect(() => {
      ;(a as { strict?: boolean }).strict = true
    }).toThrow(TypeError)
    expect(cachePolicyFrom('max-age=61', 'y')).not.toBe(a)
    expect(cachePolicyFrom('max-age=61', 'y')?.tags).toEqual(['y'])
    expect(cachePolicyFrom('max-age=62', undefined)?.ttlMs).toBe(62_000)
    // A strict tenant gets its own shared variant; the eventual one is untouched.
    const strict = cachePolicyFrom('max-age=61', 'x', true)
    expect(strict).toEqual({ ttlMs: 61_000, swrMs: 0, tags: ['x'], strict: true })
    expect(cachePolicyFrom('max-age=61', 'x', true)).toBe(strict)
    expect(cachePolicyFrom('max-age=61', 'x')?.strict).toBe(false)
  })

  it('refuses invalid values and tags every time, not only the first', () => {
    for (let i = 0; i < 2; i++) {
      expect(() => cachePolicyFrom('max-age=abc', undefined)).toThrow(/ttl must be a non-negative number/)
      expect(() => cachePolicyFrom('max-age=1', 'bad-tag')).toThrow(/invalid tag/)
      expect(() => cachePolicyFrom('max-age=1', 'a,b,c,d,e,f')).toThrow(/at most 5 tags/)
    }
  })
})
