// Types for guard.mjs (imported by packages/sluice/test/perf/hit-path-guard.test.ts).
export type Mode = 'instructions' | 'calls' | 'heap'

export interface MeasureResult {
  mode: Mode
  hits: number
  warmup: number
  responseBytes: number
  requestBytes: number
  node: string
  instructions?: number
  instructionsPerHit?: number
  /** Instructions per request of the bare node:http floor measured in the same process. */
  floorInstructionsPerHit?: number
  /** instructionsPerHit ÷ floorInstructionsPerHit: the gated measure. */
  instructionsVsFloor?: number
  heapBytesPerHit?: number
  gcs?: number
  callsPerHit?: Record<string, number>
}

export interface Measured {
  instructions: MeasureResult[]
  calls: MeasureResult[]
  heap: MeasureResult[]
}

export interface Tolerance {
  instructionsPerHit: number
  heapBytesPerHit: number
  callsPerHit: number
}

export interface Reference {
  environment: { node: string; valgrind: string | null; [k: string]: unknown }
  workload: { hits: number; warmup: number; settle: number; [k: string]: unknown }
  tolerance: Partial<Tolerance>
  instructionsPerHit?: { value: number; runs: number[]; spread: number }
  floorInstructionsPerHit?: { value: number; runs: number[]; spread: number }
  instructionsVsFloor?: { value: number; runs: number[]; spread: number }
  heapBytesPerHit?: { value: number; runs: number[]; spread: number }
  callsPerHit?: { value: Record<string, number>; runs: Record<string, number>[] }
  [k: string]: unknown
}

export interface ComparisonRow {
  measure: string
  reference: number
  measured: number
  change: number
  limit: string
  ok: boolean
  absolute?: boolean
}

export interface Comparison {
  ok: boolean
  problems: string[]
  notes: string[]
  rows: ComparisonRow[]
}

export const repoRoot: string
export const REFERENCE_PATH: string
export const MEASURE_SCRIPT: string
export const WORKLOAD: { hits: number; warmup: number; settle: number }
export const NODE_FLAGS: string[]
export const CALLGRIND_ARGS: string[]
export const DEFAULT_TOLERANCE: Tolerance
export function valgrindVersion(): string | null
export function environment(): Record<string, unknown>
export function prepareDatabase(pgUrl: string): Promise<{ url: string; drop(): Promise<void> }>
export function measureOnce(options: { origin: string; mode: Mode; hits?: number; warmup?: number; settle?: number }): Promise<MeasureResult>
export function measure(options: { pgUrl: string; modes?: Mode[]; runs?: number; log?: (line: string) => void }): Promise<Measured>
export function buildReference(runs: Measured, tolerance?: Tolerance): Reference
export function compare(measured: Partial<Measured>, reference: Reference): Comparison
export function formatRows(rows: ComparisonRow[]): string
export function readReference(path?: string): Reference
