import { isJsonObject, jsonText, removeKey } from './json.js';
import type { Json, JsonObject } from './json.js';

/** The outcome of applying a patch: the new document, or a message for a 422/400. */
export type PatchResult = { readonly ok: true; readonly value: Json } | { readonly ok: false; readonly error: string };

/** RFC 7386 JSON merge patch: objects merge recursively, `null` deletes, anything else replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  if (!isJsonObject(patch)) return structuredClone(patch);
  const result: JsonObject = isJsonObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) removeKey(result, key);
    else result[key] = mergePatch(result[key] ?? null, value);
  }
  return result;
}

/**
 * Strategic merge patch, approximated as a merge patch (lists are replaced, not merged by key) after dropping
 * the directive keys kubectl adds (`$setElementOrder/…`, `$retainKeys`, `$patch: replace` is honoured).
 * kubectl label, annotate, scale and most edits patch maps only, where both agree.
 */
export function strategicMergePatch(target: Json, patch: Json): Json {
  if (!isJsonObject(patch)) return structuredClone(patch);
  if (patch.$patch === 'replace') {
    const { $patch: _ignored, ...rest } = patch;
    return stripDirectives(rest);
  }
  if (patch.$patch === 'delete') return null;
  const result: JsonObject = isJsonObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith('$')) continue;
    if (value === null) removeKey(result, key);
    else if (isJsonObject(value) && value.$patch === 'delete') removeKey(result, key);
    else result[key] = strategicMergePatch(result[key] ?? null, value);
  }
  return result;
}

function stripDirectives(value: Json): Json {
  if (Array.isArray(value)) return value.map(stripDirectives);
  if (!isJsonObject(value)) return value;
  const result: JsonObject = {};
  for (const [key, child] of Object.entries(value)) if (!key.startsWith('$')) result[key] = stripDirectives(child);
  return result;
}

function parsePointer(pointer: string): string[] | undefined {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) return undefined;
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function getAt(document: Json, path: readonly string[]): Json | undefined {
  let current: Json | undefined = document;
  for (const token of path) {
    if (Array.isArray(current)) {
      if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
      current = current[Number(token)];
    } else if (isJsonObject(current)) {
      current = Object.hasOwn(current, token) ? current[token] : undefined;
    } else {
      return undefined;
    }
  }
  return current;
}

/** Applies `change` to the parent of `path` inside `document` (mutating the clone the caller owns). */
function withParent(
  document: Json,
  path: readonly string[],
  change: (parent: JsonObject | Json[], last: string) => string | undefined,
): string | undefined {
  if (path.length === 0) return 'the root cannot be the target of this operation';
  const parent = getAt(document, path.slice(0, -1));
  if (!Array.isArray(parent) && !isJsonObject(parent)) return `path ${formatPointer(path.slice(0, -1))} does not exist`;
  return change(parent, path[path.length - 1] ?? '');
}

function formatPointer(path: readonly string[]): string {
  return path.length === 0 ? '""' : `"/${path.join('/')}"`;
}

function arrayIndex(array: Json[], token: string, forInsert: boolean): number | undefined {
  if (forInsert && token === '-') return array.length;
  if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
  const index = Number(token);
  const limit = forInsert ? array.length : array.length - 1;
  return index <= limit ? index : undefined;
}

function add(document: Json, path: readonly string[], value: Json): { doc: Json; error?: string } {
  if (path.length === 0) return { doc: value };
  const error = withParent(document, path, (parent, last) => {
    if (Array.isArray(parent)) {
      const index = arrayIndex(parent, last, true);
      if (index === undefined) return `index ${last} is out of bounds`;
      parent.splice(index, 0, value);
    } else {
      parent[last] = value;
    }
    return undefined;
  });
  return error === undefined ? { doc: document } : { doc: document, error };
}

function remove(document: Json, path: readonly string[]): { removed?: Json; error?: string } {
  let removed: Json | undefined;
  const error = withParent(document, path, (parent, last) => {
    if (Array.isArray(parent)) {
      const index = arrayIndex(parent, last, false);
      if (index === undefined) return `index ${last} is out of bounds`;
      [removed] = parent.splice(index, 1);
    } else {
      if (!Object.hasOwn(parent, last)) return `path ${formatPointer(path)} does not exist`;
      removed = parent[last];
      removeKey(parent, last);
    }
    return undefined;
  });
  if (error !== undefined) return { error };
  return removed === undefined ? {} : { removed };
}

/** RFC 6902 JSON patch (`application/json-patch+json`). */
export function jsonPatch(target: Json, operations: Json): PatchResult {
  if (!Array.isArray(operations)) return { ok: false, error: 'a JSON patch must be an array of operations' };
  let document: Json = structuredClone(target);
  for (const [i, operation] of operations.entries()) {
    if (!isJsonObject(operation)) return { ok: false, error: `operation ${i} is not an object` };
    const { op, path: pointer, value, from } = operation;
    if (typeof op !== 'string' || typeof pointer !== 'string') {
      return { ok: false, error: `operation ${i} needs string "op" and "path"` };
    }
    const path = parsePointer(pointer);
    if (path === undefined) return { ok: false, error: `operation ${i}: invalid JSON pointer "${pointer}"` };
    const fromPath = typeof from === 'string' ? parsePointer(from) : undefined;
    let error: string | undefined;
    switch (op) {
      case 'add':
      case 'replace': {
        if (value === undefined) return { ok: false, error: `operation ${i} (${op}) needs a "value"` };
        if (op === 'replace') {
          if (getAt(document, path) === undefined) {
            error = `replace operation does not apply: doc is missing key: ${pointer}`;
            break;
          }
          if (path.length > 0) error = remove(document, path).error;
        }
        if (error === undefined) ({ doc: document, error } = add(document, path, structuredClone(value)));
        break;
      }
      case 'remove':
        error = remove(document, path).error;
        break;
      case 'move':
      case 'copy': {
        if (fromPath === undefined) return { ok: false, error: `operation ${i} (${op}) needs a valid "from"` };
        const source = getAt(document, fromPath);
        if (source === undefined) {
          error = `${op} operation does not apply: doc is missing from path: ${jsonText(from)}`;
          break;
        }
        if (op === 'move') error = remove(document, fromPath).error;
        if (error === undefined) ({ doc: document, error } = add(document, path, structuredClone(source)));
        break;
      }
      case 'test': {
        const actual = getAt(document, path);
        if (JSON.stringify(actual) !== JSON.stringify(value)) error = `testing value ${pointer} failed`;
        break;
      }
      default:
        return { ok: false, error: `operation ${i}: unknown op "${op}"` };
    }
    if (error !== undefined) return { ok: false, error };
  }
  return { ok: true, value: document };
}
