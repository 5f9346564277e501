// `sluice keys create|list|revoke`: API keys, stored only as hashes in the config file.
import { parseArgs } from 'node:util'
import { formatKeyHash, generateApiKey, hashApiKey } from '../config/api-keys.js'
import { addKey, listKeys, revokeKey } from '../config/key-store.js'
import { ConfigError } from '../config/load.js'

export const KEYS_HELP = `Usage: sluice keys <create|list|revoke> [options]

Manages API keys. Sluice stores only their sha256 hashes; a key is shown once, when it is created.
Each stored key has a short id (the first 8 hex digits of its hash) for list and revoke.

Commands:
  create   make a key; with --config, add its hash to a tenant in the config file
  list     show the keys in the config file (id, tenant, label, created; never a key)
  revoke   remove a key from the config file by its id

A running "sluice start" applies key changes when it receives SIGHUP (kill -HUP <pid>).
Run "sluice keys <command> --help" for the options of a command.`

export const KEYS_CREATE_HELP = `Usage: sluice keys create [--config <file> [--tenant <name>] [--label <text>]]

Prints a new random API key, once. Keep it in your application's secret store.

Without --config: also prints the hashed form ("sha256:…") to put in a tenant's "apiKeys".
With --config: writes the hash (with the label and creation time) into the tenant's "apiKeys" in
the file itself (atomically), and prints the key's id.

Options:
  --config <file>   JSON config file to add the key to
  --tenant <name>   tenant that owns the key (needed when the file has several tenants)
  --label <text>    a note for "keys list", e.g. the application or person using it
  -h, --help        this help`

export const KEYS_LIST_HELP = `Usage: sluice keys list --config <file>

Lists the API keys stored in the config file: id, tenant, label, creation time. Keys themselves are
never stored, so they cannot be shown. Plain "sha256:…" entries have no label or time.

Options:
  --config <file>   JSON config file [SLUICE_CONFIG]
  -h, --help        this help`

export const KEYS_REVOKE_HELP = `Usage: sluice keys revoke --config <file> <id>

Removes the key with this id (as shown by "sluice keys list"; a longer prefix of the hash also
works) from the config file. A tenant's last key cannot be revoked: create its replacement first.
Send SIGHUP to a running Sluice to apply (kill -HUP <pid>).

Options:
  --config <file>   JSON config file [SLUICE_CONFIG]
  -h, --help        this help`

function configPath(values: { config?: string | boolean | undefined }, help: string): string {
  const path = (values.config as string | undefined) ?? process.env.SLUICE_CONFIG
  if (!path) throw new ConfigError(`--config <file> is required\n\n${help}`)
  return path
}

export function keys(args: string[]): number {
  const [sub, ...rest] = args
  switch (sub) {
    case 'create':
      return create(rest)
    case 'list':
      return list(rest)
    case 'revoke':
      return revoke(rest)
    case '--help':
    case '-h':
    case 'help':
      console.log(KEYS_HELP)
      return 0
    default:
      console.error(sub === undefined ? KEYS_HELP : `sluice: unknown keys command "${sub}"\n\n${KEYS_HELP}`)
      return 2
  }
}

function create(args: string[]): number {
  const { values } = parseArgs({
    args,
    options: { config: { type: 'string' }, tenant: { type: 'string' }, label: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
  })
  if (values.help) {
    console.log(KEYS_CREATE_HELP)
    return 0
  }
  // Only an explicit --config writes the file (SLUICE_CONFIG in the environment does not), so
  // plain "keys create" stays the stateless command it always was.
  const path = values.config
  if (path === undefined && (values.tenant !== undefined || values.label !== undefined)) {
    throw new ConfigError('--tenant and --label need --config <file>')
  }
  if (values.label !== undefined && (values.label.length > 200 || /[\u0000-\u001f]/.test(values.label))) {
    throw new ConfigError('--label: use up to 200 printable characters')
  }
  const key = generateApiKey()
  const hash = formatKeyHash(hashApiKey(key))
  if (path === undefined) {
    console.log(`API key (shown once): ${key}`)
    console.log(`stored form for the config file: ${hash}`)
    return 0
  }
  // Write first: a key is printed only once it is stored.
  const stored = addKey(path, values.tenant, hash, values.label)
  console.log(`API key (shown once): ${key}`)
  console.log(`stored in ${path} for tenant "${stored.tenant}" with id ${stored.id}${stored.label ? ` (${stored.label})` : ''}`)
  console.log('send SIGHUP to a running Sluice to apply it (kill -HUP <pid>)')
  return 0
}

function list(args: string[]): number {
  const { values } = parseArgs({ args, options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true })
  if (values.help) {
    console.log(KEYS_LIST_HELP)
    return 0
  }
  const rows = listKeys(configPath(values, KEYS_LIST_HELP)).map((k) => [k.id, k.tenant, k.label ?? '-', k.created ?? '-'])
  const table = [['ID', 'TENANT', 'LABEL', 'CREATED'], ...rows]
  const widths = table[0]!.map((_, c) => Math.max(...table.map((r) => r[c]!.length)))
  for (const r of table) console.log(r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  '))
  return 0
}

function revoke(args: string[]): number {
  const { values, positionals } = parseArgs({ args, options: { config: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true })
  if (values.help) {
    console.log(KEYS_REVOKE_HELP)
    return 0
  }
  const path = configPath(values, KEYS_REVOKE_HELP)
  if (positionals.length !== 1) throw new ConfigError(`give exactly one key id\n\n${KEYS_REVOKE_HELP}`)
  const removed = revokeKey(path, positionals[0]!)
  console.log(`revoked key ${removed.id} of tenant "${removed.tenant}"${removed.label ? ` (${removed.label})` : ''} in ${path}`)
  console.log('send SIGHUP to a running Sluice to apply it (kill -HUP <pid>)')
  return 0
}
