// One client connection on the MySQL wire door: handshake and authentication, then a relay to a
// server connection borrowed per transaction (transaction pooling), with prepared statements
// carried across server connections, caching of safe reads and write-aware invalidation in the
// cache shared with the HTTP door.
import { privateDecrypt, constants, randomInt, type KeyObject } from 'node:crypto'
import type { Socket } from 'node:net'
import { Duplex } from 'node:stream'
import { TLSSocket, type SecureContext } from 'node:tls'
import type { Logger } from 'pino'
import type { CachePolicy, Produced, QueryCache } from '../../cache/query-cache.js'
import { emptyWriteSet, tablesRead, writeInvalidation, type WriteSet } from '../../invalidation/writes.js'
import type { StatementAnalysis } from '../../sql/analyze.js'
import { PoolTimeoutError, OriginUnavailableError } from '../../pool/errors.js'
import { tickWriter } from '../../util/cork.js'
import { cleartextPassword, nativeToken, sameBytes, sha2RsaPassword, sha2Token } from './auth.js'
import { NOT_ADMITTED, cachePolicyForStatement, type WireCacheSettings } from './cache-policy.js'
import {
  BASE_CAPS,
  CAP,
  COM,
  ER,
  FORMAT_CAPS,
  LogicalAssembler,
  PacketReader,
  ProtocolError,
  STATUS,
  authMoreData,
  authSwitchPayload,
  errPayload,
  handshakeV10,
  isSslRequest,
  okPayload,
  packet,
  parseHandshakeResponse,
  resequence,
  type HandshakeResponse,
  type Packet,
} from './protocol.js'
import { ResponseTracker, type ResponseKind } from './response.js'
import { OriginError, type LinkPool, type ServerLink, type ServerStatement } from './server-link.js'
import type { MysqlRoute } from './routes.js'

export type MysqlAuthPlugin = 'mysql_native_password' | 'caching_sha2_password'

export interface MysqlSessionContext {
  routes(user: string, database: string | undefined): MysqlRoute | undefined
  links(route: MysqlRoute): LinkPool
  analyze(sql: string, database: string): StatementAnalysis
  cache: QueryCache
  cacheSettings: WireCacheSettings
  logger: Logger
  /** The origin's version string and capabilities, as its handshake announced them. */
  server(): { version: string; capabilities: number }
  authPlugin: MysqlAuthPlugin
  /** Key pair for caching_sha2_password full authentication without TLS. */
  rsa: { publicKeyPem: string; privateKey: KeyObject }
  /** Users that completed caching_sha2_password full authentication (MySQL's server-side cache). */
  sha2Verified: Set<string>
  tls?: SecureContext
  requireTls?: boolean
  notCached(reason: string): void
  answered(status: 'ttl' | 'swr' | 'miss' | 'none'): void
}

interface ClientStatement {
  id: number
  /** The statement text in the client's bytes (re-prepared from these). */
  sql: Buffer
  text: string
  params: number
  columns: number
  /** Parameter types last bound (sent again on every execution: server statements differ). */
  types: Buffer | undefined
  longData: Map<number, Buffer[]>
}

type Phase = 'handshake' | 'switch' | 'sha2-full' | 'ready' | 'closed'

const SERVER_CHARSET = 45 // utf8mb4_general_ci
/** The statement id MariaDB clients use for "the statement I just prepared" (pipelined PREPARE + EXECUTE). */
const LAST_PREPARED = 0xffffffff

export class MysqlSession {
  #socket: Socket | TLSSocket
  #write: (bytes: Buffer) => void
  readonly #ctx: MysqlSessionContext
  readonly #reader = new PacketReader()
  readonly #assembler = new LogicalAssembler()
  readonly #connectionId = randomInt(1, 2 ** 31 - 1)
  readonly #scramble = scramble()
  #phase: Phase = 'handshake'
  #seq = 0
  #route: MysqlRoute | undefined
  #hello: HandshakeResponse | undefined
  #user = ''
  #database = ''
  #caps = 0
  #charset = SERVER_CHARSET
  #work: Promise<void> = Promise.resolve()

  #link: ServerLink | undefined
  /** The client changed session state: it keeps its server connection until it leaves or resets. */
  #pinned = false
  #status: number = STATUS.AUTOCOMMIT
  #writes: WriteSet = emptyWriteSet()
  #statements = new Map<number, ClientStatement>()
  #nextStatement = 1
  #lastPrepared: number | undefined
  /** A command's answer is being relayed (the client leaving now leaves the server connection in an unknown state). */
  #busy = false

