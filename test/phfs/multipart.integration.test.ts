import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { syncPair } from '../../sync-engine/controller/syncPair.js';
import type { StateStore } from '../../sync-engine/state/store.js';
import { startPhfsLab } from './helpers.js';
import type { PhfsLab } from './helpers.js';

const childScript = fileURLToPath(new URL('./syncChild.ts', import.meta.url));
const MiB = 1024 * 1024;

let lab: PhfsLab;
let store: StateStore;
let work: string;

beforeAll(async () => {
  lab = await startPhfsLab();
  lab.useUser('alice');
  store = lab.openStore();
  work = await mkdtemp(join(tmpdir(), 'tether-phfs-mp-'));
}, 60_000);
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
  await lab.stop();
});

/** The journal's multipart records (the metadata cache lives there too). */
function uploads(pairId: number): string[] {
  return store
    .journalList(pairId)
    .map((r) => r.key)
    .filter((key) => key.startsWith('s3-upload:'));
}

function uploadParts(pairId: number): { n: number }[] {
  for (const record of store.journalList(pairId)) {
    if (record.key.startsWith('s3-upload:')) return (record.value as { parts: { n: number }[] }).parts;
  }
  return [];
}

/**
 * Finished parts from the first on, without a gap: where a resume starts. Parts finish out of order (8 are in
 * flight), and the source is read in order, so a finished part after a gap is sent again.
 */
function leadingParts(pairId: number): number {
  const done = new Set(uploadParts(pairId).map((p) => p.n));
  let n = 0;
  while (done.has(n + 1)) n++;
  return n;
}

async function waitFor<T>(probe: () => T | undefined, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function content(size: number, seed: number): Buffer {
  const buffer = Buffer.alloc(size);
  for (let i = 0; i + 4 <= size; i += 4096) buffer.writeUInt32LE((i * 2654435761 + seed) >>> 0, i);
  return buffer;
}

it('an upload killed by SIGKILL resumes in a fresh process without sending its finished leading parts again', async () => {
  const local = join(work, 'resume');
  await mkdir(local, { recursive: true });
  const size = 48 * MiB + 5;
  const big = content(size, 1);
  await writeFile(join(local, 'big.bin'), big);
  const pair = store.addPair({
    name: 'resume',
    localPath: local,
    remoteUrl: 'phfs://vision/mp/resume',
    mode: 'push',
    compare: 'size-mtime',
    ignore: [],
  });
  // Slow every request down so the kill lands between parts.
  await lab.setFaults({ s3: { latencyMs: 400 } });
  const child = spawn(process.execPath, ['--import', 'tsx', childScript, join(lab.dir, 'home', 'state.db'), 'resume'], {
    env: { ...process.env, ...lab.env('alice') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, signal) => resolve(signal)));
  try {
    await waitFor(() => (leadingParts(pair.id) >= 2 ? true : undefined), 120_000);
  } finally {
    child.kill('SIGKILL');
  }
  expect(await exited, stderr).toBe('SIGKILL');
  await lab.setFaults({ s3: {} });
  const finished = leadingParts(pair.id);
  expect(finished).toBeGreaterThanOrEqual(2);
  // Nothing appeared under the final name: a multipart upload is invisible until completed. Only Tether's
  // zero-byte marker (under the engine's partial name) says whose upload it is.
  const during = await lab.keys('groups/vision/mp/resume/');
  expect(during).toHaveLength(1);
  expect(during[0]).toMatch(/^groups\/vision\/mp\/resume\/\.tether-partial-[0-9a-f]{16}$/);

  const summary = await syncPair(store, 'resume');
  expect(summary.problems).toEqual([]);
  expect(summary.uploaded).toBe(1);
  // Bytes sent this time: only what the finished leading parts did not cover (8 MiB parts).
  expect(summary.bytes).toBeLessThanOrEqual(size - finished * 8 * MiB);
  const stored = await lab.get('groups/vision/mp/resume/big.bin');
  expect(stored.length).toBe(big.length);
  expect(stored.equals(big)).toBe(true);
  expect(uploads(pair.id)).toEqual([]);
  expect(await lab.keys('groups/vision/mp/resume/')).toEqual(['groups/vision/mp/resume/big.bin']);
}, 240_000);

it('an interrupted upload of a version that no longer exists is dropped (aborted), and the new one goes up whole', async () => {
  const local = join(work, 'abandon');
  await mkdir(local, { recursive: true });
  await writeFile(join(local, 'big.bin'), content(24 * MiB, 2));
  const pair = store.addPair({
    name: 'abandon',
    localPath: local,
    remoteUrl: 'phfs://vision/mp/abandon',
    mode: 'push',
    compare: 'size-mtime',
    ignore: [],
  });
  await lab.setFaults({ s3: { latencyMs: 400 } });
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', childScript, join(lab.dir, 'home', 'state.db'), 'abandon'],
    {
      env: { ...process.env, ...lab.env('alice') },
      stdio: ['ignore', 'ignore', 'ignore'],
    },
  );
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  try {
    await waitFor(() => (uploadParts(pair.id).length >= 1 ? true : undefined), 120_000);
  } finally {
    child.kill('SIGKILL');
  }
  await exited;
  await lab.setFaults({ s3: {} });
  expect(uploads(pair.id)).toHaveLength(1);

  const changed = content(20 * MiB, 3);
  await writeFile(join(local, 'big.bin'), changed);
  await utimes(join(local, 'big.bin'), 1_750_000_000, 1_750_000_000);
  const summary = await syncPair(store, 'abandon');
  expect(summary.problems).toEqual([]);
  expect(summary.bytes).toBe(changed.length);
  expect((await lab.get('groups/vision/mp/abandon/big.bin')).equals(changed)).toBe(true);
  // The old version's upload is no longer in the journal: it was aborted as a stale temporary.
  expect(uploads(pair.id)).toEqual([]);
}, 240_000);
