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
    expect(pvcPairOptions({ concurrency: '8' })).toEqual({ concurrency: '8' });
    expect(pvcOptionsFrom({ concurrency: '8' })).toEqual({ concurrency: 8 });
    expect(pvcPairOptions({ helperIdle: '0' })).toEqual({ helperIdleSeconds: '0' });
    expect(pvcOptionsFrom({ helperIdleSeconds: '0' })).toEqual({ keepHelper: false });
    expect(pvcPairOptions({ helperIdle: '120' })).toEqual({ helperIdleSeconds: '120' });
    expect(pvcOptionsFrom({ helperIdleSeconds: '120' })).toEqual({ idleTimeoutSeconds: 120 });
  });

  it('refuse what they cannot mean', () => {
    expect(() => pvcPairOptions({ execProtocol: 'v3' })).toThrow(TetherError);
    expect(() => pvcOptionsFrom({ kubeconfig: 42 })).toThrow(/kubeconfig must be a non-empty string/);
    expect(() => pvcOptionsFrom({ execProtocol: 'spdy' })).toThrow(/execProtocol/);
    expect(() => pvcPairOptions({ concurrency: '0' })).toThrow(/--concurrency must be a whole number from 1 to 64/);
    expect(() => pvcPairOptions({ concurrency: 'lots' })).toThrow(TetherError);
    expect(() => pvcOptionsFrom({ concurrency: 2.5 })).toThrow(/concurrency/);
    expect(() => pvcPairOptions({ helperIdle: '10m' })).toThrow(/helper idle time must be 0/);
    expect(() => pvcOptionsFrom({ helperIdleSeconds: '3' })).toThrow(TetherError);
  });
});
