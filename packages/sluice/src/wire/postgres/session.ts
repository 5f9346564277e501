// One client connection on the Postgres wire door: startup and authentication, then a relay to
// a server connection borrowed per transaction (transaction pooling), with named prepared
// statements carried across server connections, caching of safe reads and write-aware
// invalidation in the cache shared with the HTTP door.
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto'
import type { Socket } from 'node:net'
import { TLSSocket, type SecureContext } from 'node:tls'
import type { Logger } from 'pino'
import type { CacheEntry, CachePolicy, Lookup, Produced, QueryCache } from '../../cache/query-cache.js'
import { collectWritesFrom, emptyWriteSet, hasWrites, tablesRead, writeInvalidation, type WriteSet } from '../../invalidation/writes.js'
import { analyzeSql, rememberSqlText, type StatementAnalysis } from '../../sql/analyze.js'
import type { ShapeRecord, ShapeStats } from '../../observability/shape-stats.js'
import { PoolTimeoutError } from '../../pool/errors.js'
import {
  BodyReader,
  CANCEL_REQUEST,
  FrameReader,
  GSSENC_REQUEST,
  PROTOCOL_V3,
  ProtocolError,
  SSL_REQUEST,
  T,
  authenticationOk,
  backendKeyData,
  bindComplete,
  parseComplete,
  errorFields,
  errorResponse,
  message,
  parameterStatus,
  parseStartupParams,
  refusedStartupParameter,
  readyForQuery,
  type Frame,
} from './protocol.js'
import { ScramExchange } from './scram.js'
import { OriginStatementError, ServerLink } from './server-link.js'
import { DEFAULT_SETTINGS, FOLLOWED_REPORTS, needsCheck, schemaOf, settingsKey, startupRequest, startupSettings, withSetting, type Settings } from './settings.js'
import { coalescingWriter, flushingAfter, type CoalescingWriter } from '../../util/cork.js'
import { ReadThrottle } from '../../util/read-throttle.js'
import { NOT_ADMITTED, NO_RULE_OR_HINT, cachePolicyForStatement, cachesUnhinted, startsWithComment, unsafeReason, type WireCacheSettings } from './cache-policy.js'
import type { WireRoute } from './routes.js'
import { joinedAnswer, type HotExecution, type HotStatement, type HotStatements, type KnownAnswer } from './hot-statements.js'

export interface SessionContext {
  routes: (user: string, database: string) => WireRoute | undefined
  cache: QueryCache
  cacheSettings: WireCacheSettings
  logger: Logger
  /** Session registry for cancel requests: Sluice's own (pid, secret) → session. */
  register(session: Session): { pid: number; secret: number }
  unregister(session: Session): void
  findByKey(pid: number, secret: number): Session | undefined
  /** TLS towards clients (SSLRequest), when a certificate is configured. */
  tls?: SecureContext
  /** Clients must use TLS (plain-text startups are refused). */
  requireTls?: boolean
  /** Counts why statements were not cached (in transaction, volatile, write, …). */
  notCached(reason: string): void
  /** Counts statements answered: from the cache (ttl|swr), filled (miss), or relayed (none). */
  answered(status: 'ttl' | 'swr' | 'miss' | 'none'): void
  /** Values the door reports as ParameterStatus at startup. */
  parameterStatuses(route: WireRoute): Promise<[string, string][]>
  /** Per-query-shape statistics (admin API, dashboard). */
  shapes?: ShapeStats
  /** Simple-protocol texts answered from the cache, by key space (hot-statements.ts). */
  hot: HotStatements<HotStatement>
  /** Extended-protocol executions answered from the cache, by key space (hot-statements.ts). */
  hotExecutions: HotStatements<HotExecution>
}

interface ExtendedExecution {
  /** The Bind's parameters (latin1): the end of the key. */
  params: string
  /** The key up to them. */
  keyHead: string
  describe: boolean
  /** The statement's parameter types, as sent (a view of the client's message). */
  paramTypes: Buffer
  /** The record of its text in the session's hot table, when it has one. */
  execution: HotExecution | undefined
}

/** Was `execution` remembered for executions sent this way (with or without Parse and Describe, these parameter types)? */
function sentAs(execution: HotExecution, parse: boolean, describe: boolean, paramTypes: Buffer): boolean {
  return execution.parse === parse && execution.describe === describe && execution.paramTypes.equals(paramTypes)
}

interface StatementInfo {
  serverName: string
  query: string
  /** Parse body after the query text: parameter type oids. */
  paramTypes: Buffer
  /** Parse body with the statement name replaced (for re-preparing on another server connection). */
  parseFor(name: string): Buffer
}

/** A statement being answered through the cache, in the simple or the extended protocol. */
interface CachedStatement {
  sql: string
  analysis: StatementAnalysis
  policy: CachePolicy
  key: string
  /** performance.now() when the statement arrived. */
  started: number
  /** What the client's messages call for before the rows (extended: ParseComplete, BindComplete). */
  head: Buffer | undefined
  /**
   * Runs the statement on a server connection of its own, for a fill or a refresh. The extended
   * protocol sets it up front; a simple query's is made from `query` when first needed, so a hit
   * allocates no closure.
   */
  produce: (() => Promise<Produced>) | undefined
  /** A simple query's own message (what its `produce` sends). */
  query: Frame | undefined
  /** The client's settings when the statement came (its key was made with them; a fill applies them). */
  settings: Settings
  /** A simple query's record in the session's hot table, when it has one. */
  hot: HotStatement | undefined
  /** What an extended execution's record is made of (hot-statements.ts). */
  extended: ExtendedExecution | undefined
  /** The cache rules the statement's policy was decided under. */
  rules: WireCacheSettings
}

type Phase = 'startup' | 'password' | 'sasl-initial' | 'sasl-continue' | 'ready' | 'closed'

const NO_STATEMENT = 'sluice_noop'

const md5 = (b: Buffer) => createHash('md5').update(b).digest('hex')

/** A fill that cannot stand in for the client's own messages (it failed): relay them instead. */
/** A fill whose answer cannot be cached (why: a not-cached reason): the statement is relayed the ordinary way. */
class NotCacheable extends Error {
  constructor(readonly reason: string) {
    super(reason)
  }
}

/**
 * What handling a message returns: nothing when it was done synchronously (the common case: the
 * server connection is held or parked), a promise when it had to wait (a connection from the pool,
 * the shared cache, a fill).
 */
type Step = Promise<void> | void

/** `next` after `step`: at once when `step` was done synchronously. */
function andThen<T>(step: Step, next: () => T): T | Promise<T> {
  return step === undefined ? next() : step.then(next)
}

const READY_IDLE = readyForQuery('I')
/** What a cached extended execution answers before its rows: ParseComplete (when it parsed) and BindComplete. */
const PARSE_BIND_COMPLETE = Buffer.concat([parseComplete(), bindComplete()])
const BIND_COMPLETE = bindComplete()

/**
 * A client's named statement: on the server it is named after its text and parameter types, so it
 * is prepared once per server connection whoever prepared it.
 */
function statementInfo(query: string, paramTypes: Buffer): StatementInfo {
  const serverName = `sluice_${createHash('sha1').update(query).update(paramTypes).digest('hex').slice(0, 24)}`
  return { serverName, query, paramTypes, parseFor: (n) => message('P', n, query, paramTypes) }
}
const ROLLBACK_COMPLETE = message('C', 'ROLLBACK')

