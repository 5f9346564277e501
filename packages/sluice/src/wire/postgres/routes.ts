// Which origin a wire client reaches. A client is routed by the user and database it asks for:
// they must be those of a tenant's origin URL. Its server connections use Sluice's own
// credentials for that origin; with a password in the origin URL, clients must present that same
// password (checked with SCRAM-SHA-256, so it never travels), without one the route is trust.
import { connect } from 'node:net'
import type { OriginPool } from '../../pool/origin-pool.js'
import { scramSecret, type ScramSecret } from './scram.js'
import { CANCEL_REQUEST } from './protocol.js'

export interface WireRoute {
  tenant: string
  origin: OriginPool
  user: string
  database: string
  scram: ScramSecret | undefined
  /** How clients prove the password: SCRAM-SHA-256 (default), or md5 / cleartext where configured. */
  auth: 'scram' | 'md5' | 'cleartext'
  /** The route's password (md5/cleartext need it; SCRAM uses the derived secret). */
  password: string | undefined
  /** Session pooling: a client keeps its server connection until it disconnects. */
  sessionMode: boolean
  /**
   * Sends a CancelRequest for an origin backend; settles when the origin has handled it (it closes
   * the connection after signalling the backend), or after a few seconds.
   */
  cancel(pid: number, secret: number): Promise<void>
}

/** Longest wait for the origin to handle a cancel request. */
const CANCEL_TIMEOUT_MS = 5000

export function routeFor(tenant: string, origin: OriginPool, sessionMode = false, auth: WireRoute['auth'] = 'scram'): WireRoute {
  const url = new URL(origin.settings.url)
  const user = decodeURIComponent(url.username || process.env.PGUSER || 'postgres')
  const database = decodeURIComponent(url.pathname.slice(1) || user)
  const password = url.password ? decodeURIComponent(url.password) : undefined
  const host = url.hostname || '127.0.0.1'
  const port = Number(url.port || 5432)
  return {
    tenant,
    origin,
    user,
    database,
    scram: password === undefined || auth !== 'scram' ? undefined : scramSecret(password),
    auth,
    password,
    sessionMode,
    cancel(pid, secret) {
      const packet = Buffer.alloc(16)
      packet.writeInt32BE(16, 0)
      packet.writeInt32BE(CANCEL_REQUEST, 4)
      packet.writeInt32BE(pid, 8)
      packet.writeInt32BE(secret, 12)
      return new Promise<void>((resolve) => {
        const s = connect(port, host, () => s.end(packet))
        s.setTimeout(CANCEL_TIMEOUT_MS, () => s.destroy())
        s.on('error', () => s.destroy())
        s.on('close', () => resolve())
      })
    },
  }
}
