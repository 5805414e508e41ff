import { describe, expect, it } from 'vitest';
import {
  bareEtagOf,
  multipartEtag,
  decodeContinuationToken,
  encodeContinuationToken,
  groupByDelimiter,
  v1ResultToV2,
  v2QueryToV1,
} from './s3rverFixes.js';

describe('groupByDelimiter', () => {
  const keys = ['groups/nlp/corpus/a', 'groups/vision/big.bin', 'groups/vision/models/m1', 'groups/x', 'other/y'];

  it('reports folders that hold only deeper objects', () => {
    expect(groupByDelimiter(keys, 'groups/', '/', '')).toEqual({
      keys: new Set(['groups/x']),
      prefixes: ['groups/nlp/', 'groups/vision/'],
    });
  });

  it('lists the top level and respects startAfter', () => {
    expect(groupByDelimiter(keys, '', '/', '')).toEqual({ keys: new Set(), prefixes: ['groups/', 'other/'] });
    expect(groupByDelimiter(keys, 'groups/', '/', 'groups/nlp/')).toEqual({
      keys: new Set(['groups/x']),
      prefixes: ['groups/vision/'],
    });
  });
});

describe('ListObjectsV2 over V1', () => {
  it('turns a continuation token or start-after into a marker', () => {
    const token = encodeContinuationToken('groups/vision/b');
    expect(
      v2QueryToV1([
        ['list-type', '2'],
        ['prefix', 'groups/'],
        ['continuation-token', token],
        ['max-keys', '2'],
      ]),
    ).toEqual([
      ['prefix', 'groups/'],
      ['max-keys', '2'],
      ['marker', 'groups/vision/b'],
    ]);
    expect(
      v2QueryToV1([
        ['list-type', '2'],
        ['start-after', 'a'],
      ]),
    ).toEqual([['marker', 'a']]);
    expect(decodeContinuationToken(token)).toBe('groups/vision/b');
  });

  it('answers in V2 form with the next token after the last key', () => {
    const v1 =
      '<?xml version="1.0"?><ListBucketResult><Name>phfs</Name><Prefix>g/</Prefix><Marker></Marker><MaxKeys>2</MaxKeys><IsTruncated>true</IsTruncated>' +
      '<Contents><Key>g/a&amp;1</Key><Size>1</Size></Contents><Contents><Key>g/b</Key><Size>2</Size></Contents></ListBucketResult>';
    const v2 = v1ResultToV2(v1, [
      ['list-type', '2'],
      ['prefix', 'g/'],
      ['max-keys', '2'],
    ]);
    expect(v2).toContain('<KeyCount>2</KeyCount>');
    expect(v2).toContain('<IsTruncated>true</IsTruncated>');
    expect(v2).toContain(`<NextContinuationToken>${encodeContinuationToken('g/b')}</NextContinuationToken>`);
    expect(v2).toContain('<Contents><Key>g/a&amp;1</Key><Size>1</Size></Contents>');
    expect(v2).not.toContain('<Marker>');
    const last = v1ResultToV2(v1.replace('<IsTruncated>true', '<IsTruncated>false'), [['list-type', '2']]);
    expect(last).not.toContain('NextContinuationToken');
  });

  it('gives keys escaped once, as S3 does, where s3rver escapes them twice (he.escape, then its XML builder)', () => {
    // The key `g/this&that it's <x>` as s3rver lists it.
    const v1 =
      '<?xml version="1.0"?><ListBucketResult><Name>phfs</Name><IsTruncated>false</IsTruncated>' +
      '<Contents><Key>g/this&amp;amp;that it&amp;#x27;s &amp;lt;x&amp;gt;</Key><Size>1</Size></Contents>' +
      '<CommonPrefixes><Prefix>g/&amp;amp;amp;/</Prefix></CommonPrefixes></ListBucketResult>';
    const plain = v1ResultToV2(v1, [['list-type', '2']]);
    expect(plain).toContain("<Key>g/this&amp;that it's &lt;x&gt;</Key>");
    // A folder whose name is the text `&amp;` stays exactly that.
    expect(plain).toContain('<Prefix>g/&amp;amp;/</Prefix>');
    const encoded = v1ResultToV2(v1, [
      ['list-type', '2'],
      ['encoding-type', 'url'],
    ]);
    expect(encoded).toContain("<Key>g/this%26that%20it's%20%3Cx%3E</Key>");
    expect(encoded).toContain('<Prefix>g/%26amp%3B/</Prefix>');
  });
});

describe('multipartEtag', () => {
  it('is the MD5 of the binary part MD5s with the part count, as S3 computes it', () => {
    // Two parts whose MD5s are those of "a" and "b".
    expect(multipartEtag(['0cc175b9c0f1b6a831c399e269772661', '92eb5ffee6ae2fec3ad71c777531578f'])).toBe(
      '96e024ba2074fe77e8e965ba43a704be-2',
    );
  });
});

describe('encoding-type=url', () => {
  it('percent-encodes keys and prefixes so that a + survives unquote_plus', () => {
    const v1 =
      '<ListBucketResult><Name>phfs</Name><IsTruncated>false</IsTruncated><Contents><Key>g/b c+d&amp;e.txt</Key></Contents><CommonPrefixes><Prefix>g/sub dir/</Prefix></CommonPrefixes></ListBucketResult>';
    const v2 = v1ResultToV2(v1, [
      ['list-type', '2'],
      ['prefix', 'g/'],
      ['delimiter', '/'],
      ['encoding-type', 'url'],
    ]);
    expect(v2).toContain('<Key>g/b%20c%2Bd%26e.txt</Key>');
    expect(v2).toContain('<Prefix>g/sub%20dir/</Prefix>');
    expect(v2).toContain('<EncodingType>url</EncodingType>');
    expect(v2).toContain('<Delimiter>/</Delimiter>');
    expect(
      v2QueryToV1([
        ['list-type', '2'],
        ['encoding-type', 'url'],
      ]),
    ).toEqual([]);
  });
});

describe('bareEtagOf', () => {
  it('reads a part ETag however the client escaped its quotes (rclone writes &#34;)', () => {
    const md5 = 'e00ab8b1f106ce6526beeb297f724e2e';
    for (const listed of [`"${md5}"`, md5, `&#34;${md5}&#34;`, `&quot;${md5}&quot;`, `&#x22;${md5}&#x22;`]) {
      expect(bareEtagOf(listed)).toBe(md5);
    }
  });
});
