// PostgreSQL wire protocol (v3) framing and the few messages Sluice itself has to write.
// Messages are relayed as raw bytes wherever possible; only what the session state machine needs
// is decoded. (pg-protocol parses backend messages for clients; the server side — frontend
// messages, backend serialisation — is small enough to do here.)

export const PROTOCOL_V3 = 196608
export const SSL_REQUEST = 80877103
export const GSSENC_REQUEST = 80877104
export const CANCEL_REQUEST = 80877102

/** Largest message accepted from a client (a bigger length is a protocol violation). */
export const MAX_MESSAGE = 256 * 1024 * 1024

export class ProtocolError extends Error {
  override name = 'ProtocolError'
}

/** One framed message: type byte (0 for the untyped startup packet) and the whole frame. */
export interface Frame {
  type: number
  /** Complete bytes of the message including type and length (what to forward). */
  bytes: Buffer
  /** Payload after the length field. */
  body: Buffer
  /** The frame is source[start, end) (what a relay writes without making `bytes`). */
  readonly source: Buffer
  readonly start: number
  readonly end: number
  /** The body's first NUL-terminated string (a Query's text), read without making a view. Throws ProtocolError. */
  firstString(): string
}

/**
 * A frame as read: most are relayed as they are (as a range of the chunk they came in, see
 * CoalescingWriter.range), so the views of the frame and of its body are made only when asked for.
 */
class ReadFrame implements Frame {
  #bytes: Buffer | undefined
  #body: Buffer | undefined
  constructor(
    readonly type: number,
    readonly source: Buffer,
    readonly start: number,
    readonly end: number,
    readonly header: number,
  ) {}

