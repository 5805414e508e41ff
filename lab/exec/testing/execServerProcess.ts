/**
 * The exec test server in a process of its own, so a test can measure its memory. Prints `{"url": …}` on one
 * line when ready; on SIGTERM stops its sandboxes and exits.
 * Usage: node --import tsx execServerProcess.ts
 */
import { startExecTestServer } from './execTestServer.js';

const lab = await startExecTestServer();
process.stdout.write(`${JSON.stringify({ url: lab.url, pid: process.pid })}\n`);
process.once('SIGTERM', () => {
  void lab.close().then(() => process.exit(0));
});
