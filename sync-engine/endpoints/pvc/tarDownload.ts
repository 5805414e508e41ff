import { PassThrough, Readable, Writable } from 'node:stream';
import tar from 'tar-stream';
import type { Header } from 'tar-stream';
import type { Entry } from '../../core/entry.js';
import { invalidPathReason } from '../../core/entry.js';
import { TetherError } from '../../errors.js';
import type { IncomingFile, ReadOptions } from '../endpoint.js';
import type { PodShell } from './podShell.js';
import { dotted } from './podShell.js';
import { expectedState } from './remoteTreeOps.js';

interface ReadRequest {
  readonly path: string;
  readonly entry: Entry;
  readonly offset: number;
}

/** Files below this size travel in tar batches; larger ones (or resumed ones) alone with `tail -c +N`. */
export const LARGE_DOWNLOAD_BYTES = 8 * 1024 * 1024;
const BATCH_FILES = 256;
const BATCH_BYTES = 64 * 1024 * 1024;
/** Paths travel in the exec URL: keep a batch's arguments short (API servers refuse long request lines). */
const MAX_ARG_BYTES = 6000;

function failing(path: string, why: string): Readable {
  const stream = new Readable({ read() {} });
  process.nextTick(() => stream.destroy(new Error(`cannot read ${path}: ${why}`)));
  return stream;
}

/**
 * Which request a tar entry answers, or why it is refused. Every entry from the pod is untrusted (the
 * `kubectl cp` CVEs): only regular files whose name is exactly `./` + the next expected path are accepted;
 * absolute names, `..`, links and devices are never written anywhere.
 */
export function checkTarEntry(header: Pick<Header, 'name' | 'type'>, expectedPath: string): string {
  const name = header.name.startsWith('./') ? header.name.slice(2) : header.name;
  const reason = invalidPathReason(name);
  if (reason !== undefined) return `the archive from the pod holds an unsafe entry (${reason})`;
  if (name !== expectedPath) return 'other';
  if (header.type !== 'file') return `the pod sent a ${header.type} entry instead of a file`;
  return 'match';
}

/** A node Writable feeding a tar-stream (streamx) extractor, with its backpressure. */
function feedOf(extract: tar.Extract): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (extract.write(chunk)) callback();
      else extract.once('drain', () => callback());
    },
  });
}

/** A node Readable with one entry's bytes; the entry is always drained, even if the reader gives up early. */
function entryStream(item: AsyncIterable<Buffer>): { stream: PassThrough; pumped: Promise<void> } {
  const stream = new PassThrough({ highWaterMark: 1024 * 1024 });
  const pumped = (async () => {
    for await (const chunk of item) {
      if (stream.destroyed) continue;
      if (!stream.write(chunk))
        await new Promise<void>((resolve) => {
          stream.once('drain', resolve);
          stream.once('close', resolve);
        });
    }
    if (!stream.destroyed) stream.end();
  })();
  return { stream, pumped };
}

async function drain(item: AsyncIterable<unknown>): Promise<void> {
  for await (const _chunk of item);
}

async function* tarBatch(
  shell: PodShell,
  batch: readonly ReadRequest[],
  options: ReadOptions,
): AsyncGenerator<IncomingFile> {
  const extract = tar.extract();
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  options.signal?.addEventListener('abort', onAbort);
  let complete = false;
  const running = shell
    .run(
      'tar -cf - "$@"',
      batch.map((r) => dotted(r.path)),
      { stdout: feedOf(extract), signal: stop.signal },
    )
    .then(
      (result) => {
        // A vanished file makes tar complain and exit non-zero; those files are simply missing below.
        extract.end(Buffer.alloc(0));
        return result;
      },
      (error: unknown) => {
        extract.destroy(error instanceof Error ? error : new Error(String(error)));
        throw error;
      },
    );
  running.catch(() => undefined);
  try {
    let index = 0;
    for await (const item of extract) {
      const header = item.header;
      // Skip requests that the archive does not hold (vanished): tar keeps argument order.
      let verdict: string = 'other';
      while (index < batch.length) {
        const request = batch[index] as ReadRequest;
        verdict = checkTarEntry(header, request.path);
        if (verdict !== 'other') break;
        yield { ...request, stream: failing(request.path, 'it vanished from the remote since the scan') };
        index++;
      }
      const request = batch[index];
      if (request === undefined || verdict === 'other') {
        await drain(item);
        throw new TetherError(
          'transfer-failed',
          `unexpected entry ${JSON.stringify(header.name)} in the archive from ${shell.displayName}`,
        );
      }
      index++;
      if (verdict !== 'match') {
        await drain(item);
        yield { ...request, stream: failing(request.path, verdict) };
        continue;
      }
      const sameVersion =
        header.size === request.entry.size &&
        Math.floor(header.mtime.getTime() / 1000) === Math.floor(request.entry.mtimeMs / 1000);
      if (!sameVersion) {
        await drain(item);
        yield { ...request, stream: failing(request.path, 'it changed on the remote since the scan') };
        continue;
      }
      const { stream, pumped } = entryStream(item as AsyncIterable<Buffer>);
      yield { ...request, offset: 0, stream };
      await pumped;
    }
    for (; index < batch.length; index++) {
      const request = batch[index] as ReadRequest;
      yield { ...request, stream: failing(request.path, 'it vanished from the remote since the scan') };
    }
    await running;
    complete = true;
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    if (!complete) {
      stop.abort();
      extract.destroy();
    }
  }
}

