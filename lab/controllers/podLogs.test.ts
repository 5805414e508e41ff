import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { RotatingLog } from './podLogs.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('RotatingLog', () => {
  it('appends, and rotates to .1 past its limit', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'podlog-'));
    const file = path.join(dir, 'c.log');
    const lines = Array.from({ length: 10 }, (_, i) => Buffer.from(`line ${i}\n`));
    await pipeline(Readable.from(lines), new RotatingLog(file, 30));
    const current = await readFile(file, 'utf8');
    const previous = await readFile(`${file}.1`, 'utf8');
    expect(current.endsWith('line 9\n')).toBe(true);
    expect((await stat(file)).size).toBeLessThanOrEqual(30);
    expect(previous.length).toBeLessThanOrEqual(30);
    await pipeline(Readable.from([Buffer.from('more\n')]), new RotatingLog(file, 1000));
    expect((await readFile(file, 'utf8')).endsWith('line 9\nmore\n')).toBe(true);
  });
});
