import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../objects/meta.js';
import { checkQuota, deltaOf, usedFor } from './quotaUsage.js';
import type { NamespaceObjects } from './quotaUsage.js';

const claim = (name: string, storage: string, storageClassName = 'shared-rwx'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'PersistentVolumeClaim',
  metadata: { name, namespace: 'g' },
  spec: { accessModes: ['ReadWriteMany'], storageClassName, resources: { requests: { storage } } },
});

const pod = (name: string, phase: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name },
  status: { phase },
});

const objects: NamespaceObjects = {
  claims: [claim('a', '10Gi'), claim('b', '20Gi', 'fast-rwo'), claim('c', '512Mi')],
  pods: [pod('p', 'Running'), pod('q', 'Succeeded'), pod('r', 'Pending')],
  counted: new Map([['count/jobs.batch', 2]]),
};

describe('usedFor', () => {
  it('computes storage, counts, per-class usage and count/… in canonical form', () => {
    const hard = {
      'requests.storage': '50Gi',
      persistentvolumeclaims: '10',
      'fast-rwo.storageclass.storage.k8s.io/requests.storage': '40Gi',
      'shared-rwx.storageclass.storage.k8s.io/persistentvolumeclaims': '5',
      pods: '4',
      'count/jobs.batch': '3',
      'limits.cpu': '4',
    };
    expect(usedFor(hard, objects)).toEqual({
      'requests.storage': '31232Mi',
      persistentvolumeclaims: '3',
      'fast-rwo.storageclass.storage.k8s.io/requests.storage': '20Gi',
      'shared-rwx.storageclass.storage.k8s.io/persistentvolumeclaims': '2',
      pods: '2',
      'count/jobs.batch': '2',
    });
  });
});

describe('checkQuota', () => {
  it('accepts a claim within every limit', () => {
    const hard = { 'requests.storage': '50Gi', persistentvolumeclaims: '10' };
    expect(checkQuota(hard, objects, deltaOf('PersistentVolumeClaim', claim('d', '10Gi')))).toBeUndefined();
  });

  it('reports only the exceeded resources, as the admission plugin words them', () => {
    const hard = { 'requests.storage': '40Gi', persistentvolumeclaims: '10' };
    expect(checkQuota(hard, objects, deltaOf('PersistentVolumeClaim', claim('d', '10Gi')))).toEqual({
      requested: 'requests.storage=10Gi',
      used: 'requests.storage=31232Mi',
      limited: 'requests.storage=40Gi',
    });
  });

  it('counts claims and per-class storage', () => {
    const hard = { persistentvolumeclaims: '3', 'fast-rwo.storageclass.storage.k8s.io/requests.storage': '25Gi' };
    expect(checkQuota(hard, objects, deltaOf('PersistentVolumeClaim', claim('d', '10Gi', 'fast-rwo')))).toEqual({
      requested: 'fast-rwo.storageclass.storage.k8s.io/requests.storage=10Gi,persistentvolumeclaims=1',
      used: 'fast-rwo.storageclass.storage.k8s.io/requests.storage=20Gi,persistentvolumeclaims=3',
      limited: 'fast-rwo.storageclass.storage.k8s.io/requests.storage=25Gi,persistentvolumeclaims=3',
    });
  });

  it('charges a resize only for the growth, and never a shrink', () => {
    const hard = { 'requests.storage': '32Gi', persistentvolumeclaims: '3' };
    expect(
      checkQuota(hard, objects, deltaOf('PersistentVolumeClaim', claim('a', '11Gi'), claim('a', '10Gi'))),
    ).toBeUndefined();
    expect(
      checkQuota(hard, objects, deltaOf('PersistentVolumeClaim', claim('a', '12Gi'), claim('a', '10Gi')))?.requested,
    ).toBe('requests.storage=2Gi');
    expect(
      checkQuota(hard, objects, deltaOf('PersistentVolumeClaim', claim('a', '1Gi'), claim('a', '10Gi'))),
    ).toBeUndefined();
  });

  it('counts pods that are not finished', () => {
    expect(checkQuota({ pods: '2' }, objects, deltaOf('Pod', pod('s', 'Pending')))).toEqual({
      requested: 'pods=1',
      used: 'pods=2',
      limited: 'pods=2',
    });
  });
});
