import { describe, expect, it } from 'vitest';
import { TetherError } from '../errors.js';
import { formatRemoteUrl, parseRemoteUrl } from './remoteUrl.js';

describe('parseRemoteUrl', () => {
  it.each([
    ['file:///mnt/share/data', { scheme: 'file', path: '/mnt/share/data' }],
    ['file:///mnt/my%20share/', { scheme: 'file', path: '/mnt/my share' }],
    ['pvc://ml/datasets', { scheme: 'pvc', namespace: 'ml', pvc: 'datasets', subpath: '' }],
    [
      'pvc://lab-alice@group-vision/shared-data/imagenet/train',
      { scheme: 'pvc', context: 'lab-alice', namespace: 'group-vision', pvc: 'shared-data', subpath: 'imagenet/train' },
    ],
    ['phfs://vision/models/v1', { scheme: 'phfs', group: 'vision', path: 'models/v1' }],
    ['phfs://vision', { scheme: 'phfs', group: 'vision', path: '' }],
    ['s3://my-bucket/some/prefix/', { scheme: 's3', bucket: 'my-bucket', prefix: 'some/prefix' }],
  ])('parses %s', (url, expected) => {
    expect(parseRemoteUrl(url)).toEqual(expected);
  });

  it.each([
    ['', 'expected file:///'],
    ['/just/a/path', 'expected file:///'],
    ['ftp://host/x', 'unknown scheme "ftp://"'],
    ['file://relative/path', 'needs an absolute path'],
    ['pvc://ML/data', 'not a valid namespace name'],
    ['pvc://ml', 'not a valid PVC name'],
    ['pvc://ml/data/../../etc', 'path has a ".." segment'],
    ['pvc://ml/data/a%2', 'malformed %-escape'],
    ['phfs://Vision_Group/x', 'not a valid group name'],
    ['s3://x/prefix', 'not a valid bucket name'],
    ['pvc://ctx with space@ml/data', 'not a kubeconfig context name'],
  ])('rejects %j clearly', (url, message) => {
    let caught: unknown;
    try {
      parseRemoteUrl(url);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TetherError);
    expect((caught as TetherError).code).toBe('bad-url');
    expect((caught as TetherError).message).toContain(message);
  });

  it('round-trips through formatRemoteUrl', () => {
    for (const url of [
      'pvc://ctx@ns/pvc/a%20b/c',
      'phfs://vision/models',
      's3://bucket-1/x/y',
      'file:///tmp/a%20b',
      'pvc://ns/pvc',
    ]) {
      expect(formatRemoteUrl(parseRemoteUrl(url))).toBe(url);
    }
  });
});
