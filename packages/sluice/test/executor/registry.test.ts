import { describe, expect, it } from 'vitest'
import { describeSupported, loadEngineModules, resolveClientLine, SUPPORTED_CLIENT_LINES } from '../../src/executor/registry.js'

describe('client version registry', () => {
  it('maps client versions to their minor line', () => {
    expect(resolveClientLine('7.10.1')).toBe('7.10')
    expect(resolveClientLine('7.10.0-dev.58')).toBe('7.10')
    expect(resolveClientLine('7.9.0')).toBe('7.9')
    expect(resolveClientLine(undefined)).toBe(SUPPORTED_CLIENT_LINES[0])
    expect(resolveClientLine('0.0.0')).toBe(SUPPORTED_CLIENT_LINES[0])
    expect(resolveClientLine('7.8.0')).toBeUndefined()
    expect(resolveClientLine('6.19.3')).toBeUndefined()
    expect(resolveClientLine('seven')).toBeUndefined()
    expect(describeSupported()).toBe('7.10.x, 7.9.x')
  })
  it('loads a distinct interpreter for each line', async () => {
    const a = await loadEngineModules('7.10')
    const b = await loadEngineModules('7.9')
    expect(a.runtimeVersion).toBe('7.10.0')
    expect(b.runtimeVersion).toBe('7.9.1')
    expect(a.runtime.QueryInterpreter).not.toBe(b.runtime.QueryInterpreter)
    expect(a.adapterPg.PrismaPg).not.toBe(b.adapterPg.PrismaPg)
  })
})
