// Runs Sluice as its own process (`node packages/sluice/dist/cli/main.js start …`), so that its CPU
// can be read from /proc/<pid>/stat and, optionally, profiled with `node --cpu-prof`.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Starts Sluice on a free port (the CLI prints the chosen port in its banner) and resolves once it
 * answers /health. `cpuProfDir` adds `--cpu-prof` (the profile is written when the process exits).
 */
export async function startSluiceProcess({ repoRoot, origin, apiKey = 'bench', cpuProfDir, cpuProfInterval = 250, nodeArgs = [], extraArgs = [] }) {
  const main = join(repoRoot, 'packages/sluice/dist/cli/main.js')
  if (!existsSync(main)) throw new Error(`${main} does not exist: run \`npm run build -w sluice\` first`)
  const args = [...nodeArgs]
  if (cpuProfDir) {
    mkdirSync(cpuProfDir, { recursive: true })
    args.push('--cpu-prof', '--cpu-prof-dir', cpuProfDir, '--cpu-prof-interval', String(cpuProfInterval))
  }
  args.push(main, 'start', '--origin', origin, '--http-port', '0', '--pg-port', '0', '--admin-port', '0', '--host', '127.0.0.1', '--api-key', apiKey, '--log-level', 'silent', ...extraArgs)
  // --pg-port 0 / --admin-port 0: the wire door and the admin (metrics) listener on free ports, since
  // their default ports may be taken by a test running on the same machine.
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_ENV: 'production' } })
  let stdout = ''
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      // do not leave it running: nobody holds its pid yet
      child.kill('SIGKILL')
      reject(new Error(`Sluice did not print its banner within 15 s.\nstdout: ${stdout}\nstderr: ${stderr}`))
    }, 15_000)
    child.stdout.on('data', (d) => {
      stdout += d
      const m = /HTTP door(?: \([^)]*\))? on https?:\/\/[^:\s]+:(\d+)/.exec(stdout)
      if (m && /accelerateUrl=/.test(stdout)) {
        clearTimeout(timer)
        resolve(Number(m[1]))
      }
    })
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`Sluice exited early (code ${code}, signal ${signal}).\nstdout: ${stdout}\nstderr: ${stderr}`))
    })
  })
  const httpUrl = `http://127.0.0.1:${port}`
  const health = await fetch(`${httpUrl}/health`)
  if (!health.ok) throw new Error(`Sluice /health answered ${health.status}`)
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  let stopping
  return {
    pid: child.pid,
    port,
    httpUrl,
    banner: stdout.trim(),
    accelerateUrl: `prisma+postgres://localhost:${port}/?api_key=${encodeURIComponent(apiKey)}`,
    get stderr() {
      return stderr
    },
    /** SIGTERM (graceful: the CLI drains and exits, which also writes the CPU profile). Idempotent. */
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
        const timeout = setTimeout(() => child.kill('SIGKILL'), 15_000)
        const result = await exited
        clearTimeout(timeout)
        const profiles = cpuProfDir ? readdirSync(cpuProfDir).filter((f) => f.endsWith('.cpuprofile') && f.includes(`.${child.pid}.`)) : []
        return { ...result, profiles: profiles.map((f) => join(cpuProfDir, f)) }
      })()
      return stopping
    },
  }
}
