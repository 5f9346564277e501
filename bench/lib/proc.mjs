// CPU accounting from /proc (Linux only) and a description of the machine.
//
// Who used the CPU during a measured block:
//   self      this process (the load generator: Prisma clients, or the orchestrator while wrk runs)
//   children  exited children of this process that were waited for (wrk), from /proc/self/stat cutime+cstime
//   server    the server process of the target: Sluice, or a reference server (utime+stime of /proc/<pid>/stat)
//   postgres  the Postgres backends connected to the benchmark database (pids from pg_stat_activity)
//   irq       hardware + soft interrupts (loopback networking lands here), from /proc/stat
//   other     everything else on the machine: busy time in /proc/stat minus all of the above.
//             Other engineers' builds and tests show up here; a block with a high share is noisy.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import os from 'node:os'

export const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100
  } catch {
    return 100
  }
})()

/** utime+stime (+ cutime+cstime when `withChildren`) of a process, in seconds; undefined when gone. */
export function processCpuSeconds(pid, { withChildren = false } = {}) {
  let stat
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return undefined
  }
  // Field 2 (comm) may contain spaces and parentheses: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // fields[0] is field 3 (state); utime is field 14 → index 11.
  const utime = Number(fields[11])
  const stime = Number(fields[12])
  const cutime = Number(fields[13])
  const cstime = Number(fields[14])
  return (utime + stime + (withChildren ? cutime + cstime : 0)) / CLK_TCK
}

/** Pids of the living descendants of `pid` (from the ppid field of every /proc/<n>/stat). */
export function descendantPids(pid) {
  const parentOf = new Map()
  let entries = []
  try {
    entries = readdirSync('/proc')
  } catch {
    return []
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8')
      parentOf.set(Number(e), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
    } catch {
      // gone meanwhile
    }
  }
  const out = []
  const want = new Set([Number(pid)])
  let grew = true
  while (grew) {
    grew = false
    for (const [p, pp] of parentOf) {
      if (want.has(pp) && !want.has(p)) {
        want.add(p)
        out.push(p)
        grew = true
      }
    }
  }
  return out
}

/**
 * CPU of a server made of several processes (pgpool-II forks one child per client slot): per pid,
 * utime+stime of the root and of its living descendants, plus the root's cutime+cstime (children it
 * reaped). Difference two snapshots with `treeCpuDelta`.
 */
export function processTreeCpu(pid) {
  const perPid = new Map()
  for (const p of [Number(pid), ...descendantPids(pid)]) {
    const v = processCpuSeconds(p)
    if (v !== undefined) perPid.set(p, v)
  }
  const all = processCpuSeconds(pid, { withChildren: true })
  const own = processCpuSeconds(pid)
  return { perPid, reaped: all !== undefined && own !== undefined ? all - own : 0 }
}

/** CPU seconds a process tree used between two `processTreeCpu` snapshots (new pids count from 0). */
export function treeCpuDelta(before, after) {
  let s = after.reaped - before.reaped
  for (const [p, v] of after.perPid) s += v - (before.perPid.get(p) ?? 0)
  return Math.max(0, s)
}

/** cutime+cstime of this process: CPU of children that have exited and been waited for. */
export function waitedChildrenCpuSeconds() {
  const all = processCpuSeconds('self', { withChildren: true }) ?? 0
  const own = processCpuSeconds('self') ?? 0
  return all - own
}

/** Machine-wide CPU seconds from /proc/stat (summed over all CPUs). */
export function machineCpu() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]
  const [, user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).map(Number)
  const t = (v) => (v ?? 0) / CLK_TCK
  return {
    busy: t(user) + t(nice) + t(system) + t(steal),
    irq: t(irq) + t(softirq),
    idle: t(idle) + t(iowait),
    steal: t(steal),
  }
}

/**
 * A CPU meter for one measured block. `pgPids()` returns the pids of the benchmark database's
 * backends (queried at start and end; a backend seen only at the end counts from zero).
 */
