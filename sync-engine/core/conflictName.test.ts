import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { conflictName, conflictTimestamp, isConflictCopyOf, sanitizeHost } from './conflictName.js';
import { invalidPathReason, parentOf } from './entry.js';

const NOW = Date.UTC(2026, 10, 23, 10, 15, 0);

describe('conflictName', () => {
  it.each([
    ['model.pt', 'model.conflict-laptop-20261123-101500.pt'],
    ['runs/7/model.pt', 'runs/7/model.conflict-laptop-20261123-101500.pt'],
    ['archive.tar.gz', 'archive.tar.conflict-laptop-20261123-101500.gz'],
    ['Makefile', 'Makefile.conflict-laptop-20261123-101500'],
    ['.bashrc', '.bashrc.conflict-laptop-20261123-101500'],
    ['home/.config.json', 'home/.config.conflict-laptop-20261123-101500.json'],
    ['trailing.', 'trailing..conflict-laptop-20261123-101500'],
    ['ファイル.txt', 'ファイル.conflict-laptop-20261123-101500.txt'],
  ])('%s → %s', (path, expected) => {
    expect(conflictName(path, 'laptop', NOW)).toBe(expected);
  });

  it('uses UTC, zero-padded', () => {
    expect(conflictTimestamp(Date.UTC(2026, 0, 2, 3, 4, 5, 678))).toBe('20260102-030405');
    expect(conflictTimestamp(Number.NaN)).toBe('19700101-000000');
  });

  it.each([
    ['laptop.local', 'laptop.local'],
    ['my laptop (2)', 'my-laptop--2-'],
    ['Jörg’s Mac', 'J-rg-s-Mac'],
    ['a/b\\c', 'a-b-c'],
    ['', 'unknown-host'],
    ['x'.repeat(200), 'x'.repeat(63)],
  ])('sanitises the host %j to %j', (host, expected) => {
    expect(sanitizeHost(host)).toBe(expected);
    expect(conflictName('f', host, NOW)).toBe(`f.conflict-${expected}-20261123-101500`);
  });

  it('appends -2, -3 while the name is taken', () => {
    const taken = new Set(['d/x.conflict-laptop-20261123-101500.txt', 'd/x.conflict-laptop-20261123-101500-2.txt']);
    expect(conflictName('d/x.txt', 'laptop', NOW, (p) => taken.has(p))).toBe(
      'd/x.conflict-laptop-20261123-101500-3.txt',
    );
  });

  it('always yields a clean path beside the original that reads back as its conflict copy', () => {
    const segment = fc.stringMatching(/^[^/\\\0]{1,12}$/).filter((s) => s !== '.' && s !== '..');
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 4 }), fc.string(), fc.nat(), (segments, host, n) => {
        const path = segments.join('/');
        const name = conflictName(path, host, n * 1000);
        expect(invalidPathReason(name)).toBeUndefined();
        expect(parentOf(name)).toBe(parentOf(path));
        expect(name).not.toBe(path);
        expect(isConflictCopyOf(name, path)).toBe(true);
      }),
    );
  });
});

describe('isConflictCopyOf', () => {
  it.each([
    ['m/model.conflict-laptop-20261123-101500.pt', 'm/model.pt', true],
    ['m/model.conflict-laptop-20261123-101500-4.pt', 'm/model.pt', true],
    ['model.conflict-laptop-20261123-101500.pt', 'm/model.pt', false],
    ['m/model.pt', 'm/model.pt', false],
    ['m/model.conflict-laptop.pt', 'm/model.pt', false],
    ['m/model.conflict-laptop-20261123-101500.bin', 'm/model.pt', false],
    ['m/other.conflict-laptop-20261123-101500.pt', 'm/model.pt', false],
  ])('%s of %s: %s', (candidate, path, expected) => {
    expect(isConflictCopyOf(candidate, path)).toBe(expected);
  });
});
