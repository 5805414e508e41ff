import { TetherError } from '../errors.js';
import type { Tree } from './entry.js';
import type { Plan, Side } from './plan.js';

/**
 * Safety checks between planning and transferring. Each is a pure function that returns a verdict and never throws;
 * the controller turns a failed verdict into a halted pair unless the user passed `--force`.
 */
export type SafetyVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly code: 'root-emptied' | 'too-many-deletes'; readonly message: string };

/** The delete guard: at most `count` files, or at most `percent` % of the pair's files, per sync. */
export type MaxDelete =
  { readonly kind: 'count'; readonly count: number } | { readonly kind: 'percent'; readonly percent: number };

const OK: SafetyVerdict = { ok: true };

/** 1234567 → `1,234,567` (the same on every machine, unlike `toLocaleString`). */
export function formatCount(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function plural(n: number, one: string, many: string): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

function countFiles(tree: Tree): number {
  let files = 0;
  for (const entry of tree.values()) if (entry.kind !== 'dir') files++;
  return files;
}

const ROOT_NAMES: Readonly<Record<Side, string>> = { local: 'the local folder', remote: 'the remote root' };
const ROOT_HINTS: Readonly<Record<Side, string>> = {
  local: 'Check the folder is there (a disk that is not mounted?)',
  remote: 'Check the remote is mounted/reachable (the right volume, bucket and prefix?)',
};

/**
 * Halts when one side lost every file it had: a scan of an unmounted volume or a wrong prefix looks exactly like
 * "everything was deleted", and propagating that would wipe the other side. Files and symlinks count; directories
 * left behind do not.
 */
export function checkRootsNotEmptied(ancestor: Tree, local: Tree, remote: Tree): SafetyVerdict {
  const had = countFiles(ancestor);
  if (had === 0) return OK;
  const emptied = (['local', 'remote'] as const).filter((side) => countFiles(side === 'local' ? local : remote) === 0);
  if (emptied.length === 0) return OK;
  const what =
    emptied.length === 2
      ? 'both the local folder and the remote root are empty (no files left)'
      : `${ROOT_NAMES[emptied[0] ?? 'local']} is empty (no files left)`;
  const hint = emptied.map((side) => ROOT_HINTS[side]).join('. ');
  return {
    ok: false,
    code: 'root-emptied',
    message:
      `${what} but ${emptied.length === 2 ? 'they' : 'it'} had ${plural(had, 'file', 'files')} at the last sync; ` +
      `refusing to treat that as deleting everything. ${hint}; run with --force if you really emptied it.`,
  };
}

/** Reads a delete limit as the user writes it: `200` (files) or `50%` (of the pair's files). Throws `bad-argument`. */
export function parseMaxDelete(text: string): MaxDelete {
  const value = text.trim();
  const usage = "give a number of files (e.g. 200) or a percentage of the pair's files (e.g. 50%)";
  if (/^\d+$/.test(value)) {
    const count = Number(value);
    if (!Number.isSafeInteger(count)) {
      throw new TetherError('bad-argument', `invalid max-delete "${text}": the number is too large; ${usage}`);
    }
    return { kind: 'count', count };
  }
  const percent = /^(\d+(?:\.\d+)?)\s*%$/.exec(value);
  if (percent?.[1] !== undefined) {
    const amount = Number(percent[1]);
    if (amount > 100) {
      throw new TetherError('bad-argument', `invalid max-delete "${text}": a percentage cannot exceed 100%; ${usage}`);
    }
    return { kind: 'percent', percent: amount };
  }
  throw new TetherError('bad-argument', `invalid max-delete "${text}": ${usage}`);
}

/** `200` or `50%`, as `parseMaxDelete` reads it. */
export function formatMaxDelete(limit: MaxDelete): string {
  return limit.kind === 'count' ? String(limit.count) : `${limit.percent}%`;
}

/** The number of files a limit allows for a pair that had `pairFileCount` files at the last sync. */
export function deleteAllowance(limit: MaxDelete, pairFileCount: number): number {
  return limit.kind === 'count' ? limit.count : Math.floor((pairFileCount * limit.percent) / 100);
}

/**
 * Halts when the plan deletes more files than the limit allows, both sides together. Files and symlinks count
 * (also those moved aside to be replaced by a directory); directories do not. `ancestorFileCount` is the number of
 * files at the last sync, the base of a percentage.
 */
export function checkDeleteLimit(plan: Plan, ancestorFileCount: number, maxDelete: MaxDelete): SafetyVerdict {
  const deletes = { local: 0, remote: 0 };
  for (const side of ['local', 'remote'] as const) {
    for (const action of plan[side]) if (action.kind === 'delete' && action.expected.kind !== 'dir') deletes[side]++;
  }
  const total = deletes.local + deletes.remote;
  const allowed = deleteAllowance(maxDelete, ancestorFileCount);
  if (total <= allowed) return OK;
  const limit =
    maxDelete.kind === 'count'
      ? `the limit of ${formatCount(allowed)}`
      : `the limit of ${formatCount(allowed)} (${formatMaxDelete(maxDelete)} of the pair's ${plural(ancestorFileCount, 'file', 'files')})`;
  return {
    ok: false,
    code: 'too-many-deletes',
    message:
      `this sync would delete ${plural(total, 'file', 'files')} (${formatCount(deletes.local)} local, ` +
      `${formatCount(deletes.remote)} remote), more than ${limit}. Review them with --dry-run; if they are ` +
      `intended, run with --force or raise --max-delete.`,
  };
}
