// The shared tier: several Sluice nodes behind a load balancer behave as one cache.
//
// Redis holds (all under the `{sluice}` hash tag, so one Cluster slot, except entries):
//   {sluice}:seq        the global invalidation sequence (INCR)
//   {sluice}:epochs     hash: field (see invalidation/epochs.ts) → sequence number of its last bump
//   sluice:e:<digest>   L2 entries (header + encoded answer), expiring after ttl + swr
//   sluice:l:<digest>   short leases: which node is filling a key right now
// An invalidation is one Lua script: INCR the sequence, stamp the fields, PUBLISH the event on
// `sluice:inv`; every node (the publisher too) applies it to its local epochs with that number.
//
// Why pub/sub for the fan-out: invalidations are tiny, latency matters (a stale L1 entry lives
// until the message arrives), and a node that misses messages — its subscriber connection dropped —
// knows it did and invalidates its whole L1 when it reconnects, so losing messages costs hit rate,
// never correctness. The epochs hash is the durable record that strict mode and fill fencing read.
import { createHash, randomBytes } from 'node:crypto'
import { Redis, Cluster } from 'ioredis'
import type { Logger } from 'pino'
import { dependencyFields, invalidationFields, type Dependencies, type Epochs, type Invalidation } from '../invalidation/epochs.js'

const SEQ_KEY = '{sluice}:seq'
const EPOCHS_KEY = '{sluice}:epochs'
const CHANNEL = 'sluice:inv'

// KEYS[1] = seq, KEYS[2] = epochs; ARGV[1] = event JSON (without seq), ARGV[2..] = fields.
const BUMP_SCRIPT = `
local seq = redis.call('INCR', KEYS[1])
for i = 2, #ARGV do redis.call('HSET', KEYS[2], ARGV[i], seq) end
redis.call('PUBLISH', '${CHANNEL}', seq .. '|' .. ARGV[1])
return seq`

