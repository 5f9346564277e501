// A server connection borrowed from the origin's pool for one transaction (transaction pooling).
//
// The wire door and the HTTP door draw on the same pg.Pool per origin, so the origin's
// connection budget (connection_limit) covers both doors. While a connection is borrowed, the
// door speaks the protocol on its socket directly: pg's own parser is detached and reattached
// when the connection goes back — always at a message boundary, with the server idle. Between
// transactions a clean connection is parked for the next one (link-park.ts) rather than returned.
import type pg from 'pg'
import type { Duplex, Writable } from 'node:stream'
import { ReadThrottle } from '../../util/read-throttle.js'
import { BodyReader, FrameReader, T, errorFields, message, type Frame } from './protocol.js'
import { DEFAULT_SETTINGS, settingsSql, type Settings } from './settings.js'
import { coalescingWriter, flushingAfter, type CoalescingWriter } from '../../util/cork.js'
import type { OriginPool } from '../../pool/origin-pool.js'
import { LinkPark } from './link-park.js'

interface PgInternals {
  connection: { stream: Duplex }
  processID: number | null
  secretKey: number | null
}

/** Statements Sluice has prepared on each physical connection (they outlive one borrow). */
const preparedOn = new WeakMap<pg.PoolClient, Set<string>>()

/**
 * The per-client settings of each physical connection in the pool (absent: the origin's defaults).
 * A connection goes back to the pool as it is, and the wire door, borrowing it again, knows what it
 * has; anyone else borrowing it gets it reset first (tidyBeforeLend). While the wire door holds it,
 * ServerLink#settings is the record.
 */
const settingsOn = new WeakMap<pg.PoolClient, Settings>()

function tidyBeforeLend(client: pg.PoolClient): Promise<unknown> | undefined {
  const settings = settingsOn.get(client)
  if (settings === undefined) return undefined
  settingsOn.delete(client)
  const sql = settingsSql(settings, DEFAULT_SETTINGS)
  return sql === undefined ? undefined : client.query(sql)
}

/** Clean connections kept between transactions, per origin. */
const parks = new WeakMap<OriginPool, LinkPark<ServerLink>>()

function parkOf(origin: OriginPool): LinkPark<ServerLink> {
  let park = parks.get(origin)
  if (park === undefined) {
    parks.set(origin, (park = new LinkPark(origin)))
    origin.setBeforeLend(tidyBeforeLend)
  }
  return park
}

const ignoreFrame = (): void => {}

/** The origin refused a statement Sluice sent of its own accord (its SQLSTATE and message). */
export class OriginStatementError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message)
  }
}

/** Sluice's own statement in flight on the connection (applying settings): its answer is not relayed. */
interface Preamble {
  resolve(): void
  reject(err: Error): void
  error?: OriginStatementError
  /** Collects the ParameterStatus values the server reports meanwhile (name as the server spells it). */
  reported?: Map<string, string>
}

