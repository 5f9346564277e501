// Socket reads into one shared buffer.
//
// By default every read on a Node socket allocates a fresh 64 KB backing store (malloc), shrinks
// it to what was read (realloc), wraps it in an ArrayBuffer and later frees it through the GC,
// then passes it through the Readable stream machinery. For a relay that reads one small message
// at a time, that is 10-15 % of its CPU (malloc, free and ArrayBuffer sweeping in a profile of the
// wire door). Node's `onread` option instead reads into a caller-supplied buffer; JavaScript is
// single-threaded and every read is handled before the next, so one buffer serves all sockets.
//
// What is read is copied out at once into a buffer of its own (for small reads, a slice of
// Node's 8 KB allocation pool: no malloc) and emitted as a 'data' event, exactly as the default
// path would: listeners may keep a chunk, or views of it, as long as they like. So nothing that
// listens to 'data' (the sessions, pg's parser) needs to know.
import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net'

// `onread` is documented for net.connect(), which passes it to the Socket constructor; the
// constructor is where Node reads it, and @types/node does not list it there.
const withOnRead = (onread: OnReadOpts): SocketConstructorOpts => ({ onread }) as SocketConstructorOpts

const SHARED_SIZE = 64 * 1024
let shared: Buffer | undefined
const sharedBuffer = (): Buffer => (shared ??= Buffer.allocUnsafeSlow(SHARED_SIZE))

/** Re-emits a read of `n` bytes in the shared buffer as an owned chunk (true: keep reading). */
function reemit(socket: Socket, n: number, from: Buffer): boolean {
  const chunk = Buffer.allocUnsafe(n)
  from.copy(chunk, 0, 0, n)
  socket.emit('data', chunk)
  return true
}

/**
 * A new, unconnected socket that reads into the shared buffer (`onread` is public API for a
 * socket Node creates for us). For drivers that take a socket factory, e.g. pg's `stream` option.
 */
export function sharedReadSocket(): Socket {
  const socket: Socket = new Socket(withOnRead({ buffer: sharedBuffer(), callback: (n, buf) => reemit(socket, n, buf as Buffer) }))
  return socket
}

// A socket a server accepted was made by Node, without `onread`. Giving it the shared buffer means
// setting what the `onread` option would have set: two symbol-keyed fields on the socket (found on
// a probe socket by their descriptions) and the handle's useUserBuffer. Those are Node internals,
// so the probe checks that they are there and behave as expected; if not, sockets simply keep
// Node's default reads. test/util/shared-reads.test.ts fails if this Node no longer has them.
interface Internals {
  buffer: symbol
  callback: symbol
}

const internals: Internals | undefined = (() => {
  try {
    const callback = () => true
    const buffer = Buffer.alloc(1)
    const probe = new Socket(withOnRead({ buffer, callback })) as unknown as Record<symbol, unknown>
    const own = Object.getOwnPropertySymbols(probe)
    const kBuffer = own.find((s) => s.description === 'kBuffer')
    const kBufferCb = own.find((s) => s.description === 'kBufferCb')
    ;(probe as unknown as Socket).destroy()
    if (kBuffer === undefined || kBufferCb === undefined || probe[kBuffer] !== buffer || probe[kBufferCb] !== callback) return undefined
    return { buffer: kBuffer, callback: kBufferCb }
  } catch {
    return undefined
  }
})()

interface HandleWithUserBuffer {
  reading?: boolean
  useUserBuffer?: (buf: Buffer) => void
}

/** True when accepted sockets can be given the shared buffer on this Node (see adoptSharedReads). */
export const canAdoptSharedReads = internals !== undefined

/**
 * Makes an accepted socket read into the shared buffer. The socket must not be reading yet: the
 * server was created with `pauseOnConnect: true`, and the caller resumes the socket after adding
 * its 'data' listener. Returns false (and changes nothing) where this Node does not allow it; the
 * socket then reads as usual once resumed.
 */
export function adoptSharedReads(socket: Socket): boolean {
  if (internals === undefined) return false
  const handle = (socket as unknown as { _handle?: HandleWithUserBuffer | null })._handle
  if (handle == null || typeof handle.useUserBuffer !== 'function' || handle.reading === true) return false
  const fields = socket as unknown as Record<symbol, unknown>
  if (fields[internals.buffer] !== null) return false
  fields[internals.buffer] = sharedBuffer()
  fields[internals.callback] = (n: number, buf: Buffer) => reemit(socket, n, buf)
  handle.useUserBuffer(sharedBuffer())
  return true
}
