// `node --import ./bench/lib/register-ts.mjs …`, or import it before importing any .ts file.
import { register } from 'node:module'

register('./ts-hooks.mjs', import.meta.url)
