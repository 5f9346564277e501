// Password proofs of the two MySQL authentication plugins Sluice speaks, on both sides:
// towards clients (checking what they send) and towards the origin (answering its challenge).
import { constants, createHash, publicEncrypt, timingSafeEqual } from 'node:crypto'

const sha1 = (...parts: Buffer[]) => {
  const h = createHash('sha1')
  for (const p of parts) h.update(p)
  return h.digest()
}
const sha256 = (...parts: Buffer[]) => {
  const h = createHash('sha256')
  for (const p of parts) h.update(p)
  return h.digest()
}

function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.alloc(a.length)
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i % b.length]!
  return out
}

/** mysql_native_password: SHA1(pw) XOR SHA1(scramble + SHA1(SHA1(pw))); empty for an empty password. */
export function nativeToken(password: string, scramble: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0)
  const stage1 = sha1(Buffer.from(password))
  return xor(stage1, sha1(scramble, sha1(stage1)))
}

/** caching_sha2_password fast path: SHA256(pw) XOR SHA256(SHA256(SHA256(pw)) + scramble). */
export function sha2Token(password: string, scramble: Buffer): Buffer {
  if (password === '') return Buffer.alloc(0)
  const stage1 = sha256(Buffer.from(password))
  return xor(stage1, sha256(sha256(stage1), scramble))
}

/** caching_sha2_password full authentication without TLS: the password, NUL-terminated, XOR the scramble, RSA-OAEP encrypted. */
export function sha2RsaEncrypt(password: string, scramble: Buffer, publicKeyPem: string): Buffer {
  return publicEncrypt({ key: publicKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING }, xor(Buffer.from(password + '\0'), scramble))
}

/** The inverse, for Sluice's own key: the cleartext password a client sent (NUL stripped). */
export function sha2RsaPassword(decrypted: Buffer, scramble: Buffer): string {
  const clear = xor(decrypted, scramble)
  const end = clear.indexOf(0)
  return clear.toString('utf8', 0, end < 0 ? clear.length : end)
}

export function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

/** A cleartext password (full authentication) as sent: NUL-terminated. */
export function cleartextPassword(data: Buffer): string {
  const end = data.indexOf(0)
  return data.toString('utf8', 0, end < 0 ? data.length : end)
}
