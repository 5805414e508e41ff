import { readlinkSync } from 'node:fs';
import { TetherError } from '../../errors.js';

/**
 * What the two local scans (the worker thread's, `scan.ts`, and find's, `findScan.ts`) say about what they skip and
 * how they stop, word for word: either may list a tree, and a user must not see the difference.
 */

export const BACKSLASH_PROBLEM = 'skipped: the name contains a backslash, which Tether cannot sync; rename it';

/** The problem for the symbolic link at `path` (`abs` on disk), naming its target; links are never followed. */
export function symlinkProblem(path: string, abs: string): string {
  let target: string;
  try {
    target = readlinkSync(abs);
  } catch {
    target = '(unreadable target)';
  }
  return `symlink skipped: ${path} -> ${target} (links are never followed)`;
}

export function scanCancelled(displayName: string): TetherError {
  return new TetherError('cancelled', `scan of ${displayName} cancelled`);
}
