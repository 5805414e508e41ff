/**
 * Lists a local tree with synchronous `readdir` + `lstat` (the fastest way Node has), in batches: in the scan
 * worker (`scanWorker.ts`) for whole trees, on the calling thread for a narrowed scan of a few paths
 * (`scan.ts`). See `scanProtocol.ts` for the conversation with the main thread and `scan.ts` for the rules this
 * implements.
 */
import { lstatSync, readdirSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { receiveMessageOnPort } from 'node:worker_threads';
import { baseName, parentOf } from '../../core/entry.js';
import { matcherFromRules, type IgnoreMatcher } from '../../core/ignore.js';
import type { NarrowScope } from '../../core/narrowScope.js';
import { isEngineTemporary } from '../../core/temporaries.js';
import { BACKSLASH_PROBLEM, symlinkProblem } from './scanProblems.js';
import { INFO_STRIDE, KIND_DIR, KIND_EXECUTABLE, KIND_FILE } from './scanProtocol.js';
import type { ScanAnswer, ScanBatch, ScanBatchProblem, ScanWorkerData, ScanWorkerMessage } from './scanProtocol.js';

const BATCH_ENTRIES = 4096;

function errnoOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Lossy (U+FFFD-substituted) names of entries in `abs` whose bytes are not valid UTF-8. */
function namesNotUtf8(abs: string): Set<string> {
  const invalid = new Set<string>();
  for (const raw of readdirSync(abs, { encoding: 'buffer' })) {
    const lossy = raw.toString('utf8');
    if (!Buffer.from(lossy, 'utf8').equals(raw)) invalid.add(lossy);
  }
  return invalid;
}

export class Scanner {
  private paths: string[] = [];
  private info = new Float64Array(BATCH_ENTRIES * INFO_STRIDE);
  private count = 0;
  private dirs = 0;
  private problems: ScanBatchProblem[] = [];
  private unlisted: string[] = [];
  private temporaries: string[] = [];
  /** Folders to list next. */
  private readonly ready: string[];
  /** Folders sent to the main thread and not yet answered for. */
  private awaiting = 0;
  private readonly wake: Int32Array;
  private wakeSeen = 0;
  /** The caller's ignore rules, applied here (see `ScanWorkerData.rules`). */
  private readonly ignored: IgnoreMatcher | undefined;

  /** `ignored`: a matcher to apply as is, for a scan run on the calling thread (never deciding). */
  constructor(
    private readonly data: ScanWorkerData,
    private readonly post: (message: ScanWorkerMessage, transfer?: ArrayBuffer[]) => void,
    ignored?: IgnoreMatcher,
  ) {
    if (data.decide && (data.answers === undefined || data.wake === undefined))
      throw new Error('a deciding scan needs a port for answers and a wake counter');
    this.wake = new Int32Array(data.wake ?? new SharedArrayBuffer(4));
    this.ignored = ignored ?? (data.rules === undefined ? undefined : matcherFromRules(data.rules));
    this.ready = data.within === undefined ? [''] : [];
  }

  run(): void {
    if (this.data.within !== undefined) this.examineScope(this.data.within);
    for (;;) {
      for (let dir = this.ready.pop(); dir !== undefined; dir = this.ready.pop()) {
        if (!this.listDir(dir)) return;
        if (this.data.decide) this.takeAnswers(false);
      }
      this.flush();
      if (this.awaiting === 0) break;
      this.takeAnswers(true);
    }
    this.post({ type: 'done' });
  }

  /** Lists one folder into the batch. Returns false when the root itself cannot be listed (fatal). */
  private listDir(dir: string): boolean {
    const abs = dir === '' ? this.data.root : `${this.data.root}/${dir}`;
    let names: string[];
    let notUtf8: Set<string> | undefined;
    try {
      names = readdirSync(abs);
      if (names.some((name) => name.includes('\uFFFD'))) notUtf8 = namesNotUtf8(abs);
    } catch (error) {
      if (dir === '') {
        this.post({ type: 'fatal', message: messageOf(error), code: errnoOf(error) });
        return false;
      }
      this.folderUnlisted(dir, `could not list this folder (${messageOf(error)})`);
      return true;
    }
    for (const name of names) {
      const path = dir === '' ? name : `${dir}/${name}`;
      if (notUtf8?.has(name) === true) {
        this.problem(path, 'skipped: the name is not valid UTF-8, so it cannot be synced; rename it', true);
        continue;
      }
      if (this.examine(dir, abs, name, true) === 'unsearchable') return true;
    }
    return true;
  }

  /**
   * Adds the entry `name` of folder `dir` (at `abs`) to the batch; a folder is listed later when `descend` (and,
   * when deciding, the main thread agrees). Says what it found: a folder (`dir`), something else or nothing, or
   * that `dir` cannot be searched (then nothing more in it can be examined).
   */
  private examine(dir: string, abs: string, name: string, descend: boolean): 'dir' | 'other' | 'none' | 'unsearchable' {
    const path = dir === '' ? name : `${dir}/${name}`;
    if (isEngineTemporary(name)) {
      this.temporaries.push(path);
      return 'other';
    }
    if (name.includes('\\')) {
      this.problem(path, BACKSLASH_PROBLEM, true);
      return 'other';
    }
    let stats: Stats | undefined;
    try {
      stats = lstatSync(`${abs}/${name}`, { throwIfNoEntry: false });
    } catch (error) {
      const code = errnoOf(error);
      if (code === 'EACCES' || code === 'EPERM') {
        // The folder can be read but not searched: nothing in it can be examined.
        this.folderUnlisted(dir, `could not examine the entries of this folder (${messageOf(error)})`);
        return 'unsearchable';
      }
      if (code === 'ENOTDIR' && this.data.within !== undefined) return 'none'; // A parent became a file: gone.
      this.unlisted.push(path);
      this.problem(path, `could not examine this entry (${messageOf(error)}); it is left alone`, false);
      return 'other';
    }
    if (stats === undefined) return 'none'; // Deleted while we looked: it is simply gone.
    if (this.ignored?.(path, stats.isDirectory()) === true) return 'none';
    let found: 'dir' | 'other' = 'other';
    if (stats.isFile()) {
      this.push(path, (stats.mode & 0o100) === 0 ? KIND_FILE : KIND_EXECUTABLE, stats.size, stats.mtimeMs);
    } else if (stats.isDirectory()) {
      found = 'dir';
      this.push(path, KIND_DIR, 0, stats.mtimeMs);
      // When deciding, the main thread answers for every folder (and descends into none of the scope's parents).
      if (this.data.decide) this.dirs++;
      else if (descend) this.ready.push(path);
    } else if (stats.isSymbolicLink()) {
      this.problem(path, symlinkProblem(path, `${abs}/${name}`), true);
    } else {
      this.problem(path, `skipped: ${this.specialKind(stats)}; only files and folders are synced`, true);
    }
    if (this.count === BATCH_ENTRIES) this.flush();
    return found;
  }

  /**
   * A narrowed scan: the scope's parents (not listed), then its roots (folders listed below). Each is looked at
   * only when the folder holding it was found a real folder (never through a link, a file or a folder that
   * cannot be searched), as a full scan would reach it.
   */
  private examineScope(within: NarrowScope): void {
    const folders = new Set<string>(['']);
    const examineAt = (path: string, descend: boolean): void => {
      const dir = parentOf(path);
      if (!folders.has(dir)) return;
      const found = this.examine(
        dir,
        dir === '' ? this.data.root : `${this.data.root}/${dir}`,
        baseName(path),
        descend,
      );
      if (found === 'dir') folders.add(path);
    };
    // Sorted: a folder comes before what lies below it.
    for (const parent of within.parents) examineAt(parent, false);
    for (const root of within.roots) examineAt(root, true);
  }

  private push(path: string, kind: number, size: number, mtimeMs: number): void {
    const at = this.count * INFO_STRIDE;
    this.paths.push(path);
    this.info[at] = kind;
    this.info[at + 1] = size;
    this.info[at + 2] = Math.trunc(mtimeMs);
    this.count++;
  }

  private problem(path: string, message: string, ignorable: boolean): void {
    if (ignorable && this.ignored?.(path, false) === true) return;
    this.problems.push({ path, message, ignorable });
  }

  private folderUnlisted(dir: string, why: string): void {
    this.unlisted.push(dir);
    this.problem(dir, `${why}; nothing in it is synced until it can be read`, false);
  }

  private specialKind(stats: Stats): string {
    if (stats.isFIFO()) return 'a named pipe (FIFO)';
    if (stats.isSocket()) return 'a socket';
    if (stats.isCharacterDevice()) return 'a character device';
    if (stats.isBlockDevice()) return 'a block device';
    return 'a special file';
  }

  private flush(): void {
    const empty = this.count === 0 && this.problems.length === 0 && this.unlisted.length === 0;
    if (empty && this.temporaries.length === 0) return;
    const info = this.info.slice(0, this.count * INFO_STRIDE);
    const batch: ScanBatch = {
      type: 'batch',
      count: this.count,
      paths: this.paths.join('\0'),
      info,
      dirs: this.dirs,
      problems: this.problems,
      unlisted: this.unlisted,
      temporaries: this.temporaries,
    };
    this.post(batch, [info.buffer]);
    this.awaiting += this.dirs;
    this.paths = [];
    this.count = 0;
    this.dirs = 0;
    this.problems = [];
    this.unlisted = [];
    this.temporaries = [];
  }

  /** Takes the main thread's answers; with `block`, waits until at least one arrives. */
  private takeAnswers(block: boolean): void {
    for (;;) {
      let took = false;
      const answers = this.data.answers;
      if (answers === undefined) return;
      for (let received = receiveMessageOnPort(answers); received !== undefined;) {
        const answer = received.message as ScanAnswer;
        this.awaiting -= answer.answered;
        if (answer.descend !== '') for (const dir of answer.descend.split('\0')) this.ready.push(dir);
        took = true;
        received = receiveMessageOnPort(answers);
      }
      if (took || !block) return;
      // Sleep until the main thread bumps the counter (it does so after posting each answer).
      Atomics.wait(this.wake, 0, this.wakeSeen);
      this.wakeSeen = Atomics.load(this.wake, 0);
    }
  }
}
