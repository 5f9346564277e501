#!/usr/bin/env node
// Generates the real Prisma clients used by Sluice's end-to-end tests.
//
// For every fixture workspace (fixtures/prisma-<version>), this runs THAT fixture's own `prisma`
// CLI on packages/sluice/test/e2e/prisma/schema.prisma (PostgreSQL) and writes the client into
// fixtures/prisma-<version>/generated/client/ (the whole generated/ folder is gitignored), and on
// packages/sluice/test/e2e/prisma-mysql/schema.prisma (MySQL/MariaDB) into generated-mysql/client/
// (same layout):
//   generated/schema.prisma   copy of the schema with `output = "./client"` filled in
//   generated/client/         the generated client (TypeScript: import generated/client/client.ts)
//   generated/.stamp.json     what it was generated from
// Because the generated files live inside the fixture, their `import "@prisma/client/runtime/client"`
// resolves to the fixture's own @prisma/client (nested node_modules for 7.9, the hoisted root one
// for 7.10). The `prisma-client` generator emits .ts files that import each other with `.ts`
// extensions, so they need a TypeScript-aware loader (vitest, tsx, or Node >= 22.18).
//
// A stamp file (generated/.stamp.json) records the schema, this script and the versions in use:
// when none of them changed, the fixture is skipped, so `npm test` stays fast.
//
// Offline quirk: `prisma generate` wants to download a schema-engine binary it does not need for
// generation. PRISMA_SCHEMA_ENGINE_BINARY pointing at any existing file (here: node itself)
// satisfies that check.
//
// Usage: node scripts/generate-clients.mjs [--force]
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const variants = [
  { provider: 'postgresql', schemaPath: join(root, 'packages/sluice/test/e2e/prisma/schema.prisma'), out: 'generated' },
  { provider: 'mysql', schemaPath: join(root, 'packages/sluice/test/e2e/prisma-mysql/schema.prisma'), out: 'generated-mysql' },
]
const fixtures = ['7.10', '7.9']
const force = process.argv.includes('--force')

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'))
}

/** Version (major.minor) part of a semver string. */
function minor(version) {
  return version.split('.').slice(0, 2).join('.')
}

/** The schema with the generator's output set to ./client (relative to the copy's folder). */
function schemaWithOutput(schema, schemaPath) {
  const replaced = schema.replace(
    /(generator\s+client\s*\{[^}]*?provider\s*=\s*"prisma-client")/,
    '$1\n  output   = "./client"',
  )
  if (replaced === schema) throw new Error(`could not find 'generator client { provider = "prisma-client" }' in ${schemaPath}`)
  return replaced
}

function generate(version, { schemaPath, out }) {
  const started = Date.now()
  const fixtureDir = join(root, 'fixtures', `prisma-${version}`)
  const outDir = join(fixtureDir, out)
  const clientDir = join(outDir, 'client')
  const rel = relative(root, clientDir)
  const fixtureRequire = createRequire(join(fixtureDir, 'package.json'))

  const cliPkgPath = fixtureRequire.resolve('prisma/package.json')
  const cliPkg = readJson(cliPkgPath)
  const cliBin = join(dirname(cliPkgPath), typeof cliPkg.bin === 'string' ? cliPkg.bin : cliPkg.bin.prisma)
  const runtimeVersion = readJson(fixtureRequire.resolve('@prisma/client/package.json')).version
  if (minor(cliPkg.version) !== version || minor(runtimeVersion) !== version) {
    throw new Error(
      `fixture prisma-${version} resolves prisma ${cliPkg.version} and @prisma/client ${runtimeVersion}; ` +
        'run npm install at the repository root',
    )
  }

  const schema = readFileSync(schemaPath, 'utf8')
  const stamp = {
    schemaSha256: createHash('sha256').update(schema).digest('hex'),
    scriptSha256: createHash('sha256').update(readFileSync(fileURLToPath(import.meta.url))).digest('hex'),
    cliVersion: cliPkg.version,
    runtimeVersion,
  }
  const stampPath = join(outDir, '.stamp.json')
  if (!force && existsSync(stampPath) && existsSync(join(clientDir, 'client.ts'))) {
    try {
      if (JSON.stringify(readJson(stampPath)) === JSON.stringify(stamp)) {
        console.log(`prisma ${version}: ${rel} is up to date (prisma ${cliPkg.version}, @prisma/client ${runtimeVersion})`)
        return
      }
    } catch {
      // unreadable stamp: regenerate
    }
  }

  rmSync(outDir, { recursive: true, force: true })
  mkdirSync(outDir, { recursive: true })
  const schemaCopy = join(outDir, 'schema.prisma')
  writeFileSync(schemaCopy, schemaWithOutput(schema, schemaPath))

  const result = spawnSync(process.execPath, [cliBin, 'generate', '--schema', schemaCopy], {
    cwd: fixtureDir,
    encoding: 'utf8',
    env: {
      ...process.env,
      PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
      PRISMA_HIDE_UPDATE_MESSAGE: '1',
      CHECKPOINT_DISABLE: '1',
      NO_COLOR: '1',
    },
  })
  if (result.status !== 0) {
    process.stderr.write(result.stdout ?? '')
    process.stderr.write(result.stderr ?? '')
    throw new Error(`prisma ${cliPkg.version} generate failed for fixture prisma-${version} (exit ${result.status})`)
  }

  // The generated client must report the fixture's version and load the fixture's own runtime.
  const classTs = readFileSync(join(clientDir, 'internal/class.ts'), 'utf8')
  const clientVersion = /"clientVersion":\s*"([^"]+)"/.exec(classTs)?.[1]
  if (clientVersion !== cliPkg.version) {
    throw new Error(`generated client in ${rel} reports clientVersion ${clientVersion}, expected ${cliPkg.version}`)
  }
  const generatedRequire = createRequire(join(clientDir, 'client.ts'))
  const linkedRuntime = readJson(generatedRequire.resolve('@prisma/client/package.json')).version
  if (linkedRuntime !== runtimeVersion) {
    throw new Error(`generated client in ${rel} would load @prisma/client ${linkedRuntime}, expected ${runtimeVersion}`)
  }

  writeFileSync(stampPath, `${JSON.stringify(stamp, null, 2)}\n`)
  console.log(
    `prisma ${version}: generated ${rel} with prisma ${cliPkg.version} (clientVersion ${clientVersion}, ` +
      `@prisma/client runtime ${linkedRuntime}) in ${Date.now() - started} ms`,
  )
}

try {
  for (const version of fixtures) for (const variant of variants) generate(version, variant)
} catch (error) {
  console.error(`generate-clients: ${error instanceof Error ? error.message : error}`)
  process.exit(1)
}
