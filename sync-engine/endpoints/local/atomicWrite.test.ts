import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import type { Entry, Problem } from '../../core/entry.js';
import { partialPathFor } from '../../core/temporaries.js';
import type { IncomingFile, WriteRequest } from '../endpoint.js';
import { SMALL_FILE_BYTES } from './fsUtil.js';
import { createLocalEndpoint } from './localEndpoint.js';
import type { LocalEndpoint } from './localEndpoint.js';
import { fileEntry, incomingFrom, readAll, TempDirs, writeFile } from './testFixtures.js';
import type { Content } from './testFixtures.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

const T = 1_700_000_000_789;
const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

interface Recorded {
  done: { request: WriteRequest; written: Entry }[];
  problems: Problem[];
  bytes: number;
}

async function write(
  endpoint: LocalEndpoint,
  files: { request: WriteRequest; content: Content }[],
  signal?: AbortSignal,
): Promise<Recorded> {
  const recorded: Recorded = { done: [], problems: [], bytes: 0 };
  await endpoint.writeFiles(
    files.map((f) => f.request),
    incomingFrom(
      files.map((f) => ({
        path: f.request.path,
        entry: f.request.entry,
        offset: f.request.offset,
        content: f.content,
      })),
    ),
    {
      ...(signal === undefined ? {} : { signal }),
      onBytes: (n) => (recorded.bytes += n),
      onFileDone: (request, written) => recorded.done.push({ request, written }),
      onProblem: (p) => recorded.problems.push(p),
    },
  );
  return recorded;
}

