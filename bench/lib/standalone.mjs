// Small helpers shared by the scenarios that also run on their own (`node bench/scenarios/<name>.mjs`):
// spare ports, a registry of things to stop on exit or Ctrl-C, results files, helper processes
// (PgBouncer, redis-server) and a sampler of the CPU used by the Postgres backends of one database.
import { execFileSync, spawn, spawnSync } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import { join } from 'node:path'
import { processCpuSeconds } from './proc.mjs'

/** A TCP port that was free a moment ago on 127.0.0.1. */
export function sparePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port (or rejects after `ms`). */
export async function waitForPort(port, ms = 10_000) {
  const until = Date.now() + ms
  for (;;) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1')
      s.once('connect', () => {
        s.destroy()
        resolve(true)
      })
      s.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > until) throw new Error(`nothing listens on 127.0.0.1:${port} after ${ms} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

// ---- things to stop ------------------------------------------------------------------------------

const stoppers = new Set()
const children = new Set()
const pids = new Set()

/** Registers an async stop function; returns a function that runs it once and unregisters it. */
export function onCleanup(fn) {
  let done
  const wrapped = () => {
    stoppers.delete(wrapped)
    done ??= Promise.resolve().then(fn)
    return done
  }
  stoppers.add(wrapped)
  return wrapped
}

/** Remembers a child process so that it is SIGKILLed if this process exits without stopping it. */
export function trackChild(child, signal = 'SIGKILL') {
  child.exitSignalOnCrash = signal
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

/** Same for a process started elsewhere (startSluiceProcess): SIGKILL by pid on exit unless untracked. */
export function trackPid(pid) {
  pids.add(pid)
  return () => pids.delete(pid)
}

export async function cleanupAll() {
  for (const s of [...stoppers].reverse()) {
    try {
      await s()
    } catch {
      // best effort
    }
  }
}

let installed = false
/** Ctrl-C / SIGTERM stop everything this process started; a crash still SIGKILLs the children. */
export function installCleanupHandlers(log = (m) => process.stderr.write(`${m}\n`)) {
  if (installed) return
  installed = true
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.once(sig, async () => {
      log(`${sig}: stopping everything this benchmark started…`)
      await cleanupAll()
      process.exit(130)
    })
  }
  process.once('exit', () => {
    for (const c of children) {
      try {
        c.kill(c.exitSignalOnCrash ?? 'SIGKILL')
      } catch {
        // already gone
      }
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
  })
}

// ---- results -------------------------------------------------------------------------------------

export function writeResults(outDir, name, result, markdown) {
  mkdirSync(outDir, { recursive: true })
  const json = join(outDir, `${name}.json`)
  const md = join(outDir, `${name}.md`)
  writeFileSync(json, JSON.stringify(result, null, 2) + '\n')
  writeFileSync(md, markdown)
  return { json, md }
}

/**
 * Writes a scenario's report: <outDir>/<name>.svg (the chart), then .md (rendered with the chart
 * embedded) and .json. Returns the paths and the Markdown.
 */
export function writeChartedReport(outDir, name, result, chartSvg, renderMarkdown) {
  mkdirSync(outDir, { recursive: true })
  const svg = `${name}.svg`
  writeFileSync(join(outDir, svg), chartSvg)
  const markdown = renderMarkdown(result, { chart: svg })
  return { ...writeResults(outDir, name, result, markdown), svg: join(outDir, svg), markdown }
}

/** The report line about blocks measured again on a busy machine (empty when there were none). */
export function remeasuredNote(retries) {
  const d = retries.discardedBlocks.length
  return d ? `\n${d} block(s) measured again because other processes used more than ${retries.noiseThreshold * 100}% of the machine (the quieter attempt is kept; all are in the JSON).` : ''
}

/** A comma-separated command-line list (undefined stays undefined). */
export function csvList(value) {
  return value?.split(',').map((x) => x.trim()).filter(Boolean)
}

export function commandVersion(cmd, args = ['--version']) {
  // some tools (pgpool) print their version on stderr
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 })
  if (r.error) return undefined
  return `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n').map((l) => l.trim()).find(Boolean)
}

export function which(cmd) {
  for (const dir of (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/usr/bin', '/sbin', '/bin'])) {
    if (dir && existsSync(join(dir, cmd))) return join(dir, cmd)
  }
  return undefined
}

/** The uid/gid of an OS user (servers such as PgBouncer refuse to run as root). */
export function osUser(name) {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim())
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim())
    return { uid, gid }
  } catch {
    return undefined
  }
}

// ---- system packages -----------------------------------------------------------------------------

