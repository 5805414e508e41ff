import { describe, expect, it } from 'vitest';
import type { Entry } from './entry.js';
import { fingerprint, isEngineTemporary, partialPathFor } from './temporaries.js';

const file = (path: string, size: number, mtimeMs: number): Entry => ({
  path,
  kind: 'file',
  size,
  mtimeMs,
  executable: false,
});

describe('temporaries', () => {
  it('puts the partial file beside its target, named after the exact version', () => {
    const a = partialPathFor('data/x.bin', file('data/x.bin', 10, 1000));
    expect(a).toMatch(/^data\/\.tether-partial-[0-9a-f]{16}$/);
    expect(partialPathFor('data/x.bin', file('data/x.bin', 10, 1000))).toBe(a);
    expect(partialPathFor('data/x.bin', file('data/x.bin', 11, 1000))).not.toBe(a);
    expect(partialPathFor('top', file('top', 1, 1))).toMatch(/^\.tether-partial-/);
  });

  it('recognises its own names only', () => {
    expect(isEngineTemporary('.tether-partial-0123')).toBe(true);
    expect(isEngineTemporary('.tether-staging-abc')).toBe(true);
    expect(isEngineTemporary('.tetherignore')).toBe(false);
    expect(isEngineTemporary('tether-partial-')).toBe(false);
  });

  it('fingerprints differ for different inputs', () => {
    expect(fingerprint('a')).not.toBe(fingerprint('b'));
    expect(fingerprint('')).toBe('cbf29ce484222325');
  });
});