  readonly #dataListener = (chunk: Buffer) => this.#onData(chunk)

  constructor(socket: Socket, ctx: MysqlSessionContext) {
    this.#socket = socket
    this.#write = tickWriter(socket)
    this.#ctx = ctx
    socket.setNoDelay(true)
    this.#attach(socket)
    const server = ctx.server()
    this.#send(packet(0,
      handshakeV10({
        serverVersion: server.version,
        connectionId: this.#connectionId,
        scramble: this.#scramble,
        capabilities: this.#offered(),
        charset: SERVER_CHARSET,
        status: STATUS.AUTOCOMMIT,
        authPlugin: ctx.authPlugin,
      })),
    )
  }

  /** Capabilities offered to clients: what Sluice handles, as far as the origin supports it. */
  #offered(): number {
    const origin = this.#ctx.server().capabilities
    return (BASE_CAPS | CAP.CONNECT_WITH_DB | CAP.CONNECT_ATTRS | (FORMAT_CAPS & origin) | (this.#ctx.tls ? CAP.SSL : 0)) >>> 0
  }

  #attach(socket: Socket | TLSSocket): void {
    socket.on('data', this.#dataListener)
    socket.on('error', () => this.#close())
    socket.on('close', () => this.#close())
  }

  /**
   * SSLRequest accepted: the rest of the conversation runs over TLS. Clients start the TLS
   * handshake without waiting for an answer, so its first bytes may already have been read: the
   * TLS layer runs over a stream that replays them before the socket's further data.
   */
  #upgrade(context: SecureContext, early: Buffer): void {
    const raw = this.#socket as Socket
    raw.off('data', this.#dataListener)
    const carrier = new Duplex({
      read() {},
      write(chunk: Buffer, _enc, cb) {
        raw.write(chunk, cb)
      },
      final(cb) {
        raw.end()
        cb()
      },
      destroy(err, cb) {
        raw.destroy()
        cb(err)
      },
    })
    if (early.length > 0) carrier.push(early)
    raw.on('data', (chunk: Buffer) => carrier.push(chunk))
    raw.on('end', () => carrier.push(null))
    const secure = new TLSSocket(carrier, { isServer: true, secureContext: context })
    secure.on('error', () => this.#close())
    this.#socket = secure
    this.#write = tickWriter(secure)
    this.#attach(secure)
  }

  get encrypted(): boolean {
    return this.#socket instanceof TLSSocket
  }

  // ---- client side -----------------------------------------------------------------------

  #onData(chunk: Buffer): void {
    if (this.#phase === 'closed') return
    this.#reader.push(chunk)
    try {
      for (let p = this.#reader.next(); p !== undefined; p = this.#reader.next()) {
        const payload = this.#assembler.add(p)
        if (payload === undefined) continue
        const seq = p.seq
        if (this.#phase === 'handshake' && isSslRequest(payload) && this.#ctx.tls && !this.encrypted && seq === 1) {
          // Everything after an SSLRequest is TLS, possibly already in this chunk.
          this.#seq = seq
          this.#upgrade(this.#ctx.tls, this.#reader.drain())
          return
        }
        this.#work = this.#work.then(() => this.#handle(seq, payload)).catch((err: unknown) => this.#fail(err))
      }
    } catch (err) {
      this.#fail(err)
    }
  }

  #send(bytes: Buffer): void {
    if (this.#phase === 'closed' || this.#socket.destroyed) return
    this.#write(bytes)
  }

  /** Sends one payload as the next packet of the current exchange. */
  #reply(payload: Buffer): void {
    this.#send(packet(++this.#seq, payload))
  }

  #error(code: number, sqlState: string, message: string): void {
    this.#reply(errPayload(code, sqlState, message))
  }

  /** Bad input or a failure Sluice cannot answer in-protocol: an ERR packet, then the connection is closed. */
  #fail(err: unknown): void {
    if (this.#phase === 'closed') return
    if (err instanceof ProtocolError) this.#error(ER.HANDSHAKE, '08S01', `Sluice: ${err.message}`)
    else if (err instanceof PoolTimeoutError) this.#error(ER.CON_COUNT, '08004', err.message)
    else if (err instanceof OriginUnavailableError) this.#error(ER.CONNECTION_ERROR, 'HY000', `Sluice: the origin is unavailable (${err.message})`)
    else {
      this.#ctx.logger.warn({ err }, 'mysql wire session failed')
      this.#error(ER.CONNECTION_ERROR, 'HY000', 'Sluice: connection to the origin failed')
    }
    this.#socket.end()
    this.#close()
  }

  async #handle(seq: number, payload: Buffer): Promise<void> {
    if (this.#phase === 'closed') return
    if (this.#phase === 'ready') {
      if (seq !== 0) throw new ProtocolError('packets out of order')
      this.#seq = 0
      return this.#command(payload)
    }
    if (seq !== this.#seq + 1) throw new ProtocolError('packets out of order')
    this.#seq = seq
    switch (this.#phase) {
      case 'handshake':
        return this.#handshake(payload)
      case 'switch':
        return this.#verify(payload)
      case 'sha2-full':
        return this.#sha2Full(payload)
    }
  }

  async #handshake(payload: Buffer): Promise<void> {
    if (isSslRequest(payload)) throw new ProtocolError('TLS is not offered here')
    if (this.#ctx.requireTls && !this.encrypted) {
      this.#error(ER.ACCESS_DENIED, '28000', 'Sluice requires TLS on this port (connect with ssl / --ssl)')
      return this.#end()
    }
    const hello = parseHandshakeResponse(payload)
    this.#hello = hello
    this.#user = hello.user
    const route = this.#ctx.routes(hello.user, hello.database)
    if (!route) {
      this.#error(ER.ACCESS_DENIED, '28000', `Access denied for user '${hello.user}' (Sluice has no route for this user and database)`)
      return this.#end()
    }
    this.#route = route
    this.#database = hello.database ?? route.database
    this.#caps = (hello.capabilities & this.#offered()) >>> 0
    this.#charset = hello.charset || SERVER_CHARSET
    if ((hello.authPlugin ?? 'mysql_native_password') !== this.#ctx.authPlugin || !(hello.capabilities & CAP.PLUGIN_AUTH)) {
      if (!(hello.capabilities & CAP.PLUGIN_AUTH)) {
        // Clients without plugin authentication answer the native scramble in the handshake.
        return this.#verify(hello.authResponse)
      }
      this.#phase = 'switch'
      this.#reply(authSwitchPayload(this.#ctx.authPlugin, this.#scramble))
      return
    }
    return this.#verify(hello.authResponse)
  }

  /** Checks the proof the client sent for the door's plugin. */
  async #verify(token: Buffer): Promise<void> {
    const route = this.#route!
    const password = route.password
    if (this.#ctx.authPlugin === 'mysql_native_password') {
      return sameBytes(token, nativeToken(password, this.#scramble)) ? this.#accept() : this.#deny()
    }
    // caching_sha2_password: the fast path needs the user in Sluice's cache of verified users,
    // as it needs MySQL's; otherwise the password itself must be sent (over TLS, or RSA-encrypted).
    if (password === '' && token.length === 0) return this.#accept()
    if (this.#ctx.sha2Verified.has(this.#sha2Key())) {
      if (!sameBytes(token, sha2Token(password, this.#scramble))) return this.#deny()
      this.#reply(authMoreData(Buffer.from([3])))
      return this.#accept()
    }
    this.#phase = 'sha2-full'
    this.#reply(authMoreData(Buffer.from([4])))
  }

  #sha2Key(): string {
    return `${this.#route!.tenant}\u0000${this.#user}`
  }

  async #sha2Full(payload: Buffer): Promise<void> {
    let given: string
    if (this.encrypted) given = cleartextPassword(payload)
    else if (payload.length === 1 && payload[0] === 2) {
      this.#reply(authMoreData(Buffer.from(this.#ctx.rsa.publicKeyPem)))
      return
    } else {
      try {
        given = sha2RsaPassword(privateDecrypt({ key: this.#ctx.rsa.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING }, payload), this.#scramble)
      } catch {
        return this.#deny()
      }
    }
    const expected = Buffer.from(this.#route!.password)
    if (!sameBytes(Buffer.from(given), expected)) return this.#deny()
    this.#ctx.sha2Verified.add(this.#sha2Key())
    return this.#accept()
  }

  #deny(): void {
    this.#error(ER.ACCESS_DENIED, '28000', `Access denied for user '${this.#user}' (using password: YES)`)
    this.#end()
  }

  #accept(): void {
    this.#phase = 'ready'
    this.#reply(okPayload(STATUS.AUTOCOMMIT))
  }

  #end(): void {
    this.#socket.end()
    this.#close()
  }

  // ---- commands --------------------------------------------------------------------------

  async #command(payload: Buffer): Promise<void> {
    if (payload.length === 0) throw new ProtocolError('empty command packet')
    const command = payload[0]!
    switch (command) {
      case COM.QUIT:
        return this.#end()
      case COM.PING:
        return this.#reply(okPayload(this.#status))
      case COM.QUERY:
        return this.#query(payload)
      case COM.INIT_DB:
        return this.#initDb(payload)
      case COM.STMT_PREPARE:
        return this.#prepare(payload)
      case COM.STMT_EXECUTE:
        return this.#execute(payload)
      case COM.STMT_SEND_LONG_DATA:
        return this.#longData(payload)
      case COM.STMT_CLOSE: {
        if (payload.length < 5) throw new ProtocolError('truncated COM_STMT_CLOSE')
        this.#statements.delete(payload.readUInt32LE(1))
        return
      }
      case COM.STMT_RESET: {
        if (payload.length < 5) throw new ProtocolError('truncated COM_STMT_RESET')
        const stmt = this.#statements.get(payload.readUInt32LE(1))
        if (!stmt) return this.#error(ER.UNKNOWN_STMT_HANDLER, 'HY000', 'Unknown prepared statement handler given to mysqld_stmt_reset')
        stmt.longData.clear()
        return this.#reply(okPayload(this.#status))
      }
      case COM.RESET_CONNECTION:
        return this.#resetConnection()
      case COM.SET_OPTION:
        this.#pinned = true
        await this.#relay(payload, 'single')
        return
      case COM.FIELD_LIST:
        await this.#relay(payload, 'fieldlist')
        return
      case COM.STATISTICS:
        await this.#relay(payload, 'single')
        return
      case COM.STMT_FETCH:
        return this.#error(ER.NOT_SUPPORTED, '42000', 'Sluice does not support cursors (COM_STMT_FETCH) with transaction pooling')
      case COM.CHANGE_USER:
        return this.#error(ER.NOT_SUPPORTED, '42000', 'Sluice does not support COM_CHANGE_USER; open a new connection')
      default:
        return this.#error(ER.UNKNOWN_COM, '08S01', 'Unknown command')
    }
  }

  /** May this statement be answered from the cache? Only outside a transaction, with no server connection held. */
  #cacheable(): boolean {
    return !(this.#status & STATUS.IN_TRANS) && this.#status & STATUS.AUTOCOMMIT && this.#link === undefined && !this.#pinned ? true : false
  }

  #analysis(sql: string): StatementAnalysis {
    return this.#ctx.analyze(sql, this.#database)
  }

  /** Notes what a statement about to run writes and whether it leaves session state behind. */
  #noteStatement(sql: string, a: StatementAnalysis): void {
    for (const t of a.writes) this.#writes.tables.add(t)
    if (a.writesUnknown || a.unparsed) this.#writes.unknown = true
    if (a.sessionState && !USE.test(sql)) this.#pinned = true
    // Statements the analysis may not count as session state but that are.
    if (/^\s*(set|lock\s+tables?|create\s+temporary|handler|prepare|xa)\b/i.test(sql) || /\bget_lock\s*\(/i.test(sql)) this.#pinned = true
  }

  #cacheKey(kind: string, sql: string, extra = ''): string {
    const route = this.#route!
    return `${route.tenant}\u0000${route.originId}\u0000my${kind}\u0000${this.#database}\u0000${this.#user}\u0000${this.#caps & FORMAT_CAPS}:${this.#charset}\u0000${sql}\u0000${extra}`
  }

  async #query(payload: Buffer): Promise<void> {
    const sql = payload.toString('utf8', 1)
    const analysis = this.#analysis(sql)
    if (this.#cacheable()) {
      const policy = cachePolicyForStatement(sql, analysis, this.#ctx.cacheSettings, this.#ctx.notCached)
      if (policy !== null) {
        const tables = tablesRead(analysis)
        if (await this.#cached(this.#cacheKey('q', sql), policy, tables, (link) => this.#capture(link, packet(0, payload), 'resultset'))) return
      }
    } else if (analysis.kind === 'read') this.#ctx.notCached('in transaction')
    this.#noteStatement(sql, analysis)
    const use = USE.exec(sql)
    const tracker = await this.#relay(payload, 'resultset', { rollback: ROLLBACK.test(sql) })
    if (use && tracker && !tracker.error) {
      this.#database = unquote(use[1]!)
      if (this.#link) this.#link.database = this.#database
    }
  }

  async #initDb(payload: Buffer): Promise<void> {
    const database = payload.toString('utf8', 1)
    const tracker = await this.#relay(payload, 'single')
    if (tracker && !tracker.error) {
      this.#database = database
      if (this.#link) this.#link.database = database
    }
  }

  async #resetConnection(): Promise<void> {
    this.#statements.clear()
    this.#lastPrepared = undefined
    if (this.#link) {
      this.#pinned = false
      const link = this.#link
      try {
        // The reset also undoes the origin's session settings: reset() runs them again.
        await link.reset()
      } catch (err) {
        if (!(err instanceof OriginError) || link.closed) {
          this.#serverClosed(link)
          throw err
        }
        this.#error(err.code, err.sqlState, err.message)
        return
      }
      // The reset rolled back any open transaction: its writes are discarded, not invalidated.
      this.#status = STATUS.AUTOCOMMIT
      await this.#afterCommand(undefined, true)
      this.#reply(okPayload(this.#status))
      return
    }
    this.#status = STATUS.AUTOCOMMIT
    this.#reply(okPayload(this.#status))
  }

  // ---- prepared statements: ids are per client; on the server they are prepared once per
  // connection (by text) and re-prepared wherever an execution runs.

  async #prepare(payload: Buffer): Promise<void> {
    const sqlBytes = Buffer.from(payload.subarray(1))
    const text = sqlBytes.toString('utf8')
    const id = this.#nextStatement++
    const link = await this.#ensureLink()
    const tracker = await this.#run(link, packet(0, payload), 'prepare', (first, t) => {
      if (!t.prepared) return first
      const out = Buffer.from(first)
      out.writeUInt32LE(id, 5) // after the 4-byte header and the 0x00 status byte
      return out
    })
    if (tracker.prepared) {
      const p = tracker.prepared
      link.prepared.set(sqlBytes.toString('latin1'), { id: p.statementId, params: p.params, columns: p.columns })
      this.#statements.set(id, { id, sql: sqlBytes, text, params: p.params, columns: p.columns, types: undefined, longData: new Map() })
      this.#lastPrepared = id
    } else this.#lastPrepared = undefined
    this.#afterCommand(tracker)
  }

  #statementFor(payload: Buffer): ClientStatement | undefined {
    if (payload.length < 5) throw new ProtocolError('truncated statement command')
    const id = payload.readUInt32LE(1)
    return this.#statements.get(id === LAST_PREPARED && this.#lastPrepared !== undefined ? this.#lastPrepared : id)
  }

  #longData(payload: Buffer): void {
    if (payload.length < 7) throw new ProtocolError('truncated COM_STMT_SEND_LONG_DATA')
    const stmt = this.#statementFor(payload)
    if (!stmt) return // no answer is defined for this command; the execution will report the error
    const param = payload.readUInt16LE(5)
    const chunks = stmt.longData.get(param) ?? []
    chunks.push(Buffer.from(payload.subarray(7)))
    stmt.longData.set(param, chunks)
  }

  /** The execution's parameters with their types always bound (the server statement may be new). */
  #executeParams(stmt: ClientStatement, payload: Buffer): Buffer {
    if (payload.length < 10) throw new ProtocolError('truncated COM_STMT_EXECUTE')
    const flags = payload[5]!
    if (flags !== 0) throw new CursorRequested()
    if (stmt.params === 0) return payload.subarray(5)
    const bitmap = (stmt.params + 7) >> 3
    const boundAt = 10 + bitmap
    if (payload.length < boundAt + 1) throw new ProtocolError('truncated COM_STMT_EXECUTE')
    if (payload[boundAt] === 1) {
      if (payload.length < boundAt + 1 + 2 * stmt.params) throw new ProtocolError('truncated COM_STMT_EXECUTE')
      stmt.types = Buffer.from(payload.subarray(boundAt + 1, boundAt + 1 + 2 * stmt.params))
      return payload.subarray(5)
    }
    if (!stmt.types) throw new ProtocolError('COM_STMT_EXECUTE without parameter types')
    return Buffer.concat([payload.subarray(5, boundAt), Buffer.from([1]), stmt.types, payload.subarray(boundAt + 1)])
  }

  async #execute(payload: Buffer): Promise<void> {
    const stmt = this.#statementFor(payload)
    if (!stmt) return this.#error(ER.UNKNOWN_STMT_HANDLER, 'HY000', 'Unknown prepared statement handler given to mysqld_stmt_execute')
    let params: Buffer
    try {
      params = this.#executeParams(stmt, payload)
    } catch (err) {
      if (!(err instanceof CursorRequested)) throw err
      return this.#error(ER.NOT_SUPPORTED, '42000', 'Sluice does not support cursors (COM_STMT_EXECUTE with a cursor type) with transaction pooling')
    }
    const analysis = this.#analysis(stmt.text)
    if (this.#cacheable() && stmt.longData.size === 0) {
      const policy = cachePolicyForStatement(stmt.text, analysis, this.#ctx.cacheSettings, this.#ctx.notCached)
      if (policy !== null) {
        const tables = tablesRead(analysis)
        const key = this.#cacheKey('x', stmt.sql.toString('latin1'), params.toString('latin1'))
        const answered = await this.#cached(key, policy, tables, async (link) => {
          const server = await this.#prepareOn(link, stmt)
          return this.#capture(link, packet(0, executePayload(server.id, params)), 'resultset')
        })
        if (answered) return
      }
    } else if (analysis.kind === 'read') this.#ctx.notCached(stmt.longData.size > 0 ? 'long data' : 'in transaction')
    this.#noteStatement(stmt.text, analysis)
    const link = await this.#ensureLink()
    let server: ServerStatement
    try {
      server = await this.#prepareOn(link, stmt)
    } catch (err) {
      if (!(err instanceof OriginError)) throw err
      this.#error(err.code, err.sqlState, err.message)
      return this.#afterCommand(undefined)
    }
    for (const [param, chunks] of stmt.longData) {
      for (const chunk of chunks) {
        const head = Buffer.alloc(7)
        head[0] = COM.STMT_SEND_LONG_DATA
        head.writeUInt32LE(server.id, 1)
        head.writeUInt16LE(param, 5)
        link.write(packet(0, Buffer.concat([head, chunk])))
      }
    }
    stmt.longData.clear()
    const tracker = await this.#run(link, packet(0, executePayload(server.id, params)), 'resultset')
    this.#afterCommand(tracker)
  }

  /** Makes sure the client's statement is prepared on `link`; returns the server statement. */
  async #prepareOn(link: ServerLink, stmt: ClientStatement): Promise<ServerStatement> {
    const key = stmt.sql.toString('latin1')
    const known = link.prepared.get(key)
    if (known) return known
    const captured = await this.#collect(link, packet(0, Buffer.concat([Buffer.from([COM.STMT_PREPARE]), stmt.sql])), 'prepare')
    if (captured.tracker.error) {
      const e = captured.tracker.errPayload!
      throw new OriginError(e.readUInt16LE(1), e.toString('latin1', 4, 9), e.toString('utf8', 9))
    }
    const p = captured.tracker.prepared!
    const server = { id: p.statementId, params: p.params, columns: p.columns }
    link.prepared.set(key, server)
    return server
  }

  // ---- caching ---------------------------------------------------------------------------

  /**
   * A cacheable read outside a transaction: answered from the cache, or filled through a server
   * connection of its own. False when the caller is to relay it the ordinary way instead: the
   * first miss of a key auto mode chose (QueryCache.admit).
   */
  async #cached(key: string, policy: CachePolicy, tables: string[] | null, run: (link: ServerLink) => Promise<{ bytes: Buffer; tracker: ResponseTracker }>): Promise<boolean> {
    // (The producer is made only for a refresh or a fill: a fresh hit allocates none.)
    const hit = await this.#ctx.cache.get(key, policy)
    if (hit !== undefined) {
      if (hit.state === 'stale') this.#ctx.cache.refresh(key, policy, () => this.#produce(policy, tables, run), () => {})
      this.#ctx.answered(hit.state === 'fresh' ? 'ttl' : 'swr')
      this.#send(resequence(hit.entry.payload, 1))
      return true
    }
    this.#ctx.answered('miss')
    if (policy.auto === true && !this.#ctx.cache.admit(key)) {
      this.#ctx.notCached(NOT_ADMITTED)
      return false
    }
    let produced: Produced
    try {
      produced = await this.#ctx.cache.fill(key, policy, () => this.#produce(policy, tables, run))
    } catch (err) {
      if (err instanceof TooLarge) {
        // Not held in memory to be thrown away (a result may be gigabytes): relayed as it comes.
        this.#ctx.notCached('too large')
        return false
      }
      if (!(err instanceof OriginError)) throw err
      // Re-preparing failed (the statement no longer compiles): the server's error, as it said it.
      this.#error(err.code, err.sqlState, err.message)
      return true
    }
    this.#send(resequence(produced.payload, 1))
    return true
  }

  async #produce(policy: CachePolicy, tables: string[] | null, run: (link: ServerLink) => Promise<{ bytes: Buffer; tracker: ResponseTracker }>): Promise<Produced> {
    const route = this.#route!
    const startedSeq = await this.#ctx.cache.snapshot()
    const producedAt = Date.now()
    const pool = this.#ctx.links(route)
    const link = await pool.acquire(this.#caps, this.#charset)
    let result: { bytes: Buffer; tracker: ResponseTracker }
    try {
      await link.useDatabase(this.#database)
      result = await run(link)
    } catch (err) {
      if (err instanceof OriginError && !link.closed) pool.release(link)
      else pool.discard(link)
      throw err
    }
    const status = result.tracker.status ?? STATUS.AUTOCOMMIT
    if (status & STATUS.IN_TRANS) pool.discard(link)
    else pool.release(link)
    return {
      payload: result.bytes,
      deps: { origin: route.originId, tables, tenant: route.tenant, tags: policy.tags },
      startedSeq,
      producedAt,
      storable: !result.tracker.error && tables !== null && result.bytes.length <= this.#ctx.cacheSettings.maxResultBytes,
    }
  }

  /**
   * Sends a command on `link` and gathers its whole answer, up to the size a result may have to be
   * cached: past it the connection is dropped and the promise rejects with TooLarge.
   */
  #capture(link: ServerLink, bytes: Buffer, kind: ResponseKind): Promise<{ bytes: Buffer; tracker: ResponseTracker }> {
    return this.#collect(link, bytes, kind, this.#ctx.cacheSettings.maxResultBytes).then(({ tracker, packets }) => ({ tracker, bytes: Buffer.concat(packets) }))
  }

  #collect(link: ServerLink, bytes: Buffer, kind: ResponseKind, limit = Infinity): Promise<{ tracker: ResponseTracker; packets: Buffer[] }> {
    // On the session's own connection, an answer in flight makes its state unknown if the client leaves.
    if (link === this.#link) this.#busy = true
    return new Promise<{ tracker: ResponseTracker; packets: Buffer[] }>((resolve, reject) => {
      const tracker = new ResponseTracker(kind, link.capabilities)
      const packets: Buffer[] = []
      let size = 0
      let done = false
      link.listen(
        (p) => {
          if (done) return
          try {
            size += p.bytes.length
            if (size > limit) {
              done = true
              link.destroy()
              reject(new TooLarge())
              return
            }
            packets.push(p.bytes)
            if (tracker.feed(p)) resolve({ tracker, packets })
          } catch (err) {
            link.destroy()
            reject(err)
          }
        },
        () => reject(new OriginUnavailableError('the origin closed the server connection', 'ECONNRESET')),
      )
      link.write(bytes)
    }).finally(() => {
      if (link === this.#link) this.#busy = false
    })
  }

  // ---- relaying --------------------------------------------------------------------------

  async #ensureLink(): Promise<ServerLink> {
    if (this.#link && !this.#link.closed) return this.#link
    const pool = this.#ctx.links(this.#route!)
    const link = await pool.acquire(this.#caps, this.#charset)
    try {
      await link.useDatabase(this.#database)
    } catch (err) {
      if (err instanceof OriginError && !link.closed) pool.release(link)
      else pool.discard(link)
      throw err
    }
    this.#link = link
    return link
  }

  /** Forwards one command on the session's server connection and relays the answer. */
  async #relay(payload: Buffer, kind: ResponseKind, options: { rollback?: boolean } = {}): Promise<ResponseTracker | undefined> {
    let link: ServerLink
    try {
      link = await this.#ensureLink()
    } catch (err) {
      if (!(err instanceof OriginError)) throw err
      this.#error(err.code, err.sqlState, err.message)
      return undefined
    }
    const tracker = await this.#run(link, packet(0, payload), kind)
    await this.#afterCommand(tracker, options.rollback)
    return tracker
  }

  /**
   * Sends `bytes` on `link` and relays each answer packet as it comes, all but the last: that one
   * waits until the command's effects are invalidated (see #afterCommand).
   */
  #run(link: ServerLink, bytes: Buffer, kind: ResponseKind, rewriteFirst?: (first: Buffer, t: ResponseTracker) => Buffer): Promise<ResponseTracker> {
    this.#busy = true
    return new Promise((resolve, reject) => {
      const tracker = new ResponseTracker(kind, link.capabilities)
      let first = true
      link.listen(
        (p: Packet) => {
          let out = p.bytes
          let last: boolean
          try {
            last = tracker.feed(p)
          } catch (err) {
            link.destroy()
            reject(err)
            return
          }
          if (first && rewriteFirst) out = rewriteFirst(out, tracker)
          first = false
          if (last) {
            this.#pendingLast = out
            this.#busy = false
            resolve(tracker)
          } else this.#send(out)
        },
        () => {
          this.#serverClosed(link)
          reject(new OriginUnavailableError('the origin closed the server connection', 'ECONNRESET'))
        },
        this.#socket,
      )
      link.write(bytes)
    })
  }

  #pendingLast: Buffer | undefined

  /**
   * A command's answer is complete: note the transaction state; when a transaction (or an
   * autocommitted statement) ended, invalidate what it wrote before the client hears of it —
   * unless it rolled back; give the server connection back when no transaction is open.
   */
  async #afterCommand(tracker: ResponseTracker | undefined, rollback = false): Promise<void> {
    if (tracker?.status !== undefined) this.#status = tracker.status
    const last = this.#pendingLast
    this.#pendingLast = undefined
    const idle = !(this.#status & STATUS.IN_TRANS) && (this.#status & STATUS.AUTOCOMMIT) !== 0
    if (idle) {
      const writes = this.#writes
      this.#writes = emptyWriteSet()
      const inv = rollback ? null : writeInvalidation(this.#route!.originId, writes)
      if (inv) await this.#ctx.cache.invalidate(inv)
    }
    if (last) this.#send(last)
    if (idle && !this.#pinned && this.#link) {
      const link = this.#link
      this.#link = undefined
      this.#ctx.links(this.#route!).release(link)
    }
  }

  #serverClosed(link: ServerLink): void {
    if (this.#link === link) this.#link = undefined
    this.#ctx.links(this.#route!).discard(link)
  }

  #close(): void {
    if (this.#phase === 'closed') return
    this.#phase = 'closed'
    this.#cleanup()
  }

  /** The client left: its server connection goes back clean, or is closed when its state is unknown. */
  #cleanup(): void {
    const link = this.#link
    if (!link) return
    this.#link = undefined
    const pool = this.#ctx.links(this.#route!)
    if (this.#busy || link.pending > 0 || link.closed) return pool.discard(link)
    if (!this.#pinned && !(this.#status & STATUS.IN_TRANS)) return pool.release(link)
    // Session state or an open transaction: COM_RESET_CONNECTION rolls back and wipes the session.
    link
      .reset()
      .then(() => pool.release(link))
      .catch(() => pool.discard(link))
  }
}

class CursorRequested extends Error {}

/** A fill's answer passed the cacheable size: gathering stopped, the statement is relayed instead. */
class TooLarge extends Error {}

const USE = /^\s*use\s+(`(?:[^`]|``)+`|[^\s;`]+)\s*;?\s*$/i
const ROLLBACK = /^\s*(\/\*[\s\S]*?\*\/\s*)*rollback(\s+work)?\s*(;\s*)?$/i

function unquote(name: string): string {
  return name.startsWith('`') ? name.slice(1, -1).replace(/``/g, '`') : name
}

function executePayload(serverId: number, params: Buffer): Buffer {
  const head = Buffer.alloc(5)
  head[0] = COM.STMT_EXECUTE
  head.writeUInt32LE(serverId, 1)
  return Buffer.concat([head, params])
}

/** 20 random printable bytes (some clients treat the scramble as a C string). */
function scramble(): Buffer {
  const b = Buffer.alloc(20)
  for (let i = 0; i < 20; i++) b[i] = randomInt(0x21, 0x7f)
  return b
}
