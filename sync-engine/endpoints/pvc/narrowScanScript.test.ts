import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { narrowScanScript, parseScan } from './remoteScan.js';

/**
 * The narrowed scan's shell script, run here by the two shells pods have (BusyBox ash, and dash as Debian's sh)
 * as an unprivileged user (root searches any folder), on a folder with a link and a folder it may not search.
 * The lab tests run it in pods; these cover what the lab's root pods cannot show.
 */
const made: string[] = [];
afterEach(() => {
  for (const dir of made.splice(0)) {
    spawnSync('chmod', ['-R', 'u+rwx', dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});

function tree(): string {
  const root = mkdtempSync(join(tmpdir(), 'tether-narrow-sh-'));
  made.push(root);
  const outside = join(root, 'outside');
  mkdirSync(join(outside, 'sub'), { recursive: true });
  writeFileSync(join(outside, 'sub', 'secret.txt'), 'outside the root');
  const inside = join(root, 'in');
  mkdirSync(join(inside, 'data', 'a'), { recursive: true });
  writeFileSync(join(inside, 'data', 'a', 'x.bin'), 'x');
  mkdirSync(join(inside, 'locked'));
  writeFileSync(join(inside, 'locked', 'f.txt'), 'f');
  symlinkSync(outside, join(inside, 'data', 'link'));
  chmodSync(join(inside, 'locked'), 0o600); // readable, not searchable
  // The unprivileged user must reach the tree.
  chmodSync(root, 0o755);
  return inside;
}

function run(shell: readonly string[], cwd: string, args: readonly string[]): { stdout: Buffer; stderr: string } {
  const result = spawnSync(
    'setpriv',
    ['--reuid=65534', '--regid=65534', '--clear-groups', ...shell, '-c', narrowScanScript, 'sh', ...args],
    { cwd },
  );
  if (result.status !== 0) throw new Error(`the script failed (${result.status}): ${result.stderr.toString()}`);
  return { stdout: result.stdout, stderr: result.stderr.toString() };
}

describe.each([
  ['BusyBox ash', ['busybox', 'sh']],
  ['dash', ['dash']],
])('the narrowed scan script under %s', (_name, shell) => {
  it('lists a folder root below real folders only, and reports a folder it cannot search as unlisted', () => {
    const root = tree();
    const { stdout, stderr } = run(shell, root, [
      './data',
      './data/link',
      './locked',
      ':roots:',
      './data/a',
      './data/link/sub',
      './locked/f.txt',
      './nothing',
    ]);
    const scan = parseScan(stdout, stderr);
    expect(scan.entries.map((e) => `${e.kind} ${e.path}`).sort()).toEqual([
      'dir data',
      'dir data/a',
      // Looked up by name through the link, never listed below it; the controller drops it (its parent is a link).
      'dir data/link/sub',
      'dir locked',
      'file data/a/x.bin',
    ]);
    expect(scan.problems.map((p) => p.path)).toEqual(['data/link']);
    // `locked/f.txt` exists but cannot be looked at: its folder is unlisted, so it is never read as deleted.
    expect(scan.unlisted).toEqual(['locked']);
  });
});
