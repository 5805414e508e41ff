import { request } from 'node:https';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestLab } from './helpers.js';
import type { TestLab } from './helpers.js';

/** The API server's wire behaviour, with raw HTTPS requests: Status shapes, discovery, tables, watch, bad input. */
let t: TestLab;

beforeAll(async () => {
  t = await startTestLab();
});

afterAll(async () => {
  await t.stop();
});

interface Reply {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
  json(): Record<string, unknown>;
}

function call(
  method: string,
  path: string,
  options: { user?: string | null; body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const url = new URL(`${t.lab.apiServer}${path}`);
  const token = options.user === null ? undefined : t.lab.user(options.user ?? 'admin').token;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        ca: t.lab.caCertPem,
        headers: {
          ...(token === undefined ? {} : { Authorization: `Bearer ${token}` }),
          ...(options.body === undefined
            ? {}
            : { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(options.body)) }),
          ...options.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers['content-type'] ?? '',
            text,
            json: () => JSON.parse(text) as Record<string, unknown>,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const pod = (name: string, extra: object = {}): string =>
  JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'group-vision' },
    spec: { containers: [{ name: 'c', image: 'busybox' }] },
    ...extra,
  });

describe('Status objects', () => {
  it('401 without a valid token', async () => {
    for (const user of [null, 'admin']) {
      const reply = await call(
        'GET',
        '/api/v1/pods',
        user === null ? { user: null } : { headers: { Authorization: 'Bearer wrong' } },
      );
      expect(reply.status).toBe(401);
      expect(reply.json()).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'Unauthorized',
        reason: 'Unauthorized',
        code: 401,
      });
    }
  });

  it('403 as the RBAC authorizer words it', async () => {
    const reply = await call('POST', '/api/v1/namespaces/group-vision/pods', { user: 'bob', body: pod('x') });
    expect(reply.json()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'pods is forbidden: User "bob" cannot create resource "pods" in API group "" in the namespace "group-vision"',
      reason: 'Forbidden',
      details: { kind: 'pods' },
      code: 403,
    });
    const named = await call('DELETE', '/apis/batch/v1/namespaces/group-nlp/jobs/j', { user: 'alice' });
    expect(named.json()).toMatchObject({
      message:
        'jobs.batch "j" is forbidden: User "alice" cannot delete resource "jobs" in API group "batch" in the namespace "group-nlp"',
      details: { name: 'j', group: 'batch', kind: 'jobs' },
      code: 403,
    });
  });

  it('404 for a missing object and for an unknown resource', async () => {
    expect((await call('GET', '/api/v1/namespaces/group-vision/pods/nope')).json()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'pods "nope" not found',
      reason: 'NotFound',
      details: { name: 'nope', kind: 'pods' },
      code: 404,
    });
    expect((await call('GET', '/api/v1/widgets')).json()).toMatchObject({
      reason: 'NotFound',
      code: 404,
      message: 'the server could not find the requested resource',
    });
    const plain = await call('GET', '/no/such/path');
    expect([plain.status, plain.text]).toEqual([404, '404 page not found\n']);
  });

  it('409 for a duplicate and for a stale update', async () => {
    const first = await call('POST', '/api/v1/namespaces/group-vision/configmaps', {
      body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' }, data: { a: '1' } }),
    });
    expect(first.status).toBe(201);
    const again = await call('POST', '/api/v1/namespaces/group-vision/configmaps', {
      body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm' } }),
    });
    expect(again.json()).toMatchObject({
      reason: 'AlreadyExists',
      code: 409,
      message: 'configmaps "cm" already exists',
      details: { name: 'cm', kind: 'configmaps' },
    });
    const stale = { ...first.json(), data: { a: '2' } };
    expect(
      (await call('PUT', '/api/v1/namespaces/group-vision/configmaps/cm', { body: JSON.stringify(stale) })).status,
    ).toBe(200);
    const conflict = await call('PUT', '/api/v1/namespaces/group-vision/configmaps/cm', {
      body: JSON.stringify({ ...stale, data: { a: '3' } }),
    });
    expect(conflict.json()).toMatchObject({
      reason: 'Conflict',
      code: 409,
      message:
        'Operation cannot be fulfilled on configmaps "cm": the object has been modified; please apply your changes to the latest version and try again',
    });
  });

  it('422 with one cause per field', async () => {
    const reply = await call('POST', '/api/v1/namespaces/group-vision/persistentvolumeclaims', {
      body: JSON.stringify({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: { name: 'bad' },
        spec: { accessModes: ['ReadWriteSometimes'] },
      }),
    });
    expect(reply.json()).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message:
        'PersistentVolumeClaim "bad" is invalid: [spec.accessModes: Unsupported value: "ReadWriteSometimes": supported values: "ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod", spec.resources[storage]: Required value]',
      reason: 'Invalid',
      details: {
        name: 'bad',
        kind: 'PersistentVolumeClaim',
        causes: [
          {
            reason: 'FieldValueNotSupported',
            message:
              'Unsupported value: "ReadWriteSometimes": supported values: "ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod"',
            field: 'spec.accessModes',
          },
          { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.resources[storage]' },
        ],
      },
      code: 422,
    });
  });

  it('400 for bad query parameters and malformed bodies', async () => {
    const cases: [string, string, string | undefined, RegExp][] = [
      ['GET', '/api/v1/pods?labelSelector=%21%21%21', undefined, /unable to parse requirement/],
      ['GET', '/api/v1/pods?limit=ten', undefined, /error parsing 'limit'/],
      [
        'GET',
        '/api/v1/pods?fieldSelector=spec.favouriteColour%3Dblue',
        undefined,
        /field label not supported: spec.favouriteColour/,
      ],
      ['GET', '/api/v1/pods?watch=maybe&resourceVersion=abc', undefined, /resourceVersion/],
      ['POST', '/api/v1/namespaces/group-vision/pods', '{"apiVersion": "v1", "kind": ', /json parse error/],
      ['POST', '/api/v1/namespaces/group-vision/pods', '[1,2,3]', /must be a JSON object/],
      [
        'POST',
        '/api/v1/namespaces/group-vision/pods',
        JSON.stringify({ apiVersion: 'v1', kind: 'Widget', metadata: { name: 'w' } }),
        /does not match the expected kind/,
      ],
      [
        'DELETE',
        '/api/v1/namespaces/group-vision/configmaps/cm?propagationPolicy=Sometimes',
        undefined,
        /propagationPolicy/,
      ],
    ];
    for (const [method, path, body, message] of cases) {
      const reply = await call(method, path, body === undefined ? {} : { body });
      expect(reply.status, `${method} ${path}`).toBe(400);
      expect(reply.json()).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400 });
      expect(String(reply.json().message)).toMatch(message);
    }
  });

  it("refuses an exec request that is not a WebSocket upgrade (kubectl's SPDY fallback)", async () => {
    const reply = await call(
      'POST',
      '/api/v1/namespaces/group-vision/pods/vision-data-viewer/exec?command=true&stdout=true',
    );
    expect(reply.status).toBe(400);
    expect(reply.json()).toMatchObject({ kind: 'Status', reason: 'BadRequest', code: 400 });
  });
});

