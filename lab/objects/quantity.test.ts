import { describe, expect, it } from 'vitest';
import { addQuantities, formatBytes, formatQuantity, parseQuantity } from './quantity.js';

describe('parseQuantity', () => {
  it.each([
    ['10Gi', 10 * 2 ** 30, 'BinarySI'],
    ['1.5Gi', 1.5 * 2 ** 30, 'BinarySI'],
    ['512Mi', 512 * 2 ** 20, 'BinarySI'],
    ['1Ki', 1024, 'BinarySI'],
    ['5G', 5e9, 'DecimalSI'],
    ['100M', 1e8, 'DecimalSI'],
    ['3', 3, 'DecimalSI'],
    ['100m', 0.1, 'DecimalSI'],
    ['1e3', 1000, 'DecimalSI'],
    ['.5k', 500, 'DecimalSI'],
  ] as const)('%s is %d (%s)', (text, value, format) => {
    expect(parseQuantity(text)).toEqual({ value, format });
  });

  it.each(['', 'Gi', '10GB', '1.2.3', 'ten', '10 Gi', '--1', '1Zi'])('rejects %j', (text) => {
    expect(parseQuantity(text)).toBeUndefined();
  });
});

describe('formatQuantity', () => {
  it.each([
    [0, 'BinarySI', '0'],
    [10 * 2 ** 30, 'BinarySI', '10Gi'],
    [1536 * 2 ** 20, 'BinarySI', '1536Mi'],
    [2 ** 40, 'BinarySI', '1Ti'],
    [1500, 'BinarySI', '1500'],
    [5e9, 'DecimalSI', '5G'],
    [7, 'DecimalSI', '7'],
    [5000, 'DecimalSI', '5k'],
  ] as const)('%d as %s is %s', (value, format, text) => {
    expect(formatQuantity(value, format)).toBe(text);
  });

  it('round-trips canonical binary quantities', () => {
    for (const text of ['1Gi', '20Gi', '100Mi', '3Ti']) {
      const q = parseQuantity(text)!;
      expect(formatQuantity(q.value, q.format)).toBe(text);
    }
  });
});

describe('addQuantities', () => {
  it('sums and keeps the first format', () => {
    const sum = addQuantities([parseQuantity('10Gi')!, parseQuantity('5Gi')!, parseQuantity('1G')!]);
    expect(sum).toEqual({ value: 15 * 2 ** 30 + 1e9, format: 'BinarySI' });
    expect(addQuantities([])).toEqual({ value: 0, format: 'DecimalSI' });
  });
});

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1536, '1.5 KiB'],
    [10 * 2 ** 30, '10 GiB'],
  ])('%d → %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});
