import { describe, expect, it } from 'vitest';
import { TetherError } from '../../errors.js';
import { pvcPairOptions } from './pairOptions.js';
import { pvcOptionsFrom } from './pvcEndpoint.js';

describe('pvc pair options', () => {
  it('store the flags and read them back as endpoint settings', () => {
    const stored = pvcPairOptions({ kubeconfig: '/k', helperImage: 'debian:12', pod: 'nb-0', execProtocol: 'v4' });
    expect(stored).toEqual({ kubeconfig: '/k', helperImage: 'debian:12', pod: 'nb-0', execProtocol: 'v4' });
    expect(pvcOptionsFrom(stored)).toEqual({ kubeconfig: '/k', helperImage: 'debian:12', pod: 'nb-0', v4Only: true });
    expect(pvcPairOptions({ execProtocol: 'auto' })).toEqual({});
    expect(pvcOptionsFrom({ s3Bucket: 'ignored' })).toEqual({});
  });

  it('refuse what they cannot mean', () => {
    expect(() => pvcPairOptions({ execProtocol: 'v3' })).toThrow(TetherError);
    expect(() => pvcOptionsFrom({ kubeconfig: 42 })).toThrow(/kubeconfig must be a non-empty string/);
    expect(() => pvcOptionsFrom({ execProtocol: 'spdy' })).toThrow(/execProtocol/);
  });
});
