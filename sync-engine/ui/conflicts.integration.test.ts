import { mkdir, mkdtemp, readdir, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateStore } from '../state/store.js';
import type { ConflictChoice } from './contract.js';
import { UiService } from './service.js';

let dir: string;
let store: StateStore;
let service: UiService;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tether-ui-conflicts-'));
  store = StateStore.open(join(dir, 'state.db'));
  service = new UiService({ store, home: dir });
});
afterEach(async () => {
  await service.close();
  store.close();
  await rm(dir, { recursive: true, force: true });
});

/** A synced file:// pair whose `data/model.txt` then changed on both sides, synced again: one open conflict. */
async function pairWithConflict(name: string): Promise<{ local: string; remote: string }> {
  const local = join(dir, `${name}-local`);
  const remote = join(dir, `${name}-remote`);
  await mkdir(join(local, 'data'), { recursive: true });
  await mkdir(remote);
  await writeFile(join(local, 'data', 'model.txt'), 'v1');
  await service.addPair({
    name,
    localPath: local,
    remoteUrl: `file://${remote}`,
    mode: 'two-way',
    compare: 'size-mtime',
    ignore: [],
  });
  await service.syncNow({ name });
  const later = new Date(Date.now() + 5000);
  await writeFile(join(local, 'data', 'model.txt'), 'local edit');
  await writeFile(join(remote, 'data', 'model.txt'), 'remote!');
  await utimes(join(remote, 'data', 'model.txt'), later, later);
  expect((await service.syncNow({ name })).conflicts).toBe(1);
  return { local, remote };
}

const conflictCopies = async (root: string) =>
  (await readdir(join(root, 'data'))).filter((n) => n.includes('.conflict-'));

describe('conflicts in the UI service', () => {
  it('lists an open conflict with both versions side by side', async () => {
    await pairWithConflict('p');
    const [conflict, ...rest] = await service.listConflicts({});
    expect(rest).toEqual([]);
    expect(conflict).toMatchObject({
      pair: 'p',
      path: 'data/model.txt',
      local: { path: 'data/model.txt', size: 10 },
      remote: { size: 7 },
    });
    expect(conflict!.conflictPath).toMatch(/^data\/model\.conflict-.+\.txt$/);
    expect(conflict!.local.sha256).not.toBe(conflict!.remote.sha256);
  });

  const cases: [ConflictChoice, string, number][] = [
    ['keep-local', 'local edit', 0],
    ['keep-remote', 'remote!', 0],
    ['keep-both', 'local edit', 1],
  ];
  it.each(cases)(
    '%s leaves %j under the name and %i conflict copies, on both sides',
    async (choice, content, copies) => {
      const { local, remote } = await pairWithConflict('p');
      const [conflict] = await service.listConflicts({ pair: 'p' });
      await service.resolveConflict({ pair: 'p', path: conflict!.path, conflictPath: conflict!.conflictPath, choice });
      expect(await service.listConflicts({})).toEqual([]);
      for (const root of [local, remote]) {
        expect(await readFile(join(root, 'data', 'model.txt'), 'utf8')).toBe(content);
        expect(await conflictCopies(root)).toHaveLength(copies);
      }
    },
  );

  it('refuses a path that is not a conflict copy of the file', async () => {
    await pairWithConflict('p');
    await expect(
      service.resolveConflict({
        pair: 'p',
        path: 'data/model.txt',
        conflictPath: 'data/other.txt',
        choice: 'keep-local',
      }),
    ).rejects.toThrow('data/other.txt is not a conflict copy of data/model.txt');
  });
});
