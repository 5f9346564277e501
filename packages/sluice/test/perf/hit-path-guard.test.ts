// Hit-path regression guard. A fixed micro-workload — 1,000 cache hits of one captured Prisma
// /query request against an in-process Sluice (bench/guard/measure.mjs) — is *counted*, never
// timed, and compared with the committed reference bench/guard/reference.json:
//   instructions per hit  valgrind --tool=callgrind, as a multiple of a bare node:http server
//                         answering the same bytes in the same process (repeatable to ~1 %; fails
//                         above +3 %, after one confirming re-measurement). The ratio, not the
//                         absolute count, because counts of the same build differ between CPU models.
//   calls per hit         JSON.parse / stringify, createHash, Buffer.from / toString, RegExp#exec,
//                         promises, … (exact; fails when one grows by 0.5 per hit)
//   heap bytes per hit    V8 heap allocation (repeatable to ~0.5 %; fails above +5 %)
// After an intended change of the hit path (or a Node.js upgrade), record the reference again:
// `node bench/guard/record.mjs` (see bench/README.md, "Hit-path guard").
//
// Needs PostgreSQL (the first request fills the cache from it) and, for the instruction count,
// valgrind: without valgrind that part is skipped with a printed reason, except under CI=true
// where it fails.
import { beforeAll, expect, it } from 'vitest'
import { PG_ADMIN_URL, describeWithPostgres } from '../helpers/postgres.js'
import { compare, formatRows, measure, readReference, valgrindVersion, type Measured } from '../../../../bench/guard/guard.mjs'

const valgrind = valgrindVersion()
if (valgrind === null && process.env.CI === 'true') {
  throw new Error('CI=true requires valgrind for the hit-path guard (apt-get install -y valgrind)')
}
if (valgrind === null) {
  console.warn('[sluice tests] SKIPPING the instruction count of the hit-path guard: valgrind is not installed (apt-get install -y valgrind)')
}

describeWithPostgres('hit-path guard (counts per cache hit, no timings)', () => {
  let measured: Measured
  const reference = readReference()

  beforeAll(async () => {
    measured = await measure({ pgUrl: PG_ADMIN_URL, modes: valgrind === null ? ['calls', 'heap'] : ['instructions', 'calls', 'heap'] })
  }, 900_000)

  function check(part: Partial<Measured>): void {
    const result = compare(part, reference)
    console.log(`[hit-path guard]\n${formatRows(result.rows)}`)
    for (const n of result.notes) console.warn(`[hit-path guard] ${n}`)
    expect(result.problems, `hit-path guard:\n${formatRows(result.rows)}\n`).toEqual([])
  }

  it('calls per hit of JSON, hashing, buffer, regexp functions and async resources do not grow', () => {
    check({ calls: measured.calls })
  })

  it('heap bytes allocated per hit stay within the tolerance', () => {
    check({ heap: measured.heap })
  })

  it.skipIf(valgrind === null)('instructions per hit (callgrind) stay within the tolerance', async () => {
    // Runs repeat within ~1 %, with rare outliers (far more on a starved machine): over the limit,
    // measure up to twice more and judge the lowest (a real regression is in every run).
    let instructions = measured.instructions
    for (let attempt = 0; attempt < 2 && !compare({ instructions }, reference).ok; attempt++) {
      console.warn(`[hit-path guard] ${(instructions[0]?.instructionsVsFloor ?? 0).toFixed(3)}× the floor is over the limit: measuring once more`)
      const again = await measure({ pgUrl: PG_ADMIN_URL, modes: ['instructions'] })
      instructions = [...instructions, ...again.instructions].sort((a, b) => (a.instructionsVsFloor ?? 0) - (b.instructionsVsFloor ?? 0)).slice(0, 1)
    }
    check({ instructions })
  }, 900_000)
})
