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
