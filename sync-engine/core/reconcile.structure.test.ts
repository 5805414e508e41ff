import { describe, expect, it } from 'vitest';
import type { SyncMode } from './plan.js';
import { reconcile } from './reconcile.js';
import { describeSide, dir, file, isEmptyPlan, symlink, tree } from './testing/fixtures.js';
import { TAG, rows, runCase, type Case } from './testing/table.js';

// Folders, type changes, conflicts between files and folders, and what the planner must leave alone.

const v1 = { size: 10, mtime: 0, sha: 'h1' };
const v2 = { size: 20, mtime: 5_000, sha: 'h2' };
const v3 = { size: 30, mtime: 9_000, sha: 'h3' };

const ALL: readonly SyncMode[] = ['two-way', 'push', 'pull', 'mirror-push', 'mirror-pull'];
const STRICT = ['size-mtime', 'sha256'] as const;
const EVERY = ['size-mtime', 'sha256', 'none'] as const;

const folderCases: Case[] = [
  {
    description: 'a folder deleted locally with everything in it unchanged: deleted on the remote, deepest first',
    modes: ['two-way', 'push', 'mirror-push'],
    compare: EVERY,
    ancestor: [dir('d'), file('d/x', v1), dir('d/sub'), file('d/sub/y', v1)],
    local: [],
    remote: [dir('d'), file('d/x', v1), dir('d/sub'), file('d/sub/y', v1)],
    expected: { remote: ['delete d/sub/y', 'delete d/sub', 'delete d/x', 'delete d'] },
  },
  {
    description: 'a folder deleted on the target of pull is restored',
    modes: ['pull', 'mirror-pull'],
    compare: EVERY,
    ancestor: [dir('d'), file('d/x', v1)],
    local: [],
    remote: [dir('d'), file('d/x', v1)],
    expected: { local: ['mkdir d', 'copy d/x'] },
  },
  {
    description: 'a nested folder deleted locally while the remote added a file inside: that file and its parents stay',
    modes: ['two-way'],
    compare: EVERY,
    ancestor: [dir('d'), file('d/x', v1), dir('d/sub'), file('d/sub/y', v1)],
    local: [],
    remote: [dir('d'), file('d/x', v1), dir('d/sub'), file('d/sub/y', v1), file('d/sub/new', v3)],
    expected: {
      local: ['mkdir d', 'mkdir d/sub', 'copy d/sub/new'],
      remote: ['delete d/sub/y', 'delete d/x'],
      problems: [
        ['d', /deleted locally, but the remote folder holds entries that changed .* restored locally/],
        ['d/sub', /deleted locally, but the remote folder/],
      ],
    },
  },
  {
    description: 'push deletes what it may and keeps the remote folders that hold remote changes',
    modes: ['push'],
    compare: EVERY,
    ancestor: [dir('d'), file('d/x', v1), dir('d/sub'), file('d/sub/y', v1)],
    local: [],
    remote: [dir('d'), file('d/x', v1), dir('d/sub'), file('d/sub/y', v1), file('d/sub/new', v3)],
    expected: {
      remote: ['delete d/sub/y', 'delete d/x'],
      problems: [
        ['d', /not deleted on the remote: the remote folder holds entries that changed there/],
        ['d/sub', /not deleted on the remote/],
      ],
    },
  },
  {
    description: 'mirror-push deletes the whole folder, remote additions included',
    modes: ['mirror-push'],
    compare: EVERY,
    ancestor: [dir('d'), file('d/x', v1), dir('d/sub'), file('d/sub/y', v1)],
    local: [],
    remote: [dir('d'), file('d/x', v1), dir('d/sub'), file('d/sub/y', v1), file('d/sub/new', v3)],
    expected: { remote: ['delete d/sub/new', 'delete d/sub/y', 'delete d/sub', 'delete d/x', 'delete d'] },
  },
  {
    description: 'a folder deleted on the remote while a file inside was edited locally: the folder comes back',
    modes: ['two-way'],
    compare: STRICT,
    ancestor: [dir('d'), file('d/x', v1), file('d/y', v1)],
    local: [dir('d'), file('d/x', v2), file('d/y', v1)],
    remote: [],
    expected: {
      local: ['delete d/y'],
      remote: ['mkdir d', 'copy d/x'],
      problems: [
        ['d', /deleted on the remote, but the local folder holds entries that changed/],
        ['d/x', /deleted on the remote but changed locally/],
      ],
    },
  },
  {
    description: 'pull: a folder deleted on the remote while a file inside was edited locally',
    modes: ['pull'],
    compare: STRICT,
    ancestor: [dir('d'), file('d/x', v1), file('d/y', v1)],
    local: [dir('d'), file('d/x', v2), file('d/y', v1)],
    remote: [],
    expected: {
      local: ['delete d/y'],
      problems: [
        ['d', /not deleted locally/],
        ['d/x', /deleted on the remote but changed locally .* pull never deletes/],
      ],
    },
  },
  {
    description: 'folders created on both sides merge their contents',
    modes: ['two-way'],
    compare: EVERY,
    ancestor: [],
    local: [dir('n'), file('n/a', v2)],
    remote: [dir('n', 777), file('n/b', v3)],
    expected: { local: ['copy n/b'], remote: ['copy n/a'], inSync: ['n'] },
  },
  {
    description: 'a remote-only folder is left alone by push',
    modes: ['push'],
    compare: EVERY,
    ancestor: [],
    local: [],
    remote: [dir('r'), file('r/x', v3)],
    expected: {},
  },
  {
    description: 'a remote-only folder is deleted by mirror-push',
    modes: ['mirror-push'],
    compare: EVERY,
    ancestor: [],
    local: [],
    remote: [dir('r'), file('r/x', v3)],
    expected: { remote: ['delete r/x', 'delete r'] },
  },
];

