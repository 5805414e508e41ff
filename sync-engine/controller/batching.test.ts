import { describe, expect, it } from 'vitest';
import type { Endpoint, EndpointCapabilities } from '../endpoints/endpoint.js';
import { batchFilesFor } from './applyPlan.js';

function endpoint(batchFiles?: number): Endpoint {
  const capabilities: EndpointCapabilities = {
    mtimePrecisionMs: 1,
    caseSensitive: true,
    executableBit: true,
    remoteHash: false,
    resumableWrites: true,
    ...(batchFiles === undefined ? {} : { batchFiles }),
  };
  return { capabilities } as Endpoint;
}

describe('batchFilesFor (files per batch of small files)', () => {
  it('keeps 512 between endpoints that ask for nothing, however many files', () => {
    expect(batchFilesFor(100_000, 4, [endpoint(), endpoint()])).toBe(512);
    expect(batchFilesFor(10, 4, [endpoint(), endpoint()])).toBe(512);
  });

  it('spreads the files over the concurrent slots where an endpoint asks for larger batches, up to its ask', () => {
    expect(batchFilesFor(10_000, 4, [endpoint(), endpoint(4096)])).toBe(2500);
    expect(batchFilesFor(10_000, 1, [endpoint(4096), endpoint()])).toBe(4096);
    expect(batchFilesFor(1_000, 4, [endpoint(), endpoint(4096)])).toBe(512);
    expect(batchFilesFor(10_000, 0, [endpoint(), endpoint(4096)])).toBe(4096);
  });

  it('never goes below 512 for an endpoint that asks for less', () => {
    expect(batchFilesFor(10_000, 4, [endpoint(100), endpoint()])).toBe(512);
  });
});
