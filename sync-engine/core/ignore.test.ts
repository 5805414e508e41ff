import { describe, expect, it } from 'vitest';
import { createIgnoreMatcher, hasUserRules } from './ignore.js';

describe('createIgnoreMatcher', () => {
  it.each([
    // [patterns, .tetherignore text, path, isDir, ignored]
    [['*.log'], undefined, 'a.log', false, true],
    [['*.log'], undefined, 'deep/er/b.log', false, true],
    [['*.log'], undefined, 'a.txt', false, false],
    [['build/'], undefined, 'build', true, true],
    [['build/'], undefined, 'build', false, false],
    [['build/'], undefined, 'src/build', true, true],
    [['/top.txt'], undefined, 'top.txt', false, true],
    [['/top.txt'], undefined, 'sub/top.txt', false, false],
    [['node_modules/'], undefined, 'node_modules/x/y.js', false, true],
    [['*.log', '!keep.log'], undefined, 'keep.log', false, false],
    [['*.log', '!keep.log'], undefined, 'other.log', false, true],
    [['*.ckpt'], '# checkpoints are wanted after all\n\n!*.ckpt\n', 'model.ckpt', false, false],
    [[], 'data/\n*.tmp\n', 'data', true, true],
    [[], 'data/\n*.tmp\n', 'x.tmp', false, true],
    [['*.LOG'], undefined, 'a.log', false, false],
  ] as const)('%j + %j: %s (dir: %s) → %s', (patterns, text, path, isDir, expected) => {
    expect(createIgnoreMatcher(patterns, text)(path, isDir)).toBe(expected);
  });

  it('matches regardless of case when asked', () => {
    expect(createIgnoreMatcher(['*.LOG'], undefined, { ignoreCase: true })('a.log', false)).toBe(true);
  });

  it('always ignores the engine’s temporaries; no rule brings them back', () => {
    const matcher = createIgnoreMatcher(['!*', '!.tether-partial-*', '!**/.tether-staging-*/**']);
    expect(matcher('.tether-partial-0123456789abcdef', false)).toBe(true);
    expect(matcher('a/b/.tether-partial-0123456789abcdef', false)).toBe(true);
    expect(matcher('.tether-staging-7', true)).toBe(true);
    expect(matcher('.tether-staging-7/file', false)).toBe(true);
    expect(matcher('tether-partial-x', false)).toBe(false);
    expect(matcher('.tether-replaced-abc', true)).toBe(false);
  });

  it('never throws on paths that are not clean, and leaves them to the planner', () => {
    const matcher = createIgnoreMatcher(['*']);
    for (const path of ['', '/abs', '../up', './here', 'a//b', 'a\\b']) {
      expect(matcher(path, false)).toBe(false);
    }
    expect(matcher('fine', false)).toBe(true);
  });

  it('tells a matcher with rules of its own from one that leaves out only the engine’s temporaries', () => {
    expect(hasUserRules(createIgnoreMatcher([]))).toBe(false);
    expect(hasUserRules(createIgnoreMatcher(['  ', ''], '\n  \n'))).toBe(false);
    expect(hasUserRules(createIgnoreMatcher(['*.log']))).toBe(true);
    expect(hasUserRules(createIgnoreMatcher([], 'build/\n'))).toBe(true);
    // A bare function's rules are unknown: it must be asked.
    expect(hasUserRules(() => false)).toBe(true);
  });
});
