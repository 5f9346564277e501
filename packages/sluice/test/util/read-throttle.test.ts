import { PassThrough, Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { ReadThrottle } from '../../src/util/read-throttle.js'

/** A sink that takes writes only when told to. */
function slowSink() {
  const held: (() => void)[] = []
  const sink = new Writable({
    highWaterMark: 4,
    write(_chunk, _enc, cb) {
      held.push(cb)
    },
  })
  return { sink, release: () => held.splice(0).forEach((cb) => cb()) }
}

describe('ReadThrottle', () => {
  it('stops reading the source while the sink is full, and reads again when it drains', async () => {
    const source = new PassThrough()
    source.on('data', () => {})
    const { sink, release } = slowSink()
    const throttle = new ReadThrottle(source)
    throttle.feeds(sink)
    throttle.check()
    expect(source.isPaused()).toBe(false)
    sink.write(Buffer.alloc(8))
    throttle.check()
    expect(source.isPaused()).toBe(true)
    release()
    await new Promise((r) => setImmediate(r))
    expect(source.isPaused()).toBe(false)
  })

  it('reads again when the sink closes or the source is fed elsewhere', () => {
    for (const end of ['close', 'refeed'] as const) {
      const source = new PassThrough()
      source.on('data', () => {})
      const { sink } = slowSink()
      const throttle = new ReadThrottle(source)
      throttle.feeds(sink)
      sink.write(Buffer.alloc(8))
      throttle.check()
      expect(source.isPaused()).toBe(true)
      if (end === 'close') sink.emit('close')
      else throttle.feeds(undefined)
      expect(source.isPaused()).toBe(false)
      // Nothing left listening on the old sink.
      expect(sink.listenerCount('drain')).toBe(0)
    }
  })
})
