import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net'
import { once } from 'node:events'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TLSSocket, connect as tlsConnect, createSecureContext } from 'node:tls'
import { afterEach, describe, expect, it } from 'vitest'
import { adoptSharedReads, canAdoptSharedReads, sharedReadSocket } from '../../src/util/shared-reads.js'

const servers: Server[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r))
})

/** A server whose accepted sockets are adopted; it keeps every chunk it is given, as is. */
async function keepingServer(): Promise<{ port: number; received: Promise<{ chunks: Buffer[]; adopted: boolean }>[] }> {
  const received: Promise<{ chunks: Buffer[]; adopted: boolean }>[] = []
  const server = createServer({ pauseOnConnect: true }, (socket) => {
    const adopted = adoptSharedReads(socket)
    const chunks: Buffer[] = []
    socket.on('data', (c: Buffer) => chunks.push(c))
    received.push(once(socket, 'end').then(() => ({ chunks, adopted })))
    socket.resume()
  })
  servers.push(server)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return { port: (server.address() as AddressInfo).port, received }
}

/** `n` bytes of a pattern particular to `seed`. */
function pattern(seed: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n)
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 17) & 0xff
  return b
}

async function sendInPieces(port: number, data: Buffer, piece: number): Promise<void> {
  const socket = connect(port, '127.0.0.1')
  socket.setNoDelay(true)
  await once(socket, 'connect')
  for (let at = 0; at < data.length; at += piece) {
    socket.write(data.subarray(at, at + piece))
    // Separate reads on the server: let each piece go before the next.
    await new Promise((r) => setImmediate(r))
  }
  socket.end()
  await once(socket, 'close')
}

describe('shared reads', () => {
  it('are available on this Node (the internals they rely on are still there)', () => {
    expect(canAdoptSharedReads).toBe(true)
  })

  it('give each accepted socket its own copy of every read, however long it is kept', async () => {
    const { port, received } = await keepingServer()
    const a = pattern(1, 200_000)
    const b = pattern(2, 3_000)
    const big = pattern(3, 2 * 1024 * 1024)
    // Interleaved: reads of one socket land in the buffer the others read into too.
    await Promise.all([sendInPieces(port, a, 1000), sendInPieces(port, b, 7), sendInPieces(port, big, 256 * 1024)])
    const results = await Promise.all(received)
    const sent = [a, b, big]
    for (const { chunks, adopted } of results) {
      expect(adopted).toBe(true)
      const got = Buffer.concat(chunks)
      const match = sent.find((s) => s.length === got.length)
      expect(match, `received ${got.length} bytes`).toBeDefined()
      expect(got.equals(match!)).toBe(true)
    }
    // Many reads each: the shared buffer was reused while earlier chunks were still held.
    expect(Math.min(...results.map((r) => r.chunks.length))).toBeGreaterThan(10)
  })

  it('leave a socket that is already reading as it is', async () => {
    let adopted: boolean | undefined
    const got: Buffer[] = []
    const server = createServer((socket) => {
      adopted = adoptSharedReads(socket)
      socket.on('data', (c: Buffer) => got.push(c))
    })
    servers.push(server)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const data = pattern(4, 50_000)
    await sendInPieces((server.address() as AddressInfo).port, data, 5000)
    await new Promise((r) => setTimeout(r, 20))
    expect(adopted).toBe(false)
    expect(Buffer.concat(got).equals(data)).toBe(true)
  })

  it('serve a client socket made for a driver (pg `stream`): data, end and close as usual', async () => {
    const payloads = [pattern(5, 300_000), pattern(6, 10)]
    const server = createServer((socket) => {
      const data = payloads.shift()!
      socket.end(data)
    })
    servers.push(server)
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    const port = (server.address() as AddressInfo).port
    const read = async (): Promise<Buffer> => {
      const s: Socket = sharedReadSocket()
      const chunks: Buffer[] = []
      s.on('data', (c: Buffer) => chunks.push(c))
      s.connect(port, '127.0.0.1')
      await once(s, 'end')
      await once(s, 'close')
      return Buffer.concat(chunks)
    }
    const [first, second] = await Promise.all([read(), read()])
    const lengths = [first!.length, second!.length].sort((x, y) => x - y)
    expect(lengths).toEqual([10, 300_000])
    const big = first!.length === 300_000 ? first! : second!
    expect(big.equals(pattern(5, 300_000))).toBe(true)
  })

  it('carry TLS started after plain bytes, as pg does for an origin with sslmode (and as the doors do for clients)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sluice-shared-reads-'))
    try {
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' })
      const secureContext = createSecureContext({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) })
      const payload = pattern(7, 500_000)
      const echoed: Buffer[] = []
      // Server side: an adopted socket answers one plain byte, then speaks TLS (the door's SSLRequest).
      const server = createServer({ pauseOnConnect: true }, (raw) => {
        expect(adoptSharedReads(raw)).toBe(true)
        raw.once('data', () => {
          raw.write('S')
          const secure = new TLSSocket(raw, { isServer: true, secureContext })
          secure.on('data', (c: Buffer) => echoed.push(c))
          secure.on('end', () => secure.end(Buffer.concat(echoed)))
        })
        raw.resume()
      })
      servers.push(server)
      server.listen(0, '127.0.0.1')
      await once(server, 'listening')
      // Client side: a socket made for a driver asks in plain bytes, then wraps itself in TLS.
      const raw = sharedReadSocket()
      raw.connect((server.address() as AddressInfo).port, '127.0.0.1')
      await once(raw, 'connect')
      raw.write('?')
      const [answer] = (await once(raw, 'data')) as [Buffer]
      expect(answer.toString()).toBe('S')
      const secure = tlsConnect({ socket: raw, rejectUnauthorized: false })
      await once(secure, 'secureConnect')
      const back: Buffer[] = []
      secure.on('data', (c: Buffer) => back.push(c))
      secure.end(payload)
      await once(secure, 'end')
      expect(Buffer.concat(back).equals(payload)).toBe(true)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
