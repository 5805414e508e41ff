import { createHash, randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Transform } from 'node:stream';
import tar from 'tar-stream';
import type { Entry } from '../../core/entry.js';
import { baseName, invalidPathReason, parentOf } from '../../core/entry.js';
import { partialPathFor, STAGING_PREFIX } from '../../core/temporaries.js';
import { TetherError } from '../../errors.js';
import type { IncomingFile, WriteHooks, WriteRequest } from '../endpoint.js';
import type { PodShell } from './podShell.js';
import type { ExecResult } from './execClient.js';
import { argBatches, commandError, dotted, nulRecords } from './podShell.js';
import { expectedState, mtimeSeconds } from './remoteTreeOps.js';

/** Files at least this large go one by one into a partial file (resumable); smaller ones travel as tar batches. */
export const LARGE_UPLOAD_BYTES = 8 * 1024 * 1024;

/** Exact size of a ustar archive of entries with short names: header + padded content each, two zero blocks. */
export function tarSize(sizes: readonly number[]): number {
  let total = 1024;
  for (const size of sizes) total += 512 + Math.ceil(size / 512) * 512;
  return total;
}

const stateFn =
  'state() { if [ -L "$1" ]; then echo link; elif [ -d "$1" ]; then echo dir; elif [ -f "$1" ]; then ' +
  'stat -c "file|%s|%Y" "$1"; elif [ -e "$1" ]; then echo other; else echo none; fi; }; ';

/** Unpacks exactly N bytes of tar into a fresh staging folder (length-framed: works under v4 too). */
const extractScript = 'mkdir -- "$1" && head -c "$2" | tar -xf - -C "$1"';

/**
 * Moves checked files into place: for each (source, target, expected state, mtime, chmod, size, sha256) the
 * target must still be what the scan saw; the source gets its mtime and mode, then `mv -f` (atomic on one
 * filesystem). A size or sha256 other than "-" is checked first; an mtime or mode of "-" is left as it is
 * (tar already set both from the archive). New files are checked with shell builtins only: a commit costs one
 * process (`mv`) per file, not six, which is what bounded the speed of many small files.
 */
const commitScript =
  stateFn +
  'while [ $# -gt 0 ]; do src=$1; dst=$2; e=$3; t=$4; x=$5; n=$6; h=$7; shift 7; ' +
  'if [ "$n" != - ] && [ "$(stat -c %s "$src" 2>/dev/null)" != "$n" ]; then printf "size %s\\0" "$dst"; continue; fi; ' +
  'if [ "$h" != - ]; then got=$(sha256sum "$src" | cut -c1-64); if [ "$got" != "$h" ]; then rm -f -- "$src"; printf "hash %s\\0" "$dst"; continue; fi; fi; ' +
  'if [ "$e" = none ]; then if [ -e "$dst" ] || [ -L "$dst" ]; then printf "changed %s\\0" "$dst"; continue; fi; ' +
  'elif [ "$(state "$dst")" != "$e" ]; then printf "changed %s\\0" "$dst"; continue; fi; ' +
  'if { [ "$x" = - ] || chmod "$x" -- "$src" >&2; } && { [ "$t" = - ] || touch -c -d "@$t" -- "$src" >&2; } && ' +
  'mv -f -- "$src" "$dst" >&2; then printf "ok %s\\0" "$dst"; else printf "fail %s\\0" "$dst"; fi; done';

/**
 * The commit of a whole tar batch in one exec, whatever its size: the list travels NUL-delimited on stdin
 * (length-framed by `head -c`, so v4 works), and `xargs -0` hands it to `batchCommitScript` as argv, never
 * through a shell string. Each record is self-contained, so wherever xargs splits the list, no record is cut:
 * - `x:<staged name>`: a grouped file that must not land (its source failed); removed first;
 * - `g:<group>:./folder`: the new files of one target folder (see StagingLayout), moved by one `mv`;
 * - `index:expected:sha256:./path`: a file checked and moved on its own (the path last: only it may hold a
 *   colon).
 * Before this, the list travelled in the exec URL, some 80 files per exec; then each file cost a `mv`
 * process, some 8 ms each in a lab pod on a 2-core machine: most of the time of a push of many small files.
 */
