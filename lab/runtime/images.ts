import type { ImageFlavour } from './contract.js';

/**
 * Which userland an image reference maps to. The lab cannot pull images, so it recognises a few well-known
 * repositories by name and gives them a userland that behaves like theirs:
 * - BusyBox images, and Alpine (whose userland is BusyBox too: `sh`, `tar`, `find`, `stat` are BusyBox applets);
 * - Debian-family and other glibc images, which ship GNU coreutils, tar and findutils: the host's own userland.
 */
const busyboxRepositories: ReadonlySet<string> = new Set(['busybox', 'alpine']);

const gnuRepositories: ReadonlySet<string> = new Set([
  'debian',
  'ubuntu',
  'python',
  'node',
  'golang',
  'ruby',
  'buildpack-deps',
  'fedora',
  'centos',
  'rockylinux',
  'almalinux',
  'ubi8',
  'ubi9',
]);

/** One path component of a repository name, as the distribution spec allows it (lower case only). */
const componentPattern = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const digestPattern = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[A-Za-z0-9=_-]+$/;
/** A registry host (dotted, `localhost`, or with a port): `docker.io`, `localhost:5000`, `registry.k8s.io`. */
const hostLabel = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?';
const registryPattern = new RegExp(`^(?:${hostLabel}(?:\\.${hostLabel})+(?::[0-9]+)?|${hostLabel}:[0-9]+|localhost)$`);

/**
 * The last component of an image's repository (`docker.io/library/busybox:1.36@sha256:…` → `busybox`),
 * or undefined when the reference is not a valid image reference.
 */
export function repositoryName(image: string): string | undefined {
  if (image.length === 0 || image.length > 512) return undefined;
  let rest = image;
  const at = rest.indexOf('@');
  if (at !== -1) {
    if (!digestPattern.test(rest.slice(at + 1))) return undefined;
    rest = rest.slice(0, at);
  }
  const parts = rest.split('/');
  const last = parts.pop();
  if (last === undefined) return undefined;
  const colon = last.indexOf(':');
  const name = colon === -1 ? last : last.slice(0, colon);
  if (colon !== -1 && !tagPattern.test(last.slice(colon + 1))) return undefined;
  if (!componentPattern.test(name)) return undefined;
  // The first of several components may be a registry host (it may contain dots, a port or capitals).
  const [first, ...middle] = parts;
  if (first !== undefined && !componentPattern.test(first) && !registryPattern.test(first)) return undefined;
  if (!middle.every((component) => componentPattern.test(component))) return undefined;
  return name;
}

/** The userland the lab gives an image, or undefined when it cannot "pull" it (the API server reports ErrImagePull). */
export function flavourOf(image: string): ImageFlavour | undefined {
  const name = repositoryName(image);
  if (name === undefined) return undefined;
  if (busyboxRepositories.has(name)) return 'busybox';
  if (gnuRepositories.has(name)) return 'gnu';
  return undefined;
}
