import { describe, expect, it } from 'vitest'
import { formatSize, parseDuration, parseSize } from '../../src/config/units.js'

describe('units', () => {
  it('parses durations', () => {
    expect(parseDuration('10s')).toBe(10_000)
    expect(parseDuration('500ms')).toBe(500)
    expect(parseDuration('1.5m')).toBe(90_000)
    expect(parseDuration('250')).toBe(250)
    expect(parseDuration(42)).toBe(42)
    expect(() => parseDuration('soon')).toThrow(/invalid duration/)
    expect(() => parseDuration('-1s')).toThrow()
  })
  it('parses and formats sizes', () => {
    expect(parseSize('5mb')).toBe(5 * 1024 * 1024)
    expect(parseSize('512KB')).toBe(512 * 1024)
    expect(parseSize('1gib')).toBe(1024 ** 3)
    expect(parseSize('100')).toBe(100)
    expect(() => parseSize('5 parsecs')).toThrow(/invalid size/)
    expect(formatSize(5 * 1024 * 1024)).toBe('5MB')
    expect(formatSize(64 * 1024)).toBe('64KB')
    expect(formatSize(1536)).toBe('1.5KB')
    expect(formatSize(100)).toBe('100B')
  })
})
