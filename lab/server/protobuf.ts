import { badRequest, unsupportedMediaType } from '../objects/apiError.js';
import { jsonText } from '../objects/json.js';
import type { Json, JsonObject } from '../objects/json.js';

/**
 * Decoding of Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`): kubectl's typed
 * clients (`auth can-i`, `create namespace|job|quota|role|rolebinding|configmap`) send them. The envelope is
 * `k8s\0` + runtime.Unknown {typeMeta, raw}; `raw` is the object's message, decoded here with a schema of
 * the generated.proto field numbers for the kinds the lab serves. Unknown fields are skipped, as proto does.
 */
type Scalar = 'string' | 'bytes' | 'bool' | 'int32' | 'int64';
type FieldType = Scalar | Schema | { readonly map: Scalar | Schema | 'quantity' } | 'quantity' | 'time' | 'intOrString';

interface Field {
  readonly name: string;
  readonly type: FieldType;
  readonly repeated?: boolean;
  /** Merge this message's fields into the parent (VolumeSource inside Volume). */
  readonly inline?: boolean;
  /**
   * A pointer field in Go: sent only when set, so its zero value ("", false, 0) means something. Other
   * scalars are always sent, and their zero value means "unset" (JSON would omit them).
   */
  readonly keep?: boolean;
}

interface Schema {
  readonly fields: Readonly<Record<number, Field>>;
}

const f = (name: string, type: FieldType, extra: Partial<Field> = {}): Field => ({ name, type, ...extra });
const list = (name: string, type: FieldType): Field => f(name, type, { repeated: true });
const ptr = (name: string, type: FieldType): Field => f(name, type, { keep: true });
const schema = (fields: Record<number, Field>): Schema => ({ fields });

