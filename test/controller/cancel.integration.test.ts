import { afterEach, describe, expect, it } from 'vitest';
import { syncPair } from '../../sync-engine/controller/syncPair.js';
import { TetherError } from '../../sync-engine/errors.js';
import { filesBelow, livePair, put, type LivePair } from '../live/harness.js';

describe('syncPair and its abort signal', () => {
  let pair: LivePair | undefined;
  afterEach(() => pair?.cleanup());

  it('a signal aborted before the call cancels the sync before anything moves', async () => {
    pair = livePair({}, 'push');
    put(pair.local, 'data/a.bin', 'a');
    const signal = AbortSignal.abort();
    const error = await syncPair(pair.store, 'p', { signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TetherError);
    expect((error as TetherError).code).toBe('cancelled');
    expect(filesBelow(pair.remote)).toEqual([]);
    // The pair is free again: the next sync runs and copies the file.
    const summary = await syncPair(pair.store, 'p');
    expect(summary.uploaded).toBe(1);
    expect(filesBelow(pair.remote)).toEqual(['data/a.bin']);
  });
});
