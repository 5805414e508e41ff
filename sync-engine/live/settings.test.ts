import { describe, expect, it } from 'vitest';
import { retryDelay } from './pairRunner.js';
import { DEFAULT_LIVE_SETTINGS, liveSettingsOf, parseRate } from './settings.js';

describe('liveSettingsOf', () => {
  it('fills in defaults for a pair without live settings', () => {
    expect(liveSettingsOf({})).toEqual(DEFAULT_LIVE_SETTINGS);
    expect(liveSettingsOf({ s3: { bucket: 'x' } })).toEqual(DEFAULT_LIVE_SETTINGS);
  });

  it('reads stored settings, keeping defaults for what is not stored', () => {
    const settings = liveSettingsOf({
      live: {
        pollIntervalMs: 5000,
        checkpoints: { quietMs: 60_000, markers: ['*.done'], keepNewest: [{ glob: 'checkpoint-*', count: 3 }] },
        selection: { exclude: ['scratch'] },
      },
    });
    expect(settings).toEqual({
      ...DEFAULT_LIVE_SETTINGS,
      pollIntervalMs: 5000,
      checkpoints: {
        quietMs: 60_000,
        markers: ['*.done'],
        gatedPaths: [],
        keepNewest: [{ glob: 'checkpoint-*', count: 3 }],
      },
      selection: { include: [], exclude: ['scratch'] },
    });
  });

  it.each([
    [{ live: 'yes' }, /must be an object/],
    [{ live: { pollIntervalMs: 10 } }, /pollIntervalMs must be a number of milliseconds of at least 100/],
    [{ live: { checkpoints: { markers: 'COMPLETE' } } }, /checkpoints.markers must be a list of strings/],
    [{ live: { checkpoints: { keepNewest: [{ glob: 'c-*' }] } } }, /keepNewest must be a list of \{ glob, count \}/],
    [{ live: { checkpoints: { keepNewest: [{ glob: 'c-*', count: 0 }] } } }, /at least 1/],
    [{ live: { selection: { include: ['../up'] } } }, /selective sync folder "\.\.\/up"/],
  ])('refuses %j', (options, message) => {
    expect(() => liveSettingsOf(options)).toThrow(message);
    expect(() => liveSettingsOf(options)).toThrow(/tether live NAME/);
  });
});

describe('parseRate', () => {
  it.each([
    ['500k', 500 * 1024],
    ['10MiB/s', 10 * 1024 * 1024],
    ['1.5 MB/s', 1.5 * 1024 * 1024],
    ['2G', 2 * 1024 ** 3],
    ['4096', 4096],
  ])('%s is %d bytes/s', (text, rate) => {
    expect(parseRate(text)).toBe(rate);
  });

  it.each(['fast', '', '100', '-1M', '1 furlong'])('refuses %j', (text) => {
    expect(() => parseRate(text)).toThrow(/is not a rate of at least 1 KiB\/s/);
  });
});

describe('retryDelay', () => {
  it('doubles from the initial delay up to the maximum', () => {
    const timing = { initialMs: 2000, maxMs: 10_000 };
    expect([1, 2, 3, 4, 5].map((n) => retryDelay(n, timing))).toEqual([2000, 4000, 8000, 10_000, 10_000]);
  });
});
