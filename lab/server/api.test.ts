import { describe, expect, it } from 'vitest';
import { ApiError } from '../objects/apiError.js';
import type { JsonObject } from '../objects/json.js';
import { findKind, K } from '../objects/kinds.js';
import type { KindInfo } from '../objects/kinds.js';
import { ObjectStore } from '../objects/store.js';
import { ApiCore } from './api.js';
import type { CoreRequest, CoreResponse } from './api.js';
import { defaultClusterRoleBindings, defaultClusterRoles } from './defaultRbac.js';
import type { UserInfo } from './rbac.js';
import { parseRequestInfo } from './requestInfo.js';
import type { ResourceRequest } from './requestInfo.js';

const admin: UserInfo = { name: 'admin', groups: ['system:masters', 'system:authenticated'] };

function setup(): ApiCore {
  const store = new ObjectStore();
  store.create(K.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'ml' } });
  for (const role of defaultClusterRoles()) store.create(K.clusterRoles, role);
  for (const binding of defaultClusterRoleBindings()) store.create(K.clusterRoleBindings, binding);
  return new ApiCore({
    store,
    rbac: () => ({
      roles: [],
      clusterRoles: store.list(K.clusterRoles),
      roleBindings: [],
      clusterRoleBindings: store.list(K.clusterRoleBindings),
    }),
  });
}

async function send(
  core: ApiCore,
  method: string,
  url: string,
  kind: KindInfo,
  body?: unknown,
  contentType = 'application/json',
): Promise<CoreResponse> {
  const parsed = new URL(url, 'https://lab');
  const info = parseRequestInfo(method, parsed.pathname, parsed.searchParams) as ResourceRequest;
  const request: CoreRequest = {
    method,
    info,
    kind,
    query: parsed.searchParams,
    user: admin,
    ...(body === undefined ? {} : { body: Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body)) }),
    contentType,
    format: 'json',
  };
  return core.handle(request);
}

async function failure(run: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await run;
  } catch (error) {
    if (error instanceof ApiError) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected the request to fail');
}

const configMap = (name: string, data: JsonObject = {}, labels: JsonObject = {}): JsonObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, labels },
  data,
});