const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`

/** An entry as stored in Redis. */
export interface SharedEntry {
  payload: Buffer
  deps: Dependencies
  filledSeq: number
  producedAt: number
  lastModified: string
  signature: string
}

export interface RedisTierOptions {
  url: string
  epochs: Epochs
  logger: Logger
  /** Per-command budget; a slower Redis counts as unavailable for that request. */
  commandTimeoutMs?: number
  /** Called when an invalidation from any node has been applied locally (metrics, tests). */
  onApplied?: (inv: Invalidation, seq: number, publishedAt: number) => void
  /**
   * Called when an invalidation published by another node has been applied: what a local write
   * does beyond the epochs (a relation catalog read again after DDL…) must happen here too.
   */
  onRemote?: (inv: Invalidation) => void
  /**
   * Called when the node may have missed invalidations (before it trusts the tier again): the
   * local cache must forget everything it holds.
   */
  onReset: () => void
}

type Client = Redis | Cluster

export class RedisTier {
  readonly #epochs: Epochs
  readonly #logger: Logger
  readonly #cmd: Client
  readonly #sub: Client
  readonly #nodeId = randomBytes(6).toString('hex')
  readonly #onApplied: RedisTierOptions['onApplied']
  readonly #onRemote: RedisTierOptions['onRemote']
  readonly #onReset: () => void
  /** True once the fan-out is subscribed and the local cache is known to be in step. */
  #inStep = false
  #closed = false
  #resyncing: Promise<void> | undefined
  readonly #timer: NodeJS.Timeout
  /** Invalidations made while Redis was unreachable, published when it is back. */
  #pending: Invalidation[] = []

  constructor(options: RedisTierOptions) {
    this.#epochs = options.epochs
    this.#logger = options.logger
    this.#onApplied = options.onApplied
    this.#onRemote = options.onRemote
    this.#onReset = options.onReset
    const url = new URL(options.url)
    const cluster = url.searchParams.get('cluster') === 'true' || url.searchParams.get('cluster') === '1'
    url.searchParams.delete('cluster')
    const common = {
      commandTimeout: options.commandTimeoutMs ?? 250,
      // Never queue commands while disconnected: a request must fall back to the database now,
      // not wait for Redis to come back.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
      lazyConnect: true,
    }
    const make = (): Client =>
      cluster
        ? new Cluster([{ host: url.hostname, port: Number(url.port || 6379) }], {
            redisOptions: { ...common, ...(url.password ? { password: decodeURIComponent(url.password) } : {}) },
            enableOfflineQueue: false,
            clusterRetryStrategy: common.retryStrategy,
            lazyConnect: true,
          })
        : new Redis(url.toString(), common)
    this.#cmd = make()
    this.#sub = make()
    for (const [name, c] of [['command', this.#cmd], ['subscriber', this.#sub]] as const) {
      c.on('error', (err: Error) => this.#logger.debug({ err: err.message, connection: name }, 'redis error'))
      c.on('end', () => undefined)
    }
    this.#sub.on('close', () => this.#outOfStep('subscriber connection closed'))
    this.#cmd.on('close', () => this.#outOfStep('command connection closed'))
    this.#sub.on('message', (_channel: string, message: string) => this.#receive(message))
    // The one way back into step: tried whenever a connection comes up, and every second.
    this.#sub.on('ready', () => void this.#resync())
    this.#cmd.on('ready', () => void this.#resync())
    this.#timer = setInterval(() => {
      if (!this.#inStep) void this.#resync()
    }, 1000)
    this.#timer.unref()
  }

  /** Connects both connections; resolves even if Redis is down (the tier then reports unhealthy). */
  async start(): Promise<void> {
    await Promise.allSettled([this.#cmd.connect(), this.#sub.connect()])
  }

  /** Both connections up, the fan-out subscribed and nothing missed: the cache can be trusted. */
  get healthy(): boolean {
    return this.#inStep && !this.#closed && this.#cmd.status === 'ready' && this.#sub.status === 'ready'
  }

  #outOfStep(why: string): void {
    if (this.#inStep) this.#logger.warn({ why }, 'redis tier unavailable; serving from the database until it is back')
    this.#inStep = false
  }

  /**
   * Gets back in step after any doubt: subscribe, publish what was queued, forget the local cache
   * (messages may have been missed meanwhile), learn the current sequence number.
   */
  #resync(): Promise<void> {
    if (this.#closed || this.#cmd.status !== 'ready' || this.#sub.status !== 'ready') return Promise.resolve()
    this.#resyncing ??= (async () => {
      try {
        await this.#sub.subscribe(CHANNEL)
        const pending = this.#pending
        this.#pending = []
        for (const [i, inv] of pending.entries()) {
          try {
            await this.#bump(inv)
          } catch (err) {
            this.#pending.push(...pending.slice(i))
            throw err
          }
        }
        this.#onReset()
        this.#epochs.observe(Number((await this.#cmd.get(SEQ_KEY)) ?? 0))
        if (!this.#inStep) this.#logger.info('redis tier in step; sharing cache and invalidations')
        this.#inStep = true
      } catch (err) {
        this.#logger.debug({ err: (err as Error).message }, 'redis resync failed; will retry')
      } finally {
        this.#resyncing = undefined
      }
    })()
    return this.#resyncing
  }

  #receive(message: string): void {
    const bar = message.indexOf('|')
    const seq = Number(message.slice(0, bar))
    let event: { inv: Invalidation; at: number; node?: string }
    try {
      event = JSON.parse(message.slice(bar + 1)) as { inv: Invalidation; at: number; node?: string }
    } catch {
      return
    }
    this.#epochs.apply(event.inv, seq)
    // Messages from nodes that do not say who they are count as remote (the side effects are idempotent).
    if (event.node !== this.#nodeId) this.#onRemote?.(event.inv)
    this.#onApplied?.(event.inv, seq, event.at)
  }

  async #flushPending(): Promise<void> {
    const pending = this.#pending
    this.#pending = []
    for (const inv of pending) await this.publish(inv).catch(() => this.#pending.push(inv))
  }

  /**
   * The global sequence number a read notes before it runs. Throws when Redis is unavailable
   * (the caller then bypasses the cache).
   */
  async snapshot(): Promise<number> {
    const seq = Number((await this.#cmd.get(SEQ_KEY)) ?? 0)
    this.#epochs.observe(seq)
    return seq
  }

  /**
   * Publishes an invalidation to every node and applies it locally with its global number.
   * When Redis cannot take it, it is queued and the node steps out of the tier (its cache is
   * bypassed) until it has published the queue and resynchronised.
   */
  async publish(inv: Invalidation): Promise<void> {
    try {
      if (!this.healthy) throw new Error('redis tier unavailable')
      await this.#bump(inv)
    } catch (err) {
      this.#pending.push(inv)
      this.#outOfStep(`invalidation not published: ${(err as Error).message}`)
      this.#logger.warn({ kind: inv.kind }, 'invalidation queued until redis is back; other nodes may serve older results until then')
    }
  }

  async #bump(inv: Invalidation): Promise<void> {
    const fields = invalidationFields(inv)
    const seq = Number(await this.#cmd.eval(BUMP_SCRIPT, 2, SEQ_KEY, EPOCHS_KEY, JSON.stringify({ inv, at: Date.now(), node: this.#nodeId }), ...fields))
    this.#epochs.apply(inv, seq)
  }

  /** Strict mode: true when Redis confirms nothing `deps` depends on moved after `since`. */
  async confirm(deps: Dependencies, since: number): Promise<boolean> {
    const fields = dependencyFields(deps)
    const values = await this.#cmd.hmget(EPOCHS_KEY, ...fields)
    for (const v of values) if (v !== null && Number(v) > since) return false
    return true
  }

  async getEntry(key: string): Promise<SharedEntry | undefined> {
    const raw = await this.#cmd.getBuffer(entryKey(key))
    return raw ? decodeEntry(raw) : undefined
  }

  async setEntry(key: string, entry: SharedEntry, ttlMs: number): Promise<void> {
    await this.#cmd.set(entryKey(key), encodeEntry(entry), 'PX', Math.max(1, Math.ceil(ttlMs)))
  }

  /** Tries to become the one node filling `key` for `ms`. */
  async lease(key: string, ms: number): Promise<boolean> {
    return (await this.#cmd.set(leaseKey(key), this.#nodeId, 'PX', ms, 'NX')) === 'OK'
  }

  async release(key: string): Promise<void> {
    await this.#cmd.eval(RELEASE_SCRIPT, 1, leaseKey(key), this.#nodeId)
  }

  async leaseHeld(key: string): Promise<boolean> {
    return (await this.#cmd.exists(leaseKey(key))) === 1
  }

  async close(): Promise<void> {
    this.#closed = true
    clearInterval(this.#timer)
    this.#sub.removeAllListeners('close')
    this.#cmd.disconnect()
    this.#sub.disconnect()
  }
}

function digest(key: string): string {
  return createHash('sha256').update(key, 'latin1').digest('base64url')
}
const entryKey = (key: string) => `sluice:e:${digest(key)}`
const leaseKey = (key: string) => `sluice:l:${digest(key)}`

function encodeEntry(e: SharedEntry): Buffer {
  const header = Buffer.from(
    JSON.stringify({ v: 1, deps: e.deps, filledSeq: e.filledSeq, producedAt: e.producedAt, lastModified: e.lastModified, signature: e.signature }),
  )
  const len = Buffer.alloc(4)
  len.writeUInt32BE(header.length)
  return Buffer.concat([len, header, e.payload])
}

function decodeEntry(raw: Buffer): SharedEntry | undefined {
  try {
    const len = raw.readUInt32BE(0)
    const h = JSON.parse(raw.subarray(4, 4 + len).toString('utf8')) as Omit<SharedEntry, 'payload'> & { v: number }
    if (h.v !== 1) return undefined
    return { deps: h.deps, filledSeq: h.filledSeq, producedAt: h.producedAt, lastModified: h.lastModified, signature: h.signature, payload: raw.subarray(4 + len) }
  } catch {
    return undefined // a corrupt entry is a miss, never an error
  }
}
