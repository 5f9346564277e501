// A server connection borrowed from the origin's pool for one transaction (transaction pooling).
//
// The wire door and the HTTP door draw on the same pg.Pool per origin, so the origin's
// connection budget (connection_limit) covers both doors. While a connection is borrowed, the
// door speaks the protocol on its socket directly: pg's own parser is detached and reattached
// when the connection goes back — always at a message boundary, with the server idle.
import type pg from 'pg'
import type { Duplex } from 'node:stream'
import { FrameReader, type Frame } from './protocol.js'
import { coalescingWriter, type CoalescingWriter } from '../../util/cork.js'
import type { OriginPool } from '../../pool/origin-pool.js'

interface PgInternals {
  connection: { stream: Duplex }
  processID: number | null
  secretKey: number | null
}

/** Statements Sluice has prepared on each physical connection (they outlive one borrow). */
const preparedOn = new WeakMap<pg.PoolClient, Set<string>>()

export class ServerLink {
  readonly #client: pg.PoolClient
  readonly #stream: Duplex
  readonly #saved: ((...args: unknown[]) => void)[]
  readonly #reader = new FrameReader(false)
  #onFrame: (f: Frame) => void = () => {}
  #onClose: () => void = () => {}
  #released = false
  readonly #dataListener = (chunk: Buffer) => this.#data(chunk)
  readonly #closeListener = () => this.#onClose()
  // While borrowed, pg's Client must not turn stray events into process-crashing 'error's.
  readonly #errorListener = () => {}
  /** The session changed server state that must not leak to the next borrower (SET …). */
  dirty = false

  private constructor(client: pg.PoolClient) {
    this.#client = client
    this.#stream = (client as unknown as PgInternals).connection.stream
    this.write = coalescingWriter(this.#stream)
    this.#saved = this.#stream.listeners('data') as ((...args: unknown[]) => void)[]
    this.#stream.removeAllListeners('data')
    this.#stream.on('data', this.#dataListener)
    this.#stream.once('close', this.#closeListener)
    client.on('error', this.#errorListener)
  }

  static async acquire(origin: OriginPool): Promise<ServerLink> {
    return new ServerLink(await origin.pool.connect())
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
    for (let f = this.#reader.next(); f !== undefined; f = this.#reader.next()) this.#onFrame(f)
  }

  /**
   * Gives the connection back. `destroy` when its state is unknown (a client vanished
   * mid-query, a protocol error): the pool then closes it instead of reusing it.
   */
  release(destroy = false): void {
    if (this.#released) return
    this.#released = true
    // What this session wrote goes out before anyone else writes to the connection.
    this.write.flush()
    this.#stream.off('data', this.#dataListener)
    this.#stream.off('close', this.#closeListener)
    if (destroy || this.#reader.pending > 0) {
      // pg's parser stays detached: whatever the server still sends is not its business. The
      // pool ends the client; the socket is cut so nothing lingers.
      this.#client.release(new Error('wire session left the connection in an unknown state'))
      this.#stream.destroy()
      return
    }
    this.#client.off('error', this.#errorListener)
    for (const l of this.#saved) this.#stream.on('data', l)
    this.#client.release()
  }
}
