import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { TetherError } from '../../sync-engine/errors.js';
import type { HostUserland, HostTopLevelEntry } from './sandboxLayout.js';

/** What the host must provide, found once when the runtime is created. */
export interface HostTools {
  readonly bwrapPath: string;
  readonly bwrapVersion: string;
  readonly busyboxPath: string;
  /** BusyBox's applets (`sh`, `tar`, `find`…), from `busybox --list`. */
  readonly applets: readonly string[];
}

function missing(what: string, toolPath: string, debianPackage: string, detail: string): TetherError {
  return new TetherError(
    'internal',
    `the lab cannot run pods: ${what} (${toolPath}) ${detail}. Install the Debian package ${debianPackage} ` +
      `(apt-get install ${debianPackage}), or run the lab on a machine that has it.`,
  );
}

const appletPattern = /^[A-Za-z0-9_[\].+-]+$/;

/** Checks that bubblewrap and a static BusyBox are there and work; throws a TetherError naming the package if not. */
export function findHostTools(bwrapPath: string, busyboxPath: string): HostTools {
  const bwrap = spawnSync(bwrapPath, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (bwrap.error !== undefined || bwrap.status !== 0) {
    const detail = bwrap.error === undefined ? `exited with ${bwrap.status ?? bwrap.signal}` : bwrap.error.message;
    throw missing('bubblewrap', bwrapPath, 'bubblewrap', `does not run (${detail})`);
  }
  const busybox = spawnSync(busyboxPath, ['--list'], { encoding: 'utf8', timeout: 10_000 });
  if (busybox.error !== undefined || busybox.status !== 0) {
    const detail =
      busybox.error === undefined ? `exited with ${busybox.status ?? busybox.signal}` : busybox.error.message;
    throw missing('BusyBox', busyboxPath, 'busybox-static', `does not run (${detail})`);
  }
  const applets = busybox.stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((name) => appletPattern.test(name) && name !== 'busybox');
  if (!applets.includes('sh')) throw missing('BusyBox', busyboxPath, 'busybox-static', 'has no "sh" applet');
  return { bwrapPath, bwrapVersion: bwrap.stdout.trim(), busyboxPath, applets };
}

const topLevelNames = ['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32'];

/** The pieces of /etc GNU programs read: users, name resolution, the dynamic linker, Debian's alternatives, TLS roots. */
const etcNames = [
  'passwd',
  'group',
  'hosts',
  'host.conf',
  'resolv.conf',
  'nsswitch.conf',
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'localtime',
  'alternatives',
  'ssl',
  'ca-certificates',
  'os-release',
  'debian_version',
  'protocols',
  'services',
  'mime.types',
];

/** How the host lays out its GNU userland (merged /usr or not; which /etc pieces exist). */
export function probeHostUserland(): HostUserland {
  const topLevel: HostTopLevelEntry[] = [];
  for (const name of topLevelNames) {
    const hostPath = `/${name}`;
    let stats;
    try {
      stats = lstatSync(hostPath);
    } catch {
      continue;
    }
    if (stats.isSymbolicLink()) topLevel.push({ name, kind: 'symlink', target: readlinkSync(hostPath) });
    else if (stats.isDirectory()) topLevel.push({ name, kind: 'directory' });
  }
  const etc = etcNames.map((name) => `/etc/${name}`).filter((file) => existsSync(file));
  return { topLevel, etc };
}

/**
 * The shared BusyBox "image": a directory `bin/` of applet symlinks to `busybox` (the binary itself is bound
 * over the empty `bin/busybox` file). Named after the applet list, so a changed BusyBox gets a new directory;
 * built aside and renamed into place, so concurrent builders cannot see half of it.
 */
export async function prepareBusyboxImage(stateDir: string, applets: readonly string[]): Promise<string> {
  const digest = createHash('sha256').update(applets.join('\n')).digest('hex').slice(0, 12);
  const imageDir = path.join(stateDir, 'images', `busybox-${digest}`);
  const binDir = path.join(imageDir, 'bin');
  if (existsSync(binDir)) return binDir;
  const building = path.join(imageDir, `bin.building-${process.pid}-${Date.now()}`);
  await mkdir(building, { recursive: true });
  await writeFile(path.join(building, 'busybox'), '', { mode: 0o755 });
  for (const applet of applets) await symlink('busybox', path.join(building, applet));
  try {
    await rename(building, binDir);
  } catch (error) {
    // Someone else finished first: use theirs.
    await rm(building, { recursive: true, force: true });
    if (!existsSync(binDir)) throw error;
  }
  return binDir;
}
