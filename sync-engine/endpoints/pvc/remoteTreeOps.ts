import pLimit from 'p-limit';
import type { Entry, Problem } from '../../core/entry.js';
import { baseName, invalidPathReason } from '../../core/entry.js';
import { isEngineTemporary } from '../../core/temporaries.js';
import { TetherError } from '../../errors.js';
import type { PodShell } from './podShell.js';
import { argBatches, commandError, dotted, nulRecords } from './podShell.js';

/**
 * Tree operations as batched shell loops over argv. Each item's current state is described by `state` in the
 * pod (`none`, `dir`, `link`, `other` or `file|SIZE|MTIME_SECONDS`) and compared with what the scan saw, so a
 * file changed since then is left alone and reported. Each loop prints one NUL-terminated `CODE PATH` result
 * per item.
 */
const stateFn =
  'state() { if [ -L "$1" ]; then echo link; elif [ -d "$1" ]; then echo dir; elif [ -f "$1" ]; then ' +
  'stat -c "file|%s|%Y" "$1"; elif [ -e "$1" ]; then echo other; else echo none; fi; }; ';

/** The state string a scanned entry has in the pod (undefined expected: nothing there). */
export function expectedState(entry: Entry | undefined): string {
  if (entry === undefined) return 'none';
  if (entry.kind === 'dir') return 'dir';
  if (entry.kind === 'symlink') return 'link';
  return `file|${entry.size}|${Math.floor(entry.mtimeMs / 1000)}`;
}

/** Seconds for `touch -d @S` (mtime precision is a second on both userlands' listings). */
export function mtimeSeconds(entry: Entry): string {
  return String(Math.floor(entry.mtimeMs / 1000));
}

const BATCH = 400;

function parseResults(stdout: Buffer): Map<string, string> {
  const results = new Map<string, string>();
  for (const record of nulRecords(stdout)) {
    const space = record.indexOf(' ');
    const path = record.slice(space + 1);
    results.set(path.startsWith('./') ? path.slice(2) : path, record.slice(0, space));
  }
  return results;
}

async function inBatches<T>(items: readonly T[], run: (batch: readonly T[]) => Promise<void>): Promise<void> {
  for (const batch of argBatches(items, argsOf, 6000, BATCH)) await run(batch);
}

/** The arguments an item costs (its path and a few short fields). */
function argsOf(item: unknown): readonly string[] {
  if (typeof item === 'string') return [item, ''];
  const path = (item as { path?: unknown }).path;
  return [typeof path === 'string' ? path : '', '', '', ''];
}

function checkPath(path: string, problems: Problem[]): boolean {
  const reason = invalidPathReason(path);
  if (reason !== undefined) problems.push({ path, message: `refused: ${reason}` });
  return reason === undefined;
}

const mkdirScript =
  stateFn +
  'for p in "$@"; do s=$(state "$p"); if [ "$s" = dir ]; then printf "ok %s\\0" "$p"; ' +
  'elif [ "$s" != none ]; then printf "exists %s\\0" "$p"; ' +
  'elif mkdir -- "$p" 2>&1 >&2; then printf "ok %s\\0" "$p"; else printf "fail %s\\0" "$p"; fi; done';

export async function remoteMkdirs(shell: PodShell, entries: readonly Entry[]): Promise<Problem[]> {
  const problems: Problem[] = [];
  const paths = entries.map((entry) => entry.path).filter((path) => checkPath(path, problems));
  await inBatches(paths, async (batch) => {
    const result = await shell.run(mkdirScript, batch.map(dotted));
    const results = parseResults(result.stdout);
    for (const path of batch) {
      const code = results.get(path);
      if (code === 'ok') continue;
      if (code === undefined && result.exitCode !== 0) throw commandError(shell.displayName, 'create folders', result);
      problems.push({
        path,
        message:
          code === 'exists'
            ? 'something that is not a folder is in the way'
            : `could not create the folder: ${result.stderr.trim().slice(0, 200)}`,
      });
    }
  });
  return problems;
}

const removeScript =
  stateFn +
  'while [ $# -gt 0 ]; do p=$1; e=$2; shift 2; s=$(state "$p"); ' +
  'if [ "$s" = none ]; then printf "ok %s\\0" "$p"; elif [ "$s" != "$e" ]; then printf "changed %s\\0" "$p"; ' +
  'elif [ "$s" = dir ]; then if rmdir -- "$p" 2>/dev/null; then printf "ok %s\\0" "$p"; else printf "notempty %s\\0" "$p"; fi; ' +
  'elif rm -f -- "$p" >&2; then printf "ok %s\\0" "$p"; else printf "fail %s\\0" "$p"; fi; done';

export async function remoteRemove(
  shell: PodShell,
  expected: readonly Entry[],
): Promise<{ removed: string[]; problems: Problem[] }> {
  const problems: Problem[] = [];
  const removed: string[] = [];
  const items = expected.filter((entry) => checkPath(entry.path, problems));
  await inBatches(items, async (batch) => {
    const result = await shell.run(
      removeScript,
      batch.flatMap((entry) => [dotted(entry.path), expectedState(entry)]),
    );
    const results = parseResults(result.stdout);
    for (const entry of batch) {
      const code = results.get(entry.path);
      if (code === 'ok') removed.push(entry.path);
      else if (code === undefined && result.exitCode !== 0) throw commandError(shell.displayName, 'delete', result);
      else
        problems.push({
          path: entry.path,
          message:
            code === 'changed'
              ? 'not deleted: it changed since the scan'
              : code === 'notempty'
                ? 'not deleted: the folder is not empty'
                : `could not delete: ${result.stderr.trim().slice(0, 200)}`,
        });
    }
  });
  return { removed, problems };
}

