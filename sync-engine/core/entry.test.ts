import { describe, expect, it } from 'vitest';
import { baseName, depthOf, invalidPathReason, parentOf } from './entry.js';

describe('paths', () => {
  it('splits parents and base names', () => {
    expect(parentOf('a/b/c.txt')).toBe('a/b');
    expect(parentOf('top')).toBe('');
    expect(baseName('a/b/c.txt')).toBe('c.txt');
    expect(depthOf('a/b/c')).toBe(3);
  });

  it.each([
    ['', 'empty path'],
    ['/etc/passwd', 'absolute path'],
    ['a/../../x', 'path has a ".." segment'],
    ['a//b', 'path has an empty segment'],
    ['./a', 'path has a "." segment'],
    ['a\0b', 'path contains a NUL byte'],
    ['a\\b', 'path contains a backslash'],
  ])('rejects %j', (path, reason) => {
    expect(invalidPathReason(path)).toBe(reason);
  });

  it.each(['a', 'a b/c d', '-rf', '$(reboot)', 'a"b\'c', 'new\nline', 'ünïcödé/ファイル'])('accepts %j', (path) => {
    expect(invalidPathReason(path)).toBeUndefined();
  });
});