describe('readFiles → writeFiles between two local endpoints', () => {
  it('copies content, mode and mtime, and leaves no temporaries', async () => {
    const srcRoot = dirs.make();
    const dstRoot = dirs.make();
    writeFile(srcRoot, 'a.txt', 'alpha', { mtimeMs: T });
    writeFile(srcRoot, 'sub/tool', '#!/bin/sh\necho hi\n', { mtimeMs: T + 5, mode: 0o755 });
    writeFile(srcRoot, 'sub/empty', '', { mtimeMs: T + 9 });
    writeFile(dstRoot, 'sub/.keep', '');
    const source = await createLocalEndpoint(srcRoot);
    const destination = await createLocalEndpoint(dstRoot);
    const files = (await source.scan()).entries.filter((e) => e.kind === 'file');
    const requests: WriteRequest[] = files.map((entry) => ({ path: entry.path, entry, offset: 0 }));
    const done: Entry[] = [];
    let bytes = 0;
    await destination.writeFiles(requests, source.readFiles(requests), {
      onFileDone: (_request, written) => done.push(written),
      onBytes: (n) => (bytes += n),
      onProblem: (p) => expect.fail(`${p.path}: ${p.message}`),
    });
    await Promise.all([source.close(), destination.close()]);

    expect(bytes).toBe(5 + 18);
    expect(readFileSync(join(dstRoot, 'a.txt'), 'utf8')).toBe('alpha');
    expect(readFileSync(join(dstRoot, 'sub/tool'), 'utf8')).toBe('#!/bin/sh\necho hi\n');
    const tool = lstatSync(join(dstRoot, 'sub/tool'));
    expect(tool.mode & 0o777).toBe(0o755);
    expect(Math.trunc(tool.mtimeMs)).toBe(T + 5);
    expect(lstatSync(join(dstRoot, 'a.txt')).mode & 0o777).toBe(0o644);
    expect(Math.trunc(lstatSync(join(dstRoot, 'sub/empty')).mtimeMs)).toBe(T + 9);
    expect(done.map((e) => e.path).sort()).toEqual(['a.txt', 'sub/empty', 'sub/tool']);
    expect(done.find((e) => e.path === 'sub/tool')).toEqual({
      path: 'sub/tool',
      kind: 'file',
      size: 18,
      mtimeMs: T + 5,
      executable: true,
    });
    expect(readdirSync(join(dstRoot, 'sub')).sort()).toEqual(['.keep', 'empty', 'tool']);
  });

  it('sets integer-ms mtimes exactly (no off-by-one from floating-point seconds)', async () => {
    const root = dirs.make();
    const endpoint = await createLocalEndpoint(root);
    const mtimes = Array.from({ length: 40 }, (_, i) => 1_600_000_000_000 + i * 7_777_777 + (i % 1000));
    const files = mtimes.map((mtimeMs, i) => ({
      request: { path: `f${i}`, entry: fileEntry(`f${i}`, 1, mtimeMs), offset: 0 },
      content: Buffer.from('x'),
    }));
    const recorded = await write(endpoint, files);
    await endpoint.close();
    expect(recorded.problems).toEqual([]);
    for (const [i, mtimeMs] of mtimes.entries())
      expect(Math.trunc(lstatSync(join(root, `f${i}`)).mtimeMs)).toBe(mtimeMs);
  });

  it('resumes from a partial file, verifying the whole content when asked', async () => {
    const root = dirs.make();
    const content = Buffer.from('0123456789'.repeat(1000));
    const entry = fileEntry('dir/big.bin', content.length, T, { sha256: sha256(content) });
    writeFile(root, partialPathFor('dir/big.bin', entry), content.subarray(0, 4321));
    const endpoint = await createLocalEndpoint(root);
    const offset = await endpoint.partialOffset('dir/big.bin', entry);
    expect(offset).toBe(4321);
    const recorded = await write(endpoint, [
      {
        request: { path: 'dir/big.bin', entry, offset, verifySha256: sha256(content) },
        content: content.subarray(offset),
      },
    ]);
    expect(await endpoint.partialOffset('dir/big.bin', entry)).toBe(0);
    await endpoint.close();
    expect(recorded.problems).toEqual([]);
    expect(recorded.bytes).toBe(content.length - 4321);
    expect(readFileSync(join(root, 'dir/big.bin')).equals(content)).toBe(true);
    expect(readdirSync(join(root, 'dir'))).toEqual(['big.bin']);
  });

  it('refuses a resume offset the partial file does not have, and a bad checksum', async () => {
    const root = dirs.make();
    const entry = fileEntry('a', 10, T);
    writeFile(root, partialPathFor('a', entry), 'abc');
    const endpoint = await createLocalEndpoint(root);
    const recorded = await write(endpoint, [
      { request: { path: 'a', entry, offset: 5 }, content: Buffer.from('fghij') },
      {
        request: { path: 'b', entry: fileEntry('b', 3, T), offset: 0, verifySha256: sha256('xyz') },
        content: Buffer.from('abc'),
      },
    ]);
    await endpoint.close();
    expect(recorded.done).toEqual([]);
    expect(recorded.problems).toEqual([
      {
        path: 'a',
        message: expect.stringMatching(/cannot resume at byte 5, the partial file holds 3 bytes/) as unknown,
      },
      { path: 'b', message: expect.stringMatching(/SHA-256 .* not the expected/) as unknown },
    ]);
    expect(existsSync(join(root, 'a'))).toBe(false);
    expect(existsSync(join(root, 'b'))).toBe(false);
    expect(readdirSync(root)).toEqual([partialPathFor('a', entry)]);
  });

  it('keeps what a large file received when the source fails, and goes on with the next file', async () => {
    const root = dirs.make();
    const broken = fileEntry('broken', SMALL_FILE_BYTES + 100_000, T);
    const short = fileEntry('short', SMALL_FILE_BYTES + 10, T);
    const endpoint = await createLocalEndpoint(root);
    const reset = new Error('connection reset by peer');
    const recorded = await write(endpoint, [
      {
        request: { path: 'broken', entry: broken, offset: 0 },
        content: { prefix: Buffer.alloc(70_000, 1), error: reset },
      },
      { request: { path: 'short', entry: short, offset: 0 }, content: Buffer.alloc(1000, 2) },
      { request: { path: 'small', entry: fileEntry('small', 100, T), offset: 0 }, content: reset },
      { request: { path: 'fine', entry: fileEntry('fine', 2, T), offset: 0 }, content: Buffer.from('ok') },
    ]);
    await endpoint.close();
    expect(recorded.problems).toEqual([
      {
        path: 'broken',
        message:
          'transfer interrupted (connection reset by peer); the 70000 bytes received are kept and the next sync resumes from there',
      },
      {
        path: 'short',
        message: expect.stringMatching(/received 1000 of \d+ bytes; the 1000 bytes received are kept/) as unknown,
      },
      { path: 'small', message: 'transfer interrupted (connection reset by peer); the next sync sends it again' },
    ]);
    expect(recorded.done.map((d) => d.request.path)).toEqual(['fine']);
    expect(lstatSync(join(root, partialPathFor('broken', broken))).size).toBe(70_000);
    expect(lstatSync(join(root, partialPathFor('short', short))).size).toBe(1000);
    // A small file is only written once complete: nothing of it is on disk.
    expect(readdirSync(root).sort()).toEqual(
      ['fine', partialPathFor('broken', broken), partialPathFor('short', short)].sort(),
    );
  });

  it('refuses to overwrite a target that changed or appeared after the scan', async () => {
    const root = dirs.make();
    writeFile(root, 'edited', 'original', { mtimeMs: T });
    writeFile(root, 'unchanged', 'original', { mtimeMs: T });
    const endpoint = await createLocalEndpoint(root);
    const scanned = new Map((await endpoint.scan()).entries.map((e) => [e.path, e]));
    writeFile(root, 'edited', 'edited by the user', { mtimeMs: T + 1000 });
    writeFile(root, 'appeared', 'new here');
    const incoming = (path: string): { request: WriteRequest; content: Buffer } => {
      const replaces = scanned.get(path);
      return {
        request: {
          path,
          entry: fileEntry(path, 6, T + 50),
          offset: 0,
          ...(replaces === undefined ? {} : { replaces }),
        },
        content: Buffer.from('remote'),
      };
    };
    const recorded = await write(endpoint, [incoming('edited'), incoming('appeared'), incoming('unchanged')]);
    await endpoint.close();
    expect(recorded.problems.map((p) => p.path)).toEqual(['edited', 'appeared']);
    expect(recorded.problems[0]?.message).toMatch(
      /not overwritten: it changed here since the scan \(its size is now 18/,
    );
    expect(readFileSync(join(root, 'edited'), 'utf8')).toBe('edited by the user');
    expect(readFileSync(join(root, 'appeared'), 'utf8')).toBe('new here');
    expect(readFileSync(join(root, 'unchanged'), 'utf8')).toBe('remote');
  });

  it('keeps the permissions of a replaced file apart from the executable bits', async () => {
    const root = dirs.make();
    writeFile(root, 'private', 'secret', { mtimeMs: T, mode: 0o600 });
    const endpoint = await createLocalEndpoint(root);
    const [replaces] = (await endpoint.scan()).entries;
    const recorded = await write(endpoint, [
      {
        request: {
          path: 'private',
          entry: fileEntry('private', 3, T + 1, { executable: true }),
          offset: 0,
          replaces: replaces!,
        },
        content: Buffer.from('new'),
      },
    ]);
    await endpoint.close();
    expect(recorded.problems).toEqual([]);
    expect(lstatSync(join(root, 'private')).mode & 0o777).toBe(0o700);
  });

  it('rejects with cancelled when the signal is aborted, keeping what arrived', async () => {
    const root = dirs.make();
    const endpoint = await createLocalEndpoint(root);
    const controller = new AbortController();
    controller.abort();
    await expect(
      write(
        endpoint,
        [{ request: { path: 'a', entry: fileEntry('a', 1, T), offset: 0 }, content: Buffer.from('a') }],
        controller.signal,
      ),
    ).rejects.toMatchObject({ code: 'cancelled' });
    await endpoint.close();
    expect(existsSync(join(root, 'a'))).toBe(false);
  });

  it('stops mid-file on cancellation, keeping the partial file for a resume', async () => {
    const root = dirs.make();
    const endpoint = await createLocalEndpoint(root);
    const entry = fileEntry('big', 64 * 1024 * 64, T);
    const controller = new AbortController();
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 64; i++) yield await Promise.resolve(Buffer.alloc(64 * 1024, i));
    }
    async function* incoming(): AsyncGenerator<IncomingFile> {
      yield await Promise.resolve({ path: 'big', entry, offset: 0, stream: Readable.from(chunks()) });
    }
    let bytes = 0;
    const outcome = endpoint.writeFiles([{ path: 'big', entry, offset: 0 }], incoming(), {
      signal: controller.signal,
      onBytes: (n) => {
        bytes += n;
        if (bytes >= 8 * 64 * 1024) controller.abort();
      },
    });
    await expect(outcome).rejects.toMatchObject({ code: 'cancelled' });
    const kept = await endpoint.partialOffset('big', entry);
    await endpoint.close();
    expect(existsSync(join(root, 'big'))).toBe(false);
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(entry.size);
  });

  it('rejects when the source yields fewer files than requested', async () => {
    const root = dirs.make();
    const endpoint = await createLocalEndpoint(root);
    const entry = fileEntry('a', 1, T);
    const requests = [
      { path: 'a', entry, offset: 0 },
      { path: 'b', entry: fileEntry('b', 1, T), offset: 0 },
    ];
    await expect(
      endpoint.writeFiles(requests, incomingFrom([{ path: 'a', entry, offset: 0, content: Buffer.from('a') }])),
    ).rejects.toMatchObject({
      code: 'transfer-failed',
      message: expect.stringMatching(/stopped after 1 of 2 files; b/) as unknown,
    });
    await endpoint.close();
    expect(readFileSync(join(root, 'a'), 'utf8')).toBe('a');
  });

  it('refuses paths that escape the root', async () => {
    const root = dirs.make();
    const outside = dirs.make();
    symlinkSync(outside, join(root, 'escape'));
    const endpoint = await createLocalEndpoint(root);
    const attempts = ['../x', '/etc/x', 'a/../../x', 'escape/x', 'a//b', 'back\\slash'];
    const recorded = await write(
      endpoint,
      attempts.map((path) => ({
        request: { path, entry: fileEntry(path, 1, T), offset: 0 },
        content: Buffer.from('!'),
      })),
    );
    await endpoint.close();
    expect(recorded.done).toEqual([]);
    expect(recorded.problems.map((p) => p.path)).toEqual(attempts);
    expect(recorded.problems[3]?.message).toMatch(/escape is a symbolic link/);
    expect(readdirSync(outside)).toEqual([]);
  });
});