const renameScript =
  stateFn +
  's=$(state "$1"); if [ "$s" != "$3" ]; then echo "tether: changed since the scan" >&2; exit 10; fi; ' +
  'if [ "$(state "$2")" != none ]; then echo "tether: the target exists" >&2; exit 11; fi; mv -- "$1" "$2"';

export async function remoteRename(shell: PodShell, from: string, to: string, expected: Entry): Promise<void> {
  for (const path of [from, to]) {
    const reason = invalidPathReason(path);
    if (reason !== undefined) throw new TetherError('bad-argument', `cannot rename ${path}: ${reason}`);
  }
  const result = await shell.run(renameScript, [dotted(from), dotted(to), expectedState(expected)]);
  if (result.exitCode === 10)
    throw new TetherError('transfer-failed', `not renamed ${from}: it changed since the scan on ${shell.displayName}`);
  if (result.exitCode === 11)
    throw new TetherError('transfer-failed', `cannot rename ${from} to ${to} on ${shell.displayName}: ${to} exists`);
  if (result.exitCode !== 0) throw commandError(shell.displayName, `rename ${from}`, result);
}

const metadataScript =
  stateFn +
  'while [ $# -gt 0 ]; do p=$1; e=$2; t=$3; x=$4; shift 4; s=$(state "$p"); ' +
  'if [ "$s" != "$e" ]; then printf "changed %s\\0" "$p"; continue; fi; ' +
  'if chmod "$x" -- "$p" >&2 && touch -c -d "@$t" -- "$p" >&2; then printf "ok %s\\0" "$p"; else printf "fail %s\\0" "$p"; fi; done';

export async function remoteSetMetadata(
  shell: PodShell,
  items: readonly { path: string; entry: Entry; expected: Entry }[],
): Promise<Problem[]> {
  const problems: Problem[] = [];
  const valid = items.filter((item) => checkPath(item.path, problems));
  await inBatches(valid, async (batch) => {
    const result = await shell.run(
      metadataScript,
      batch.flatMap((item) => [
        dotted(item.path),
        expectedState(item.expected),
        mtimeSeconds(item.entry),
        item.entry.executable ? 'a+x' : 'a-x',
      ]),
    );
    const results = parseResults(result.stdout);
    for (const item of batch) {
      const code = results.get(item.path);
      if (code === 'ok') continue;
      if (code === undefined && result.exitCode !== 0) throw commandError(shell.displayName, 'set file times', result);
      problems.push({
        path: item.path,
        message:
          code === 'changed'
            ? 'not updated: it changed since the scan'
            : `could not set time or mode: ${result.stderr.trim().slice(0, 200)}`,
      });
    }
  });
  return problems;
}

export async function remoteRemoveTemporaries(shell: PodShell, paths: readonly string[]): Promise<void> {
  const safe = paths.filter((path) => invalidPathReason(path) === undefined && isEngineTemporary(baseName(path)));
  await inBatches(safe, async (batch) => {
    await shell.runOk('remove temporary files', 'rm -rf -- "$@"', batch.map(dotted));
  });
}

const hashScript = 'for p in "$@"; do if [ -f "$p" ] && [ ! -L "$p" ]; then sha256sum "$p"; fi; done';

/** sha256sum in the pod, in batches (`concurrency` execs at once); files that vanished become problems. */
export async function remoteHash(
  shell: PodShell,
  entries: readonly Entry[],
  signal?: AbortSignal,
  concurrency = 1,
): Promise<{ hashes: Map<string, string>; problems: Problem[] }> {
  const hashes = new Map<string, string>();
  const problems: Problem[] = [];
  const files = entries.filter((entry) => checkPath(entry.path, problems) && !entry.path.includes('\n'));
  const limit = pLimit(Math.max(1, concurrency));
  const batches = argBatches(files, argsOf, 6000, BATCH);
  await Promise.all(batches.map((batch) => limit(() => hashBatch(batch))));
  return { hashes, problems };

  async function hashBatch(batch: readonly Entry[]): Promise<void> {
    const result = await shell.runRead(
      hashScript,
      batch.map((entry) => dotted(entry.path)),
      {
        idleTimeoutMs: 600_000,
        ...(signal === undefined ? {} : { signal }),
      },
    );
    if (result.exitCode !== 0) throw commandError(shell.displayName, 'hash files', result);
    const seen = new Map<string, string>();
    for (const line of result.stdout.toString('utf8').split('\n')) {
      const match = /^([0-9a-f]{64}) [ *]\.\/(.*)$/.exec(line);
      if (match?.[1] !== undefined && match[2] !== undefined) seen.set(match[2], match[1]);
    }
    for (const entry of batch) {
      const hash = seen.get(entry.path);
      if (hash === undefined)
        problems.push({ path: entry.path, message: 'could not hash: it vanished or is unreadable' });
      else hashes.set(entry.path, hash);
    }
  }
}
