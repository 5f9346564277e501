// One PlanExecutor per (origin, client line), created on first use. Executors of different client
// lines on the same origin share that origin's pool, and so its connection budget.
import type { Origin } from '../pool/origin.js'
import { PlanExecutor } from './plan-executor.js'
import { loadEngineModules } from './registry.js'

export class Engines {
  #executors = new Map<string, Promise<PlanExecutor>>()

  executor(origin: Origin, line: string): Promise<PlanExecutor> {
    const key = `${line}|${origin.settings.key}`
    let p = this.#executors.get(key)
    if (!p) {
      p = loadEngineModules(line).then((modules) => PlanExecutor.create(modules, origin))
      // A failed creation is not cached: the next request retries.
      p.catch(() => this.#executors.delete(key))
      this.#executors.set(key, p)
    }
    return p
  }

  async close(): Promise<void> {
    const all = [...this.#executors.values()]
    this.#executors.clear()
    await Promise.allSettled(all.map(async (p) => (await p).close()))
  }
}
