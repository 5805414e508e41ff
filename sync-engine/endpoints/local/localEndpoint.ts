import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, opendir, realpath, stat, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Entry, Problem } from '../../core/entry.js';
import { PARTIAL_PREFIX } from '../../core/temporaries.js';
import type { TetherErrorCode } from '../../errors.js';
import { TetherError } from '../../errors.js';
import type {
  Endpoint,
  EndpointCapabilities,
  IncomingFile,
  ReadOptions,
  ScanOptions,
  ScanResult,
  WriteHooks,
  WriteRequest,
} from '../endpoint.js';
import { partialOffsetOf, writeLocalFiles } from './atomicWrite.js';
import { errnoOf, messageOf } from './fsUtil.js';
import { findScan } from './findScan.js';
import { HashPool } from './hashPool.js';
import { SmallFileWriter } from './smallWriter.js';
import { listLocalFolder } from './listFolder.js';
import { RootedPaths } from './paths.js';
import { LocalReads } from './readFiles.js';
import { scanTree } from './scan.js';
import { makeDirs, removeEntries, removeTemporaryFiles, renameNoClobber, updateMetadata } from './treeOps.js';

export interface LocalEndpointOptions {
  /** How messages name this endpoint (the path as the user wrote it, or the file:// URL); default: the path. */
  readonly displayName?: string;
  /** Symbolic links are never followed; `skip` (the only policy so far) reports each as a problem. */
  readonly symlinks?: 'skip';
  /** Threads hashing files at once (default: the cores, at most 4). */
  readonly hashConcurrency?: number;
  /**
   * The error code when the root folder does not exist: `local-missing` (default: the pair's local folder) or
   * `listing-failed` (a file:// remote, where a missing folder usually means an unmounted share).
   */
  readonly missingCode?: TetherErrorCode;
  /**
   * How trees are listed: `auto` (default) lets GNU find walk the tree where it can (`findScan.ts`) and the worker
   * thread do the rest; `worker` always uses the worker thread (`scan.ts`).
   */
  readonly scanner?: 'auto' | 'worker';
}

/**
 * A folder on this machine: the pair's local folder, or a `file:///abs/path` remote such as a mounted share.
 * Implements every `Endpoint` contract; see the modules beside this one for each operation.
 */
export class LocalEndpoint implements Endpoint {
  readonly capabilities: EndpointCapabilities;
  private readonly paths: RootedPaths;
  private readonly hashes: HashPool;
  private readonly smallWriter: SmallFileWriter;

  constructor(
    /** The folder's canonical absolute path (symbolic links in it resolved once, at creation). */
    readonly root: string,
    readonly displayName: string,
    caseSensitive: boolean,
    private readonly missingCode: TetherErrorCode,
    hashConcurrency: number | undefined,
    private readonly scanner: 'auto' | 'worker' = 'auto',
  ) {
    this.capabilities = {
      mtimePrecisionMs: 1,
      caseSensitive,
      executableBit: true,
      remoteHash: true,
      resumableWrites: true,
      checksTargetOnWrite: true,
    };
    this.paths = new RootedPaths(root);
    this.hashes = new HashPool(this.paths, displayName, hashConcurrency);
    this.smallWriter = new SmallFileWriter(displayName);
  }

  async scan(options: ScanOptions = {}): Promise<ScanResult> {
    await checkRoot(this.root, this.displayName, this.missingCode);
    // A narrowed scan is a few paths: the worker's lstat of each is quicker than starting find.
    const fast =
      this.scanner === 'auto' && options.within === undefined
        ? await findScan(this.root, this.displayName, options)
        : undefined;
    return fast ?? scanTree(this.root, this.displayName, options);
  }

  listFolder(path: string, options?: ReadOptions): Promise<Entry[]> {
    return listLocalFolder(this.paths, this.displayName, path, options);
  }

  hash(
    entries: readonly Entry[],
    options: ReadOptions = {},
  ): Promise<{ hashes: Map<string, string>; problems: Problem[] }> {
    return this.hashes.hash(entries, options.signal);
  }

  readFiles(
    requests: readonly { path: string; entry: Entry; offset: number }[],
    options?: ReadOptions,
  ): AsyncIterable<IncomingFile> {
    return new LocalReads(this.paths, requests, options ?? {});
  }

  writeFiles(
    requests: readonly WriteRequest[],
    incoming: AsyncIterable<IncomingFile>,
    hooks?: WriteHooks,
  ): Promise<void> {
    const target = { paths: this.paths, displayName: this.displayName, smallWriter: this.smallWriter };
    return writeLocalFiles(target, requests, incoming, hooks);
  }

  partialOffset(path: string, entry: Entry): Promise<number> {
    return partialOffsetOf(this.paths, path, entry);
  }

  mkdirs(entries: readonly Entry[]): Promise<Problem[]> {
    return makeDirs(this.paths, entries);
  }