/**
 * Makes sure `command` exists: when it is missing and we are root, `apt-get install -y <pkg>` (after an
 * `apt-get update` if the first attempt fails), and says so through `log`. Returns
 * { path, version, installedNow, note } — `note` (for the report) when something was installed or is missing.
 */
export function ensureAptCommand({ command, pkg, label = command, versionArgs = ['--version'], log = () => {} }) {
  let path = which(command)
  let installedNow = false
  let note
  if (!path) {
    if (process.getuid?.() === 0 && which('apt-get')) {
      log(`${label} is not installed: apt-get install -y ${pkg} …`)
      const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
      try {
        execFileSync('apt-get', ['install', '-y', pkg], { stdio: ['ignore', 'ignore', 'pipe'], env })
      } catch {
        try {
          execFileSync('apt-get', ['update'], { stdio: 'ignore' })
          execFileSync('apt-get', ['install', '-y', pkg], { stdio: 'ignore', env })
        } catch {
          // reported below
        }
      }
      path = which(command)
      installedNow = !!path
      note = installedNow ? `${label} was not installed: this run installed it with \`apt-get install -y ${pkg}\`.` : `\`apt-get install -y ${pkg}\` failed: ${label} is skipped.`
      log(note)
    } else note = `${label} is not installed (\`apt-get install -y ${pkg}\` as root); it is skipped.`
  }
  const version = path ? commandVersion(path, versionArgs) : undefined
  return { path, version, installedNow, note }
}

// ---- PgBouncer -----------------------------------------------------------------------------------

/** PgBouncer from the system's packages (Debian: pgbouncer), installed when missing and we are root. */
export function ensurePgbouncer(log) {
  return ensureAptCommand({ command: 'pgbouncer', pkg: 'pgbouncer', label: 'PgBouncer', log })
}

/**
 * Starts PgBouncer in the foreground (transaction pooling, trust auth) on a spare port, in a temp dir,
 * as the `postgres` OS user when we are root. Returns { pid, port, dir, ini, stop() }.
 */
export async function startPgbouncer({ path, pgHost = '127.0.0.1', pgPort = 5432, database, poolSize = 10, runAs = 'postgres' }) {
  const dir = mkdtempSync(join(os.tmpdir(), 'sluice-bench-pgbouncer-'))
  const port = await sparePort()
  const ini = `[databases]
${database} = host=${pgHost} port=${pgPort} dbname=${database}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = trust
auth_file = ${dir}/userlist.txt
admin_users = postgres
pool_mode = transaction
default_pool_size = ${poolSize}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 500
server_reset_query =
ignore_startup_parameters = extra_float_digits
log_connections = 0
log_disconnections = 0
logfile = ${dir}/pgbouncer.log
pidfile = ${dir}/pgbouncer.pid
`
  writeFileSync(join(dir, 'pgbouncer.ini'), ini)
  writeFileSync(join(dir, 'userlist.txt'), '"postgres" ""\n')
  const spawnOpts = { stdio: ['ignore', 'pipe', 'pipe'] }
  if (process.getuid?.() === 0) {
    const u = osUser(runAs)
    if (!u) throw new Error(`PgBouncer refuses to run as root and there is no OS user "${runAs}"`)
    for (const f of ['', 'pgbouncer.ini', 'userlist.txt']) chownSync(join(dir, f), u.uid, u.gid)
    Object.assign(spawnOpts, u) // libuv drops the supplementary groups too
  }
  const child = trackChild(spawn(path, [join(dir, 'pgbouncer.ini')], spawnOpts))
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  try {
    await Promise.race([waitForPort(port), exited.then((e) => Promise.reject(new Error(`pgbouncer exited (${JSON.stringify(e)}): ${output}`)))])
  } catch (err) {
    child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  const stop = onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT')
    const t = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(t)
    rmSync(dir, { recursive: true, force: true })
  })
  return { pid: child.pid, port, dir, ini, stop }
}

// ---- pgpool-II -----------------------------------------------------------------------------------

/** pgpool-II from the system's packages (Debian: pgpool2), installed when missing and we are root. */
export function ensurePgpool(log) {
  return ensureAptCommand({ command: 'pgpool', pkg: 'pgpool2', label: 'pgpool-II', log })
}