/** What startups need of the origin's ParameterStatus values, worked out once per list. */
interface StartupFacts {
  statuses: readonly [string, string][]
  /** The origin's defaults by lower-case name. */
  defaults: ReadonlyMap<string, string>
  /** AuthenticationOk + ParameterStatus messages, per client settings that needed no check. */
  heads: WeakMap<Settings, Buffer>
}
const startupFactsOf = new WeakMap<readonly [string, string][], StartupFacts>()

function startupFacts(statuses: readonly [string, string][]): StartupFacts {
  let facts = startupFactsOf.get(statuses)
  if (facts === undefined) {
    facts = { statuses, defaults: new Map(statuses.map(([k, v]) => [k.toLowerCase(), v])), heads: new WeakMap() }
    startupFactsOf.set(statuses, facts)
  }
  return facts
}

export class Session {
  /** Request id of the session (`<id>-<region>`), on every log line about it. */
  readonly id: string
  #socket: Socket | TLSSocket
  readonly #ctx: SessionContext
  readonly #reader = new FrameReader(true)
  #phase: Phase = 'startup'
  #route: WireRoute | undefined
  #user = ''
  #database = ''
  #scram: ScramExchange | undefined
  #salt: Buffer | undefined
  #key: { pid: number; secret: number } | undefined
  /** The settings the startup packet asked for, until the session is accepted. */
  #startupRequest: ReadonlyMap<string, string> | undefined
  /** Where unqualified table names resolve: the client's search_path schema, else the origin's. */
  #schema = 'public'
  /** The client's settings that differ from the origin's defaults (settings.ts). */
  #settings: Settings = DEFAULT_SETTINGS
  /**
   * Cache keys of the session's simple queries and extended executions start with these: tenant,
   * origin, protocol, database, user and the settings' part (settingsKey). Made with the settings.
   */
  #keyPrefix = ''
  #extendedKeyPrefix = ''
  /** The hot table of the simple queries' key space, once one was answered from the cache. */
  #hotSpace: Map<string, HotStatement> | undefined
  /** The same for extended executions. */
  #hotExecutions: Map<string, HotExecution> | undefined
  /** The origin's defaults of the reported settings: lower-case name → value. */
  #defaults: ReadonlyMap<string, string> = new Map()

