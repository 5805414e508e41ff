import { expect, it } from 'vitest';
import { parseDf } from './freeSpace.js';

it.each([
  {
    description: 'BusyBox df -P -k on a tmpfs',
    stdout:
      'Filesystem           1024-blocks    Used Available Capacity Mounted on\ntmpfs                    65536      1024     64512   2% /data\n',
    expected: { totalBytes: 65536 * 1024, usedBytes: 1024 * 1024, freeBytes: 64512 * 1024, mountedOn: '/data' },
  },
  {
    description: 'GNU df -P -k with an NFS source holding spaces',
    stdout:
      'Filesystem                1024-blocks      Used Available Capacity Mounted on\nnfs:/export/my data    104857600  52428800  52428800      50% /mnt/my data\n',
    expected: {
      totalBytes: 104857600 * 1024,
      usedBytes: 52428800 * 1024,
      freeBytes: 52428800 * 1024,
      mountedOn: '/mnt/my data',
    },
  },
  {
    description: 'no data line',
    stdout: 'Filesystem 1024-blocks Used Available Capacity Mounted on\n',
    expected: undefined,
  },
])('parseDf: $description', ({ stdout, expected }) => {
  expect(parseDf(stdout)).toEqual(expected);
});
