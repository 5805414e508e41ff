/**
 * The scan worker: runs a `Scanner` (scanner.ts) on a thread of its own, which keeps the main thread free and
 * lets two scans use two cores. See `scanProtocol.ts` for the conversation with the main thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ScanWorkerData } from './scanProtocol.js';
import { Scanner } from './scanner.js';

if (parentPort === null) throw new Error('scanWorker.ts runs only as a worker thread');
const port = parentPort;
new Scanner(workerData as ScanWorkerData, (message, transfer) => port.postMessage(message, transfer)).run();