const batchCommitDefs =
  stateFn +
  // grp: a name whose target appeared since the scan is removed from the group ("changed"; checked with builtins,
  // one `rm` each, rare); the rest goes by one `mv` (per glob that matches); what a failed `mv` left is "fail".
  // No list is built in the shell: `set -- "$@" "$f"` per file costs quadratic time in the group's size.
  'grp() { s=$1; dir=$2; for f in "$s"/* "$s"/.[!.]* "$s"/..?*; do { [ -e "$f" ] || [ -L "$f" ]; } || continue; ' +
  't="$dir/${f##*/}"; if [ -e "$t" ] || [ -L "$t" ]; then rm -f -- "$f"; printf "changed %s\\0" "$t"; fi; done; ' +
  'mvg "$dir" "$s"/*; mvg "$dir" "$s"/.[!.]*; mvg "$dir" "$s"/..?*; ' +
  'for f in "$s"/* "$s"/.[!.]* "$s"/..?*; do if [ -e "$f" ] || [ -L "$f" ]; then printf "fail %s\\0" "$dir/${f##*/}"; fi; done; ' +
  'printf "group %s\\0" "$dir"; }; ' +
  // A glob that matched nothing stays as written, and names nothing that exists: then there is nothing to move.
  'mvg() { to=$1; shift; { [ -e "$1" ] || [ -L "$1" ]; } || return 0; mv -f -- "$@" "$to/" >&2; }; ';

/** The records in "$@", the staging folder in `$d`. */
const batchCommitLoop =
  'for r in "$@"; do case $r in x:*) rm -f -- "$d/${r#x:}"; continue;; ' +
  'g:*) r=${r#g:}; grp "$d/n/${r%%:*}" "${r#*:}"; continue;; esac; ' +
  'i=${r%%:*}; r=${r#*:}; e=${r%%:*}; r=${r#*:}; h=${r%%:*}; dst=${r#*:}; src=$d/$i; ' +
  'if [ "$h" != - ]; then got=$(sha256sum "$src" | cut -c1-64); if [ "$got" != "$h" ]; then rm -f -- "$src"; printf "hash %s\\0" "$dst"; continue; fi; fi; ' +
  'if [ "$e" = none ]; then if [ -e "$dst" ] || [ -L "$dst" ]; then printf "changed %s\\0" "$dst"; continue; fi; ' +
  'elif [ "$(state "$dst")" != "$e" ]; then printf "changed %s\\0" "$dst"; continue; fi; ' +
  'if mv -f -- "$src" "$dst" >&2; then printf "ok %s\\0" "$dst"; else printf "fail %s\\0" "$dst"; fi; done';

const batchCommitScript = `${batchCommitDefs}d=$1; shift; ${batchCommitLoop}`;

/**
 * A small tar batch unpacked and committed in one exec (see `uploadBatch`): the archive on stdin, framed by its
 * length; the staging folder, that length and the commit records as arguments. A failed unpack exits 97 with
 * tar's error, before anything is committed.
 */
const extractAndCommitScript =
  batchCommitDefs +
  'd=$1; n=$2; shift 2; if ! { mkdir -- "$d" && head -c "$n" | tar -xf - -C "$d"; }; then rm -rf -- "$d"; exit 97; fi; ' +
  `${batchCommitLoop}; s=$?; rm -rf -- "$d"; exit $s`;

/** A tar batch at most this large is built in memory and unpacked and committed in one exec, not two. */
const ONE_EXEC_BATCH_BYTES = 1024 * 1024;
/** …when its commit records, which travel in the exec URL, take at most this many bytes there. */
const ONE_EXEC_RECORD_BYTES = 2000;

const batchCommitRunner = 'head -c "$1" | xargs -0 sh -c "$3" sh "$2"; s=$?; rm -rf -- "$2"; exit $s';

interface Commit {
  readonly request: WriteRequest;
  readonly source: string;
  readonly size?: number;
  readonly sha256?: string;
  /** The source already has the entry's mtime and mode (extracted by tar from a header carrying both). */
  readonly metadataApplied?: boolean;
}

