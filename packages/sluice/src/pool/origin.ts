// An origin database of either family. Both pools share the same surface (id, settings,
// defaultSchema, stats, close); `provider` tells the doors and the executor which driver,
// adapter and SQL analyser apply.
import type { Logger } from 'pino'
import { MysqlOriginPool, isMysqlUrl } from './mysql-pool.js'
import { OriginPool } from './origin-pool.js'
import type { OriginSettings } from './origin-url.js'

export type Origin = OriginPool | MysqlOriginPool
export type OriginProvider = Origin['provider']

export function createOrigin(settings: OriginSettings, options: { statementTimeoutMs: number; logger: Logger }): Origin {
  return isMysqlUrl(settings.url) ? new MysqlOriginPool(settings, options) : new OriginPool(settings, options)
}
