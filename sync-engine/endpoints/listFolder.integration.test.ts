import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestLab } from '../../test/lab/helpers.js';
import type { TestLab } from '../../test/lab/helpers.js';
import { parentOf } from '../core/entry.js';
import type { Entry } from '../core/entry.js';
import type { Endpoint } from './endpoint.js';
import { openRemote } from './open.js';
import { TetherError } from '../errors.js';
import type { S3Context } from './phfs/context.js';
import { listS3Folder } from './phfs/listFolder.js';
import { S3Endpoint } from './phfs/s3Endpoint.js';
import { PvcEndpoint } from './pvc/pvcEndpoint.js';
import { parseRemoteUrl } from './remoteUrl.js';

/**
 * `listFolder` on every endpoint, against the lab: one scenario (hostile names, a link, a temporary, nested
 * folders), and one rule checked everywhere: a folder's listing is exactly what a whole scan says its direct
 * children are, and nothing below them.
 */
let lab: TestLab;
let work: string;

/** Names a shell or an option parser would misread if they were ever spliced into a command. */
const HOSTILE = ['-rf', '$(touch pwned)', 'a b; c', 'quote\'"s', 'ünï ✓.txt', '*', '--help'];

beforeAll(async () => {
  lab = await startTestLab();
  work = await mkdtemp(join(tmpdir(), 'tether-list-folder-'));
}, 180_000);
afterAll(async () => {
  await (lab as TestLab | undefined)?.stop();
  await rm(work, { recursive: true, force: true });
}, 120_000);

function byPath(a: Entry, b: Entry): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/** Every folder's `listFolder` equals the scan's direct children of it; hostile names are listed as names. */
async function checkAgainstScan(endpoint: Endpoint, fresh: Endpoint, hostile = HOSTILE): Promise<void> {
  const list = (path: string) => {
    if (fresh.listFolder === undefined) throw new Error('no listFolder');
    return fresh.listFolder(path);
  };
  // Listed first on an endpoint that never scanned (PHFS: metadata by HEAD, not from the scan's cache).
  const top = await list('');
  const scan = await endpoint.scan();
  const folders = ['', ...scan.entries.filter((e) => e.kind === 'dir').map((e) => e.path)];
  for (const folder of folders) {
    const expected = scan.entries.filter((e) => parentOf(e.path) === folder).sort(byPath);
    expect(folder === '' ? top : await list(folder), `listFolder(${JSON.stringify(folder)})`).toEqual(expected);
  }
  const names = top.map((e) => e.path);
  for (const name of hostile) expect(names).toContain(name);
  expect(names).toContain('dir');
  // Direct children only: nothing from the subfolders' subtrees.
  expect(names.filter((n) => n.includes('/'))).toEqual([]);
  expect(names.some((n) => n.startsWith('.tether-partial-'))).toBe(false);
  expect(await list('dir')).toEqual([
    expect.objectContaining({ path: 'dir/deep', kind: 'dir' }),
    expect.objectContaining({ path: 'dir/inner.txt', kind: 'file', size: 5 }),
  ]);
  expect(await list('-rf/..').catch((e: unknown) => e)).toMatchObject({ code: 'bad-argument' });
  expect(await list('/etc').catch((e: unknown) => e)).toMatchObject({ code: 'bad-argument' });
  expect(await list('no-such-folder').catch((e: unknown) => e)).toMatchObject({ code: 'not-found' });
  expect(await list('top.txt').catch((e: unknown) => e)).toMatchObject({ code: 'not-found' });
}

