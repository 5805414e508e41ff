import ignore from 'ignore';
import { invalidPathReason } from './entry.js';
import { isEngineTemporary } from './temporaries.js';

export interface IgnoreOptions {
  /** Match names regardless of case (as git does with `core.ignorecase`); off by default. */
  readonly ignoreCase?: boolean;
}

/** What a matcher is built from: plain data, so a scan running in another thread can build the same matcher. */
export interface IgnoreRules {
  readonly patterns: readonly string[];
  readonly tetherignoreText?: string;
  readonly options?: IgnoreOptions;
}

/** Decides whether a path (relative to the pair's root) is left out of scans and syncs. */
export interface IgnoreMatcher {
  (path: string, isDir: boolean): boolean;
  /** The rules it was built from, when it comes from `createIgnoreMatcher`. */
  readonly rules?: IgnoreRules;
}

/** Whether any segment of the path is one of the engine's own temporary names. */
function underEngineTemporary(path: string): boolean {
  let start = 0;
  while (start <= path.length) {
    let end = path.indexOf('/', start);
    if (end < 0) end = path.length;
    if (isEngineTemporary(path.slice(start, end))) return true;
    start = end + 1;
  }
  return false;
}

/**
 * Builds the matcher for a pair's ignore rules: the pair's patterns, then the `.tetherignore` file's text, both in
 * gitignore syntax (later rules win, `!` negates, a trailing `/` matches directories only, and everything below an
 * ignored directory is ignored). Directories are matched with a trailing `/`, as git does.
 *
 * The engine's temporary files and staging folders are always ignored, whatever the rules say: no `!` pattern can
 * bring them into a sync. Paths that are not clean relative paths are never reported as ignored, so the planner
 * sees them and reports them as problems.
 */
export function createIgnoreMatcher(
  patterns: readonly string[],
  tetherignoreText?: string,
  options: IgnoreOptions = {},
): IgnoreMatcher {
  const source: IgnoreRules =
    tetherignoreText === undefined
      ? { patterns: [...patterns], options: { ...options } }
      : { patterns: [...patterns], tetherignoreText, options: { ...options } };
  return Object.assign(matcherOf(source), { rules: source });
}

/** Builds the matcher for rules that crossed a thread boundary (see `IgnoreMatcher.rules`). */
export function matcherFromRules(rules: IgnoreRules): IgnoreMatcher {
  return createIgnoreMatcher(rules.patterns, rules.tetherignoreText, rules.options);
}

/**
 * Whether the matcher leaves out anything besides the engine's own temporaries (which a scan that already passes
 * them over need not ask about). A bare function, whose rules are unknown, counts as having rules.
 */
export function hasUserRules(matcher: IgnoreMatcher): boolean {
  return matcher.rules === undefined || anyRule(matcher.rules);
}

/** Whether the rules hold at least one pattern (blank lines are none). */
function anyRule({ patterns, tetherignoreText }: IgnoreRules): boolean {
  return patterns.some((p) => p.trim() !== '') || (tetherignoreText ?? '').trim() !== '';
}

function matcherOf(source: IgnoreRules): (path: string, isDir: boolean) => boolean {
  const { patterns, tetherignoreText, options = {} } = source;
  // Most pairs have no rules: then only the engine's own names are left out, without asking the matcher.
  if (!anyRule(source)) return (path) => underEngineTemporary(path);
  const rules = ignore({ ignorecase: options.ignoreCase ?? false });
  rules.add(patterns);
  if (tetherignoreText !== undefined) rules.add(tetherignoreText);
  return (path, isDir) => {
    if (underEngineTemporary(path)) return true;
    if (invalidPathReason(path) !== undefined) return false;
    return rules.ignores(isDir ? `${path}/` : path);
  };
}
