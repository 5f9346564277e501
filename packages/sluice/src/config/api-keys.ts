import { createHash, randomBytes } from 'node:crypto'

/** sha256 digest of an API key: what Sluice keeps in memory and in config files. */
export function hashApiKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest()
}

/** `sha256:<hex>`, the stored form of a key. */
export function formatKeyHash(hash: Buffer): string {
  return `sha256:${hash.toString('hex')}`
}

export function parseKeyHash(stored: string): Buffer {
  return Buffer.from(stored.slice('sha256:'.length), 'hex')
}

/** A fresh random key, URL-safe so it can sit in `?api_key=` unescaped. */
export function generateApiKey(): string {
  return `sk_${randomBytes(24).toString('base64url')}`
}
