// The admin listener: Prometheus metrics (and, later, the dashboard). Loopback by default.
import { createServer } from 'node:http'
import type { Logger } from 'pino'
import type { Metrics } from '../observability/metrics.js'
import { listen } from '../util/listen.js'

export interface Admin {
  port: number
  close(): Promise<void>
}

export async function startAdmin(options: { port: number; host: string }, metrics: Metrics, logger: Logger): Promise<Admin> {
  const server = createServer((req, res) => {
    if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
      metrics.render().then(
        ({ contentType, body }) => {
          res.writeHead(200, { 'content-type': contentType })
          res.end(body)
        },
        (err: unknown) => {
          logger.error({ err }, 'metrics rendering failed')
          res.writeHead(500).end()
        },
      )
      return
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
  })
  const port = await listen(server, options.port, options.host)
  return {
    port,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    }),
  }
}
