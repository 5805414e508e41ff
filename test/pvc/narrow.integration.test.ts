import { createHash } from 'node:crypto';
import { mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EndpointCache } from '../../sync-engine/controller/endpointCache.js';
import { syncPair } from '../../sync-engine/controller/syncPair.js';
import type { Entry } from '../../sync-engine/core/entry.js';
import { createIgnoreMatcher } from '../../sync-engine/core/ignore.js';
import { narrowScopeOf, type NarrowScope } from '../../sync-engine/core/narrowScope.js';
import { narrowedView } from '../../sync-engine/core/testing/narrowed.js';
import { openRemote } from '../../sync-engine/endpoints/open.js';
import { execSessionCounts } from '../../sync-engine/endpoints/pvc/execClient.js';
import { StateStore } from '../../sync-engine/state/store.js';
import { closePvcSuite, openPvcSuite } from './helpers.js';
import type { PvcLab } from './helpers.js';

/**
 * Live sync's narrowed sync (core/narrowScope.ts) on a PVC: the pod lists only the changed paths, their parents
 * and what lies below them, and the sync acts on nothing else.
 */
let lab: PvcLab;
let witness: string;
let work: string;
let store: StateStore;

beforeAll(async () => {
  ({ lab, work, store } = await openPvcSuite('narrow'));
  witness = await lab.witnessPod('group-vision', 'vision-archive', 'debian:12');
}, 120_000);
afterAll(() => closePvcSuite({ lab, work, store }), 60_000);

const HOSTILE = [
  '$(reboot)',
  '-rf',
  `a"b'c`,
  ' leading space',
  'dir:x/1:2',
  '日本語/ファイル.txt',
  '--tether-roots--',
  ':roots:',
];

/** Runs a script in the witness pod, paths as arguments (`$1` is the folder). */
async function inWitness(script: string, folder: string, ...args: string[]): Promise<string> {
  const result = await lab.exec(
    'group-vision',
    witness,
    'sh',
    '-c',
    `cd "$1" && shift && ${script}`,
    'sh',
    folder,
    ...args,
  );
  if (result.code !== 0) throw new Error(`witness: ${result.stderr}`);
  return result.stdout.toString();
}

/** Writes each path (its content is its name) in the witness pod below `folder`. */
async function seed(folder: string, paths: readonly string[]): Promise<void> {
  await inWitness('for p do mkdir -p "$(dirname "./$p")" && printf %s "$p" > "./$p"; done', folder, ...paths);
}

describe.each([
  ['BusyBox', 'busybox:1.36'],
  ['GNU', 'debian:12'],
])('a narrowed scan through a %s helper', (_userland, image) => {
  it('finds in the scope exactly what a full scan finds there, hostile names, links and files in the way included', async () => {
    const root = `tests/narrow-scan-${image.replace(/\W/g, '-')}`;
    await inWitness('mkdir -p "$1"', '/data', root);
    const folder = `/data/${root}`;
    await seed(folder, [
      'top.txt',
      'data/a/x.bin',
      'data/a/deep/y.bin',
      'data/a/skip.tmp',
      'data/a b/z',
      'data/other.txt',
      'plain',
      'data/a/.tether-partial-abc',
      ...HOSTILE.map((name) => `names/${name}`),
    ]);
    await inWitness('ln -s /etc link && mkdir empty', folder);
    const endpoint = await openRemote(`pvc://alice@group-vision/vision-archive/${root}`, {
      options: { kubeconfig: lab.lab.kubeconfig, helperIdleSeconds: '0', helperImage: image },
    });
    try {
      const ignore = createIgnoreMatcher(['*.tmp']);
      const full = await endpoint.scan({ ignore });
      const scopes: NarrowScope[] = [
        narrowScopeOf(['data/a', 'top.txt', 'empty'])!,
        narrowScopeOf(['data/a/deep/y.bin', 'data/a/.tether-partial-abc'])!,
        narrowScopeOf(HOSTILE.map((name) => `names/${name}`))!,
        narrowScopeOf(['data/gone', 'nothing/here', 'names/-rf/x'])!,
        narrowScopeOf(['link/passwd', 'link/hostname', 'plain/x'])!,
      ];
      for (const scope of scopes) {
        const narrow = await endpoint.scan({ ignore, within: scope });
        expect(narrowedView(narrow, scope), JSON.stringify(scope)).toEqual(narrowedView(full, scope));
        // It listed only the scope (nothing that merely shares a prefix, such as `data/a b`).
        const roots = scope.roots;
        for (const entry of narrow.entries) {
          const inside = roots.some((r) => entry.path === r || entry.path.startsWith(`${r}/`));
          expect(inside || scope.parents.includes(entry.path), entry.path).toBe(true);
        }
      }
      // The hostile names were found, each exactly once.
      const hostile = await endpoint.scan({ within: scopes[2]! });
      expect(
        hostile.entries
          .filter((e: Entry) => e.kind === 'file')
          .map((e) => e.path)
          .sort(),
      ).toEqual(HOSTILE.map((name) => `names/${name}`).sort());
    } finally {
      await endpoint.close();
    }
  });
});