describe('discovery', () => {
  it('serves the legacy documents kubectl reads', async () => {
    expect((await call('GET', '/api')).json()).toMatchObject({ kind: 'APIVersions', versions: ['v1'] });
    const groups = (await call('GET', '/apis')).json().groups as { name: string }[];
    expect(groups.map((g) => g.name).sort()).toEqual([
      'authorization.k8s.io',
      'batch',
      'rbac.authorization.k8s.io',
      'storage.k8s.io',
    ]);
    const core = (await call('GET', '/api/v1')).json().resources as { name: string; verbs: string[] }[];
    expect(core.find((r) => r.name === 'pods/exec')?.verbs).toEqual(['create', 'get']);
    expect(core.find((r) => r.name === 'persistentvolumeclaims')).toMatchObject({
      namespaced: true,
      kind: 'PersistentVolumeClaim',
      shortNames: ['pvc'],
    });
    expect((await call('GET', '/version', { user: null })).json()).toMatchObject({ major: '1', minor: '32' });
    expect((await call('GET', '/openapi/v2')).status).toBe(404);
    const openapi = (await call('GET', '/openapi/v3')).json().paths as Record<string, unknown>;
    expect(Object.keys(openapi)).toContain('apis/batch/v1');
  });

  it('answers aggregated-discovery clients with plain documents they fall back from', async () => {
    const reply = await call('GET', '/apis', {
      headers: { Accept: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json' },
    });
    expect(reply.contentType).toBe('application/json');
    expect(reply.json().kind).toBe('APIGroupList');
  });
});

describe('lists, tables and watches', () => {
  it('selects by label and field, and pages with continue tokens', async () => {
    const labelled = (
      await call(
        'GET',
        '/api/v1/namespaces/group-vision/persistentvolumeclaims?labelSelector=app.kubernetes.io%2Fpart-of%3Dvision-data',
      )
    ).json();
    expect((labelled.items as { metadata: { name: string } }[]).map((i) => i.metadata.name)).toEqual([
      'vision-checkpoints',
      'vision-datasets',
    ]);
    const running = (
      await call('GET', '/api/v1/pods?fieldSelector=status.phase%3DRunning,metadata.namespace%3Dgroup-vision')
    ).json();
    expect((running.items as unknown[]).length).toBeGreaterThanOrEqual(1);
    const first = (await call('GET', '/api/v1/persistentvolumeclaims?limit=2')).json();
    const meta = first.metadata as { continue: string; remainingItemCount: number };
    expect((first.items as unknown[]).length).toBe(2);
    expect(meta.remainingItemCount).toBe(5);
    const second = (await call('GET', `/api/v1/persistentvolumeclaims?limit=10&continue=${meta.continue}`)).json();
    expect((second.items as unknown[]).length).toBe(5);
    expect((await call('GET', '/api/v1/persistentvolumeclaims?continue=garbage')).status).toBe(400);
  });

  it('prints Tables when asked', async () => {
    const table = (
      await call('GET', '/api/v1/namespaces/group-vision/persistentvolumeclaims/vision-datasets', {
        headers: { Accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' },
      })
    ).json();
    expect(table.kind).toBe('Table');
    const columns = (table.columnDefinitions as { name: string }[]).map((c) => c.name);
    const cells = (table.rows as { cells: unknown[] }[])[0]?.cells ?? [];
    expect(Object.fromEntries(columns.map((c, i) => [c, cells[i]]))).toMatchObject({
      Name: 'vision-datasets',
      Status: 'Bound',
      Capacity: '50Gi',
      'Access Modes': 'RWX',
      StorageClass: 'shared-rwx',
    });
  });

  it('resumes a watch from a resourceVersion, or starts with the current objects', async () => {
    const list = (await call('GET', '/api/v1/namespaces/group-vision/configmaps')).json();
    const from = (list.metadata as { resourceVersion: string }).resourceVersion;
    await call('POST', '/api/v1/namespaces/group-vision/configmaps', {
      body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'watched' } }),
    });
    await call('DELETE', '/api/v1/namespaces/group-vision/configmaps/watched');
    const watch = await call(
      'GET',
      `/api/v1/namespaces/group-vision/configmaps?watch=true&resourceVersion=${from}&timeoutSeconds=1`,
    );
    const events = watch.text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; object: { metadata: { name: string } } });
    expect(events.map((e) => `${e.type} ${e.object.metadata.name}`)).toEqual(['ADDED watched', 'DELETED watched']);
    const now = (await call('GET', '/api/v1/namespaces/group-vision/configmaps?watch=1&timeoutSeconds=1')).text
      .trim()
      .split('\n');
    expect(now.every((line) => (JSON.parse(line) as { type: string }).type === 'ADDED')).toBe(true);
  });
});

