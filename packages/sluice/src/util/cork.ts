import type { Writable } from 'node:stream'

/**
 * A write function for `stream` that corks it on the first write of a tick and uncorks on the
 * next, so that everything written in one tick leaves in one system call.
 */
export function tickWriter(stream: Writable): (bytes: Buffer) => void {
  let corked = false
  const uncork = () => {
    corked = false
    stream.uncork()
  }
  return (bytes) => {
    if (!corked) {
      corked = true
      stream.cork()
      process.nextTick(uncork)
    }
    stream.write(bytes)
  }
}

/** A tick writer that keeps the bytes of a tick itself; `flush()` sends them at once. */
export interface CoalescingWriter {
  (bytes: Buffer): void
  /** Hands what this tick wrote to the stream now (before `end()`, or before others write to it). */
  flush(): void
}

// Above this, a tick's separate buffers go out as a vectored write instead of being copied into one.
const COPY_LIMIT = 16 * 1024

/**
 * Like tickWriter, but cheaper for a relay: buffers that are adjacent in memory (consecutive
 * frames of one chunk read from the other side) are joined into one view, and a tick's bytes reach
 * the stream as a single `write` (no cork, no vectored write) unless they are large. Bytes are
 * held until the end of the tick, so whoever ends the stream must `flush()` first.
 */
export function coalescingWriter(stream: Writable): CoalescingWriter {
  /** The run of adjacent bytes being built. */
  let run: Buffer | undefined
  /** Earlier runs of this tick, when the tick wrote non-adjacent buffers. */
  let runs: Buffer[] | undefined
  let size = 0
  const flush = () => {
    if (run === undefined) return
    const last = run
    const earlier = runs
    run = runs = undefined
    if (earlier === undefined) {
      stream.write(last)
    } else if (size <= COPY_LIMIT) {
      earlier.push(last)
      stream.write(Buffer.concat(earlier, size))
    } else {
      stream.cork()
      for (const b of earlier) stream.write(b)
      stream.write(last)
      stream.uncork()
    }
    size = 0
  }
  const write = (bytes: Buffer) => {
    if (bytes.length === 0) return
    if (run === undefined) {
      run = bytes
      process.nextTick(flush)
    } else if (run.buffer === bytes.buffer && run.byteOffset + run.length === bytes.byteOffset) {
      run = Buffer.from(run.buffer, run.byteOffset, run.length + bytes.length)
    } else {
      ;(runs ??= []).push(run)
      run = bytes
    }
    size += bytes.length
  }
  return Object.assign(write, { flush })
}
