import { describe, expect, it } from 'vitest';
import { classify, isAllowed, keysOfDeleteRequest } from './permissions.js';
import type { S3Grant } from './permissions.js';

const admin: S3Grant = { read: ['*'], write: ['*'] };
const alice: S3Grant = { read: ['nlp'], write: ['vision'] };
const bob: S3Grant = { read: ['vision'], write: [] };

const q = (entries: Record<string, string> = {}): Map<string, string> => new Map(Object.entries(entries));

describe('classify', () => {
  it.each([
    ['GET', '/', q(), undefined, { kind: 'listBuckets' }],
    [
      'GET',
      '/phfs',
      q({ 'list-type': '2', prefix: 'groups/vision/' }),
      undefined,
      { kind: 'listObjects', bucket: 'phfs', prefix: 'groups/vision/' },
    ],
    ['GET', '/phfs/', q(), undefined, { kind: 'listObjects', bucket: 'phfs', prefix: '' }],
    ['GET', '/phfs', q({ location: '' }), undefined, { kind: 'bucketRead', bucket: 'phfs' }],
    ['PUT', '/phfs', q(), undefined, { kind: 'bucketAdmin', bucket: 'phfs' }],
    ['POST', '/phfs', q({ delete: '' }), undefined, { kind: 'deleteObjects', bucket: 'phfs' }],
    [
      'GET',
      '/phfs/groups/vision/a%20b.txt',
      q(),
      undefined,
      { kind: 'read', bucket: 'phfs', key: 'groups/vision/a b.txt' },
    ],
    [
      'PUT',
      '/phfs/groups/vision/x',
      q({ partNumber: '1', uploadId: 'u' }),
      undefined,
      { kind: 'write', bucket: 'phfs', key: 'groups/vision/x' },
    ],
    [
      'PUT',
      '/phfs/groups/vision/y',
      q(),
      '/phfs/groups/nlp/x',
      { kind: 'write', bucket: 'phfs', key: 'groups/vision/y', copySource: { bucket: 'phfs', key: 'groups/nlp/x' } },
    ],
    ['DELETE', '/phfs/groups/vision/x', q(), undefined, { kind: 'write', bucket: 'phfs', key: 'groups/vision/x' }],
  ] as const)('%s %s', (method, path, query, copySource, expected) => {
    expect(classify(method, path, query, copySource)).toEqual(expected);
  });
});

describe('isAllowed', () => {
  it.each<[string, S3Grant, string, string, Map<string, string>, string | undefined, boolean]>([
    ['admin lists everything', admin, 'GET', '/phfs', q({ prefix: '' }), undefined, true],
    ['alice lists her group', alice, 'GET', '/phfs', q({ prefix: 'groups/vision/' }), undefined, true],
    ['alice lists a group she reads', alice, 'GET', '/phfs', q({ prefix: 'groups/nlp' }), undefined, true],
    ['alice cannot list the whole bucket', alice, 'GET', '/phfs', q({ prefix: '' }), undefined, false],
    [
      'a prefix that only starts like a group',
      alice,
      'GET',
      '/phfs',
      q({ prefix: 'groups/visionary/' }),
      undefined,
      false,
    ],
    ['alice writes her group', alice, 'PUT', '/phfs/groups/vision/a', q(), undefined, true],
    ['alice cannot write a read-only group', alice, 'PUT', '/phfs/groups/nlp/a', q(), undefined, false],
    ['alice reads a read-only group', alice, 'GET', '/phfs/groups/nlp/a', q(), undefined, true],
    ['bob reads vision', bob, 'GET', '/phfs/groups/vision/a', q(), undefined, true],
    ['bob cannot delete in vision', bob, 'DELETE', '/phfs/groups/vision/a', q(), undefined, false],
    ['bob cannot read nlp', bob, 'GET', '/phfs/groups/nlp/a', q(), undefined, false],
    ['nobody but admin writes outside groups/', alice, 'PUT', '/phfs/README', q(), undefined, false],
    ['only admin creates buckets', alice, 'PUT', '/other', q(), undefined, false],
    ['copy needs read on the source', bob, 'PUT', '/phfs/groups/vision/b', q(), '/phfs/groups/nlp/a', false],
    ['copy within a writable group', alice, 'PUT', '/phfs/groups/vision/b', q(), '/phfs/groups/vision/a', true],
  ])('%s', (_name, grant, method, path, query, copySource, expected) => {
    expect(isAllowed(grant, classify(method, path, query, copySource))).toBe(expected);
  });

  it('checks every key of a multi-object delete', () => {
    const action = classify('POST', '/phfs', q({ delete: '' }));
    expect(isAllowed(alice, action, ['groups/vision/a', 'groups/vision/b'])).toBe(true);
    expect(isAllowed(alice, action, ['groups/vision/a', 'groups/nlp/b'])).toBe(false);
  });
});

describe('keysOfDeleteRequest', () => {
  it('reads keys with XML escapes', () => {
    const xml =
      '<Delete><Object><Key>groups/vision/a&amp;b</Key></Object><Object><Key>groups/x/&lt;c&gt;</Key></Object><Quiet>true</Quiet></Delete>';
    expect(keysOfDeleteRequest(xml)).toEqual(['groups/vision/a&b', 'groups/x/<c>']);
  });
});