async function commit(shell: PodShell, all: readonly Commit[], hooks: WriteHooks): Promise<void> {
  for (const commits of argBatches(all, (c) => [c.source, c.request.path, '', '', '', '', c.sha256 ?? '-']))
    await commitBatch(shell, commits, hooks);
}

async function commitBatch(shell: PodShell, commits: readonly Commit[], hooks: WriteHooks): Promise<void> {
  const args = commits.flatMap((c) => [
    c.source,
    dotted(c.request.path),
    expectedState(c.request.replaces),
    c.metadataApplied === true ? '-' : mtimeSeconds(c.request.entry),
    c.metadataApplied === true ? '-' : c.request.entry.executable ? 'a+x' : 'a-x',
    c.size === undefined ? '-' : String(c.size),
    c.sha256 ?? '-',
  ]);
  reportCommits(shell, commits, await shell.run(commitScript, args), hooks);
}

/**
 * Where each file of a tar batch waits in its staging folder. A new file (nothing at its target at the scan)
 * goes to `n/<group>/<its name>`, one group per target folder, so that a group moves into place with one `mv`;
 * a file that replaces another goes to `<index>` and is checked and moved on its own. So does a new file whose
 * name a plain ustar header cannot hold (not ASCII, or over 100 bytes): tar-stream would add a PAX header,
 * and the archive's length, which frames it on stdin, must be known before it is sent.
 */
class StagingLayout {
  /** Group number by target folder ('' is the root), in order of first use. */
  readonly groups = new Map<string, number>();
  readonly names: string[];

  constructor(batch: readonly WriteRequest[]) {
    this.names = batch.map((request, i) => {
      const name = baseName(request.path);
      if (request.replaces !== undefined || !plainUstarName(name)) return String(i);
      const folder = parentOf(request.path);
      let group = this.groups.get(folder);
      if (group === undefined) {
        group = this.groups.size;
        this.groups.set(folder, group);
      }
      return `n/${group}/${name}`;
    });
  }

  /** Whether the file at `index` waits in a group (else under its index). */
  grouped(index: number): boolean {
    return this.names[index]?.startsWith('n/') === true;
  }

  /** Folders the archive must hold before the file at `index` that it does not hold yet, in order. */
  foldersBefore(index: number, emitted: Set<string>): string[] {
    const name = this.names[index] ?? '';
    if (!this.grouped(index)) return [];
    const wanted = ['n/', name.slice(0, name.indexOf('/', 2) + 1)].filter((folder) => !emitted.has(folder));
    for (const folder of wanted) emitted.add(folder);
    return wanted;
  }

  /** Folder entries in the archive: `n/` and one per group. */
  get folderCount(): number {
    return this.groups.size === 0 ? 0 : this.groups.size + 1;
  }
}

function plainUstarName(name: string): boolean {
  return name.length <= 100 && Buffer.byteLength(name) === name.length;
}

type StagedCommit = { readonly request: WriteRequest; readonly index: number };

/** The commit records of a tar batch extracted into staging (see `batchCommitScript`). */
function commitRecords(layout: StagingLayout, commits: readonly StagedCommit[]): string[] {
  // A grouped file that must not go into place (its source failed, or its hash did not match) is removed
  // first: its group's `mv` would take it along. Rare, so one `rm` each is fine.
  const committing = new Set(commits.map((c) => c.index));
  const records = layout.names.flatMap((name, index) =>
    layout.grouped(index) && !committing.has(index) ? [`x:${name}`] : [],
  );
  const groups = new Set<number>();
  for (const c of commits) {
    if (!layout.grouped(c.index)) {
      records.push(`${c.index}:${expectedState(c.request.replaces)}:-:${dotted(c.request.path)}`);
      continue;
    }
    const folder = parentOf(c.request.path);
    const group = layout.groups.get(folder) ?? -1;
    if (groups.has(group)) continue;
    groups.add(group);
    records.push(`g:${group}:${folder === '' ? '.' : dotted(folder)}`);
  }
  return records;
}

