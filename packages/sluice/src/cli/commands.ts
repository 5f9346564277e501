// Small operator commands: check-config, invalidate (keys: see ./keys.ts).
import { parseArgs } from 'node:util'
import { loadConfig, ConfigError } from '../config/load.js'
import { parseStartOptions } from './start-options.js'

export const CHECK_CONFIG_HELP = `Usage: sluice check-config [--config <file>] [start options…]

Validates the configuration that "sluice start" would use (the same flags, env vars, config file) without
starting anything. Exit code 0 when valid, 2 with the problem (naming the field) otherwise.`

export const INVALIDATE_HELP = `Usage: sluice invalidate (--tag <tag>… | --all) --url <http(s)://sluice:4466> --api-key <key>

Invalidates cached results of the key's tenant on a running Sluice (POST /invalidate).
Env: SLUICE_URL, SLUICE_API_KEY.`

export function checkConfig(args: string[]): number {
  const { help, flags } = parseStartOptions(args)
  if (help) {
    console.log(CHECK_CONFIG_HELP)
    return 0
  }
  const config = loadConfig(flags)
  if (config.tenants.length === 0) throw new ConfigError('nothing to serve: give --origin <database-url> (or tenants in --config)')
  console.log(`configuration is valid: ${config.tenants.length} tenant(s) (${config.tenants.map((t) => t.name).join(', ')}), HTTP port ${config.http.port}` +
    `${config.pg ? `, wire port ${config.pg.port}` : ''}${config.redis ? ', Redis tier' : ''}`)
  return 0
}

export async function invalidate(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      tag: { type: 'string', multiple: true },
      all: { type: 'boolean' },
      url: { type: 'string' },
      'api-key': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  })
  if (values.help) {
    console.log(INVALIDATE_HELP)
    return 0
  }
  const url = (values.url as string | undefined) ?? process.env.SLUICE_URL
  const key = (values['api-key'] as string | undefined) ?? process.env.SLUICE_API_KEY
  const tags = values.tag as string[] | undefined
  if (!url || !key || (!values.all && !tags?.length) || (values.all && tags?.length)) {
    throw new ConfigError('give --url, --api-key and either --tag <tag>… or --all')
  }
  const res = await fetch(new URL('/invalidate', url), {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tags: values.all ? 'all' : tags }),
  })
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string }
    console.error(`sluice: invalidate failed: ${res.status} ${body.code ?? ''} ${body.message ?? ''}`.trim())
    return 1
  }
  console.log(`invalidated ${values.all ? 'everything of the tenant' : tags!.join(', ')} (request ${res.headers.get('cf-ray') ?? 'unspecified'})`)
  return 0
}
