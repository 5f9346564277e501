// `sluice dev`: Sluice in front of an embedded PostgreSQL (PGlite, WebAssembly), for a fresh
// machine with no database server. PGlite is single-user, so the origin pool has one connection.
import { mkdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { PGLiteSocketServer } from '@electric-sql/pglite-socket'
import { generateApiKey, hashApiKey } from '../config/api-keys.js'
import { loadConfig } from '../config/load.js'
import { startSluice, type RunningSluice } from './sluice.js'
import { freePort } from '../util/free-port.js'

export interface DevOptions {
  httpPort?: string
  pgPort?: string
  dataDir?: string
  apiKey?: string
  logLevel?: string
}

export interface RunningDev {
  sluice: RunningSluice
  /** Direct TCP URL of the embedded database (one connection at a time). */
  databaseUrl: string
  /** What to give Prisma Client as `accelerateUrl`. */
  accelerateUrl: string
  apiKey: string
  dataDir?: string
  close(): Promise<void>
}

export async function runDev(options: DevOptions): Promise<RunningDev> {
  const dataDir = options.dataDir ? resolve(options.dataDir) : undefined
  if (dataDir) mkdirSync(dataDir, { recursive: true })
  const db = await PGlite.create(dataDir ? { dataDir } : {})
  const pgPort = options.pgPort && options.pgPort !== '0' ? Number(options.pgPort) : await freePort()
  const socket = new PGLiteSocketServer({ db, port: pgPort, host: '127.0.0.1', maxConnections: 1 })
  await socket.start()
  const databaseUrl = `postgresql://postgres@127.0.0.1:${pgPort}/postgres?sslmode=disable`

  const apiKey = options.apiKey ?? generateApiKey()
  const config = loadConfig({
    origin: `${databaseUrl}&connection_limit=1&pool_timeout=30`,
    httpPort: options.httpPort ?? '4466',
    host: '127.0.0.1',
    logLevel: options.logLevel ?? 'warn',
    // PGlite already has a direct TCP socket; the wire door is for real servers.
    pgPort: 'off',
    adminPort: 'off',
  }, {})
  config.tenants[0]!.apiKeyHashes.push(hashApiKey(apiKey))
  let sluice: RunningSluice
  try {
    sluice = await startSluice(config)
  } catch (e) {
    await socket.stop()
    await db.close()
    throw e
  }
  return {
    sluice,
    databaseUrl,
    apiKey,
    accelerateUrl: `prisma+postgres://localhost:${sluice.httpPort}/?api_key=${apiKey}`,
    ...(dataDir ? { dataDir } : {}),
    async close() {
      await sluice.close()
      await socket.stop()
      await db.close()
    },
  }
}
