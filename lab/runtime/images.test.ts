import { describe, expect, it } from 'vitest';

import { flavourOf, repositoryName } from './images.js';

describe('flavourOf', () => {
  const table: { image: string; expected: ReturnType<typeof flavourOf> }[] = [
    { image: 'busybox', expected: 'busybox' },
    { image: 'busybox:1.36', expected: 'busybox' },
    { image: 'busybox:latest', expected: 'busybox' },
    { image: 'docker.io/library/busybox:latest', expected: 'busybox' },
    { image: 'library/busybox', expected: 'busybox' },
    { image: 'registry.k8s.io/e2e-test-images/busybox:1.29-4', expected: 'busybox' },
    { image: 'localhost:5000/busybox:1.36', expected: 'busybox' },
    { image: `busybox@sha256:${'a'.repeat(64)}`, expected: 'busybox' },
    { image: `busybox:1.36@sha256:${'b'.repeat(64)}`, expected: 'busybox' },
    { image: 'alpine:3.20', expected: 'busybox' },
    { image: 'debian', expected: 'gnu' },
    { image: 'debian:bookworm-slim', expected: 'gnu' },
    { image: 'ubuntu:24.04', expected: 'gnu' },
    { image: 'python:3.12-slim', expected: 'gnu' },
    { image: 'docker.io/library/node:20', expected: 'gnu' },
    { image: 'registry.access.redhat.com/ubi9', expected: 'gnu' },
    // Anything else cannot be "pulled".
    { image: 'nginx', expected: undefined },
    { image: 'busybox-extras', expected: undefined },
    { image: 'mybusybox', expected: undefined },
    { image: 'ghcr.io/acme/tether-helper:1', expected: undefined },
    // Not image references at all.
    { image: '', expected: undefined },
    { image: 'BusyBox', expected: undefined },
    { image: 'busybox:', expected: undefined },
    { image: 'busybox:bad tag', expected: undefined },
    { image: 'busybox@sha256', expected: undefined },
    { image: '../busybox', expected: undefined },
    { image: 'busybox/', expected: undefined },
    { image: ' busybox', expected: undefined },
  ];
  for (const { image, expected } of table) {
    it(`${JSON.stringify(image)} → ${expected ?? 'ErrImagePull'}`, () => {
      expect(flavourOf(image)).toBe(expected);
    });
  }

  it('names the repository without registry, path, tag or digest', () => {
    expect(repositoryName('docker.io/library/busybox:1.36')).toBe('busybox');
    expect(repositoryName('quay.io/org/team/python:3')).toBe('python');
    expect(repositoryName('a//b')).toBeUndefined();
  });
});
