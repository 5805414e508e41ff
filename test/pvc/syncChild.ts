/**
 * One sync in its own process, so a test can SIGKILL it mid-transfer: `node --import tsx syncChild.ts
 * STATE_FILE PAIR`. Prints the summary as JSON.
 */
import { syncPair } from '../../sync-engine/controller/syncPair.js';
import { StateStore } from '../../sync-engine/state/store.js';

const [stateFile, pairName] = process.argv.slice(2);
if (stateFile === undefined || pairName === undefined) throw new Error('usage: syncChild.ts STATE_FILE PAIR');
const store = StateStore.open(stateFile);
try {
  const summary = await syncPair(store, pairName);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
} finally {
  store.close();
}
