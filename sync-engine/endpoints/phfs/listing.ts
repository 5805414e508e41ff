import type { Entry, Problem } from '../../core/entry.js';
import { invalidPathReason, parentOf } from '../../core/entry.js';
import { isEngineTemporary } from '../../core/temporaries.js';

/**
 * Pure helpers for the S3 endpoint: keys ⇄ relative paths, rclone-compatible mtimes, and turning a flat
 * ListObjectsV2 listing into entries. No SDK calls here, so every rule is table-tested.
 */

/** The metadata names Tether writes (sent as `x-amz-meta-mtime` / `x-amz-meta-sha256`). */
export const META_MTIME = 'mtime';
export const META_SHA256 = 'sha256';

/** The key prefix of a root: '' for a bucket's top, else `prefix/`. */
export function rootPrefixOf(prefix: string): string {
  return prefix === '' ? '' : `${prefix}/`;
}

export function keyOf(rootPrefix: string, path: string): string {
  return `${rootPrefix}${path}`;
}

/**
 * rclone's form of `x-amz-meta-mtime`: seconds since the epoch as a decimal with 9 fraction digits
 * (`swift.TimeToFloatString`, `%.9f`). A double holding ms since the epoch is exact to about 0.25 µs, so the
 * value is rounded to whole microseconds, then written from integer arithmetic (no float noise in the digits).
 */
export function formatMtime(mtimeMs: number): string {
  const totalNs = BigInt(Math.round(mtimeMs * 1000)) * 1000n;
  const negative = totalNs < 0n;
  const abs = negative ? -totalNs : totalNs;
  const seconds = abs / 1_000_000_000n;
  const fraction = (abs % 1_000_000_000n).toString().padStart(9, '0');
  return `${negative ? '-' : ''}${seconds}.${fraction}`;
}

/** Parses rclone's mtime (`1700000000.123456789`, `1700000000`, or a float in exponent form); ms or undefined. */
export function parseMtime(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const trimmed = text.trim();
  const match = /^(-?)(\d{1,15})(?:\.(\d{0,9})\d*)?$/.exec(trimmed);
  if (match !== null) {
    const seconds = Number(match[2]);
    const nanos = Number((match[3] ?? '').padEnd(9, '0'));
    const ms = seconds * 1000 + nanos / 1e6;
    return match[1] === '-' ? -ms : ms;
  }
  const float = Number(trimmed);
  return trimmed !== '' && Number.isFinite(float) ? float * 1000 : undefined;
}

export function isSha256(text: string | undefined): text is string {
  return text !== undefined && /^[0-9a-f]{64}$/.test(text);
}

/** One object of a flat listing, as ListObjectsV2 reports it. */
export interface ListedObject {
  readonly key: string;
  readonly size: number;
  readonly lastModifiedMs: number;
  readonly etag: string;
}

export interface ClassifiedListing {
  /** Files (and their directories, implied by prefixes or dir markers), without mtime metadata yet. */
  readonly files: { path: string; object: ListedObject }[];
  readonly dirs: Map<string, Entry>;
  /** Dir markers (`dir/` keys) by directory path. */
  readonly markers: Map<string, ListedObject>;
  readonly problems: Problem[];
  readonly temporaries: string[];
}

/**
 * Classifies the keys under `rootPrefix`: `a/b/` zero-byte keys are directory markers, every other key is a
 * file whose parents are directories. Keys that do not make a clean relative path (`a//b`, `../x`, a
 * non-empty `dir/` object) become problems; engine temporaries are reported apart.
 */
export function classifyListing(
  rootPrefix: string,
  objects: readonly ListedObject[],
  ignore?: (path: string, isDir: boolean) => boolean,
): ClassifiedListing {
  const files: { path: string; object: ListedObject }[] = [];
  const dirs = new Map<string, Entry>();
  const markers = new Map<string, ListedObject>();
  const problems: Problem[] = [];
  const temporaries: string[] = [];
  const ignoredDirs = new Set<string>();
  const ignoredBelow = (path: string): boolean => {
    for (let parent = parentOf(path); parent !== ''; parent = parentOf(parent)) {
      if (ignoredDirs.has(parent)) return true;
    }
    return false;
  };
  // Invariant: a directory is listed once, whatever number of keys imply it; parents before children.
  const addDirs = (path: string): boolean => {
    const chain: string[] = [];
    for (let dir = path; dir !== ''; dir = parentOf(dir)) chain.push(dir);
    for (const dir of chain.reverse()) {
      if (ignoredDirs.has(dir)) return false;
      if (dirs.has(dir)) continue;
      if (ignore?.(dir, true) === true) {
        ignoredDirs.add(dir);
        return false;
      }
      dirs.set(dir, { path: dir, kind: 'dir', size: 0, mtimeMs: 0, executable: false });
    }
    return true;
  };
  for (const object of objects) {
    if (!object.key.startsWith(rootPrefix)) continue;
    const rest = object.key.slice(rootPrefix.length);
    if (rest === '') continue; // the root's own marker
    const isMarker = rest.endsWith('/');
    const path = isMarker ? rest.slice(0, -1) : rest;
    const reason = invalidPathReason(path);
    if (reason !== undefined) {
      problems.push({ path: rest, message: `object key "${object.key}" cannot be a file here: ${reason}` });
      continue;
    }
    if (isMarker && object.size !== 0) {
      problems.push({ path, message: `object key "${object.key}" ends with "/" but holds ${object.size} bytes` });
      continue;
    }
    const base = path.slice(path.lastIndexOf('/') + 1);
    if (!isMarker && isEngineTemporary(base)) {
      temporaries.push(path);
      continue;
    }
    if (ignoredBelow(path)) continue;
    if (isMarker) {
      if (addDirs(path)) markers.set(path, object);
      continue;
    }
    if (!addDirs(parentOf(path))) continue;
    if (ignore?.(path, false) === true) continue;
    files.push({ path, object });
  }
  // A key that is both a file and a folder prefix (`a` and `a/b`) cannot exist on a disk.
  const clashing = new Set(files.filter((f) => dirs.has(f.path)).map((f) => f.path));
  for (const path of clashing) {
    problems.push({ path, message: `"${path}" is both an object and a folder prefix in the bucket; rename one` });
  }
  return {
    files: clashing.size === 0 ? files : files.filter((f) => !clashing.has(f.path)),
    dirs,
    markers,
    problems,
    temporaries,
  };
}

/** A file entry from a listed object and its user metadata (keys lower-case, as the SDK returns them). */
export function fileEntryOf(path: string, object: ListedObject, metadata: Readonly<Record<string, string>>): Entry {
  const mtimeMs = parseMtime(metadata[META_MTIME]) ?? object.lastModifiedMs;
  const sha = metadata[META_SHA256]?.toLowerCase();
  return {
    path,
    kind: 'file',
    size: object.size,
    mtimeMs,
    executable: false,
    ...(isSha256(sha) ? { sha256: sha } : {}),
  };
}
