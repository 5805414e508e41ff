import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isEngineTemporary } from '../../sync-engine/core/temporaries.js';
import { LiveService, setPaused } from '../../sync-engine/live/liveService.js';
import type { PairRunner } from '../../sync-engine/live/pairRunner.js';
import type { LiveStatus } from '../../sync-engine/live/status.js';
import { filesBelow, livePair, put, waitFor, type LivePair } from './harness.js';

let pair: LivePair | undefined;
let service: LiveService | undefined;
afterEach(async () => {
  await service?.stop();
  pair?.cleanup();
  service = undefined;
  pair = undefined;
});

function finished(path: string): boolean {
  return !path.split('/').some((segment) => isEngineTemporary(segment));
}

/**
 * Starts a live service for the test's pair `p` and resolves with its runner once the first sync is done and the
 * runner idle (`synced` tells the first sync by its result).
 */
async function watchPair(p: LivePair, synced: () => boolean): Promise<PairRunner> {
  service = new LiveService({ store: p.store });
  await service.start(['p']);
  const runner = service.runner('p')!;
  await waitFor('the first sync', () => synced() && runner.status.state === 'idle');
  return runner;
}

describe('tether watch (LiveService)', () => {
  it('10,000 files created in a burst make one sync', async () => {
    const p = livePair({
      pollIntervalMs: 600_000,
      rescanIntervalMs: 600_000,
      debounceMs: 1000,
      maxBatchWaitMs: 60_000,
    });
    pair = p;
    const statuses: LiveStatus[] = [];
    // What the pair's lock says while a live sync holds it (a `tether sync` refused by it repeats this).
    const lockedBy = new Set<string>();
    service = new LiveService({
      store: p.store,
      onStatus: (_name, status) => {
        statuses.push(status);
        if (status.state === 'syncing') lockedBy.add(p.store.pairLockHolder('p')?.purpose ?? 'no lock');
      },
    });
    await service.start(['p']);
    const runner = service.runner('p')!;
    await waitFor('the first sync', () => runner.status.cycles === 1 && runner.status.state === 'idle');

    for (let d = 0; d < 10; d++) {
      mkdirSync(join(p.local, `batch-${d}`));
      for (let f = 0; f < 1000; f++) writeFileSync(join(p.local, `batch-${d}`, `f${f}.txt`), `${d}/${f}`);
    }
    await waitFor('the burst synced', () => runner.status.cycles >= 2 && runner.status.state === 'idle', 90_000);
    // Nothing else is pending: a second sync would start within the debounce period.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(runner.status.cycles).toBe(2);
    expect(filesBelow(p.remote)).toHaveLength(10_000);
    expect(p.store.requirePair('p').lastResult).toMatchObject({ uploaded: 10_000 });
    expect(statuses.some((s) => s.progress !== undefined)).toBe(true);
    expect([...lockedBy]).toEqual(['live sync']);
  }, 120_000);

  it('a local change syncs only the changed paths; the poll (or a manual sync) brings the rest, and a deletion is planned from full scans', async () => {
    const p = livePair({ pollIntervalMs: 600_000, rescanIntervalMs: 600_000, debounceMs: 50, maxBatchWaitMs: 1000 });
    pair = p;
    put(p.local, 'keep.txt', 'keep');
    put(p.local, 'other.txt', 'other v1', 1_700_000_000);
    const runner = await watchPair(p, () => filesBelow(p.remote).length === 2);

    // Changed on the remote, outside what the watcher will report: a narrowed sync does not look there.
    put(p.remote, 'other.txt', 'other, changed on the remote', 1_700_000_100);
    put(p.local, 'new/f.txt', 'new');
    await waitFor('the new file sent', () => filesBelow(p.remote).includes('new/f.txt'));
    await waitFor('idle', () => runner.status.state === 'idle');
    expect(p.store.requirePair('p').lastResult).toMatchObject({ uploaded: 1, downloaded: 0 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(readFileSync(join(p.local, 'other.txt'), 'utf8')).toBe('other v1');

    runner.trigger(); // as the poll interval, `tether sync` or the app's "sync now" would
    await waitFor('the remote edit pulled', () => readFileSync(join(p.local, 'other.txt'), 'utf8') !== 'other v1');
    expect(readFileSync(join(p.local, 'other.txt'), 'utf8')).toBe('other, changed on the remote');

    rmSync(join(p.local, 'keep.txt'));
    await waitFor('the deletion sent', () => !filesBelow(p.remote).includes('keep.txt'));
    expect(filesBelow(p.remote)).toEqual(['new/f.txt', 'other.txt']);
  }, 60_000);

  it('a steady stream of local edits does not hold back the poll for remote changes', async () => {
    const p = livePair({ pollIntervalMs: 500, rescanIntervalMs: 600_000, debounceMs: 20, maxBatchWaitMs: 100 });
    pair = p;
    put(p.local, 'log.txt', 'line 0\n');
    await watchPair(p, () => filesBelow(p.remote).includes('log.txt'));
    put(p.remote, 'from-remote.txt', 'made in the pod');
    // An edit every 80 ms: each makes a narrowed sync; the poll must still come round within its interval.
    let pulledAfter: number | undefined;
    for (let i = 1; i <= 40 && pulledAfter === undefined; i++) {
      put(p.local, 'log.txt', `line ${i}\n`);
      await new Promise((resolve) => setTimeout(resolve, 80));
      if (filesBelow(p.local).includes('from-remote.txt')) pulledAfter = i;
    }
    expect(pulledAfter, 'the remote file was pulled while the edits went on').toBeDefined();
    expect(pulledAfter!).toBeLessThan(30);
  }, 60_000);

  it('a folder that .tetherignore stops ignoring is watched from then on', async () => {
    const p = livePair({ pollIntervalMs: 600_000, rescanIntervalMs: 600_000, debounceMs: 50, maxBatchWaitMs: 1000 });
    pair = p;
    put(p.local, '.tetherignore', 'build/\n');
    put(p.local, 'build/a.txt', 'a v1');
    put(p.local, 'src.txt', 'src');
    const runner = await watchPair(p, () => filesBelow(p.remote).includes('src.txt'));
    expect(filesBelow(p.remote)).not.toContain('build/a.txt');

    put(p.local, '.tetherignore', '# nothing ignored any more\n');
    await waitFor('the folder no longer ignored sent', () => filesBelow(p.remote).includes('build/a.txt'));
    await waitFor('idle', () => runner.status.state === 'idle');
    // The poll is ten minutes away: only the watcher can bring this edit now.
    put(p.local, 'build/a.txt', 'a v2');
    await waitFor('the edit inside it sent', () => readFileSync(join(p.remote, 'build/a.txt'), 'utf8') === 'a v2');
  }, 60_000);

  it('a narrowed sync planned again from full scans counts as the poll: the next poll comes a full interval later', async () => {
    // The poll every 4 s; the deletion 3 s after the first sync. The poll the first sync set is due 4 s after it
    // began, the one the deletion's sync sets 7 s after: looked at 5.5 s in, 1.5 s from either.
    const p = livePair({ pollIntervalMs: 4000, rescanIntervalMs: 600_000, debounceMs: 20, maxBatchWaitMs: 100 });
    pair = p;
    put(p.local, 'a.txt', 'a');
    put(p.local, 'b.txt', 'b');
    const runner = await watchPair(p, () => filesBelow(p.remote).length === 2);
    const first = runner.status.cycles;
    const firstAt = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    // A deletion: the watcher's narrowed sync is planned again from full scans.
    rmSync(join(p.local, 'b.txt'));
    await waitFor('the deletion sent', () => !filesBelow(p.remote).includes('b.txt'));
    await waitFor('idle', () => runner.status.state === 'idle');
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, firstAt + 5500 - Date.now())));
    expect(runner.status.cycles, 'the deletion, and no poll 5.5 s after the first sync').toBe(first + 1);
    await waitFor('the next poll', () => runner.status.cycles === first + 2, 15_000);
    expect(Date.now() - firstAt).toBeGreaterThanOrEqual(6900);
  }, 60_000);

  it('a pause from another connection cuts a transfer; resume sends only what was not finished', async () => {
    const p = livePair({ pollIntervalMs: 600_000, rescanIntervalMs: 600_000 });
    pair = p;
    const count = 16;
    for (let i = 0; i < count; i++)
      put(p.remote, `data/f${String(i).padStart(2, '0')}.bin`, Buffer.alloc(64 * 1024, i));
    // 1 MiB at 256 KiB/s: about 4 s, so there is time to pause in the middle.
    service = new LiveService({
      store: p.store,
      controlIntervalMs: 50,
      bandwidth: { downloadBytesPerSecond: 256 * 1024 },
    });
    await service.start(['p']);
    const runner = service.runner('p')!;
    const pairId = p.store.requirePair('p').id;
    const downloads = (): string[] =>
      p.store
        .listActivity({ pairId, kind: 'download', limit: 1000 })
        .map((a) => a.path ?? '')
        .sort();
    await waitFor('a few files downloaded', () => downloads().length >= 3);

    const other = p.openOther(); // as `tether pause p` in another process
    setPaused(other, ['p'], true);
    await waitFor('paused', () => runner.status.state === 'paused');
    const before = filesBelow(p.local).filter(finished);
    expect(before.length).toBeGreaterThanOrEqual(3);
    expect(before.length).toBeLessThan(count);
    expect(other.requirePair('p').state).toBe('paused');
    // Paused means paused: no sync starts, however long we wait for the control loop.
    const cycles = runner.status.cycles;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(runner.status.cycles).toBe(cycles);

    setPaused(other, ['p'], false);
    await waitFor('resumed and synced', () => runner.status.state === 'idle' && runner.status.cycles > cycles, 30_000);
    expect(filesBelow(p.local).filter(finished)).toHaveLength(count);
    // Every file crossed once: the finished ones were not sent again.
    expect(downloads()).toEqual([...new Set(downloads())]);
    expect(downloads()).toHaveLength(count);
    expect(p.store.requirePair('p').lastResult).toMatchObject({ downloaded: count - before.length });
    // A pause is not a failure: the cut sync is logged as information, not as an error.
    expect(p.store.listActivity({ pairId, level: 'error' })).toEqual([]);
    expect(p.store.listActivity({ pairId, kind: 'sync' }).map((a) => [a.level, a.message])).toEqual([
      ['info', expect.stringMatching(/cancelled/)],
    ]);
  }, 60_000);

  it('a remote that disappears while watching leads to waiting with backoff, then recovers', async () => {
    const p = livePair({ pollIntervalMs: 200, rescanIntervalMs: 600_000 });
    pair = p;
    put(p.local, 'a.txt', 'a');
    const seen: LiveStatus[] = [];
    service = new LiveService({
      store: p.store,
      retry: { initialMs: 100, maxMs: 400 },
      onStatus: (_name, status) => seen.push(status),
    });
    await service.start(['p']);
    const runner = service.runner('p')!;
    await waitFor('the first sync', () => filesBelow(p.remote).includes('a.txt') && runner.status.state === 'idle');

    const away = `${p.remote}.unmounted`;
    renameSync(p.remote, away); // the share goes away (an unmounted NFS mount, a dropped connection)
    await waitFor('waiting after a few retries', () => seen.filter((s) => s.state === 'waiting').length >= 3);
    const waiting = seen.filter((s) => s.state === 'waiting');
    expect(waiting[0]!.reason).toMatch(/retrying in 0\.1 s \(attempt 2\)/);
    expect(runner.status.state).not.toBe('halted');
    expect(p.store.requirePair('p').state).toMatch(/waiting|scanning/);

    put(p.local, 'b.txt', 'b'); // changed meanwhile
    renameSync(away, p.remote);
    await waitFor('recovered', () => filesBelow(p.remote).includes('b.txt') && runner.status.state === 'idle');
    expect(filesBelow(p.remote)).toEqual(['a.txt', 'b.txt']);

    renameSync(p.remote, away);
    await waitFor('waiting again', () => runner.status.state === 'waiting');
    await service.stop();
    service = undefined;
    const left = p.store.requirePair('p');
    expect(left.state).toBe('idle');
    expect(left.stateMessage).toMatch(/^not watched any more; the last attempt failed: /);
  }, 60_000);

  it('a local folder emptied while watching halts the pair (nothing deleted remotely) until it is resumed', async () => {
    const p = livePair({ pollIntervalMs: 200, rescanIntervalMs: 600_000 });
    pair = p;
    for (const name of ['a', 'b', 'c']) put(p.local, `${name}.txt`, name);
    service = new LiveService({ store: p.store, controlIntervalMs: 50 });
    await service.start(['p']);
    const runner = service.runner('p')!;
    await waitFor('the first sync', () => filesBelow(p.remote).length === 3 && runner.status.state === 'idle');

    const away = `${p.local}.unmounted`;
    renameSync(p.local, away);
    mkdirSync(p.local); // an empty mount point where the files were
    await waitFor('halted', () => runner.status.state === 'halted');
    expect(runner.status.reason).toMatch(/the local folder is empty .* had 3 files at the last sync/);
    expect(p.store.requirePair('p').state).toBe('halted');
    const cycles = runner.status.cycles;
    await new Promise((resolve) => setTimeout(resolve, 500)); // several poll intervals: a halt stays halted
    expect(runner.status.cycles).toBe(cycles);
    expect(filesBelow(p.remote)).toEqual(['a.txt', 'b.txt', 'c.txt']);

    rmSync(p.local, { recursive: true });
    renameSync(away, p.local);
    setPaused(p.openOther(), ['p'], false); // `tether resume p`: check again
    await waitFor('running again', () => runner.status.state === 'idle' && runner.status.cycles > cycles);
    expect(filesBelow(p.remote)).toEqual(['a.txt', 'b.txt', 'c.txt']);
  }, 60_000);

  it('after the machine slept (the wall clock jumped), every pair syncs at once', async () => {
    const p = livePair({ pollIntervalMs: 600_000, rescanIntervalMs: 600_000 });
    pair = p;
    let clock = 1_800_000_000_000;
    service = new LiveService({ store: p.store, controlIntervalMs: 50, watchLocal: false, now: () => clock });
    await service.start(['p']);
    const runner = service.runner('p')!;
    await waitFor('the first sync', () => runner.status.cycles === 1 && runner.status.state === 'idle');
    put(p.local, 'written-before-sleep.txt', 'x'); // no watcher, no poll for 10 minutes: nothing would sync it
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(runner.status.cycles).toBe(1);
    clock += 3_600_000; // an hour asleep
    await waitFor('a sync on waking', () => filesBelow(p.remote).includes('written-before-sleep.txt'));
    expect(runner.status.cycles).toBe(2);
  }, 60_000);
});