describe('a narrowed sync on a PVC', () => {
  const sha = (content: string): string => createHash('sha256').update(content).digest('hex');

  /** A push pair `name` to tests/narrow-NAME with the given local files (path: content), as live sync runs it. */
  async function livePushPair(name: string, files: Record<string, string>): Promise<{ root: string; local: string }> {
    const root = `tests/narrow-${name}`;
    const local = join(work, `narrow-${name}`);
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(local, path)), { recursive: true });
      await writeFile(join(local, path), content);
    }
    store.addPair({
      name,
      localPath: local,
      remoteUrl: `pvc://alice@group-vision/vision-archive/${root}`,
      mode: 'push',
      compare: 'size-mtime',
      ignore: [],
      options: { kubeconfig: lab.lab.kubeconfig },
    });
    return { root, local };
  }

  it('sends the changed paths and leaves everything else for the next full sync; a deletion is planned from full scans', async () => {
    const root = 'tests/narrow-sync';
    const local = join(work, 'narrow-sync');
    await mkdir(join(local, 'data/a'), { recursive: true });
    await writeFile(join(local, 'data/a/x.bin'), 'x v1');
    await writeFile(join(local, 'data/other.txt'), 'other v1');
    await writeFile(join(local, 'data/keep.txt'), 'keep');
    store.addPair({
      name: 'narrow',
      localPath: local,
      remoteUrl: `pvc://alice@group-vision/vision-archive/${root}`,
      mode: 'two-way',
      compare: 'size-mtime',
      ignore: [],
      options: { kubeconfig: lab.lab.kubeconfig, helperIdleSeconds: '0' },
    });
    expect(await syncPair(store, 'narrow')).toMatchObject({ uploaded: 3, problems: [] });

    // Changed here: one file edited, a folder with a file created. Changed there: a file outside the scope.
    await writeFile(join(local, 'data/a/x.bin'), 'x version two');
    await mkdir(join(local, 'data/new'));
    await writeFile(join(local, 'data/new/f.txt'), 'new');
    await inWitness('printf %s "other, changed in the pod" > data/other.txt', `/data/${root}`);

    const narrow = narrowScopeOf(['data/a/x.bin', 'data/new', 'data/new/f.txt'])!;
    const first = await syncPair(store, 'narrow', { narrow });
    expect(first).toMatchObject({ narrowed: 'assumed', uploaded: 2, downloaded: 0, problems: [] });
    const remote = await lab.remoteHashes('group-vision', witness, `/data/${root}`);
    expect(remote.get('data/a/x.bin')).toBe(sha('x version two'));
    expect(remote.get('data/new/f.txt')).toBe(sha('new'));
    // Outside the scope nothing moved: the pod's edit waits for a full sync.
    expect(await readFile(join(local, 'data/other.txt'), 'utf8')).toBe('other v1');
    expect(await syncPair(store, 'narrow')).toMatchObject({ uploaded: 0, downloaded: 1 });
    expect(await readFile(join(local, 'data/other.txt'), 'utf8')).toBe('other, changed in the pod');

    // Changed on both sides: the pod's commit refuses to overwrite its version, and the full pass keeps both.
    await writeFile(join(local, 'data/keep.txt'), 'keep, edited here');
    await inWitness('printf %s "keep, edited in the pod" > data/keep.txt', `/data/${root}`);
    const both = await syncPair(store, 'narrow', { narrow: narrowScopeOf(['data/keep.txt'])! });
    expect(both).toMatchObject({ narrowed: false, conflicts: 1, problems: [] });
    const afterConflict = await lab.remoteHashes('group-vision', witness, `/data/${root}`);
    expect(afterConflict.get('data/keep.txt')).toBe(sha('keep, edited here'));
    const copy = [...afterConflict.keys()].find((path) => path.startsWith('data/keep.conflict-'));
    expect(copy === undefined ? undefined : afterConflict.get(copy)).toBe(sha('keep, edited in the pod'));
    await unlink(join(local, copy!));
    expect(await syncPair(store, 'narrow')).toMatchObject({ deletedRemote: 1 });

    // A deletion in the scope: planned again with the whole pair in view, and applied.
    await unlink(join(local, 'data/a/x.bin'));
    const deleted = await syncPair(store, 'narrow', { narrow: narrowScopeOf(['data/a/x.bin'])! });
    expect(deleted).toMatchObject({ narrowed: false, deletedRemote: 1, uploaded: 0, downloaded: 0 });
    expect([...(await lab.remoteHashes('group-vision', witness, `/data/${root}`)).keys()].sort()).toEqual([
      'data/keep.txt',
      'data/new/f.txt',
      'data/other.txt',
    ]);
  });

  it('live sync sends small changes through the command session it keeps in the pod: no exec per change', async () => {
    const { root, local } = await livePushPair('session', { 'data/edited.txt': 'v1' });
    const cache = new EndpointCache();
    try {
      expect(await syncPair(store, 'session', { endpointCache: cache })).toMatchObject({ uploaded: 1 });
      await cache.whenWarm();
      // One file edited, one created with a name a shell would misread, in two live syncs.
      const changes: [string, string][] = [
        ['data/edited.txt', 'version two'],
        ['data/$(reboot) -rf.txt', 'new, hostile name'],
      ];
      for (const [path, content] of changes) {
        await writeFile(join(local, path), content);
        execSessionCounts(true);
        const synced = await syncPair(store, 'session', { endpointCache: cache, narrow: narrowScopeOf([path])! });
        expect(synced).toMatchObject({ narrowed: 'assumed', uploaded: 1, problems: [] });
        expect(execSessionCounts().started).toBe(0);
      }
      const remote = await lab.remoteHashes('group-vision', witness, `/data/${root}`);
      expect(Object.fromEntries(remote)).toEqual({
        'data/edited.txt': sha('version two'),
        'data/$(reboot) -rf.txt': sha('new, hostile name'),
      });
    } finally {
      await cache.close();
    }
    // Closing the kept endpoints ends the session's exec.
    expect(execSessionCounts().active).toBe(0);
  });

  it('live sync keeps the endpoints between syncs, and opens them afresh when the helper pod went away', async () => {
    const { root, local } = await livePushPair('kept', { 'a.txt': 'a' });
    const cache = new EndpointCache();
    try {
      expect(await syncPair(store, 'kept', { endpointCache: cache })).toMatchObject({ uploaded: 1 });
      expect(cache.holding).toBe(true);
      // Someone deletes the helper pod (a cleanup, a drained node) while live sync waits for the next change.
      const deleted = await lab.kubectl([
        'delete',
        'pods',
        '-n',
        'group-vision',
        '-l',
        'app.kubernetes.io/managed-by=tether',
        '--wait=true',
      ]);
      expect(deleted.code, deleted.stderr).toBe(0);
      await writeFile(join(local, 'b.txt'), 'b');
      const next = await syncPair(store, 'kept', { endpointCache: cache, narrow: narrowScopeOf(['b.txt'])! });
      expect(next).toMatchObject({ uploaded: 1, problems: [] });
      expect([...(await lab.remoteHashes('group-vision', witness, `/data/${root}`)).keys()].sort()).toEqual([
        'a.txt',
        'b.txt',
      ]);
    } finally {
      await cache.close();
    }
  });
});
