import { describe, expect, it } from 'vitest';
import type { Entry } from '../core/entry.js';
import type { Action } from '../core/plan.js';
import { bytesToWrite, checkCapacity } from './capacity.js';

const MiB = 1024 * 1024;
const file = (path: string, size: number): Entry => ({ path, kind: 'file', size, mtimeMs: 0, executable: false });
const copy = (path: string, size: number, replaces?: number): Action => ({
  kind: 'copy',
  path,
  source: file(path, size),
  ...(replaces === undefined ? {} : { replaces: file(path, replaces) }),
});

describe('bytesToWrite', () => {
  const cases: { description: string; actions: Action[]; expected: number }[] = [
    { description: 'nothing to copy', actions: [], expected: 0 },
    { description: 'new files count whole', actions: [copy('a', 10), copy('b', 20)], expected: 30 },
    {
      description: 'a replacement adds its growth, plus the largest replaced file as headroom while it is written',
      actions: [copy('a', 100, 60), copy('b', 10, 50), copy('c', 5)],
      expected: 40 + 0 + 5 + 60,
    },
    {
      description: 'deletions, folders and metadata need no space',
      actions: [
        { kind: 'delete', path: 'x', expected: file('x', 500) },
        { kind: 'mkdir', path: 'd', source: { path: 'd', kind: 'dir', size: 0, mtimeMs: 0, executable: false } },
        { kind: 'metadata', path: 'm', source: file('m', 7), expected: file('m', 7) },
      ],
      expected: 0,
    },
  ];
  it.each(cases)('$description', ({ actions, expected }) => {
    expect(bytesToWrite(actions)).toBe(expected);
  });
});

describe('checkCapacity', () => {
  const where = 'the volume of pvc://user-alice/alice-small';
  it('passes when it fits, when nothing is written, and when the free space is unknown', () => {
    expect(checkCapacity(10 * MiB, { freeBytes: 10 * MiB, where }, 'pvc://x').ok).toBe(true);
    expect(checkCapacity(0, { freeBytes: 0, where }, 'pvc://x').ok).toBe(true);
    expect(checkCapacity(10 * MiB, undefined, 'pvc://x').ok).toBe(true);
  });
  it('refuses with what is needed and what is free', () => {
    const verdict = checkCapacity(80 * MiB, { freeBytes: 63 * MiB, where }, 'pvc://user-alice/alice-small');
    expect(verdict).toMatchObject({ ok: false, neededBytes: 80 * MiB, availableBytes: 63 * MiB });
    expect(!verdict.ok && verdict.message).toBe(
      'this sync needs 80 MiB on pvc://user-alice/alice-small but the volume of pvc://user-alice/alice-small has only 63 MiB free; nothing was sent. Free space there, ask for a larger claim, or sync less (an ignore rule, a subfolder)',
    );
  });
  it('the smaller of free space and remaining quota decides, and the message names the quota', () => {
    const verdict = checkCapacity(5 * MiB, { freeBytes: 100 * MiB, quotaRemainingBytes: 4 * MiB, where }, 'phfs://g');
    expect(verdict).toMatchObject({ ok: false, availableBytes: 4 * MiB });
    expect(!verdict.ok && verdict.message).toContain(`the quota of ${where} allows only 4.0 MiB free`);
    expect(checkCapacity(5 * MiB, { freeBytes: 100 * MiB, quotaRemainingBytes: 6 * MiB, where }, 'x').ok).toBe(true);
  });
});
