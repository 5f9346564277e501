import pino, { type DestinationStream, type Logger } from 'pino'

/**
 * Structured JSON logs on stderr (stdout carries the startup banner and URLs). `destination` lets
 * tests capture the stream. The redaction is a safety net: code never logs keys, passwords or
 * headers on purpose, and these paths make sure they would come out as "[redacted]" if it did.
 */
export function createLogger(level: string, destination: DestinationStream = pino.destination({ fd: 2, sync: false })): Logger {
  return pino(
    {
      level,
      base: { service: 'sluice' },
      redact: {
        paths: ['authorization', 'password', 'apiKey', 'api_key', '*.authorization', '*.password', '*.apiKey', '*.api_key', 'headers.authorization'],
        censor: '[redacted]',
      },
    },
    destination,
  )
}
