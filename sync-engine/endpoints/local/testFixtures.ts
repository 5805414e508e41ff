/** Helpers for this folder's tests: real temporary folders, files with chosen mtimes and modes. */
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import type { Entry } from '../../core/entry.js';
import type { IncomingFile } from '../endpoint.js';

/** A fresh temporary folder; `cleanup()` removes every folder made so far. */
export class TempDirs {
  private readonly made: string[] = [];

  make(prefix = 'tether-local-'): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.made.push(dir);
    return dir;
  }

  cleanup(): void {
    for (const dir of this.made.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes a file (creating its folders) with an optional integer-ms mtime and mode. */
export function writeFile(
  root: string,
  path: string,
  content: string | Buffer,
  options: { mtimeMs?: number; mode?: number } = {},
): string {
  const abs = join(root, path);
  mkdirSync(dirname(abs), { recursive: true });
  writeFileSync(abs, content, { mode: options.mode ?? 0o644 });
  if (options.mtimeMs !== undefined) {
    // +1 µs: see setMtime in fsUtil.ts for why an exact ms needs it.
    const seconds = (options.mtimeMs + 0.001) / 1000;
    utimesSync(abs, seconds, seconds);
  }
  return abs;
}

export function fileEntry(path: string, size: number, mtimeMs: number, extra: Partial<Entry> = {}): Entry {
  return { path, kind: 'file', size, mtimeMs, executable: false, ...extra };
}

/** Whether this process runs as root (permission bits do not stop root from reading). */
export const runningAsRoot = process.getuid?.() === 0;

/** Incoming files made from in-memory content, as another endpoint's `readFiles` would yield them. */
export async function* incomingFrom(
  files: readonly { path: string; entry: Entry; offset: number; content: Content }[],
): AsyncGenerator<IncomingFile> {
  for (const { path, entry, offset, content } of files)
    yield await Promise.resolve({ path, entry, offset, stream: streamOf(content) });
}

/** What a test source sends: bytes, an immediate failure, or some bytes and then a failure. */
export type Content = Buffer | Error | { readonly prefix: Buffer; readonly error: Error };

function streamOf(content: Content): Readable {
  if (content instanceof Error) return streamOf({ prefix: Buffer.alloc(0), error: content });
  if (!('prefix' in content)) return Readable.from([content]);
  const { prefix, error } = content;
  let sent = false;
  return new Readable({
    read(): void {
      if (!sent && prefix.length > 0) {
        sent = true;
        this.push(prefix);
        return;
      }
      this.destroy(error);
    },
  });
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
