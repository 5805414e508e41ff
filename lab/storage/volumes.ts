import { execFile } from 'node:child_process';
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { TetherError } from '../../sync-engine/errors.js';

const run = promisify(execFile);

/**
 * The directories behind PVCs: `<root>/<namespace>/<claim>`. When the lab runs as root, a claim can be
 * backed by a tmpfs of its capacity, so that writing past it fails with ENOSPC like a full volume. Every
 * mount is made with an argv (no shell) and undone on stop, including mounts left by a killed lab.
 */
export interface VolumeStorageOptions {
  readonly root: string;
  /** Whether size-limited mounts may be made (true only when running as root). */
  readonly canMount: boolean;
}

const segmentPattern = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

function checkSegment(what: string, value: string): void {
  if (!segmentPattern.test(value) || value.length > 253 || value.includes('..')) {
    throw new TetherError('bad-argument', `cannot place a volume for ${what} "${value}": not a valid Kubernetes name`);
  }
}

/** Mount points below `root` in this mount namespace (from /proc/self/mountinfo), deepest first. */
async function mountsBelow(root: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const prefix = `${path.resolve(root)}/`;
  const decode = (field: string): string =>
    field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
  return text
    .split('\n')
    .map((line) => decode(line.split(' ')[4] ?? ''))
    .filter((mountPoint) => mountPoint.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

export class VolumeStorage {
  readonly root: string;
  private readonly canMount: boolean;
  private readonly mounted = new Map<string, number>();

  constructor(options: VolumeStorageOptions) {
    this.root = path.resolve(options.root);
    this.canMount = options.canMount;
  }

  /** Unmounts size-limited volumes a previous, killed lab left under the root. */
  async recover(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    for (const mountPoint of await mountsBelow(this.root)) await this.unmount(mountPoint);
  }

  pathOf(namespace: string, claim: string): string {
    checkSegment('namespace', namespace);
    checkSegment('claim', claim);
    const dir = path.join(this.root, namespace, claim);
    if (!dir.startsWith(`${this.root}/`)) throw new TetherError('bad-argument', `volume path escapes ${this.root}`);
    return dir;
  }

  get enforcesCapacity(): boolean {
    return this.canMount;
  }

  /**
   * Creates (or reuses) the claim's directory; with `capacityBytes`, mounts a tmpfs of that size on it.
   * Returns whether the directory was created now (so the caller knows to seed it).
   */
  async provision(
    namespace: string,
    claim: string,
    capacityBytes?: number,
  ): Promise<{ path: string; created: boolean; limited: boolean }> {
    const dir = this.pathOf(namespace, claim);
    let created = false;
    try {
      await stat(dir);
    } catch {
      created = true;
    }
    await mkdir(dir, { recursive: true, mode: 0o777 });
    let limited = false;
    if (capacityBytes !== undefined && this.canMount && !this.mounted.has(dir)) {
      const size = Math.max(4096, Math.floor(capacityBytes));
      try {
        await run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0777`, 'tether-lab-pvc', dir]);
      } catch (error) {
        throw new TetherError('internal', `cannot mount a ${size}-byte tmpfs on ${dir}: ${(error as Error).message}`, {
          cause: error,
        });
      }
      this.mounted.set(dir, size);
      limited = true;
      created = true;
    }
    return { path: dir, created, limited: limited || this.mounted.has(dir) };
  }

  /** Grows a size-limited volume in place (tmpfs remount keeps the data). */
  async resize(namespace: string, claim: string, capacityBytes: number): Promise<void> {
    const dir = this.pathOf(namespace, claim);
    if (!this.mounted.has(dir)) return;
    const size = Math.max(4096, Math.floor(capacityBytes));
    await run('mount', ['-o', `remount,size=${size}`, dir]);
    this.mounted.set(dir, size);
  }

  /** Deletes the claim's data (reclaim policy Delete), unmounting first. */
  async release(namespace: string, claim: string): Promise<void> {
    const dir = this.pathOf(namespace, claim);
    if (this.mounted.has(dir)) await this.unmount(dir);
    await rm(dir, { recursive: true, force: true });
  }

  private async unmount(dir: string): Promise<void> {
    try {
      await run('umount', [dir]);
    } catch {
      // Busy (a process still has files open): detach it lazily so the lab can still stop.
      await run('umount', ['-l', dir]).catch(() => undefined);
    }
    this.mounted.delete(dir);
  }

  /** Unmounts every size-limited volume (lab stop); the directories stay. */
  async unmountAll(): Promise<void> {
    for (const dir of [...this.mounted.keys()]) await this.unmount(dir);
    for (const mountPoint of await mountsBelow(this.root)) await this.unmount(mountPoint);
  }
}
