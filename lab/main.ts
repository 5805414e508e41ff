#!/usr/bin/env node
// A small entry for running the lab without the tether CLI: `node dist/lab/main.js start --dir DIR`.
import { labStartUsage, runLabStart } from './cli.js';

const [command, ...rest] = process.argv.slice(2);
if (command !== 'start') {
  process.stderr.write(`${labStartUsage}\n`);
  process.exit(2);
}
process.exitCode = await runLabStart(rest);
