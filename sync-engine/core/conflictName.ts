import { baseName, parentOf } from './entry.js';

/** The longest host name kept in a conflict name; the rest is cut so names stay well under file name limits. */
const MAX_HOST_LENGTH = 63;

/** A host name reduced to `[A-Za-z0-9._-]` (other characters become `-`), never empty. */
export function sanitizeHost(host: string): string {
  const clean = host.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, MAX_HOST_LENGTH);
  return clean === '' ? 'unknown-host' : clean;
}

/** `YYYYMMDD-HHMMSS` in UTC; a time that is not a finite number is read as the epoch. */
export function conflictTimestamp(now: number): string {
  const iso = new Date(Number.isFinite(now) ? now : 0).toISOString(); // 2026-11-23T10:15:00.000Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
}

/** Splits a base name before its last extension: `model.pt` → [`model`, `.pt`]; `.bashrc` and `Makefile` have none. */
function splitExtension(name: string): [stem: string, extension: string] {
  const dot = name.lastIndexOf('.');
  return dot > 0 && dot < name.length - 1 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
}

/**
 * Where the losing version of a conflict is kept, beside the original:
 * `dir/model.pt` → `dir/model.conflict-laptop-20261123-101500.pt` (UTC time; only the last extension moves after the
 * tag, so `a.tar.gz` → `a.tar.conflict-….gz`; `.bashrc` → `.bashrc.conflict-…`; `Makefile` → `Makefile.conflict-…`).
 * When `isTaken` says the name is in use, `-2`, `-3`, … is appended to the tag until a free name is found.
 */
export function conflictName(
  path: string,
  host: string,
  now: number,
  isTaken: (path: string) => boolean = () => false,
): string {
  const parent = parentOf(path);
  const [stem, extension] = splitExtension(baseName(path));
  const tag = `conflict-${sanitizeHost(host)}-${conflictTimestamp(now)}`;
  for (let n = 1; ; n++) {
    const name = `${stem}.${tag}${n === 1 ? '' : `-${n}`}${extension}`;
    const candidate = parent === '' ? name : `${parent}/${name}`;
    if (!isTaken(candidate)) return candidate;
  }
}

/** Whether `candidate` is a conflict copy of `path` as `conflictName` makes them (any host, time or counter). */
export function isConflictCopyOf(candidate: string, path: string): boolean {
  if (parentOf(candidate) !== parentOf(path)) return false;
  const [stem, extension] = splitExtension(baseName(path));
  const name = baseName(candidate);
  if (!name.startsWith(`${stem}.conflict-`) || !name.endsWith(extension)) return false;
  const tag = name.slice(stem.length + 1, name.length - extension.length);
  return /^conflict-[A-Za-z0-9._-]+-\d{8}-\d{6}(-\d+)?$/.test(tag);
}
