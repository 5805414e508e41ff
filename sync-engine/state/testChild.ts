/**
 * A separate process for the state store's integration tests (run with `node --import tsx`):
 *
 *   testChild.ts write <db> <pair>            writes numbered ancestor entries forever, printing
 *                                             "committed <n>" after each committed batch of 100
 *   testChild.ts race <db> <pair> <startAt>   at the given time (ms since the epoch) tries to lock the pair and
 *                                             prints {"won":true,"pid":…} or {"won":false,"code":…,"message":…};
 *                                             a winner holds the lock for 1.5 s
 *   testChild.ts hold <db> <pair>             locks the pair, prints "locked", and waits to be killed
 */
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { flattenError } from '../errors.js';
import { StateStore } from './store.js';
import { numberedEntry } from './testSupport.js';

const [mode, file, pair, startAt] = process.argv.slice(2);
if (mode === undefined || file === undefined || pair === undefined) {
  throw new Error('usage: testChild.ts write|race|hold <db> <pair> [startAt]');
}
const owner = { pid: process.pid, host: hostname(), purpose: `test ${mode}` };

function write(store: StateStore, pairId: number): never {
  const writer = store.ancestorWriter(pairId);
  for (let i = 0; ; i++) {
    writer.put(numberedEntry(i));
    // Pipes are written synchronously on Linux: the line is out before the next batch starts. No pause: the
    // process is busy writing (often inside a transaction) when it is killed.
    if (writer.pendingOps === 0) process.stdout.write(`committed ${i + 1}\n`);
  }
}

async function race(store: StateStore, pair: string): Promise<void> {
  await sleep(Math.max(0, Number(startAt) - Date.now()));
  try {
    const release = store.acquirePairLock(pair, owner);
    process.stdout.write(`${JSON.stringify({ won: true, pid: process.pid })}\n`);
    await sleep(1500);
    release();
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ won: false, ...flattenError(error) })}\n`);
  }
}

async function hold(store: StateStore, pair: string): Promise<void> {
  store.acquirePairLock(pair, owner);
  process.stdout.write('locked\n');
  await sleep(600_000);
}

const store = StateStore.open(file, { batch: { maxOps: 100, maxDelayMs: 600_000 } });
try {
  if (mode === 'write') write(store, store.requirePair(pair).id);
  else if (mode === 'race') await race(store, pair);
  else if (mode === 'hold') await hold(store, pair);
  else throw new Error(`unknown mode ${mode}`);
} finally {
  store.close();
}
