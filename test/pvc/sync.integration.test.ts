import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncPair } from '../../sync-engine/controller/syncPair.js';
import { openRemote } from '../../sync-engine/endpoints/open.js';
import { StateStore } from '../../sync-engine/state/store.js';
import { snapshot } from '../helpers/trees.js';
import { closePvcSuite, openPvcSuite } from './helpers.js';
import type { PvcLab } from './helpers.js';

/** Names that break code which splices paths into shell strings or trusts them. */
const HOSTILE = [
  '$(reboot)',
  '-rf',
  `a"b'c`,
  'semi;colon & amp',
  'unicodé ü.txt',
  'cafe\u0301.txt',
  '日本語/ファイル.txt',
  ' leading space',
  'back`tick`',
  // Colons: a batch commit's records are `index:expected:sha256:./path`, split at the first three only.
  'a:b::c.txt',
  'dir:x/1:2',
];

let lab: PvcLab;
let store: StateStore;
let work: string;
let counter = 0;

beforeAll(async () => {
  ({ lab, work, store } = await openPvcSuite('sync'));
}, 120_000);
afterAll(() => closePvcSuite({ lab, work, store }), 60_000);

function sha(content: Buffer | string): string {
  return createHash('sha256').update(content).digest('hex');
}

function newPair(options: {
  remote: string;
  mode: 'two-way' | 'push' | 'pull' | 'mirror-push' | 'mirror-pull';
  compare?: 'size-mtime' | 'sha256';
  pairOptions?: Record<string, unknown>;
}) {
  const name = `p${++counter}`;
  const local = join(work, name);
  store.addPair({
    name,
    localPath: local,
    remoteUrl: options.remote,
    mode: options.mode,
    compare: options.compare ?? 'size-mtime',
    ignore: [],
    // helperIdleSeconds 0: each sync deletes its helper, which these tests check; keeping it for the next sync
    // is tested in helperPod.integration.test.ts.
    options: { kubeconfig: lab.lab.kubeconfig, helperIdleSeconds: '0', ...options.pairOptions },
  });
  return { name, local };
}

async function writeTree(root: string, files: Record<string, string | Buffer>): Promise<void> {
  await mkdir(root, { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), content);
  }
}

async function helperPods(namespace: string): Promise<string> {
  const listed = await lab.kubectl([
    'get',
    'pods',
    '-n',
    namespace,
    '-l',
    'app.kubernetes.io/managed-by=tether',
    '-o',
    'name',
  ]);
  return listed.stdout.toString().trim();
}

