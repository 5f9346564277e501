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
  /**
   * Writes `source[start, end)` without making a view of it first: consecutive ranges of one
   * source (frames relayed from one chunk read) extend the same run, and the run's single view is
   * made when the tick's bytes leave.
   */
  range(source: Buffer, start: number, end: number): void
  /** Hands what this tick wrote to the stream now (before `end()`, or before others write to it). */
  flush(): void
}

// Above this, a tick's separate buffers go out as a vectored write instead of being copied into one.
const COPY_LIMIT = 16 * 1024

// Writes made while a socket's data is being handled (inside a listener made by `flushingAfter`)
// are flushed when the handler returns rather than on the next tick: the bytes leave at the same
// point (nothing else runs in between) without a process.nextTick per write run. Writes made later
// (from promise callbacks) flush on the next tick as before.
let handling = 0
let flushWhenHandled: (() => void)[] = []

/**
 * `handle` as a 'data' listener after which the coalescing writers it wrote to flush (with the
 * outermost such listener, when one runs inside another). A writer that throws does not keep the
 * others from flushing; the first error is thrown after.
 */
export function flushingAfter<A>(handle: (arg: A) => void): (arg: A) => void {
  return (arg) => {
    handling++
    try {
      handle(arg)
    } finally {
      if (--handling === 0 && flushWhenHandled.length > 0) flushAll()
    }
  }
}

function flushAll(): void {
  const flushes = flushWhenHandled
  flushWhenHandled = []
  let failure: unknown
  for (const flush of flushes) {
    try {
      flush()
    } catch (err) {
      failure ??= err
    }
  }
  if (failure !== undefined) throw failure
}

/**
 * Like tickWriter, but cheaper for a relay: buffers that are adjacent in memory (consecutive
 * frames of one chunk read from the other side) are joined into one view, and a tick's bytes reach
 * the stream as a single `write` (no cork, no vectored write) unless they are large. Bytes are
 * held until the end of the tick, so whoever ends the stream must `flush()` first.
 */
export function coalescingWriter(stream: Writable): CoalescingWriter {
  // The run of adjacent bytes being built is source[start, end): kept as offsets so that
  // extending it costs no view (and no `.buffer` lookup, a call into V8's runtime) per write.
  let source: Buffer | undefined
  let start = 0
  let end = 0
  /** Earlier runs of this tick, when the tick wrote non-adjacent buffers. */
  let runs: Buffer[] | undefined
  let size = 0
  const view = (b: Buffer, s: number, e: number): Buffer => (s === 0 && e === b.length ? b : b.subarray(s, e))
  const flush = () => {
    if (source === undefined) return
    const last = view(source, start, end)
    const earlier = runs
    source = runs = undefined
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
  const range = (from: Buffer, s: number, e: number) => {
    if (e <= s) return
    if (source === undefined) {
      source = from
      start = s
      end = e
      if (handling > 0) flushWhenHandled.push(flush)
      else process.nextTick(flush)
    } else if (source === from && end === s) {
      end = e
    } else {
      ;(runs ??= []).push(view(source, start, end))
      source = from
      start = s
      end = e
    }
    size += e - s
  }
  const write = (bytes: Buffer) => {
    const n = bytes.length
    if (n === 0) return
    if (source !== undefined && source !== bytes) {
      // Separate views of one chunk that follow each other in memory are still one run.
      const run = view(source, start, end)
      if (run.buffer === bytes.buffer && run.byteOffset + run.length === bytes.byteOffset) {
        source = Buffer.from(run.buffer, run.byteOffset, run.length + n)
        start = 0
        end = source.length
        size += n
        return
      }
    }
    range(bytes, 0, n)
  }
  return Object.assign(write, { range, flush })
}
