// Where a server's answer to one command ends, and the server status it ends with. Sluice relays
// answers packet by packet without decoding rows; this tracker only reads packet headers, so that
// the door knows when a command is complete (to end a transaction, return the server connection,
// or close a cache fill) and whether a transaction is open.
import { CAP, MAX_PACKET, PayloadReader, ProtocolError, STATUS, eofStatus, okStatus, type Packet } from './protocol.js'

/** How the answer to a command is shaped. */
export type ResponseKind = 'resultset' | 'prepare' | 'single' | 'fieldlist'

type State = 'first' | 'columns' | 'columnsEof' | 'rows' | 'params' | 'paramsEof' | 'prepColumns' | 'prepColumnsEof' | 'done'

export interface PrepareOk {
  statementId: number
  columns: number
  params: number
}

export class ResponseTracker {
  #state: State = 'first'
  #left = 0
  #continued = false
  /** Server status after the answer (undefined when it did not say: ERR, prepare). */
  status: number | undefined
  /** The answer (or its last result) was an ERR packet. */
  error = false
  /** An ERR packet's payload, when there was one. */
  errPayload: Buffer | undefined
  /** For COM_STMT_PREPARE: the statement the server prepared. */
  prepared: PrepareOk | undefined
  readonly #deprecateEof: boolean

  constructor(
    readonly kind: ResponseKind,
    capabilities: number,
  ) {
    this.#deprecateEof = (capabilities & CAP.DEPRECATE_EOF) !== 0
  }

  get done(): boolean {
    return this.#state === 'done'
  }

  /** Feeds the next packet of the answer; returns true when it was the last one. */
  feed(p: Packet): boolean {
    if (this.#state === 'done') throw new ProtocolError('server sent more than the answer')
    const continuation = this.#continued
    this.#continued = p.payload.length === MAX_PACKET
    if (continuation) return false
    const b = p.payload
    const head = b[0]
    switch (this.#state) {
      case 'first':
        if (head === 0xff) return this.#err(b)
        if (this.kind === 'single') {
          if (head === 0x00) this.status = okStatus(b)
          else if (head === 0xfe && b.length < 9) this.status = eofStatus(b)
          return this.#finish()
        }
        if (this.kind === 'fieldlist') return this.#fieldList(b)
        if (this.kind === 'prepare') {
          if (head !== 0x00 || b.length < 12) throw new ProtocolError('malformed prepare answer')
          this.prepared = { statementId: b.readUInt32LE(1), columns: b.readUInt16LE(5), params: b.readUInt16LE(7) }
          return this.#afterPrepareHead()
        }
        if (head === 0x00) {
          this.status = okStatus(b)
          return this.status & STATUS.MORE_RESULTS ? false : this.#finish()
        }
        if (head === 0xfb) throw new ProtocolError('LOCAL INFILE is not offered')
        this.#left = new PayloadReader(b).lenenc()
        this.#state = this.#left > 0 ? 'columns' : 'rows'
        return false
      case 'columns':
        if (--this.#left === 0) this.#state = this.#deprecateEof ? 'rows' : 'columnsEof'
        return false
      case 'columnsEof':
        if (head !== 0xfe) throw new ProtocolError('expected EOF after column definitions')
        // With a cursor opened, rows come later through COM_STMT_FETCH.
        if (eofStatus(b) & STATUS.CURSOR_EXISTS) {
          this.status = eofStatus(b)
          return this.#finish()
        }
        this.#state = 'rows'
        return false
      case 'rows':
        if (head === 0xff) return this.#err(b)
        if (head === 0xfe && (this.#deprecateEof ? b.length < MAX_PACKET : b.length < 9)) {
          this.status = this.#deprecateEof ? okStatus(b) : eofStatus(b)
          if (this.status & STATUS.MORE_RESULTS) {
            this.#state = 'first'
            return false
          }
          return this.#finish()
        }
        return false
      case 'params':
        if (--this.#left === 0) {
          if (!this.#deprecateEof) {
            this.#state = 'paramsEof'
            return false
          }
          return this.#prepareColumns()
        }
        return false
      case 'paramsEof':
        return this.#prepareColumns()
      case 'prepColumns':
        if (--this.#left === 0) {
          if (!this.#deprecateEof) {
            this.#state = 'prepColumnsEof'
            return false
          }
          return this.#finish()
        }
        return false
      case 'prepColumnsEof':
        return this.#finish()
    }
    return false
  }

  #fieldList(b: Buffer): boolean {
    if (b[0] === 0xfe && b.length < 9) {
      this.status = b.length >= 5 ? eofStatus(b) : undefined
      return this.#finish()
    }
    return false
  }

  #afterPrepareHead(): boolean {
    const p = this.prepared!
    if (p.params > 0) {
      this.#left = p.params
      this.#state = 'params'
      return false
    }
    return this.#prepareColumns()
  }

  #prepareColumns(): boolean {
    const p = this.prepared!
    if (p.columns > 0) {
      this.#left = p.columns
      this.#state = 'prepColumns'
      return false
    }
    return this.#finish()
  }

  #err(b: Buffer): boolean {
    this.error = true
    this.errPayload = b
    return this.#finish()
  }

  #finish(): boolean {
    if (this.kind === 'fieldlist' && this.#state !== 'first') {
      this.#state = 'done'
      return true
    }
    this.#state = 'done'
    return true
  }
}
