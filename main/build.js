// Builds the Electron side into dist/main (run by `npm run build`, after tsc has built the engine into dist/):
// - main.js, security.js: transpiled one to one (esbuild, no bundling), so `../sync-engine/...` imports resolve to
//   the engine tsc built and its worker scripts keep their paths. Types are checked by `npm run typecheck`.
// - preload.cjs: bundled, because a sandboxed preload is one CommonJS script that may require only 'electron'.
import { rm } from 'node:fs/promises';
import { fileURLToPath, URL } from 'node:url';
import * as esbuild from 'esbuild';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const out = here('../dist/main');
await rm(out, { recursive: true, force: true });
await esbuild.build({
  entryPoints: [here('main.ts'), here('security.ts')],
  outdir: out,
  bundle: false,
  platform: 'node',
  format: 'esm',
  target: ['node22'],
  sourcemap: true,
  logLevel: 'warning',
});
await esbuild.build({
  entryPoints: [here('preload.ts')],
  outfile: `${out}/preload.cjs`,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: ['node22'],
  external: ['electron'],
  logLevel: 'warning',
});
