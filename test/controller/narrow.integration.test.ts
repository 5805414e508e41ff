import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { syncPair } from '../../sync-engine/controller/syncPair.js';
import { narrowScopeOf } from '../../sync-engine/core/narrowScope.js';
import { filesBelow, livePair, put, type LivePair } from '../live/harness.js';

/**
 * A narrowed sync over file:// (real folders, real atomic writes): the remote is first taken as last synced, and
 * every way it can turn out not to be ends in a full pass with the full sync's result.
 */
let pair: LivePair | undefined;
afterEach(() => pair?.cleanup());

const T = 1_700_000_000;
const host = 'laptop';
const now = (): number => Date.UTC(2026, 11, 7, 10, 0, 0);

function synced(): LivePair {
  const p = livePair({});
  put(p.local, 'data/a.txt', 'a v1', T);
  put(p.local, 'data/b.txt', 'b v1', T);
  put(p.local, 'top.txt', 'top', T);
  pair = p;
  return p;
}

const read = (root: string, path: string): string => readFileSync(join(root, path), 'utf8');

describe('a narrowed sync taking the remote as last synced', () => {
  it('sends the changes without listing the remote, and records them', async () => {
    const p = synced();
    await syncPair(p.store, 'p');
    put(p.local, 'data/a.txt', 'a v2', T + 10);
    put(p.local, 'new/deep/c.txt', 'c', T + 10);
    const summary = await syncPair(p.store, 'p', {
      narrow: narrowScopeOf(['data/a.txt', 'new', 'new/deep', 'new/deep/c.txt'])!,
      host,
      now,
    });
    expect(summary).toMatchObject({ narrowed: 'assumed', uploaded: 2, downloaded: 0, conflicts: 0, problems: [] });
    expect(read(p.remote, 'data/a.txt')).toBe('a v2');
    expect(read(p.remote, 'new/deep/c.txt')).toBe('c');
    // Recorded: a full sync now finds nothing to do.
    expect(await syncPair(p.store, 'p')).toMatchObject({
      uploaded: 0,
      downloaded: 0,
      deletedLocal: 0,
      deletedRemote: 0,
    });
  });

  it('a file changed on both sides: the remote refuses, and the full pass keeps both as a conflict', async () => {
    const p = synced();
    await syncPair(p.store, 'p');
    put(p.local, 'data/a.txt', 'a, edited here', T + 10);
    put(p.local, 'data/b.txt', 'b, edited here', T + 10);
    put(p.remote, 'data/a.txt', 'a, edited there', T + 20);
    const summary = await syncPair(p.store, 'p', { narrow: narrowScopeOf(['data/a.txt', 'data/b.txt'])!, host, now });
    // b went through in the first pass and counts; a is a conflict, planned with the whole pair in view: this
    // side's version keeps the name on both sides (one more upload), the remote's is kept beside it.
    expect(summary).toMatchObject({ narrowed: false, uploaded: 2, conflicts: 1 });
    expect(read(p.remote, 'data/b.txt')).toBe('b, edited here');
    expect(read(p.remote, 'data/a.txt')).toBe('a, edited here');
    const copies = filesBelow(p.local).filter((path) => path.includes('conflict'));
    expect(copies).toHaveLength(1);
    expect(read(p.local, copies[0]!)).toBe('a, edited there');
    expect(filesBelow(p.local)).toEqual(filesBelow(p.remote));
    // The refusal was the plan's assumption failing, not a problem: nothing says "not written" in the log.
    const pairId = p.store.requirePair('p').id;
    expect(p.store.listActivity({ pairId, level: 'warn' }).map((a) => a.kind)).toEqual(['conflict']);
  });

  it('a file created on both sides: a conflict, as a full sync makes it', async () => {
    const p = synced();
    await syncPair(p.store, 'p');
    put(p.local, 'data/new.txt', 'new here', T + 10);
    put(p.remote, 'data/new.txt', 'new there', T + 20);
    const summary = await syncPair(p.store, 'p', { narrow: narrowScopeOf(['data/new.txt'])!, host, now });
    expect(summary).toMatchObject({ narrowed: false, conflicts: 1 });
    expect(read(p.remote, 'data/new.txt')).toBe('new here');
    expect(filesBelow(p.local)).toEqual(filesBelow(p.remote));
  });

  it('a new file in a folder deleted on the remote: the folder comes back with it (an edit beats a deletion)', async () => {
    const p = synced();
    await syncPair(p.store, 'p');
    put(p.local, 'data/c.txt', 'c', T + 10);
    rmSync(join(p.remote, 'data'), { recursive: true });
    const summary = await syncPair(p.store, 'p', {
      narrow: narrowScopeOf(['data/c.txt'])!,
      host,
      now,
      maxDelete: '100%',
    });
    expect(summary).toMatchObject({ narrowed: false, uploaded: 1, deletedLocal: 2 });
    expect(filesBelow(p.remote)).toEqual(['data/c.txt', 'top.txt']);
    expect(filesBelow(p.local)).toEqual(['data/c.txt', 'top.txt']);
  });

  it('a new folder where the remote now has a file: the full pass resolves it as a full sync does', async () => {
    const p = synced();
    await syncPair(p.store, 'p');
    mkdirSync(join(p.local, 'x'));
    put(p.local, 'x/inside.txt', 'inside', T + 10);
    put(p.remote, 'x', 'a file named x', T + 20);
    const summary = await syncPair(p.store, 'p', { narrow: narrowScopeOf(['x', 'x/inside.txt'])!, host, now });
    expect(summary).toMatchObject({ narrowed: false, conflicts: 1 });
    expect(read(p.remote, 'x/inside.txt')).toBe('inside');
    expect(filesBelow(p.local)).toEqual(filesBelow(p.remote));
  });

  it('a file edited here and deleted there is sent again, narrowed, with no safety halt', async () => {
    const p = synced();
    put(p.local, 'data/model.bin', Buffer.alloc(2 * 1024 * 1024, 1), T);
    await syncPair(p.store, 'p');
    put(p.local, 'data/model.bin', Buffer.alloc(2 * 1024 * 1024, 2), T + 10);
    rmSync(join(p.remote, 'data/model.bin'));
    // Over 1 MiB, so the scope is listed on both sides: the remote holds nothing of it any more, which is no
    // reason to halt (the plan deletes nothing: an edit beats a deletion).
    const summary = await syncPair(p.store, 'p', { narrow: narrowScopeOf(['data/model.bin'])! });
    expect(summary).toMatchObject({
      narrowed: 'listed',
      uploaded: 1,
      problems: [{ path: 'data/model.bin', message: expect.stringMatching(/changed version is kept/) as unknown }],
    });
    expect(readFileSync(join(p.remote, 'data/model.bin'))).toEqual(Buffer.alloc(2 * 1024 * 1024, 2));
  });

  it('lists the remote first in strict mode and in pull modes, and for large files', async () => {
    const p = synced();
    await syncPair(p.store, 'p');
    put(p.local, 'big.bin', Buffer.alloc(2 * 1024 * 1024, 1), T + 10);
    expect(await syncPair(p.store, 'p', { narrow: narrowScopeOf(['big.bin'])! })).toMatchObject({
      narrowed: 'listed',
      uploaded: 1,
    });
    p.store.updatePairConfig('p', { compare: 'sha256' });
    put(p.local, 'top.txt', 'top, edited', T + 10);
    expect(await syncPair(p.store, 'p', { narrow: narrowScopeOf(['top.txt'])! })).toMatchObject({
      narrowed: 'listed',
      uploaded: 1,
    });
    p.store.updatePairConfig('p', { compare: 'size-mtime', mode: 'pull' });
    put(p.local, 'top.txt', 'top, edited again', T + 20);
    // A pull never sends the local edit; a narrowed pull plans from what both sides hold.
    expect(await syncPair(p.store, 'p', { narrow: narrowScopeOf(['top.txt'])! })).toMatchObject({
      narrowed: 'listed',
      uploaded: 0,
      downloaded: 0,
    });
    expect(read(p.remote, 'top.txt')).toBe('top, edited');
  });
});
