import { describe, expect, it } from 'vitest';
import { negotiate } from './negotiation.js';

describe('negotiate', () => {
  it.each([
    [undefined, 'json'],
    ['', 'json'],
    ['application/json', 'json'],
    ['*/*', 'json'],
    [
      'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
      'table',
    ],
    ['application/vnd.kubernetes.protobuf,application/json', 'json'],
    ['application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json', 'partial'],
    ['application/json;as=Unknown;g=meta.k8s.io,application/json', 'json'],
    ['application/yaml', 'yaml'],
    ['application/vnd.kubernetes.protobuf', undefined],
    ['text/html', undefined],
  ])('%j → %s', (accept, expected) => {
    expect(negotiate(accept)).toBe(expected);
  });
});
