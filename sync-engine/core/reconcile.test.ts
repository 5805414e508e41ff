import { describe, expect, it } from 'vitest';
import type { SyncMode } from './plan.js';
import { reconcile } from './reconcile.js';
import type { Entry } from './entry.js';
import { dir, file, symlink, tree } from './testing/fixtures.js';
import { NOW, TAG, rows, runCase, type Case } from './testing/table.js';

// Named versions of one file. `v1` is what the last sync left on both sides; `v2` is a local edit and `v3` a remote
// edit (later, different sizes and hashes).
const v1 = { size: 10, mtime: 0, sha: 'h1' };
const v2 = { size: 20, mtime: 5_000, sha: 'h2' };
const v3 = { size: 30, mtime: 9_000, sha: 'h3' };

const ALL: readonly SyncMode[] = ['two-way', 'push', 'pull', 'mirror-push', 'mirror-pull'];
const STRICT = ['size-mtime', 'sha256'] as const;
const EVERY = ['size-mtime', 'sha256', 'none'] as const;

const cases: Case[] = [
  {
    description: 'nothing anywhere',
    modes: ALL,
    compare: EVERY,
    ancestor: [],
    local: [],
    remote: [],
    expected: {},
  },
  {
    description: 'both sides as the last sync left them',
    modes: ALL,
    compare: EVERY,
    ancestor: [dir('d'), file('d/a', v1)],
    local: [dir('d'), file('d/a', v1)],
    remote: [dir('d'), file('d/a', v1)],
    expected: {},
  },

  // Creations.
  {
    description: 'a file created locally goes to the remote',
    modes: ['two-way', 'push', 'mirror-push'],
    compare: EVERY,
    ancestor: [],
    local: [file('a', v2)],
    remote: [],
    expected: { remote: ['copy a'] },
  },
  {
    description: 'a file created locally stays local in pull',
    modes: ['pull'],
    compare: EVERY,
    ancestor: [],
    local: [file('a', v2)],
    remote: [],
    expected: {},
  },
  {
    description: 'a file created locally is deleted by mirror-pull',
    modes: ['mirror-pull'],
    compare: EVERY,
    ancestor: [],
    local: [file('a', v2)],
    remote: [],
    expected: { local: ['delete a'] },
  },
  {
    description: 'a file created on the remote comes down',
    modes: ['two-way', 'pull', 'mirror-pull'],
    compare: EVERY,
    ancestor: [],
    local: [],
    remote: [file('a', v3)],
    expected: { local: ['copy a'] },
  },
  {
    description: 'a file created on the remote stays there in push',
    modes: ['push'],
    compare: EVERY,
    ancestor: [],
    local: [],
    remote: [file('a', v3)],
    expected: {},
  },
  {
    description: 'a file created on the remote is deleted by mirror-push',
    modes: ['mirror-push'],
    compare: EVERY,
    ancestor: [],
    local: [],
    remote: [file('a', v3)],
    expected: { remote: ['delete a'] },
  },
  {
    description: 'new nested folders: parents are created first',
    modes: ['two-way', 'push', 'mirror-push'],
    compare: EVERY,
    ancestor: [],
    local: [dir('a'), dir('a/b'), file('a/b/c.txt', v2), dir('a/empty')],
    remote: [],
    expected: { remote: ['mkdir a', 'mkdir a/b', 'mkdir a/empty', 'copy a/b/c.txt'] },
  },
  {
    description: 'the same file created on both sides is recorded, not copied',
    modes: ALL,
    compare: EVERY,
    ancestor: [],
    local: [file('a', v2)],
    remote: [file('a', v2)],
    expected: { inSync: ['a'] },
  },
  {
    description: 'different files created at the same path: a conflict keeps both',
    modes: ['two-way'],
    compare: STRICT,
    ancestor: [],
    local: [file('x.txt', v2)],
    remote: [file('x.txt', v3)],
    expected: {
      local: [`copy x.${TAG}.txt`],
      remote: [`rename x.txt → x.${TAG}.txt`, 'copy x.txt'],
      conflicts: [`x.txt → x.${TAG}.txt`],
    },
  },

  // Modifications.
  {
    description: 'a local edit goes to the remote',
    modes: ['two-way', 'push', 'mirror-push'],
    compare: STRICT,
    ancestor: [file('a', v1)],
    local: [file('a', v2)],
    remote: [file('a', v1)],
    expected: { remote: ['copy a'] },
  },
  {
    description: 'a local edit stays local in pull (the target changed, the source did not)',
    modes: ['pull'],
    compare: STRICT,
    ancestor: [file('a', v1)],
    local: [file('a', v2)],
    remote: [file('a', v1)],
    expected: {},
  },
  {
    description: 'a local edit is overwritten by mirror-pull',
    modes: ['mirror-pull'],
    compare: STRICT,
    ancestor: [file('a', v1)],
    local: [file('a', v2)],
    remote: [file('a', v1)],
    expected: { local: ['copy a'] },
  },
  {
    description: 'a remote edit comes down',
    modes: ['two-way', 'pull', 'mirror-pull'],
    compare: STRICT,
    ancestor: [file('a', v1)],
    local: [file('a', v1)],
    remote: [file('a', v3)],
    expected: { local: ['copy a'] },
  },
  {
    description: 'a remote edit is never overwritten by push',
    modes: ['push'],
    compare: STRICT,
    ancestor: [file('a', v1)],
    local: [file('a', v1)],
    remote: [file('a', v3)],
    expected: {},
  },
  {
    description: 'a remote edit is overwritten by mirror-push',
    modes: ['mirror-push'],
    compare: STRICT,
    ancestor: [file('a', v1)],
    local: [file('a', v1)],
    remote: [file('a', v3)],
    expected: { remote: ['copy a'] },
  },
  {
    description: 'edits on both sides: a conflict; the local version keeps the name',
    modes: ['two-way'],
    compare: STRICT,
    ancestor: [dir('m'), file('m/model.pt', v1)],
    local: [dir('m'), file('m/model.pt', v2)],
    remote: [dir('m'), file('m/model.pt', v3)],
    expected: {
      local: [`copy m/model.${TAG}.pt`],
      remote: [`rename m/model.pt → m/model.${TAG}.pt`, 'copy m/model.pt'],
      conflicts: [`m/model.pt → m/model.${TAG}.pt`],
    },
  },
  {
    description: 'edits on both sides: push keeps the remote version and says so',
    modes: ['push'],
    compare: STRICT,
    ancestor: [file('a', v1)],
    local: [file('a', v2)],
    remote: [file('a', v3)],
    expected: { problems: [['a', /changed on both sides.*push never overwrites changes made on the remote/]] },
  },
  {
    description: 'edits on both sides: pull keeps the local version and says so',
    modes: ['pull'],
    compare: STRICT,
    ancestor: [file('a', v1)],
    local: [file('a', v2)],
    remote: [file('a', v3)],
    expected: { problems: [['a', /pull never overwrites changes made locally/]] },
  },
  {
    description: 'edits on both sides: mirror-push overwrites the remote',
    modes: ['mirror-push'],
    compare: STRICT,
    ancestor: [file('a', v1)],
    local: [file('a', v2)],
    remote: [file('a', v3)],
    expected: { remote: ['copy a'] },
  },
  {
    description: 'the same edit on both sides is recorded, not a conflict',
    modes: ALL,
    compare: STRICT,
    ancestor: [file('a', v1)],
    local: [file('a', v2)],
    remote: [file('a', v2)],
    expected: { inSync: ['a'] },
  },
  {
    description: 'a symlink retargeted locally is copied over',
    modes: ['two-way', 'push'],
    compare: EVERY,
    ancestor: [symlink('l', 'a')],
    local: [symlink('l', 'b')],
    remote: [symlink('l', 'a')],
    expected: { remote: ['copy l'] },
  },

  // Deletions.
  {
    description: 'a local deletion goes to the remote',
    modes: ['two-way', 'push', 'mirror-push'],
    compare: EVERY,
    ancestor: [file('a', v1)],
    local: [],
    remote: [file('a', v1)],
    expected: { remote: ['delete a'] },
  },
  {
    description: 'a file deleted on the target of a one-way mode is restored (restoring loses nothing)',
    modes: ['pull', 'mirror-pull'],
    compare: EVERY,
    ancestor: [file('a', v1)],
    local: [],
    remote: [file('a', v1)],
    expected: { local: ['copy a'] },
  },
  {
    description: 'a remote deletion comes down',
    modes: ['two-way', 'pull', 'mirror-pull'],
    compare: EVERY,
    ancestor: [file('a', v1)],
    local: [file('a', v1)],
    remote: [],
    expected: { local: ['delete a'] },
  },
  {
    description: 'deleted on both sides: the ancestor forgets it',
    modes: ALL,
    compare: EVERY,
    ancestor: [dir('d'), file('d/a', v1)],
    local: [],
    remote: [],
    expected: { forget: ['d', 'd/a'] },
  },
  {
    description: 'deleted locally, edited on the remote: modification beats deletion',
    modes: ['two-way'],
    compare: EVERY,
    ancestor: [file('a', v1)],
    local: [],
    remote: [file('a', v3)],
    expected: {
      local: ['copy a'],
      problems: [['a', /deleted locally but changed on the remote.*kept and restored locally/]],
    },
  },
  {
    description: 'edited locally, deleted on the remote: modification beats deletion',
    modes: ['two-way'],
    compare: EVERY,
    ancestor: [file('a', v1)],
    local: [file('a', v2)],
    remote: [],
    expected: { remote: ['copy a'], problems: [['a', /deleted on the remote but changed locally/]] },
  },
  {
    description: 'deleted locally, edited on the remote: push never deletes the remote edit',
    modes: ['push'],
    compare: EVERY,
    ancestor: [file('a', v1)],
    local: [],
    remote: [file('a', v3)],
    expected: { problems: [['a', /deleted locally but changed on the remote.*push never deletes/]] },
  },
  {
    description: 'edited locally, deleted on the remote: push restores it with the local edit',
    modes: ['push', 'mirror-push'],
    compare: EVERY,
    ancestor: [file('a', v1)],
    local: [file('a', v2)],
    remote: [],
    expected: { remote: ['copy a'] },
  },
  {
    description: 'deleted locally, edited on the remote: mirror-push deletes it',
    modes: ['mirror-push'],
    compare: EVERY,
    ancestor: [file('a', v1)],
    local: [],
    remote: [file('a', v3)],
    expected: { remote: ['delete a'] },
  },
];

