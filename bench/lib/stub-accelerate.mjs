// A stub Accelerate server for the miss-path "stub" target: a bare node:http server that answers
// every request with a canned response captured from Sluice (/connection-info, and /query by
// model + operation, picked with a cheap look at the start of the body). It runs no query and does
// almost no work beyond HTTP, so a Prisma client talking to it measures the floor of the
// Accelerate path *on the client side* (fetch, JSON encode/decode, result hydration): whatever
// Sluice costs on top of that is Sluice's own.
//
// One exception: the Prisma client batches findUnique calls made in the same tick into one
// "compacted" request (params %1..%n, answer = array of rows matched back by id). For those the
// stub parses the body and answers the canned row once per requested id (with that id), so the
// client gets as many rows as it would from a real server.
//   node bench/lib/stub-accelerate.mjs <canned.json>   → prints "PORT <n>"
// canned.json: { "connectionInfo": "<body>", "queries": { "User.findUnique": "<body>", ... } }
import { createServer } from 'node:http'
import { readFileSync } from 'node:fs'

const canned = JSON.parse(readFileSync(process.argv[2], 'utf8'))
const connectionInfo = Buffer.from(canned.connectionInfo)
const queries = new Map(Object.entries(canned.queries).map(([k, v]) => [k, Buffer.from(v)]))
// model.findUnique → the canned row (for compacted batches)
const uniqueRows = new Map(
  Object.entries(canned.queries)
    .filter(([k]) => k.endsWith('.findUnique'))
    .map(([k, v]) => [k, JSON.parse(v).data]),
)

function batchAnswer(key, body) {
  const row = uniqueRows.get(key)
  if (!row || typeof row !== 'object' || !('id' in row)) return undefined
  const ids = Object.values(JSON.parse(body).params ?? {})
  if (ids.length <= 1) return undefined
  return Buffer.from(JSON.stringify({ data: ids.map((id) => ({ ...row, id })) }))
}
const HEAD = /^\{"model":"([^"]*)","operation":"([^"]*)"/

function send(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': body.length })
  res.end(body)
}

const server = createServer((req, res) => {
  if (req.url.startsWith('/connection-info')) {
    req.resume()
    return send(res, 200, connectionInfo)
  }
  let text = ''
  req.setEncoding('utf8')
  req.on('data', (chunk) => (text += chunk))
  req.on('end', () => {
    const m = HEAD.exec(text)
    const key = m && `${m[1]}.${m[2]}`
    const body = key && ((uniqueRows.has(key) && batchAnswer(key, text)) || queries.get(key))
    if (body) return send(res, 200, body)
    send(res, 404, Buffer.from(JSON.stringify({ error: `stub has no canned answer for ${m ? `${m[1]}.${m[2]}` : req.url}` })))
  })
})
server.keepAliveTimeout = 65_000
server.listen(0, '127.0.0.1', () => console.log(`PORT ${server.address().port}`))
process.on('SIGTERM', () => {
  server.close(() => process.exit(0))
  server.closeAllConnections()
})
