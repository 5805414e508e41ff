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

describe('invalidPathReason fast path', () => {
  it('agrees with a plain segment-by-segment check on many shapes', () => {
    const slow = (path: string): boolean =>
      path.length > 0 &&
      !path.includes('\0') &&
      !path.includes('\\') &&
      path.split('/').every((s) => s !== '' && s !== '.' && s !== '..');
    const parts = ['a', '.', '..', '...', '.a', 'a.', '', 'ab', '\\', '\0', 'x y'];
    for (const a of parts) {
      for (const b of parts) {
        for (const c of ['', ...parts]) {
          const path = c === '' ? `${a}/${b}` : `${a}/${b}/${c}`;
          expect(invalidPathReason(path) === undefined, JSON.stringify(path)).toBe(slow(path));
          expect(invalidPathReason(a + b) === undefined, JSON.stringify(a + b)).toBe(slow(a + b));
        }
      }
    }
  });
});