describe('readFiles', () => {
  it('streams from an offset, and errors naming a file that vanished or changed', async () => {
    const root = dirs.make();
    writeFile(root, 'a', 'abcdefghij', { mtimeMs: T });
    writeFile(root, 'changed', 'before', { mtimeMs: T });
    writeFile(root, 'gone', 'x', { mtimeMs: T });
    const endpoint = await createLocalEndpoint(root);
    const scanned = new Map((await endpoint.scan()).entries.map((e) => [e.path, e]));
    writeFileSync(join(root, 'changed'), 'after, longer');
    rmSync(join(root, 'gone'));
    const results: (string | Error)[] = [];
    for await (const file of endpoint.readFiles([
      { path: 'a', entry: scanned.get('a')!, offset: 3 },
      { path: 'changed', entry: scanned.get('changed')!, offset: 0 },
      { path: 'gone', entry: scanned.get('gone')!, offset: 0 },
      { path: 'a', entry: scanned.get('a')!, offset: 10 },
    ])) {
      results.push(
        await readAll(file.stream).then(
          (b) => b.toString(),
          (e: unknown) => e as Error,
        ),
      );
    }
    await endpoint.close();
    expect(results[0]).toBe('defghij');
    expect((results[1] as Error).message).toMatch(/^cannot read changed: it changed since the scan/);
    expect((results[2] as Error).message).toMatch(/^cannot read gone: it vanished/);
    expect(results[3]).toBe('');
  });

  it('does not hang on a FIFO put in the place of a file (reading, hashing, or as a partial file)', async () => {
    const root = dirs.make();
    const entry = fileEntry('pipe', 5, T);
    expect(spawnSync('mkfifo', [join(root, 'pipe'), join(root, partialPathFor('target', entry))]).status).toBe(0);
    const endpoint = await createLocalEndpoint(root);
    for await (const file of endpoint.readFiles([{ path: 'pipe', entry, offset: 0 }])) {
      await expect(readAll(file.stream)).rejects.toThrow(
        /^cannot read pipe: it changed since the scan \(it is now a special file/,
      );
    }
    const { problems } = await endpoint.hash([entry]);
    expect(problems).toEqual([{ path: 'pipe', message: expect.stringMatching(/no longer a regular file/) as unknown }]);
    const recorded = await write(endpoint, [
      { request: { path: 'target', entry: { ...entry, path: 'target' }, offset: 0 }, content: Buffer.from('12345') },
    ]);
    await endpoint.close();
    expect(recorded.problems).toEqual([
      { path: 'target', message: expect.stringMatching(/cannot create its partial file: ENXIO/) as unknown },
    ]);
  });
});
