import { describe, expect, it } from 'vitest';
import { TetherError } from '../errors.js';
import { METHOD_NAMES } from './contract.js';
import { isMethodName, parseArgs, parseTransferQuery, SCHEMAS } from './schemas.js';

describe('UI argument validation', () => {
  it('has a schema for every contract method and no other', () => {
    expect(Object.keys(SCHEMAS).sort()).toEqual([...METHOD_NAMES].sort());
    expect(isMethodName('listPairs')).toBe(true);
    expect(isMethodName('constructor')).toBe(false);
    expect(isMethodName('__proto__')).toBe(false);
  });

  const remote = { remoteUrl: 'pvc://group-vision/vision-datasets' };
  const rejected: [string, Parameters<typeof parseArgs>[0], unknown, RegExp][] = [
    ['unknown key', 'removePair', { name: 'a', extra: 1 }, /extra|Unrecognized/i],
    ['bad pair name', 'removePair', { name: 'a/b' }, /may only contain/],
    [
      'relative local folder',
      'addPair',
      { name: 'a', localPath: 'data', remoteUrl: 'phfs://g', mode: 'push', compare: 'none', ignore: [] },
      /absolute/,
    ],
    [
      'unknown mode',
      'addPair',
      { name: 'a', localPath: '/d', remoteUrl: 'phfs://g', mode: 'both', compare: 'none', ignore: [] },
      /mode/,
    ],
    ['.. in a browse path', 'browse', { remote, path: 'a/../../etc' }, /".." segment/],
    ['absolute browse path', 'browse', { remote, path: '/etc' }, /absolute|empty segment/],
    ['delete of the root', 'deleteEntries', { remote, paths: [''] }, /root/],
    ['upload from a relative local path', 'uploadFromDisk', { remote, folder: '', localPaths: ['a.txt'] }, /absolute/],
    ['upload into a folder with ..', 'uploadFromDisk', { remote, folder: '../x' }, /".." segment/],
    ['download of the root', 'downloadToDisk', { remote, path: '' }, /root/],
    ['NUL in a remote URL', 'browse', { remote: { remoteUrl: 'phfs://a\0' }, path: '' }, /NUL/],
    ['namespace that is not a DNS label', 'listPvcs', { context: 'alice', namespace: 'A_B' }, /namespace/],
    [
      'concurrency out of range',
      'saveSettings',
      { concurrency: 0, bandwidthKiBps: 0, pollIntervalSeconds: 60, helperImage: 'busybox' },
      /concurrency/,
    ],
    [
      'conflict choice',
      'resolveConflict',
      { pair: 'p', path: 'a', conflictPath: 'b', choice: 'keep-neither' },
      /choice/,
    ],
    ['not an object', 'listPairs', 'x', /argument/],
    ['live that is not a boolean', 'setLive', { name: 'p', live: 'yes' }, /live/],
    ['quota namespace that is not a DNS label', 'quotaReport', { namespaces: ['../etc'] }, /namespace/],
    ['claim name with a slash', 'refreshUsage', { namespace: 'group-vision', pvc: 'a/b' }, /claim name/],
    ['drill-down too deep', 'largestFolders', { namespace: 'ns', pvc: 'data', depth: 50 }, /depth/],
  ];
  it.each(rejected)('rejects %s', (_what, method, args, message) => {
    let error: unknown;
    try {
      parseArgs(method, args);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TetherError);
    expect((error as TetherError).code).toBe('bad-argument');
    expect((error as TetherError).message).toMatch(new RegExp(`^${method}: invalid argument`));
    expect((error as TetherError).message).toMatch(message);
  });

  it('accepts well-formed arguments unchanged', () => {
    const pair = {
      name: 'data.v2',
      localPath: '/home/a/data',
      remoteUrl: 'phfs://vision/x',
      mode: 'two-way',
      compare: 'sha256',
      ignore: ['*.tmp'],
    };
    expect(parseArgs('addPair', pair)).toEqual(pair);
    expect(parseArgs('browse', { remote, path: '' })).toEqual({ remote, path: '' });
    expect(parseArgs('listPairs', undefined)).toEqual({});
    const quota = { context: 'admin', namespaces: ['group-vision'], phfs: true };
    expect(parseArgs('quotaReport', quota)).toEqual(quota);
    const claim = { context: 'bob', namespace: 'group-vision', pvc: 'vision-datasets', depth: 2, limit: 10 };
    expect(parseArgs('largestFolders', claim)).toEqual(claim);
  });

  const transferRejected: [string, 'upload' | 'download', string, RegExp][] = [
    ['no remote', 'download', 'path=a.txt', /remote\.remoteUrl/],
    ['no path', 'download', 'remoteUrl=phfs://g', /path/],
    ['.. in the path', 'download', 'remoteUrl=phfs://g&path=a/../../etc/passwd', /".." segment/],
    ['the root', 'upload', 'remoteUrl=phfs://g&path=', /root/],
    ['a relative kubeconfig', 'download', 'remoteUrl=pvc://ns/c&path=a&kubeconfig=kc', /absolute/],
    ['an mtime that is not a number', 'upload', 'remoteUrl=phfs://g&path=a&mtimeMs=yesterday', /mtimeMs/],
    ['an mtime on a download', 'download', 'remoteUrl=phfs://g&path=a&mtimeMs=1', /mtimeMs|Unrecognized/],
    ['a key given twice', 'download', 'remoteUrl=phfs://g&path=a&path=b', /path is given twice/],
    ['an unknown key', 'download', 'remoteUrl=phfs://g&path=a&offset=5', /offset|Unrecognized/],
  ];
  it.each(transferRejected)('rejects a transfer query with %s', (_what, kind, query, message) => {
    expect(() => parseTransferQuery(kind, new URLSearchParams(query))).toThrow(message);
    expect(() => parseTransferQuery(kind, new URLSearchParams(query))).toThrow(TetherError);
  });

  it('reads a transfer query into its typed argument (the token is left to the host)', () => {
    expect(
      parseTransferQuery(
        'upload',
        new URLSearchParams({
          token: 't',
          remoteUrl: 'pvc://ns/c',
          kubeconfig: '/k',
          path: 'a b/ü.txt',
          mtimeMs: '1700000000123',
        }),
      ),
    ).toEqual({ remote: { remoteUrl: 'pvc://ns/c', kubeconfig: '/k' }, path: 'a b/ü.txt', mtimeMs: 1700000000123 });
    expect(parseTransferQuery('download', new URLSearchParams('remoteUrl=phfs%3A%2F%2Fg&path=x'))).toEqual({
      remote: { remoteUrl: 'phfs://g' },
      path: 'x',
    });
  });
});
