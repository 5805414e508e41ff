import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';
import type { Entry } from '../../core/entry.js';
import { TetherError } from '../../errors.js';
import type { IncomingFile, ReadOptions } from '../endpoint.js';
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

/** Checks once the last byte has passed that the file did not change while it was read. */
class UnchangedCheck extends Transform {
  constructor(
    private readonly handle: FileHandle,
    private readonly request: ReadRequest,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    callback(null, chunk);
  }

  override _flush(callback: TransformCallback): void {
    this.handle.stat().then(
      (stats) => {
        const difference = differenceFrom(stats, this.request.entry);
        callback(
          difference === undefined
            ? null
            : new Error(`cannot read ${this.request.path}: it changed while it was read (${difference})`),
        );
      },
      (error: unknown) => callback(new Error(`cannot read ${this.request.path}: ${messageOf(error)}`)),
    );
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
    const stream = isSmall(request)
      ? await readSmall(paths, request, verified)
      : await openLarge(paths, request, verified);
    yield { path: request.path, entry: request.entry, offset: request.offset, stream };
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
  const check = new UnchangedCheck(handle, request);
  const closeHandle = (): void => void handle.close().catch(() => undefined);
  check.once('close', closeHandle);
  if (offset === entry.size) {
    check.end();
    return check;
  }
  const source = handle.createReadStream({
    start: offset,
    end: entry.size - 1,
    autoClose: false,
    highWaterMark: READ_CHUNK,
  });
  source.once('error', (error) => check.destroy(new Error(`cannot read ${path}: ${error.message}`)));
  check.once('close', () => source.destroy());
  source.pipe(check);
  return check;
}