  remove(expected: readonly Entry[]): Promise<{ removed: string[]; problems: Problem[] }> {
    return removeEntries(this.paths, expected);
  }

  rename(from: string, to: string, expected: Entry): Promise<void> {
    return renameNoClobber(this.paths, from, to, expected);
  }

  setMetadata(items: readonly { path: string; entry: Entry; expected: Entry }[]): Promise<Problem[]> {
    return updateMetadata(this.paths, items);
  }

  removeTemporaries(paths: readonly string[]): Promise<void> {
    return removeTemporaryFiles(this.paths, paths);
  }

  async close(): Promise<void> {
    await Promise.all([this.hashes.close(), this.smallWriter.close()]);
  }
}

/** Opens a folder on this machine as an endpoint. A missing folder is a `TetherError` saying what to do. */
export async function createLocalEndpoint(root: string, options: LocalEndpointOptions = {}): Promise<LocalEndpoint> {
  const displayName = options.displayName ?? root;
  const missingCode = options.missingCode ?? 'local-missing';
  const absolute = resolve(root);
  await checkRoot(absolute, displayName, missingCode);
  const canonical = await realpath(absolute);
  const caseSensitive = await probeCaseSensitivity(canonical);
  return new LocalEndpoint(
    canonical,
    displayName,
    caseSensitive,
    missingCode,
    options.hashConcurrency,
    options.scanner,
  );
}

async function checkRoot(root: string, displayName: string, missingCode: TetherErrorCode): Promise<void> {
  try {
    const stats = await stat(root);
    if (!stats.isDirectory()) {
      throw new TetherError('bad-argument', `${displayName} is not a folder; choose a folder to sync`);
    }
  } catch (error) {
    if (error instanceof TetherError) throw error;
    const code = errnoOf(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new TetherError(
        missingCode,
        `the folder ${displayName} does not exist; create it, reconnect the drive or share it lives on, or choose another folder`,
        { cause: error },
      );
    }
    if (code === 'EACCES' || code === 'EPERM') {
      throw new TetherError(
        'permission-denied',
        `cannot open ${displayName}: permission denied; check its permissions`,
        {
          cause: error,
        },
      );
    }
    throw new TetherError('listing-failed', `cannot open ${displayName}: ${messageOf(error)}`, { cause: error });
  }
}

/**
 * Whether the filesystem holding `root` tells `a` from `A`. Reads the answer off an entry already in the folder
 * whose name has a letter: its case-swapped name is either the same file (the filesystem folds case), another
 * file, or nothing. Only a folder with no such entry gets a probe file (an engine temporary, so a leftover is
 * cleaned up by a later sync), which keeps a folder that is opened often, as a live pair's is, untouched. Where
 * the folder is read-only, falls back to the platform's usual default (case-insensitive on macOS and Windows).
 */
export async function probeCaseSensitivity(root: string): Promise<boolean> {
  const fromEntry = await caseSensitivityFromEntry(root);
  if (fromEntry !== undefined) return fromEntry;
  const name = `${PARTIAL_PREFIX}case-probe-${randomBytes(6).toString('hex')}`;
  const probe = join(root, name);
  try {
    const handle = await open(
      probe,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
    await handle.close();
  } catch {
    return process.platform !== 'darwin' && process.platform !== 'win32';
  }
  try {
    await lstat(join(root, name.toUpperCase()));
    return false;
  } catch {
    return true;
  } finally {
    await unlink(probe).catch(() => undefined);
  }
}

/** How many entries `caseSensitivityFromEntry` reads before it gives up on finding a name with a letter. */
const ENTRIES_TO_TRY = 64;

async function caseSensitivityFromEntry(root: string): Promise<boolean | undefined> {
  let dir;
  try {
    dir = await opendir(root, { bufferSize: ENTRIES_TO_TRY });
  } catch {
    return undefined;
  }
  try {
    for (let i = 0; i < ENTRIES_TO_TRY; i++) {
      const entry = await dir.read();
      if (entry === null) return undefined;
      const swapped = swapCase(entry.name);
      if (swapped === entry.name) continue;
      let original;
      try {
        original = await lstat(join(root, entry.name), { bigint: true });
      } catch {
        continue; // gone meanwhile
      }
      try {
        const twin = await lstat(join(root, swapped), { bigint: true });
        return !(twin.ino === original.ino && twin.dev === original.dev);
      } catch (error) {
        if (errnoOf(error) === 'ENOENT') return true;
      }
    }
    return undefined;
  } finally {
    await dir.close().catch(() => undefined);
  }
}

/** `name` with its ASCII letters' case swapped (other letters fold differently from one filesystem to the next). */
function swapCase(name: string): string {
  return name.replace(/[A-Za-z]/g, (letter) => {
    const upper = letter.toUpperCase();
    return upper === letter ? letter.toLowerCase() : upper;
  });
}
