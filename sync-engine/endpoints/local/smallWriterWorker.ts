/**
 * The small-file writer thread: puts complete small files in place with `commitSmallFileSync`, the very code
 * the main thread would run, while the main thread reads the next files; or, from one local folder to
 * another, reads them too (`copySmallFileSync`). See smallWriter.ts.
 */
import { parentPort } from 'node:worker_threads';
import { commitSmallFileSync, copySmallFileSync } from './smallFiles.js';
import type { WriterRequest, WriterResult } from './smallWriter.js';

if (parentPort === null) throw new Error('smallWriterWorker.ts runs only as a worker thread');
const port = parentPort;
port.on('message', (jobs: readonly WriterRequest[]) => {
  const results: WriterResult[] = jobs.map((job) =>
    'commit' in job
      ? { id: job.id, outcome: commitSmallFileSync(job.commit), bytes: 0 }
      : { id: job.id, ...copySmallFileSync(job.copy) },
  );
  port.postMessage(results);
});
