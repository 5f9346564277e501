// Shapes of the request bodies the Prisma 7 client and the Accelerate extension send.
import { z } from 'zod'

const record = z.record(z.string(), z.unknown())

export const queryBody = z.object({
  model: z.string().min(1).optional(),
  operation: z.string().min(1),
  plan: record,
  params: record,
  comments: z.record(z.string(), z.string()).optional(),
})
export type QueryBody = z.infer<typeof queryBody>

export const transactionStartBody = z.object({
  maxWait: z.number().int().positive().optional(),
  timeout: z.number().int().positive().optional(),
  isolationLevel: z.enum(['READ UNCOMMITTED', 'READ COMMITTED', 'REPEATABLE READ', 'SNAPSHOT', 'SERIALIZABLE']).optional(),
  newTxId: z.string().optional(),
})
export type TransactionStartBody = z.infer<typeof transactionStartBody>

/** Accelerate's documented tag rules: alphanumerics and `_`, 1–64 characters, at most 5. */
export const TAG_PATTERN = /^[A-Za-z0-9_]{1,64}$/
export const MAX_TAGS = 5

export const invalidateBody = z.object({
  tags: z.union([
    z.literal('all'),
    z
      .array(z.string().regex(TAG_PATTERN, 'tags may contain only letters, digits and "_" (1-64 characters)'))
      .min(1, 'give at least one tag, or "all"')
      .max(MAX_TAGS, `at most ${MAX_TAGS} tags per invalidate call`),
  ]),
})
export type InvalidateBody = z.infer<typeof invalidateBody>

/** The first problem of a failed parse, as one sentence naming the field. */
export function firstIssue(error: z.ZodError): string {
  const i = error.issues[0]
  if (!i) return 'invalid body'
  const path = i.path.length ? i.path.join('.') : 'body'
  return `${path}: ${i.message}`
}
