import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Entry } from '../../core/entry.js';
import { TetherError } from '../../errors.js';
import type { DirectRead, IncomingFile, ReadOptions } from '../endpoint.js';
import { differenceFrom, errnoOf, messageOf, SMALL_FILE_BYTES } from './fsUtil.js';
import type { RootedPaths } from './paths.js';
import { bufferStream, readSmallFile } from './smallFiles.js';

const READ_CHUNK = 1024 * 1024;

interface ReadRequest {
  readonly path: string;
  readonly entry: Entry;
  readonly offset: number;
}

/**
 * A stream that fails, with a message naming the file, as soon as it is read: the writer reports it and moves
 * on. (Failing only when read means a consumer that destroys it unread sees no error event.)
 */
function failing(path: string, why: string): Readable {
  return new Readable({
    read(): void {
      this.destroy(new Error(`cannot read ${path}: ${why}`));
    },
  });
}

/**
 * A large local file from the requested offset to `entry.size`, as a stream: it stops there even if the file
 * grew, and fails at the end if the file changed while it was read. A consumer with buffers of its own can
 * `readInto` them instead (a multipart upload reads each part straight into its part buffer: no chunk per
 * read left to the garbage collector, no copy); a stream is read one way or the other, never both.
 */
export class LocalFileStream extends Readable implements DirectRead {
  #position: number;
  #checked: Promise<void> | undefined;

  constructor(
    private readonly handle: FileHandle,
    private readonly request: ReadRequest,
  ) {
    super({ highWaterMark: READ_CHUNK });
    this.#position = request.offset;
  }

  async readInto(target: Buffer): Promise<number> {
    const left = this.request.entry.size - this.#position;
    if (left === 0) {
      await this.#checkUnchanged();
      return 0;
    }
    if (target.length === 0) return 0;
    let bytesRead: number;
    try {
      ({ bytesRead } = await this.handle.read(target, 0, Math.min(target.length, left), this.#position));
    } catch (error) {
      throw new Error(`cannot read ${this.request.path}: ${messageOf(error)}`, { cause: error });
    }
    if (bytesRead === 0) {
      await this.#checkUnchanged(); // the file shrank: this says how
      throw new Error(`cannot read ${this.request.path}: it ended ${left} bytes early`);
    }
    this.#position += bytesRead;
    return bytesRead;
  }

  override _read(): void {
    const left = this.request.entry.size - this.#position;
    const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK, Math.max(left, 1)));
    this.readInto(buffer).then(
      (bytesRead) => {
        if (bytesRead === 0) this.push(null);
        else this.push(bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead));
      },
      (error: unknown) => this.destroy(error instanceof Error ? error : new Error(String(error))),
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.handle.close().then(
      () => callback(error),
      () => callback(error),
    );
  }

  /** Once the last byte is read: the file must still be the version the scan saw. */
  #checkUnchanged(): Promise<void> {
    this.#checked ??= this.handle.stat().then(
      (stats) => {
        const difference = differenceFrom(stats, this.request.entry);
        if (difference !== undefined) {
          throw new Error(`cannot read ${this.request.path}: it changed while it was read (${difference})`);
        }
      },
      (error: unknown) => {
        throw new Error(`cannot read ${this.request.path}: ${messageOf(error)}`, { cause: error });
      },
    );
    return this.#checked;
  }
}

/**
 * Streams the requested files in order (see `Endpoint.readFiles`). Each file is opened without following a
 * final symbolic link and checked against the requested entry's size and mtime; a file that vanished or
 * changed yields a stream that errors with a message naming it. The stream stops at `entry.size` even if the
 * file grew, and fails at the end if the file was modified while it was read.
 */
export async function* readLocalFiles(
  paths: RootedPaths,
  requests: readonly ReadRequest[],
  options: ReadOptions = {},
): AsyncGenerator<IncomingFile> {
  const verified = new Set<string>();
  for (const request of requests) {
    if (options.signal?.aborted === true) throw new TetherError('cancelled', 'reading files cancelled');
    const stream = await openLocalFile(paths, request, verified);
    yield { path: request.path, entry: request.entry, offset: request.offset, stream };
  }
}

/** One requested file as a stream (see `readLocalFiles`); `verified` holds the folders already checked. */
export function openLocalFile(paths: RootedPaths, request: ReadRequest, verified: Set<string>): Promise<Readable> {
  return isSmall(request) ? readSmall(paths, request, verified) : openLarge(paths, request, verified);
}

/**
 * What a local folder's `readFiles` returns: the files as `readLocalFiles` streams them, read only when
 * iterated. A local folder receiving them can see where they come from and copy small files itself, source
 * to target, on its writer thread (see atomicWrite.ts), as rclone copies within one remote "server-side".
 */
export class LocalReads implements AsyncIterable<IncomingFile> {
  constructor(
    readonly paths: RootedPaths,
    readonly requests: readonly ReadRequest[],
    readonly options: ReadOptions,
  ) {}

  [Symbol.asyncIterator](): AsyncIterator<IncomingFile> {
    return readLocalFiles(this.paths, this.requests, this.options);
  }
}

function isSmall(request: ReadRequest): boolean {
  const { entry, offset } = request;
  return entry.kind === 'file' && validOffset(request) && entry.size - offset <= SMALL_FILE_BYTES;
}

function validOffset({ entry, offset }: ReadRequest): boolean {
  return Number.isSafeInteger(offset) && offset >= 0 && offset <= entry.size;
}

async function readSmall(paths: RootedPaths, request: ReadRequest, verified: Set<string>): Promise<Readable> {
  const { path, entry, offset } = request;
  const resolved = await paths.resolve(path, verified);
  if (!resolved.ok) return failing(path, resolved.missing ? 'it vanished since the scan' : resolved.reason);
  const read = readSmallFile(resolved.abs, entry, offset);
  return 'content' in read ? bufferStream(read.content) : failing(path, read.problem);
}

/** Opens a large file (or reports a request that cannot be served) as a stream read as it is consumed. */
async function openLarge(paths: RootedPaths, request: ReadRequest, verified: Set<string>): Promise<Readable> {
  const { path, entry, offset } = request;
  if (entry.kind !== 'file') return failing(path, `it is a ${entry.kind}, not a file`);
  if (!validOffset(request)) return failing(path, `offset ${offset} is outside the file (0 to ${entry.size} bytes)`);
  const resolved = await paths.resolve(path, verified);
  if (!resolved.ok) return failing(path, resolved.missing ? 'it vanished since the scan' : resolved.reason);
  let handle: FileHandle;
  try {
    // O_NONBLOCK: a FIFO put in the file's place must not hang the open (no effect on regular files).
    handle = await open(resolved.abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    const code = errnoOf(error);
    if (code === 'ENOENT') return failing(path, 'it vanished since the scan');
    if (code === 'ELOOP') return failing(path, 'it is now a symbolic link');
    return failing(path, messageOf(error));
  }
  try {
    const difference = differenceFrom(await handle.stat(), entry);
    if (difference !== undefined) {
      await handle.close();
      return failing(path, `it changed since the scan (${difference})`);
    }
  } catch (error) {
    await handle.close();
    return failing(path, messageOf(error));
  }
  return new LocalFileStream(handle, request);
}
