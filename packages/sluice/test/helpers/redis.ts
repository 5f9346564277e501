// A redis-server of the test's own, on a spare port, that the test can stop and restart.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { describe } from 'vitest'
import { freePort } from '../../src/util/free-port.js'

const binary = spawnSync('redis-server', ['--version']).status === 0 ? 'redis-server' : undefined
const reason = binary ? null : 'redis-server is not installed'
if (reason !== null && process.env.CI === 'true') throw new Error(`CI=true requires Redis: ${reason}`)
if (reason !== null) console.warn(`[sluice tests] SKIPPING Redis suites: ${reason}`)

/** `describe` that runs only when redis-server is available (mandatory under CI=true). */
export const describeWithRedis = reason === null ? describe : describe.skip

export interface TestRedis {
  url: string
  port: number
  stop(): Promise<void>
  start(): Promise<void>
}

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort()
  let child: ChildProcess | undefined
  const start = async () => {
    child = spawn(binary!, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] })
    await new Promise<void>((resolve, reject) => {
      let out = ''
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${out}`)), 10_000)
      child!.stdout!.on('data', (d) => {
        out += d
        if (out.includes('Ready to accept connections')) {
          clearTimeout(timer)
          resolve()
        }
      })
      child!.on('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)))
    })
  }
  const stop = async () => {
    const c = child
    if (!c || c.exitCode !== null) return
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve())
      c.kill('SIGKILL')
    })
  }
  await start()
  return { url: `redis://127.0.0.1:${port}`, port, stop, start }
}
