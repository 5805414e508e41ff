import { describe, expect, it } from 'vitest';
import { claimedUploads } from './uploadMarkers.js';
import type { PendingUpload, UploadClaim } from './uploadMarkers.js';

const T = 1_700_000_000_000;
const key = 'groups/vision/data/big.bin';
const pending: PendingUpload[] = [
  { key, uploadId: 'before', initiated: T - 5000 },
  { key, uploadId: 'just-before', initiated: T - 500 },
  { key, uploadId: 'after', initiated: T + 3000 },
  { key: `${key}.other`, uploadId: 'other-key', initiated: T + 3000 },
  { key: 'groups/vision/data/big', uploadId: 'prefix-of-key', initiated: T + 3000 },
];

describe('claimedUploads', () => {
  const cases: { description: string; claim: UploadClaim; expected: string[] }[] = [
    {
      description: 'a marker with an upload id claims exactly that upload',
      claim: { key, uploadId: 'before', since: T },
      expected: ['before'],
    },
    {
      description: 'an id that is not pending claims nothing',
      claim: { key, uploadId: 'gone', since: T },
      expected: [],
    },
    {
      description: 'without an id: uploads of the same key started since the marker (1 s slack), never earlier ones',
      claim: { key, since: T },
      expected: ['just-before', 'after'],
    },
    {
      description: 'never an upload of another key, even one that shares a prefix',
      claim: { key: 'groups/vision/data/big', since: T + 10_000 },
      expected: [],
    },
  ];
  it.each(cases)('$description', ({ claim, expected }) => {
    expect(claimedUploads(claim, pending).map((u) => u.uploadId)).toEqual(expected);
  });
});