  #link: ServerLink | undefined
  #acquiring: Promise<ServerLink> | undefined
  /** Client frames are handled strictly in order. */
  #work: Promise<void> = Promise.resolve()
  /** Server frames are relayed strictly in order (invalidation may await). */
  #relay: Promise<void> = Promise.resolve()
  /** Queries/Syncs forwarded whose ReadyForQuery has not come back. */
  #awaitingReady = 0
  /** Extended-protocol messages forwarded since the last Sync. */
  #inBatch = false
  #txStatus: 'I' | 'T' | 'E' = 'I'
  #statements = new Map<string, StatementInfo>()
  #unnamedQuery = ''
  /** For each Parse forwarded in order: swallow its ParseComplete? and what it prepares. */
  #parseQueue: { swallow: boolean; prepares?: string }[] = []
  #writes: WriteSet = emptyWriteSet()
  /** The last command completed was a ROLLBACK. */
  #rolledBack = false
  #internal = 0
  /** Why the statement being decided on is not cached (heard from cachePolicyForStatement). */
  #reason: string | undefined
  readonly #onNotCached = (reason: string): void => {
    this.#reason = reason
    this.#ctx.notCached(reason)
  }
  /** Why the extended batch being replayed was not answered from the cache (counted at its Bind). */
  #batchReason: string | undefined

  // What the frames of a chunk write leaves when they are handled (see util/cork.ts); then, if
  // that filled the server connection's socket (a client uploading COPY data faster than the
  // origin takes it), the client is not read until it drains.
  readonly #handleChunk = flushingAfter((chunk: Buffer) => this.#onData(chunk))
  readonly #dataListener = (chunk: Buffer): void => {
    this.#handleChunk(chunk)
    if (this.#link !== undefined) this.#upload?.check()
  }
  /** Backpressure towards the origin: fed with each server connection the session takes (#adopt). */
  #upload: ReadThrottle | undefined

  constructor(socket: Socket, ctx: SessionContext, id: string) {
    this.id = id
    this.#socket = socket
    this.#write = coalescingWriter(socket)
    this.#ctx = ctx
    socket.setNoDelay(true)
    this.#attach(socket)
  }

  #attach(socket: Socket | TLSSocket): void {
    socket.on('data', this.#dataListener)
    socket.on('error', () => this.#close())
    socket.on('close', () => this.#close())
  }

  /** SSLRequest accepted: the rest of the conversation runs over TLS. */
  #upgrade(context: SecureContext): void {
    const raw = this.#socket as Socket
    raw.off('data', this.#dataListener)
    this.#write.flush()
    raw.write(Buffer.from('S'))
    const secure = new TLSSocket(raw, { isServer: true, secureContext: context })
    secure.on('error', () => this.#close())
    this.#socket = secure
    this.#write = coalescingWriter(secure)
    this.#attach(secure)
  }

  /** Client frames received and not yet handled. */
  #pending = 0
  // Bound once: the per-frame chain allocates no closures beyond the frame's own.
  readonly #handled = () => {
    this.#pending--
  }
  readonly #handledWithError = (err: unknown) => {
    this.#pending--
    this.#fail(err)
  }

  /**
   * Nothing in flight for this client: no frame being handled, no statement awaiting its answer,
   * outside a transaction. (Before startup completes a session counts as idle too.) Drain waits
   * for this before saying goodbye.
   */
  get idle(): boolean {
    if (this.#phase !== 'ready') return true
    return this.#pending === 0 && this.#awaitingReady === 0 && !this.#inBatch && this.#batch === undefined && this.#txStatus === 'I' && !this.#relayBusy
  }

  /** Shutdown: tells the client, as Postgres does (57P01 admin_shutdown), and closes. */
  shutdown(): void {
    if (this.#phase === 'closed') return
    this.#send(errorResponse('57P01', 'terminating connection due to administrator command (Sluice is shutting down)', 'FATAL'))
    this.#end()
    this.#close()
  }

  /** True when the client connection is encrypted. */
  get encrypted(): boolean {
    return this.#socket instanceof TLSSocket
  }

  // ---- client side -----------------------------------------------------------------------

  #onData(chunk: Buffer): void {
    if (this.#phase === 'closed') return
    this.#reader.push(chunk)
    try {
      for (let f = this.#reader.next(); f !== undefined; f = this.#reader.next()) {
        const frame = f
        if (this.#pending === 0) {
          // Nothing in flight: handled right here; only what has to wait goes through the chain.
          const step = this.#handle(frame)
          if (step !== undefined) {
            this.#pending++
            this.#work = step.then(this.#handled, this.#handledWithError)
          }
        } else {
          this.#pending++
          this.#work = this.#work.then(() => this.#handle(frame)).then(this.#handled, this.#handledWithError)
        }
        if (this.#closed) return
      }
    } catch (err) {
      this.#fail(err)
    }
  }

  get #closed(): boolean {
    return this.#phase === 'closed'
  }

  /** Writes to the client; those made in one tick leave in one system call. */
  #write: CoalescingWriter

  /** Ends the client connection after what was written to it. */
  #end(): void {
    this.#write.flush()
    this.#socket.end()
  }

  #send(bytes: Buffer): void {
    if (this.#phase === 'closed' || this.#socket.destroyed) return
    this.#write(bytes)
  }

  /** Relays a server frame as it came (a range of the chunk it was read in: no view made). */
  #sendFrame(f: Frame): void {
    if (this.#phase === 'closed' || this.#socket.destroyed) return
    this.#write.range(f.source, f.start, f.end)
  }

  /**
   * The one log line of an error the client is sent. `err` (with its stack) only for internal
   * failures; a client's or the database's error carries its SQLSTATE and message, never the
   * statement or its parameters.
   */
  #logError(code: string, message: string, level: 'info' | 'warn' | 'error', what: string, err?: unknown): void {
    const fields = { requestId: this.id, door: 'pg', tenant: this.#route?.tenant, code, message, ...(err !== undefined ? { err } : {}) }
    this.#ctx.logger[level](fields, what)
  }

  /** An ErrorResponse from the origin on its way to the client. */
  #logServerError(body: Buffer): void {
    if (!this.#ctx.logger.isLevelEnabled('info')) return
    const f = errorFields(body)
    this.#logError(f.get('C') ?? 'XX000', f.get('M') ?? '', 'info', 'statement failed on the origin')
  }

  /** Protocol violations and internal failures: an ErrorResponse, then the connection is closed. */
  #fail(err: unknown): void {
    if (this.#phase === 'closed') return
    const protocol = err instanceof ProtocolError
    const sqlstate = protocol ? '08P01' : err instanceof PoolTimeoutError ? '53300' : '08006'
    const text = protocol || err instanceof PoolTimeoutError ? (err as Error).message : 'Sluice: connection to the origin failed'
    if (protocol) this.#logError(sqlstate, text, 'info', 'protocol violation; session closed')
    else if (err instanceof PoolTimeoutError) this.#logError(sqlstate, text, 'warn', 'no origin connection within pool_timeout; session closed')
    else this.#logError(sqlstate, text, 'error', 'wire session failed', err)
    this.#send(errorResponse(sqlstate, text, 'FATAL'))
    this.#end()
    this.#close()
  }

  #handle(f: Frame): Step {
    switch (this.#phase) {
      case 'startup':
        return this.#startup(f)
      case 'password':
      case 'sasl-initial':
      case 'sasl-continue':
        return this.#authenticate(f)
      case 'ready':
        return this.#command(f)
      case 'closed':
        return
    }
  }

  async #startup(f: Frame): Promise<void> {
    const code = f.body.readInt32BE(0)
    if (code === SSL_REQUEST && this.#ctx.tls && !this.encrypted) {
      if (this.#reader.pending > 0) throw new ProtocolError('data after SSLRequest')
      this.#upgrade(this.#ctx.tls)
      return
    }
    if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
      // Not offered (no certificate configured, or GSS): libpq continues in plain text or, with
      // sslmode=require, gives up with a clear message.
      this.#socket.write(Buffer.from('N'))
      return
    }
    if (code === CANCEL_REQUEST) {
      if (f.body.length < 12) throw new ProtocolError('truncated cancel request')
      this.#ctx.findByKey(f.body.readInt32BE(4), f.body.readInt32BE(8))?.cancel()
      this.#end()
      this.#phase = 'closed'
      return
    }
    if (code !== PROTOCOL_V3) throw new ProtocolError(`unsupported protocol version ${code >> 16}.${code & 0xffff}`)
    if (this.#ctx.requireTls && !this.encrypted) {
      this.#logError('28000', 'TLS required', 'info', 'session refused')
      this.#send(errorResponse('28000', 'Sluice requires TLS on this port (connect with sslmode=require)', 'FATAL'))
      this.#end()
      this.#phase = 'closed'
      return
    }
    const params = parseStartupParams(f.body)
    this.#user = params.get('user') ?? ''
    this.#database = params.get('database') ?? this.#user
    this.#reader.untyped = false
    // The settings it asks for, or why it is refused.
    const request = refusedStartupParameter(params) ?? startupRequest(params)
    if (typeof request === 'string') {
      this.#logError('0A000', request, 'info', 'session refused')
      this.#send(errorResponse('0A000', request, 'FATAL'))
      this.#end()
      this.#phase = 'closed'
      return
    }
    const route = this.#ctx.routes(this.#user, this.#database)
    if (!route) {
      this.#logError('28000', `no route for user "${this.#user}" and database "${this.#database}"`, 'info', 'session refused')
      this.#send(errorResponse('28000', `Sluice has no route for user "${this.#user}" and database "${this.#database}"`, 'FATAL'))
      this.#end()
      this.#phase = 'closed'
      return
    }
    this.#route = route
    this.#schema = route.origin.defaultSchema
    this.#startupRequest = request
    if (route.password === undefined) return this.#accept()
    if (route.auth === 'cleartext') {
      this.#phase = 'password'
      this.#send(message('R', 3))
      return
    }
    if (route.auth === 'md5') {
      this.#salt = randomBytes(4)
      this.#phase = 'password'
      this.#send(message('R', 5, this.#salt))
      return
    }
    this.#scram = new ScramExchange(route.scram!)
    this.#phase = 'sasl-initial'
    this.#send(message('R', 10, 'SCRAM-SHA-256', { byte: 0 }))
  }

  async #authenticate(f: Frame): Promise<void> {
    if (f.type !== T.Password) throw new ProtocolError('expected a password message')
    const refuse = () => {
      this.#logError('28P01', `password authentication failed for user "${this.#user}"`, 'info', 'session refused')
      this.#send(errorResponse('28P01', `password authentication failed for user "${this.#user}"`, 'FATAL'))
      this.#end()
      this.#close()
    }
    if (this.#phase === 'password') {
      const given = Buffer.from(new BodyReader(f.body).cstring())
      const route = this.#route!
      const expected = Buffer.from(
        route.auth === 'md5'
          ? 'md5' + md5(Buffer.concat([Buffer.from(md5(Buffer.from(route.password! + this.#user))), this.#salt!]))
          : route.password!,
      )
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return refuse()
      return this.#accept()
    }
    if (this.#phase === 'sasl-initial') {
      const r = new BodyReader(f.body)
      const mechanism = r.cstring()
      if (mechanism !== 'SCRAM-SHA-256') return refuse()
      const len = r.int32()
      let serverFirst: string
      try {
        serverFirst = this.#scram!.serverFirst(r.bytes(len).toString('utf8'))
      } catch {
        return refuse()
      }
      this.#phase = 'sasl-continue'
      this.#send(message('R', 11, Buffer.from(serverFirst)))
      return
    }
    const final = this.#scram!.serverFinal(f.body.toString('utf8'))
    if (final === undefined) return refuse()
    this.#send(message('R', 12, Buffer.from(final)))
    return this.#accept()
  }

  async #accept(): Promise<void> {
    const route = this.#route!
    const origin = startupFacts(await this.#ctx.parameterStatuses(route))
    this.#defaults = origin.defaults
    const reported = await this.#startupSettings()
    if (reported === undefined) return
    // AuthenticationOk and the ParameterStatus messages: the same bytes for every client whose
    // settings needed no word from the origin (connection storms), so made once for those.
    let head = reported.checked ? undefined : origin.heads.get(this.#settings)
    if (head === undefined) {
      const out = [authenticationOk()]
      for (const [k, v] of origin.statuses) out.push(parameterStatus(k, reported.values.get(k) ?? v))
      for (const [k, v] of reported.values) if (!this.#defaults.has(k.toLowerCase())) out.push(parameterStatus(k, v))
      head = Buffer.concat(out)
      if (!reported.checked) origin.heads.set(this.#settings, head)
    }
    this.#key = this.#ctx.register(this)
    this.#phase = 'ready'
    if (this.#ctx.logger.isLevelEnabled('debug')) {
      this.#ctx.logger.debug({ requestId: this.id, door: 'pg', tenant: route.tenant, user: this.#user, database: this.#database }, 'wire session started')
    }
    this.#send(head)
    this.#send(Buffer.concat([backendKeyData(this.#key.pid, this.#key.secret), READY_IDLE]))
  }

  /**
   * The client's startup settings, checked with the origin as a startup packet would be: the
   * values the server reports for them (canonical spelling), or undefined when the server refused
   * one (the client has been told, as Postgres tells it: FATAL with the server's SQLSTATE).
   */
  async #startupSettings(): Promise<{ values: Map<string, string>; checked: boolean } | undefined> {
    const reported = new Map<string, string>()
    let settings = startupSettings(this.#startupRequest ?? new Map(), this.#defaults)
    this.#startupRequest = undefined
    const checked = needsCheck(settings)
    if (checked) {
      const link = await ServerLink.acquire(this.#route!.origin)
      try {
        await link.align(settings, reported)
      } catch (err) {
        link.release(true)
        if (!(err instanceof OriginStatementError)) throw err
        this.#logError(err.code, err.message, 'info', 'session refused: startup setting')
        this.#send(errorResponse(err.code, err.message, 'FATAL'))
        this.#end()
        this.#close()
        return undefined
      }
      link.release()
      // Keep the server's spelling ('utc' is reported as 'UTC'); one that is the default is no setting.
      for (const [name, value] of reported) {
        const lower = name.toLowerCase()
        if (FOLLOWED_REPORTS.has(lower)) settings = withSetting(settings, lower, value, this.#defaults.get(lower))
      }
    } else {
      for (const [name, value] of settings) if (FOLLOWED_REPORTS.has(name)) reported.set(name, value)
    }
    this.#setSettings(settings)
    return { values: reported, checked }
  }

  #setSettings(settings: Settings): void {
    this.#settings = settings
    this.#schema = schemaOf(settings) ?? this.#route!.origin.defaultSchema
    // Keys of cached statements carry the settings.
    const route = this.#route!
    const rest = `${this.#database}\u0000${this.#user}\u0000${settingsKey(settings)}\u0000`
    this.#keyPrefix = `${route.tenant}\u0000${route.origin.id}\u0000pg\u0000${rest}`
    this.#extendedKeyPrefix = `${route.tenant}\u0000${route.origin.id}\u0000pgx\u0000${rest}`
    this.#hotSpace = this.#hotExecutions = undefined
  }

  #command(f: Frame): Step {
    // Outside a transaction, an extended-protocol batch is held until its Sync to see whether it
    // is one cacheable execution (Parse? Bind Describe? Execute Sync).
    if (this.#batch !== undefined) {
      this.#batch.push(f)
      if (f.type === T.Sync) {
        const batch = this.#batch
        this.#batch = undefined
        return this.#extendedBatch(batch)
      }
      if (f.type !== T.Parse && f.type !== T.Bind && f.type !== T.Describe && f.type !== T.Execute) {
        const batch = this.#batch
        this.#batch = undefined
        return this.#replay(batch)
      }
      return
    }
    if (this.#cacheable() && (f.type === T.Parse || f.type === T.Bind)) {
      if (this.#mayHold(f)) {
        this.#batch = [f]
        return
      }
      this.#unheld = true
    }
    return this.#dispatch(f)
  }

  /** The extended batch under way was not held: nothing could cache it (counted at its Binds). */
  #unheld = false

  /**
   * Is the extended batch this Parse or Bind begins worth holding until its Sync — could its
   * execution be answered from the cache? In auto mode or with rules, any may; otherwise only a
   * statement whose text starts with a comment (where a hint is). The rest goes straight on, as
   * inside a transaction, without being read twice.
   */
  #mayHold(f: Frame): boolean {
    if (cachesUnhinted(this.#ctx.cacheSettings)) return true
    if (f.type === T.Parse) {
      // Parse: statement name, then the text; its first bytes are enough (no string is made).
      const body = f.body
      let i = body.indexOf(0) + 1
      while (i < body.length && (body[i] === 0x20 || (body[i]! >= 0x09 && body[i]! <= 0x0d))) i++
      return body[i] === 0x2f /* / */ && body[i + 1] === 0x2a /* * */
    }
    const r = new BodyReader(f.body)
    r.cstring()
    const stmt = r.cstring()
    const sql = stmt === '' ? this.#unnamedQuery : this.#statements.get(stmt)?.query
    return sql !== undefined && startsWithComment(sql)
  }

  #batch: Frame[] | undefined

  /**
   * May the next statement be answered from the cache? Only in transaction pooling, outside a
   * transaction block, with nothing in flight. (Session mode does not cache: its server state —
   * SET search_path and the like — can change what a statement returns, and a fill would need a
   * second server connection while the session holds one.)
   */
  #cacheable(): boolean {
    return this.#txStatus === 'I' && this.#link === undefined && !this.#dirtyNext && !this.#route!.sessionMode
  }

  /**
   * Sends held frames the ordinary way, in order: synchronously while each is handled
   * synchronously (the server connection is held or parked), the rest after the first that waits.
   */
  #replay(frames: Frame[], from = 0): Step {
    for (let i = from; i < frames.length; i++) {
      const step = this.#dispatch(frames[i]!)
      if (step !== undefined) return i + 1 < frames.length ? step.then(() => this.#replay(frames, i + 1)) : step
    }
  }

  #dispatch(f: Frame): Step {
    switch (f.type) {
      case T.Terminate:
        this.#end()
        return this.#close()
      case T.Query:
        return this.#query(f)
      case T.Parse:
        return this.#parse(f)
      case T.Bind:
        return this.#bind(f)
      case T.Describe:
        return this.#describe(f)
      case T.Close:
        return this.#closeStatement(f)
      case T.Sync:
        this.#unheld = false
        return andThen(this.#forwardFrame(f), () => {
          this.#awaitingReady++
          this.#inBatch = false
        })
      case T.Execute:
      case T.Flush:
        this.#inBatch = true
        return this.#forwardFrame(f)
      case T.CopyData:
      case T.CopyDone:
      case T.CopyFail:
      case T.FunctionCall:
        return this.#forwardFrame(f)
      default:
        throw new ProtocolError(`unexpected message type "${String.fromCharCode(f.type)}"`)
    }
  }

  #query(f: Frame): Step {
    const sql = f.firstString()
    const cacheable = this.#cacheable()
    if (cacheable) {
      // A text answered from the cache before, in this key space and under the same rules.
      const hot = this.#hotSpace?.get(sql)
      if (hot !== undefined && hot.rules === this.#ctx.cacheSettings) return this.#cachedQuery(f, sql, hot.policy, hot.analysis, hot)
    }
    const analysis = analyzeSql(sql, this.#schema)
    let reason: string | undefined
    if (cacheable) {
      this.#reason = undefined
      const policy = cachePolicyForStatement(sql, analysis, this.#ctx.cacheSettings, this.#onNotCached)
      if (policy !== null) return this.#cachedQuery(f, sql, policy, analysis)
      reason = this.#reason
    } else if (analysis.kind === 'read') this.#ctx.notCached('in transaction')
    this.#ctx.answered('none')
    return this.#relayQuery(f, sql, analysis, reason)
  }

  /** Relays a simple query to a server connection the ordinary way (`reason`: why it was not cached). */
  #relayQuery(f: Frame, sql: string, analysis: StatementAnalysis, reason: string | undefined): Step {
    const shapes = this.#ctx.shapes
    if (shapes !== undefined) shapes.uncached(shapes.forSql(this.#route!.tenant, sql, analysis), this.#uncachedReason(analysis, reason), undefined, performance.now())
    this.#noteStatement(analysis)
    return andThen(this.#forwardFrame(f), this.#awaitReady)
  }

  readonly #awaitReady = (): void => {
    this.#awaitingReady++
  }

  /**
   * Why a relayed statement was not cached, for its shape: what the statement is (a write…) comes
   * first, then what the cache policy said (`heard`), then the session's state.
   */
  #uncachedReason(analysis: StatementAnalysis, heard?: string): string {
    if (analysis.kind !== 'read') return unsafeReason(analysis) ?? 'write'
    if (heard !== undefined) return heard
    if (this.#route!.sessionMode) return 'session mode'
    if (this.#txStatus !== 'I') return 'in transaction'
    return unsafeReason(analysis) ?? 'connection busy (pipelined or session state)'
  }

  /** Statistics of a statement answered through the cache (`produced`: a miss). */
  #observeCached(c: CachedStatement, produced?: Produced): void {
    const shapes = this.#ctx.shapes
    if (shapes === undefined) return
    const shape: ShapeRecord = shapes.forSql(this.#route!.tenant, c.sql, c.analysis)
    const now = performance.now()
    if (produced === undefined) shapes.hit(shape, now - c.started, now)
    else {
      shapes.miss(shape, now - c.started, now)
      if (produced !== undefined && !produced.storable) shapes.noteReason(shape, produced.notStoredReason ?? 'not storable')
    }
  }

  /** Remembers what a statement about to run writes, and whether it leaves session state behind. */
  #noteStatement(analysis: StatementAnalysis): void {
    // Writes, and reads calling functions that may write, are invalidated when the transaction ends
    // (after a moved search_path, to the whole origin: see WriteSet.pathMoved).
    collectWritesFrom(analysis, true, this.#writes)
    if (analysis.sessionState) {
      if (this.#link) this.#link.dirty = true
      else this.#dirtyNext = true
    }
  }
  #dirtyNext = false
  /** Statements prepared in the current batch but not yet confirmed by ParseComplete. */
  #unconfirmed = new Set<string>()

  /** A cacheable read outside a transaction: answered from the cache or filled through a fresh server connection. */
  #cachedQuery(f: Frame, sql: string, policy: CachePolicy, analysis: StatementAnalysis, hot?: HotStatement): Step {
    const started = performance.now()
    const key = hot !== undefined ? hot.key : this.#keyPrefix + sql
    // A hit in the local tier is answered synchronously.
    const c: CachedStatement = { sql, analysis, policy, key, started, head: undefined, produce: undefined, query: f, settings: this.#settings, hot, rules: this.#ctx.cacheSettings, extended: undefined }
    const known = hot?.entry
    const local = known !== undefined ? this.#ctx.cache.getKnown(known, policy) : this.#ctx.cache.getLocal(key, policy)
    if (local === null) return this.#ctx.cache.get(key, policy).then((hit) => (hit === undefined ? this.#missedQuery(f, c) : this.#answerHit(c, hit)))
    return local === undefined ? this.#missedQuery(f, c) : this.#answerHit(c, local)
  }

  /** A simple query the cache did not answer: filled, or (a first miss in auto mode) relayed. */
  #missedQuery(f: Frame, c: CachedStatement): Step {
    if (this.#admitted(c)) return this.#fill(c)
    return this.#relayQuery(f, c.sql, c.analysis, NOT_ADMITTED)
  }

  #producer(c: CachedStatement): () => Promise<Produced> {
    return (c.produce ??= () => this.#produce(tablesRead(c.analysis), c.policy, c.settings, c.query!.bytes))
  }

  /**
   * A miss is filled and stored unless auto mode chose the statement and its key is new
   * (QueryCache.admit); then it is counted as a miss not stored, and relayed the ordinary way.
   */
  #admitted(c: CachedStatement): boolean {
    if (c.policy.auto !== true || this.#ctx.cache.admit(c.key)) return true
    this.#ctx.answered('miss')
    this.#ctx.notCached(NOT_ADMITTED)
    return false
  }

  /** Answers a statement from a cache entry (and refreshes a stale one in the background). */
  #answerHit(c: CachedStatement, hit: NonNullable<Lookup>): void {
    this.#ctx.answered(hit.state === 'fresh' ? 'ttl' : 'swr')
    if (hit.state === 'stale') this.#ctx.cache.refresh(c.key, c.policy, this.#producer(c), () => {})
    const known = this.#knownAnswer(c, hit.entry)
    const joined = known === undefined ? undefined : joinedAnswer(known, hit.entry, c.head, READY_IDLE)
    if (joined !== undefined) this.#send(joined)
    else this.#answerRows(c, hit.entry.payload)
    this.#observeCached(c)
  }

  /**
   * Where a statement answered from the cache keeps what it answered with (hot-statements.ts). A
   * text answered for the first time is remembered: its analysis is found by the text next time,
   * and its whole decision by the text in its key space — for a simple query under the entry's own
   * key string (the one the cache holds: later lookups compare it by identity), for an extended
   * execution with the key up to its parameters.
   */
  #knownAnswer(c: CachedStatement, entry: CacheEntry): KnownAnswer | undefined {
    if (c.hot !== undefined) return c.hot
    const extended = c.extended
    if (extended === undefined) {
      if (c.query === undefined) return undefined
      rememberSqlText(c.sql, this.#schema, c.analysis)
      const space = (this.#hotSpace ??= this.#ctx.hot.space(this.#keyPrefix))
      this.#ctx.hot.remember(space, c.sql, { analysis: c.analysis, policy: c.policy, key: entry.key, rules: c.rules, entry: undefined, head: undefined, answer: undefined })
      return undefined
    }
    let execution = extended.execution
    if (execution === undefined) {
      rememberSqlText(c.sql, this.#schema, c.analysis)
      const space = (this.#hotExecutions ??= this.#ctx.hotExecutions.space(this.#extendedKeyPrefix))
      execution = this.#ctx.hotExecutions.remember(space, c.sql, {
        analysis: c.analysis,
        policy: c.policy,
        rules: c.rules,
        parse: c.head === PARSE_BIND_COMPLETE,
        describe: extended.describe,
        // Copied: the record outlives the client's message.
        paramTypes: Buffer.from(extended.paramTypes),
        keyHead: extended.keyHead,
        byParams: new Map(),
      })
      // Too long to keep, or the text is kept already for executions sent another way (with a
      // Parse where this one had none…): those keep their record; this one is answered as it is.
      if (execution === undefined || !sentAs(execution, c.head === PARSE_BIND_COMPLETE, extended.describe, extended.paramTypes)) return undefined
    }
    return this.#ctx.hotExecutions.knownFor(execution, extended.params)
  }

  /** Answers a missed statement through a fill (single flight with other callers of the key). */
  async #fill(c: CachedStatement): Promise<void> {
    this.#ctx.answered('miss')
    let produced: Produced
    try {
      produced = await this.#ctx.cache.fill(c.key, c.policy, this.#producer(c))
    } catch (err) {
      // Too large to cache: a simple query goes to a server connection as usual (an extended
      // execution's held messages are replayed by #extendedLookup).
      if (!(err instanceof NotCacheable) || c.query === undefined) throw err
      this.#ctx.notCached(err.reason)
      return this.#relayQuery(c.query, c.sql, c.analysis, err.reason)
    }
    this.#answerRows(c, produced.payload)
    this.#observeCached(c, produced)
  }

  #answerRows(c: CachedStatement, rows: Buffer): void {
    if (c.head !== undefined) this.#send(c.head)
    this.#send(rows)
    this.#send(READY_IDLE)
  }

  /**
   * Runs one statement on a server connection of its own and captures the answer's bytes (after
   * `skip` leading ParseComplete/BindComplete messages, up to ReadyForQuery).
   */
  async #produce(tables: string[] | null, policy: CachePolicy, settings: Settings, bytes: Buffer, skip = 0): Promise<Produced> {
    const route = this.#route!
    const startedSeq = await this.#ctx.cache.snapshot()
    const producedAt = Date.now()
    const link = await ServerLink.acquire(route.origin)
    try {
      // The result is stored under a key made with these settings: it must be made with them.
      await link.align(settings)
    } catch (err) {
      link.release(true)
      throw err
    }
    const frames: Buffer[] = []
    let size = 0
    let failed = false
    let status = 'I'
    const max = this.#ctx.cacheSettings.maxResultBytes
    let oversize = false
    try {
      await new Promise<void>((resolve, reject) => {
        link.listen(
          (f) => {
            if (oversize) return
            if (f.type === T.ReadyForQuery) {
              status = String.fromCharCode(f.body[0]!)
              resolve()
              return
            }
            if (f.type === T.ErrorResponse) {
              failed = true
              // A failed extended execution is replayed and relayed (and logged) the ordinary way.
              if (skip === 0) this.#logServerError(f.body)
            }
            // Notices and parameter changes are not part of a result worth replaying.
            if (f.type === T.NoticeResponse || f.type === T.ParameterStatus) return
            if (skip > 0 && (f.type === T.ParseComplete || f.type === T.BindComplete)) {
              skip--
              return
            }
            size += f.end - f.start
            if (size > max) {
              // Too large to cache: not held in memory either (a result may be gigabytes). The
              // connection is dropped (the origin stops when it notices) and the statement relayed.
              oversize = true
              reject(new NotCacheable('too large'))
              return
            }
            frames.push(f.bytes)
          },
          () => reject(new Error('origin connection closed')),
        )
        link.write(bytes)
      })
    } catch (err) {
      link.release(true)
      throw err
    }
    link.release(status !== 'I')
    // An extended execution that failed is answered by the server itself (exact error flow).
    if (failed && skip > 0) throw new NotCacheable('query failed')
    return {
      payload: Buffer.concat(frames, size),
      deps: { origin: route.origin.id, tables, tenant: route.tenant, tags: policy.tags },
      startedSeq,
      producedAt,
      storable: !failed && tables !== null,
      ...(failed ? { notStoredReason: 'query failed' } : tables === null ? { notStoredReason: 'tables unknown' } : {}),
    }
  }

  /**
   * A held extended-protocol batch at its Sync. One cacheable execution is answered from the
   * cache (or filled through a server connection of its own); anything else is relayed as usual.
   */
  #extendedBatch(batch: Frame[]): Step {
    let i = 0
    const parse = batch[i]?.type === T.Parse ? batch[i++] : undefined
    const bind = batch[i]?.type === T.Bind ? batch[i++] : undefined
    const describe = batch[i]?.type === T.Describe ? batch[i++] : undefined
    const execute = batch[i]?.type === T.Execute ? batch[i++] : undefined
    if (!bind || !execute || i !== batch.length - 1) return this.#replayUncached(batch, 'not a single execution')
    // Only the unnamed portal, all rows, Describe of that portal.
    const b = new BodyReader(bind.body)
    const portal = b.cstring()
    const stmt = b.cstring()
    const bindRest = bind.body.subarray(b.position)
    const e = new BodyReader(execute.body)
    if (portal !== '' || e.cstring() !== '' || e.int32() !== 0) return this.#replayUncached(batch, 'named portal or row limit')
    if (describe && (describe.body[0] !== 0x50 || new BodyReader(describe.body.subarray(1)).cstring() !== '')) return this.#replayUncached(batch, 'not a single execution')
    let sql: string | undefined
    let parseRest: Buffer | undefined
    if (parse) {
      const p = new BodyReader(parse.body)
      const name = p.cstring()
      sql = p.cstring()
      parseRest = parse.body.subarray(p.position)
      if (name !== stmt) return this.#replay(batch)
    } else {
      const info = stmt === '' ? undefined : this.#statements.get(stmt)
      sql = stmt === '' ? undefined : info?.query
      parseRest = info?.paramTypes
    }
    if (sql === undefined || parseRest === undefined) return this.#replay(batch)
    const route = this.#route!
    const started = performance.now()
    const rules = this.#ctx.cacheSettings
    const params = bindRest.toString('latin1')
    // An execution of this text answered from the cache before, sent the same way, under the same rules.
    let hot = this.#hotExecutions?.get(sql)
    if (hot !== undefined && (hot.rules !== rules || !sentAs(hot, parse !== undefined, describe !== undefined, parseRest))) hot = undefined
    let analysis: StatementAnalysis
    let policy: CachePolicy
    let keyHead: string
    if (hot !== undefined) {
      ;({ analysis, policy, keyHead } = hot)
    } else {
      analysis = analyzeSql(sql, this.#schema)
      this.#reason = undefined
      const decided = cachePolicyForStatement(sql, analysis, rules, this.#onNotCached)
      if (decided === null) return this.#replayUncached(batch, this.#reason)
      policy = decided
      keyHead = `${this.#extendedKeyPrefix}${describe ? 'D' : ''}\u0000${sql}\u0000${parseRest.toString('latin1')}\u0000`
    }

    // Remember the client's named statement as if it had been prepared.
    if (parse && stmt !== '') this.#statements.set(stmt, statementInfo(sql, parseRest))
    else if (parse) this.#unnamedQuery = sql
    const settings = this.#settings
    const key = keyHead + params
    // What the server is sent to fill the entry: the same execution on the unnamed statement
    // (built only when the cache misses).
    const produce = () =>
      this.#produce(
        tablesRead(analysis),
        policy,
        settings,
        Buffer.concat([message('P', '', sql, parseRest), message('B', '', '', bindRest), ...(describe ? [describe.bytes] : []), execute.bytes, batch[batch.length - 1]!.bytes]),
        2,
      )
    const head = parse ? PARSE_BIND_COMPLETE : BIND_COMPLETE
    const extended: ExtendedExecution = { params, keyHead, describe: describe !== undefined, paramTypes: parseRest, execution: hot }
    const c: CachedStatement = { sql, analysis, policy, key, started, head, produce, query: undefined, settings, hot: undefined, rules, extended }
    const known = hot?.byParams.get(params)?.entry
    const local = known !== undefined ? this.#ctx.cache.getKnown(known, policy) : this.#ctx.cache.getLocal(key, policy)
    // A hit in the local tier is answered synchronously.
    if (local !== null && local !== undefined) return this.#answerHit(c, local)
    if (local === undefined && !this.#admitted(c)) return this.#replayUncached(batch, NOT_ADMITTED)
    return this.#extendedLookup(batch, c, local)
  }

  /** The rest of #extendedBatch when the local tier did not answer: the shared tier, or a fill. */
  async #extendedLookup(batch: Frame[], c: CachedStatement, local: null | undefined): Promise<void> {
    try {
      const hit = local === null ? await this.#ctx.cache.get(c.key, c.policy) : undefined
      if (hit !== undefined) return this.#answerHit(c, hit)
      if (!this.#admitted(c)) return await this.#replayUncached(batch, NOT_ADMITTED)
      await this.#fill(c)
    } catch (err) {
      if (!(err instanceof NotCacheable)) throw err
      // The execution failed, or its answer is too large to cache: let the server answer the
      // client's own messages.
      if (err.reason !== 'query failed') this.#ctx.notCached(err.reason)
      return this.#replayUncached(batch, err.reason)
    }
  }

  /** Relays a held batch the ordinary way; its executions are counted as not cached for `reason`. */
  #replayUncached(batch: Frame[], reason: string | undefined): Step {
    this.#batchReason = reason
    let step: Step = undefined
    try {
      step = this.#replay(batch)
    } finally {
      // Done synchronously (or failed): the reason applied to this batch only.
      if (step === undefined) this.#batchReason = undefined
    }
    if (step === undefined) return
    return step.finally(() => {
      this.#batchReason = undefined
    })
  }

  // Extended protocol: statement names are per client; on the server they are named after
  // their text, prepared once per server connection and re-prepared wherever needed.

  #parse(f: Frame): Step {
    const r = new BodyReader(f.body)
    const name = r.cstring()
    const query = r.cstring()
    const rest = f.body.subarray(r.position)
    this.#inBatch = true
    if (name === '') {
      this.#unnamedQuery = query
      this.#parseQueue.push({ swallow: false })
      return this.#forwardFrame(f)
    }
    const info = statementInfo(query, rest)
    this.#statements.set(name, info)
    const link = this.#ensureLink()
    if (link instanceof Promise) return link.then((l) => this.#prepareOn(l, info))
    this.#prepareOn(link, info)
  }

  #prepareOn(link: ServerLink, info: StatementInfo): void {
    const serverName = info.serverName
    if (link.prepared.has(serverName)) {
      // Already prepared on this connection: a no-op Parse keeps ParseComplete in order.
      this.#parseQueue.push({ swallow: false })
      link.write(message('P', '', '', { int16: 0 }))
      return
    }
    this.#parseQueue.push({ swallow: false, prepares: serverName })
    link.prepared.add(serverName)
    this.#unconfirmed.add(serverName)
    link.write(info.parseFor(serverName))
  }

  /** Makes sure `stmt` exists on the current server connection; returns its server-side name. */
  #serverStatement(stmt: string): string | Promise<string> {
    if (stmt === '') return ''
    const info = this.#statements.get(stmt)
    if (!info) return stmt // unknown: let the server say so
    const link = this.#ensureLink()
    if (link instanceof Promise) return link.then((l) => this.#preparedOn(l, info))
    return this.#preparedOn(link, info)
  }

  #preparedOn(link: ServerLink, info: StatementInfo): string {
    if (!link.prepared.has(info.serverName)) {
      this.#parseQueue.push({ swallow: true, prepares: info.serverName })
      link.prepared.add(info.serverName)
      this.#unconfirmed.add(info.serverName)
      link.write(info.parseFor(info.serverName))
    }
    return info.serverName
  }

  #bind(f: Frame): Step {
    const r = new BodyReader(f.body)
    const portal = r.cstring()
    const stmt = r.cstring()
    const rest = f.body.subarray(r.position)
    this.#inBatch = true
    const sql = stmt === '' ? this.#unnamedQuery : this.#statements.get(stmt)?.query
    if (sql !== undefined) {
      const analysis = analyzeSql(sql, this.#schema)
      let heard = this.#batchReason
      if (this.#unheld) {
        heard = NO_RULE_OR_HINT
        this.#ctx.notCached(heard)
      }
      const shapes = this.#ctx.shapes
      if (shapes !== undefined) {
        shapes.uncached(shapes.forSql(this.#route!.tenant, sql, analysis), this.#uncachedReason(analysis, heard), undefined, performance.now())
      }
      this.#noteStatement(analysis)
    }
    const forward = (serverStmt: string) => (serverStmt === stmt ? this.#forwardFrame(f) : this.#forward(message('B', portal, serverStmt, rest)))
    const serverStmt = this.#serverStatement(stmt)
    return typeof serverStmt === 'string' ? forward(serverStmt) : serverStmt.then(forward)
  }

  #describe(f: Frame): Step {
    this.#inBatch = true
    const kind = f.body[0]
    const name = new BodyReader(f.body.subarray(1)).cstring()
    if (kind !== 0x53 /* S */ || name === '') return this.#forwardFrame(f)
    const forward = (serverStmt: string) => this.#forward(message('D', { byte: kind }, serverStmt))
    const serverStmt = this.#serverStatement(name)
    return typeof serverStmt === 'string' ? forward(serverStmt) : serverStmt.then(forward)
  }

  #closeStatement(f: Frame): Step {
    this.#inBatch = true
    const kind = f.body[0]
    const name = new BodyReader(f.body.subarray(1)).cstring()
    if (kind !== 0x53 || name === '') return this.#forwardFrame(f)
    // The server-side statement stays prepared for reuse; closing a portal that does not exist
    // is not an error and yields the CloseComplete the client waits for, in order.
    this.#statements.delete(name)
    return this.#forward(message('C', { byte: 0x50 }, NO_STATEMENT))
  }

  // ---- server side -----------------------------------------------------------------------

  /** The server connection for the next message: the one held, else a parked one at once, else one from the pool. */
  #ensureLink(): ServerLink | Promise<ServerLink> {
    if (this.#link) return this.#link
    if (this.#acquiring === undefined) {
      const parked = ServerLink.take(this.#route!.origin)
      if (parked !== undefined) return this.#adopt(parked)
    }
    this.#acquiring ??= ServerLink.acquire(this.#route!.origin).then((link) => {
      this.#acquiring = undefined
      return this.#adopt(link)
    })
    return this.#acquiring
  }

  /** Takes `link` for this session; ready once it has the client's settings (at once, as a rule). */
  #adopt(link: ServerLink): ServerLink | Promise<ServerLink> {
    this.#link = link
    link.feeds(this.#socket)
    // Made once the socket is final (after a TLS upgrade).
    ;(this.#upload ??= new ReadThrottle(this.#socket)).feeds(link.sink)
    link.listen(
      (frame) => {
        // Frames are relayed synchronously; only an invalidation before ReadyForQuery awaits,
        // and then later frames queue behind it.
        if (this.#relayBusy) {
          this.#relay = this.#relay.then(() => this.#fromServer(link, frame)).catch((err: unknown) => this.#fail(err))
          return
        }
        const pending = this.#fromServer(link, frame)
        if (pending) {
          this.#relayBusy = true
          this.#relay = pending.catch((err: unknown) => this.#fail(err)).finally(() => (this.#relayBusy = false))
        }
      },
      () => this.#serverClosed(link),
    )
    const aligning = link.align(this.#settings)
    return aligning === undefined ? link : aligning.then(() => link)
  }

  #forward(bytes: Buffer): Step {
    const link = this.#ensureLink()
    if (link instanceof Promise) return link.then((l) => this.#writeTo(l, bytes))
    this.#writeTo(link, bytes)
  }

  /** Forwards a client frame as it came (a range of the chunk it was read in: no view made). */
  #forwardFrame(f: Frame): Step {
    const link = this.#ensureLink()
    if (link instanceof Promise) return link.then((l) => this.#writeFrameTo(l, f))
    this.#writeFrameTo(link, f)
  }

  #writeFrameTo(link: ServerLink, f: Frame): void {
    this.#claim(link)
    link.write.range(f.source, f.start, f.end)
  }

  #writeTo(link: ServerLink, bytes: Buffer): void {
    this.#claim(link)
    link.write(bytes)
  }

  /** Session state left by a statement sent before this connection was held goes with it. */
  #claim(link: ServerLink): void {
    if (this.#dirtyNext) {
      link.dirty = true
      this.#dirtyNext = false
    }
  }

  #relayBusy = false

  #fromServer(link: ServerLink, f: Frame): Promise<void> | undefined {
    if (this.#internal > 0) {
      // Answers to Sluice's own reset statement.
      if (f.type === T.ReadyForQuery) {
        this.#internal--
        if (this.#internal === 0) this.#giveBack(link)
      }
      return
    }
    switch (f.type) {
      case T.ParseComplete: {
        const p = this.#parseQueue.shift()
        if (p?.prepares) this.#unconfirmed.delete(p.prepares)
        if (p?.swallow) return
        break
      }
      case T.CommandComplete:
        // Only whether the transaction rolled back matters: no tag string is made.
        this.#rolledBack = f.end - f.start === ROLLBACK_COMPLETE.length && f.bytes.equals(ROLLBACK_COMPLETE)
        break
      case T.ErrorResponse:
        this.#logServerError(f.body)
        break
      case T.ParameterStatus:
        this.#followReport(link, f.body)
        break
      case T.ReadyForQuery: {
        this.#awaitingReady--
        if (this.#parseQueue.length > 0) this.#parseQueue = []
        // Parses skipped after an error never happened on the server.
        if (this.#unconfirmed.size > 0) {
          for (const name of this.#unconfirmed) link.prepared.delete(name)
          this.#unconfirmed.clear()
        }
        const code = f.source[f.start + 5]
        const status = code === 0x49 ? 'I' : code === 0x54 ? 'T' : 'E'
        if (status === 'I' && hasWrites(this.#writes)) {
          // The transaction ended. Invalidate what it wrote before the client hears of it —
          // unless it rolled back.
          const writes = this.#writes
          this.#writes = emptyWriteSet()
          // A search_path moved on this connection stays moved while the session holds it.
          if (writes.pathMoved === true) this.#writes.pathMoved = true
          const inv = this.#rolledBack ? null : writeInvalidation(this.#route!.origin.id, writes)
          if (inv) return this.#ctx.cache.invalidate(inv).then(() => this.#ready(link, f, status))
        }
        this.#ready(link, f, status)
        return
      }
    }
    this.#sendFrame(f)
  }

  /**
   * A reported setting changed by the client's own statement (SET TimeZone, set_config(), RESET…):
   * it stays the client's for its next transactions, as on a connection of its own, and the server
   * connection is known to have it.
   */
  #followReport(link: ServerLink, body: Buffer): void {
    const r = new BodyReader(body)
    const name = r.cstring().toLowerCase()
    if (!FOLLOWED_REPORTS.has(name)) return
    const value = r.cstring()
    const byDefault = this.#defaults.get(name)
    link.settings = withSetting(link.settings, name, value, byDefault)
    const next = withSetting(this.#settings, name, value, byDefault)
    if (next !== this.#settings) this.#setSettings(next)
  }

  /** ReadyForQuery relayed; the connection goes back when the transaction is over and nothing is in flight. */
  #ready(link: ServerLink, f: Frame, status: 'I' | 'T' | 'E'): void {
    this.#txStatus = status
    this.#sendFrame(f)
    if (status === 'I' && this.#awaitingReady === 0 && !this.#inBatch && !this.#route!.sessionMode) this.#releaseLink(link)
  }

  /** Transaction over and nothing in flight: the server connection goes back to the pool. */
  #releaseLink(link: ServerLink): void {
    if (this.#link !== link) return
    this.#link = undefined
    // A SET search_path made the connection dirty (reset below); a SET LOCAL ended with the transaction.
    this.#writes.pathMoved = false
    if (link.dirty) {
      // Session state (SET, PREPARE, LISTEN, temp tables…) must not reach the next client.
      this.#internal = 1
      link.prepared.clear()
      link.dirty = false
      link.settings = DEFAULT_SETTINGS
      link.write(message('Q', 'DISCARD ALL'))
      return
    }
    link.release()
  }

  #giveBack(link: ServerLink): void {
    link.release()
  }

  #serverClosed(link: ServerLink): void {
    if (this.#link !== link && this.#internal === 0) return
    this.#link = undefined
    link.release(true)
    if (this.#phase === 'closed') return
    this.#send(errorResponse('08006', 'Sluice: the origin closed the server connection', 'FATAL'))
    this.#end()
    this.#close()
  }

  /**
   * Forwards a cancel request to the origin backend currently serving this session. The server
   * connection is not given to anyone else until the origin has handled it: a cancel arriving as
   * the statement ends would otherwise hit the next client's statement on that backend.
   */
  cancel(): void {
    const link = this.#link
    const backend = link?.backend
    if (link && backend) link.holdUntil(this.#route!.cancel(backend.pid, backend.secret))
  }

  #close(): void {
    if (this.#phase === 'closed') {
      this.#cleanup()
      return
    }
    if (this.#phase === 'ready') this.#ctx.logger.debug({ requestId: this.id, door: 'pg', tenant: this.#route?.tenant }, 'wire session ended')
    this.#phase = 'closed'
    this.#cleanup()
  }

  #cleanup(): void {
    if (this.#key) {
      this.#ctx.unregister(this)
      this.#key = undefined
    }
    const link = this.#link
    if (!link || this.#internal > 0) return
    this.#link = undefined
    if (this.#awaitingReady === 0 && !this.#inBatch && this.#txStatus !== 'I') {
      // Client left inside a transaction: roll it back, then the connection is clean again.
      this.#internal = 1
      link.dirty = false
      link.listen(
        (f) => {
          if (f.type === T.ReadyForQuery) link.release(f.body[0] !== 0x49)
        },
        () => link.release(true),
      )
      link.write(message('Q', 'ROLLBACK'))
      return
    }
    // Anything else in flight: the connection's state is unknown; the pool closes it.
    link.release(this.#awaitingReady > 0 || this.#inBatch || link.dirty)
  }

  static randomKey(): { pid: number; secret: number } {
    return { pid: randomInt(1, 2 ** 31 - 1), secret: randomInt(1, 2 ** 31 - 1) }
  }
}
