// A Postgres-protocol server that answers every query with canned bytes: the floor of any Node
// door's cache hit for pgbench (no cache, no parsing beyond framing). Not part of the bench matrix;
// run it by hand beside Sluice:  node bench/lib/pg-floor-server.mjs 7100
//   pgbench -h 127.0.0.1 -p 7100 -U postgres -n -c 8 -j 2 -T 4 -f hot.sql sluice_pgbench
// (pgbench's built-in -S needs a scale query answered: use a -f script like the bench's hot.sql.)
import net from 'node:net'
const port = Number(process.argv[2] ?? 7100)
function msg(type, body) { const b = Buffer.alloc(5 + body.length); b[0] = type.charCodeAt(0); b.writeInt32BE(4 + body.length, 1); body.copy(b, 5); return b }
const cstr = (s) => Buffer.concat([Buffer.from(s), Buffer.from([0])])
const i32 = (n) => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b }
const i16 = (n) => { const b = Buffer.alloc(2); b.writeInt16BE(n); return b }
const ps = (k, v) => msg('S', Buffer.concat([cstr(k), cstr(v)]))
const hello = Buffer.concat([msg('R', i32(0)), ps('server_version', '15.0'), ps('client_encoding', 'UTF8'), ps('standard_conforming_strings','on'), ps('DateStyle','ISO, MDY'), ps('integer_datetimes','on'), msg('K', Buffer.concat([i32(1), i32(2)])), msg('Z', Buffer.from('I'))])
const rowdesc = msg('T', Buffer.concat([i16(1), cstr('abalance'), i32(0), i16(0), i32(23), i16(4), i32(-1), i16(0)]))
const row = msg('D', Buffer.concat([i16(1), i32(1), Buffer.from('0')]))
const cc = msg('C', cstr('SELECT 1'))
const rfq = msg('Z', Buffer.from('I'))
const simpleAnswer = Buffer.concat([rowdesc, row, cc, rfq])
const ext = Buffer.concat([msg('1', Buffer.alloc(0)), msg('2', Buffer.alloc(0)), rowdesc, row, cc, rfq])
const prepAnswer = Buffer.concat([msg('2', Buffer.alloc(0)), row, cc, rfq])
net.createServer((s) => {
  s.setNoDelay(true)
  let buf = Buffer.alloc(0), started = false, sawParse = false, sawDescribe = false
  s.on('data', (c) => {
    buf = buf.length ? Buffer.concat([buf, c]) : c
    let pos = 0, out = []
    for (;;) {
      if (!started) {
        if (buf.length - pos < 8) break
        const len = buf.readInt32BE(pos); if (buf.length - pos < len) break
        const code = buf.readInt32BE(pos + 4); pos += len
        if (code === 80877103) { out.push(Buffer.from('N')); continue }
        started = true; out.push(hello); continue
      }
      if (buf.length - pos < 5) break
      const t = buf[pos], len = buf.readInt32BE(pos + 1); if (buf.length - pos < len + 1) break
      pos += len + 1
      if (t === 0x51) out.push(simpleAnswer)
      else if (t === 0x50) { sawParse = true; out.push(msg('1', Buffer.alloc(0))) }
      else if (t === 0x44) { sawDescribe = true }
      else if (t === 0x53) { out.push(sawDescribe ? Buffer.concat([msg('2', Buffer.alloc(0)), rowdesc, row, cc, rfq]) : prepAnswer); sawDescribe = false }
      else if (t === 0x58) { s.end(); return }
    }
    buf = pos === buf.length ? Buffer.alloc(0) : buf.subarray(pos)
    if (out.length) s.write(out.length === 1 ? out[0] : Buffer.concat(out))
  })
  s.on('error', () => {})
}).listen(port, '127.0.0.1')