const typeChangeCases: Case[] = [
  {
    description: 'a file turned into a folder locally: the old file moves aside, the folder takes its place',
    modes: ['two-way', 'push', 'mirror-push'],
    compare: EVERY,
    ancestor: [file('a', v1)],
    local: [dir('a'), file('a/x', v2)],
    remote: [file('a', v1)],
    expected: { remote: ['rename a → <aside>', 'mkdir a', 'copy a/x', 'delete <aside>'] },
  },
  {
    description: 'a folder turned into a file locally: the old folder moves aside and is emptied, deepest first',
    modes: ['two-way', 'push', 'mirror-push'],
    compare: EVERY,
    ancestor: [dir('d'), file('d/x', v1), dir('d/sub'), file('d/sub/y', v1)],
    local: [file('d', v2)],
    remote: [dir('d'), file('d/x', v1), dir('d/sub'), file('d/sub/y', v1)],
    expected: {
      remote: [
        'rename d → <aside>',
        'copy d',
        'delete <aside>/sub/y',
        'delete <aside>/sub',
        'delete <aside>/x',
        'delete <aside>',
      ],
      forget: ['d/sub', 'd/sub/y', 'd/x'],
    },
  },
  {
    description: 'a folder turned into a file on the remote comes down the same way',
    modes: ['two-way', 'pull', 'mirror-pull'],
    compare: EVERY,
    ancestor: [dir('d'), file('d/x', v1)],
    local: [dir('d'), file('d/x', v1)],
    remote: [file('d', v3)],
    expected: { local: ['rename d → <aside>', 'copy d', 'delete <aside>/x', 'delete <aside>'], forget: ['d/x'] },
  },
  {
    description: 'a folder turned into a file locally while the remote added a file inside: the folder keeps the name',
    modes: ['two-way'],
    compare: STRICT,
    ancestor: [dir('d'), file('d/x', v1)],
    local: [file('d', v2)],
    remote: [dir('d'), file('d/x', v1), file('d/new', v3)],
    expected: {
      local: [`rename d → d.${TAG}`, 'mkdir d', 'copy d/new'],
      remote: [`copy d.${TAG}`, 'delete d/x'],
      conflicts: [`d → d.${TAG}`],
    },
  },
  {
    description: 'push will not replace a remote folder that holds remote changes with a local file',
    modes: ['push'],
    compare: STRICT,
    ancestor: [dir('d'), file('d/x', v1)],
    local: [file('d', v2)],
    remote: [dir('d'), file('d/x', v1), file('d/new', v3)],
    expected: {
      remote: ['delete d/x'],
      problems: [['d', /not replaced on the remote by the local file: the remote folder holds entries that changed/]],
    },
  },
  {
    description: 'mirror-push replaces the remote folder, remote changes included',
    modes: ['mirror-push'],
    compare: STRICT,
    ancestor: [dir('d'), file('d/x', v1)],
    local: [file('d', v2)],
    remote: [dir('d'), file('d/x', v1), file('d/new', v3)],
    expected: {
      remote: ['rename d → <aside>', 'copy d', 'delete <aside>/new', 'delete <aside>/x', 'delete <aside>'],
      forget: ['d/x'],
    },
  },
  {
    description: 'push never writes into a file the remote put where a local folder is',
    modes: ['push'],
    compare: STRICT,
    ancestor: [dir('d'), file('d/x', v1)],
    local: [dir('d'), file('d/x', v1), file('d/y', v2)],
    remote: [file('d', v3)],
    expected: { problems: [['d', /the remote holds a file here.*push does not replace it.*not copied/]] },
  },
  {
    description: 'mirror-push puts the local folder back in place of the remote file',
    modes: ['mirror-push'],
    compare: STRICT,
    ancestor: [dir('d'), file('d/x', v1)],
    local: [dir('d'), file('d/x', v1), file('d/y', v2)],
    remote: [file('d', v3)],
    expected: { remote: ['rename d → <aside>', 'mkdir d', 'copy d/x', 'copy d/y', 'delete <aside>'] },
  },
  {
    description: 'a file and a folder created at the same path: the folder keeps the name (local file)',
    modes: ['two-way'],
    compare: EVERY,
    ancestor: [],
    local: [file('x', v2)],
    remote: [dir('x'), file('x/y', v3)],
    expected: {
      local: [`rename x → x.${TAG}`, 'mkdir x', 'copy x/y'],
      remote: [`copy x.${TAG}`],
      conflicts: [`x → x.${TAG}`],
    },
  },
  {
    description: 'a file and a folder created at the same path: the folder keeps the name (remote file)',
    modes: ['two-way'],
    compare: EVERY,
    ancestor: [],
    local: [dir('x'), file('x/y', v2)],
    remote: [file('x.bin', v1), file('x', v3)],
    expected: {
      local: ['copy x.bin', `copy x.${TAG}`],
      remote: [`rename x → x.${TAG}`, 'mkdir x', 'copy x/y'],
      conflicts: [`x → x.${TAG}`],
    },
  },
  {
    description: 'a file edited locally and replaced by a symlink on the remote: a conflict, both kept',
    modes: ['two-way'],
    compare: STRICT,
    ancestor: [file('cfg', v1)],
    local: [file('cfg', v2)],
    remote: [symlink('cfg', 'elsewhere')],
    expected: {
      local: [`copy cfg.${TAG}`],
      remote: [`rename cfg → cfg.${TAG}`, 'copy cfg'],
      conflicts: [`cfg → cfg.${TAG}`],
    },
  },
  {
    description: 'conflict names already taken on either side get -2, -3',
    modes: ['two-way'],
    compare: STRICT,
    ancestor: [file('x.txt', v1)],
    local: [file('x.txt', v2), file(`x.${TAG}.txt`, v2)],
    remote: [file('x.txt', v3), file(`x.${TAG}.txt`, v2), file(`x.${TAG}-2.txt`, v3)],
    expected: {
      local: [`copy x.${TAG}-2.txt`, `copy x.${TAG}-3.txt`],
      remote: [`rename x.txt → x.${TAG}-3.txt`, 'copy x.txt'],
      conflicts: [`x.txt → x.${TAG}-3.txt`],
      inSync: [`x.${TAG}.txt`],
    },
  },
];

