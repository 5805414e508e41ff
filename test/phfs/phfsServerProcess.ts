/**
 * The lab's PHFS store in its own process, so a client killed mid-request (the SIGKILL tests) cannot disturb
 * the test runner. `node --import tsx phfsServerProcess.ts DATA_DIR` reads the credentials as one JSON line on
 * stdin, prints `{"endpoint": …}`, then applies each further stdin line as a fault spec and answers `ok`.
 */
import { createInterface } from 'node:readline';
import { LabFaults } from '../../lab/faults.js';
import type { FaultSpec } from '../../lab/faults.js';
import { startStandalonePhfs } from '../../lab/s3/phfs.js';
import type { PhfsCredential, PhfsServer } from '../../lab/s3/phfs.js';

// The lab's proxy leaves a rejected promise behind when a client dies mid-upload (reported to the lab's owner);
// that is exactly what the SIGKILL tests do, so such resets are expected here. Anything else still ends the store.
process.on('unhandledRejection', (error: unknown) => {
  if ((error as { code?: unknown } | null)?.code === 'ECONNRESET') return;
  process.stderr.write(`PHFS store: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});

const dataDir = process.argv[2];
if (dataDir === undefined) throw new Error('usage: phfsServerProcess.ts DATA_DIR');
const lines = createInterface({ input: process.stdin });
const faults = new LabFaults();
let server: PhfsServer | undefined;
for await (const line of lines) {
  if (server === undefined) {
    const credentials = JSON.parse(line) as PhfsCredential[];
    const started = await startStandalonePhfs(dataDir, credentials, { faults });
    server = started.server;
    process.stdout.write(`${JSON.stringify({ endpoint: started.endpoint })}\n`);
  } else {
    faults.apply(JSON.parse(line) as FaultSpec);
    process.stdout.write('ok\n');
  }
}
await server?.stop();