/** Commits a tar batch extracted into `staging` (see StagingLayout) and removes `staging`; one exec. */
async function commitStaged(
  shell: PodShell,
  staging: string,
  layout: StagingLayout,
  commits: readonly StagedCommit[],
  hooks: WriteHooks,
): Promise<void> {
  const list = Buffer.from(
    commitRecords(layout, commits)
      .map((record) => `${record}\0`)
      .join(''),
  );
  const result = await shell.run(batchCommitRunner, [String(list.length), staging, batchCommitScript], {
    stdin: list,
  });
  reportCommits(shell, commits, result, hooks, (index) => layout.grouped(index));
}

function reportCommits(
  shell: PodShell,
  commits: readonly { readonly request: WriteRequest; readonly index?: number }[],
  result: ExecResult,
  hooks: WriteHooks,
  grouped: (index: number) => boolean = () => false,
): void {
  const codes = new Map<string, string>();
  /** Target folders whose group of new files was moved: a member with no code of its own went into place. */
  const movedGroups = new Set<string>();
  for (const record of nulRecords(result.stdout)) {
    const space = record.indexOf(' ');
    const code = record.slice(0, space);
    const path = record.slice(space + 1);
    const relative = path === '.' ? '' : path.slice(2);
    if (code === 'group') movedGroups.add(relative);
    else codes.set(relative, code);
  }
  for (const c of commits) {
    const code =
      codes.get(c.request.path) ??
      (c.index !== undefined && grouped(c.index) && movedGroups.has(parentOf(c.request.path)) ? 'ok' : undefined);
    if (code === 'ok') {
      hooks.onFileDone?.(c.request, { ...c.request.entry, mtimeMs: Math.floor(c.request.entry.mtimeMs / 1000) * 1000 });
      continue;
    }
    if (code === undefined && result.exitCode !== 0)
      throw commandError(shell.displayName, `write ${c.request.path}`, result);
    if (code === undefined && /no space left/i.test(result.stderr))
      throw commandError(shell.displayName, `write ${c.request.path}`, result);
    hooks.onProblem?.({
      path: c.request.path,
      message:
        code === 'changed'
          ? 'not written: the file changed on the remote since the scan'
          : code === 'size'
            ? 'not written: the uploaded size does not match'
            : code === 'hash'
              ? 'not written: the uploaded content does not match the expected sha256'
              : `could not move the file into place: ${result.stderr.trim().slice(0, 200)}`,
    });
  }
}

/**
 * Rethrows a failed upload as no-space, with the bytes needed and the bytes free on the volume (from `df`),
 * when the volume says so or is too full for it (BusyBox reports a full disk as a bare "I/O error").
 */
async function withSpaceDetail(shell: PodShell, needed: number, error: unknown, cleanup?: string): Promise<never> {
  if (!(error instanceof TetherError) || (error.code !== 'no-space' && error.code !== 'transfer-failed')) throw error;
  if (cleanup !== undefined && error.code === 'no-space')
    await shell.run('rm -f -- "$1"', [cleanup]).catch(() => undefined);
  const df = await shell.run('df -P -k . | tail -n 1', []).catch(() => undefined);
  const availableKiB = Number(df?.stdout.toString().trim().split(/\s+/)[3]);
  const known = Number.isFinite(availableKiB);
  if (error.code !== 'no-space' && (!known || availableKiB * 1024 >= needed)) throw error;
  if (cleanup !== undefined && error.code !== 'no-space')
    await shell.run('rm -f -- "$1"', [cleanup]).catch(() => undefined);
  const after =
    cleanup === undefined ? undefined : await shell.run('df -P -k . | tail -n 1', []).catch(() => undefined);
  const freeKiB = Number((after ?? df)?.stdout.toString().trim().split(/\s+/)[3]);
  throw new TetherError(
    'no-space',
    `no space left on ${shell.displayName}: the transfer needs ${needed} bytes, ${Number.isFinite(freeKiB) ? `${freeKiB * 1024} bytes free` : 'free space unknown'}; free space on the volume or grow the claim`,
    { cause: error },
  );
}

/** Passes bytes through, counting them and hashing them when asked. */
function meter(onBytes: ((n: number) => void) | undefined, hash: ReturnType<typeof createHash> | undefined): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash?.update(chunk);
      onBytes?.(chunk.length);
      callback(null, chunk);
    },
  });
}

