import { describe, expect, it } from 'vitest';
import { TetherError } from '../errors.js';
import type { Entry } from './entry.js';
import type { Action, Plan } from './plan.js';
import { checkDeleteLimit, checkRootsNotEmptied, formatCount, parseMaxDelete, type SafetyVerdict } from './safety.js';
import { dir, file, symlink, tree } from './testing/fixtures.js';

function files(n: number, prefix = 'f'): Entry[] {
  return Array.from({ length: n }, (_, i) => file(`${prefix}${i}`));
}

function planDeleting(local: readonly Entry[], remote: readonly Entry[]): Plan {
  const deletes = (entries: readonly Entry[]): Action[] =>
    entries.map((expected) => ({ kind: 'delete', path: expected.path, expected }));
  return { local: deletes(local), remote: deletes(remote), conflicts: [], problems: [], inSync: [], forget: [] };
}

function messageOf(verdict: SafetyVerdict): string {
  expect(verdict.ok).toBe(false);
  return verdict.ok ? '' : verdict.message;
}

describe('checkRootsNotEmptied', () => {
  const ancestor = tree(dir('d'), ...files(1234));

  it('passes when both sides still hold files', () => {
    expect(checkRootsNotEmptied(ancestor, tree(file('a')), tree(symlink('l', 'a')))).toEqual({ ok: true });
  });

  it('passes on a first sync, whatever is empty', () => {
    expect(checkRootsNotEmptied(tree(dir('d')), tree(), tree())).toEqual({ ok: true });
  });

  it('halts when the remote lost every file it had', () => {
    const verdict = checkRootsNotEmptied(ancestor, tree(file('a')), tree());
    expect(verdict).toMatchObject({ ok: false, code: 'root-emptied' });
    expect(messageOf(verdict)).toBe(
      'the remote root is empty (no files left) but it had 1,234 files at the last sync; refusing to treat that as ' +
        'deleting everything. Check the remote is mounted/reachable (the right volume, bucket and prefix?); run ' +
        'with --force if you really emptied it.',
    );
  });

  it('halts when only empty folders are left locally', () => {
    const message = messageOf(checkRootsNotEmptied(tree(file('only')), tree(dir('d')), tree(file('only'))));
    expect(message).toMatch(/^the local folder is empty \(no files left\) but it had 1 file at the last sync/);
    expect(message).toMatch(/--force/);
  });

  it('names both sides when both are empty', () => {
    expect(messageOf(checkRootsNotEmptied(ancestor, tree(), tree()))).toMatch(
      /^both the local folder and the remote root are empty .* but they had 1,234 files/,
    );
  });
});

describe('parseMaxDelete', () => {
  it.each([
    ['200', { kind: 'count', count: 200 }],
    ['0', { kind: 'count', count: 0 }],
    [' 50% ', { kind: 'percent', percent: 50 }],
    ['12.5%', { kind: 'percent', percent: 12.5 }],
    ['100%', { kind: 'percent', percent: 100 }],
    ['0%', { kind: 'percent', percent: 0 }],
  ])('reads %j', (text, expected) => {
    expect(parseMaxDelete(text)).toEqual(expected);
  });

  it.each([
    ['lots', /invalid max-delete "lots": give a number of files \(e\.g\. 200\) or a percentage/],
    ['', /invalid max-delete ""/],
    ['-1', /invalid max-delete "-1"/],
    ['5 files', /invalid max-delete/],
    ['%', /invalid max-delete/],
    ['1e3', /invalid max-delete/],
    ['101%', /a percentage cannot exceed 100%/],
    ['99999999999999999999', /the number is too large/],
  ])('rejects %j with a clear message', (text, message) => {
    let error: unknown;
    try {
      parseMaxDelete(text);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TetherError);
    expect(error).toMatchObject({ code: 'bad-argument' });
    expect((error as Error).message).toMatch(message);
  });
});

describe('checkDeleteLimit', () => {
  it('allows exactly the limit', () => {
    expect(checkDeleteLimit(planDeleting(files(1), files(2, 'r')), 10, parseMaxDelete('3'))).toEqual({ ok: true });
  });

  it('halts above a count, saying how many, the limit and what to do', () => {
    const verdict = checkDeleteLimit(planDeleting(files(1), files(3, 'r')), 10, parseMaxDelete('3'));
    expect(verdict).toMatchObject({ ok: false, code: 'too-many-deletes' });
    expect(messageOf(verdict)).toBe(
      'this sync would delete 4 files (1 local, 3 remote), more than the limit of 3. Review them with --dry-run; ' +
        'if they are intended, run with --force or raise --max-delete.',
    );
  });

  it('reads a percentage of the pair’s files at the last sync', () => {
    const limit = parseMaxDelete('50%');
    expect(checkDeleteLimit(planDeleting([], files(5)), 10, limit)).toEqual({ ok: true });
    expect(messageOf(checkDeleteLimit(planDeleting([], files(6)), 10, limit))).toMatch(
      /delete 6 files \(0 local, 6 remote\), more than the limit of 5 \(50% of the pair's 10 files\)/,
    );
  });

  it('counts files and symlinks, not folders', () => {
    const plan = planDeleting([dir('a'), dir('a/b'), symlink('l', 'x')], [dir('c'), file('c/f')]);
    expect(checkDeleteLimit(plan, 100, parseMaxDelete('2'))).toEqual({ ok: true });
    expect(messageOf(checkDeleteLimit(plan, 100, parseMaxDelete('1')))).toMatch(/would delete 2 files/);
  });

  it('with 0, any deleted file halts', () => {
    expect(messageOf(checkDeleteLimit(planDeleting([file('x')], []), 1000, parseMaxDelete('0')))).toMatch(
      /would delete 1 file \(1 local, 0 remote\), more than the limit of 0/,
    );
  });
});

describe('formatCount', () => {
  it.each([
    [0, '0'],
    [999, '999'],
    [1000, '1,000'],
    [1234567, '1,234,567'],
  ])('%d → %s', (n, text) => {
    expect(formatCount(n)).toBe(text);
  });
});
