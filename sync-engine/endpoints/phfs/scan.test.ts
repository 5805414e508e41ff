import { expect, it } from 'vitest';
import type { JournalPort } from './context.js';
import { loadWritten, recordWritten, WRITTEN_JOURNAL_PREFIX } from './scan.js';

function memoryJournal(): JournalPort & { values: Map<string, unknown> } {
  const values = new Map<string, unknown>();
  return {
    values,
    put: (key, value) => void values.set(key, JSON.parse(JSON.stringify(value)) as unknown),
    get: (key) => values.get(key),
    delete: (key) => void values.delete(key),
    list: () => [...values].map(([key, value]) => ({ key, value })),
  };
}

it('keeps what each write call gave its objects, a key written twice under both versions, and skips malformed rows', () => {
  const journal = memoryJournal();
  recordWritten(journal, [
    { key: 'p/a', etag: '"1"', size: 1, metadata: { mtime: '1.000000000' } },
    { key: 'p/b', etag: '"2"', size: 2, metadata: { mtime: '2.000000000', sha256: 'x' } },
  ]);
  recordWritten(journal, [{ key: 'p/a', etag: '"3"', size: 3, metadata: { mtime: '3.000000000' } }]);
  recordWritten(journal, []);
  journal.put(`${WRITTEN_JOURNAL_PREFIX}bad`, [['p/c', 7], 'nonsense', ['p/d', '"4"', 4, { mtime: 5, ok: 'yes' }]]);
  journal.put('s3-metadata-cache', []);

  const { byKey, journalKeys } = loadWritten(journal);
  expect(journalKeys).toHaveLength(3);
  expect(
    byKey
      .get('p/a')
      ?.map((w) => w.etag)
      .sort(),
  ).toEqual(['"1"', '"3"']);
  expect(byKey.get('p/b')).toEqual([
    { key: 'p/b', etag: '"2"', size: 2, metadata: { mtime: '2.000000000', sha256: 'x' } },
  ]);
  expect(byKey.has('p/c')).toBe(false);
  // Only string metadata values are kept.
  expect(byKey.get('p/d')?.[0]?.metadata).toEqual({ ok: 'yes' });
  expect(loadWritten(undefined).byKey.size).toBe(0);
});
