// Human-friendly units for limits given on the command line, in env vars or in the config file.

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1024,
  kib: 1024,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
}

/**
 * Parses a duration such as `10s`, `500ms`, `1.5m` or a bare number of milliseconds.
 * Returns milliseconds; throws with a message naming the accepted forms.
 */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') return checkFinite(input, input, 'duration')
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(input)
  if (!m) throw new Error(`invalid duration "${input}" (use e.g. 500ms, 10s, 2m)`)
  const unit = (m[2] ?? 'ms').toLowerCase()
  return Math.round(Number(m[1]) * DURATION_UNITS[unit]!)
}

/** Parses a size such as `5mb`, `512kb`, `1gb` or a bare number of bytes. Returns bytes. */
export function parseSize(input: string | number): number {
  if (typeof input === 'number') return checkFinite(input, input, 'size')
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?\s*$/i.exec(input)
  if (!m) throw new Error(`invalid size "${input}" (use e.g. 512kb, 5mb, 1gb)`)
  const unit = (m[2] ?? 'b').toLowerCase()
  return Math.round(Number(m[1]) * SIZE_UNITS[unit]!)
}

/** Renders bytes the way people write limits (5MB), for error messages. */
export function formatSize(bytes: number): string {
  for (const [unit, n] of [['GB', 1024 ** 3], ['MB', 1024 ** 2], ['KB', 1024]] as const) {
    if (bytes >= n) return `${+(bytes / n).toFixed(1)}${unit}`
  }
  return `${bytes}B`
}

function checkFinite(n: number, original: unknown, what: string): number {
  if (!Number.isFinite(n) || n < 0) throw new Error(`invalid ${what} ${String(original)}`)
  return n
}
