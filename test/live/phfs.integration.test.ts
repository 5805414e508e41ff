import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LiveService } from '../../sync-engine/live/liveService.js';
import type { LiveStatus } from '../../sync-engine/live/status.js';
import { startPhfsLab, type PhfsLab } from '../phfs/helpers.js';
import { waitFor } from './harness.js';

/** Live sync against the lab's PHFS store while the store fails every request for a while (an outage). */
let lab: PhfsLab;
let work: string;
beforeAll(async () => {
  lab = await startPhfsLab();
  work = await mkdtemp(join(tmpdir(), 'tether-live-phfs-'));
}, 120_000);
afterAll(async () => {
  await lab.setFaults({ s3: {} });
  await lab.stop();
  await rm(work, { recursive: true, force: true });
});

describe('live sync with phfs://', () => {
  it('an S3 outage while watching means waiting and retrying, then the changes made meanwhile go up', async () => {
    lab.useUser('alice');
    const store = lab.openStore();
    const local = join(work, 'local');
    await mkdir(local);
    store.addPair({
      name: 'live',
      localPath: local,
      remoteUrl: 'phfs://vision/tests/live',
      mode: 'two-way',
      compare: 'size-mtime',
      ignore: [],
      options: { live: { pollIntervalMs: 300, debounceMs: 100 } },
    });
    const seen: LiveStatus[] = [];
    const service = new LiveService({
      store,
      retry: { initialMs: 100, maxMs: 500 },
      // Throttled uploads must still reach S3 whole (the stream is wrapped; the object's length is the entry's).
      bandwidth: { uploadBytesPerSecond: 1024 * 1024 },
      onStatus: (_name, status) => seen.push(status),
    });
    try {
      await service.start(['live']);
      const runner = service.runner('live')!;
      await writeFile(join(local, 'a.txt'), 'a');
      const prefix = 'groups/vision/tests/live/';
      let keys: string[] = [];
      const hasKey = (key: string): boolean => keys.includes(prefix + key);
      const refresh = async (): Promise<void> => {
        keys = await lab.keys(prefix);
      };
      for (let i = 0; i < 300 && !hasKey('a.txt'); i++)
        await refresh().then(() => new Promise((r) => setTimeout(r, 50)));
      expect(hasKey('a.txt')).toBe(true);

      await lab.setFaults({ s3: { failNext: 1_000_000, failStatus: 503 } }); // the store is down
      await writeFile(join(local, 'b.txt'), Buffer.alloc(300 * 1024, 7));
      await waitFor('waiting on the outage', () => seen.some((s) => s.state === 'waiting'), 60_000);
      expect(runner.status.state).not.toBe('halted');

      await lab.setFaults({ s3: {} }); // back up
      await waitFor('idle again', () => runner.status.state === 'idle' && seen.at(-1)?.state === 'idle', 60_000);
      await refresh();
      expect(hasKey('b.txt')).toBe(true);
      expect(await lab.get(prefix + 'b.txt')).toEqual(Buffer.alloc(300 * 1024, 7));
      const waiting = seen.find((s) => s.state === 'waiting')!;
      expect(waiting.reason).toMatch(/retrying in/);
    } finally {
      await service.stop();
    }
  }, 120_000);
});