describe('reconcile: creations, modifications, deletions', () => {
  it.each(rows(cases))('%s', (_name, testCase, mode, compare) => {
    runCase(testCase, mode, compare);
  });
});

const metadataCases: Case[] = [
  {
    description: 'only the executable bit changed locally: a metadata update, not a copy',
    modes: ['two-way', 'push', 'mirror-push'],
    compare: STRICT,
    ancestor: [file('run.sh', v1)],
    local: [file('run.sh', { ...v1, exec: true })],
    remote: [file('run.sh', v1)],
    expected: { remote: ['metadata run.sh'] },
  },
  {
    description: 'only the executable bit changed on the remote',
    modes: ['two-way', 'pull', 'mirror-pull'],
    compare: STRICT,
    ancestor: [file('run.sh', v1)],
    local: [file('run.sh', v1)],
    remote: [file('run.sh', { ...v1, exec: true })],
    expected: { local: ['metadata run.sh'] },
  },
  {
    description: 'an endpoint that cannot store the executable bit never clears it on the other side',
    modes: ALL,
    compare: STRICT,
    ignoreExecutable: true,
    ancestor: [file('run.sh', { ...v1, exec: true })],
    local: [file('run.sh', { ...v1, exec: true })],
    remote: [file('run.sh', v1)],
    expected: {},
  },
  {
    description: 'executable bits changed differently on both sides: the local bit wins, reported',
    modes: ['two-way'],
    compare: STRICT,
    ancestor: [file('run.sh', { ...v1, exec: true })],
    local: [file('run.sh', { ...v2, exec: true })],
    remote: [file('run.sh', { ...v2, exec: false })],
    expected: { remote: ['metadata run.sh'], problems: [['run.sh', /executable bit was changed on both sides/]] },
  },
  {
    description: 'compare none moves no metadata; the ancestor records the local entry',
    modes: ALL,
    compare: ['none'],
    ancestor: [file('run.sh', v1)],
    local: [file('run.sh', { ...v1, exec: true })],
    remote: [file('run.sh', v1)],
    expected: { inSync: ['run.sh'] },
  },
  {
    description: 'mtimes within the precision are equal (BusyBox: 1000 ms)',
    modes: ALL,
    compare: ['size-mtime'],
    precisionMs: 1000,
    ancestor: [file('a', v1)],
    local: [file('a', { ...v1, mtime: 999 })],
    remote: [file('a', { ...v1, mtime: 0 })],
    expected: {},
  },
  {
    description: 'mtimes one precision apart differ',
    modes: ['two-way', 'push'],
    compare: ['size-mtime'],
    precisionMs: 1000,
    ancestor: [file('a', v1)],
    local: [file('a', { ...v1, mtime: 1000 })],
    remote: [file('a', v1)],
    expected: { remote: ['copy a'] },
  },
  {
    description: 'the same mtime difference is a change at 1 ms precision',
    modes: ['two-way', 'push'],
    compare: ['size-mtime'],
    precisionMs: 1,
    ancestor: [file('a', v1)],
    local: [file('a', { ...v1, mtime: 400 })],
    remote: [file('a', v1)],
    expected: { remote: ['copy a'] },
  },
  {
    description: 'sha256: the same content with a new mtime is equal; the ancestor follows the local mtime',
    modes: ALL,
    compare: ['sha256'],
    ancestor: [file('a', v1)],
    local: [file('a', { ...v1, mtime: 60_000 })],
    remote: [file('a', v1)],
    expected: { inSync: ['a'] },
  },
  {
    description: 'size-mtime: the same content with a new mtime is copied',
    modes: ['two-way', 'push'],
    compare: ['size-mtime'],
    ancestor: [file('a', v1)],
    local: [file('a', { ...v1, mtime: 60_000 })],
    remote: [file('a', v1)],
    expected: { remote: ['copy a'] },
  },
  {
    description: 'sha256 catches a same-size, same-mtime edit that size-mtime cannot see',
    modes: ['two-way', 'push'],
    compare: ['sha256'],
    ancestor: [file('a', v1)],
    local: [file('a', { ...v1, sha: 'h9' })],
    remote: [file('a', v1)],
    expected: { remote: ['copy a'] },
  },
  {
    description: 'sha256 without a hash on one side falls back to size and mtime',
    modes: ['two-way'],
    compare: ['sha256'],
    ancestor: [file('a', v1)],
    local: [file('a', { size: 10, mtime: 60_000 })],
    remote: [file('a', v1)],
    expected: { remote: ['copy a'] },
  },
  {
    description: 'none: both sides edited, nothing moves and nothing conflicts',
    modes: ALL,
    compare: ['none'],
    ancestor: [file('a', v1)],
    local: [file('a', v2)],
    remote: [file('a', v3)],
    expected: { inSync: ['a'] },
  },
];

