// `withSluice()`: the Accelerate extension, pointed at your own Sluice.
//
// The stock `@prisma/extension-accelerate` sends `$accelerate.invalidate()` and `invalidateAll()`
// to Prisma's hosted service (https://accelerate.prisma-data.net) for every URL except
// `prisma+postgres://localhost|127.0.0.1`, so with `prisma://sluice.example.com` the
// invalidations — carrying your API key — would leave your network and never reach Sluice.
// withSluice() wraps withAccelerate() with a fetch that sends them to the Sluice host of the
// client's accelerateUrl instead. Everything else (cacheStrategy, withAccelerateInfo) is the
// stock extension, unchanged.
import { Prisma } from '@prisma/client/extension'
import { withAccelerate } from '@prisma/extension-accelerate'

type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

export interface SluiceExtensionOptions {
  /** The client's accelerateUrl. Read from the client when omitted. */
  url?: string
  /** The fetch to use underneath (defaults to globalThis.fetch). */
  fetch?: Fetch
}

/** Where Prisma's extension sends invalidations for non-local URLs. */
export const HOSTED_INVALIDATE_URL = 'https://accelerate.prisma-data.net/invalidate'

/**
 * The Sluice endpoint that receives invalidations for an accelerateUrl: the same scheme choice
 * the Prisma client makes for its queries (`prisma://` → HTTPS; `prisma+postgres://` → HTTP
 * for localhost, 127.0.0.1 and [::1], else HTTPS).
 */
export function sluiceInvalidateUrl(accelerateUrl: string): URL {
  const u = new URL(accelerateUrl)
  if (u.protocol !== 'prisma:' && u.protocol !== 'prisma+postgres:') {
    throw new Error(`withSluice: accelerateUrl must start with prisma:// or prisma+postgres:// (got ${u.protocol}//)`)
  }
  const local = u.protocol === 'prisma+postgres:' && ['localhost', '127.0.0.1', '[::1]'].some((h) => u.host.includes(h))
  return new URL('/invalidate', `${local ? 'http' : 'https'}://${u.host}`)
}

/** A fetch that redirects hosted-service invalidations to `target`, and passes everything else through. */
export function redirectingFetch(target: URL, inner: Fetch): Fetch {
  return (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    return url === HOSTED_INVALIDATE_URL ? inner(target, init) : inner(input, init)
  }
}

function clientUrl(client: unknown): string | undefined {
  // The same accessor the Accelerate extension uses to find the URL.
  const config = Reflect.get(client as object, '_accelerateEngineConfig') as
    | { accelerateUtils?: { resolveDatasourceUrl?: (c: unknown) => string | undefined } }
    | undefined
  return config?.accelerateUtils?.resolveDatasourceUrl?.(config)
}

export function withSluice(options: SluiceExtensionOptions = {}) {
  return Prisma.defineExtension((client) => {
    const url = options.url ?? clientUrl(client)
    if (!url) throw new Error('withSluice: cannot find the accelerateUrl of this client; pass withSluice({ url })')
    const inner: Fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init))
    return client.$extends(withAccelerate({ fetch: redirectingFetch(sluiceInvalidateUrl(url), inner) }))
  })
}