/** One tar batch of small files: stream, extract into staging, commit what arrived intact. */
async function uploadBatch(
  shell: PodShell,
  batch: readonly WriteRequest[],
  next: () => Promise<IncomingFile | undefined>,
  hooks: WriteHooks,
): Promise<void> {
  const staging = `${STAGING_PREFIX}${randomBytes(8).toString('hex')}`;
  const layout = new StagingLayout(batch);
  const folders = new Set<string>();
  const pack = tar.pack();
  // Destroyed with the exec's error on a cut, possibly after the exec stopped reading it: never an uncaught 'error'.
  pack.on('error', () => undefined);
  const failed = new Set<number>();
  const hashes = new Map<number, string>();
  // Set when the extracting exec failed (a cut stream): the archive has no reader any more, so stop.
  const stream: { broken?: Error } = {};
  /** Throws the extraction's failure once there is one (a function, so the check is never narrowed away). */
  const throwIfBroken = (): void => {
    if (stream.broken !== undefined) throw stream.broken;
  };
  const produce = async (): Promise<void> => {
    for (let i = 0; i < batch.length; i++) {
      const request = batch[i] as WriteRequest;
      const incoming = await next();
      if (incoming?.path !== request.path)
        throw new TetherError('internal', `upload stream out of order at ${request.path}`);
      if (stream.broken !== undefined) {
        incoming.stream.destroy();
        throw stream.broken;
      }
      const size = request.entry.size;
      const hash = request.verifySha256 === undefined ? undefined : createHash('sha256');
      for (const folder of layout.foldersBefore(i, folders))
        await new Promise<void>((resolve, reject) =>
          pack.entry({ name: folder, type: 'directory', mode: 0o700 }, (error) => (error ? reject(error) : resolve())),
        );
      const header = {
        name: layout.names[i] ?? String(i),
        size,
        mtime: new Date(Math.floor(request.entry.mtimeMs / 1000) * 1000),
        mode: request.entry.executable ? 0o755 : 0o644,
      };
      const sink = pack.entry(header);
      let sent = 0;
      try {
        // Pumped by hand (not pipeline): a failing source must not destroy the archive's entry.
        for await (const chunk of incoming.stream as AsyncIterable<Buffer>) {
          const part = sent + chunk.length > size ? chunk.subarray(0, size - sent) : chunk;
          hash?.update(part);
          sent += part.length;
          hooks.onBytes?.(part.length);
          if (!sink.write(part)) await drained(sink, pack);
          throwIfBroken();
        }
        if (sent !== size) throw new Error(`cannot read ${request.path}: it has ${sent} bytes, not ${size}`);
      } catch (error) {
        incoming.stream.destroy();
        throwIfBroken();
        // The archive's size is fixed: pad with zeros, and never commit this one.
        failed.add(i);
        hooks.onProblem?.({ path: request.path, message: error instanceof Error ? error.message : String(error) });
        if (sent < size) sink.write(Buffer.alloc(size - sent));
        await new Promise<void>((resolve) => sink.end(resolve));
        continue;
      }
      await new Promise<void>((resolve) => sink.end(resolve));
      if (hash !== undefined) hashes.set(i, hash.digest('hex'));
    }
    pack.finalize();
  };
  /** The files to commit: those read whole (tar exited 0, so each has its full size, mtime and mode) and checked. */
  const checkedCommits = (): StagedCommit[] => {
    const commits: StagedCommit[] = [];
    batch.forEach((request, i) => {
      if (failed.has(i)) return;
      const got = hashes.get(i);
      if (request.verifySha256 !== undefined && got !== request.verifySha256) {
        hooks.onProblem?.({
          path: request.path,
          message: 'not written: the content read does not match the expected sha256',
        });
        return;
      }
      commits.push({ request, index: i });
    });
    return commits;
  };
  const total = tarSize(batch.map((r) => r.entry.size)) + 512 * layout.folderCount;
  const signal = hooks.signal === undefined ? {} : { signal: hooks.signal };
  let committed = false;
  try {
    if (total <= ONE_EXEC_BATCH_BYTES) {
      // Small: the archive is built in memory first, so the commit is known before the exec starts, and one
      // exec unpacks and commits (each exec costs tens of milliseconds: this is most of a live sync's latency).
      const chunks: Buffer[] = [];
      pack.on('data', (chunk: unknown) => void chunks.push(chunk as Buffer));
      const ended = new Promise<void>((resolve) => pack.once('end', resolve));
      await produce().catch((error: unknown) => {
        pack.destroy(error instanceof Error ? error : new Error(String(error)));
        throw error;
      });
      await ended;
      const archive = Buffer.concat(chunks);
      if (archive.length !== total)
        throw new TetherError('internal', `a tar batch of ${archive.length} bytes, not the ${total} expected`);
      const commits = checkedCommits();
      const records = commitRecords(layout, commits);
      const recordBytes = records.reduce((sum, record) => sum + encodeURIComponent(record).length + 9, 0);
      if (recordBytes <= ONE_EXEC_RECORD_BYTES) {
        const result = await shell.run(extractAndCommitScript, [staging, String(total), ...records], {
          stdin: archive,
          ...signal,
        });
        if (result.exitCode === 97) throw commandError(shell.displayName, 'upload files', result);
        committed = true;
        reportCommits(shell, commits, result, hooks, (index) => layout.grouped(index));
        return;
      }
      const extracted = await shell.run(extractScript, [staging, String(total)], { stdin: archive, ...signal });
      if (extracted.exitCode !== 0) throw commandError(shell.displayName, 'upload files', extracted);
      await commitStaged(shell, staging, layout, commits, hooks);
      committed = true;
      return;
    }
    const producing = produce().catch((error: unknown) => {
      pack.destroy(error instanceof Error ? error : new Error(String(error)));
      throw error;
    });
    const extracting = shell
      .run(extractScript, [staging, String(total)], { stdin: pack as unknown as Readable, ...signal })
      .catch((error: unknown) => {
        stream.broken = error instanceof Error ? error : new Error(String(error));
        pack.destroy(stream.broken);
        throw error;
      });
    const [, extracted] = await Promise.all([producing, extracting]);
    if (extracted.exitCode !== 0) throw commandError(shell.displayName, 'upload files', extracted);
    await commitStaged(shell, staging, layout, checkedCommits(), hooks);
    committed = true;
  } finally {
    if (!committed) await shell.run('rm -rf -- "$1"', [staging]).catch(() => undefined);
  }
}