describe('reconcile: compare modes and metadata', () => {
  it.each(rows(metadataCases))('%s', (_name, testCase, mode, compare) => {
    runCase(testCase, mode, compare);
  });
});

describe('reconcile: details of the plan', () => {
  const options = { mode: 'two-way', compare: 'sha256', mtimePrecisionMs: 1, host: 'laptop', now: NOW } as const;

  it('copies carry the source entry and what they replace', () => {
    const plan = reconcile(
      { ancestor: tree(file('a', v1)), local: tree(file('a', v2)), remote: tree(file('a', v1)) },
      options,
    );
    expect(plan.remote).toEqual([{ kind: 'copy', path: 'a', source: file('a', v2), replaces: file('a', v1) }]);
  });

  it('a conflict copy reads the remote version under its new name', () => {
    const plan = reconcile(
      { ancestor: tree(file('a.txt', v1)), local: tree(file('a.txt', v2)), remote: tree(file('a.txt', v3)) },
      options,
    );
    const conflictPath = `a.${TAG}.txt`;
    expect(plan.local).toEqual([{ kind: 'copy', path: conflictPath, source: file(conflictPath, v3) }]);
    expect(plan.remote[0]).toEqual({ kind: 'rename', path: 'a.txt', to: conflictPath, expected: file('a.txt', v3) });
    expect(plan.remote[1]).toEqual({ kind: 'copy', path: 'a.txt', source: file('a.txt', v2) });
    expect(plan.conflicts).toEqual([
      { path: 'a.txt', local: file('a.txt', v2), remote: file('a.txt', v3), conflictPath },
    ]);
  });

  it('records a hash only the remote knows when both sides agree', () => {
    const plan = reconcile(
      {
        ancestor: tree(),
        local: tree(file('a', { size: 10, mtime: 0 })),
        remote: tree(file('a', { size: 10, mtime: 0, sha: 'h1' })),
      },
      options,
    );
    expect(plan.inSync).toEqual([file('a', { size: 10, mtime: 0, sha: 'h1' })]);
  });

  it('plans 100,000 entries per tree', () => {
    const n = 100_000;
    const ancestor = new Map<string, Entry>();
    const local = new Map<string, Entry>();
    const remote = new Map<string, Entry>();
    for (let i = 0; i < n; i++) {
      const d = `dir${i % 300}`;
      const sub = `${d}/sub${i % 7}`;
      for (const t of [ancestor, local, remote]) {
        if (!t.has(d)) t.set(d, dir(d));
        if (!t.has(sub)) t.set(sub, dir(sub));
      }
      const path = `${sub}/file-${i}.bin`;
      const entry = file(path, { size: i, mtime: i });
      ancestor.set(path, entry);
      // Every 10th file edited locally, every 10th (offset by 5) deleted on the remote, and some created remotely.
      local.set(path, i % 10 === 0 ? file(path, { size: i + 1, mtime: i + 5_000 }) : entry);
      if (i % 10 !== 5) remote.set(path, entry);
      if (i % 50 === 0) remote.set(`${sub}/new-${i}`, file(`${sub}/new-${i}`, { size: 1, mtime: 1 }));
    }
    // Correctness at scale; speed is measured by `npm run bench`, not asserted here (a busy machine would make a
    // timed unit test flaky). A quadratic step would still blow the generous timeout at this size.
    const plan = reconcile({ ancestor, local, remote }, { ...options, compare: 'size-mtime' });
    expect(plan.remote.filter((a) => a.kind === 'copy')).toHaveLength(n / 10);
    expect(plan.local.filter((a) => a.kind === 'delete')).toHaveLength(n / 10);
    expect(plan.local.filter((a) => a.kind === 'copy')).toHaveLength(n / 50);
  }, 60_000);
});
