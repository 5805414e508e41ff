import { describe, expect, it } from 'vitest';
import { parseBoolean, parseRequestInfo } from './requestInfo.js';

function info(method: string, url: string): unknown {
  const parsed = new URL(url, 'https://lab');
  return parseRequestInfo(method, parsed.pathname, parsed.searchParams);
}

describe('parseRequestInfo', () => {
  it.each([
    ['GET', '/api', { isResource: false, verb: 'get', path: '/api' }],
    ['GET', '/apis/batch/v1', { isResource: false, verb: 'get', path: '/apis/batch/v1' }],
    ['POST', '/lab/v1/faults', { isResource: false, verb: 'post', path: '/lab/v1/faults' }],
    ['GET', '/api/v1/pods', { verb: 'list', resource: 'pods', namespace: '', name: '' }],
    ['GET', '/api/v1/namespaces/ml/pods', { verb: 'list', resource: 'pods', namespace: 'ml' }],
    ['GET', '/api/v1/namespaces/ml/pods?watch=true', { verb: 'watch', resource: 'pods', namespace: 'ml' }],
    ['GET', '/api/v1/namespaces/ml/pods?watch=1', { verb: 'watch' }],
    ['GET', '/api/v1/watch/namespaces/ml/pods', { verb: 'watch', resource: 'pods', namespace: 'ml' }],
    ['GET', '/api/v1/namespaces/ml/pods/p', { verb: 'get', name: 'p', subresource: '' }],
    ['GET', '/api/v1/namespaces/ml/pods/p/exec?command=sh', { verb: 'get', name: 'p', subresource: 'exec' }],
    ['POST', '/api/v1/namespaces/ml/pods', { verb: 'create', namespace: 'ml', resource: 'pods', name: '' }],
    ['PUT', '/api/v1/namespaces/ml/pods/p/status', { verb: 'update', subresource: 'status' }],
    ['PATCH', '/apis/batch/v1/namespaces/ml/jobs/j', { verb: 'patch', group: 'batch', resource: 'jobs', name: 'j' }],
    ['DELETE', '/api/v1/namespaces/ml/pods', { verb: 'deletecollection' }],
    ['DELETE', '/api/v1/namespaces/ml/pods/p', { verb: 'delete', name: 'p' }],
    ['GET', '/api/v1/namespaces', { verb: 'list', resource: 'namespaces', namespace: '' }],
    ['GET', '/api/v1/namespaces/ml', { verb: 'get', resource: 'namespaces', namespace: 'ml', name: 'ml' }],
    [
      'PUT',
      '/api/v1/namespaces/ml/finalize',
      { verb: 'update', resource: 'namespaces', name: 'ml', subresource: 'finalize' },
    ],
    ['GET', '/api/v1/namespaces/ml/pods?watch=true&fieldSelector=metadata.name%3Dp', { verb: 'watch', name: 'p' }],
    ['GET', '/api/v1/namespaces/ml/pods/p/exec/extra', { extra: ['extra'] }],
    ['GET', '/api/v1/namespaces/a%2Fb/pods', { namespace: 'a/b' }],
  ])('%s %s', (method, url, expected) => {
    expect(info(method, url)).toMatchObject(expected);
  });

  it('rejects malformed percent-encoding', () => {
    expect(info('GET', '/api/v1/namespaces/%zz/pods')).toBeUndefined();
  });
});

describe('parseBoolean', () => {
  it.each([
    ['true', true],
    ['1', true],
    ['False', false],
    ['0', false],
    ['', undefined],
    ['yes', undefined],
  ])('%j → %s', (text, expected) => {
    expect(parseBoolean(text)).toBe(expected);
  });
});