export class ServerLink {
  readonly #client: pg.PoolClient
  readonly #stream: Duplex
  readonly #saved: ((...args: unknown[]) => void)[]
  readonly #reader = new FrameReader(false)
  #onFrame: (f: Frame) => void = () => {}
  #onClose: () => void = () => {}
  #released = false
  // What relaying a chunk's frames writes leaves when they are all handled (see util/cork.ts);
  // then, if that filled the client's socket, this connection is not read until it drains.
  readonly #relayChunk = flushingAfter((chunk: Buffer) => this.#data(chunk))
  readonly #dataListener = (chunk: Buffer): void => {
    this.#relayChunk(chunk)
    this.#throttle.check()
  }
  readonly #closeListener = () => {
    this.#closed = true
    const preamble = this.#preamble
    if (preamble !== undefined) {
      this.#preamble = undefined
      this.#broken = true
      preamble.reject(new Error('origin connection closed'))
    }
    this.#onClose()
  }
  // While borrowed, pg's Client must not turn stray events into process-crashing 'error's.
  readonly #errorListener = () => {}
  /** The session changed server state that must not leak to the next borrower (SET …). */
  dirty = false
  /** The per-client settings this connection has now (DEFAULT_SETTINGS: the origin's defaults). */
  settings: Settings
  #preamble: Preamble | undefined
  /** Sluice's own statement failed here: the connection's state is unknown, it is not reused. */
  #broken = false
  /** A cancel request for this backend is in flight: nobody else gets the connection before it settles. */
  #held: Promise<void> | undefined

  readonly #park: LinkPark<ServerLink>

  private constructor(client: pg.PoolClient, park: LinkPark<ServerLink>) {
    this.#client = client
    this.#park = park
    this.settings = settingsOn.get(client) ?? DEFAULT_SETTINGS
    this.#stream = (client as unknown as PgInternals).connection.stream
    this.#throttle = new ReadThrottle(this.#stream)
    this.write = coalescingWriter(this.#stream)
    this.#saved = this.#stream.listeners('data') as ((...args: unknown[]) => void)[]
    this.#stream.removeAllListeners('data')
    this.#stream.on('data', this.#dataListener)
    this.#stream.once('close', this.#closeListener)
    client.on('error', this.#errorListener)
  }

  // Backpressure. A client that reads slowly (a large result, COPY TO STDOUT) must not make Sluice
  // hold what the origin sends faster: while the client's socket is full, this connection is not read.
  readonly #throttle: ReadThrottle

  /** What this connection's answers are written to while a session holds it. */
  feeds(sink: Writable): void {
    this.#throttle.feeds(sink)
  }

  /** The connection's socket as a sink: a session's client is not read while it is full (ReadThrottle). */
  get sink(): Writable {
    return this.#stream
  }

  static async acquire(origin: OriginPool): Promise<ServerLink> {
    const park = parkOf(origin)
    return ServerLink.#unpark(park) ?? new ServerLink(await origin.connectRaw(), park)
  }

  /** A parked connection of `origin`, at once, or undefined (then acquire()). */
  static take(origin: OriginPool): ServerLink | undefined {
    return ServerLink.#unpark(parkOf(origin))
  }

  static #unpark(park: LinkPark<ServerLink>): ServerLink | undefined {
    const link = park.take()
    if (link !== undefined) link.#released = false
    return link
  }

  /** Backend process id and cancel key of the origin connection. */
  get backend(): { pid: number; secret: number } | undefined {
    const c = this.#client as unknown as PgInternals
    return c.processID !== null && c.secretKey !== null ? { pid: c.processID, secret: c.secretKey } : undefined
  }

  get prepared(): Set<string> {
    let set = preparedOn.get(this.#client)
    if (!set) {
      set = new Set()
      preparedOn.set(this.#client, set)
    }
    return set
  }

  listen(onFrame: (f: Frame) => void, onClose: () => void): void {
    this.#onFrame = onFrame
    this.#onClose = onClose
  }

  /** Writes made in one tick leave in one system call. */
  readonly write: CoalescingWriter

  #data(chunk: Buffer): void {
    this.#reader.push(chunk)
    for (let f = this.#reader.next(); f !== undefined; f = this.#reader.next()) {
      if (this.#preamble === undefined) this.#onFrame(f)
      else this.#preambleFrame(this.#preamble, f)
    }
  }

  /**
   * Brings the connection to `want` settings (see settings.ts): undefined when it has them already,
   * else a promise settled when the server has applied them — rejected with OriginStatementError
   * when it refused (the connection is then not reused). What is written after this call reaches
   * the server after the settings, and is answered after them.
   */
  align(want: Settings, reported?: Map<string, string>): Promise<void> | undefined {
    if (this.settings === want) return undefined
    const sql = settingsSql(this.settings, want)
    this.settings = want
    if (sql === undefined) return undefined
    return new Promise<void>((resolve, reject) => {
      this.#preamble = reported === undefined ? { resolve, reject } : { resolve, reject, reported }
      this.write(message('Q', sql))
    })
  }

  #preambleFrame(p: Preamble, f: Frame): void {
    if (f.type === T.ErrorResponse) {
      const e = errorFields(f.body)
      p.error ??= new OriginStatementError(e.get('C') ?? 'XX000', e.get('M') ?? 'the origin refused a setting')
    } else if (f.type === T.ParameterStatus && p.reported !== undefined) {
      const r = new BodyReader(f.body)
      const name = r.cstring()
      p.reported.set(name, r.cstring())
    } else if (f.type === T.ReadyForQuery) {
      this.#preamble = undefined
      if (p.error === undefined) return p.resolve()
      this.#broken = true
      p.reject(p.error)
    }
  }

  /**
   * Gives the connection back. `destroy` when its state is unknown (a client vanished
   * mid-query, a protocol error): the pool then closes it instead of reusing it.
   */
  release(destroy = false): void {
    if (this.#released) return
    this.#released = true
    // Read again, whatever its last client was doing: the connection leaves the session.
    this.#throttle.feeds(undefined)
    // What this session wrote goes out before anyone else writes to the connection.
    this.write.flush()
    if (destroy || this.#broken || this.#reader.pending > 0) return this.#discard()
    const held = this.#held
    if (held !== undefined) {
      this.#held = undefined
      this.#onFrame = ignoreFrame
      this.#onClose = () => {}
      // Whatever the cancel interrupted has been answered; the connection is back in step.
      void held.then(() => (this.#closed ? this.#discard() : this.#reuse()))
      return
    }
    this.#reuse()
  }

  /** Keeps the connection from anyone else until `settled` (see Session.cancel). */
  holdUntil(settled: Promise<void>): void {
    const before = this.#held
    this.#held = before === undefined ? settled : Promise.all([before, settled]).then(() => undefined)
  }

  /** The origin closed the connection. */
  #closed = false

  /** Parks a released, clean connection, or gives it back to the pool. */
  #reuse(): void {
    if (this.#reader.pending > 0) return this.#discard()
    // Parked: still ours, listeners in place; what the server says meanwhile is nobody's business.
    this.#onFrame = ignoreFrame
    this.#onClose = this.#parkedClosed
    if (!this.#park.put(this)) this.returnToPool()
  }

  readonly #parkedClosed = (): void => {
    if (this.#park.remove(this)) this.#discard()
  }

  /** Hands a released connection back to the pool, pg's own parser attached again (the park calls this). */
  returnToPool(): void {
    // Part of a message the server sent while parked: pg's parser cannot take over mid-message.
    if (this.#reader.pending > 0 || this.#broken) return this.#discard()
    // Its settings stay: the wire door borrowing it again takes it as it is; anyone else gets it
    // reset first.
    if (this.settings === DEFAULT_SETTINGS) settingsOn.delete(this.#client)
    else settingsOn.set(this.#client, this.settings)
    this.#stream.off('data', this.#dataListener)
    this.#stream.off('close', this.#closeListener)
    this.#client.off('error', this.#errorListener)
    for (const l of this.#saved) this.#stream.on('data', l)
    this.#client.release()
  }

  #discard(): void {
    this.#stream.off('data', this.#dataListener)
    this.#stream.off('close', this.#closeListener)
    // pg's parser stays detached: whatever the server still sends is not its business. The
    // pool ends the client; the socket is cut so nothing lingers.
    this.#client.release(new Error('wire session left the connection in an unknown state'))
    this.#stream.destroy()
  }
}
