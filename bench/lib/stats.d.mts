// Types for stats.mjs (imported by packages/sluice tests: prng for the randomised stale-read tests).
export function sorted(values: Iterable<number>): Float64Array
export function percentile(sortedValues: ArrayLike<number>, p: number): number
export function mean(values: ArrayLike<number>): number
export function median(values: Iterable<number>): number
export function summarize(latencies: Iterable<number>): { n: number; p50: number; p90: number; p99: number; p999: number; max: number; mean: number }
export function round(v: number | null | undefined, digits?: number): number | null
/** Seeded PRNG (mulberry32): numbers in [0, 1). */
export function prng(seed: number): () => number
