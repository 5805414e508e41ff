import type { Entry, Problem } from '../entry.js';
import { narrowListing, type NarrowScope } from '../narrowScope.js';

/** A scan's result as plain data (what `ScanResult` holds, without the I/O types). */
interface Listing {
  readonly entries: readonly Entry[];
  readonly problems: readonly Problem[];
  readonly temporaries: readonly string[];
  readonly unlisted: readonly string[];
}

/** What the controller keeps of a scan for a narrowed sync, each list in path order, for tests to compare. */
export function narrowedView(
  scan: Listing,
  scope: NarrowScope,
): {
  readonly entries: Entry[];
  readonly problems: Problem[];
  readonly temporaries: string[];
  readonly unlisted: string[];
} {
  const { tree, findings } = narrowListing(new Map(scan.entries.map((e) => [e.path, e])), scan, scope);
  const byPath = (a: { path: string }, b: { path: string }): number => (a.path < b.path ? -1 : 1);
  return {
    entries: [...tree.values()].sort(byPath),
    problems: [...findings.problems].sort(byPath),
    temporaries: [...findings.temporaries].sort(),
    unlisted: [...findings.unlisted].sort(),
  };
}
