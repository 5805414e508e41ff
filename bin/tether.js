#!/usr/bin/env node
// The published entry point: the compiled CLI. `npm install` builds it (the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const compiled = fileURLToPath(new URL('../dist/sync-engine/cli/main.js', import.meta.url));
if (!existsSync(compiled)) {
  process.stderr.write('tether: not built yet; run `npm run build` in the repository first\n');
  process.exit(1);
}
await import(compiled);
