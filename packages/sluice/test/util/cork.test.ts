import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { coalescingWriter, flushingAfter } from '../../src/util/cork.js'

function sink() {
  const writes: Buffer[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      writes.push(Buffer.from(chunk))
      cb()
    },
    writev(chunks, cb) {
      writes.push(Buffer.concat(chunks.map((c) => c.chunk as Buffer)))
      cb()
    },
  })
  return { stream, writes }
}

const tick = () => new Promise((r) => setImmediate(r))

describe('coalescingWriter', () => {
  it('sends what one tick wrote as one write, joining adjacent views without copying', async () => {
    const { stream, writes } = sink()
    const w = coalescingWriter(stream)
    const chunk = Buffer.from('abcdefgh')
    w(chunk.subarray(0, 3))
    w(chunk.subarray(3, 5))
    w(Buffer.from('XY'))
    w(chunk.subarray(5))
    expect(writes).toEqual([])
    await tick()
    expect(writes.map(String)).toEqual(['abcdeXYfgh'])
    w(Buffer.from('next'))
    await tick()
    expect(writes.map(String)).toEqual(['abcdeXYfgh', 'next'])
  })

  it('keeps large ticks in order without copying them into one buffer', async () => {
    const { stream, writes } = sink()
    const w = coalescingWriter(stream)
    const big = Buffer.alloc(20_000, 1)
    w(Buffer.from('a'))
    w(big)
    w(Buffer.from('b'))
    await tick()
    expect(Buffer.concat(writes)).toEqual(Buffer.concat([Buffer.from('a'), big, Buffer.from('b')]))
  })

  it('flush() hands the bytes over at once (before end)', async () => {
    const { stream, writes } = sink()
    const w = coalescingWriter(stream)
    w(Buffer.from('bye'))
    w.flush()
    stream.end()
    await tick()
    expect(writes.map(String)).toEqual(['bye'])
  })

  it('range() joins consecutive ranges of one source into one view, in order with plain writes', async () => {
    const { stream, writes } = sink()
    const w = coalescingWriter(stream)
    const chunk = Buffer.from('0123456789')
    w.range(chunk, 0, 3)
    w.range(chunk, 3, 6)
    w(Buffer.from('XY'))
    w.range(chunk, 6, 6)
    w.range(chunk, 8, 10)
    w(chunk.subarray(10))
    await tick()
    expect(writes.map(String)).toEqual(['012345XY89'])
    w.range(chunk, 0, 10)
    await tick()
    expect(writes.map(String)).toEqual(['012345XY89', '0123456789'])
  })
})

describe('writes made while handling data', () => {
  it('leave when the outermost handler ends, not on the next tick; later writes still wait for the tick', async () => {
    const { stream, writes } = sink()
    const other = sink()
    const w = coalescingWriter(stream)
    const v = coalescingWriter(other.stream)
    const inner = flushingAfter(() => {
      v(Buffer.from('b'))
      w(Buffer.from('c'))
    })
    const outer = flushingAfter(() => {
      w(Buffer.from('a'))
      inner(undefined)
      expect(writes).toEqual([]) // the inner handler ended; the outer one has not
    })
    outer(undefined)
    expect(writes.map(String)).toEqual(['ac'])
    expect(other.writes.map(String)).toEqual(['b'])
    w(Buffer.from('d'))
    expect(writes.map(String)).toEqual(['ac'])
    await tick()
    expect(writes.map(String)).toEqual(['ac', 'd'])
  })

  it('flushes every writer even when one fails, then reports the failure', () => {
    const { stream, writes } = sink()
    const broken = new Writable({ write: (_c, _e, cb) => cb() })
    broken.write = () => {
      throw new Error('boom')
    }
    const b = coalescingWriter(broken)
    const w = coalescingWriter(stream)
    const failing = flushingAfter(() => {
      b(Buffer.from('x'))
      w(Buffer.from('y'))
    })
    expect(() => failing(undefined)).toThrow('boom')
    expect(writes.map(String)).toEqual(['y'])
    // the next handler starts clean
    flushingAfter(() => w(Buffer.from('z')))(undefined)
    expect(writes.map(String)).toEqual(['y', 'z'])
  })
})
