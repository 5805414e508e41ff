import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Entry, Problem } from '../../core/entry.js';
import { isEngineTemporary } from '../../core/temporaries.js';
import type { IncomingFile, WriteRequest } from '../endpoint.js';
import { createLocalEndpoint } from './localEndpoint.js';
import type { LocalEndpoint } from './localEndpoint.js';
import { smallWriterCounts } from './smallWriter.js';
import { TempDirs, writeFile } from './testFixtures.js';

/**
 * Small files written on the writer thread (smallWriter.ts): received whole and committed there ("streamed",
 * as from a pod or a throttled link), or copied there straight from another local folder ("direct"). Both
 * must write exactly what the main thread would, with the same checks and the same words.
 */

const dirs = new TempDirs();
afterEach(() => dirs.cleanup());

const T = 1_700_000_000_789;
/** More small files than the writer's threshold, so the thread takes them. */
const COUNT = 100;

type Route = 'streamed' | 'direct';

interface Recorded {
  done: string[];
  problems: Problem[];
  bytes: number;
}

/** Files of varied sizes (empty to 200 KiB), some executable, in a few folders. */
function makeSource(count = COUNT): { root: string; contents: Map<string, Buffer> } {
  const root = dirs.make();
  const contents = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const path = `d${i % 4}/f${i}.bin`;
    const size = i === 0 ? 0 : i === 1 ? 200 * 1024 : 100 + i * 37;
    const content = Buffer.alloc(size, i % 251);
    if (size > 0) content.writeUInt8(i % 256, 0);
    writeFile(root, path, content, { mtimeMs: T + i, mode: i % 7 === 0 ? 0o755 : 0o644 });
    contents.set(path, content);
  }
  return { root, contents };
}

/** A source folder of `count` files, an empty target with the source's folders, and the files to copy. */
async function setup(count = COUNT): Promise<{
  root: string;
  contents: Map<string, Buffer>;
  source: LocalEndpoint;
  targetRoot: string;
  target: LocalEndpoint;
  entries: Entry[];
}> {
  const { root, contents } = makeSource(count);
  const source = await createLocalEndpoint(root);
  const targetRoot = dirs.make();
  const target = await createLocalEndpoint(targetRoot);
  const scanned = (await source.scan()).entries;
  await target.mkdirs(scanned.filter((e) => e.kind === 'dir'));
  return { root, contents, source, targetRoot, target, entries: scanned.filter((e) => e.kind === 'file') };
}

/** Copies `entries` from `source` to `target` the way the controller does, by the chosen route. */
async function copy(
  source: LocalEndpoint,
  target: LocalEndpoint,
  requests: readonly WriteRequest[],
  route: Route,
  options: { signal?: AbortSignal; onFileDone?: (path: string) => void } = {},
): Promise<Recorded> {
  const recorded: Recorded = { done: [], problems: [], bytes: 0 };
  const reads = source.readFiles(requests.map((r) => ({ path: r.entry.path, entry: r.entry, offset: r.offset })));
  // Wrapped, the files come as streams (as through a bandwidth limit): committed on the thread, not copied.
  const incoming: AsyncIterable<IncomingFile> =
    route === 'direct' ? reads : { [Symbol.asyncIterator]: () => reads[Symbol.asyncIterator]() };
  await target.writeFiles(requests, incoming, {
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    onBytes: (n) => (recorded.bytes += n),
    onFileDone: (request) => {
      recorded.done.push(request.path);
      options.onFileDone?.(request.path);
    },
    onProblem: (p) => recorded.problems.push(p),
  });
  return recorded;
}

function requestsOf(entries: readonly Entry[], replaces = new Map<string, Entry>()): WriteRequest[] {
  return entries.map((entry) => {
    const replaced = replaces.get(entry.path);
    return { path: entry.path, entry, offset: 0, ...(replaced === undefined ? {} : { replaces: replaced }) };
  });
}

/** Every file below `root` (engine temporaries included), by relative path. */
function filesBelow(root: string): string[] {
  return (readdirSync(root, { recursive: true }) as string[])
    .filter((path) => statSync(join(root, path)).isFile())
    .sort();
}

