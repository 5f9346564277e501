import { describe, expect, it } from 'vitest'
import { HOSTED_INVALIDATE_URL, redirectingFetch, sluiceInvalidateUrl } from '../src/index.js'

describe('sluiceInvalidateUrl', () => {
  it('follows the Prisma client scheme choice', () => {
    expect(sluiceInvalidateUrl('prisma://sluice.internal:4466/?api_key=k').href).toBe('https://sluice.internal:4466/invalidate')
    expect(sluiceInvalidateUrl('prisma://localhost:4466/?api_key=k').href).toBe('https://localhost:4466/invalidate')
    expect(sluiceInvalidateUrl('prisma+postgres://localhost:4466/?api_key=k').href).toBe('http://localhost:4466/invalidate')
    expect(sluiceInvalidateUrl('prisma+postgres://db.example.com/?api_key=k').href).toBe('https://db.example.com/invalidate')
    expect(() => sluiceInvalidateUrl('postgresql://x/y')).toThrow(/prisma:\/\//)
  })
})

describe('redirectingFetch', () => {
  it('sends hosted invalidations to Sluice and leaves other requests alone', async () => {
    const seen: string[] = []
    const inner = async (input: string | URL | Request) => {
      seen.push(String(input instanceof URL ? input.href : input))
      return new Response('')
    }
    const f = redirectingFetch(new URL('https://sluice.internal:4466/invalidate'), inner)
    await f(HOSTED_INVALIDATE_URL, { method: 'POST' })
    await f(new URL(HOSTED_INVALIDATE_URL))
    await f('https://sluice.internal:4466/query', { method: 'POST' })
    expect(seen).toEqual(['https://sluice.internal:4466/invalidate', 'https://sluice.internal:4466/invalidate', 'https://sluice.internal:4466/query'])
  })
})
