#!/usr/bin/env node
// Runs the hit-path guard once and compares it with bench/guard/reference.json (what the vitest
// test packages/sluice/test/perf/hit-path-guard.test.ts does), printing the table.
//   node bench/guard/check.mjs [--runs 1] [--pg-url …] [--json]
// Exit code 1 on a regression.
import { parseArgs } from 'node:util'
import { compare, formatRows, measure, readReference } from './guard.mjs'

const { values } = parseArgs({ options: { runs: { type: 'string', default: '1' }, 'pg-url': { type: 'string' }, json: { type: 'boolean' } } })
const pgUrl = values['pg-url'] ?? process.env.SLUICE_TEST_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres'
const measured = await measure({ pgUrl, runs: Number(values.runs), log: (m) => console.error(m) })
const result = compare(measured, readReference())
if (values.json) console.log(JSON.stringify({ measured, result }, null, 2))
else console.log(formatRows(result.rows))
for (const n of result.notes) console.error(`note: ${n}`)
for (const p of result.problems) console.error(`REGRESSION: ${p}`)
process.exit(result.ok ? 0 : 1)