describe('listFolder', () => {
  it('file:// — readdir + lstat, links and temporaries left out, a linked folder refused', async () => {
    const root = join(work, 'local');
    await mkdir(join(root, 'dir', 'deep'), { recursive: true });
    await writeFile(join(root, 'top.txt'), 'hello');
    await writeFile(join(root, 'dir', 'inner.txt'), 'inner');
    await writeFile(join(root, 'dir', 'deep', 'x.txt'), 'x');
    for (const name of HOSTILE) await writeFile(join(root, name), name);
    await writeFile(join(root, 'exe.sh'), '#!/bin/sh\n');
    await chmod(join(root, 'exe.sh'), 0o755);
    await writeFile(join(root, '.tether-partial-abc'), 'half');
    await symlink('top.txt', join(root, 'link'));
    await symlink('dir', join(root, 'dirlink'));
    const endpoint = await openRemote(`file://${root}`);
    const fresh = await openRemote(`file://${root}`);
    try {
      await checkAgainstScan(endpoint, fresh);
      const top = await fresh.listFolder?.('');
      expect(top?.find((e) => e.path === 'exe.sh')?.executable).toBe(true);
      expect(top?.map((e) => e.path)).not.toContain('link');
      expect(await fresh.listFolder?.('dirlink').catch((e: unknown) => e)).toMatchObject({
        code: 'listing-failed',
        message: expect.stringContaining('symbolic link') as unknown,
      });
    } finally {
      await endpoint.close();
      await fresh.close();
    }
  });

  for (const [label, helperImage] of [
    ['BusyBox', 'busybox:1.36'],
    ['GNU', 'debian:12'],
  ] as const) {
    it(`pvc:// (${label}) — one exec of find -maxdepth 1, the folder as an argv element`, async () => {
      const url = `pvc://alice@group-vision/vision-archive/list-folder-${label.toLowerCase()}`;
      const options = { kubeconfig: lab.lab.kubeconfig, helperImage };
      const endpoint = await openRemote(url, { options });
      // Another owner (pair name): opening the same remote again for the same owner would retire the first helper.
      const fresh = await openRemote(url, { options, pairName: 'fresh' });
      try {
        if (!(endpoint instanceof PvcEndpoint)) throw new Error('not a PVC endpoint');
        await endpoint.shell.runOk(
          'create the scenario',
          'mkdir -p ./dir/deep && printf hello > ./top.txt && printf inner > ./dir/inner.txt && ' +
            'printf x > ./dir/deep/x.txt && printf half > ./.tether-partial-abc && printf "#!/bin/sh" > ./exe.sh && ' +
            'chmod +x ./exe.sh && ln -s top.txt ./link && ln -s dir ./dirlink && ' +
            'for n in "$@"; do printf "%s" "$n" > "./$n"; done',
          HOSTILE,
        );
        await checkAgainstScan(endpoint, fresh);
        const top = await fresh.listFolder?.('');
        expect(top?.find((e) => e.path === 'exe.sh')?.executable).toBe(true);
        expect(top?.map((e) => e.path)).not.toContain('link');
        expect(await fresh.listFolder?.('dirlink').catch((e: unknown) => e)).toMatchObject({
          code: 'listing-failed',
          message: expect.stringContaining('symbolic link') as unknown,
        });
        expect(await fresh.listFolder?.('dirlink/deep').catch((e: unknown) => e)).toMatchObject({
          code: 'listing-failed',
        });
        // Nothing the names said was run.
        const pwned = await endpoint.shell.run('[ -e ./pwned ] || [ -e ../pwned ] || [ -e /pwned ]', []);
        expect(pwned.exitCode).not.toBe(0);
      } finally {
        await endpoint.close();
        await fresh.close();
      }
    });
  }

  it('phfs:// — ListObjectsV2 with a delimiter, metadata by the scan rules, a clashing name left out', async () => {
    const alice = lab.lab.user('alice');
    const client = new S3Client({
      endpoint: lab.lab.s3.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: alice.s3.accessKeyId, secretAccessKey: alice.s3.secretAccessKey },
    });
    const prefix = 'groups/vision/list-folder/';
    const put = (key: string, body: string, mtime?: string): Promise<unknown> =>
      client.send(
        new PutObjectCommand({
          Bucket: 'phfs',
          Key: `${prefix}${key}`,
          Body: body,
          ...(mtime === undefined ? {} : { Metadata: { mtime } }),
        }),
      );
    await put('top.txt', 'hello', '1700000000.123456789');
    await put('dir/', '');
    await put('dir/inner.txt', 'inner');
    await put('dir/deep/x.txt', 'x');
    await put('.tether-partial-abc', 'half');
    await put('clash', 'a file');
    await put('clash/y.txt', 'and a folder');
    // The lab's S3 server (s3rver) lists keys with ' or & XML-escaped twice, so they cannot round-trip there.
    const hostile = HOSTILE.filter((name) => !/['&]/.test(name));
    for (const name of hostile) await put(name, name, '1600000000');
    const open = () =>
      new S3Endpoint(parseRemoteUrl('phfs://vision/list-folder'), {
        settings: { endpoint: lab.lab.s3.endpoint },
        client,
      });
    const endpoint = open();
    const fresh = open();
    try {
      await checkAgainstScan(endpoint, fresh, hostile);
      const top = await fresh.listFolder('');
      expect(top.find((e) => e.path === 'top.txt')?.mtimeMs).toBeCloseTo(1700000000123.457, 2);
      expect(top.find((e) => e.path === '-rf')?.mtimeMs).toBe(1600000000000);
      expect(top.filter((e) => e.path === 'clash')).toEqual([expect.objectContaining({ kind: 'dir' })]);
      // More keys than one ListObjectsV2 page holds (pages of 10 here; S3's are 1,000).
      await Promise.all(
        Array.from({ length: 25 }, (_, i) =>
          client.send(new PutObjectCommand({ Bucket: 'phfs', Key: `${prefix}many/f${String(i).padStart(2, '0')}` })),
        ),
      );
      const context: S3Context = {
        client,
        bucket: 'phfs',
        rootPrefix: prefix,
        displayName: 'phfs://vision/list-folder',
        known: new Map(),
        multipartThreshold: 8 << 20,
        partConcurrency: 1,
        minPartSize: 8 << 20,
        conditionalWrites: () => Promise.resolve(false),
        fail: (what, error) => new TetherError('listing-failed', `${what}: ${String(error)}`),
      };
      const paged = await listS3Folder(context, new Map(), 'many', {}, 10);
      expect(paged.map((e) => e.path)).toEqual(
        Array.from({ length: 25 }, (_, i) => `many/f${String(i).padStart(2, '0')}`),
      );
    } finally {
      await endpoint.close();
      await fresh.close();
      client.destroy();
    }
  });
});
