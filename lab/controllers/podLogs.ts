import { open, rename } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';

/**
 * A container's log file, rotated as the kubelet rotates it (default 10 MiB): past the limit the file moves
 * to `<file>.1` and a new one starts, so a chatty container cannot fill the disk; `kubectl logs` shows the
 * current file. Writes are awaited, so a slow disk slows the container's output instead of buffering.
 */
export const defaultLogLimitBytes = 10 * 1024 * 1024;

export class RotatingLog extends Writable {
  private readonly file: string;
  private readonly limit: number;
  private handle: FileHandle | undefined;
  private size = 0;

  constructor(file: string, limit = defaultLogLimitBytes) {
    super();
    this.file = file;
    this.limit = limit;
  }

  private async current(): Promise<FileHandle> {
    if (this.handle === undefined) {
      this.handle = await open(this.file, 'a');
      this.size = (await this.handle.stat()).size;
    }
    return this.handle;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    (async () => {
      let handle = await this.current();
      if (this.size > 0 && this.size + chunk.length > this.limit) {
        await handle.close();
        this.handle = undefined;
        await rename(this.file, `${this.file}.1`);
        handle = await this.current();
      }
      await handle.write(chunk);
      this.size += chunk.length;
    })().then(
      () => callback(),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    const handle = this.handle;
    this.handle = undefined;
    if (handle === undefined) {
      callback();
      return;
    }
    handle.close().then(
      () => callback(),
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error))),
    );
  }
}
