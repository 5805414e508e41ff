import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Problem } from '../../sync-engine/core/entry.js';
import type { WriteRequest } from '../../sync-engine/endpoints/endpoint.js';
import { fileEntry, incomingFrom, readAll } from '../../sync-engine/endpoints/local/testFixtures.js';
import type { Content } from '../../sync-engine/endpoints/local/testFixtures.js';
import { openRemote } from '../../sync-engine/endpoints/open.js';
import { execSessionCounts } from '../../sync-engine/endpoints/pvc/execClient.js';
import { startPvcLab } from './helpers.js';
import type { PvcLab } from './helpers.js';

/**
 * A tar batch of new files is committed one target folder at a time (one `mv` per folder, see tarUpload.ts):
 * these check that a folder's `mv` takes exactly the files that should land, on both userlands.
 */
let lab: PvcLab;
let witness: string;

beforeAll(async () => {
  lab = await startPvcLab();
  witness = await lab.witnessPod('group-vision', 'vision-archive', 'debian:12');
}, 120_000);
afterAll(async () => {
  await lab.stop();
}, 60_000);

const T = 1_700_000_000_000;
const sha = (content: Buffer): string => createHash('sha256').update(content).digest('hex');

/** Names a folder's `mv` must carry (dotfiles, leading dashes, globs), and ones that travel on their own. */
const GROUPED = ['.hidden', '..dots', '-rf', '$(reboot)', '*', 'a b', 'x:y'];
const ALONE = ['ünïcode.txt', `${'l'.repeat(101)}.txt`];

describe.each([
  ['BusyBox', 'busybox:1.36', 'in one exec', 0, 1],
  ['GNU', 'debian:12', 'in one exec', 0, 1],
  // Over 1 MiB, a batch streams into a staging folder while it is read, then a second exec commits it.
  ['BusyBox', 'busybox:1.36', 'streamed', 1536 * 1024, 2],
  ['GNU', 'debian:12', 'streamed', 1536 * 1024, 2],
])('a batch of new files committed by folder through a %s helper, %s', (_userland, image, route, padding, execs) => {
  it('lands every good file exactly; a failed source and a target that appeared since the scan stay as they were', async () => {
    const root = `tests/batch-${image.replace(/\W/g, '-')}-${route.replace(/\W/g, '-')}`;
    const endpoint = await openRemote(`pvc://alice@group-vision/vision-archive/${root}`, {
      options: { kubeconfig: lab.lab.kubeconfig, helperIdleSeconds: '0', helperImage: image },
    });
    try {
      const folders = await endpoint.mkdirs(
        ['sub', 'sub/deeper'].map((path) => ({ path, kind: 'dir' as const, size: 0, mtimeMs: T, executable: false })),
      );
      expect(folders).toEqual([]);
      const files: { path: string; content: Content }[] = [];
      for (const folder of ['', 'sub/', 'sub/deeper/'])
        for (const name of [...GROUPED, ...ALONE, 'plain.txt'])
          files.push({ path: `${folder}${name}`, content: Buffer.from(`${folder}${name} content`) });
      // A source that fails part-way, in a folder whose other files do land.
      files.push({ path: 'sub/broken.bin', content: { prefix: Buffer.alloc(10, 1), error: new Error('disk gone') } });
      // Created on the remote after the scan (which saw nothing there): must not be overwritten.
      files.push({ path: 'sub/appeared.txt', content: Buffer.from('from the laptop') });
      if (padding > 0) files.push({ path: 'sub/padding.bin', content: Buffer.alloc(padding, 7) });
      const created = await lab.exec(
        'group-vision',
        witness,
        'sh',
        '-c',
        `mkdir -p /data/${root}/sub && printf 'made remotely' > /data/${root}/sub/appeared.txt`,
      );
      expect(created.code, created.stderr).toBe(0);

      const requests: WriteRequest[] = files.map(({ path, content }) => ({
        path,
        entry: fileEntry(path, Buffer.isBuffer(content) ? content.length : 20, T),
        offset: 0,
      }));
      const done: string[] = [];
      const problems: Problem[] = [];
      execSessionCounts(true);
      await endpoint.writeFiles(
        requests,
        incomingFrom(files.map((f, i) => ({ path: f.path, entry: requests[i]!.entry, offset: 0, content: f.content }))),
        { onFileDone: (request) => done.push(request.path), onProblem: (problem) => problems.push(problem) },
      );

      expect(execSessionCounts().started).toBe(execs);
      const good = files.filter((f) => Buffer.isBuffer(f.content) && f.path !== 'sub/appeared.txt');
      expect(done.sort()).toEqual(good.map((f) => f.path).sort());
      expect(problems.map((p) => p.path).sort()).toEqual(['sub/appeared.txt', 'sub/broken.bin']);
      expect(problems.find((p) => p.path === 'sub/appeared.txt')?.message).toMatch(/changed on the remote/);

      const remote = await lab.remoteHashes('group-vision', witness, `/data/${root}`);
      const expected = new Map(good.map((f) => [f.path, sha(f.content as Buffer)]));
      expected.set('sub/appeared.txt', sha(Buffer.from('made remotely')));
      expect(remote).toEqual(expected);
      const leftovers = await lab.exec('group-vision', witness, 'find', `/data/${root}`, '-name', '.tether-*');
      expect(leftovers.stdout.toString()).toBe('');
    } finally {
      await endpoint.close();
    }
  });
});

describe.each([
  ['BusyBox', 'busybox:1.36'],
  ['GNU', 'debian:12'],
])('a pull whose list of names xargs splits, through a %s helper', (_userland, image) => {
  it('reads the archives of the split list as one: every file, in order, exact', async () => {
    const root = `tests/split-${image.replace(/\W/g, '-')}`;
    const endpoint = await openRemote(`pvc://alice@group-vision/vision-archive/${root}`, {
      options: { kubeconfig: lab.lab.kubeconfig, helperIdleSeconds: '0', helperImage: image },
    });
    try {
      // 1,500 names of about 200 bytes: some 300 KB of list, more than xargs puts on one command line.
      const files = Array.from({ length: 1500 }, (_, i) => ({
        path: `${String(i).padStart(4, '0')}-${'n'.repeat(190)}.txt`,
        content: Buffer.from(`file ${i}`),
      }));
      const requests: WriteRequest[] = files.map(({ path, content }) => ({
        path,
        entry: fileEntry(path, content.length, T),
        offset: 0,
      }));
      const problems: Problem[] = [];
      await endpoint.writeFiles(
        requests,
        incomingFrom(files.map((f, i) => ({ ...f, entry: requests[i]!.entry, offset: 0 }))),
        { onProblem: (problem) => problems.push(problem) },
      );
      expect(problems).toEqual([]);
      const scanned = new Map((await endpoint.scan()).entries.map((e) => [e.path, e]));
      const got: string[] = [];
      for await (const file of endpoint.readFiles(
        files.map((f) => ({ path: f.path, entry: scanned.get(f.path)!, offset: 0 })),
      ))
        got.push(`${file.path}=${(await readAll(file.stream)).toString()}`);
      expect(got).toEqual(files.map((f) => `${f.path}=${f.content.toString()}`));
    } finally {
      await endpoint.close();
    }
  });
});
