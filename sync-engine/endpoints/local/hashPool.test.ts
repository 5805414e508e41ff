import { createHash } from 'node:crypto';
import { closeSync, openSync, rmSync, symlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLocalEndpoint } from './localEndpoint.js';
import { fileEntry, TempDirs, writeFile } from './testFixtures.js';

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

const T = 1_700_000_000_456;
const sha256 = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');

describe('hash', () => {
  it('hashes several files in parallel, matching node:crypto', async () => {
    const root = dirs.make();
    const contents = new Map<string, Buffer>();
    for (let i = 0; i < 12; i++) {
      const content = Buffer.alloc(1000 * i + 1, `file ${i} `);
      contents.set(`f${i}.bin`, content);
      writeFile(root, `f${i}.bin`, content, { mtimeMs: T });
    }
    writeFile(root, 'empty', '', { mtimeMs: T });
    contents.set('empty', Buffer.alloc(0));
    const endpoint = await createLocalEndpoint(root, { hashConcurrency: 3 });
    const entries = [...contents].map(([path, content]) => fileEntry(path, content.length, T));
    const { hashes, problems } = await endpoint.hash(entries);
    await endpoint.close();
    expect(problems).toEqual([]);
    expect(hashes.size).toBe(contents.size);
    for (const [path, content] of contents) expect(hashes.get(path)).toBe(sha256(content));
    expect(hashes.get('empty')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  it('streams a file larger than its buffer (several MiB) to the right digest', async () => {
    const root = dirs.make();
    const abs = join(root, 'big.bin');
    const hash = createHash('sha256');
    const fd = openSync(abs, 'w');
    const chunk = Buffer.alloc(1024 * 1024 + 17);
    for (let i = 0; i < 6; i++) {
      chunk.fill(i);
      writeSync(fd, chunk);
      hash.update(chunk);
    }
    closeSync(fd);
    const endpoint = await createLocalEndpoint(root);
    const [entry] = (await endpoint.scan()).entries;
    const { hashes } = await endpoint.hash([entry!]);
    await endpoint.close();
    expect(hashes.get('big.bin')).toBe(hash.digest('hex'));
  });

  it('reports vanished, changed, linked and escaping files as problems', async () => {
    const root = dirs.make();
    const outside = dirs.make();
    writeFile(root, 'gone', 'x', { mtimeMs: T });
    writeFile(root, 'changed', 'new content', { mtimeMs: T });
    writeFile(root, 'ok', 'ok', { mtimeMs: T });
    writeFile(outside, 'secret', 'secret', { mtimeMs: T });
    symlinkSync(outside, join(root, 'linkdir'));
    symlinkSync(join(outside, 'secret'), join(root, 'link'));
    const endpoint = await createLocalEndpoint(root);
    rmSync(join(root, 'gone'));
    const { hashes, problems } = await endpoint.hash([
      fileEntry('gone', 1, T),
      fileEntry('changed', 3, T),
      fileEntry('ok', 2, T),
      fileEntry('linkdir/secret', 6, T),
      fileEntry('link', 6, T),
      fileEntry('../secret', 6, T),
    ]);
    await endpoint.close();
    expect([...hashes]).toEqual([['ok', sha256('ok')]]);
    const byPath = new Map(problems.map((p) => [p.path, p.message]));
    expect(byPath.get('gone')).toMatch(/vanished/);
    expect(byPath.get('changed')).toMatch(/changed since the scan.*size is now 11 bytes/);
    expect(byPath.get('linkdir/secret')).toMatch(/symbolic link/);
    expect(byPath.get('link')).toMatch(/symbolic link/);
    expect(byPath.get('../secret')).toMatch(/invalid path/);
  });

  it('rejects with cancelled when the signal is aborted', async () => {
    const root = dirs.make();
    writeFile(root, 'a', 'a', { mtimeMs: T });
    const endpoint = await createLocalEndpoint(root);
    const controller = new AbortController();
    controller.abort();
    await expect(endpoint.hash([fileEntry('a', 1, T)], { signal: controller.signal })).rejects.toMatchObject({
      code: 'cancelled',
    });
    await endpoint.close();
    await endpoint.close();
  });
});
