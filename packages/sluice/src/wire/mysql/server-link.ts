// Server connections of the MySQL wire door: raw protocol connections to the origin that the
// door relays client commands over, pooled per origin and per client format.
//
// Why not the connections of the origin's `mariadb` pool (pool/mysql-pool.ts): the connector
// negotiates its own capability flags (MariaDB metadata caching, bulk operations…), which change
// the bytes of every answer. Sluice relays and caches answers byte-exact, so a server connection
// must be opened with the flags the client chose (see FORMAT_CAPS); these links are.
import type { Socket } from 'node:net'
import { ConnectionBudget, type BudgetHolder } from '../../pool/connection-budget.js'
import { OriginUnavailableError } from '../../pool/errors.js'
import { tickWriter } from '../../util/cork.js'
import { sharedReadSocket } from '../../util/shared-reads.js'
import { ReadThrottle } from '../../util/read-throttle.js'
import type { Writable } from 'node:stream'
import { nativeToken, sha2RsaEncrypt, sha2Token } from './auth.js'
import {
  BASE_CAPS,
  CAP,
  COM,
  FORMAT_CAPS,
  LogicalAssembler,
  PacketReader,
  ProtocolError,
  handshakeResponse,
  packet,
  parseErr,
  parseHandshake,
  type HandshakeInfo,
  type Packet,
} from './protocol.js'

export interface LinkTarget {
  host: string
  port: number
  user: string
  password: string
  database: string
  connectTimeoutMs: number
  /** Run on each new connection and after each session reset: the origin's session settings (statement timeout). */
  initSql?: string
}

/** What a server statement prepared on one link looks like. */
export interface ServerStatement {
  id: number
  params: number
  columns: number
}

export class OriginError extends Error {
  constructor(
    readonly code: number,
    readonly sqlState: string,
    message: string,
  ) {
    super(message)
  }
}

export class ServerLink {
  readonly #socket: Socket
  readonly #reader = new PacketReader(1 << 30)
  readonly write: (bytes: Buffer) => void
  #onPacket: (p: Packet) => void = () => {}
  #onClose: () => void = () => {}
  #closed = false
  /** Statements prepared on this connection, by SQL text (they outlive one borrow). */
  readonly prepared = new Map<string, ServerStatement>()
  /** Current database of the server session. */
  database: string | undefined
  /** The session changed server state (SET, temporary tables…): reset before the next borrower. */
  dirty = false
  /** Last time the link went back to the pool (idle eviction). */
  idleSince = 0