  get bytes(): Buffer {
    return (this.#bytes ??= this.source.subarray(this.start, this.end))
  }

  get body(): Buffer {
    return (this.#body ??= this.source.subarray(this.start + this.header, this.end))
  }

  firstString(): string {
    const from = this.start + this.header
    const nul = this.source.indexOf(0, from)
    if (nul === -1 || nul >= this.end) throw new ProtocolError('unterminated string in message')
    return this.source.toString('utf8', from, nul)
  }
}

/**
 * Accumulates stream chunks and yields complete frames. `untypedFirst` handles the startup phase,
 * whose messages have no type byte.
 */
export class FrameReader {
  #buf: Buffer = Buffer.alloc(0)
  /** Start of the bytes not yet framed (frames are views of #buf; no view is made of the rest). */
  #pos = 0
  untyped: boolean

  constructor(untypedFirst: boolean, readonly maxMessage = MAX_MESSAGE) {
    this.untyped = untypedFirst
  }

  push(chunk: Buffer): void {
    this.#buf = this.#pos === this.#buf.length ? chunk : Buffer.concat([this.#buf.subarray(this.#pos), chunk])
    this.#pos = 0
  }

  /** The next complete frame, or undefined if more bytes are needed. Throws ProtocolError. */
  next(): Frame | undefined {
    const buf = this.#buf
    const pos = this.#pos
    const available = buf.length - pos
    if (this.untyped) {
      if (available < 4) return undefined
      const len = buf.readInt32BE(pos)
      if (len < 8 || len > 10_000) throw new ProtocolError(`invalid startup packet length ${len}`)
      if (available < len) return undefined
      this.#pos = pos + len
      return new ReadFrame(0, buf, pos, pos + len, 4)
    }
    if (available < 5) return undefined
    const len = buf.readInt32BE(pos + 1)
    if (len < 4 || len > this.maxMessage) throw new ProtocolError(`invalid message length ${len} for message type ${String.fromCharCode(buf[pos]!)}`)
    if (available < len + 1) return undefined
    this.#pos = pos + len + 1
    return new ReadFrame(buf[pos]!, buf, pos, pos + len + 1, 5)
  }

  /** Bytes buffered but not yet framed. */
  get pending(): number {
    return this.#buf.length - this.#pos
  }
}

/** Reads NUL-terminated strings and integers from a message body. */
export class BodyReader {
  #pos = 0
  constructor(readonly body: Buffer) {}

  cstring(): string {
    const pos = this.#pos
    // Empty names (the unnamed statement and portal) are the common case: no decoding call.
    if (this.body[pos] === 0) {
      this.#pos = pos + 1
      return ''
    }
    const end = this.body.indexOf(0, pos)
    if (end === -1) throw new ProtocolError('unterminated string in message')
    const s = this.body.toString('utf8', pos, end)
    this.#pos = end + 1
    return s
  }
  int16(): number {
    if (this.#pos + 2 > this.body.length) throw new ProtocolError('truncated message')
    const v = this.body.readInt16BE(this.#pos)
    this.#pos += 2
    return v
  }
  int32(): number {
    if (this.#pos + 4 > this.body.length) throw new ProtocolError('truncated message')
    const v = this.body.readInt32BE(this.#pos)
    this.#pos += 4
    return v
  }
  bytes(n: number): Buffer {
    if (n < 0 || this.#pos + n > this.body.length) throw new ProtocolError('truncated message')
    const b = this.body.subarray(this.#pos, this.#pos + n)
    this.#pos += n
    return b
  }
  get remaining(): number {
    return this.body.length - this.#pos
  }
  get position(): number {
    return this.#pos
  }
}

/** Startup packet parameters (user, database, options…). */
export function parseStartupParams(body: Buffer): Map<string, string> {
  const r = new BodyReader(body.subarray(4))
  const params = new Map<string, string>()
  while (r.remaining > 1) {
    const k = r.cstring()
    if (k === '') break
    params.set(k, r.cstring())
  }
  return params
}

/**
 * Why a session asking for these startup parameters is refused, or undefined: a replication
 * connection speaks a protocol Sluice does not. (Run-time settings are the client's own; see
 * settings.ts.)
 */
export function refusedStartupParameter(params: ReadonlyMap<string, string>): string | undefined {
  const replication = params.get('replication')
  if (replication !== undefined && !['false', 'off', 'no', '0'].includes(replication.toLowerCase())) {
    return 'Sluice does not serve replication connections: connect to the origin directly'
  }
  return undefined
}

// ---- writing messages -------------------------------------------------------------------------

/** Builds a typed message from parts (strings are written NUL-terminated). */
export function message(type: string, ...parts: (string | number | Buffer | { int16: number } | { byte: number })[]): Buffer {
  const chunks: Buffer[] = []
  for (const p of parts) {
    if (typeof p === 'string') chunks.push(Buffer.from(p + '\0', 'utf8'))
    else if (typeof p === 'number') {
      const b = Buffer.alloc(4)
      b.writeInt32BE(p)
      chunks.push(b)
    } else if (Buffer.isBuffer(p)) chunks.push(p)
    else if ('int16' in p) {
      const b = Buffer.alloc(2)
      b.writeInt16BE(p.int16)
      chunks.push(b)
    } else chunks.push(Buffer.from([p.byte]))
  }
  const body = Buffer.concat(chunks)
  const head = Buffer.alloc(5)
  head[0] = type.charCodeAt(0)
  head.writeInt32BE(body.length + 4, 1)
  return Buffer.concat([head, body])
}

export const authenticationOk = () => message('R', 0)
// The most frequent messages are built once (socket writes never modify a buffer).
const READY = { I: message('Z', { byte: 0x49 }), T: message('Z', { byte: 0x54 }), E: message('Z', { byte: 0x45 }) }
export const readyForQuery = (status: 'I' | 'T' | 'E') => READY[status]
export const parameterStatus = (name: string, value: string) => message('S', name, value)
export const backendKeyData = (pid: number, secret: number) => message('K', pid, secret)
const PARSE_COMPLETE = message('1')
const BIND_COMPLETE = message('2')
export const parseComplete = () => PARSE_COMPLETE
export const bindComplete = () => BIND_COMPLETE
export const closeComplete = () => message('3')

/** ErrorResponse (or NoticeResponse with type 'N'). */
export function errorResponse(sqlstate: string, text: string, severity = 'ERROR', type: 'E' | 'N' = 'E'): Buffer {
  return message(type, { byte: 0x53 }, severity, { byte: 0x56 }, severity, { byte: 0x43 }, sqlstate, { byte: 0x4d }, text, { byte: 0 })
}

/** Message types, as char codes. */
export const T = {
  // frontend
  Query: 0x51, // Q
  Parse: 0x50, // P
  Bind: 0x42, // B
  Describe: 0x44, // D
  Execute: 0x45, // E
  Sync: 0x53, // S
  Flush: 0x48, // H
  Close: 0x43, // C
  Terminate: 0x58, // X
  CopyData: 0x64, // d
  CopyDone: 0x63, // c
  CopyFail: 0x66, // f
  Password: 0x70, // p
  FunctionCall: 0x46, // F
  // backend
  ReadyForQuery: 0x5a, // Z
  ErrorResponse: 0x45, // E
  CommandComplete: 0x43, // C
  ParseComplete: 0x31, // 1
  BindComplete: 0x32, // 2
  CloseComplete: 0x33, // 3
  RowDescription: 0x54, // T
  DataRow: 0x44, // D
  ParameterStatus: 0x53, // S
  NoticeResponse: 0x4e, // N
  CopyInResponse: 0x47, // G
  CopyOutResponse: 0x48, // H
  CopyBothResponse: 0x57, // W
  EmptyQueryResponse: 0x49, // I
} as const

/** Reads ErrorResponse fields (S, C, M …) into a map keyed by field char. */
export function errorFields(body: Buffer): Map<string, string> {
  const out = new Map<string, string>()
  let pos = 0
  while (pos < body.length && body[pos] !== 0) {
    const code = String.fromCharCode(body[pos]!)
    const end = body.indexOf(0, pos + 1)
    if (end === -1) break
    out.set(code, body.toString('utf8', pos + 1, end))
    pos = end + 1
  }
  return out
}
