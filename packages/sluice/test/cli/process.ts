// Spawning the real `sluice` binary (and client scripts) for CLI tests.
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const SLUICE_BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url))
export const CLIENT_SCRIPT = fileURLToPath(new URL('./fixtures/client-script.ts', import.meta.url))

export interface Spawned {
  child: ChildProcess
  stdout(): string
  stderr(): string
  /** Resolves with the first stdout match of `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>
  exited: Promise<number | null>
}

export function spawnNode(args: string[], env: NodeJS.ProcessEnv = {}): Spawned {
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (err += d))
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = out.match(pattern)
          if (m) {
            clearInterval(iv)
            clearTimeout(to)
            resolve(m)
          }
        }
        const iv = setInterval(check, 20)
        const to = setTimeout(() => {
          clearInterval(iv)
          reject(new Error(`timed out waiting for ${pattern}\nstdout: ${out}\nstderr: ${err}`))
        }, timeoutMs)
        child.on('exit', () => setTimeout(() => {
          check()
          clearInterval(iv)
          clearTimeout(to)
          reject(new Error(`process exited before ${pattern}\nstdout: ${out}\nstderr: ${err}`))
        }, 50))
        check()
      })
    },
  }
}

/** Runs the client script against an accelerateUrl and returns its JSON line. */
export async function runClientScript(url: string, env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; result: any }> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const p = spawnNode(['--import', 'tsx', CLIENT_SCRIPT], { SLUICE_URL: url, ...env })
  const code = await p.exited
  const line = p.stdout().trim().split('\n').pop() ?? ''
  let result: unknown
  try {
    result = JSON.parse(line)
  } catch {
    result = { unparsed: p.stdout(), stderr: p.stderr() }
  }
  return { code, result }
}
