import { createReadStream, createWriteStream } from 'node:fs';
import { rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { flattenError, TetherError } from '../errors.js';
import type { TransferProgress } from './contract.js';
import type { StorageBrowser } from './storage.js';

/** The desktop app's native file dialogs, for transfers streamed straight from and to disk. */
export interface DiskDialogs {
  /** Files to upload (undefined or empty: cancelled). */
  pickFiles(title: string): Promise<string[] | undefined>;
  /** Where to save a download named `defaultName` (undefined: cancelled). */
  pickSavePath(defaultName: string): Promise<string | undefined>;
}

/**
 * The desktop app's uploads and downloads (`uploadFromDisk`, `downloadToDisk`): streamed between the disk and the
 * remote in the engine's process, the renderer only choosing what, through native dialogs (or dropped files'
 * paths). Progress goes out as `transfer` events: at most one per 250 ms per transfer, and one at its end.
 */
export class DiskTransfers {
  #next = 1;

  constructor(
    private readonly storage: StorageBrowser,
    private readonly dialogs: DiskDialogs,
    private readonly emit: (progress: TransferProgress) => void,
  ) {}

  /** Uploads `localPaths` (or the files the picker returns) into `folder`, one after the other. */
  async upload(
    url: string,
    options: Record<string, unknown>,
    folder: string,
    localPaths: readonly string[] | undefined,
  ): Promise<{ uploaded: string[] }> {
    const files = localPaths ?? (await this.dialogs.pickFiles('Files to upload'));
    const uploaded: string[] = [];
    for (const file of files ?? []) {
      const stats = await stat(file).catch((error: unknown) => {
        throw new TetherError('not-found', `cannot read ${file}: ${flattenError(error).message}`, { cause: error });
      });
      if (!stats.isFile()) throw new TetherError('bad-argument', `${file} is not a file; upload files one by one`);
      const path = folder === '' ? basename(file) : `${folder}/${basename(file)}`;
      const progress = this.#progress('upload', path, stats.size);
      try {
        await this.storage.upload(url, options, path, createReadStream(file), stats.size, stats.mtimeMs, {
          onBytes: progress.add,
        });
        progress.end();
      } catch (error) {
        progress.end(error);
        throw error;
      }
      uploaded.push(path);
    }
    return { uploaded };
  }

  /** Downloads a file, or a folder as a tar archive, to where the save dialog says; `{}` when cancelled. */
  async download(url: string, options: Record<string, unknown>, path: string): Promise<{ savedTo?: string }> {
    const entry = await this.storage.stat(url, options, path);
    if (entry?.kind !== 'file' && entry?.kind !== 'dir')
      throw new TetherError('not-found', `${path} is not a file or folder in ${url}`);
    const target = await this.dialogs.pickSavePath(entry.kind === 'dir' ? `${basename(path)}.tar` : basename(path));
    if (target === undefined) return {};
    // Written beside the target under another name and renamed once complete: no half file under its name.
    const partial = join(dirname(target), `.${basename(target)}.tether-download`);
    const progress = this.#progress('download', path, entry.kind === 'file' ? entry.size : undefined);
    await unlink(partial).catch(() => undefined); // left by a download that could not finish
    try {
      await this.storage.download(url, options, path, () => createWriteStream(partial, { flags: 'wx' }), {
        onBytes: progress.add,
      });
      await rename(partial, target);
      progress.end();
    } catch (error) {
      await unlink(partial).catch(() => undefined);
      progress.end(error);
      throw error;
    }
    return { savedTo: target };
  }

  #progress(direction: 'upload' | 'download', path: string, bytesTotal: number | undefined) {
    const id = this.#next++;
    let bytesDone = 0;
    let last = 0;
    const emit = (done: boolean, error?: unknown): void =>
      this.emit({
        id,
        direction,
        path,
        bytesDone,
        done,
        ...(bytesTotal === undefined ? {} : { bytesTotal }),
        ...(error === undefined ? {} : { error: flattenError(error).message }),
      });
    emit(false);
    return {
      add: (bytes: number): void => {
        bytesDone += bytes;
        if (Date.now() - last < 250) return;
        last = Date.now();
        emit(false);
      },
      end: (error?: unknown): void => emit(true, error),
    };
  }
}
