// The MySQL client/server protocol as far as Sluice speaks it: packet framing, the handful of
// packets Sluice builds itself (handshake, OK, ERR, EOF, auth switch), and length-encoded values.
//
// A small codec of our own rather than mysql2's server-side classes: those are untyped,
// undocumented internals that decode every result into JavaScript values, whereas Sluice relays
// and caches results as the origin's exact bytes and needs only the packet boundaries and a few
// header fields.

/** Capability flags (https://dev.mysql.com/doc/dev/mysql-server/latest/group__group__cs__capabilities__flags.html). */
export const CAP = {
  LONG_PASSWORD: 1,
  FOUND_ROWS: 2,
  LONG_FLAG: 4,
  CONNECT_WITH_DB: 8,
  NO_SCHEMA: 16,
  COMPRESS: 32,
  ODBC: 64,
  LOCAL_FILES: 128,
  IGNORE_SPACE: 256,
  PROTOCOL_41: 512,
  INTERACTIVE: 1024,
  SSL: 2048,
  TRANSACTIONS: 8192,
  SECURE_CONNECTION: 32768,
  MULTI_STATEMENTS: 1 << 16,
  MULTI_RESULTS: 1 << 17,
  PS_MULTI_RESULTS: 1 << 18,
  PLUGIN_AUTH: 1 << 19,
  CONNECT_ATTRS: 1 << 20,
  PLUGIN_AUTH_LENENC_CLIENT_DATA: 1 << 21,
  SESSION_TRACK: 1 << 23,
  DEPRECATE_EOF: 1 << 24,
} as const

/**
 * Flags a client chooses that change how the server parses statements or encodes answers. Server
 * connections are opened with the client's choice of these, and only serve clients that chose the
 * same (and cache keys include them), so relayed and cached bytes are always in the client's format.
 */
export const FORMAT_CAPS =
  CAP.FOUND_ROWS | CAP.LONG_FLAG | CAP.NO_SCHEMA | CAP.ODBC | CAP.IGNORE_SPACE | CAP.INTERACTIVE | CAP.MULTI_STATEMENTS | CAP.MULTI_RESULTS | CAP.PS_MULTI_RESULTS | CAP.DEPRECATE_EOF

/** Flags Sluice itself needs on both sides. */
export const BASE_CAPS = CAP.LONG_PASSWORD | CAP.PROTOCOL_41 | CAP.TRANSACTIONS | CAP.SECURE_CONNECTION | CAP.PLUGIN_AUTH | CAP.PLUGIN_AUTH_LENENC_CLIENT_DATA

/** Server status flags. */
export const STATUS = {
  IN_TRANS: 1,
  AUTOCOMMIT: 2,
  MORE_RESULTS: 8,
  CURSOR_EXISTS: 64,
} as const

export const COM = {
  QUIT: 0x01,
  INIT_DB: 0x02,
  QUERY: 0x03,
  FIELD_LIST: 0x04,
  STATISTICS: 0x09,
  PING: 0x0e,
  CHANGE_USER: 0x11,
  STMT_PREPARE: 0x16,
  STMT_EXECUTE: 0x17,
  STMT_SEND_LONG_DATA: 0x18,
  STMT_CLOSE: 0x19,
  STMT_RESET: 0x1a,
  SET_OPTION: 0x1b,
  STMT_FETCH: 0x1c,
  RESET_CONNECTION: 0x1f,
} as const

/** Largest payload of one physical packet; a logical packet this long continues in the next. */
export const MAX_PACKET = 0xffffff

export class ProtocolError extends Error {}

/** One physical packet as received: its sequence id, payload and the bytes on the wire. */
export interface Packet {
  seq: number
  payload: Buffer
  /** Header + payload, exactly as received (for relaying). */
  bytes: Buffer
}

/** Splits a byte stream into packets. */
export class PacketReader {
  #buf: Buffer = Buffer.alloc(0)
  /** Largest logical packet accepted (a client's max_allowed_packet); bigger ones are a protocol error. */
  constructor(readonly maxLogical = 64 * 1024 * 1024) {}
  #logical = 0

