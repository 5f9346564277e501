// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function and per package.
//   node bench/lib/cpuprofile.mjs <file.cpuprofile> [top]
//   node bench/lib/cpuprofile.mjs <file.cpuprofile> --callers <functionName> [depth]
// Note: V8 samples on a wall-clock timer, so a function that blocks or is preempted inside a
// system call (writev on a busy 2-core machine) collects samples without using CPU.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

/** Where a script URL belongs: an npm package, Node internals, Sluice itself, or a V8 pseudo-node. */
export function packageOf(url, functionName) {
  if (!url) {
    if (functionName === '(idle)' || functionName === '(program)' || functionName === '(garbage collector)') return functionName
    return '(native/V8)'
  }
  if (url.startsWith('node:')) return 'node: (core)'
  const nm = url.lastIndexOf('/node_modules/')
  if (nm !== -1) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/')
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]
  }
  if (url.includes('/packages/sluice/')) return 'sluice'
  return url.replace(/^file:\/\//, '')
}

function shortUrl(url) {
  if (!url) return ''
  const nm = url.lastIndexOf('/node_modules/')
  if (nm !== -1) return url.slice(nm + '/node_modules/'.length)
  const i = url.indexOf('/packages/sluice/')
  if (i !== -1) return url.slice(i + 1)
  return url.replace(/^file:\/\//, '')
}

export function summarizeCpuProfile(path, top = 25) {
  const profile = JSON.parse(readFileSync(path, 'utf8'))
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const self = new Map()
  // timeDeltas[i] is the time between sample i-1 and sample i: attribute it to sample i's node.
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]
    self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  }
  const totalUs = profile.endTime - profile.startTime
  const fn = new Map()
  const pkg = new Map()
  let idleUs = 0
  for (const [id, us] of self) {
    const n = byId.get(id)
    const { functionName, url, lineNumber, columnNumber } = n.callFrame
    const name = functionName || '(anonymous)'
    if (name === '(idle)') idleUs += us
    const key = `${name}|${url}|${lineNumber}`
    const e = fn.get(key) ?? { function: name, location: url ? `${shortUrl(url)}:${lineNumber + 1}:${columnNumber + 1}` : '', package: packageOf(url, name), selfUs: 0 }
    e.selfUs += us
    fn.set(key, e)
    const p = packageOf(url, name)
    pkg.set(p, (pkg.get(p) ?? 0) + us)
  }
  const busyUs = totalUs - idleUs
  const pct = (us) => Math.round((us / busyUs) * 1000) / 10
  const functions = [...fn.values()]
    .filter((e) => e.function !== '(idle)')
    .sort((a, b) => b.selfUs - a.selfUs)
    .slice(0, top)
    .map((e) => ({ ...e, selfMs: Math.round(e.selfUs / 100) / 10, busyPercent: pct(e.selfUs) }))
  const packages = [...pkg.entries()]
    .filter(([p]) => p !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .map(([p, us]) => ({ package: p, selfMs: Math.round(us / 100) / 10, busyPercent: pct(us) }))
  return {
    file: path,
    samples: profile.samples.length,
    wallMs: Math.round(totalUs / 100) / 10,
    busyMs: Math.round(busyUs / 100) / 10,
    functions,
    packages,
  }
}

/** Self time of the function named `name`, split by call stack (`depth` frames above it). */
export function callersOf(path, name, depth = 6, top = 10) {
  const profile = JSON.parse(readFileSync(path, 'utf8'))
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const parent = new Map()
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  const self = new Map()
  for (let i = 0; i < profile.samples.length; i++) self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0))
  const stacks = new Map()
  let total = 0
  for (const [id, us] of self) {
    if (byId.get(id).callFrame.functionName !== name) continue
    total += us
    const frames = []
    let p = parent.get(id)
    while (p !== undefined && frames.length < depth) {
      const cf = byId.get(p).callFrame
      frames.push(`${cf.functionName || '(anonymous)'}${cf.url ? ` (${shortUrl(cf.url)}:${cf.lineNumber + 1})` : ''}`)
      p = parent.get(p)
    }
    const key = frames.join(' ← ')
    stacks.set(key, (stacks.get(key) ?? 0) + us)
  }
  return {
    totalMs: Math.round(total / 100) / 10,
    stacks: [...stacks.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([stack, us]) => ({ ms: Math.round(us / 100) / 10, stack })),
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[3] === '--callers') {
    const r = callersOf(process.argv[2], process.argv[4], Number(process.argv[5] ?? 6))
    console.log(`${process.argv[4]}: ${r.totalMs} ms self time, by caller chain:`)
    for (const s of r.stacks) console.log(`  ${String(s.ms).padStart(9)} ms  ${s.stack}`)
    process.exit(0)
  }
  const s = summarizeCpuProfile(process.argv[2], Number(process.argv[3] ?? 30))
  console.log(`${s.file}: ${s.samples} samples, ${s.wallMs} ms wall, ${s.busyMs} ms not idle\n`)
  console.log('self time by package:')
  for (const p of s.packages) console.log(`  ${p.busyPercent.toFixed(1).padStart(5)}%  ${String(p.selfMs).padStart(9)} ms  ${p.package}`)
  console.log('\ntop functions by self time:')
  for (const f of s.functions) console.log(`  ${f.busyPercent.toFixed(1).padStart(5)}%  ${String(f.selfMs).padStart(9)} ms  ${f.function}  ${f.location}`)
}
