// The HTTP floor for http-replay: a bare node:http server (keep-alive) that reads the request body
// and answers a fixed payload with the same content-type as Sluice. Whatever Sluice does per
// request, it cannot be faster than this on the same machine.
//   node bench/lib/floor-server.mjs <payload-file>   → prints "PORT <n>"
import { createServer } from 'node:http'
import { readFileSync } from 'node:fs'

const payload = process.argv[2] ? readFileSync(process.argv[2]) : Buffer.from('{"data":null}')
const server = createServer((req, res) => {
  req.resume()
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': payload.length })
    res.end(payload)
  })
})
server.keepAliveTimeout = 65_000
server.listen(0, '127.0.0.1', () => console.log(`PORT ${server.address().port}`))
process.on("SIGTERM", () => {
  server.close(() => process.exit(0))
  server.closeAllConnections()
})
