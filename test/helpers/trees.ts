import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SnapshotEntry {
  readonly kind: 'file' | 'dir' | 'symlink' | 'other';
  readonly size: number;
  readonly executable: boolean;
  readonly mtimeMs: number;
  readonly sha256?: string;
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Everything under `root`, independently of Tether's own code: kinds, sizes, modes, mtimes, content hashes. */
export async function snapshot(root: string): Promise<Map<string, SnapshotEntry>> {
  const result = new Map<string, SnapshotEntry>();
  const walk = async (dir: string, prefix: string): Promise<void> => {
    for (const name of await readdir(dir)) {
      const abs = join(dir, name);
      const rel = prefix === '' ? name : `${prefix}/${name}`;
      const stat = await lstat(abs);
      if (stat.isDirectory()) {
        result.set(rel, { kind: 'dir', size: 0, executable: false, mtimeMs: 0 });
        await walk(abs, rel);
      } else if (stat.isFile()) {
        result.set(rel, {
          kind: 'file',
          size: stat.size,
          executable: (stat.mode & 0o100) !== 0,
          mtimeMs: Math.trunc(stat.mtimeMs),
          sha256: await sha256Of(abs),
        });
      } else {
        result.set(rel, { kind: stat.isSymbolicLink() ? 'symlink' : 'other', size: 0, executable: false, mtimeMs: 0 });
      }
    }
  };
  await walk(root, '');
  return result;
}

/** Content view of a snapshot (what must be equal after a sync): kind, size, hash, executable bit. */
export function contentOf(snap: Map<string, SnapshotEntry>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [path, e] of [...snap].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    out[path] = e.kind === 'file' ? `file ${e.size} ${e.executable ? 'x' : '-'} ${e.sha256 ?? ''}` : e.kind;
  }
  return out;
}

export async function tempDir(prefix: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `tether-${prefix}-`));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}
