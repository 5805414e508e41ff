// Bundles the renderer (React) into dist/renderer with esbuild: app.js, app.css, index.html, icon.svg.
// `node renderer/build.js [--watch]`; part of `npm run build`.
import { copyFile, mkdir } from 'node:fs/promises';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';
import * as esbuild from 'esbuild';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const out = here('../dist/renderer/');
await mkdir(out, { recursive: true });
const options = {
  entryPoints: { app: here('src/main.tsx') },
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['chrome120'],
  outdir: out,
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
};
for (const file of ['index.html', 'app.css', 'icon.svg']) await copyFile(here(file), `${out}${file}`);
if (process.argv.includes('--watch')) {
  const context = await esbuild.context(options);
  await context.watch();
} else {
  await esbuild.build(options);
}
