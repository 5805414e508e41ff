/**
 * Small globs for live-sync rules (marker names, checkpoint folders, selective-sync folders), matched against
 * relative paths as the planner writes them (`a/b/c`, no leading `/`).
 *
 * - `*` matches any run of characters within one segment, `?` one character of a segment;
 * - `**` as a whole segment matches any number of segments (zero included);
 * - a pattern without `/` matches the last segment at any depth (`*.done` matches `run/ckpt.done`), as gitignore
 *   does; a pattern with `/` is anchored at the root (a leading `/` is allowed and dropped).
 *
 * No brace or class syntax: what the rules need, nothing a reader has to look up.
 */
export interface Glob {
  readonly source: string;
  /** Whether `path` (a clean relative path) matches. */
  matches(path: string): boolean;
}

/** Why `pattern` cannot be used as a glob, or undefined when it can. */
export function invalidGlobReason(pattern: string): string | undefined {
  const body = pattern.startsWith('/') ? pattern.slice(1) : pattern;
  if (body.length === 0) return 'a pattern cannot be empty';
  if (body.includes('\0')) return `pattern ${JSON.stringify(pattern)} contains a NUL byte`;
  for (const segment of body.split('/')) {
    if (segment === '') return `pattern ${JSON.stringify(pattern)} has an empty segment ("//" or a trailing "/")`;
    if (segment === '.' || segment === '..') return `pattern ${JSON.stringify(pattern)} may not use "." or ".."`;
  }
  return undefined;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+^${}()|[\]\\]/g, '\\$&');
}

function segmentSource(segment: string): string {
  let source = '';
  for (const char of segment) {
    if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += escapeRegExp(char);
  }
  return source;
}

/** Compiles a glob; throws a `RangeError` naming the problem when `invalidGlobReason` has one. */
export function compileGlob(pattern: string): Glob {
  const reason = invalidGlobReason(pattern);
  if (reason !== undefined) throw new RangeError(reason);
  const anchored = pattern.includes('/');
  const segments = (pattern.startsWith('/') ? pattern.slice(1) : pattern).split('/');
  let source = '';
  segments.forEach((segment, index) => {
    const last = index === segments.length - 1;
    if (segment === '**') source += last ? '.*' : '(?:[^/]+/)*';
    else source += segmentSource(segment) + (last ? '' : '/');
  });
  const regex = new RegExp(anchored ? `^${source}$` : `^(?:.*/)?${source}$`);
  return { source: pattern, matches: (path) => regex.test(path) };
}