describe('bad input never crashes the server', () => {
  it('answers random paths, methods, queries and bodies with a status below 500', async () => {
    const segment = fc.oneof(
      fc.constantFrom(
        'api',
        'apis',
        'v1',
        'namespaces',
        'group-vision',
        'pods',
        'persistentvolumeclaims',
        'batch',
        'exec',
        'log',
        'status',
        'watch',
        '..',
        '%00',
        '%zz',
        '',
      ),
      fc.string({ maxLength: 8 }).map(encodeURIComponent),
    );
    const arbitrary = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'),
      path: fc.array(segment, { maxLength: 7 }).map((parts) => `/${parts.join('/')}`),
      query: fc.constantFrom(
        '',
        '?watch=true&timeoutSeconds=0',
        '?labelSelector=a%20in%20(',
        '?limit=-1',
        '?fieldSelector=x',
        '?dryRun=Sometimes',
        '?continue=%7B',
      ),
      body: fc.oneof(
        fc.constant(undefined),
        fc.json(),
        fc.string(),
        fc.constant(
          '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"fuzz"},"spec":{"containers":[{"name":"c","image":"nginx"}]}}',
        ),
      ),
      contentType: fc.constantFrom(
        'application/json',
        'application/merge-patch+json',
        'application/json-patch+json',
        'application/vnd.kubernetes.protobuf',
        'text/plain',
        'application/yaml',
      ),
    });
    await fc.assert(
      fc.asyncProperty(arbitrary, async ({ method, path, query, body, contentType }) => {
        const reply = await call(method, `${path}${query}`, {
          ...(body === undefined ? {} : { body }),
          headers: { 'Content-Type': contentType },
        });
        expect(reply.status, `${method} ${path}${query}`).toBeGreaterThanOrEqual(200);
        expect(reply.status, `${method} ${path}${query} → ${reply.text.slice(0, 200)}`).toBeLessThan(500);
      }),
      { numRuns: 300 },
    );
    expect((await call('GET', '/healthz')).text).toBe('ok');
  });
});