describe.each<Route>(['streamed', 'direct'])('small files on the writer thread, %s', (route) => {
  const counted = (): number => (route === 'direct' ? smallWriterCounts().copies : smallWriterCounts().commits);

  it('writes each file exactly: content, mtime, executable bit; reports each; leaves no temporary', async () => {
    const { contents, source, target, targetRoot, entries } = await setup();
    const before = counted();
    const recorded = await copy(source, target, requestsOf(entries), route);
    expect(counted() - before).toBe(COUNT);
    expect(recorded.problems).toEqual([]);
    expect(recorded.done.sort()).toEqual([...contents.keys()].sort());
    expect(recorded.bytes).toBe([...contents.values()].reduce((sum, c) => sum + c.length, 0));
    expect(filesBelow(targetRoot)).toEqual([...contents.keys()].sort());
    const written = new Map((await target.scan()).entries.map((e) => [e.path, e]));
    for (const entry of entries) {
      expect(readFileSync(join(targetRoot, entry.path)).equals(contents.get(entry.path) as Buffer)).toBe(true);
      expect(written.get(entry.path)).toEqual(entry);
    }
    await Promise.all([source.close(), target.close()]);
  });

  it('never overwrites a file created at the target since the scan, and says why, as the main thread does', async () => {
    const { source, target, targetRoot, entries } = await setup();
    writeFile(targetRoot, 'd1/f5.bin', 'written here meanwhile');
    const recorded = await copy(source, target, requestsOf(entries), route);
    expect(recorded.problems).toEqual([
      {
        path: 'd1/f5.bin',
        message:
          'not overwritten: it changed here since the scan (something was created at this path); sync again to reconcile',
      },
    ]);
    expect(readFileSync(join(targetRoot, 'd1/f5.bin'), 'utf8')).toBe('written here meanwhile');
    expect(recorded.done).toHaveLength(COUNT - 1);
    expect(filesBelow(targetRoot).filter((path) => isEngineTemporary(path))).toEqual([]);
    await Promise.all([source.close(), target.close()]);
  });

  it('reports a source file gone since the scan in the same words by either route', async () => {
    const { root, source, target, targetRoot, entries } = await setup();
    rmSync(join(root, 'd2/f6.bin'));
    const recorded = await copy(source, target, requestsOf(entries), route);
    expect(recorded.problems).toEqual([
      {
        path: 'd2/f6.bin',
        message:
          'transfer interrupted (cannot read d2/f6.bin: it vanished since the scan); the next sync sends it again',
      },
    ]);
    expect(existsSync(join(targetRoot, 'd2/f6.bin'))).toBe(false);
    expect(recorded.done).toHaveLength(COUNT - 1);
    await Promise.all([source.close(), target.close()]);
  });

  it('fails the transfer with the error of a report that could not be recorded, without losing the others', async () => {
    const { source, target, entries } = await setup();
    const reported: string[] = [];
    const outcome = await copy(source, target, requestsOf(entries), route, {
      onFileDone: (path) => {
        reported.push(path);
        if (reported.length === 5 || reported.length === 6) throw new Error(`report ${reported.length} failed`);
      },
    }).then(
      () => 'finished',
      (error: unknown) => (error as Error).message,
    );
    expect(outcome).toBe('report 5 failed');
    // Everything out on the thread was reported, each file once, before the transfer ended: nothing after.
    const atEnd = reported.length;
    expect(atEnd).toBeGreaterThanOrEqual(6);
    expect(new Set(reported).size).toBe(atEnd);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(reported).toHaveLength(atEnd);
    await Promise.all([source.close(), target.close()]);
  });

  it('when cancelled, reports exactly the files it put in place, none it did not', async () => {
    // More files than may be out on the thread at once, so the cancel comes while some are still to send.
    const count = 700;
    const { source, target, targetRoot, entries } = await setup(count);
    const cancel = new AbortController();
    const reported: string[] = [];
    const outcome = await copy(source, target, requestsOf(entries), route, {
      signal: cancel.signal,
      onFileDone: (path) => {
        reported.push(path);
        if (reported.length === 10) cancel.abort();
      },
    }).then(
      () => 'finished',
      (error: unknown) => (error as { code?: string }).code,
    );
    expect(outcome).toBe('cancelled');
    expect(reported.length).toBeGreaterThanOrEqual(10);
    expect(reported.length).toBeLessThan(count);
    // Work already handed to the thread finishes and is reported: what is on disk is what was reported.
    const inPlace = filesBelow(targetRoot).filter((path) => !isEngineTemporary(path));
    expect(inPlace).toEqual(reported.sort());
    await Promise.all([source.close(), target.close()]);
  });
});
