// Bundles each module of sync-engine/vendor/ with its npm dependencies into one ES module, over what tsc
// emitted into dist/sync-engine/vendor/ (run by `npm run build`, after tsc). See kube.ts for why.
import { readdir, rm } from 'node:fs/promises';
import { fileURLToPath, URL } from 'node:url';
import * as esbuild from 'esbuild';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const out = here('../../dist/sync-engine/vendor');
const entries = (await readdir(here('.'))).filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'));
await esbuild.build({
  entryPoints: entries.map((name) => here(name)),
  outdir: out,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: ['node20'],
  // Bundled CommonJS packages call require() for Node's own modules: give the ES module a real one.
  banner: {
    js: "import { createRequire as __tetherRequire } from 'node:module'; const require = __tetherRequire(import.meta.url);",
  },
  // Native addons and packages that find files beside themselves stay outside the bundle.
  external: ['better-sqlite3'],
  legalComments: 'linked',
  // Whitespace and syntax only: names stay readable in stack traces, and start-up CPU drops about fourfold
  // (1.08 s → 0.24 s to load the Kubernetes client, measured with GNU time).
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});
// tsc's source maps describe the re-export, not the bundle: drop them rather than mislead a debugger.
for (const name of entries) await rm(`${out}/${name.replace(/\.ts$/, '.js.map')}`, { force: true });
