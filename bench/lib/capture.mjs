// Records the HTTP requests a real Prisma client sends to an Accelerate-compatible server (and the
// answers), by wrapping globalThis.fetch while `fn(prisma)` runs. The Prisma client reads
// globalThis.fetch at call time, so no client option is needed.
export async function captureRequests(lib, accelerateUrl, fn) {
  const realFetch = globalThis.fetch
  const seen = []
  globalThis.fetch = async (input, init = {}) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    const res = await realFetch(input, init)
    const headers = init.headers instanceof Headers ? [...init.headers.entries()] : Object.entries(init.headers ?? {})
    const responseBody = Buffer.from(await res.clone().arrayBuffer())
    seen.push({
      url,
      path: new URL(url).pathname,
      method: init.method ?? 'GET',
      headers,
      body: init.body === undefined ? undefined : String(init.body),
      status: res.status,
      responseHeaders: [...res.headers.entries()],
      responseBody,
    })
    return res
  }
  const prisma = new lib.PrismaClient({ accelerateUrl }).$extends(lib.withAccelerate())
  try {
    await fn(prisma)
  } finally {
    globalThis.fetch = realFetch
    await prisma.$disconnect()
  }
  return seen
}

/** The one POST /query among the captured requests. */
export function theQuery(seen) {
  const q = seen.filter((r) => r.path === '/query')
  if (q.length !== 1) throw new Error(`expected one /query request, saw ${q.length}`)
  return q[0]
}
