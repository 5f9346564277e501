import type { Server } from 'node:net'
import type { AddressInfo } from 'node:net'

/** Starts listening and resolves with the bound port (useful with port 0); rejects on EADDRINUSE & co. */
export function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })
}
