// Module-loader hooks (node:module register) that let plain Node 20 import the TypeScript files
// the `prisma-client` generator emits (fixtures/prisma-*/generated/client/*.ts). Each .ts file is
// transpiled on load with TypeScript's transpileModule (types stripped, no type checking); the
// generated code imports its siblings with explicit `.ts` extensions, which Node's default
// resolver already finds, so only `load` is needed. Node >= 22.18 (type stripping) and tsx would
// make this file unnecessary.
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

let ts

export async function load(url, context, nextLoad) {
  if (!url.startsWith('file:') || !/\.(ts|mts)$/.test(url)) return nextLoad(url, context)
  ts ??= createRequire(import.meta.url)('typescript')
  const path = fileURLToPath(url)
  const source = await readFile(path, 'utf8')
  const out = ts.transpileModule(source, {
    fileName: path,
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      // Keep `import "./x.ts"` as written: the files are loaded through this hook again.
      allowImportingTsExtensions: true,
      sourceMap: false,
      inlineSourceMap: false,
    },
  })
  return { format: 'module', source: out.outputText, shortCircuit: true }
}
