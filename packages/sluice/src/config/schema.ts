// One schema for Sluice's configuration. The config file, env vars and flags all feed it
// (see ./load.ts for precedence); everything downstream sees only the resolved `SluiceConfig`.
import { z } from 'zod'
import { parseDuration, parseSize } from './units.js'

const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseDuration(v)
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message })
    return z.NEVER
  }
})

const size = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseSize(v)
  } catch (e) {
    ctx.addIssue({ code: 'custom', message: (e as Error).message })
    return z.NEVER
  }
})

/** API keys are stored as `sha256:<64 hex>`, never in clear. */
export const API_KEY_HASH = /^sha256:[0-9a-f]{64}$/

/** Origins Sluice can front: PostgreSQL, and MySQL/MariaDB (HTTP door and MySQL wire door). */
export function isOriginUrl(u: string): boolean {
  try {
    return ['postgres:', 'postgresql:', 'mysql:', 'mariadb:'].includes(new URL(u).protocol)
  } catch {
    return false
  }
}

const HASHED_ONLY = 'API keys in a config file are stored hashed: "sha256:<64 hex digits>" (make one with `sluice keys create`, or printf %s "$KEY" | sha256sum)'

/**
 * One stored key: the bare `sha256:…` string, or the object `sluice keys create --config` writes
 * (hash plus a label and creation time for `keys list`). A bare string is checked on its own so that
 * a clear-text key gets the "stored hashed" message rather than a generic union error.
 */
const apiKeyEntry = z.union([
  z.string().regex(API_KEY_HASH, HASHED_ONLY),
  z
    .object({
      hash: z.string().regex(API_KEY_HASH, HASHED_ONLY),
      label: z.string().max(200).optional(),
      created: z.string().optional(),
    })
    .strict(),
])

export type ApiKeyEntry = z.infer<typeof apiKeyEntry>

export const ORIGIN_URL_MESSAGE = 'must be a postgres://, postgresql://, mysql:// or mariadb:// URL'

const originUrl = z.string().refine(isOriginUrl, { message: ORIGIN_URL_MESSAGE })

export const tenantSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'use 1-64 letters, digits, "_", "." or "-"'),
    origin: originUrl,
    apiKeys: z.array(apiKeyEntry).min(1, 'a tenant needs at least one API key'),
    /** Writes through Sluice invalidate cached results of the tables they wrote (default true). */
    invalidateOnWrite: z.boolean().optional(),
    /** With a Redis tier: eventual (default) or strict. */
    consistency: z.enum(['eventual', 'strict']).optional(),
    /** Wire door pooling: transaction (default) or session. */
    pgPoolMode: z.enum(['transaction', 'session']).optional(),
    /** How wire clients prove the origin URL's password: scram (default), md5 or cleartext. */
    pgAuth: z.enum(['scram', 'md5', 'cleartext']).optional(),
  })
  .strict()

/** A wire-door cache rule (Postgres and MySQL doors alike): a table and/or a pattern, ttl, swr, tags. */
const wireCacheRule = z
  .object({
    table: z.string().min(1).optional(),
    pattern: z
      .string()
      .refine((p) => {
        try {
          new RegExp(p)
          return true
        } catch {
          return false
        }
      }, 'not a valid regular expression')
      .optional(),
    ttl: duration.optional(),
    swr: duration.optional(),
    tags: z.array(z.string().regex(/^[A-Za-z0-9_]{1,64}$/)).max(5).optional(),
  })
  .strict()
  .refine((r) => r.table !== undefined || r.pattern !== undefined, 'a rule needs a table or a pattern')

