import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { abortPendingUpload, listPendingUploads, listUploadsXml } from './multipartUploads.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lab-uploads-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function upload(id: string, key: string): Promise<void> {
  await mkdir(join(dir, id));
  await writeFile(join(dir, id, 'key'), key);
  await writeFile(join(dir, id, '1'), 'part');
}

it('lists pending uploads under a prefix in key order, and aborts one only with its own key', async () => {
  await upload('bbbbbbbbbbbbbbbb', 'groups/vision/b.bin');
  await upload('aaaaaaaaaaaaaaaa', 'groups/vision/a b+c.bin');
  await upload('cccccccccccccccc', 'groups/nlp/x.bin');
  await mkdir(join(dir, 'not-an-upload'));
  const listed = await listPendingUploads(dir, 'groups/vision/');
  expect(listed.map((u) => [u.key, u.uploadId])).toEqual([
    ['groups/vision/a b+c.bin', 'aaaaaaaaaaaaaaaa'],
    ['groups/vision/b.bin', 'bbbbbbbbbbbbbbbb'],
  ]);
  expect(listed[0]?.initiated.getTime()).toBe((await stat(join(dir, 'aaaaaaaaaaaaaaaa', 'key'))).mtime.getTime());

  const xml = listUploadsXml('phfs', 'groups/vision/', listed, true);
  expect(xml).toContain('<Key>groups/vision/a%20b%2Bc.bin</Key><UploadId>aaaaaaaaaaaaaaaa</UploadId>');
  expect(xml).toContain('<IsTruncated>false</IsTruncated>');

  expect(await abortPendingUpload(dir, 'groups/vision/other.bin', 'bbbbbbbbbbbbbbbb')).toBe(false);
  expect(await abortPendingUpload(dir, 'groups/vision/b.bin', '../cccccccccccccccc')).toBe(false);
  expect(await abortPendingUpload(dir, 'groups/vision/b.bin', 'bbbbbbbbbbbbbbbb')).toBe(true);
  expect((await listPendingUploads(dir, '')).map((u) => u.uploadId)).toEqual(['cccccccccccccccc', 'aaaaaaaaaaaaaaaa']);
  expect(await listPendingUploads(join(dir, 'missing'), '')).toEqual([]);
});
