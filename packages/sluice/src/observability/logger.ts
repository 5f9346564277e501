import pino, { type Logger } from 'pino'

/** Structured JSON logs on stderr (stdout carries the startup banner and URLs). */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'sluice' } }, pino.destination({ fd: 2, sync: false }))
}
