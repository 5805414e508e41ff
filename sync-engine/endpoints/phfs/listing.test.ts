import { describe, expect, it } from 'vitest';
import { classifyListing, fileEntryOf, formatMtime, parseMtime } from './listing.js';
import type { ListedObject } from './listing.js';
import { partSizeFor } from './context.js';
import { rootOf, settingsFrom } from './settings.js';
import { parseRemoteUrl } from '../remoteUrl.js';

const obj = (key: string, size = 1): ListedObject => ({ key, size, lastModifiedMs: 1_000, etag: `"${key}"` });

describe('mtime in rclone form', () => {
  it.each([
    { ms: 1_700_000_000_250, text: '1700000000.250000000' },
    { ms: 1_700_000_000_250 - 0.000128, text: '1700000000.250000000' },
    { ms: 1_700_000_000_000.5, text: '1700000000.000500000' },
    { ms: 0, text: '0.000000000' },
    { ms: -1500, text: '-1.500000000' },
  ])('$ms ms is written as $text', ({ ms, text }) => {
    expect(formatMtime(ms)).toBe(text);
  });

  it.each([
    { text: '1700000000.250000000', ms: 1_700_000_000_250 },
    { text: '1700000000', ms: 1_700_000_000_000 },
    { text: '1700000000.123456789123', ms: 1_700_000_000_123.457 },
    { text: ' 1.5 ', ms: 1500 },
    { text: '1.7e9', ms: 1_700_000_000_000 },
    { text: 'yesterday', ms: undefined },
    { text: '', ms: undefined },
    { text: undefined, ms: undefined },
  ])('"$text" reads as $ms ms', ({ text, ms }) => {
    const parsed = parseMtime(text);
    if (ms === undefined) expect(parsed).toBeUndefined();
    else expect(parsed).toBeCloseTo(ms, 3);
  });
});

describe('classifyListing', () => {
  it('makes files, implied folders and markers, and keeps out temporaries and the root marker', () => {
    const result = classifyListing('root/', [
      obj('root/'),
      obj('root/a/b/c.txt'),
      obj('root/empty/', 0),
      obj('root/x.txt'),
      obj('root/a/.tether-partial-0123456789abcdef'),
      obj('elsewhere/y.txt'),
    ]);
    expect(result.files.map((f) => f.path)).toEqual(['a/b/c.txt', 'x.txt']);
    expect([...result.dirs.keys()]).toEqual(['a', 'a/b', 'empty']);
    expect([...result.markers.keys()]).toEqual(['empty']);
    expect(result.temporaries).toEqual(['a/.tether-partial-0123456789abcdef']);
    expect(result.problems).toEqual([]);
  });

  it.each([
    { key: 'r/a//b', why: /empty segment/ },
    { key: 'r/../etc/passwd', why: /".." segment/ },
    { key: 'r/./x', why: /"\." segment/ },
    { key: 'r/back\\slash', why: /backslash/ },
    { key: 'r/full-marker/', why: /ends with "\/" but holds 5 bytes/, size: 5 },
  ])('reports $key as a problem', ({ key, why, size }) => {
    const result = classifyListing('r/', [obj(key, size ?? 1)]);
    expect(result.files).toEqual([]);
    expect(result.problems).toHaveLength(1);
    expect(result.problems[0]!.message).toMatch(why);
  });

  it('reports a key that is both a file and a folder prefix', () => {
    const result = classifyListing('', [obj('a'), obj('a/b')]);
    expect(result.files.map((f) => f.path)).toEqual(['a/b']);
    expect(result.problems.map((p) => p.path)).toEqual(['a']);
  });

  it('does not descend into ignored folders', () => {
    const result = classifyListing(
      '',
      [obj('node_modules/x/y.js'), obj('src/a.ts'), obj('src/a.tmp')],
      (path) => path === 'node_modules' || path.endsWith('.tmp'),
    );
    expect(result.files.map((f) => f.path)).toEqual(['src/a.ts']);
    expect([...result.dirs.keys()]).toEqual(['src']);
  });
});

describe('fileEntryOf', () => {
  it('takes mtime and sha256 from metadata, else LastModified', () => {
    const sha = 'ab'.repeat(32);
    expect(fileEntryOf('f', obj('f', 3), { mtime: '2.5', sha256: sha.toUpperCase() })).toEqual({
      path: 'f',
      kind: 'file',
      size: 3,
      mtimeMs: 2500,
      executable: false,
      sha256: sha,
    });
    expect(fileEntryOf('f', obj('f', 3), { sha256: 'not-a-hash' })).toEqual({
      path: 'f',
      kind: 'file',
      size: 3,
      mtimeMs: 1000,
      executable: false,
    });
  });
});

describe('settings and roots', () => {
  it('maps phfs://GROUP/PATH under groups/ in the PHFS bucket, s3:// as written', () => {
    const settings = settingsFrom({ s3: { bucket: 'platform' } }, {});
    expect(rootOf(parseRemoteUrl('phfs://vision/data/set 1'), settings)).toEqual({
      bucket: 'platform',
      prefix: 'groups/vision/data/set 1',
    });
    expect(rootOf(parseRemoteUrl('phfs://vision'), {})).toEqual({ bucket: 'phfs', prefix: 'groups/vision' });
    expect(rootOf(parseRemoteUrl('s3://my-bucket/a/b'), settings)).toEqual({ bucket: 'my-bucket', prefix: 'a/b' });
  });

  it('takes the endpoint from the pair, else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL', () => {
    expect(settingsFrom({}, { AWS_ENDPOINT_URL: 'http://a:1' }).endpoint).toBe('http://a:1');
    expect(settingsFrom({}, { AWS_ENDPOINT_URL: 'http://a:1', AWS_ENDPOINT_URL_S3: 'http://b:2' }).endpoint).toBe(
      'http://b:2',
    );
    expect(settingsFrom({ s3: { endpoint: 'https://c' } }, { AWS_ENDPOINT_URL: 'http://a:1' }).endpoint).toBe(
      'https://c',
    );
    expect(() => settingsFrom({ s3: { endpoint: 'ftp://x' } }, {})).toThrow(/http:\/\/ or https:\/\//);
    expect(() => settingsFrom({ s3: { endpoint: 'http://key:secret@x' } }, {})).toThrow(/must not carry credentials/);
  });

  it('picks part sizes that keep a 50 GB upload under 10,000 parts', () => {
    const min = 8 * 1024 * 1024;
    expect(partSizeFor(100 * 1024 * 1024, min)).toBe(min);
    const size = 50 * 1024 ** 3;
    const part = partSizeFor(size, min);
    expect(Math.ceil(size / part)).toBeLessThanOrEqual(9000);
    expect(part % (1024 * 1024)).toBe(0);
  });
});