const tailScript =
  'p=$1; e=$2; k=$3; if [ -L "$p" ] || [ ! -f "$p" ]; then echo "tether: vanished" >&2; exit 10; fi; ' +
  'if [ "$(stat -c "file|%s|%Y" "$p")" != "$e" ]; then echo "tether: changed" >&2; exit 11; fi; tail -c +"$k" "$p"';

/** One large file as a stream (from `offset`), checked against the scanned version first. */
function largeFile(shell: PodShell, request: ReadRequest, options: ReadOptions): Readable {
  const out = new PassThrough({ highWaterMark: 1024 * 1024 });
  const want = request.entry.size - request.offset;
  let got = 0;
  out.on('data', (chunk: Buffer) => (got += chunk.length));
  shell
    .run(tailScript, [dotted(request.path), expectedState(request.entry), String(request.offset + 1)], {
      stdout: out,
      idleTimeoutMs: 120_000,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    })
    .then(
      (result) => {
        if (result.exitCode === 10)
          out.destroy(new Error(`cannot read ${request.path}: it vanished from the remote since the scan`));
        else if (result.exitCode === 11)
          out.destroy(new Error(`cannot read ${request.path}: it changed on the remote since the scan`));
        else if (result.exitCode !== 0)
          out.destroy(new Error(`cannot read ${request.path}: exit code ${result.exitCode}: ${result.stderr.trim()}`));
        else out.end();
      },
      (error: unknown) => out.destroy(error instanceof Error ? error : new Error(String(error))),
    );
  out.on('end', () => {
    if (got !== want) out.destroy(new Error(`cannot read ${request.path}: got ${got} bytes, expected ${want}`));
  });
  return out;
}

/** `Endpoint.readFiles` for a pod: tar batches for small files, `tail -c +N` for large or resumed ones. */
export async function* readRemoteFiles(
  shell: PodShell,
  requests: readonly ReadRequest[],
  options: ReadOptions = {},
): AsyncGenerator<IncomingFile> {
  let batch: ReadRequest[] = [];
  let batchBytes = 0;
  let argBytes = 0;
  async function* flush(): AsyncGenerator<IncomingFile> {
    if (batch.length > 0) yield* tarBatch(shell, batch, options);
    batch = [];
    batchBytes = 0;
    argBytes = 0;
  }
  for (const request of requests) {
    if (options.signal?.aborted === true) throw new TetherError('cancelled', 'reading files cancelled');
    const reason = invalidPathReason(request.path);
    if (
      reason !== undefined ||
      request.entry.kind !== 'file' ||
      request.offset < 0 ||
      request.offset > request.entry.size
    ) {
      yield* flush();
      yield { ...request, stream: failing(request.path, reason ?? 'not a file or a bad offset') };
      continue;
    }
    if (request.entry.size >= LARGE_DOWNLOAD_BYTES || request.offset > 0) {
      yield* flush();
      yield { ...request, stream: largeFile(shell, request, options) };
      continue;
    }
    batch.push(request);
    batchBytes += request.entry.size;
    argBytes += encodeURIComponent(request.path).length + 11;
    if (batch.length >= BATCH_FILES || batchBytes >= BATCH_BYTES || argBytes >= MAX_ARG_BYTES) yield* flush();
  }
  yield* flush();
}