describe('pvc:// endpoint against the lab', () => {
  it('pushes hostile names, a large file and an executable through a BusyBox helper, checked with sha256sum in another pod', async () => {
    const { name, local } = newPair({
      remote: 'pvc://alice@group-vision/vision-datasets/tests/push',
      mode: 'push',
      compare: 'sha256',
    });
    const files: Record<string, string | Buffer> = { 'top.txt': 'top', 'deep/er/file.bin': Buffer.alloc(70_000, 7) };
    for (const hostile of HOSTILE) files[`names/${hostile}`] = `content of ${hostile}`;
    const big = Buffer.alloc(9 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE(i, i);
    files['big/model.ckpt'] = big;
    files['bin/run.sh'] = '#!/bin/sh\necho hi\n';
    await writeTree(local, files);
    await chmod(join(local, 'bin/run.sh'), 0o755);

    const first = await syncPair(store, name);
    expect(first.problems).toEqual([]);

    const witness = await lab.witnessPod('group-vision', 'vision-datasets', 'debian:12');
    const remote = await lab.remoteHashes('group-vision', witness, '/data/tests/push');
    const expected = new Map(Object.entries(files).map(([path, content]) => [path, sha(content)]));
    expect(remote).toEqual(expected);
    const mode = await lab.exec('group-vision', witness, 'stat', '-c', '%a', '/data/tests/push/bin/run.sh');
    expect(mode.stdout.toString().trim()).toMatch(/^7[0-7][0-7]$/);
    // Small files arrive through tar batches: their mtimes come from the archive's headers, to the second.
    const times = await lab.exec(
      'group-vision',
      witness,
      'stat',
      '-c',
      '%Y %a',
      '/data/tests/push/top.txt',
      '/data/tests/push/names/-rf',
    );
    for (const [index, path] of ['top.txt', 'names/-rf'].entries()) {
      const here = await stat(join(local, path));
      expect(times.stdout.toString().trim().split('\n')[index]).toBe(
        `${Math.floor(here.mtimeMs / 1000)} ${(here.mode & 0o777).toString(8)}`,
      );
    }

    const again = await syncPair(store, name);
    expect(again.problems).toEqual([]);
    expect(again.uploaded).toBe(0);
    expect(await helperPods('group-vision')).toBe('');
  }, 180_000);

  it('pulls seeded checkpoints through a GNU helper over v4 only, and two-way edits converge', async () => {
    const { name, local } = newPair({
      remote: 'pvc://alice@group-vision/vision-checkpoints/checkpoints',
      mode: 'two-way',
      pairOptions: { helperImage: 'debian:12', execProtocol: 'v4' },
    });
    await mkdir(local, { recursive: true });
    const first = await syncPair(store, name);
    expect(first.problems).toEqual([]);
    const pulled = await snapshot(local);
    expect([...pulled.keys()].sort()).toEqual(
      expect.arrayContaining(['latest', 'resnet50/config.yaml', 'resnet50/epoch-001.ckpt', 'resnet50/epoch-003.ckpt']),
    );
    const witness = await lab.witnessPod('group-vision', 'vision-checkpoints', 'busybox:1.36');
    const remote = await lab.remoteHashes('group-vision', witness, '/data/checkpoints');
    for (const [path, hash] of remote) expect(sha(await readFile(join(local, path)))).toBe(hash);

    // Edit locally, add a file; both must arrive, and the remote's mtime must match the local one.
    await writeFile(join(local, 'latest'), 'resnet50/epoch-002.ckpt\n');
    await writeFile(join(local, 'notes.md'), 'local note\n');
    const second = await syncPair(store, name);
    expect(second.problems).toEqual([]);
    const after = await lab.remoteHashes('group-vision', witness, '/data/checkpoints');
    expect(after.get('latest')).toBe(sha('resnet50/epoch-002.ckpt\n'));
    expect(after.get('notes.md')).toBe(sha('local note\n'));
    const localMtime = Math.floor((await stat(join(local, 'notes.md'))).mtimeMs / 1000);
    const remoteMtime = await lab.exec('group-vision', witness, 'stat', '-c', '%Y', '/data/checkpoints/notes.md');
    expect(Number(remoteMtime.stdout.toString().trim())).toBe(localMtime);

    // A remote deletion reaches the local side.
    await lab.exec('group-vision', witness, 'rm', '/data/checkpoints/notes.md');
    const third = await syncPair(store, name);
    expect(third.problems).toEqual([]);
    await expect(stat(join(local, 'notes.md'))).rejects.toThrow();
    expect(await helperPods('group-vision')).toBe('');
  }, 180_000);

  it('mirror-pulls a large file and hostile remote names in strict mode; a name with a line break is a problem, never misread', async () => {
    const witness = await lab.witnessPod('group-nlp', 'nlp-corpus', 'busybox:1.36');
    const made = await lab.exec(
      'group-nlp',
      witness,
      'sh',
      '-c',
      'mkdir -p /data/tests/pull && cd /data/tests/pull && head -c 12582912 /dev/urandom > big.bin && ' +
        'printf x > "$1" && printf y > "$2" && printf z > "$3"',
      'sh',
      '$(reboot)',
      '-rf',
      'line\nbreak.txt',
    );
    expect(made.stderr).toBe('');
    const { name, local } = newPair({
      remote: 'pvc://admin@group-nlp/nlp-corpus/tests/pull',
      mode: 'mirror-pull',
      compare: 'sha256',
    });
    await writeTree(local, { 'stale.txt': 'goes away' });
    const summary = await syncPair(store, name, { force: true });
    expect(summary.problems.map((p) => p.path)).toEqual(['line\nbreak.txt']);
    const remote = await lab.remoteHashes('group-nlp', witness, '/data/tests/pull');
    const pulled = await snapshot(local);
    expect([...pulled.keys()].sort()).toEqual(['$(reboot)', '-rf', 'big.bin']);
    for (const path of ['big.bin', '$(reboot)', '-rf'])
      expect(sha(await readFile(join(local, path)))).toBe(remote.get(path));
  }, 180_000);

  it('pushes and pulls 700 files with long names (batches stay under the request-line limit)', async () => {
    const files: Record<string, string> = {};
    for (let i = 0; i < 700; i++) files[`many/${'long-name-'.repeat(6)}${i}.txt`] = `file ${i}`;
    const push = newPair({ remote: 'pvc://alice@group-vision/vision-archive/tests/many', mode: 'push' });
    await writeTree(push.local, files);
    expect((await syncPair(store, push.name)).problems).toEqual([]);
    const pull = newPair({
      remote: 'pvc://alice@group-vision/vision-archive/tests/many',
      mode: 'pull',
      compare: 'sha256',
    });
    await mkdir(pull.local, { recursive: true });
    expect((await syncPair(store, pull.name)).problems).toEqual([]);
    const pulled = await snapshot(pull.local);
    expect([...pulled.keys()].filter((path) => path.endsWith('.txt')).length).toBe(700);
    expect(await readFile(join(pull.local, `many/${'long-name-'.repeat(6)}699.txt`), 'utf8')).toBe('file 699');
  }, 180_000);

  it('a read-only user pulls through the viewer pod that mounts the claim; pushing is refused as read-only', async () => {
    const { name, local } = newPair({
      remote: 'pvc://bob@group-vision/vision-datasets/datasets/cifar-mini',
      mode: 'pull',
    });
    await mkdir(local, { recursive: true });
    const pulled = await syncPair(store, name);
    expect(pulled.problems).toEqual([]);
    expect((await snapshot(local)).has('labels.csv')).toBe(true);
    expect(await readFile(join(local, 'labels.csv'), 'utf8')).toContain('airplane');

    const push = newPair({ remote: 'pvc://bob@group-vision/vision-datasets/datasets/cifar-mini', mode: 'push' });
    await writeTree(push.local, { 'mine.txt': 'bob was here' });
    const refused = await syncPair(store, push.name).then(
      (summary) => summary.problems.map((p) => p.message).join('\n'),
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    expect(refused).toMatch(/read-only/);
    expect(await helperPods('group-vision')).toBe('');
  }, 120_000);

  it('tells a user without any way in that the claim is read-only for them, names a Pending claim, and a missing claim', async () => {
    const options = { options: { kubeconfig: lab.lab.kubeconfig } };
    await expect(openRemote('pvc://bob@group-vision/vision-checkpoints', options)).rejects.toMatchObject({
      code: 'permission-denied',
      message: expect.stringContaining('read-only for you') as unknown,
    });
    await expect(openRemote('pvc://alice@group-vision/vision-scratch', options)).rejects.toMatchObject({
      message: expect.stringContaining('Pending') as unknown,
    });
    await expect(openRemote('pvc://alice@group-vision/no-such-claim', options)).rejects.toMatchObject({
      code: 'not-found',
    });
    expect(await helperPods('group-vision')).toBe('');
  }, 60_000);
});
