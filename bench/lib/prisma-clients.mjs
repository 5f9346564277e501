// Loads a real generated Prisma client (fixtures/prisma-<version>/generated/client, written by
// scripts/generate-clients.mjs) with the @prisma/adapter-pg of the same fixture and the
// @prisma/extension-accelerate it resolves. Mirrors packages/sluice/test/e2e/clients.ts.
//
// The generated client is TypeScript: ./register-ts.mjs installs a loader hook that transpiles it
// with the repository's `typescript` (no tsx needed on Node 20).
import './register-ts.mjs'
import { existsSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { pathToFileURL } from 'node:url'

function packageJsonFrom(fromFile, pkg) {
  for (const dir of createRequire(fromFile).resolve.paths(pkg) ?? []) {
    const candidate = join(dir, pkg, 'package.json')
    if (existsSync(candidate)) return candidate
  }
  throw new Error(`cannot find ${pkg} from ${fromFile}`)
}

async function importFrom(fromFile, pkg) {
  const pkgJsonPath = packageJsonFrom(fromFile, pkg)
  const version = JSON.parse(readFileSync(pkgJsonPath, 'utf8')).version
  const entry = createRequire(fromFile).resolve(pkg)
  return { version, module: await import(pathToFileURL(entry).href), dir: dirname(pkgJsonPath) }
}

export async function loadPrismaClient(repoRoot, version = '7.10') {
  const fixture = join(repoRoot, 'fixtures', `prisma-${version}`)
  const clientFile = join(fixture, 'generated', 'client', 'client.ts')
  if (!existsSync(clientFile)) throw new Error(`${clientFile} does not exist: run \`node scripts/generate-clients.mjs\``)
  const generated = await import(pathToFileURL(clientFile).href)
  const clientVersion = generated.Prisma.prismaVersion.client
  const runtimeVersion = JSON.parse(readFileSync(packageJsonFrom(clientFile, '@prisma/client'), 'utf8')).version
  const adapter = await importFrom(join(fixture, 'package.json'), '@prisma/adapter-pg')
  const accelerate = await importFrom(join(fixture, 'package.json'), '@prisma/extension-accelerate')
  for (const [what, v] of [
    ['client', clientVersion],
    ['@prisma/client runtime', runtimeVersion],
    ['@prisma/adapter-pg', adapter.version],
  ]) {
    if (!v.startsWith(`${version}.`)) throw new Error(`fixture prisma-${version} loaded ${what} ${v}`)
  }
  const pick = (m, name) => m[name] ?? m.default?.[name]
  return {
    PrismaClient: generated.PrismaClient,
    Prisma: generated.Prisma,
    PrismaPg: pick(adapter.module, 'PrismaPg'),
    withAccelerate: pick(accelerate.module, 'withAccelerate'),
    versions: { client: clientVersion, runtime: runtimeVersion, adapterPg: adapter.version, extensionAccelerate: accelerate.version },
  }
}
