// The per-origin connection budget both MySQL doors draw on: slots, FIFO waiters, pool_timeout,
// idle connections given up for a waiter of the other door, hand-over within one door.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ConnectionBudget, type BudgetHolder } from '../../src/pool/connection-budget.js'
import { PoolTimeoutError } from '../../src/pool/errors.js'

/** A door with a list of idle connections (numbers) that it closes when asked. */
function door(budget: ConnectionBudget, idle: number[] = []): BudgetHolder & { idle: number[]; shed: number[] } {
  const d = {
    idle,
    shed: [] as number[],
    shedIdle() {
      const c = d.idle.shift()
      if (c === undefined) return false
      d.shed.push(c)
      budget.give()
      return true
    },
  }
  budget.register(d)
  return d
}

describe('ConnectionBudget', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('grants up to limit slots, then queues waiters in FIFO order', async () => {
    const budget = new ConnectionBudget(2, 0)
    const a = door(budget)
    const b = door(budget)
    await expect(budget.take(a)).resolves.toBeUndefined()
    await expect(budget.take(b)).resolves.toBeUndefined()
    expect(budget.used).toBe(2)
    const order: string[] = []
    const w1 = budget.take(b).then(() => order.push('b'))
    const w2 = budget.take(a).then(() => order.push('a'))
    expect(budget.waiting).toBe(2)
    budget.give()
    budget.give()
    await Promise.all([w1, w2])
    expect(order).toEqual(['b', 'a'])
    expect(budget.used).toBe(2)
    expect(budget.waiting).toBe(0)
  })

  it('a waiter past pool_timeout gets PoolTimeoutError naming the limits', async () => {
    vi.useFakeTimers()
    const budget = new ConnectionBudget(1, 2)
    const a = door(budget)
    await budget.take(a)
    const waiting = budget.take(a).catch((e: unknown) => e)
    await vi.advanceTimersByTimeAsync(2000)
    const err = await waiting
    expect(err).toBeInstanceOf(PoolTimeoutError)
    expect((err as Error).message).toContain('connection_limit 1, pool_timeout 2s')
    expect(budget.timeouts).toBe(1)
    expect(budget.waiting).toBe(0)
    // The timed-out waiter does not get the slot given back later.
    budget.give()
    expect(budget.used).toBe(0)
  })

  it('asks the other door to close an idle connection when someone waits', async () => {
    const budget = new ConnectionBudget(2, 0)
    const http = door(budget)
    const wire = door(budget)
    await budget.take(http)
    await budget.take(http)
    http.idle.push(1, 2)
    await expect(budget.take(wire)).resolves.toBeUndefined()
    expect(http.shed).toEqual([1])
    expect(budget.used).toBe(2)
  })

  it('hands a connection over within a door only to the first waiter', async () => {
    const budget = new ConnectionBudget(1, 0)
    const http = door(budget)
    const wire = door(budget)
    await budget.take(http)
    const wireWaits = budget.take<string>(wire)
    const httpWaits = budget.take<string>(http)
    // The first waiter is the wire door's: the HTTP door may not reuse its connection.
    expect(budget.handOff(http, 'conn-h')).toBe(false)
    expect(budget.handOff(wire, 'conn-w')).toBe(true)
    await expect(wireWaits).resolves.toBe('conn-w')
    budget.give()
    await expect(httpWaits).resolves.toBeUndefined()
    expect(budget.used).toBe(1)
  })
})
