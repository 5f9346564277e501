// Small statistics helpers. Latencies are in milliseconds.

/** Sorted copy as a Float64Array (numeric sort). */
export function sorted(values) {
  const a = Float64Array.from(values)
  a.sort()
  return a
}

/** Nearest-rank percentile of an already sorted array (p in 0..100). */
export function percentile(sortedValues, p) {
  const n = sortedValues.length
  if (n === 0) return NaN
  const rank = Math.ceil((p / 100) * n)
  return sortedValues[Math.min(n - 1, Math.max(0, rank - 1))]
}

export function mean(values) {
  if (values.length === 0) return NaN
  let s = 0
  for (const v of values) s += v
  return s / values.length
}

export function median(values) {
  return percentile(sorted(values), 50)
}

/** Summary of a set of latency samples (ms). */
export function summarize(latencies) {
  const s = sorted(latencies)
  return {
    n: s.length,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    p999: percentile(s, 99.9),
    max: s.length ? s[s.length - 1] : NaN,
    mean: mean(s),
  }
}

export function round(v, digits = 3) {
  if (v === undefined || v === null || Number.isNaN(v)) return null
  const f = 10 ** digits
  return Math.round(v * f) / f
}

/** Seeded PRNG (mulberry32): both targets of a comparison get the same sequence of arguments; the randomised tests replay a failure by its seed. */
export function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
