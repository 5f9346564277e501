#!/usr/bin/env node
// One measurement of Sluice's cache-hit path, for the regression guard (bench/guard/guard.mjs runs
// this script; see bench/README.md, "Hit-path guard"). Nothing here reads a clock to decide
// anything: it counts.
//
//   node [--expose-gc] bench/guard/measure.mjs --origin <postgres url> --mode <mode> [--hits 2000] [--warmup 500]
//
// It starts Sluice in this process (packages/sluice/dist, `startSluice(loadConfig(...))`), sends the
// fixed request of bench/guard/query.json once (a miss: the database answers and the cache
// fills), then `--warmup` unmeasured hits (the JIT settles), then `--hits` measured hits, one at a
// time on one keep-alive connection, from a minimal client written on `node:net` (so the client's
// own work is small and the same every time). Every answer must be `200` with
// `accelerate-cache-status: ttl`, or the run fails.
//
// Modes (what the measured phase reports, as one `GUARD_JSON {...}` line on stdout):
//   instructions  nothing in-process: run under `valgrind --tool=callgrind`
//                 `--zero-before=uv_os_getppid --dump-before=uv_resident_set_memory`; the script
//                 reads `process.ppid` just before the measured hits and `process.memoryUsage.rss()`
//                 just after, so the dump holds exactly the instructions of the measured phase
//                 (server and client, every thread).
//   calls         calls per hit of the functions a hit should not need many of (JSON.parse /
//                 stringify, createHash, Buffer.from / concat / toString, Date.now, …) and async
//                 resources created per hit (promises, …), by wrapping those functions and an
//                 async_hooks init hook. Exact.
//   heap          bytes allocated on the V8 heap per hit (v8.GCProfiler: used heap after the phase
//                 − before + what every GC in between freed).
// In every mode the process runs on a deterministic clock (below) and the hits are preceded by a
// long warm-up, so that V8 has optimized the hit path before anything is counted.
import { createRequire, syncBuiltinESMExports } from 'node:module'
import { existsSync, readFileSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import http from 'node:http'
import net from 'node:net'
import v8 from 'node:v8'

const here = dirname(fileURLToPath(import.meta.url))
const repoRoot = join(here, '..', '..')
const require = createRequire(import.meta.url)

const { values } = parseArgs({
  options: {
    origin: { type: 'string' },
    mode: { type: 'string', default: 'instructions' },
    hits: { type: 'string', default: '1000' },
    warmup: { type: 'string', default: '3000' },
    settle: { type: 'string', default: '300' },
    query: { type: 'string', default: join(here, 'query.json') },
    // print GUARD_READY and wait until this file exists before the measured phase (the parent
    // switches callgrind's instrumentation on meanwhile: everything before runs uninstrumented)
    'wait-for': { type: 'string' },
  },
})
if (!values.origin) throw new Error('--origin <postgres url> is required')
const mode = values.mode
if (!['instructions', 'calls', 'heap'].includes(mode)) throw new Error(`unknown --mode ${mode}`)
const HITS = Number(values.hits)
const WARMUP = Number(values.warmup)
const SETTLE = Number(values.settle)

// Keep the client's own helpers out of the counted wrappers below.
const bufToString = Buffer.prototype.toString
const bufIndexOf = Buffer.prototype.indexOf
const bufConcat = Buffer.concat
const bufFrom = Buffer.from
const reExec = RegExp.prototype.exec

// ---- a deterministic clock: Date.now() and performance.now() advance by 10 µs per call from the
// real start time. Whatever Sluice derives from them (cache ages, latency histograms of its
// metrics) is then the same in every run; with the real clock, values that depend on how fast
// the machine (or valgrind) ran would change which branches run and when V8 optimizes what.
// Node's timers use libuv's clock and are unaffected.
{
  const realPerfNow = performance.now.bind(performance)
  let perfT = realPerfNow()
  const dateBase = Date.now()
  let dateCalls = 0
  performance.now = () => (perfT += 0.01)
  Date.now = () => dateBase + Math.floor(dateCalls++ / 100)
}

// ---- calls mode: wrap before Sluice is imported (ESM named imports of builtins are synced) ----
const counters = new Map()
let counting = false
function wrap(owner, prop, label) {
  const original = owner[prop]
  if (typeof original !== 'function') return
  const wrapped = function (...args) {
    if (counting) counters.set(label, (counters.get(label) ?? 0) + 1)
    return new.target ? Reflect.construct(original, args, new.target) : Reflect.apply(original, this, args)
  }
  Object.defineProperty(wrapped, 'name', { value: original.name })
  wrapped.prototype = original.prototype
  owner[prop] = wrapped
}
if (mode === 'calls') {
  const crypto = require('node:crypto')
  wrap(JSON, 'parse', 'JSON.parse')
  wrap(JSON, 'stringify', 'JSON.stringify')
  wrap(crypto, 'createHash', 'crypto.createHash')
  wrap(crypto, 'createHmac', 'crypto.createHmac')
  wrap(crypto, 'timingSafeEqual', 'crypto.timingSafeEqual')
  wrap(crypto, 'randomBytes', 'crypto.randomBytes')
  wrap(crypto, 'randomUUID', 'crypto.randomUUID')
  wrap(Buffer, 'from', 'Buffer.from')
  wrap(Buffer, 'concat', 'Buffer.concat')
  wrap(Buffer, 'alloc', 'Buffer.alloc')
  wrap(Buffer, 'allocUnsafe', 'Buffer.allocUnsafe')
  wrap(Buffer, 'byteLength', 'Buffer.byteLength')
  wrap(Buffer.prototype, 'toString', 'Buffer#toString')
  wrap(Date, 'now', 'Date.now')
  wrap(Date.prototype, 'toUTCString', 'Date#toUTCString')
  wrap(String.prototype, 'split', 'String#split')
  wrap(RegExp.prototype, 'exec', 'RegExp#exec')
  syncBuiltinESMExports()
  const { createHook } = require('node:async_hooks')
  createHook({
    init(_id, type) {
      if (counting) counters.set(`async resource ${type}`, (counters.get(`async resource ${type}`) ?? 0) + 1)
    },
  }).enable()
}

// SLUICE_GUARD_DIST: measure another build of Sluice (a copy of packages/sluice/dist), for experiments
const dist = process.env.SLUICE_GUARD_DIST ?? join(repoRoot, 'packages/sluice/dist')
const { startSluice, loadConfig } = await import(pathToFileURL(join(dist, 'index.js')).href)

const query = JSON.parse(readFileSync(values.query, 'utf8'))
const API_KEY = 'guard'
// pgPort/adminPort 'off': no wire door, no admin listener (versions without them ignore the options); env {}: no SLUICE_* from outside
const config = loadConfig({ origin: values.origin, httpPort: '0', host: '127.0.0.1', apiKeys: [API_KEY], logLevel: 'silent', region: 'GUARD', pgPort: 'off', adminPort: 'off' }, {})
const sluice = await startSluice(config)

const body = bufFrom(query.body, 'utf8')
const headers = { ...query.headers, Authorization: `Bearer ${API_KEY}`, 'cache-control': 'max-age=3600' }
delete headers.authorization
const head =
  `POST ${query.path} HTTP/1.1\r\nHost: 127.0.0.1:${sluice.httpPort}\r\nConnection: keep-alive\r\n` +
  Object.entries(headers)
    .map(([n, v]) => `${n}: ${v}\r\n`)
    .join('') +
  `Content-Length: ${body.length}\r\n\r\n`
const request = bufConcat([bufFrom(head, 'latin1'), body])

// A minimal HTTP/1.1 client: one request at a time, answers framed by content-length.
let pending = []
let pendingBytes = 0
let onAnswer
// A client connection that comes back: under valgrind a pause (the warm-up of the other server,
// waiting for callgrind_control) can outlast a server's keep-alive timeout, and a request written
// to a connection the server has closed would wait forever.
async function connect(port) {
  const client = { port, socket: undefined, open: false, busy: false }
  await reconnect(client)
  return client
}
async function reconnect(client) {
  const s = net.connect(client.port, '127.0.0.1')
  s.setNoDelay(true)
  await new Promise((resolve, reject) => s.once('connect', resolve).once('error', reject))
  client.socket = s
  client.open = true
  s.on('data', onData)
  s.on('end', () => (client.open = false))
  s.on('close', () => {
    client.open = false
    if (client.busy && client.socket === s) {
      console.error('the server closed the connection while a request was waiting for its answer')
      process.exit(1)
    }
  })
  s.on('error', (err) => {
    console.error(err)
    process.exit(1)
  })
}
const socket = await connect(sluice.httpPort)
function onData(chunk) {
  pending.push(chunk)
  pendingBytes += chunk.length
  const buf = pending.length === 1 ? pending[0] : bufConcat(pending, pendingBytes)
  const end = bufIndexOf.call(buf, '\r\n\r\n')
  if (end === -1) return
  const headText = bufToString.call(buf, 'latin1', 0, end)
  const m = reExec.call(/\r\ncontent-length: (\d+)/i, headText)
  const total = m ? end + 4 + Number(m[1]) : chunkedEnd(buf, end + 4)
  if (total === -1 || buf.length < total) {
    pending = [buf]
    return
  }
  if (buf.length > total) throw new Error('more bytes than one answer')
  pending = []
  pendingBytes = 0
  const cb = onAnswer
  onAnswer = undefined
  cb(headText, buf.length, buf)
}
/** End offset of a chunked body starting at `pos`, or -1 while incomplete. */
function chunkedEnd(buf, pos) {
  for (;;) {
    const eol = bufIndexOf.call(buf, '\r\n', pos)
    if (eol === -1) return -1
    const size = parseInt(bufToString.call(buf, 'latin1', pos, eol), 16)
    if (Number.isNaN(size)) throw new Error('bad chunk size')
    if (size === 0) return eol + 4 <= buf.length ? eol + 4 : -1
    pos = eol + 2 + size + 2
    if (pos > buf.length) return -1
  }
}
function once() {
  return new Promise((resolve) => {
    onAnswer = (h, size, buf) => resolve({ head: h, size, buf })
    socket.socket.write(request)
  })
}

/** `n` requests back to back; every answer must be a fresh cache hit. Resolves to bytes received. */
async function hits(n, client = sluiceSocket, request = sluiceRequest) {
  if (!client.open) await reconnect(client)
  const socket = client.socket
  client.busy = true
  return new Promise((resolve, reject) => {
    let left = n
    let bytes = 0
    const next = () => {
      onAnswer = (h, size) => {
        bytes += size
        if (!h.startsWith('HTTP/1.1 200') || !h.includes('\r\naccelerate-cache-status: ttl')) return reject(new Error(`not a cache hit:\n${h}`))
        if (--left === 0) {
          client.busy = false
          return resolve(bytes)
        }
        next()
      }
      socket.write(request)
    }
    next()
  })
}

const sluiceSocket = socket
const sluiceRequest = request
const first = await once()
if (!first.head.startsWith('HTTP/1.1 200') || !first.head.includes('\r\naccelerate-cache-status: miss')) {
  throw new Error(`the first request should be a cache miss answered 200, got:\n${first.head}`)
}

// The floor: a bare node:http server in this process that reads the same request and answers the
// same bytes with the same headers, driven by the same client. Its instructions per request are
// measured in the same run, so the guard can judge Sluice's hit relative to what node:http and the
// machine cost (instruction counts of the same binary differ between CPU models: glibc and V8
// pick code paths by CPU features).
const floorHeaders = {}
for (const line of first.head.split('\r\n').slice(1)) {
  const i = line.indexOf(': ')
  const name = line.slice(0, i).toLowerCase()
  if (['content-type', 'cf-ray', 'last-modified', 'accelerate-signature'].includes(name)) floorHeaders[name] = line.slice(i + 2)
}
floorHeaders['accelerate-cache-status'] = 'ttl'
const floorPayload = first.buf.subarray(first.buf.indexOf('\r\n\r\n') + 4)
const floorServer = http.createServer((req, res) => {
  const chunks = []
  req.on('data', (c) => chunks.push(c))
  req.on('end', () => {
    res.writeHead(200, floorHeaders)
    res.end(floorPayload)
  })
})
floorServer.keepAliveTimeout = 0 // no idle timeout (see connect())
await new Promise((resolve) => floorServer.listen(0, '127.0.0.1', resolve))
const floorSocket = await connect(floorServer.address().port)
// The floor's code is node:http's alone and steadies sooner than Sluice's; fewer requests keep the
// run short under callgrind (per-request counts are what is compared).
const FLOOR_HITS = Math.max(1, Math.round(HITS / 2))
const FLOOR_WARMUP = Math.max(1, Math.round(WARMUP / 3))

await hits(FLOOR_WARMUP, floorSocket)
await hits(WARMUP)
// No full GC here: a mark-compact makes V8 throw away and redo ~50 optimized functions of the
// hit path, which then recompile inside the measured phase (TurboFan work that dwarfs the hits).
let waitLoops = 0
if (values['wait-for']) {
  // fs.writeSync, not process.stdout: a write through a stdout stream would run Node's stream code
  // with another kind of object and deoptimize the functions the hit path shares with it
  writeSync(1, `GUARD_READY ${process.pid}\n`)
  // A synchronous wait that allocates (almost) nothing: how long it lasts must not change the heap
  // the measured phase starts from (an asynchronous poll made instruction counts drift by ~2 %).
  const sleeper = new Int32Array(new SharedArrayBuffer(4))
  while (!existsSync(values['wait-for'])) {
    Atomics.wait(sleeper, 0, 0, 10)
    waitLoops++
  }
  // Settle again before measuring: valgrind re-translates the hot path with instrumentation, and
  // V8 re-optimizes the few functions that the pause deoptimized.
  await hits(SETTLE, floorSocket)
  await hits(SETTLE)
  // empty the young generation: the measured phase starts from the same GC state every time (a full
  // GC would take seconds under callgrind)
  globalThis.gc?.({ type: 'minor' })
}

void process.ppid // callgrind --zero-before=uv_os_getppid
await hits(FLOOR_HITS, floorSocket)
process.memoryUsage.rss() // callgrind --dump-before=uv_resident_set_memory: part 1, the floor
let gcProfiler
let heapBefore
if (mode === 'heap') {
  gcProfiler = new v8.GCProfiler()
  heapBefore = v8.getHeapStatistics().used_heap_size
  gcProfiler.start()
}
if (mode === 'calls') counting = true
void process.ppid
const bytes = await hits(HITS)
process.memoryUsage.rss() // part 2: Sluice's hits
counting = false
const out = { mode, hits: HITS, floorHits: FLOOR_HITS, warmup: WARMUP, settle: SETTLE, waitLoops, responseBytes: bytes / HITS, requestBytes: request.length, node: process.version }
if (mode === 'heap') {
  const heapAfter = v8.getHeapStatistics().used_heap_size
  const profile = gcProfiler.stop()
  let freed = 0
  for (const s of profile.statistics) freed += s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize
  out.gcs = profile.statistics.length
  out.heapBytesPerHit = (heapAfter - heapBefore + freed) / HITS
}
if (mode === 'calls') {
  out.callsPerHit = Object.fromEntries(
    [...counters.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, v / HITS]),
  )
}
socket.socket.destroy()
floorSocket.socket.destroy()
floorServer.close()
await sluice.close(1000)
process.stdout.write(`GUARD_JSON ${JSON.stringify(out)}\n`)
