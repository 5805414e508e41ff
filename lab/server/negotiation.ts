/**
 * Content negotiation for responses: kubectl asks for Tables, metadata-only clients for
 * PartialObjectMetadata, everyone else for plain JSON. Protobuf is not served (clients fall back to JSON).
 */
export type ResponseFormat = 'json' | 'yaml' | 'table' | 'partial';

interface MediaRange {
  readonly type: string;
  readonly params: ReadonlyMap<string, string>;
}

function parseAccept(header: string): MediaRange[] {
  return header
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      const [type = '', ...rest] = part.split(';').map((p) => p.trim());
      const params = new Map<string, string>();
      for (const param of rest) {
        const eq = param.indexOf('=');
        if (eq > 0) params.set(param.slice(0, eq).trim().toLowerCase(), param.slice(eq + 1).trim());
      }
      return { type: type.toLowerCase(), params };
    });
}

/** The first acceptable format in the client's order, or undefined (406). An absent header means JSON. */
export function negotiate(accept: string | undefined): ResponseFormat | undefined {
  if (accept === undefined || accept.trim() === '') return 'json';
  for (const range of parseAccept(accept)) {
    const as = range.params.get('as');
    const group = range.params.get('g');
    const isJson = range.type === 'application/json' || range.type === '*/*' || range.type === 'application/*';
    if (as !== undefined) {
      if (!isJson || group !== 'meta.k8s.io') continue;
      if (as === 'Table') return 'table';
      if (as === 'PartialObjectMetadata' || as === 'PartialObjectMetadataList') return 'partial';
      continue;
    }
    if (isJson) return 'json';
    if (range.type === 'application/yaml') return 'yaml';
  }
  return undefined;
}