/** Resolves when a tar entry can take more, or when the archive itself was destroyed (then nothing drains). */
function drained(sink: NodeJS.EventEmitter, pack: NodeJS.EventEmitter): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      sink.off('drain', done);
      pack.off('close', done);
      resolve();
    };
    sink.once('drain', done);
    pack.once('close', done);
  });
}

/** Appends exactly `$2` bytes of stdin to the partial file `$1` at `$3`: with dd when `$4` is dd (see ProbeResult). */
const appendScript =
  'p=$1; n=$2; off=$3; if [ "$off" = 0 ]; then : > "$p" || exit 1; fi; ' +
  'sz=$(stat -c %s "$p") || exit 1; if [ "$sz" != "$off" ]; then echo "tether: the partial file has $sz bytes, not $off" >&2; exit 12; fi; ' +
  'if [ "$4" = dd ]; then dd bs=65536 iflag=fullblock,count_bytes count="$n" status=none >> "$p"; else head -c "$n" >> "$p"; fi';

/** One large file: appended to its partial file from `offset`, checked, then renamed into place. */
async function uploadLarge(
  shell: PodShell,
  request: WriteRequest,
  incoming: IncomingFile,
  hooks: WriteHooks,
  options: UploadOptions,
): Promise<void> {
  const partial = dotted(partialPathFor(request.path, request.entry));
  const remaining = request.entry.size - request.offset;
  const abort = new AbortController();
  const onAbort = (): void => abort.abort();
  hooks.signal?.addEventListener('abort', onAbort);
  let sourceError: Error | undefined;
  const source = incoming.stream.pipe(meter(hooks.onBytes, undefined));
  incoming.stream.once('error', (error: Error) => {
    sourceError = error;
    source.destroy(error);
    abort.abort();
  });
  try {
    const copier = options.ddCountBytes ? 'dd' : 'head';
    const result = await shell.run(appendScript, [partial, String(remaining), String(request.offset), copier], {
      stdin: source,
      signal: abort.signal,
      idleTimeoutMs: 120_000,
    });
    if (result.exitCode !== 0) throw commandError(shell.displayName, `upload ${request.path}`, result);
  } catch (error) {
    // The exec is over (cut, refused, cancelled): the local file must not stay open behind it.
    incoming.stream.destroy();
    source.destroy();
    if (sourceError !== undefined && hooks.signal?.aborted !== true) {
      hooks.onProblem?.({
        path: request.path,
        message: sourceError.message,
      });
      return;
    }
    throw error;
  } finally {
    hooks.signal?.removeEventListener('abort', onAbort);
  }
  await commit(
    shell,
    [
      {
        request,
        source: partial,
        size: request.entry.size,
        ...(request.verifySha256 === undefined ? {} : { sha256: request.verifySha256 }),
      },
    ],
    hooks,
  );
}

