// Request ids shared by every door of the process: a random per-process prefix and a counter, so
// they are cheap, unique across restarts, and one id never names two things. The HTTP door sends
// `<id>-<region>` as `cf-ray` (what withAccelerateInfo() reports as requestId); wire sessions get
// the same form, and log lines carry it as `requestId`.
import { randomBytes } from 'node:crypto'

const prefix = randomBytes(4).toString('hex')
let counter = 0

export function nextRequestId(region: string): string {
  return `${prefix}${(counter++).toString(16).padStart(6, '0')}-${region}`
}
