import type { Entry } from './entry.js';
import { parentOf } from './entry.js';

/**
 * The engine's own temporary names. Every endpoint writes a file's content to a partial file beside the
 * target and renames it into place; staging folders hold tar batches on remote volumes. Scans never list
 * these as entries (they are reported as `temporaries`), and ignore rules cannot un-ignore them.
 */
export const PARTIAL_PREFIX = '.tether-partial-';
export const STAGING_PREFIX = '.tether-staging-';

export function isEngineTemporary(baseName: string): boolean {
  return baseName.startsWith(PARTIAL_PREFIX) || baseName.startsWith(STAGING_PREFIX);
}

/** 64-bit FNV-1a over UTF-16 code units, as 16 hex digits: a stable name, not a security hash. */
export function fingerprint(text: string): string {
  let hash = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  const mask = 0xffffffffffffffffn;
  for (let i = 0; i < text.length; i++) {
    hash ^= BigInt(text.charCodeAt(i));
    hash = (hash * prime) & mask;
  }
  return hash.toString(16).padStart(16, '0');
}

/**
 * The partial file that receives `entry`'s content before it is renamed to `entry.path`. The name depends on
 * the path and on the exact source version (size, mtime, hash), so an interrupted transfer of the same version
 * resumes into the same partial file, and a partial file of an older version is never mistaken for it.
 */
export function partialPathFor(path: string, entry: Entry): string {
  const id = fingerprint(`${path}\0${entry.size}\0${entry.mtimeMs}\0${entry.sha256 ?? ''}`);
  const parent = parentOf(path);
  const name = `${PARTIAL_PREFIX}${id}`;
  return parent === '' ? name : `${parent}/${name}`;
}
