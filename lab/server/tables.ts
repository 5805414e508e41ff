import { arrayAt, objectsAt, stringAt } from '../objects/json.js';
import type { Json, JsonObject } from '../objects/json.js';
import type { KindInfo } from '../objects/kinds.js';
import type { KubeObject } from '../objects/meta.js';
import { printerFor } from './printers.js';

/**
 * Server-side printing: `kubectl get` asks for `application/json;as=Table;g=meta.k8s.io;v=v1` and prints the
 * columns the server returns (printers.ts has them per kind).
 */
export { humanDuration, podStatusText } from './printers.js';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

function partialMetadata(obj: KubeObject): JsonObject {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata };
}

/** A meta.k8s.io/v1 Table of objects; `withColumns` false for watch events after the first. */
export function toTable(
  kind: KindInfo,
  objects: readonly KubeObject[],
  options: { resourceVersion?: string; continueToken?: string; includeObject: IncludeObject; withColumns?: boolean },
): JsonObject {
  const printer = printerFor(kind.kind);
  const now = Date.now();
  const metadata: JsonObject = {};
  if (options.resourceVersion !== undefined) metadata.resourceVersion = options.resourceVersion;
  if (options.continueToken !== undefined && options.continueToken !== '') metadata.continue = options.continueToken;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions:
      options.withColumns === false
        ? null
        : printer.columns.map((c) => ({
            name: c.name,
            type: c.type,
            format: c.format ?? '',
            description: c.description,
            priority: c.priority ?? 0,
          })),
    rows: objects.map((obj) => {
      const row: JsonObject = { cells: printer.row(obj, now) };
      if (options.includeObject === 'Object') row.object = obj;
      else if (options.includeObject === 'Metadata') row.object = partialMetadata(obj);
      return row;
    }),
  };
}

/** A PartialObjectMetadataList, for metadata-only clients. */
export function toPartialList(objects: readonly KubeObject[], resourceVersion: string): JsonObject {
  return {
    kind: 'PartialObjectMetadataList',
    apiVersion: 'meta.k8s.io/v1',
    metadata: { resourceVersion },
    items: objects.map(partialMetadata),
  };
}

export { partialMetadata };

/** Whether the Table has a row per object, for tests: the cells of a row by column name. */
export function cellsByColumn(table: JsonObject, row = 0): Record<string, Json> {
  const columns = objectsAt(table, 'columnDefinitions').map((c) => stringAt(c, 'name') ?? '');
  const cells = arrayAt(objectsAt(table, 'rows')[row], 'cells') ?? [];
  const result: Record<string, Json> = {};
  columns.forEach((name, i) => (result[name] = cells[i] ?? null));
  return result;
}
