import { Readable, Transform } from 'node:stream';
import type { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import tar from 'tar-stream';
import type { Entry } from '../core/entry.js';
import type { Endpoint } from '../endpoints/endpoint.js';
import { TetherError } from '../errors.js';

/**
 * Streaming pieces of the storage browser's uploads and downloads: nothing here holds a whole file in memory.
 * A download is the endpoint's read stream piped into the sink; a folder is a tar archive built while the
 * files stream through it (tar-stream), entry by entry.
 */

/** What a download is, known before its first byte: the host sends it as headers or uses it to name a file. */
export interface DownloadInfo {
  readonly fileName: string;
  readonly kind: 'file' | 'folder';
  /** Bytes of the file; absent for a folder's archive (its size is known only at its end). */
  readonly size?: number;
  readonly mtimeMs: number;
}

/**
 * Passes exactly `size` bytes of `source` through and fails otherwise, so an upload cut short (the browser tab
 * closed, the connection dropped) is never stored as a shorter file. Lazy: `source` is read only as the result
 * is, so its failure reaches whoever consumes the result. `onBytes` sees every chunk (progress).
 */
export function exactLength(source: Readable, size: number, what: string, onBytes?: (bytes: number) => void): Readable {
  async function* checked(): AsyncGenerator<Buffer> {
    let seen = 0;
    // Not destroyed when the consumer stops early (a refused write): the host then drains the request and
    // answers why, instead of cutting the connection.
    for await (const chunk of source.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      seen += chunk.length;
      if (seen > size) throw new TetherError('bad-argument', `${what}: more than the announced ${size} bytes arrived`);
      onBytes?.(chunk.length);
      yield chunk;
    }
    if (seen !== size)
      throw new TetherError(
        'transfer-failed',
        `${what}: the upload ended after ${seen} of ${size} bytes; nothing was stored, try again`,
      );
  }
  return Readable.from(checked(), { objectMode: false });
}

/**
 * Streams one file of `endpoint` into the sink `start` returns (which ends with it). `start` is called only once
 * the first bytes (or the end of an empty file) arrived, so a file that cannot be read fails before anything was
 * sent: a browser then gets the reason instead of a truncated download.
 */
export async function streamFile(
  endpoint: Endpoint,
  entry: Entry,
  start: () => Writable,
  options: { signal?: AbortSignal; onBytes?: (bytes: number) => void } = {},
): Promise<void> {
  const read = options.signal === undefined ? {} : { signal: options.signal };
  for await (const file of endpoint.readFiles([{ path: entry.path, entry, offset: 0 }], read)) {
    const chunks = file.stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    const first = await chunks.next();
    async function* all(): AsyncGenerator<Buffer> {
      try {
        if (first.done === true) return;
        yield first.value;
        for (let next = await chunks.next(); next.done !== true; next = await chunks.next()) yield next.value;
      } finally {
        await chunks.return?.();
      }
    }
    await pipeline(Readable.from(all(), { objectMode: false }), counter(options.onBytes), start(), read);
    return;
  }
  throw new TetherError('transfer-failed', `${endpoint.displayName} sent nothing for ${entry.path}`);
}

/**
 * Streams a folder as a tar archive into `sink`: its folders, then its files as `readFiles` yields them, with
 * names relative to the folder's parent (so it unpacks into a folder of the same name), modes and mtimes.
 */
export async function streamFolderTar(
  endpoint: Endpoint,
  tree: { readonly dirs: readonly Entry[]; readonly files: readonly Entry[] },
  strip: number,
  sink: Writable,
  options: { signal?: AbortSignal; onBytes?: (bytes: number) => void } = {},
): Promise<void> {
  const read = options.signal === undefined ? {} : { signal: options.signal };
  const pack = tar.pack();
  const out = pipeline(pack, counter(options.onBytes), sink, read);
  // The archive's consumer failing (the browser cancelled) ends the producer below through `pack`'s destruction.
  out.catch(() => pack.destroy());
  try {
    for (const dir of tree.dirs) {
      pack.entry({
        name: `${dir.path.slice(strip)}/`,
        type: 'directory',
        mode: 0o755,
        mtime: new Date(dir.mtimeMs),
      });
    }
    const requests = tree.files.map((f) => ({ path: f.path, entry: f, offset: 0 }));
    for await (const file of endpoint.readFiles(requests, read)) {
      const entry = pack.entry({
        name: file.path.slice(strip),
        size: file.entry.size,
        mode: file.entry.executable ? 0o755 : 0o644,
        mtime: new Date(file.entry.mtimeMs),
      });
      await pipeline(file.stream, entry, read);
    }
    pack.finalize();
  } catch (error) {
    pack.destroy(error instanceof Error ? error : new Error(String(error)));
    await out.catch(() => undefined);
    throw error;
  }
  await out;
}

function counter(onBytes: ((bytes: number) => void) | undefined): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      onBytes?.(chunk.length);
      done(null, chunk);
    },
  });
}

/** `Content-Disposition` for a download: an ASCII fallback name and the real one (RFC 6266 / RFC 5987). */
export function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\%;]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