/**
 * Starts pgpool-II in the foreground (`-n`) on a spare port, everything it writes (pid file, status
 * file, sockets, query-cache oid maps) in a temp dir: raw mode with one backend, no health or
 * streaming-replication checks, no watchdog, no load balancing, trust (no pool_hba / pool_passwd).
 *
 * pgpool pools per session: each of its `numInitChildren` processes serves one client connection at
 * a time and keeps (max_pool = 1) its Postgres connection when the client leaves. So it needs one
 * child per concurrent client; `connectionLifeTime` closes those cached connections after that many
 * idle seconds, so that pgpool does not hold 32 Postgres connections while the other targets run.
 * `cache` switches its in-memory query cache (shmem) on. Returns { pid, port, dir, conf, stop() }.
 */
export async function startPgpool({ path, pgHost = '127.0.0.1', pgPort = 5432, numInitChildren = 32, cache = true, cacheTotalSize = '64MB', cacheExpire = 600, connectionLifeTime = 5 }) {
  const dir = mkdtempSync(join(os.tmpdir(), 'sluice-bench-pgpool-'))
  const port = await sparePort()
  mkdirSync(join(dir, 'oiddir'))
  const conf = `backend_clustering_mode = 'raw'
listen_addresses = '127.0.0.1'
port = ${port}
socket_dir = '${dir}'
pcp_listen_addresses = ''
pcp_port = ${await sparePort()}
pcp_socket_dir = '${dir}'
wd_ipc_socket_dir = '${dir}'
pid_file_name = '${dir}/pgpool.pid'
logdir = '${dir}'
backend_hostname0 = '${pgHost}'
backend_port0 = ${pgPort}
backend_weight0 = 1
backend_flag0 = 'DISALLOW_TO_FAILOVER'
enable_pool_hba = off
pool_passwd = ''
num_init_children = ${numInitChildren}
max_pool = 1
reserved_connections = 0
child_life_time = 0
child_max_connections = 0
connection_life_time = ${connectionLifeTime}
client_idle_limit = 0
health_check_period = 0
sr_check_period = 0
failover_on_backend_error = off
use_watchdog = off
load_balance_mode = off
log_min_messages = warning
log_connections = off
log_statement = off
memory_cache_enabled = ${cache ? 'on' : 'off'}
memqcache_method = 'shmem'
memqcache_total_size = ${cacheTotalSize}
memqcache_max_num_cache = 1000000
memqcache_expire = ${cacheExpire}
memqcache_auto_cache_invalidation = on
memqcache_maxcache = 400kB
memqcache_cache_block_size = 1MB
memqcache_oiddir = '${dir}/oiddir'
`
  writeFileSync(join(dir, 'pgpool.conf'), conf)
  writeFileSync(join(dir, 'pcp.conf'), '')
  // pgpool-II runs as root too (checked with 4.3); on exit without stop() it gets SIGINT (fast
  // shutdown) so that its children go with it instead of being orphaned by a SIGKILL.
  const child = trackChild(spawn(path, ['-n', '-f', join(dir, 'pgpool.conf'), '-F', join(dir, 'pcp.conf')], { stdio: ['ignore', 'pipe', 'pipe'] }), 'SIGINT')
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output = (output + d).slice(-20_000)))
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  try {
    await Promise.race([waitForPort(port, 20_000), exited.then((e) => Promise.reject(new Error(`pgpool exited (${JSON.stringify(e)}): ${output}`)))])
  } catch (err) {
    child.kill('SIGINT')
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))])
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  const stop = onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT')
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(t)
    rmSync(dir, { recursive: true, force: true })
  })
  return { pid: child.pid, port, dir, conf, output: () => output, stop }
}

// ---- redis-server --------------------------------------------------------------------------------

export async function startRedis({ path = which('redis-server') ?? 'redis-server' } = {}) {
  const port = await sparePort()
  const dir = mkdtempSync(join(os.tmpdir(), 'sluice-bench-redis-'))
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning']
  const child = trackChild(spawn(path, args, { stdio: ['ignore', 'pipe', 'pipe'] }))
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  try {
    await Promise.race([waitForPort(port), exited.then((e) => Promise.reject(new Error(`redis-server exited (${JSON.stringify(e)}): ${output}`)))])
  } catch (err) {
    child.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
    throw err
  }
  const stop = onCleanup(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    const t = setTimeout(() => child.kill('SIGKILL'), 5000)
    await exited
    clearTimeout(t)
    rmSync(dir, { recursive: true, force: true })
  })
  return { pid: child.pid, port, url: `redis://127.0.0.1:${port}`, command: `redis-server ${args.map((a) => (a === '' ? '""' : a)).join(' ')}`, stop }
}

// ---- Postgres backends' CPU ----------------------------------------------------------------------

