// Starts one of the small helper servers (floor-server.mjs, stub-accelerate.mjs) as a child
// process and waits for its "PORT <n>" line.
import { spawn } from 'node:child_process'

export async function startChildServer(script, args = []) {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  const port = await new Promise((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (d) => {
      out += d
      const m = /PORT (\d+)/.exec(out)
      if (m) resolve(Number(m[1]))
    })
    child.once('exit', (code) => reject(new Error(`${script} exited (${code})`)))
  })
  let stopping
  return {
    pid: child.pid,
    port,
    url: `http://127.0.0.1:${port}`,
    stop() {
      stopping ??= new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve()
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      })
      return stopping
    },
  }
}
