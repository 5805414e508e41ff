import { describe, expect, it } from 'vitest';
import { ApiError } from '../objects/apiError.js';
import { decodeProtobufObject } from './protobuf.js';

/** A tiny protobuf encoder, to build the bodies kubectl's typed clients send. */
function varint(value: number): Buffer {
  const bytes: number[] = [];
  let v = value;
  do {
    let byte = v & 0x7f;
    v = Math.floor(v / 128);
    if (v > 0) byte |= 0x80;
    bytes.push(byte);
  } while (v > 0);
  return Buffer.from(bytes);
}
const bytesField = (field: number, payload: Buffer | string): Buffer => {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([varint((field << 3) | 2), varint(data.length), data]);
};
const varintField = (field: number, value: number): Buffer => Buffer.concat([varint(field << 3), varint(value)]);
const message = (...fields: Buffer[]): Buffer => Buffer.concat(fields);
const mapEntry = (field: number, key: string, value: Buffer | string): Buffer =>
  bytesField(field, message(bytesField(1, key), bytesField(2, value)));

function envelope(apiVersion: string, kind: string, raw: Buffer): Buffer {
  return Buffer.concat([
    Buffer.from('k8s\0', 'latin1'),
    bytesField(1, message(bytesField(1, apiVersion), bytesField(2, kind))),
    bytesField(2, raw),
  ]);
}

describe('decodeProtobufObject', () => {
  it('decodes a SelfSubjectAccessReview as kubectl auth can-i sends it', () => {
    const raw = message(
      bytesField(1, message()),
      bytesField(
        2,
        message(
          bytesField(
            1,
            message(
              bytesField(1, 'ml'),
              bytesField(2, 'create'),
              bytesField(3, ''),
              bytesField(5, 'pods'),
              bytesField(6, 'exec'),
            ),
          ),
        ),
      ),
    );
    expect(decodeProtobufObject(envelope('authorization.k8s.io/v1', 'SelfSubjectAccessReview', raw))).toEqual({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      metadata: {},
      spec: { resourceAttributes: { namespace: 'ml', verb: 'create', resource: 'pods', subresource: 'exec' } },
    });
  });

  it('decodes maps, quantities, lists, inline volume sources, and keeps meaningful zeros of pointer fields', () => {
    const container = message(
      bytesField(1, 'main'),
      bytesField(2, 'busybox'),
      bytesField(3, 'echo'),
      bytesField(3, 'hi'),
      bytesField(5, ''),
      varintField(16, 0),
    );
    const volume = message(
      bytesField(1, 'data'),
      bytesField(2, message(bytesField(10, message(bytesField(1, 'claim'), varintField(2, 1))))),
    );
    const podSpec = message(bytesField(1, volume), bytesField(2, container), bytesField(3, 'Never'), varintField(4, 0));
    const raw = message(
      bytesField(1, message(bytesField(1, 'job'), mapEntry(11, 'app', 'x'), mapEntry(11, 'empty', ''))),
      bytesField(2, message(varintField(7, 0), bytesField(6, message(bytesField(2, podSpec))))),
    );
    expect(decodeProtobufObject(envelope('batch/v1', 'Job', raw))).toEqual({
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'job', labels: { app: 'x', empty: '' } },
      spec: {
        backoffLimit: 0,
        template: {
          spec: {
            volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'claim', readOnly: true } }],
            containers: [{ name: 'main', image: 'busybox', command: ['echo', 'hi'] }],
            restartPolicy: 'Never',
            terminationGracePeriodSeconds: 0,
          },
        },
      },
    });
    const quota = message(
      bytesField(1, message(bytesField(1, 'q'))),
      bytesField(2, message(mapEntry(1, 'requests.storage', message(bytesField(1, '10Gi'))))),
    );
    expect(decodeProtobufObject(envelope('v1', 'ResourceQuota', quota))).toMatchObject({
      spec: { hard: { 'requests.storage': '10Gi' } },
    });
  });

  it.each([
    ['no magic number', Buffer.from('{"kind":"Pod"}'), 400],
    ['a truncated message', Buffer.concat([Buffer.from('k8s\0', 'latin1'), Buffer.from([0x0a, 0x50, 0x01])]), 400],
    ['a kind without a schema', envelope('v1', 'Secret', message()), 415],
  ])('refuses %s', (_name, body, code) => {
    try {
      decodeProtobufObject(body);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).code).toBe(code);
    }
  });
});
