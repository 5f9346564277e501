// Programmatic API: embed Sluice in another Node process (tests, custom servers).
export { startSluice, type RunningSluice } from './server/sluice.js'
export { runDev, type RunningDev } from './server/dev.js'
export { loadConfig, ConfigError, type CliOptions } from './config/load.js'
export type { SluiceConfig, Limits, TenantConfig } from './config/schema.js'
export { hashApiKey, formatKeyHash, generateApiKey } from './config/api-keys.js'
export { SUPPORTED_CLIENT_LINES, describeSupported } from './executor/registry.js'