const reachCases: Case[] = [
  {
    description: 'nothing below a folder a side could not list is touched, nor forgotten',
    modes: ALL,
    compare: EVERY,
    ancestor: [dir('u'), file('u/a', v1), dir('u/deep'), file('u/deep/b', v1)],
    local: [dir('u')],
    remote: [dir('u'), file('u/a', v1), file('u/c', v3)],
    unlisted: { local: ['u'] },
    expected: {},
  },
  {
    description: 'a folder deleted on the remote survives locally around a subfolder that could not be listed',
    modes: ['two-way'],
    compare: EVERY,
    ancestor: [dir('u'), file('u/x', v1), dir('u/sub'), file('u/sub/y', v1)],
    local: [dir('u'), file('u/x', v1), dir('u/sub')],
    remote: [],
    unlisted: { local: ['u/sub'] },
    expected: {
      local: ['delete u/x'],
      remote: ['mkdir u'],
      problems: [['u', /deleted on the remote, but the local folder holds entries that .* cannot be synced/]],
    },
  },
  {
    description: 'pull keeps a local folder around a subfolder that could not be listed',
    modes: ['pull', 'mirror-pull'],
    compare: EVERY,
    ancestor: [dir('u'), file('u/x', v1), dir('u/sub'), file('u/sub/y', v1)],
    local: [dir('u'), file('u/x', v1), dir('u/sub')],
    remote: [],
    unlisted: { local: ['u/sub'] },
    expected: { local: ['delete u/x'], problems: [['u', /not deleted locally/]] },
  },
  {
    description: 'paths that are not clean relative paths are skipped with a problem',
    modes: ['two-way', 'push'],
    compare: EVERY,
    ancestor: [],
    local: [file('ok', v2), dir('a'), file('a/../b', v2), file('back\\slash', v2), file('a//c', v2)],
    remote: [],
    expected: {
      remote: ['mkdir a', 'copy ok'],
      problems: [
        ['a/../b', /skipped: path has a "\.\." segment/],
        ['a//c', /skipped: path has an empty segment/],
        ['back\\slash', /skipped: path contains a backslash/],
      ],
    },
  },
  {
    description: 'a parent that no tree lists is created on both sides',
    modes: ['two-way'],
    compare: EVERY,
    ancestor: [],
    local: [file('x/y', v2)],
    remote: [],
    expected: { local: ['mkdir x'], remote: ['mkdir x', 'copy x/y'] },
  },
  {
    description: 'children listed before their parents',
    modes: ['two-way', 'push'],
    compare: EVERY,
    ancestor: [file('a/b/old', v1), dir('a/b'), dir('a')],
    local: [file('a/b/c/d', v2), dir('a/b/c'), dir('a/b'), dir('a')],
    remote: [file('a/b/old', v1), dir('a/b'), dir('a')],
    expected: { remote: ['mkdir a/b/c', 'copy a/b/c/d', 'delete a/b/old'] },
  },
  {
    description: 'the engine’s own temporaries are never synced',
    modes: ALL,
    compare: EVERY,
    ancestor: [],
    local: [file('.tether-partial-0123456789abcdef', v2), dir('.tether-staging-x'), file('.tether-staging-x/f', v2)],
    remote: [],
    expected: {},
  },
  {
    description: 'a case-insensitive target cannot hold names that differ only in case: skipped',
    modes: ['two-way', 'push', 'mirror-push'],
    compare: EVERY,
    caseInsensitive: { remote: true },
    ancestor: [],
    local: [file('Readme.md', v2), file('README.md', v2), dir('Docs'), file('Docs/a', v2), file('other', v2)],
    remote: [dir('docs')],
    expected: {
      remote: ['copy other'],
      problems: [
        ['Docs', /"Docs" and "docs" differ only in case, and the remote side cannot hold both names/],
        ['README.md', /"README.md" and "Readme.md" differ only in case/],
        ['Readme.md', /differ only in case/],
        ['docs', /"docs" and "Docs" differ only in case/],
      ],
    },
  },
  {
    description: 'a case-insensitive side that receives nothing does not care',
    modes: ['pull'],
    compare: EVERY,
    caseInsensitive: { remote: true },
    ancestor: [],
    local: [file('Readme.md', v2), file('README.md', v2)],
    remote: [],
    expected: {},
  },
];