  private constructor(
    socket: Socket,
    readonly info: HandshakeInfo,
    /** Capability flags in force on this connection. */
    readonly capabilities: number,
    readonly charset: number,
    /** Pool key: the format flags and charset it serves. */
    readonly key: string,
    /** The origin's session settings, run again after each reset. */
    readonly initSql: string | undefined,
  ) {
    this.#socket = socket
    this.write = tickWriter(socket)
    this.#throttle = new ReadThrottle(socket)
    socket.on('data', (chunk: Buffer) => {
      this.#reader.push(chunk)
      try {
        for (let p = this.#reader.next(); p !== undefined; p = this.#reader.next()) this.#onPacket(p)
      } catch {
        socket.destroy()
      }
      this.#throttle.check()
    })
    socket.on('close', () => {
      this.#closed = true
      this.#onClose()
    })
    socket.on('error', () => socket.destroy())
  }

  get closed(): boolean {
    return this.#closed || this.#socket.destroyed
  }

  /** Bytes received and not yet handed out (an answer in the middle). */
  get pending(): number {
    return this.#reader.pending
  }

  // Backpressure: while the client the answers go to cannot take more, this connection is not read.
  readonly #throttle: ReadThrottle

  /** Where the next answers go: `onPacket`, and, when relayed to a client, `sink` (see ReadThrottle). */
  listen(onPacket: (p: Packet) => void, onClose: () => void, sink?: Writable): void {
    this.#throttle.feeds(sink)
    this.#onPacket = onPacket
    this.#onClose = onClose
  }

  destroy(): void {
    this.#closed = true
    this.#socket.destroy()
  }

  /** Opens a connection and authenticates as the route's origin user. */
  static open(target: LinkTarget, formatCaps: number, charset: number, key: string): Promise<ServerLink> {
    return new Promise((resolve, reject) => {
      // Reads into the shared buffer (util/shared-reads.ts).
      const socket = sharedReadSocket().connect(target.port, target.host)
      socket.setNoDelay(true)
      const reader = new PacketReader(1 << 24)
      const logical = new LogicalAssembler()
      let info: HandshakeInfo | undefined
      let caps = 0
      let scramble: Buffer = Buffer.alloc(0)
      let plugin = ''
      let done = false
      const timer = setTimeout(() => fail(new OriginUnavailableError('timed out connecting to the origin', 'ETIMEDOUT')), target.connectTimeoutMs)
      const fail = (err: Error) => {
        if (done) return
        done = true
        clearTimeout(timer)
        socket.destroy()
        reject(err)
      }
      const send = (seq: number, payload: Buffer) => socket.write(packet(seq, payload))
      const onData = (chunk: Buffer) => {
        reader.push(chunk)
        try {
          for (let p = reader.next(); p !== undefined; p = reader.next()) {
            const payload = logical.add(p)
            if (payload) step(p.seq, payload)
            if (done) return
          }
        } catch (err) {
          fail(err instanceof Error ? err : new Error(String(err)))
        }
      }
      const step = (seq: number, b: Buffer) => {
        if (!info) {
          if (b[0] === 0xff) {
            const e = parseErr(b)
            return fail(new OriginError(e.code, e.sqlState, e.message))
          }
          info = parseHandshake(b)
          caps = ((BASE_CAPS | CAP.CONNECT_WITH_DB | (formatCaps & FORMAT_CAPS)) & info.capabilities) >>> 0
          scramble = info.scramble
          plugin = info.authPlugin === 'caching_sha2_password' ? 'caching_sha2_password' : 'mysql_native_password'
          const token = plugin === 'caching_sha2_password' ? sha2Token(target.password, scramble) : nativeToken(target.password, scramble)
          send(seq + 1, handshakeResponse({ capabilities: caps, charset, user: target.user, authResponse: token, database: target.database, authPlugin: plugin }))
          return
        }
        const head = b[0]
        if (head === 0x00) {
          done = true
          clearTimeout(timer)
          socket.off('data', onData)
          socket.off('error', fail)
          const link = new ServerLink(socket, info, caps, charset, key, target.initSql)
          link.database = target.database || undefined
          // Anything already buffered after OK would be a protocol error; there is none.
          if (!target.initSql) return resolve(link)
          // The origin's session settings (the statement timeout) before any client statement.
          link.simpleCommand(COM.QUERY, Buffer.from(target.initSql)).then(
            () => resolve(link),
            (err: unknown) => {
              link.destroy()
              reject(err)
            },
          )
          return
        }
        if (head === 0xff) {
          const e = parseErr(b)
          return fail(new OriginError(e.code, e.sqlState, e.message))
        }
        if (head === 0xfe) {
          // AuthSwitchRequest
          let end = b.indexOf(0, 1)
          if (end < 0) end = b.length
          plugin = b.toString('latin1', 1, end)
          const data = b.subarray(end + 1)
          scramble = data[data.length - 1] === 0 ? data.subarray(0, data.length - 1) : data
          if (plugin === 'mysql_native_password') return send(seq + 1, nativeToken(target.password, scramble))
          if (plugin === 'caching_sha2_password') return send(seq + 1, sha2Token(target.password, scramble))
          return fail(new OriginUnavailableError(`the origin asks for authentication plugin ${plugin}, which Sluice does not speak`, 'EAUTH'))
        }
        if (head === 0x01 && plugin === 'caching_sha2_password') {
          const more = b.subarray(1)
          if (more.length === 1 && more[0] === 3) return // fast auth success: OK follows
          if (more.length === 1 && more[0] === 4) return send(seq + 1, Buffer.from([2])) // full auth: ask for the public key
          // The server's public key (PEM).
          return send(seq + 1, sha2RsaEncrypt(target.password, scramble, more.toString('latin1')))
        }
        fail(new ProtocolError('unexpected packet during authentication'))
      }
      socket.on('data', onData)
      socket.on('error', fail)
      socket.once('close', () => fail(new OriginUnavailableError('the origin closed the connection during authentication', 'ECONNRESET')))
    })
  }

  /** Runs one internal command whose answer is a single OK/ERR packet (INIT_DB, RESET_CONNECTION, PING). */
  simpleCommand(command: number, arg: Buffer = Buffer.alloc(0)): Promise<void> {
    return new Promise((resolve, reject) => {
      const logical = new LogicalAssembler()
      this.listen(
        (p) => {
          const b = logical.add(p)
          if (!b) return
          if (b[0] === 0xff) {
            const e = parseErr(b)
            reject(new OriginError(e.code, e.sqlState, e.message))
          } else resolve()
        },
        () => reject(new OriginUnavailableError('the origin closed the connection', 'ECONNRESET')),
      )
      this.write(packet(0, Buffer.concat([Buffer.from([command]), arg])))
    })
  }

  /**
   * Wipes the session (COM_RESET_CONNECTION: rolls back, drops variables, temporary tables and
   * prepared statements) and runs the origin's session settings again, which the reset undid.
   */
  async reset(): Promise<void> {
    this.prepared.clear()
    this.database = undefined
    await this.simpleCommand(COM.RESET_CONNECTION)
    if (this.initSql) await this.simpleCommand(COM.QUERY, Buffer.from(this.initSql))
    this.dirty = false
  }

  /** Ensures the server session uses `database`. */
  async useDatabase(database: string | undefined): Promise<void> {
    if (database === undefined || database === this.database) return
    await this.simpleCommand(COM.INIT_DB, Buffer.from(database))
    this.database = database
  }
}

const IDLE_MS = 30_000
/** Server statements kept prepared per connection; beyond that the oldest is closed. */
const MAX_PREPARED_PER_LINK = 256

/**
 * The wire door's server connections to one origin. Each open link holds a slot of the origin's
 * connection budget (pool/connection-budget.ts), shared with the HTTP door: both doors together
 * never open more than `connection_limit`. Idle links are reused by clients with the same format
 * flags and charset (others are closed to make room), and closed when the other door waits.
 */
export class LinkPool implements BudgetHolder {
  readonly #idle: ServerLink[] = []
  /** Open links (each holds one budget slot). */
  readonly #open = new Set<ServerLink>()
  readonly #sweeper: NodeJS.Timeout
  readonly budget: ConnectionBudget

