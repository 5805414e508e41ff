import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { describe, expect, it } from 'vitest';
import { exitCodeOfStatus } from './execClient.js';
import { parseProbe } from './probe.js';
import { parseScan } from './remoteScan.js';
import { expectedState } from './remoteTreeOps.js';
import { checkTarEntry } from './tarDownload.js';
import { tarSize } from './tarUpload.js';

/** The scan's stdout as the pod prints it: names NUL-terminated, the marker, then stat lines. */
function scanOutput(names: readonly string[], statLines: readonly string[]): Buffer {
  return Buffer.from(
    `${names.map((n) => `./${n}\0`).join('')}\0--tether-stat--\0${statLines.map((l) => `${l}\n`).join('')}`,
  );
}

describe('parseScan', () => {
  it('reads files, folders, modes and times; skips engine temporaries and reports other kinds', () => {
    const result = parseScan(
      scanOutput(
        [
          'a',
          'a/run.sh',
          'a/empty',
          'link',
          '.tether-partial-0123456789abcdef',
          '.tether-staging-ab',
          '.tether-staging-ab/0',
        ],
        [
          'directory|4096|1700000000|755|./a',
          'regular file|12|1700000001|755|./a/run.sh',
          'regular empty file|0|1700000002|644|./a/empty',
          'symbolic link|3|1700000003|777|./link',
          'regular file|5|1700000004|644|./.tether-partial-0123456789abcdef',
          'directory|4096|1700000005|755|./.tether-staging-ab',
          'regular file|1|1700000006|644|./.tether-staging-ab/0',
        ],
      ),
      '',
    );
    expect(result.entries).toEqual([
      { path: 'a', kind: 'dir', size: 0, mtimeMs: 1_700_000_000_000, executable: false },
      { path: 'a/run.sh', kind: 'file', size: 12, mtimeMs: 1_700_000_001_000, executable: true },
      { path: 'a/empty', kind: 'file', size: 0, mtimeMs: 1_700_000_002_000, executable: false },
    ]);
    expect(result.temporaries).toEqual(['.tether-partial-0123456789abcdef', '.tether-staging-ab']);
    expect(result.problems).toEqual([{ path: 'link', message: 'symbolic links are not synced' }]);
  });

  it('never misreads a name with a line break, even one crafted to look like another stat line', () => {
    const hostile = 'x\nregular file|1|2|644|./victim';
    const result = parseScan(
      scanOutput(
        ['victim', hostile, 'ok'],
        [
          'regular file|9|1700000000|644|./victim',
          `regular file|3|1700000000|644|./${hostile}`,
          'regular file|2|1700000000|644|./ok',
        ],
      ),
      '',
    );
    expect(result.entries.map((e) => e.path)).toEqual(['ok']);
    expect(result.problems.map((p) => p.path)).toEqual(['victim', hostile]);
  });

  it('marks folders find could not read as unlisted, and an empty tree as empty', () => {
    const result = parseScan(
      scanOutput(['locked'], ['directory|4096|1700000000|0|./locked']),
      'find: ./locked: Permission denied\n',
    );
    expect(result.unlisted).toEqual(['locked']);
    expect(parseScan(scanOutput([], []), '').entries).toEqual([]);
  });

  it('refuses output without the marker (a cut listing is never an empty tree)', () => {
    expect(() => parseScan(Buffer.from('./a\0./b\0'), '')).toThrow(/no stat section/);
  });

  it('applies ignore rules and does not descend into ignored folders', () => {
    const result = parseScan(
      scanOutput(
        ['node_modules', 'node_modules/x', 'keep'],
        ['directory|1|1|755|./node_modules', 'regular file|1|1|644|./node_modules/x', 'regular file|1|1|644|./keep'],
      ),
      '',
      (path) => path === 'node_modules',
    );
    expect(result.entries.map((e) => e.path)).toEqual(['keep']);
  });
});

describe('checkTarEntry', () => {
  const cases: [string, { name: string; type: tar.Header['type'] }, string][] = [
    ['the expected file', { name: './a/b.txt', type: 'file' }, 'match'],
    ['another name (a vanished file before it)', { name: './c.txt', type: 'file' }, 'other'],
    [
      'an absolute path',
      { name: '/etc/passwd', type: 'file' },
      'the archive from the pod holds an unsafe entry (absolute path)',
    ],
    [
      'a dot-dot escape',
      { name: './../../x', type: 'file' },
      'the archive from the pod holds an unsafe entry (path has a ".." segment)',
    ],
    [
      'a symlink in the file’s place',
      { name: './a/b.txt', type: 'symlink' },
      'the pod sent a symlink entry instead of a file',
    ],
    [
      'a device in the file’s place',
      { name: './a/b.txt', type: 'character-device' },
      'the pod sent a character-device entry instead of a file',
    ],
  ];
  it.each(cases)('%s', (_what, header, verdict) => {
    expect(checkTarEntry(header, 'a/b.txt')).toBe(verdict);
  });
});

describe('tarSize', () => {
  it('is exactly the size tar-stream packs (so v4 uploads can be length-framed)', async () => {
    const sizes = [0, 1, 511, 512, 513, 70_000];
    const pack = tar.pack();
    sizes.forEach((size, i) =>
      pack.entry({ name: String(i), size, mtime: new Date(1_700_000_000_000), mode: 0o644 }, Buffer.alloc(size, 1)),
    );
    pack.finalize();
    let total = 0;
    for await (const chunk of Readable.from(pack as AsyncIterable<Buffer>)) total += (chunk as Buffer).length;
    expect(total).toBe(tarSize(sizes));
  });
});

describe('exitCodeOfStatus', () => {
  it.each([
    ['{"metadata":{},"status":"Success"}', { exitCode: 0 }],
    [
      '{"metadata":{},"status":"Failure","reason":"NonZeroExitCode","details":{"causes":[{"reason":"ExitCode","message":"3"}]}}',
      { exitCode: 3 },
    ],
    ['{"status":"Failure","message":"container not found"}', { error: 'container not found' }],
    ['not json', { error: 'unreadable exec status: not json' }],
  ])('%s', (text, expected) => {
    expect(exitCodeOfStatus(text)).toEqual(expected);
  });
});

describe('parseProbe and expectedState', () => {
  it('reads the probe', () => {
    expect(parseProbe('missing sha256sum\ngnu\nwritable\ndd-count-bytes\n')).toEqual({
      userland: 'gnu',
      missing: ['sha256sum'],
      writable: true,
      ddCountBytes: true,
    });
    expect(parseProbe('busybox\nread-only\n')).toEqual({
      userland: 'busybox',
      missing: [],
      writable: false,
      ddCountBytes: false,
    });
  });
  it('describes entries the way the pod describes what it sees', () => {
    expect(expectedState(undefined)).toBe('none');
    expect(expectedState({ path: 'd', kind: 'dir', size: 0, mtimeMs: 5, executable: false })).toBe('dir');
    expect(expectedState({ path: 'f', kind: 'file', size: 7, mtimeMs: 1_700_000_000_999, executable: false })).toBe(
      'file|7|1700000000',
    );
  });
});
