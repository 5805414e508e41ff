import { mkdir, open, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { finished, startTether, tether } from '../helpers/cli.js';
import { contentOf, snapshot, tempDir } from '../helpers/trees.js';

const MiB = 1024 * 1024;

async function writeBigFile(path: string, mib: number): Promise<void> {
  const chunk = Buffer.alloc(MiB);
  const handle = await open(path, 'w');
  for (let i = 0; i < mib; i++) {
    chunk.fill((i * 7) % 256);
    chunk.writeUInt32LE(i, 0);
    await handle.write(chunk);
  }
  await handle.close();
}

/** Finds the engine's partial files anywhere under `root`. */
async function partials(root: string): Promise<{ path: string; size: number }[]> {
  const found: { path: string; size: number }[] = [];
  const entries = await readdir(root, { recursive: true });
  for (const rel of entries) {
    const base = rel.split('/').pop() ?? '';
    if (!base.startsWith('.tether-')) continue;
    // A running sync renames partial files into place at any moment.
    const size = await stat(join(root, rel)).then(
      (s) => s.size,
      () => undefined,
    );
    if (size !== undefined) found.push({ path: rel, size });
  }
  return found;
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('timed out waiting');
}

describe('crashes and concurrent syncs', () => {
  let root: { path: string; cleanup: () => Promise<void> };
  let home: string;
  let local: string;
  let remote: string;

  beforeEach(async () => {
    root = await tempDir('crash');
    home = join(root.path, 'home');
    local = join(root.path, 'local');
    remote = join(root.path, 'remote');
    await mkdir(join(local, 'small'), { recursive: true });
    await mkdir(remote);
    for (let i = 0; i < 1500; i++) await writeFile(join(local, 'small', `f${i}.txt`), `small file ${i}\n`.repeat(20));
    await writeBigFile(join(local, 'big.bin'), 600);
    const added = await tether(['pair', 'add', 'p', '--local', local, '--remote', `file://${remote}`], home);
    expect(added.code).toBe(0);
  });
  afterEach(() => root.cleanup());

  it('SIGKILL mid-sync, then a re-run converges, resumes the big file, and leaves no temporary file', async () => {
    // Throttle nothing: kill as soon as the big file's partial copy holds a good part of it.
    const child = startTether(['sync', 'p', '--json'], home);
    const done = finished(child);
    let partial: { path: string; size: number };
    try {
      partial = await waitFor(async () => {
        const found = await partials(remote);
        return found.find((p) => p.size > 64 * MiB);
      }, 60_000);
    } finally {
      child.kill('SIGKILL');
    }
    const killed = await done;
    expect(killed.signal).toBe('SIGKILL');

    // Whatever arrived under a final name is complete and correct: partial content only ever sits in partial files.
    const localSnap = contentOf(await snapshot(local));
    for (const [path, content] of Object.entries(contentOf(await snapshot(remote)))) {
      if (path.split('/').pop()!.startsWith('.tether-')) continue;
      expect(content, path).toBe(localSnap[path]);
    }

    const rerun = await tether(['sync', 'p', '--json'], home);
    expect(rerun.stderr).toBe('');
    expect(rerun.code).toBe(0);
    const summary = JSON.parse(rerun.stdout) as { bytes: number; problems: unknown[] };
    expect(summary.problems).toEqual([]);
    // The big file resumed from its partial copy instead of starting over.
    expect(summary.bytes).toBeLessThanOrEqual(600 * MiB + 1500 * 400 - partial.size);

    expect(contentOf(await snapshot(remote))).toEqual(contentOf(await snapshot(local)));
    expect(await partials(remote)).toEqual([]);
    expect(await partials(local)).toEqual([]);

    const noop = JSON.parse((await tether(['sync', 'p', '--json'], home)).stdout) as {
      bytes: number;
      uploaded: number;
    };
    expect(noop).toMatchObject({ bytes: 0, uploaded: 0 });
  });

  it('a second sync of the same pair refuses clearly while the first runs, and --wait waits for it', async () => {
    const first = startTether(['sync', 'p', '--json'], home);
    const firstDone = finished(first);
    try {
      await waitFor(async () => ((await partials(remote)).length > 0 ? true : undefined), 60_000);
    } catch (error) {
      first.kill('SIGKILL');
      throw error;
    }

    const second = await tether(['sync', 'p'], home);
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/pair "p" is being synced by pid \d+/);

    const waiting = await tether(['sync', 'p', '--json', '--wait', '120'], home);
    expect(waiting.code).toBe(0);
    expect((await firstDone).code).toBe(0);
    expect(JSON.parse(waiting.stdout)).toMatchObject({ uploaded: 0, bytes: 0 });
    expect(contentOf(await snapshot(remote))).toEqual(contentOf(await snapshot(local)));
  });
});