  push(chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk])
  }

  /** Bytes received but not yet returned as packets. */
  get pending(): number {
    return this.#buf.length
  }

  /** Takes the bytes received after the last packet (a protocol switch: they belong to TLS). */
  drain(): Buffer {
    const rest = this.#buf
    this.#buf = Buffer.alloc(0)
    return rest
  }

  next(): Packet | undefined {
    const buf = this.#buf
    if (buf.length < 4) return undefined
    const len = buf.readUIntLE(0, 3)
    if (buf.length < 4 + len) {
      if (this.#logical + len > this.maxLogical) throw new ProtocolError(`packet larger than ${this.maxLogical} bytes`)
      return undefined
    }
    this.#logical = len === MAX_PACKET ? this.#logical + len : 0
    const bytes = buf.subarray(0, 4 + len)
    this.#buf = buf.subarray(4 + len)
    return { seq: buf[3]!, payload: bytes.subarray(4), bytes }
  }
}

/** Joins physical packets of one logical packet (those after a MAX_PACKET-long one). */
export class LogicalAssembler {
  #parts: Buffer[] = []
  /** The whole payload once the last part arrived, else undefined. */
  add(p: Packet): Buffer | undefined {
    if (p.payload.length === MAX_PACKET) {
      this.#parts.push(p.payload)
      return undefined
    }
    if (this.#parts.length === 0) return p.payload
    const all = Buffer.concat([...this.#parts, p.payload])
    this.#parts = []
    return all
  }
  get partial(): boolean {
    return this.#parts.length > 0
  }
}

/** Frames a payload as packets starting at sequence id `seq` (splitting at 16 MiB). */
export function packet(seq: number, payload: Buffer): Buffer {
  if (payload.length < MAX_PACKET) {
    const out = Buffer.allocUnsafe(4 + payload.length)
    out.writeUIntLE(payload.length, 0, 3)
    out[3] = seq & 0xff
    payload.copy(out, 4)
    return out
  }
  const parts: Buffer[] = []
  let off = 0
  for (;;) {
    const n = Math.min(MAX_PACKET, payload.length - off)
    const head = Buffer.allocUnsafe(4)
    head.writeUIntLE(n, 0, 3)
    head[3] = seq++ & 0xff
    parts.push(head, payload.subarray(off, off + n))
    off += n
    if (n < MAX_PACKET) break
  }
  return Buffer.concat(parts)
}

/** Rewrites the sequence ids of a run of packets to start at `seq` (a cached answer for another command). */
export function resequence(bytes: Buffer, seq: number): Buffer {
  if (bytes.length < 4 || bytes[3] === (seq & 0xff)) return bytes
  const out = Buffer.from(bytes)
  for (let off = 0; off + 4 <= out.length; off += 4 + out.readUIntLE(off, 3)) out[off + 3] = seq++ & 0xff
  return out
}

// ---- length-encoded values -----------------------------------------------------------------

export function lenencInt(n: number): Buffer {
  if (n < 251) return Buffer.from([n])
  if (n < 0x10000) return Buffer.from([0xfc, n & 0xff, n >> 8])
  if (n < 0x1000000) return Buffer.from([0xfd, n & 0xff, (n >> 8) & 0xff, n >> 16])
  const b = Buffer.alloc(9)
  b[0] = 0xfe
  b.writeBigUInt64LE(BigInt(n), 1)
  return b
}

/** Reads a payload front to back; throws ProtocolError past its end. */
export class PayloadReader {
  pos = 0
  constructor(readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.pos
  }

  #need(n: number): void {
    if (this.pos + n > this.buf.length) throw new ProtocolError('truncated packet')
  }
  u8(): number {
    this.#need(1)
    return this.buf[this.pos++]!
  }
  u16(): number {
    this.#need(2)
    const v = this.buf.readUInt16LE(this.pos)
    this.pos += 2
    return v
  }
  u32(): number {
    this.#need(4)
    const v = this.buf.readUInt32LE(this.pos)
    this.pos += 4
    return v
  }
  bytes(n: number): Buffer {
    this.#need(n)
    const v = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return v
  }
  rest(): Buffer {
    const v = this.buf.subarray(this.pos)
    this.pos = this.buf.length
    return v
  }
  lenenc(): number {
    const first = this.u8()
    if (first < 0xfb) return first
    if (first === 0xfc) return this.u16()
    if (first === 0xfd) {
      this.#need(3)
      const v = this.buf.readUIntLE(this.pos, 3)
      this.pos += 3
      return v
    }
    if (first === 0xfe) {
      this.#need(8)
      const v = this.buf.readBigUInt64LE(this.pos)
      this.pos += 8
      if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError('length out of range')
      return Number(v)
    }
    throw new ProtocolError('invalid length-encoded integer')
  }
  lenencBytes(): Buffer {
    return this.bytes(this.lenenc())
  }
  /** NUL-terminated string; without a terminator, the rest of the payload. */
  cstring(): string {
    const end = this.buf.indexOf(0, this.pos)
    const stop = end < 0 ? this.buf.length : end
    const v = this.buf.toString('utf8', this.pos, stop)
    this.pos = end < 0 ? stop : end + 1
    return v
  }
}

// ---- packets Sluice builds -----------------------------------------------------------------

export interface HandshakeOptions {
  serverVersion: string
  connectionId: number
  scramble: Buffer // 20 bytes
  capabilities: number
  charset: number
  status: number
  authPlugin: string
}

export function handshakeV10(o: HandshakeOptions): Buffer {
  return Buffer.concat([
    Buffer.from([10]),
    Buffer.from(o.serverVersion + '\0'),
    u32(o.connectionId),
    o.scramble.subarray(0, 8),
    Buffer.from([0]),
    u16(o.capabilities & 0xffff),
    Buffer.from([o.charset]),
    u16(o.status),
    u16(o.capabilities >>> 16),
    Buffer.from([o.scramble.length + 1]),
    Buffer.alloc(10),
    o.scramble.subarray(8),
    Buffer.from([0]),
    Buffer.from(o.authPlugin + '\0'),
  ])
}

export interface HandshakeInfo {
  serverVersion: string
  connectionId: number
  scramble: Buffer
  capabilities: number
  charset: number
  authPlugin: string
}

export function parseHandshake(payload: Buffer): HandshakeInfo {
  const r = new PayloadReader(payload)
  if (r.u8() !== 10) throw new ProtocolError('unsupported handshake protocol version')
  const serverVersion = r.cstring()
  const connectionId = r.u32()
  const part1 = r.bytes(8)
  r.u8()
  let capabilities = r.u16()
  const charset = r.u8()
  r.u16()
  capabilities = (capabilities | (r.u16() << 16)) >>> 0
  const dataLen = r.u8()
  r.bytes(10)
  const part2 = r.bytes(Math.max(13, dataLen - 8))
  const authPlugin = capabilities & CAP.PLUGIN_AUTH ? r.cstring() : 'mysql_native_password'
  const scramble = Buffer.concat([part1, part2.subarray(0, part2[part2.length - 1] === 0 ? part2.length - 1 : part2.length)])
  return { serverVersion, connectionId, scramble, capabilities, charset, authPlugin }
}

export interface HandshakeResponse {
  capabilities: number
  maxPacket: number
  charset: number
  user: string
  authResponse: Buffer
  database: string | undefined
  authPlugin: string | undefined
}

/** The SSLRequest: the first 32 bytes of a handshake response, with CLIENT_SSL set. */
export function isSslRequest(payload: Buffer): boolean {
  return payload.length === 32 && (payload.readUInt32LE(0) & CAP.SSL) !== 0
}

export function parseHandshakeResponse(payload: Buffer): HandshakeResponse {
  const r = new PayloadReader(payload)
  const capabilities = r.u32()
  if (!(capabilities & CAP.PROTOCOL_41)) throw new ProtocolError('clients before protocol 4.1 are not supported')
  const maxPacket = r.u32()
  const charset = r.u8()
  r.bytes(23)
  const user = r.cstring()
  let authResponse: Buffer
  if (capabilities & CAP.PLUGIN_AUTH_LENENC_CLIENT_DATA) authResponse = r.lenencBytes()
  else if (capabilities & CAP.SECURE_CONNECTION) authResponse = r.bytes(r.u8())
  else authResponse = Buffer.from(r.cstring())
  const database = capabilities & CAP.CONNECT_WITH_DB && r.remaining > 0 ? r.cstring() : undefined
  const authPlugin = capabilities & CAP.PLUGIN_AUTH && r.remaining > 0 ? r.cstring() : undefined
  // Connection attributes (CLIENT_CONNECT_ATTRS) are accepted and not needed.
  return { capabilities, maxPacket, charset, user, authResponse, database: database || undefined, authPlugin }
}

export function handshakeResponse(o: { capabilities: number; charset: number; user: string; authResponse: Buffer; database?: string; authPlugin: string }): Buffer {
  const caps = (o.capabilities | (o.database ? CAP.CONNECT_WITH_DB : 0)) >>> 0
  return Buffer.concat([
    u32(caps),
    u32(MAX_PACKET),
    Buffer.from([o.charset]),
    Buffer.alloc(23),
    Buffer.from(o.user + '\0'),
    lenencInt(o.authResponse.length),
    o.authResponse,
    ...(o.database ? [Buffer.from(o.database + '\0')] : []),
    Buffer.from(o.authPlugin + '\0'),
  ])
}

export function okPayload(status: number, affectedRows = 0, lastInsertId = 0, warnings = 0): Buffer {
  return Buffer.concat([Buffer.from([0]), lenencInt(affectedRows), lenencInt(lastInsertId), u16(status), u16(warnings)])
}

export function errPayload(code: number, sqlState: string, message: string): Buffer {
  return Buffer.concat([Buffer.from([0xff]), u16(code), Buffer.from('#' + sqlState.padEnd(5, '0').slice(0, 5)), Buffer.from(message)])
}

export function authSwitchPayload(plugin: string, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0xfe]), Buffer.from(plugin + '\0'), data, Buffer.from([0])])
}

