import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredLiveSettings } from '../../sync-engine/live/settings.js';
import { PairRunner } from '../../sync-engine/live/pairRunner.js';
import type { SyncMode } from '../../sync-engine/core/plan.js';
import { filesBelow, livePair, put, waitFor, type LivePair } from './harness.js';

/** Checkpoint-aware pulls and selective sync, through a real runner on real folders, with a fake clock. */
let pair: LivePair | undefined;
let runner: PairRunner | undefined;
afterEach(async () => {
  await runner?.stop();
  pair?.cleanup();
  runner = undefined;
  pair = undefined;
});

const QUIET = 60_000;
let clock = 1_800_000_000_000;

async function start(live: StoredLiveSettings, mode: SyncMode = 'two-way'): Promise<{ p: LivePair; r: PairRunner }> {
  const p = livePair({ pollIntervalMs: 600_000, rescanIntervalMs: 600_000, ...live }, mode);
  const r = new PairRunner({ store: p.store, name: 'p', watchLocal: false, now: () => clock });
  pair = p;
  runner = r;
  await r.start();
  await waitFor('the first sync', () => r.status.cycles === 1 && r.status.state === 'idle');
  return { p, r };
}

/** Triggers one sync and waits for it to finish. */
async function cycle(r: PairRunner): Promise<void> {
  const before = r.status.cycles;
  r.trigger();
  await waitFor('a sync', () => r.status.cycles === before + 1 && r.status.state === 'idle');
}

describe('checkpoint-aware pulls', () => {
  it('a remote file still growing is not pulled until its size and mtime held for the quiet period', async () => {
    const { p, r } = await start({ checkpoints: { quietMs: QUIET } });
    put(p.remote, 'run/model.ckpt', 'a'.repeat(1000), 1_700_000_000);
    put(p.remote, 'run/old-note.txt', 'n', 1_600_000_000);
    await cycle(r);
    expect(existsSync(join(p.local, 'run/model.ckpt'))).toBe(false);
    expect(r.status.held).toBe(2);
    expect(p.store.live.loadObservations(p.store.requirePair('p').id).get('run/model.ckpt')).toMatchObject({
      size: 1000,
      since: clock,
    });

    clock += QUIET / 2;
    appendFileSync(join(p.remote, 'run/model.ckpt'), 'b'.repeat(1000)); // still being written
    await cycle(r);
    expect(existsSync(join(p.local, 'run/model.ckpt'))).toBe(false);

    clock += QUIET - 1;
    await cycle(r);
    expect(existsSync(join(p.local, 'run/model.ckpt'))).toBe(false);
    // The small file that did not change was released after its own quiet period.
    expect(readFileSync(join(p.local, 'run/old-note.txt'), 'utf8')).toBe('n');

    clock += 1;
    await cycle(r);
    expect(readFileSync(join(p.local, 'run/model.ckpt'), 'utf8')).toBe('a'.repeat(1000) + 'b'.repeat(1000));
    expect(r.status.held).toBeUndefined();
  });

  it('a marker releases a checkpoint folder at once; files outside gated folders are never held', async () => {
    const { p, r } = await start({ checkpoints: { markers: ['COMPLETE', '*.done'], gatedPaths: ['checkpoints'] } });
    put(p.remote, 'checkpoints/c1/weights.bin', 'w1');
    put(p.remote, 'checkpoints/c2/weights.bin', 'w2');
    put(p.remote, 'checkpoints/single.pt', 's');
    put(p.remote, 'notes.txt', 'hello');
    await cycle(r);
    expect(filesBelow(p.local)).toEqual(['notes.txt']);

    put(p.remote, 'checkpoints/c1/COMPLETE', '');
    put(p.remote, 'checkpoints/single.pt.done', '');
    await cycle(r);
    expect(filesBelow(p.local)).toEqual([
      'checkpoints/c1/COMPLETE',
      'checkpoints/c1/weights.bin',
      'checkpoints/single.pt',
      'checkpoints/single.pt.done',
      'notes.txt',
    ]);
    expect(r.status.held).toBe(1);
  });

  it('keep newest N pulls only the newest checkpoints and deletes nothing on either side', async () => {
    const { p, r } = await start({ checkpoints: { keepNewest: [{ glob: 'runs/checkpoint-*', count: 2 }] } }, 'pull');
    for (const n of [1, 2, 3, 4]) put(p.remote, `runs/checkpoint-${n}/w.bin`, `w${n}`, 1_700_000_000 + n * 100);
    await cycle(r);
    expect(filesBelow(p.local)).toEqual(['runs/checkpoint-3/w.bin', 'runs/checkpoint-4/w.bin']);

    put(p.remote, 'runs/checkpoint-5/w.bin', 'w5', 1_700_000_000 + 500);
    await cycle(r);
    // checkpoint-3 is no longer among the newest two, but what was pulled stays; the remote keeps all five.
    expect(filesBelow(p.local)).toEqual([
      'runs/checkpoint-3/w.bin',
      'runs/checkpoint-4/w.bin',
      'runs/checkpoint-5/w.bin',
    ]);
    expect(filesBelow(p.remote)).toHaveLength(5);
  });
});

describe('selective sync', () => {
  it('syncs included folders only, minus excluded ones, and never reads what it skips as deleted', async () => {
    const { p, r } = await start({ selection: { include: ['data'], exclude: ['data/tmp'] } });
    put(p.local, 'data/a.csv', 'a');
    put(p.local, 'data/tmp/scratch', 'x');
    put(p.local, 'code/train.py', 'print()');
    put(p.remote, 'models/big.bin', 'm');
    await cycle(r);
    expect(filesBelow(p.remote)).toEqual(['data/a.csv', 'models/big.bin']);
    expect(filesBelow(p.local)).toEqual(['code/train.py', 'data/a.csv', 'data/tmp/scratch']);
  });
});
