#!/usr/bin/env node
// Records bench/guard/reference.json: runs every measure of the hit-path guard several times
// (default 3) and keeps the median, the runs and their spread.
//   node bench/guard/record.mjs [--runs 3] [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]
// Needs PostgreSQL, valgrind and a built Sluice (npm run build). Run it after an intended change of
// the hit path, a Node.js upgrade, or a change of the workload, and commit the file.
import { writeFileSync } from 'node:fs'
import { relative } from 'node:path'
import { parseArgs } from 'node:util'
import { REFERENCE_PATH, buildReference, measure, valgrindVersion } from './guard.mjs'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, 'pg-url': { type: 'string' }, out: { type: 'string' } } })
const pgUrl = values['pg-url'] ?? process.env.SLUICE_TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'
if (!valgrindVersion()) {
  console.error('record.mjs needs valgrind (apt-get install -y valgrind): the reference must include instruction counts')
  process.exit(1)
}
const runs = Number(values.runs)
console.error(`hit-path guard: recording the reference, ${runs} run(s) of each measure…`)
const measured = await measure({ pgUrl, runs, log: (m) => console.error(m) })
const ref = buildReference(measured)
const out = values.out ?? REFERENCE_PATH
writeFileSync(out, `${JSON.stringify(ref, null, 2)}\n`)
console.error(
  `wrote ${relative(process.cwd(), out)}: ${ref.instructionsPerHit.value.toLocaleString('en-US')} instructions/hit (spread ${(ref.instructionsPerHit.spread * 100).toFixed(2)}%), ` +
    `${ref.instructionsVsFloor.value}× the bare node:http floor (spread ${(ref.instructionsVsFloor.spread * 100).toFixed(2)}%), ` +
    `${ref.heapBytesPerHit.value.toLocaleString('en-US')} heap bytes/hit (spread ${(ref.heapBytesPerHit.spread * 100).toFixed(2)}%)`,
)
