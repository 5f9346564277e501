// Every command and subcommand answers --help with its usage and exit code 0.
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { SLUICE_BIN } from './process.js'

const COMMANDS = [
  [],
  ['start'],
  ['dev'],
  ['check-config'],
  ['keys'],
  ['keys', 'create'],
  ['keys', 'list'],
  ['keys', 'revoke'],
  ['invalidate'],
  ['stats'],
  ['version'],
]

describe('sluice --help', () => {
  for (const command of COMMANDS) {
    // -h is the same option everywhere; checking it on a few keeps the test short.
    for (const flag of command.length === 0 || command[0] === 'keys' ? ['--help', '-h'] : ['--help']) {
      it(`sluice ${[...command, flag].join(' ')}`, () => {
        // execFileSync throws on a non-zero exit code.
        const out = execFileSync(process.execPath, [SLUICE_BIN, ...command, flag], { env: { ...process.env, SLUICE_CONFIG: '' } }).toString()
        expect(out.startsWith(`Usage: sluice ${command.length === 0 ? '<command>' : command.join(' ')}`)).toBe(true)
      })
    }
  }
})
