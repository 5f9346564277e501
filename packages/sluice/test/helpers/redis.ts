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

/** A three-node Redis Cluster of the test's own (no replicas), on spare ports. */
export async function startRedisCluster(): Promise<{ url: string; stop(): Promise<void> }> {
  const { mkdtempSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const { promisify } = await import('node:util')
  const { execFile } = await import('node:child_process')
  const run = promisify(execFile)
  const dir = mkdtempSync(join(tmpdir(), 'sluice-cluster-'))
  const ports = [await freePort(), await freePort(), await freePort()]
  const children: ChildProcess[] = []
  for (const port of ports) {
    const child = spawn(binary!, ['--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${port}.conf`, '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--dir', dir], { stdio: 'ignore' })
    children.push(child)
  }
  for (const port of ports) {
    for (let i = 0; i < 100; i++) {
      if ((await run('redis-cli', ['-p', String(port), 'ping']).catch(() => ({ stdout: '' }))).stdout.trim() === 'PONG') break
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  await run('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'])
  for (let i = 0; i < 100; i++) {
    if ((await run('redis-cli', ['-p', String(ports[0]), 'cluster', 'info'])).stdout.includes('cluster_state:ok')) break
    await new Promise((r) => setTimeout(r, 50))
  }
  return {
    url: `redis://127.0.0.1:${ports[0]}?cluster=true`,
    async stop() {
      await Promise.all(children.map((c) => new Promise<void>((resolve) => {
        if (c.exitCode !== null) return resolve()
        c.once('exit', () => resolve())
        c.kill('SIGKILL')
      })))
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