describe('reconcile: folders', () => {
  it.each(rows(folderCases))('%s', (_name, testCase, mode, compare) => {
    runCase(testCase, mode, compare);
  });
});

describe('reconcile: type changes and file/folder conflicts', () => {
  it.each(rows(typeChangeCases))('%s', (_name, testCase, mode, compare) => {
    runCase(testCase, mode, compare);
  });
});

describe('reconcile: what is out of reach', () => {
  it.each(rows(reachCases))('%s', (_name, testCase, mode, compare) => {
    runCase(testCase, mode, compare);
  });
});

describe('reconcile: unlisted folders, however an endpoint spells them', () => {
  const options = { mode: 'two-way', compare: 'size-mtime', mtimePrecisionMs: 1, host: 'h', now: 0 } as const;
  const ancestor = tree(dir('u'), file('u/a', v1), file('top', v1));
  const local = tree(dir('u'), file('top', v1));
  const remote = tree(dir('u'), file('u/a', v1), file('top', v2));

  it.each(['u', 'u/', './u', 'u//'])('reads %j as the folder u', (unlisted) => {
    const plan = reconcile({ ancestor, local, remote, unlisted: { local: [unlisted], remote: [] } }, options);
    expect(describeSide(plan, 'remote')).toEqual([]);
    expect(describeSide(plan, 'local')).toEqual(['copy top']);
  });

  it.each(['', '.', './'])('reads %j as the whole tree: nothing moves', (unlisted) => {
    const plan = reconcile({ ancestor, local, remote, unlisted: { local: [unlisted], remote: [] } }, options);
    expect(isEmptyPlan(plan)).toBe(true);
  });

  it('stops everything, with a problem, when an unlisted folder cannot be named', () => {
    const plan = reconcile({ ancestor, local, remote, unlisted: { local: ['a/../u'], remote: [] } }, options);
    expect(describeSide(plan, 'local')).toEqual([]);
    expect(plan.problems).toEqual([
      {
        path: 'a/../u',
        message:
          'the local side could not list a folder whose path is not valid (path has a ".." segment); nothing is synced until it is fixed',
      },
    ]);
  });
});
