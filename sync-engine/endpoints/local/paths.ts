import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidPathReason, parentOf } from '../../core/entry.js';
import { errnoOf, messageOf } from './fsUtil.js';

/** A relative path resolved to an absolute one under the root, or why it cannot be used. */
export type Resolved =
  | { readonly ok: true; readonly abs: string }
  | {
      readonly ok: false;
      readonly reason: string;
      /** True when a parent folder does not exist (so nothing at the path exists either). */
      readonly missing: boolean;
    };

/**
 * Turns relative paths from the engine into absolute paths under `root`, refusing anything that could reach
 * outside it: paths that fail `invalidPathReason` (absolute, `..`, empty segments, backslashes) and paths
 * with a parent folder that is a symbolic link (checked with `lstat`, component by component). The last
 * component itself is the caller's business: callers `lstat` it or open it with `O_NOFOLLOW`.
 */
export class RootedPaths {
  constructor(readonly root: string) {}

  /** Resolves only the syntax (no disk access): for names the caller checks itself. */
  syntax(path: string): Resolved {
    const reason = invalidPathReason(path);
    if (reason !== undefined) return { ok: false, reason: `refused an invalid path (${reason})`, missing: false };
    return { ok: true, abs: join(this.root, path) };
  }

  /**
   * Resolves `path` and checks that every parent folder below the root is a real folder. `verified` (optional)
   * remembers parent folders already checked during one batch of work.
   */
  async resolve(path: string, verified?: Set<string>): Promise<Resolved> {
    const syntax = this.syntax(path);
    if (!syntax.ok) return syntax;
    const refusal = await this.checkFolder(parentOf(path), verified);
    return refusal ?? syntax;
  }

  /**
   * Checks that `dir` (a relative path already validated, '' for the root) and every folder above it are real
   * folders, not links. Answers undefined when they are, else why not.
   */
  async checkFolder(dir: string, verified?: Set<string>): Promise<Resolved | undefined> {
    const chain: string[] = [];
    for (let folder = dir; folder !== ''; folder = parentOf(folder)) {
      if (verified?.has(folder) === true) break;
      chain.push(folder);
    }
    // Check from the top down, so a link high up is reported rather than what lies behind it.
    for (const folder of chain.reverse()) {
      let isDir: boolean;
      try {
        const stats = await lstat(join(this.root, folder));
        if (stats.isSymbolicLink()) {
          return {
            ok: false,
            reason: `refused: the folder ${folder} is a symbolic link, and Tether never reads or writes through links`,
            missing: false,
          };
        }
        isDir = stats.isDirectory();
      } catch (error) {
        const code = errnoOf(error);
        if (code === 'ENOENT' || code === 'ENOTDIR') {
          return { ok: false, reason: `the folder ${folder} does not exist`, missing: true };
        }
        return { ok: false, reason: `cannot examine the folder ${folder}: ${messageOf(error)}`, missing: false };
      }
      if (!isDir) return { ok: false, reason: `${folder} is not a folder`, missing: true };
      verified?.add(folder);
    }
    return undefined;
  }
}