const ownerReference = schema({
  1: f('kind', 'string'),
  3: f('name', 'string'),
  4: f('uid', 'string'),
  5: f('apiVersion', 'string'),
  6: ptr('controller', 'bool'),
  7: ptr('blockOwnerDeletion', 'bool'),
});
const objectMeta = schema({
  1: f('name', 'string'),
  2: f('generateName', 'string'),
  3: f('namespace', 'string'),
  5: f('uid', 'string'),
  6: f('resourceVersion', 'string'),
  7: f('generation', 'int64'),
  8: f('creationTimestamp', 'time'),
  11: f('labels', { map: 'string' }),
  12: f('annotations', { map: 'string' }),
  13: list('ownerReferences', ownerReference),
  14: list('finalizers', 'string'),
});
const labelSelector = schema({
  1: f('matchLabels', { map: 'string' }),
  2: list(
    'matchExpressions',
    schema({ 1: f('key', 'string'), 2: f('operator', 'string'), 3: list('values', 'string') }),
  ),
});
const resourceRequirements = schema({ 1: f('limits', { map: 'quantity' }), 2: f('requests', { map: 'quantity' }) });
const envVar = schema({ 1: f('name', 'string'), 2: f('value', 'string') });
const volumeMount = schema({
  1: f('name', 'string'),
  2: f('readOnly', 'bool'),
  3: f('mountPath', 'string'),
  4: f('subPath', 'string'),
  5: f('mountPropagation', 'string'),
  6: f('subPathExpr', 'string'),
});
const containerPort = schema({
  1: f('name', 'string'),
  2: f('hostPort', 'int32'),
  3: f('containerPort', 'int32'),
  4: f('protocol', 'string'),
  5: f('hostIP', 'string'),
});
const container = schema({
  1: f('name', 'string'),
  2: f('image', 'string'),
  3: list('command', 'string'),
  4: list('args', 'string'),
  5: f('workingDir', 'string'),
  6: list('ports', containerPort),
  7: list('env', envVar),
  8: f('resources', resourceRequirements),
  9: list('volumeMounts', volumeMount),
  13: f('terminationMessagePath', 'string'),
  14: f('imagePullPolicy', 'string'),
  16: f('stdin', 'bool'),
  17: f('stdinOnce', 'bool'),
  18: f('tty', 'bool'),
  20: f('terminationMessagePolicy', 'string'),
  24: f('restartPolicy', 'string'),
});
const volumeSource = schema({
  1: f('hostPath', schema({ 1: f('path', 'string'), 2: f('type', 'string') })),
  2: f('emptyDir', schema({ 1: f('medium', 'string'), 2: f('sizeLimit', 'quantity') })),
  6: f('secret', schema({ 1: f('secretName', 'string'), 3: ptr('defaultMode', 'int32'), 4: ptr('optional', 'bool') })),
  10: f('persistentVolumeClaim', schema({ 1: f('claimName', 'string'), 2: f('readOnly', 'bool') })),
  19: f(
    'configMap',
    schema({
      1: f('localObjectReference', schema({ 1: f('name', 'string') }), { inline: true }),
      3: ptr('defaultMode', 'int32'),
      4: ptr('optional', 'bool'),
    }),
  ),
});
const volume = schema({ 1: f('name', 'string'), 2: f('volumeSource', volumeSource, { inline: true }) });
const toleration = schema({
  1: f('key', 'string'),
  2: f('operator', 'string'),
  3: f('value', 'string'),
  4: f('effect', 'string'),
  5: ptr('tolerationSeconds', 'int64'),
});
const podSpec = schema({
  1: list('volumes', volume),
  2: list('containers', container),
  3: f('restartPolicy', 'string'),
  4: ptr('terminationGracePeriodSeconds', 'int64'),
  5: ptr('activeDeadlineSeconds', 'int64'),
  6: f('dnsPolicy', 'string'),
  7: f('nodeSelector', { map: 'string' }),
  8: f('serviceAccountName', 'string'),
  9: f('serviceAccount', 'string'),
  10: f('nodeName', 'string'),
  14: f(
    'securityContext',
    schema({
      1: f('seLinuxOptions', schema({})),
      2: ptr('runAsUser', 'int64'),
      3: ptr('runAsNonRoot', 'bool'),
      5: ptr('fsGroup', 'int64'),
    }),
  ),
  16: f('hostname', 'string'),
  17: f('subdomain', 'string'),
  19: f('schedulerName', 'string'),
  20: list('initContainers', container),
  21: ptr('automountServiceAccountToken', 'bool'),
  22: list('tolerations', toleration),
  24: f('priorityClassName', 'string'),
  25: ptr('priority', 'int32'),
  30: ptr('enableServiceLinks', 'bool'),
});
const podTemplateSpec = schema({ 1: f('metadata', objectMeta), 2: f('spec', podSpec) });
const policyRule = schema({
  1: list('verbs', 'string'),
  2: list('apiGroups', 'string'),
  3: list('resources', 'string'),
  4: list('resourceNames', 'string'),
  5: list('nonResourceURLs', 'string'),
});
const subject = schema({
  1: f('kind', 'string'),
  2: f('apiGroup', 'string'),
  3: f('name', 'string'),
  4: f('namespace', 'string'),
});
const roleRef = schema({ 1: f('apiGroup', 'string'), 2: f('kind', 'string'), 3: f('name', 'string') });
const binding = schema({ 1: f('metadata', objectMeta), 2: list('subjects', subject), 3: f('roleRef', roleRef) });

const deleteOptions = schema({
  1: ptr('gracePeriodSeconds', 'int64'),
  2: f('preconditions', schema({ 1: ptr('uid', 'string'), 2: ptr('resourceVersion', 'string') })),
  3: ptr('orphanDependents', 'bool'),
  4: f('propagationPolicy', 'string'),
  5: list('dryRun', 'string'),
});