describe('ApiCore', () => {
  it('creates with generateName and defaults, and lists with a label selector', async () => {
    const core = setup();
    const created = await send(core, 'POST', '/api/v1/namespaces/ml/pods', K.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { generateName: 'job-', labels: { app: 'x' } },
      spec: { containers: [{ name: 'c', image: 'busybox:1.36' }] },
    });
    expect(created.status).toBe(201);
    const pod = created.body as { metadata: { name: string }; spec: JsonObject; status: JsonObject };
    expect(pod.metadata.name).toMatch(/^job-[a-z0-9]{5}$/);
    expect(pod.spec).toMatchObject({
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      containers: [{ imagePullPolicy: 'IfNotPresent' }],
    });
    expect(pod.status).toEqual({ phase: 'Pending', qosClass: 'BestEffort' });
    await send(core, 'POST', '/api/v1/namespaces/ml/configmaps', K.configMaps, configMap('a', {}, { tier: 'x' }));
    await send(core, 'POST', '/api/v1/namespaces/ml/configmaps', K.configMaps, configMap('b', {}, { tier: 'y' }));
    const list = await send(core, 'GET', '/api/v1/namespaces/ml/configmaps?labelSelector=tier%3Dy', K.configMaps);
    expect((list.body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name)).toEqual(['b']);
    expect(list.body.kind).toBe('ConfigMapList');
  });

  it('applies merge, strategic and JSON patches', async () => {
    const core = setup();
    await send(core, 'POST', '/api/v1/namespaces/ml/configmaps', K.configMaps, configMap('cm', { a: '1', b: '2' }));
    const merged = await send(
      core,
      'PATCH',
      '/api/v1/namespaces/ml/configmaps/cm',
      K.configMaps,
      { data: { a: null, c: '3' } },
      'application/merge-patch+json',
    );
    expect(merged.body.data).toEqual({ b: '2', c: '3' });
    const strategic = await send(
      core,
      'PATCH',
      '/api/v1/namespaces/ml/configmaps/cm',
      K.configMaps,
      { metadata: { labels: { x: 'y' } } },
      'application/strategic-merge-patch+json',
    );
    expect((strategic.body.metadata as JsonObject).labels).toEqual({ x: 'y' });
    const json = await send(
      core,
      'PATCH',
      '/api/v1/namespaces/ml/configmaps/cm',
      K.configMaps,
      [{ op: 'replace', path: '/data/b', value: 'B' }],
      'application/json-patch+json',
    );
    expect(json.body.data).toEqual({ b: 'B', c: '3' });
    expect(
      await failure(
        send(core, 'PATCH', '/api/v1/namespaces/ml/configmaps/cm', K.configMaps, {}, 'application/apply-patch+yaml'),
      ),
    ).toMatchObject({ code: 415 });
    expect(
      await failure(
        send(
          core,
          'PATCH',
          '/api/v1/namespaces/ml/configmaps/cm',
          K.configMaps,
          { metadata: { name: 'other' } },
          'application/merge-patch+json',
        ),
      ),
    ).toMatchObject({ code: 400 });
  });

  it('keeps status out of main-resource writes and spec out of status writes', async () => {
    const core = setup();
    const created = await send(core, 'POST', '/api/v1/namespaces/ml/persistentvolumeclaims', K.claims, {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: 'c' },
      spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      status: { phase: 'Bound' },
    });
    expect(created.body.status).toEqual({ phase: 'Pending' });
    const viaMain = await send(
      core,
      'PATCH',
      '/api/v1/namespaces/ml/persistentvolumeclaims/c',
      K.claims,
      { status: { phase: 'Lost' }, metadata: { labels: { a: 'b' } } },
      'application/merge-patch+json',
    );
    expect(viaMain.body.status).toEqual({ phase: 'Pending' });
    const viaStatus = await send(
      core,
      'PATCH',
      '/api/v1/namespaces/ml/persistentvolumeclaims/c/status',
      K.claims,
      { status: { phase: 'Lost' }, spec: { volumeName: 'x' } },
      'application/merge-patch+json',
    );
    expect(viaStatus.body.status).toEqual({ phase: 'Lost' });
    expect((viaStatus.body.spec as JsonObject).volumeName).toBeUndefined();
  });

  it('does not store dry runs, and refuses a duplicate even then', async () => {
    const core = setup();
    const dry = await send(core, 'POST', '/api/v1/namespaces/ml/configmaps?dryRun=All', K.configMaps, configMap('cm'));
    expect(dry.status).toBe(201);
    expect(core.store.get(K.configMaps, 'ml', 'cm')).toBeUndefined();
    await send(core, 'POST', '/api/v1/namespaces/ml/configmaps', K.configMaps, configMap('cm'));
    expect(
      await failure(send(core, 'POST', '/api/v1/namespaces/ml/configmaps?dryRun=All', K.configMaps, configMap('cm'))),
    ).toMatchObject({ code: 409 });
    expect(
      await failure(send(core, 'POST', '/api/v1/namespaces/ml/configmaps?dryRun=Maybe', K.configMaps, configMap('x'))),
    ).toMatchObject({ code: 400 });
  });

  it('deletes a collection by selector and answers with what it deleted', async () => {
    const core = setup();
    for (const [name, tier] of [
      ['a', 'x'],
      ['b', 'x'],
      ['c', 'y'],
    ] as const) {
      await send(core, 'POST', '/api/v1/namespaces/ml/configmaps', K.configMaps, configMap(name, {}, { tier }));
    }
    const deleted = await send(core, 'DELETE', '/api/v1/namespaces/ml/configmaps?labelSelector=tier%3Dx', K.configMaps);
    expect((deleted.body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name)).toEqual(['a', 'b']);
    expect(core.store.list(K.configMaps, 'ml').map((c) => c.metadata.name)).toEqual(['c']);
  });

  it('rejects unknown fields under Strict and warns otherwise', async () => {
    const core = setup();
    const body = { ...configMap('cm'), dta: { a: '1' } };
    expect(
      await failure(send(core, 'POST', '/api/v1/namespaces/ml/configmaps?fieldValidation=Strict', K.configMaps, body)),
    ).toEqual({
      code: 400,
      message: 'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "dta"',
    });
    const warned = await send(core, 'POST', '/api/v1/namespaces/ml/configmaps', K.configMaps, body);
    expect(warned.warnings).toEqual(['unknown field "dta"']);
    const ignored = await send(core, 'POST', '/api/v1/namespaces/ml/configmaps?fieldValidation=Ignore', K.configMaps, {
      ...body,
      metadata: { name: 'cm2' },
    });
    expect(ignored.warnings).toBeUndefined();
  });

  it('answers SelfSubjectAccessReviews without storing them', async () => {
    const core = setup();
    const reviews = findKind('authorization.k8s.io', 'v1', 'selfsubjectaccessreviews')!;
    const review = await send(core, 'POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', reviews, {
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SelfSubjectAccessReview',
      spec: { resourceAttributes: { verb: 'delete', resource: 'nodes' } },
    });
    expect(review.body.status).toEqual({
      allowed: true,
      reason:
        'RBAC: allowed by ClusterRoleBinding "cluster-admin" of ClusterRole "cluster-admin" to Group "system:masters"',
    });
  });
});