/** utime+stime of the postmaster's exited (waited-for) children, in seconds. */
export function postmasterChildrenSeconds(postmasterPid) {
  if (!postmasterPid) return undefined
  const all = processCpuSeconds(postmasterPid, { withChildren: true })
  const own = processCpuSeconds(postmasterPid)
  return all === undefined || own === undefined ? undefined : all - own
}

/**
 * Samples the CPU of the backends connected to `database` every `intervalMs` (pids from
 * pg_stat_activity through `client`, a pg.Client connected to another database).
 *
 * `stop()` returns
 *   sampled     CPU of every backend seen, up to its last sample (a backend's CPU after its last sample
 *               is missed, and backends living shorter than the interval are not seen at all)
 *   alive       CPU of the backends still there at the end (exact)
 *   exitedBase  CPU that backends present at the start and gone at the end had used before the start
 * With the postmaster's children CPU delta (which counts exited backends' whole lives, of any
 * database): postgres ≈ alive + Δpostmaster children − exitedBase.
 */
export function startBackendSampler(client, database, intervalMs = 100) {
  const base = new Map() // pid → cpu seconds at first sight (0 if born after the start)
  const last = new Map()
  let first = true
  let stopped = false
  const list = async () => {
    const rows = (await client.query('SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database])).rows
    const out = new Map()
    for (const { pid } of rows) {
      const cpu = processCpuSeconds(pid)
      if (cpu !== undefined) out.set(pid, cpu)
    }
    return out
  }
  const sample = async () => {
    let now
    try {
      now = await list()
    } catch {
      return
    }
    for (const [pid, cpu] of now) {
      if (!base.has(pid)) base.set(pid, first ? cpu : 0)
      last.set(pid, cpu)
    }
    first = false
  }
  const started = sample()
  let timer
  const loop = async () => {
    await sample()
    if (!stopped) timer = setTimeout(loop, intervalMs)
  }
  const running = started.then(() => {
    if (!stopped) timer = setTimeout(loop, intervalMs)
  })
  return {
    ready: started,
    async stop() {
      await running
      stopped = true
      clearTimeout(timer)
      let final = new Map()
      try {
        final = await list()
      } catch {
        // keep what we have
      }
      let sampled = 0
      let alive = 0
      let exitedBase = 0
      for (const [pid, cpu] of final) {
        if (!base.has(pid)) base.set(pid, 0)
        last.set(pid, cpu)
        alive += cpu - base.get(pid)
      }
      for (const [pid, v] of last) {
        sampled += v - base.get(pid)
        if (!final.has(pid)) exitedBase += base.get(pid)
      }
      return { sampled, alive, exitedBase, backends: last.size }
    },
  }
}

/**
 * Bytes a process received from / sent to 127.0.0.1:<port>, per established TCP connection (ss -ti),
 * keyed by the local address:port. Use `tcpBytesDelta` to difference two snapshots.
 */
export function tcpBytesTo(pid, port) {
  let out
  try {
    out = execFileSync('ss', ['-tinpH', 'state', 'established', 'dst', `127.0.0.1:${port}`], { encoding: 'utf8', maxBuffer: 16 << 20 })
  } catch {
    return undefined
  }
  const conns = new Map()
  let current
  for (const line of out.split('\n')) {
    if (!line) continue
    if (!/^\s/.test(line)) {
      current = line.includes(`pid=${pid},`) ? line.trim().split(/\s+/)[2] : undefined
      if (current) conns.set(current, { received: 0, sent: 0 })
      continue
    }
    if (!current) continue
    const c = conns.get(current)
    c.received += Number(/bytes_received:(\d+)/.exec(line)?.[1] ?? 0)
    c.sent += Number(/bytes_acked:(\d+)/.exec(line)?.[1] ?? 0)
  }
  return conns
}

/**
 * Bytes moved between two snapshots of `tcpBytesTo`: connections present at the end count from their
 * value at the start (0 if opened meanwhile); bytes of connections closed meanwhile are not seen,
 * so this is a lower bound when connections churn (`closed` says how many did).
 */
export function tcpBytesDelta(before, after) {
  let received = 0
  let sent = 0
  let opened = 0
  for (const [k, v] of after) {
    const b = before.get(k)
    if (!b) opened++
    received += v.received - (b?.received ?? 0)
    sent += v.sent - (b?.sent ?? 0)
  }
  let closed = 0
  for (const k of before.keys()) if (!after.has(k)) closed++
  return { received, sent, opened, closed, connections: after.size }
}

export function listFiles(dir, prefix) {
  try {
    return readdirSync(dir).filter((f) => f.startsWith(prefix)).map((f) => join(dir, f))
  } catch {
    return []
  }
}
