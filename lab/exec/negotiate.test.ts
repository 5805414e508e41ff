import { describe, expect, it } from 'vitest';

import { chooseProtocol, noProtocolMessage, offeredProtocols } from './negotiate.js';

describe('offeredProtocols', () => {
  it('reads one header, a comma-separated list, or several headers', () => {
    expect(offeredProtocols(undefined)).toEqual([]);
    expect(offeredProtocols('v5.channel.k8s.io')).toEqual(['v5.channel.k8s.io']);
    expect(offeredProtocols('v5.channel.k8s.io, v4.channel.k8s.io,,')).toEqual([
      'v5.channel.k8s.io',
      'v4.channel.k8s.io',
    ]);
    expect(offeredProtocols(['a, b', 'c'])).toEqual(['a', 'b', 'c']);
  });
});

describe('chooseProtocol', () => {
  const v5 = 'v5.channel.k8s.io';
  const v4 = 'v4.channel.k8s.io';
  const table: { offered: string[]; v4Only: boolean; expected: string | undefined }[] = [
    { offered: [v5], v4Only: false, expected: v5 },
    { offered: [v4, v5], v4Only: false, expected: v5 },
    { offered: [v5, v4, 'v3.channel.k8s.io', 'channel.k8s.io'], v4Only: false, expected: v5 },
    { offered: [v4], v4Only: false, expected: v4 },
    { offered: [v5, v4], v4Only: true, expected: v4 },
    { offered: [v5], v4Only: true, expected: undefined },
    { offered: ['v3.channel.k8s.io', 'channel.k8s.io', 'base64.channel.k8s.io'], v4Only: false, expected: undefined },
    { offered: [], v4Only: false, expected: undefined },
    { offered: ['V5.CHANNEL.K8S.IO'], v4Only: false, expected: undefined },
  ];
  for (const { offered, v4Only, expected } of table) {
    it(`[${offered.join(', ')}]${v4Only ? ' (v4 only)' : ''} → ${expected ?? 'refused'}`, () => {
      expect(chooseProtocol(offered, v4Only)).toBe(expected);
    });
  }

  it('explains a refusal', () => {
    expect(noProtocolMessage([], false)).toMatch(/offered no subprotocol; this server accepts v5.channel.k8s.io or v4/);
    expect(noProtocolMessage(['v5.channel.k8s.io'], true)).toMatch(/offered only v5.channel.k8s.io; .* accepts v4/);
  });
});
