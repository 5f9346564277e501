// Types for targets.mjs (imported by packages/sluice/test/perf/bench-targets.test.ts).
export const README_START: string
export const README_END: string
export const RESULT_FILES: Record<'http' | 'pgbench' | 'multinode' | 'mysql', string>

export interface TargetDef {
  id: string
  issue: number
  from: 'http' | 'pgbench' | 'multinode' | 'mysql'
  quote: string
}
export const TARGETS: TargetDef[]

export interface TargetRow extends TargetDef {
  measured: string | undefined
  /** 'met', 'not met', 'partly (k of n)', 'measured' (a target without a numeric goal), or null when the scenario has not been measured */
  met: string | null
  source: { file: string; startedAt: string; quick: boolean } | undefined
}

// The result objects are the JSON files the scenarios write; the test builds minimal ones.
export function readResults(dir: string): Record<string, unknown>
export function evaluateTargets(results: Record<string, unknown>): TargetRow[]
export function renderTargetsTable(rows: TargetRow[], options?: { linkPrefix?: string }): string
export function updateReadmeBlock(readmePath: string, block: string): boolean
