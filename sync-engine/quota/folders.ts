/**
 * Drill-down of a volume: the folders that hold the most bytes, from a listing of every entry below its root.
 * Pure: the caller lists the volume (an endpoint's scan) and passes its entries.
 */

export interface FolderUsage {
  /** Relative to the volume's root. */
  readonly path: string;
  /** Bytes of every file below it, at any depth. */
  readonly bytes: number;
  readonly files: number;
}

export interface ListedEntry {
  readonly path: string;
  readonly kind: 'file' | 'dir' | 'symlink';
  readonly size: number;
}

/**
 * The `limit` folders with the most bytes, down to `depth` levels (1: top-level folders only), largest first
 * (ties by path). A folder counts every file below it, so a parent is never smaller than its children.
 */
export function largestFolders(
  entries: Iterable<ListedEntry>,
  options: { readonly depth: number; readonly limit: number },
): FolderUsage[] {
  const totals = new Map<string, { bytes: number; files: number }>();
  for (const entry of entries) {
    const parts = entry.path.split('/');
    // Invariant: a folder appears even when empty; files add to every ancestor folder up to `depth`.
    if (entry.kind === 'dir' && parts.length <= options.depth && !totals.has(entry.path))
      totals.set(entry.path, { bytes: 0, files: 0 });
    if (entry.kind !== 'file') continue;
    for (let level = 1; level < parts.length && level <= options.depth; level++) {
      const folder = parts.slice(0, level).join('/');
      const total = totals.get(folder) ?? { bytes: 0, files: 0 };
      total.bytes += entry.size;
      total.files++;
      totals.set(folder, total);
    }
  }
  return [...totals]
    .map(([path, t]) => ({ path, bytes: t.bytes, files: t.files }))
    .sort((a, b) => b.bytes - a.bytes || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .slice(0, options.limit);
}
