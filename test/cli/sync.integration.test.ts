import { chmod, mkdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tether } from '../helpers/cli.js';
import { contentOf, snapshot, tempDir } from '../helpers/trees.js';

interface Summary {
  uploaded: number;
  downloaded: number;
  deletedLocal: number;
  deletedRemote: number;
  conflicts: number;
  bytes: number;
  failed: number;
  problems: { path: string; message: string }[];
}

/** Names that break tools that splice paths into shell strings or trust their shape. */
const HOSTILE = [
  'with space.txt',
  '-rf',
  '--help',
  'a"b\'c.txt',
  '$(touch pwned).txt',
  '`id`.txt',
  'new\nline.txt',
  'tab\there.txt',
  'caf\u00e9-nfc.txt',
  'cafe\u0301-nfd.txt',
  'ファイル.bin',
  'semi;colon&amp|pipe.txt',
  'dir with space/inner -x.txt',
];

describe('tether sync over file://', () => {
  let root: { path: string; cleanup: () => Promise<void> };
  let home: string;
  let local: string;
  let remote: string;

  const sync = async (name: string, ...extra: string[]): Promise<Summary> => {
    const result = await tether(['sync', name, '--json', ...extra], home);
    expect(result.stderr, result.stderr).toBe('');
    expect(result.code).toBe(0);
    return JSON.parse(result.stdout) as Summary;
  };
  const addPair = async (name: string, ...extra: string[]): Promise<void> => {
    const result = await tether(
      ['pair', 'add', name, '--local', local, '--remote', `file://${remote}`, ...extra],
      home,
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  };

  beforeEach(async () => {
    root = await tempDir('sync');
    home = join(root.path, 'home');
    local = join(root.path, 'local');
    remote = join(root.path, 'remote');
    await mkdir(local);
    await mkdir(remote);
  });
  afterEach(() => root.cleanup());

  it('pushes hostile names, empty folders and the executable bit, and nothing runs', async () => {
    for (const name of HOSTILE) {
      await mkdir(join(local, name, '..'), { recursive: true });
      await writeFile(join(local, name), `content of ${name}\n`);
    }
    await mkdir(join(local, 'empty', 'nested-empty'), { recursive: true });
    await writeFile(join(local, 'run.sh'), '#!/bin/sh\necho hi\n');
    await chmod(join(local, 'run.sh'), 0o755);
    await addPair('p', '--mode', 'push');

    const summary = await sync('p');
    expect(summary.uploaded).toBe(HOSTILE.length + 1);
    expect(summary.problems).toEqual([]);
    expect(contentOf(await snapshot(remote))).toEqual(contentOf(await snapshot(local)));
    expect((await stat(join(remote, 'run.sh'))).mode & 0o777).toBe(0o755);
    // NFC and NFD spellings stay two distinct files.
    expect(await readFile(join(remote, 'cafe\u0301-nfd.txt'), 'utf8')).toBe('content of cafe\u0301-nfd.txt\n');
    // mtimes are preserved.
    expect(Math.trunc((await stat(join(remote, '-rf'))).mtimeMs)).toBe(
      Math.trunc((await stat(join(local, '-rf'))).mtimeMs),
    );
    // Nothing was executed by a shell.
    await expect(stat(join(local, 'pwned'))).rejects.toThrow();
    await expect(stat(join(remote, 'pwned'))).rejects.toThrow();

    // A second run has nothing to do.
    const again = await sync('p');
    expect(again).toMatchObject({ uploaded: 0, downloaded: 0, deletedLocal: 0, deletedRemote: 0, bytes: 0 });
  });

  it('two-way: propagates edits and deletions both ways and keeps both versions of a conflict', async () => {
    for (const n of ['a', 'b', 'c', 'd', 'e']) await writeFile(join(local, `${n}.txt`), `v1 ${n}\n`);
    await addPair('tw');
    expect((await sync('tw')).uploaded).toBe(5);

    await writeFile(join(local, 'a.txt'), 'v2 a from local\n');
    await writeFile(join(remote, 'b.txt'), 'v2 b from remote, longer\n');
    await rm(join(remote, 'c.txt'));
    await writeFile(join(local, 'd.txt'), 'local edit of d\n');
    await writeFile(join(remote, 'd.txt'), 'remote edit of d, different\n');
    await writeFile(join(remote, 'new-remote.txt'), 'made remotely\n');

    const summary = await sync('tw');
    expect(summary.conflicts).toBe(1);
    expect(summary.deletedLocal).toBe(1);
    expect(contentOf(await snapshot(remote))).toEqual(contentOf(await snapshot(local)));
    expect(await readFile(join(remote, 'a.txt'), 'utf8')).toBe('v2 a from local\n');
    expect(await readFile(join(local, 'b.txt'), 'utf8')).toBe('v2 b from remote, longer\n');
    await expect(stat(join(local, 'c.txt'))).rejects.toThrow();
    // The conflict: the local version keeps the name, the remote's is kept beside it on both sides.
    expect(await readFile(join(local, 'd.txt'), 'utf8')).toBe('local edit of d\n');
    const snap = await snapshot(local);
    const copies = [...snap.keys()].filter((p) => /^d\.conflict-.+-\d{8}-\d{6}\.txt$/.test(p));
    expect(copies).toHaveLength(1);
    expect(await readFile(join(local, copies[0]!), 'utf8')).toBe('remote edit of d, different\n');
    expect(await readFile(join(remote, copies[0]!), 'utf8')).toBe('remote edit of d, different\n');

    // Modification beats deletion: deleted locally, edited remotely → restored.
    await rm(join(local, 'e.txt'));
    await writeFile(join(remote, 'e.txt'), 'remote kept editing e\n');
    const restored = await sync('tw');
    expect(restored.deletedRemote).toBe(0);
    expect(await readFile(join(local, 'e.txt'), 'utf8')).toBe('remote kept editing e\n');
  });

  it('sha256 mode tells content apart where size+mtime cannot, and skips files that were only touched', async () => {
    // Two trees that already exist: same names, sizes and mtimes, one file differs in content.
    const when = new Date('2026-01-02T03:04:05Z');
    for (const n of ['x', 'y', 'z']) {
      await writeFile(join(local, `${n}.txt`), `1234567890 ${n}`);
      await writeFile(join(remote, `${n}.txt`), n === 'x' ? 'abcdefghij x' : `1234567890 ${n}`);
      await utimes(join(local, `${n}.txt`), when, when);
      await utimes(join(remote, `${n}.txt`), when, when);
    }
    await addPair('loose', '--mode', 'mirror-push');
    expect((await sync('loose', '--dry-run')).uploaded).toBe(0);
    await addPair('strict', '--mode', 'mirror-push', '--compare', 'sha256');
    const strict = await sync('strict');
    expect(strict.uploaded).toBe(1);
    expect(await readFile(join(remote, 'x.txt'), 'utf8')).toBe('1234567890 x');

    // Touched, not changed: size-mtime would copy it again; sha256 sees the same content and moves no bytes.
    const later = new Date('2026-03-04T05:06:07Z');
    await utimes(join(local, 'y.txt'), later, later);
    expect((await sync('loose', '--dry-run')).uploaded).toBe(1);
    const touched = await sync('strict');
    expect(touched).toMatchObject({ uploaded: 0, bytes: 0 });
  });

  it('dry run prints the plan and changes nothing', async () => {
    for (const n of ['1', '2', '3']) await writeFile(join(local, `${n}.dat`), n.repeat(100));
    await addPair('dry');
    const result = await tether(['sync', 'dry', '--dry-run'], home);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('dry run of "dry": nothing was changed');
    expect(result.stdout).toMatch(/upload\s+1\.dat \(100 B\)/);
    expect([...(await snapshot(remote)).keys()]).toEqual([]);
  });

  it('halts instead of deleting everything when a side is emptied, and --force goes through', async () => {
    for (let i = 0; i < 6; i++) await writeFile(join(local, `f${i}`), `file ${i}`);
    await addPair('safe');
    await sync('safe');
    for (let i = 0; i < 6; i++) await rm(join(local, `f${i}`));

    const halted = await tether(['sync', 'safe'], home);
    expect(halted.code).toBe(3);
    expect(halted.stderr).toMatch(/empty/);
    expect(halted.stderr).toMatch(/--force/);
    expect((await snapshot(remote)).size).toBe(6);
    const status = JSON.parse((await tether(['status', 'safe', '--json'], home)).stdout) as { state: string };
    expect(status.state).toBe('halted');

    const forced = await sync('safe', '--force');
    expect(forced.deletedRemote).toBe(6);
    expect((await snapshot(remote)).size).toBe(0);
  });

  it('halts when a plan deletes more than --max-delete', async () => {
    for (let i = 0; i < 10; i++) await writeFile(join(local, `f${i}`), `file ${i}`);
    await addPair('limit', '--max-delete', '3');
    await sync('limit');
    for (let i = 0; i < 4; i++) await rm(join(local, `f${i}`));
    const halted = await tether(['sync', 'limit'], home);
    expect(halted.code).toBe(3);
    expect(halted.stderr).toMatch(/4/);
    expect((await snapshot(remote)).size).toBe(10);
    expect((await sync('limit', '--max-delete', '50%')).deletedRemote).toBe(4);
  });

  it('pull mode never touches local-only edits; mirror-pull makes local identical', async () => {
    for (const n of ['a', 'b', 'c']) await writeFile(join(remote, `${n}.ckpt`), `weights ${n}`);
    await addPair('pull', '--mode', 'pull');
    expect((await sync('pull')).downloaded).toBe(3);
    await writeFile(join(local, 'notes.md'), 'mine');
    await writeFile(join(local, 'a.ckpt'), 'locally changed a');
    expect(await sync('pull')).toMatchObject({ uploaded: 0, deletedLocal: 0, downloaded: 0 });
    expect(await readFile(join(local, 'notes.md'), 'utf8')).toBe('mine');
    expect((await snapshot(remote)).has('notes.md')).toBe(false);

    await tether(
      ['pair', 'add', 'mirror', '--local', local, '--remote', `file://${remote}`, '--mode', 'mirror-pull'],
      home,
    );
    const mirrored = await sync('mirror', '--force');
    expect(mirrored.deletedLocal).toBe(1);
    expect(contentOf(await snapshot(local))).toEqual(contentOf(await snapshot(remote)));
  });

  it('copies a 200 MiB file intact', async () => {
    const chunk = Buffer.alloc(1024 * 1024);
    const big = join(local, 'big.bin');
    const { open } = await import('node:fs/promises');
    const handle = await open(big, 'w');
    for (let i = 0; i < 200; i++) {
      chunk.fill(i % 251);
      chunk.writeUInt32LE(i, 0);
      await handle.write(chunk);
    }
    await handle.close();
    await addPair('big', '--mode', 'push', '--compare', 'sha256');
    const summary = await sync('big');
    expect(summary.bytes).toBe(200 * 1024 * 1024);
    expect(contentOf(await snapshot(remote))).toEqual(contentOf(await snapshot(local)));
  });

  it('skips symlinks with a recorded problem and never follows them out of the root', async () => {
    const { symlink } = await import('node:fs/promises');
    await writeFile(join(root.path, 'outside-secret'), 'secret');
    await symlink(join(root.path, 'outside-secret'), join(local, 'link-out'));
    await writeFile(join(local, 'real.txt'), 'real');
    await writeFile(join(local, 'other.txt'), 'other');
    await addPair('links', '--mode', 'push');
    const summary = await sync('links');
    expect(summary.uploaded).toBe(2);
    expect(summary.problems.map((p) => p.path)).toEqual(['link-out']);
    expect(summary.problems[0]!.message).toMatch(/symlink/);
    expect((await snapshot(remote)).has('link-out')).toBe(false);
  });

  it('honours ignore rules from the pair and .tetherignore', async () => {
    await mkdir(join(local, 'build'));
    await writeFile(join(local, 'build', 'out.o'), 'x');
    await writeFile(join(local, 'keep.txt'), 'k');
    await writeFile(join(local, 'scratch.tmp'), 't');
    await writeFile(join(local, '.tetherignore'), 'build/\n');
    await addPair('ign', '--mode', 'push', '--ignore', '*.tmp');
    await sync('ign');
    expect([...(await snapshot(remote)).keys()].sort()).toEqual(['.tetherignore', 'keep.txt']);
  });
});