/** `Endpoint.writeFiles` for a pod: small files in tar batches, large ones through resumable partial files. */
/** What the pod offers, from its probe. */
export interface UploadOptions {
  /** Large files are appended with dd instead of head -c (see ProbeResult.ddCountBytes). */
  readonly ddCountBytes?: boolean;
}

export async function writeRemoteFiles(
  shell: PodShell,
  requests: readonly WriteRequest[],
  incoming: AsyncIterable<IncomingFile>,
  hooks: WriteHooks = {},
  options: UploadOptions = {},
): Promise<void> {
  const iterator = incoming[Symbol.asyncIterator]();
  const next = async (): Promise<IncomingFile | undefined> => {
    const item = await iterator.next();
    return item.done === true ? undefined : item.value;
  };
  try {
    await writeAll(shell, requests, next, hooks, options);
  } finally {
    // Lets the source close what it still holds open when this ends early (a cut stream, a full volume).
    await iterator.return?.();
  }
}

async function writeAll(
  shell: PodShell,
  requests: readonly WriteRequest[],
  next: () => Promise<IncomingFile | undefined>,
  hooks: WriteHooks,
  options: UploadOptions,
): Promise<void> {
  let small: WriteRequest[] = [];
  const flush = async (): Promise<void> => {
    const needed = small.reduce((sum, r) => sum + r.entry.size, 0);
    if (small.length > 0)
      await uploadBatch(shell, small, next, hooks).catch((error: unknown) => withSpaceDetail(shell, needed, error));
    small = [];
  };
  // Requests with invalid paths are refused up front, but their streams must still be consumed in order.
  for (const request of requests) {
    const reason = invalidPathReason(request.path);
    if (reason !== undefined || request.entry.kind !== 'file') {
      await flush();
      const item = await next();
      item?.stream.destroy();
      hooks.onProblem?.({ path: request.path, message: `refused: ${reason ?? 'not a file'}` });
      continue;
    }
    if (request.entry.size >= LARGE_UPLOAD_BYTES || request.offset > 0) {
      await flush();
      const item = await next();
      if (item?.path !== request.path)
        throw new TetherError('internal', `upload stream out of order at ${request.path}`);
      await uploadLarge(shell, request, item, hooks, options).catch((error: unknown) =>
        withSpaceDetail(
          shell,
          request.entry.size - request.offset,
          error,
          dotted(partialPathFor(request.path, request.entry)),
        ),
      );
      continue;
    }
    small.push(request);
  }
  await flush();
}

/** Bytes of the partial file of exactly this version (0 when none). */
export async function remotePartialOffset(shell: PodShell, path: string, entry: Entry): Promise<number> {
  const result = await shell.runRead('if [ -f "$1" ]; then stat -c %s "$1"; else echo 0; fi', [
    dotted(partialPathFor(path, entry)),
  ]);
  if (result.exitCode !== 0) return 0;
  const size = Number(result.stdout.toString().trim());
  return Number.isSafeInteger(size) && size >= 0 && size <= entry.size ? size : 0;
}
