import { describe, expect, it } from 'vitest';
import type { Json } from './json.js';
import { jsonPatch, mergePatch, strategicMergePatch } from './patch.js';

describe('mergePatch (RFC 7386 examples)', () => {
  it.each<[Json, Json, Json]>([
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [
      ['a', 'b'],
      ['c', 'd'],
      ['c', 'd'],
    ],
    [{ a: 'b' }, ['c'], ['c']],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: 'b', c: null }, { a: 'b' }],
  ])('%j + %j = %j', (target, patch, expected) => {
    expect(mergePatch(target, patch)).toEqual(expected);
  });

  it('does not modify its inputs', () => {
    const target = { metadata: { labels: { a: '1' } } };
    mergePatch(target, { metadata: { labels: { b: '2' } } });
    expect(target).toEqual({ metadata: { labels: { a: '1' } } });
  });
});

describe('strategicMergePatch', () => {
  it('merges maps and drops kubectl directives', () => {
    const result = strategicMergePatch(
      { metadata: { labels: { a: '1' } }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
      { metadata: { labels: { b: '2' } }, $setElementOrder: [], spec: { $retainKeys: ['x'] } },
    );
    expect(result).toEqual({
      metadata: { labels: { a: '1', b: '2' } },
      spec: { containers: [{ name: 'c', image: 'busybox' }] },
    });
  });

  it('honours $patch: replace and $patch: delete', () => {
    expect(strategicMergePatch({ a: { b: 1, c: 2 } }, { a: { $patch: 'replace', d: 3 } })).toEqual({ a: { d: 3 } });
    expect(strategicMergePatch({ a: { b: 1 }, e: 1 }, { a: { $patch: 'delete' } })).toEqual({ e: 1 });
  });
});

describe('jsonPatch (RFC 6902)', () => {
  const doc = { metadata: { labels: { a: '1' } }, list: [1, 2, 3] };

  it.each<[string, Json, Json]>([
    [
      'add a key',
      [{ op: 'add', path: '/metadata/labels/b', value: '2' }],
      { metadata: { labels: { a: '1', b: '2' } }, list: [1, 2, 3] },
    ],
    ['append', [{ op: 'add', path: '/list/-', value: 4 }], { metadata: { labels: { a: '1' } }, list: [1, 2, 3, 4] }],
    ['insert', [{ op: 'add', path: '/list/0', value: 0 }], { metadata: { labels: { a: '1' } }, list: [0, 1, 2, 3] }],
    ['remove', [{ op: 'remove', path: '/list/1' }], { metadata: { labels: { a: '1' } }, list: [1, 3] }],
    [
      'replace',
      [{ op: 'replace', path: '/metadata/labels/a', value: 'x' }],
      { metadata: { labels: { a: 'x' } }, list: [1, 2, 3] },
    ],
    ['move', [{ op: 'move', from: '/list', path: '/items' }], { metadata: { labels: { a: '1' } }, items: [1, 2, 3] }],
    [
      'copy',
      [{ op: 'copy', from: '/list/0', path: '/first' }],
      { metadata: { labels: { a: '1' } }, list: [1, 2, 3], first: 1 },
    ],
    [
      'escaped keys',
      [{ op: 'add', path: '/metadata/labels/x~1y', value: 'z' }],
      { metadata: { labels: { a: '1', 'x/y': 'z' } }, list: [1, 2, 3] },
    ],
    [
      'test then change',
      [
        { op: 'test', path: '/list/0', value: 1 },
        { op: 'remove', path: '/list' },
      ],
      { metadata: { labels: { a: '1' } } },
    ],
  ])('%s', (_name, operations, expected) => {
    const result = jsonPatch(doc, operations);
    expect(result).toEqual({ ok: true, value: expected });
  });

  it.each<[string, Json, RegExp]>([
    ['a failing test', [{ op: 'test', path: '/list/0', value: 9 }], /testing value/],
    ['a missing path', [{ op: 'remove', path: '/nope' }], /does not exist/],
    ['an out-of-range index', [{ op: 'add', path: '/list/9', value: 1 }], /out of bounds/],
    ['replace of a missing key', [{ op: 'replace', path: '/nope', value: 1 }], /missing key/],
    ['an unknown op', [{ op: 'frob', path: '/list' }], /unknown op/],
    ['a non-array', { op: 'add' }, /array/],
    ['a bad pointer', [{ op: 'add', path: 'list', value: 1 }], /invalid JSON pointer/],
  ])('reports %s', (_name, operations, message) => {
    const result = jsonPatch(doc, operations);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(message);
    expect(doc.list).toEqual([1, 2, 3]);
  });
});
