import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateStore } from '../state/store.js';
import type { TransferProgress } from './contract.js';
import { UiService } from './service.js';
import type { DiskDialogs } from './service.js';

/**
 * The desktop app's transfers (`uploadFromDisk`, `downloadToDisk`): the main process streams between disk and
 * the remote through native dialogs, here replaced by answers the test gives. Real files, real SQLite.
 */
let dir: string;
let store: StateStore;
let remote: string;
let picked: string[] | undefined;
let saveAs: string | undefined;
let events: TransferProgress[];

const dialogs: DiskDialogs = {
  pickFiles: () => Promise.resolve(picked),
  pickSavePath: () => Promise.resolve(saveAs),
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tether-disk-transfers-'));
  remote = join(dir, 'remote');
  await mkdir(join(remote, 'folder', 'sub'), { recursive: true });
  await writeFile(join(remote, 'folder', 'sub', 'a.txt'), 'A');
  await mkdir(join(dir, 'disk'));
  store = StateStore.open(join(dir, 'state.db'));
  events = [];
});
afterEach(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

function service(disk?: DiskDialogs): UiService {
  const made = new UiService({ store, home: dir, ...(disk === undefined ? {} : { disk }) });
  made.on((event, data) => {
    if (event === 'transfer') events.push(data as TransferProgress);
  });
  return made;
}

describe('desktop transfers through native dialogs', () => {
  it('uploads picked files and dropped paths, streamed from disk, with transfer events', async () => {
    const api = service(dialogs);
    try {
      await writeFile(join(dir, 'disk', 'one.txt'), 'one');
      await writeFile(join(dir, 'disk', 'two.bin'), Buffer.alloc(1 << 20, 7));
      picked = [join(dir, 'disk', 'one.txt'), join(dir, 'disk', 'two.bin')];
      const ref = { remoteUrl: `file://${remote}` };
      expect(await api.call('uploadFromDisk', { remote: ref, folder: 'folder' })).toEqual({
        ok: true,
        result: { uploaded: ['folder/one.txt', 'folder/two.bin'] },
      });
      expect(await readFile(join(remote, 'folder', 'one.txt'), 'utf8')).toBe('one');
      expect((await readFile(join(remote, 'folder', 'two.bin'))).equals(Buffer.alloc(1 << 20, 7))).toBe(true);
      expect(events.filter((e) => e.done).map((e) => [e.path, e.bytesDone, e.bytesTotal])).toEqual([
        ['folder/one.txt', 3, 3],
        ['folder/two.bin', 1 << 20, 1 << 20],
      ]);
      // Dropped on the window: the paths come from the preload.
      await writeFile(join(dir, 'disk', 'dropped.txt'), 'dropped');
      expect(
        await api.call('uploadFromDisk', { remote: ref, folder: '', localPaths: [join(dir, 'disk', 'dropped.txt')] }),
      ).toEqual({ ok: true, result: { uploaded: ['dropped.txt'] } });
      picked = undefined;
      expect(await api.call('uploadFromDisk', { remote: ref, folder: '' })).toEqual({
        ok: true,
        result: { uploaded: [] },
      });
      expect(
        await api.call('uploadFromDisk', { remote: ref, folder: '', localPaths: [join(dir, 'disk')] }),
      ).toMatchObject({
        ok: false,
        error: { code: 'bad-argument', message: expect.stringContaining('not a file') as unknown },
      });
    } finally {
      await api.close();
    }
  });

  it('downloads a file and a folder (tar) to the chosen place, nothing left behind when cancelled', async () => {
    const api = service(dialogs);
    try {
      const ref = { remoteUrl: `file://${remote}` };
      saveAs = join(dir, 'disk', 'saved.txt');
      expect(await api.call('downloadToDisk', { remote: ref, path: 'folder/sub/a.txt' })).toEqual({
        ok: true,
        result: { savedTo: saveAs },
      });
      expect(await readFile(saveAs, 'utf8')).toBe('A');
      saveAs = join(dir, 'disk', 'folder.tar');
      expect(await api.call('downloadToDisk', { remote: ref, path: 'folder' })).toMatchObject({ ok: true });
      const archive = await readFile(saveAs);
      expect(archive.subarray(0, 7).toString()).toBe('folder/');
      expect(archive.includes(Buffer.from('folder/sub/a.txt'))).toBe(true);
      saveAs = undefined;
      expect(await api.call('downloadToDisk', { remote: ref, path: 'folder' })).toEqual({ ok: true, result: {} });
      expect((await readdir(join(dir, 'disk'))).sort()).toEqual(['folder.tar', 'saved.txt']);
      expect(await api.call('downloadToDisk', { remote: ref, path: 'nope' })).toMatchObject({
        ok: false,
        error: { code: 'not-found' },
      });
    } finally {
      await api.close();
    }
  });

  it('is refused where there are no native dialogs (the browser host)', async () => {
    const api = service();
    try {
      const ref = { remoteUrl: `file://${remote}` };
      for (const answer of [
        await api.call('uploadFromDisk', { remote: ref, folder: '', localPaths: ['/etc/passwd'] }),
        await api.call('downloadToDisk', { remote: ref, path: 'folder' }),
      ])
        expect(answer).toMatchObject({
          ok: false,
          error: { code: 'bad-argument', message: expect.stringContaining('no native file dialogs') as unknown },
        });
      expect(await readdir(remote)).toEqual(['folder']);
    } finally {
      await api.close();
    }
  });
});