/** Object schemas by `apiVersion/Kind`. */
const schemas: Readonly<Record<string, Schema>> = {
  'v1/DeleteOptions': deleteOptions,
  'meta.k8s.io/v1/DeleteOptions': deleteOptions,
  'authorization.k8s.io/v1/SelfSubjectAccessReview': schema({
    1: f('metadata', objectMeta),
    2: f(
      'spec',
      schema({
        1: f(
          'resourceAttributes',
          schema({
            1: f('namespace', 'string'),
            2: f('verb', 'string'),
            3: f('group', 'string'),
            4: f('version', 'string'),
            5: f('resource', 'string'),
            6: f('subresource', 'string'),
            7: f('name', 'string'),
          }),
        ),
        2: f('nonResourceAttributes', schema({ 1: f('path', 'string'), 2: f('verb', 'string') })),
      }),
    ),
  }),
  'authorization.k8s.io/v1/SelfSubjectRulesReview': schema({
    1: f('metadata', objectMeta),
    2: f('spec', schema({ 1: f('namespace', 'string') })),
  }),
  'v1/Namespace': schema({ 1: f('metadata', objectMeta), 2: f('spec', schema({ 1: list('finalizers', 'string') })) }),
  'v1/ConfigMap': schema({
    1: f('metadata', objectMeta),
    2: f('data', { map: 'string' }),
    3: f('binaryData', { map: 'bytes' }),
    4: ptr('immutable', 'bool'),
  }),
  'v1/ResourceQuota': schema({
    1: f('metadata', objectMeta),
    2: f('spec', schema({ 1: f('hard', { map: 'quantity' }), 2: list('scopes', 'string') })),
  }),
  'v1/PersistentVolumeClaim': schema({
    1: f('metadata', objectMeta),
    2: f(
      'spec',
      schema({
        1: list('accessModes', 'string'),
        2: f('resources', resourceRequirements),
        3: f('volumeName', 'string'),
        4: f('selector', labelSelector),
        5: ptr('storageClassName', 'string'),
        6: ptr('volumeMode', 'string'),
      }),
    ),
  }),
  'v1/Pod': schema({ 1: f('metadata', objectMeta), 2: f('spec', podSpec) }),
  'batch/v1/Job': schema({
    1: f('metadata', objectMeta),
    2: f(
      'spec',
      schema({
        1: ptr('parallelism', 'int32'),
        2: ptr('completions', 'int32'),
        3: ptr('activeDeadlineSeconds', 'int64'),
        4: f('selector', labelSelector),
        5: ptr('manualSelector', 'bool'),
        6: f('template', podTemplateSpec),
        7: ptr('backoffLimit', 'int32'),
        8: ptr('ttlSecondsAfterFinished', 'int32'),
        9: ptr('completionMode', 'string'),
        10: ptr('suspend', 'bool'),
        14: ptr('podReplacementPolicy', 'string'),
      }),
    ),
  }),
  'rbac.authorization.k8s.io/v1/Role': schema({ 1: f('metadata', objectMeta), 2: list('rules', policyRule) }),
  'rbac.authorization.k8s.io/v1/ClusterRole': schema({ 1: f('metadata', objectMeta), 2: list('rules', policyRule) }),
  'rbac.authorization.k8s.io/v1/RoleBinding': binding,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': binding,
};

/** A protobuf wire reader over one message's bytes. */
class Reader {
  private offset = 0;
  constructor(private readonly bytes: Buffer) {}

  get done(): boolean {
    return this.offset >= this.bytes.length;
  }

  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.offset >= this.bytes.length) throw new Error('truncated varint');
      const byte = this.bytes[this.offset++] ?? 0;
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
      if (shift > 63n) throw new Error('varint too long');
    }
  }

  bytesField(): Buffer {
    const length = Number(this.varint());
    if (length < 0 || this.offset + length > this.bytes.length) throw new Error('truncated length-delimited field');
    const slice = this.bytes.subarray(this.offset, this.offset + length);
    this.offset += length;
    return slice;
  }

  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.offset += 8;
    else if (wireType === 2) this.bytesField();
    else if (wireType === 5) this.offset += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
    if (this.offset > this.bytes.length) throw new Error('truncated field');
  }
}

function signed64(value: bigint): number {
  return Number(BigInt.asIntN(64, value));
}

