// A seeded pseudo-random generator for randomised tests (mulberry32), so that a failure can be
// replayed with its seed. (An LCG written as `seed * 1103515245 % 2 ** 31` in floating point loses
// its low bits above 2^53 and falls into short cycles: the mix of operations then varied wildly
// from one seed to the next.)
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32
  }
}