export async function startCpuMeter({ serverPid, serverTree = false, pgPids }) {
  // serverTree: the server is a process tree (pgpool-II): count the root and all its descendants
  const serverCpu = () => (serverTree ? processTreeCpu(serverPid) : processCpuSeconds(serverPid))
  const pidsBefore = pgPids ? await pgPids() : []
  const pgBefore = new Map(pidsBefore.map((p) => [p, processCpuSeconds(p) ?? 0]))
  const before = {
    wall: performance.now(),
    machine: machineCpu(),
    self: process.cpuUsage(),
    children: waitedChildrenCpuSeconds(),
    server: serverPid ? serverCpu() : undefined,
  }
  return {
    async stop() {
      const wall = (performance.now() - before.wall) / 1000
      const machine = machineCpu()
      const self = process.cpuUsage(before.self)
      const children = waitedChildrenCpuSeconds() - before.children
      const server = !serverPid ? 0 : serverTree ? treeCpuDelta(before.server, serverCpu()) : (serverCpu() ?? before.server ?? 0) - (before.server ?? 0)
      const pidsAfter = pgPids ? await pgPids() : []
      let postgres = 0
      for (const p of new Set([...pidsBefore, ...pidsAfter])) {
        const now = processCpuSeconds(p)
        if (now !== undefined) postgres += now - (pgBefore.get(p) ?? 0)
      }
      const selfS = (self.user + self.system) / 1e6
      const busy = machine.busy - before.machine.busy
      const irq = machine.irq - before.machine.irq
      const total = busy + irq + (machine.idle - before.machine.idle)
      const other = Math.max(0, busy - selfS - children - server - postgres)
      return {
        wallSeconds: wall,
        cores: os.cpus().length,
        // CPU seconds spent during the block
        self: selfS,
        children,
        server,
        postgres,
        irq,
        other,
        machineBusy: busy + irq,
        machineTotal: total,
        steal: machine.steal - before.machine.steal,
      }
    },
  }
}

/**
 * Waits until the machine is quiet: busy CPU (all cores) below `threshold` cores over a `window`
 * of seconds, for up to `maxWait` seconds. Returns what it saw (never throws).
 */
export async function waitForIdle({ threshold = 0.15, window = 2, maxWait = 30, log = () => {} } = {}) {
  const started = Date.now()
  let last
  for (;;) {
    const a = machineCpu()
    await new Promise((r) => setTimeout(r, window * 1000))
    const b = machineCpu()
    last = (b.busy + b.irq - a.busy - a.irq) / window
    if (last < threshold) return { idle: true, busyCores: last, waitedSeconds: (Date.now() - started) / 1000 }
    if ((Date.now() - started) / 1000 >= maxWait) {
      return { idle: false, busyCores: last, waitedSeconds: (Date.now() - started) / 1000 }
    }
    log(`machine busy (${last.toFixed(2)} cores in use by others); waiting for it to settle…`)
  }
}

/** The processes using the most CPU right now (for the report when the machine was busy). */
export function topProcesses(n = 5) {
  try {
    return execFileSync('ps', ['-eo', 'pid,pcpu,comm,args', '--sort=-pcpu', '--no-headers'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .slice(0, n)
      .map((l) => l.trim().replace(/\s+/g, ' ').slice(0, 160))
  } catch {
    return []
  }
}

function readOr(path, fallback = '') {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return fallback
  }
}

function commandVersion(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0].trim()
  } catch {
    return undefined
  }
}

/** CPU model, core count, memory, OS, kernel, Node and tool versions. */
export function describeMachine() {
  const cpuinfo = readOr('/proc/cpuinfo')
  const first = (key) => new RegExp(`^${key}\\s*:\\s*(.*)$`, 'm').exec(cpuinfo)?.[1]?.trim()
  const logical = (cpuinfo.match(/^processor\s*:/gm) ?? []).length || os.cpus().length
  const cores = new Set()
  for (const block of cpuinfo.split('\n\n')) {
    const phys = /physical id\s*:\s*(\d+)/.exec(block)?.[1]
    const core = /core id\s*:\s*(\d+)/.exec(block)?.[1]
    if (phys !== undefined && core !== undefined) cores.add(`${phys}:${core}`)
  }
  const osRelease = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readOr('/etc/os-release'))?.[1]
  const hypervisor = /\bhypervisor\b/.test(first('flags') ?? '')
  return {
    cpuModel: first('model name') ?? os.cpus()[0]?.model ?? 'unknown',
    cpuMHz: Number(first('cpu MHz')) || undefined,
    cacheSize: first('cache size'),
    logicalCpus: logical,
    physicalCores: cores.size || undefined,
    virtualized: hypervisor,
    memTotalGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    os: osRelease ?? `${os.type()} ${os.release()}`,
    kernel: os.release(),
    arch: os.arch(),
    node: process.version,
    wrk: commandVersion('sh', ['-c', 'command -v wrk >/dev/null && wrk -v 2>&1 | head -1 | cut -d" " -f1-3']) || undefined,
    loadAverage: os.loadavg().map((v) => Math.round(v * 100) / 100),
  }
}
