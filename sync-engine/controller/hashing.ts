import type { Entry, Tree } from '../core/entry.js';
import type { Side } from '../core/plan.js';
import type { Endpoint } from '../endpoints/endpoint.js';
import type { StateStore } from '../state/store.js';

export interface HashOutcome {
  readonly tree: Map<string, Entry>;
  /** Files actually hashed this run (the rest came from the cache). */
  readonly hashed: number;
  readonly hashedBytes: number;
  readonly problems: { path: string; message: string }[];
  /** What the endpoint downloaded only to hash (objects without a stored hash). */
  readonly downloaded: { readonly bytes: number; readonly files: number };
}

/**
 * Strict mode: gives every file that will be compared a SHA-256. Hashes are cached against size+mtime in the
 * state store, so unchanged files are never hashed twice; the endpoint hashes where the data lives.
 */
export async function attachHashes(
  store: StateStore,
  pairId: number,
  side: Side,
  endpoint: Endpoint,
  tree: Tree,
  needed: (path: string) => boolean,
  signal?: AbortSignal,
): Promise<HashOutcome> {
  const cache = store.loadHashCache(pairId, side);
  const result = new Map<string, Entry>();
  const missing: Entry[] = [];
  for (const [path, entry] of tree) {
    if (entry.kind !== 'file' || entry.sha256 !== undefined || !needed(path)) {
      result.set(path, entry);
      continue;
    }
    const cached = cache.get(path);
    if (cached !== undefined && cached.size === entry.size && cached.mtimeMs === entry.mtimeMs) {
      result.set(path, { ...entry, sha256: cached.sha256 });
    } else {
      result.set(path, entry);
      missing.push(entry);
    }
  }
  const none = { bytes: 0, files: 0 };
  if (missing.length === 0) return { tree: result, hashed: 0, hashedBytes: 0, problems: [], downloaded: none };
  const { hashes, problems, downloaded } = await endpoint.hash(missing, signal === undefined ? {} : { signal });
  let hashedBytes = 0;
  const fresh: { path: string; size: number; mtimeMs: number; sha256: string }[] = [];
  for (const entry of missing) {
    const sha256 = hashes.get(entry.path);
    if (sha256 === undefined) continue;
    hashedBytes += entry.size;
    result.set(entry.path, { ...entry, sha256 });
    fresh.push({ path: entry.path, size: entry.size, mtimeMs: entry.mtimeMs, sha256 });
  }
  store.putCachedHashes(pairId, side, fresh);
  return { tree: result, hashed: fresh.length, hashedBytes, problems, downloaded: downloaded ?? none };
}