  constructor(
    readonly target: LinkTarget,
    /** The origin's budget; a budget of `limit` slots of its own when none is given. */
    budget: ConnectionBudget | undefined,
    readonly limit: number,
    /** Seconds a borrower waits for a connection; 0 waits forever. */
    readonly poolTimeoutSeconds: number,
  ) {
    this.budget = budget ?? new ConnectionBudget(limit, poolTimeoutSeconds)
    this.budget.register(this)
    this.#sweeper = setInterval(() => this.#sweep(), 5_000)
    this.#sweeper.unref()
  }

  /** This door's links (total, idle); waiting and timeouts are the shared budget's. */
  stats() {
    return { total: this.#open.size, idle: this.#idle.length, waiting: this.budget.waiting, limit: this.budget.limit, timeouts: this.budget.timeouts }
  }

  async acquire(formatCaps: number, charset: number): Promise<ServerLink> {
    const key = `${formatCaps & FORMAT_CAPS}:${charset}`
    const i = this.#idle.findIndex((l) => l.key === key)
    if (i >= 0) return this.#idle.splice(i, 1)[0]!
    // An idle link of another format makes room when the budget is full.
    if (this.#idle.length > 0 && this.budget.used >= this.budget.limit) this.shedIdle()
    const handed = await this.budget.take<ServerLink>(this)
    if (!handed) return this.#openLink(formatCaps, charset, key)
    if (handed.key === key) return handed
    // A link of another format came with the slot: close it and open one of our own.
    handed.destroy()
    this.#open.delete(handed)
    return this.#openLink(formatCaps, charset, key)
  }

  /** Opens a link on a slot already taken; the slot is given back when opening fails. */
  async #openLink(formatCaps: number, charset: number, key: string): Promise<ServerLink> {
    let link: ServerLink
    try {
      link = await ServerLink.open(this.target, formatCaps, charset, key)
    } catch (err) {
      this.budget.give()
      throw err
    }
    this.#open.add(link)
    return link
  }

  /** Gives a clean connection back (its answer complete, no transaction open). */
  release(link: ServerLink): void {
    if (link.closed) return this.discard(link)
    link.listen(() => link.destroy(), () => {})
    // Keep the number of statements prepared on the server bounded.
    while (link.prepared.size > MAX_PREPARED_PER_LINK) {
      const [sql, stmt] = link.prepared.entries().next().value as [string, ServerStatement]
      link.prepared.delete(sql)
      const close = Buffer.alloc(5)
      close[0] = COM.STMT_CLOSE
      close.writeUInt32LE(stmt.id, 1)
      link.write(packet(0, close))
    }
    if (this.budget.handOff(this, link)) return
    // The HTTP door waits first: the slot is theirs.
    if (this.budget.waiting > 0) return this.discard(link)
    link.idleSince = Date.now()
    this.#idle.push(link)
  }

  /** Closes a connection (state unknown, or its slot is wanted) and gives its slot back. */
  discard(link: ServerLink): void {
    link.destroy()
    const at = this.#idle.indexOf(link)
    if (at >= 0) this.#idle.splice(at, 1)
    // Once per link: its slot must not be given back twice.
    if (this.#open.delete(link)) this.budget.give()
  }

  shedIdle(): boolean {
    const link = this.#idle[0]
    if (!link) return false
    link.write(packet(0, Buffer.from([COM.QUIT])))
    this.discard(link)
    return true
  }

  #sweep(): void {
    const now = Date.now()
    for (const link of [...this.#idle]) if (link.closed || now - link.idleSince > IDLE_MS) this.discard(link)
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper)
    this.budget.unregister(this)
    for (const l of [...this.#idle]) {
      l.write(packet(0, Buffer.from([COM.QUIT])))
      this.discard(l)
    }
  }
}
