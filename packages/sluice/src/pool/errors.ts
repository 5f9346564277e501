/** A caller waited longer than the origin's `pool_timeout` for a free connection. */
export class PoolTimeoutError extends Error {
  override name = 'PoolTimeoutError'
  constructor(
    readonly connectionLimit: number,
    readonly poolTimeoutSeconds: number,
  ) {
    super(
      `Timed out fetching a new connection from the connection pool ` +
        `(connection_limit ${connectionLimit}, pool_timeout ${poolTimeoutSeconds}s)`,
    )
  }
}

/** The origin database could not be reached or refused the connection. */
export class OriginUnavailableError extends Error {
  override name = 'OriginUnavailableError'
  constructor(
    message: string,
    /** The underlying Prisma/driver code (P1001, ECONNREFUSED …), for logs and error meta. */
    readonly cause_code: string,
  ) {
    super(message)
  }
}
