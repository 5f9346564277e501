// Backpressure for a relay: what is read from `source` is written to a sink (a client's socket);
// while the sink cannot take more, `source` is not read, so whoever sends into it waits in its own
// send buffer, as it would for a slow direct peer, and the relay holds a socket buffer's worth
// rather than everything sent meanwhile.
import type { Readable, Writable } from 'node:stream'

export class ReadThrottle {
  #sink: Writable | undefined
  #paused = false

  constructor(readonly source: Readable) {}

  readonly #resume = (): void => {
    const sink = this.#sink
    if (sink !== undefined) {
      sink.off('drain', this.#resume)
      sink.off('close', this.#resume)
    }
    if (!this.#paused) return
    this.#paused = false
    this.source.resume()
  }

  /** From now on what is read goes to `sink` (undefined: nowhere in particular); reading resumes. */
  feeds(sink: Writable | undefined): void {
    this.#resume()
    this.#sink = sink
  }

  /** After a chunk was relayed: stops reading while the sink is full, until it drains or closes. */
  check(): void {
    const sink = this.#sink
    if (sink === undefined || this.#paused || !sink.writableNeedDrain) return
    this.#paused = true
    this.source.pause()
    sink.once('drain', this.#resume)
    sink.once('close', this.#resume)
  }
}