export function authMoreData(data: Buffer): Buffer {
  return Buffer.concat([Buffer.from([1]), data])
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2)
  b.writeUInt16LE(n & 0xffff)
  return b
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(n >>> 0)
  return b
}

/** The code, SQLSTATE and message of an ERR payload. */
export function parseErr(payload: Buffer): { code: number; sqlState: string; message: string } {
  const code = payload.length >= 3 ? payload.readUInt16LE(1) : 0
  const marked = payload[3] === 0x23 // '#'
  return {
    code,
    sqlState: marked ? payload.toString('latin1', 4, 9) : 'HY000',
    message: payload.toString('utf8', marked ? 9 : 3),
  }
}

/** Server status of an OK payload (0x00 or, ending a result set with DEPRECATE_EOF, 0xFE). */
export function okStatus(payload: Buffer): number {
  const r = new PayloadReader(payload)
  r.u8()
  r.lenenc()
  r.lenenc()
  return r.u16()
}

/** Server status of a classic EOF payload. */
export function eofStatus(payload: Buffer): number {
  return payload.length >= 5 ? payload.readUInt16LE(3) : 0
}

// ---- error codes Sluice sends --------------------------------------------------------------

export const ER = {
  ACCESS_DENIED: 1045,
  UNKNOWN_COM: 1047,
  HANDSHAKE: 1043,
  NET_PACKETS_OUT_OF_ORDER: 1156,
  NET_PACKET_TOO_LARGE: 1153,
  UNKNOWN_STMT_HANDLER: 1243,
  CON_COUNT: 1040,
  CONNECTION_ERROR: 2013,
  NOT_SUPPORTED: 1235,
} as const