function decodeValue(type: FieldType, wireType: number, reader: Reader): Json {
  if (
    type === 'string' ||
    type === 'bytes' ||
    typeof type === 'object' ||
    type === 'quantity' ||
    type === 'time' ||
    type === 'intOrString'
  ) {
    if (wireType !== 2) throw new Error('expected a length-delimited field');
    const bytes = reader.bytesField();
    if (type === 'string') return bytes.toString('utf8');
    if (type === 'bytes') return bytes.toString('base64');
    if (type === 'quantity') return jsonText(decodeMessage(schema({ 1: f('string', 'string') }), bytes).string ?? '0');
    if (type === 'time') {
      const time = decodeMessage(schema({ 1: f('seconds', 'int64'), 2: f('nanos', 'int32') }), bytes);
      return new Date(Number(time.seconds ?? 0) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    }
    if (type === 'intOrString') {
      const value = decodeMessage(
        schema({ 1: f('type', 'int64'), 2: f('intVal', 'int32'), 3: f('strVal', 'string') }),
        bytes,
      );
      return value.type === 1 ? (value.strVal ?? '') : (value.intVal ?? 0);
    }
    if ('map' in type) return decodeMessage(schema({ 1: f('key', 'string'), 2: f('value', type.map) }), bytes);
    return decodeMessage(type, bytes);
  }
  if (wireType !== 0) throw new Error('expected a varint field');
  const raw = reader.varint();
  if (type === 'bool') return raw !== 0n;
  return signed64(raw);
}

function decodeMessage(messageSchema: Schema, bytes: Buffer): JsonObject {
  const reader = new Reader(bytes);
  const out: JsonObject = {};
  while (!reader.done) {
    const key = Number(reader.varint());
    const fieldNumber = key >>> 3;
    const wireType = key & 7;
    const field = messageSchema.fields[fieldNumber];
    if (field === undefined) {
      reader.skip(wireType);
      continue;
    }
    if (
      field.repeated === true &&
      wireType === 2 &&
      (field.type === 'int32' || field.type === 'int64' || field.type === 'bool')
    ) {
      // Packed scalars.
      const packed = new Reader(reader.bytesField());
      const values: Json[] = [];
      while (!packed.done) values.push(decodeValue(field.type, 0, packed));
      out[field.name] = [...((out[field.name] as Json[] | undefined) ?? []), ...values];
      continue;
    }
    const value = decodeValue(field.type, wireType, reader);
    if (field.keep !== true && field.repeated !== true && (value === '' || value === false || value === 0)) continue;
    if (typeof field.type === 'object' && 'map' in field.type) {
      const entry = value as JsonObject;
      const map = (out[field.name] as JsonObject | undefined) ?? {};
      map[jsonText(entry.key)] = entry.value ?? (field.type.map === 'string' ? '' : null);
      out[field.name] = map;
    } else if (field.inline === true && typeof value === 'object' && value !== null && !Array.isArray(value)) {
      Object.assign(out, value);
    } else if (field.repeated === true) {
      out[field.name] = [...((out[field.name] as Json[] | undefined) ?? []), value];
    } else {
      out[field.name] = value;
    }
  }
  return out;
}

const magic = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

export function isProtobufContentType(contentType: string | undefined): boolean {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() === 'application/vnd.kubernetes.protobuf';
}

/** Decodes a protobuf request body into the JSON object it stands for. */
export function decodeProtobufObject(body: Buffer): JsonObject {
  if (body.length < 4 || !body.subarray(0, 4).equals(magic)) {
    throw badRequest('the protobuf body does not start with the Kubernetes magic number "k8s\\0"');
  }
  let envelope: JsonObject;
  let raw: Buffer | undefined;
  try {
    const reader = new Reader(body.subarray(4));
    envelope = {};
    while (!reader.done) {
      const key = Number(reader.varint());
      const fieldNumber = key >>> 3;
      if ((key & 7) !== 2) {
        reader.skip(key & 7);
        continue;
      }
      const bytes = reader.bytesField();
      if (fieldNumber === 1)
        envelope = decodeMessage(schema({ 1: f('apiVersion', 'string'), 2: f('kind', 'string') }), bytes);
      else if (fieldNumber === 2) raw = bytes;
    }
  } catch (error) {
    throw badRequest(`the protobuf body is malformed: ${(error as Error).message}`);
  }
  const apiVersion = typeof envelope.apiVersion === 'string' ? envelope.apiVersion : '';
  const kindName = typeof envelope.kind === 'string' ? envelope.kind : '';
  const objectSchema = schemas[`${apiVersion}/${kindName}`];
  if (objectSchema === undefined) {
    throw unsupportedMediaType(
      `application/vnd.kubernetes.protobuf for ${kindName} ${apiVersion} (the lab decodes protobuf only for the kinds kubectl's typed clients send; use JSON)`,
    );
  }
  try {
    return { apiVersion, kind: kindName, ...decodeMessage(objectSchema, raw ?? Buffer.alloc(0)) };
  } catch (error) {
    throw badRequest(`the protobuf ${kindName} is malformed: ${(error as Error).message}`);
  }
}
