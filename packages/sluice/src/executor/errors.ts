/** The request ran past the query timeout (pool wait + database time). */
export class QueryTimeoutError extends Error {
  override name = 'QueryTimeoutError'
  constructor(readonly timeoutMs: number) {
    super(`Query timed out after ${timeoutMs} ms (the limit is configurable with --query-timeout)`)
  }
}

/** An error the client is meant to see as-is (Prisma's UserFacingError and subclasses). */
export interface UserFacingLike {
  code: string
  message: string
  meta: Record<string, unknown>
}

/**
 * Errors are recognised by shape, not `instanceof`, because each supported client line loads its
 * own copy of the runtime (and so its own error classes).
 */
export function isUserFacing(err: unknown): err is UserFacingLike & Error {
  return (
    err instanceof Error &&
    typeof (err as unknown as { code?: unknown }).code === 'string' &&
    /^P\d{4}$/.test((err as unknown as { code: string }).code) &&
    typeof (err as unknown as { meta?: unknown }).meta === 'object'
  )
}
