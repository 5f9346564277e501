// SCRAM-SHA-256 towards clients (RFC 5802 / 7677, as PostgreSQL speaks it). Sluice knows the
// route's password (from its origin URL), derives the SCRAM secret once, and verifies the client's
// proof; the password itself never travels.
import { createHash, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto'

export interface ScramSecret {
  salt: Buffer
  iterations: number
  storedKey: Buffer
  serverKey: Buffer
}

const hmac = (key: Buffer, data: string) => createHmac('sha256', key).update(data).digest()
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest()

export function scramSecret(password: string, iterations = 4096): ScramSecret {
  const salt = randomBytes(16)
  const salted = pbkdf2Sync(password.normalize('NFKC'), salt, iterations, 32, 'sha256')
  return { salt, iterations, storedKey: sha256(hmac(salted, 'Client Key')), serverKey: hmac(salted, 'Server Key') }
}

/** One SCRAM exchange. */
export class ScramExchange {
  #clientFirstBare = ''
  #serverFirst = ''
  #nonce = ''

  constructor(readonly secret: ScramSecret) {}

  /** Takes client-first-message, returns server-first-message. Throws on a malformed message. */
  serverFirst(clientFirst: string): string {
    // gs2 header: "n,," (no channel binding) or "y,," ; then client-first-message-bare
    const m = /^[ny],[^,]*,(.*)$/.exec(clientFirst)
    if (!m) throw new Error('malformed SCRAM client-first-message')
    this.#clientFirstBare = m[1]!
    const cnonce = /(?:^|,)r=([^,]+)/.exec(this.#clientFirstBare)?.[1]
    if (!cnonce) throw new Error('SCRAM client nonce missing')
    this.#nonce = cnonce + randomBytes(18).toString('base64')
    this.#serverFirst = `r=${this.#nonce},s=${this.secret.salt.toString('base64')},i=${this.secret.iterations}`
    return this.#serverFirst
  }

  /** Checks client-final-message; returns server-final-message, or undefined when the proof is wrong. */
  serverFinal(clientFinal: string): string | undefined {
    const proofAt = clientFinal.lastIndexOf(',p=')
    if (proofAt === -1) return undefined
    const withoutProof = clientFinal.slice(0, proofAt)
    const nonce = /(?:^|,)r=([^,]+)/.exec(withoutProof)?.[1]
    if (nonce !== this.#nonce) return undefined
    const proof = Buffer.from(clientFinal.slice(proofAt + 3), 'base64')
    const authMessage = `${this.#clientFirstBare},${this.#serverFirst},${withoutProof}`
    const clientSignature = hmac(this.secret.storedKey, authMessage)
    if (proof.length !== clientSignature.length) return undefined
    const clientKey = Buffer.alloc(proof.length)
    for (let i = 0; i < proof.length; i++) clientKey[i] = proof[i]! ^ clientSignature[i]!
    if (!timingSafeEqual(sha256(clientKey), this.secret.storedKey)) return undefined
    return `v=${hmac(this.secret.serverKey, authMessage).toString('base64')}`
  }
}