export const fileConfigSchema = z
  .object({
    http: z
      .object({
        port: z.number().int().min(0).max(65535).optional(),
        host: z.string().optional(),
        tls: z.object({ cert: z.string(), key: z.string() }).strict().optional(),
      })
      .strict()
      .optional(),
    region: z.string().regex(/^[A-Za-z0-9]{1,16}$/, 'use 1-16 letters or digits').optional(),
    logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).optional(),
    limits: z
      .object({
        queryTimeout: duration.optional(),
        maxTransactionTimeout: duration.optional(),
        maxResponseSize: size.optional(),
        maxRequestSize: size.optional(),
      })
      .strict()
      .optional(),
    cache: z
      .object({
        maxSize: size.optional(),
        /** Invalidate calls per tenant per minute; 0 = unlimited. */
        invalidateRateLimit: z.number().int().min(0).optional(),
      })
      .strict()
      .optional(),
    admin: z
      .object({
        port: z.number().int().min(0).max(65535).optional(),
        host: z.string().optional(),
        enabled: z.boolean().optional(),
        /** Bearer token for the admin API's mutating endpoints (POST /api/invalidate). */
        token: z.string().min(16, 'use at least 16 characters (e.g. openssl rand -hex 24)').optional(),
      })
      .strict()
      .optional(),
    pg: z
      .object({
        /** Wire door port; 0 = any free port; omit the section to keep the default (6433). */
        port: z.number().int().min(0).max(65535).optional(),
        enabled: z.boolean().optional(),
        host: z.string().optional(),
        cache: z.enum(['off', 'auto']).optional(),
        /** With a certificate configured (http.tls), refuse clients that do not use TLS. */
        requireTls: z.boolean().optional(),
        autoTtl: duration.optional(),
        maxResultSize: size.optional(),
        rules: z.array(wireCacheRule).optional(),
      })
      .strict()
      .optional(),
    /** MySQL wire door (for tenants with mysql:// or mariadb:// origins). */
    mysql: z
      .object({
        /** Port; 0 = any free port; omit the section to keep the default (3307). */
        port: z.number().int().min(0).max(65535).optional(),
        enabled: z.boolean().optional(),
        host: z.string().optional(),
        cache: z.enum(['off', 'auto']).optional(),
        /** Authentication plugin clients are asked for: mysql_native_password (default) or caching_sha2_password. */
        auth: z.enum(['mysql_native_password', 'caching_sha2_password']).optional(),
        requireTls: z.boolean().optional(),
        autoTtl: duration.optional(),
        maxResultSize: size.optional(),
        rules: z.array(wireCacheRule).optional(),
      })
      .strict()
      .optional(),
    redis: z
      .object({
        url: z.string().refine((u) => /^rediss?:\/\//.test(u), 'must be a redis:// or rediss:// URL'),
        commandTimeout: duration.optional(),
      })
      .strict()
      .optional(),
    tenants: z.array(tenantSchema).optional(),
  })
  .strict()

export type FileConfig = z.infer<typeof fileConfigSchema>

export interface Limits {
  /** Whole-request budget for one query (pool wait + database time), ms. */
  queryTimeoutMs: number
  /** Largest interactive-transaction timeout a client may ask for, ms. */
  maxTransactionTimeoutMs: number
  /** Largest encoded response body, bytes. */
  maxResponseSize: number
  /** Largest request body accepted, bytes. */
  maxRequestSize: number
}

export interface TenantConfig {
  name: string
  origin: string
  invalidateOnWrite: boolean
  consistency: 'eventual' | 'strict'
  pgPoolMode: 'transaction' | 'session'
  pgAuth: 'scram' | 'md5' | 'cleartext'
  /** sha256 digests (32 bytes each) of the tenant's API keys. */
  apiKeyHashes: Buffer[]
}

export interface SluiceConfig {
  http: { port: number; host: string; tls?: { cert: string; key: string } }
  region: string
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'
  limits: Limits
  cache: { maxBytes: number; invalidateRateLimit: number }
  /**
   * Admin listener (/metrics, /api/stats, the dashboard); absent = off. Loopback unless configured
   * otherwise. Without `token`, the mutating endpoints (POST /api/invalidate) are refused.
   */
  admin?: { port: number; host: string; token?: string }
  /** Postgres wire door; absent = off. */
  pg?: {
    port: number
    host: string
    cache: 'off' | 'auto'
    requireTls: boolean
    autoTtlMs: number
    maxResultBytes: number
    rules: { table?: string; pattern?: string; ttlMs: number; swrMs: number; tags: string[] }[]
  }
  /** MySQL wire door; absent = off. It runs only when a tenant has a MySQL/MariaDB origin. */
  mysql?: {
    port: number
    host: string
    cache: 'off' | 'auto'
    auth: 'mysql_native_password' | 'caching_sha2_password'
    requireTls: boolean
    autoTtlMs: number
    maxResultBytes: number
    rules: { table?: string; pattern?: string; ttlMs: number; swrMs: number; tags: string[] }[]
  }
  /** Shared tier for several nodes; absent = this process only. */
  redis?: { url: string; commandTimeoutMs: number }
  tenants: TenantConfig[]
}

export const DEFAULT_CACHE = { maxBytes: 256 * 1024 * 1024, invalidateRateLimit: 0 }

/** Accelerate's base-plan limits. */
export const DEFAULT_LIMITS: Limits = {
  queryTimeoutMs: 10_000,
  maxTransactionTimeoutMs: 15_000,
  maxResponseSize: 5 * 1024 * 1024,
  maxRequestSize: 16 * 1024 * 1024,
}

export const DEFAULT_HTTP_PORT = 4466
export const DEFAULT_PG_PORT = 6433
export const DEFAULT_MYSQL_PORT = 3307
export const DEFAULT_ADMIN_PORT = 9466
