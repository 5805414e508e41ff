/** JSON values as the API server stores and serves them. */
export type Json = null | boolean | number | string | Json[] | JsonObject;
export interface JsonObject {
  [key: string]: Json;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A deep copy, so that callers never share mutable state with the store. */
export function cloneJson<T extends Json>(value: T): T {
  return structuredClone(value);
}

/** The object at `key`, or undefined when absent or not an object. */
export function objectAt(parent: JsonObject | undefined, key: string): JsonObject | undefined {
  const value = parent?.[key];
  return isJsonObject(value) ? value : undefined;
}

export function stringAt(parent: JsonObject | undefined, key: string): string | undefined {
  const value = parent?.[key];
  return typeof value === 'string' ? value : undefined;
}

export function numberAt(parent: JsonObject | undefined, key: string): number | undefined {
  const value = parent?.[key];
  return typeof value === 'number' ? value : undefined;
}

export function booleanAt(parent: JsonObject | undefined, key: string): boolean | undefined {
  const value = parent?.[key];
  return typeof value === 'boolean' ? value : undefined;
}

export function arrayAt(parent: JsonObject | undefined, key: string): Json[] | undefined {
  const value = parent?.[key];
  return Array.isArray(value) ? value : undefined;
}

/** The objects of the array at `key` (non-objects skipped). */
export function objectsAt(parent: JsonObject | undefined, key: string): JsonObject[] {
  return (arrayAt(parent, key) ?? []).filter(isJsonObject);
}

/** The strings of the array at `key` (non-strings skipped). */
export function stringsAt(parent: JsonObject | undefined, key: string): string[] {
  return (arrayAt(parent, key) ?? []).filter((item): item is string => typeof item === 'string');
}

/** A string → string map (labels, annotations, nodeSelector); non-string values skipped. */
export function stringMapAt(parent: JsonObject | undefined, key: string): Record<string, string> {
  const map: Record<string, string> = {};
  const value = objectAt(parent, key);
  if (value === undefined) return map;
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') map[k] = v;
  return map;
}

/** A JSON value as text for messages: strings as they are, anything else as JSON. */
export function jsonText(value: Json | undefined): string {
  if (value === undefined) return '';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Removes a key from an object (for keys computed at run time). */
export function removeKey(obj: JsonObject, key: string): void {
  Reflect.deleteProperty(obj, key);
}
