import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Attachments, subPathIn } from './podVolumes.js';
import type { PodOnNode } from './podVolumes.js';

const pod = (uid: string, node: string): PodOnNode => ({ uid, namespace: 'ml', node, attached: [] });

describe('Attachments', () => {
  it('lets pods on one node share an RWO claim, and refuses other nodes until it is released', () => {
    const attachments = new Attachments();
    const a = pod('a', 'node-a');
    const b = pod('b', 'node-a');
    const c = pod('c', 'node-b');
    expect(attachments.attach('ml/data', a, false)).toEqual([]);
    expect(attachments.attach('ml/data', b, false)).toEqual([]);
    expect(attachments.attach('ml/data', c, false)).toEqual(['a', 'b']);
    attachments.release(a);
    attachments.release(b);
    expect(attachments.attach('ml/data', c, false)).toEqual([]);
    expect(c.attached).toEqual(['ml/data']);
  });

  it('gives an RWOP claim to one pod only', () => {
    const attachments = new Attachments();
    expect(attachments.attach('ml/solo', pod('a', 'node-a'), true)).toEqual([]);
    expect(attachments.attach('ml/solo', pod('b', 'node-a'), true)).toEqual(['a']);
  });
});

describe('subPathIn', () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('makes missing folders, accepts a file, and refuses links and ..', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'subpath-'));
    const volume = path.join(dir, 'volume');
    await mkdir(path.join(volume, 'existing'), { recursive: true });
    await writeFile(path.join(volume, 'existing', 'file'), 'x');
    await symlink('/', path.join(volume, 'escape'));
    expect(await subPathIn(volume, 'new/deeper')).toBe(path.join(volume, 'new', 'deeper'));
    expect(await subPathIn(volume, 'existing/file')).toBe(path.join(volume, 'existing', 'file'));
    expect(await subPathIn(volume, 'escape')).toBeUndefined();
    expect(await subPathIn(volume, 'escape/etc')).toBeUndefined();
    expect(await subPathIn(volume, 'existing/file/below')).toBeUndefined();
    expect(await subPathIn(volume, '../outside')).toBeUndefined();
  });
});
