import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { invalidPathReason } from './entry.js';
import { isCleanPath, receivingSides } from './reconcileScope.js';

describe('isCleanPath', () => {
  it('agrees with invalidPathReason on any path', () => {
    const path = fc
      .array(fc.constantFrom('a', 'b', '.', '..', '/', '\\', '\0', ' ', 'é'), { maxLength: 10 })
      .map((parts) => parts.join(''));
    fc.assert(
      fc.property(path, (p) => {
        expect(isCleanPath(p)).toBe(invalidPathReason(p) === undefined);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('receivingSides', () => {
  it.each([
    ['two-way', ['local', 'remote']],
    ['push', ['remote']],
    ['mirror-push', ['remote']],
    ['pull', ['local']],
    ['mirror-pull', ['local']],
  ] as const)('%s writes to %j', (mode, sides) => {
    expect(receivingSides(mode)).toEqual(sides);
  });
});
