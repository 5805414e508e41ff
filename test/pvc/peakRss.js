// Preloaded into the tether CLI (NODE_OPTIONS=--import=...) by the PVC memory test: writes the process's
// peak resident set (getrusage's maxRSS, kept by the kernel) in bytes to $TETHER_TEST_RSS_FILE at exit.
import { writeFileSync } from 'node:fs';
import process from 'node:process';

const file = process.env['TETHER_TEST_RSS_FILE'];
if (file !== undefined) process.on('exit', () => writeFileSync(file, String(process.resourceUsage().maxRSS * 1024)));
