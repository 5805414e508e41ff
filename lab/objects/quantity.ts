/**
 * Kubernetes resource quantities (`10Gi`, `500M`, `1.5Gi`, `3`), parsed to numbers and printed back in the
 * canonical form the API server uses in `status.used` and quota messages.
 */
export type QuantityFormat = 'BinarySI' | 'DecimalSI';

export interface Quantity {
  /** The value in base units (bytes for storage, items for counts). */
  readonly value: number;
  readonly format: QuantityFormat;
}

const binarySuffixes: ReadonlyMap<string, number> = new Map([
  ['Ki', 2 ** 10],
  ['Mi', 2 ** 20],
  ['Gi', 2 ** 30],
  ['Ti', 2 ** 40],
  ['Pi', 2 ** 50],
  ['Ei', 2 ** 60],
]);

const decimalSuffixes: ReadonlyMap<string, number> = new Map([
  ['n', 1e-9],
  ['u', 1e-6],
  ['m', 1e-3],
  ['', 1],
  ['k', 1e3],
  ['M', 1e6],
  ['G', 1e9],
  ['T', 1e12],
  ['P', 1e15],
  ['E', 1e18],
]);

const quantityPattern = /^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$/;

/** Parses a quantity, or returns undefined when the text is not one (the caller reports a field error). */
export function parseQuantity(text: string): Quantity | undefined {
  const match = quantityPattern.exec(text.trim());
  if (match === null) return undefined;
  const [, numberText = '', suffix = ''] = match;
  const number = Number(numberText);
  if (!Number.isFinite(number)) return undefined;
  const binary = binarySuffixes.get(suffix);
  if (binary !== undefined) return { value: number * binary, format: 'BinarySI' };
  const decimal = decimalSuffixes.get(suffix);
  if (decimal !== undefined) return { value: number * decimal, format: 'DecimalSI' };
  // An exponent: 1e3, 12E-1.
  const value = number * 10 ** Number(suffix.slice(1));
  return Number.isFinite(value) ? { value, format: 'DecimalSI' } : undefined;
}

/** The canonical text of a value: the largest suffix that divides it exactly, in the given family. */
export function formatQuantity(value: number, format: QuantityFormat): string {
  if (value === 0) return '0';
  if (!Number.isInteger(value)) return String(value);
  const magnitude = Math.abs(value);
  if (format === 'BinarySI') {
    const suffixes = [...binarySuffixes].reverse();
    for (const [suffix, factor] of suffixes) {
      if (magnitude >= factor && magnitude % factor === 0) return `${value / factor}${suffix}`;
    }
    // Not a multiple of 1024: Kubernetes falls back to decimal suffixes for such values.
  }
  for (const [suffix, factor] of [...decimalSuffixes].reverse()) {
    if (factor < 1) continue;
    if (magnitude >= factor && magnitude % factor === 0) return `${value / factor}${suffix}`;
  }
  return String(value);
}

/** Sum of quantities, formatted like the first one (Kubernetes keeps the left operand's format). */
export function addQuantities(quantities: readonly Quantity[]): Quantity {
  const format = quantities[0]?.format ?? 'DecimalSI';
  return { value: quantities.reduce((sum, q) => sum + q.value, 0), format };
}

/** Human-friendly byte count for messages: `1.5 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit] ?? 'B'}`;
}
