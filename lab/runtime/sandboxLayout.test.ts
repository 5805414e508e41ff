import { describe, expect, it } from 'vitest';

import type { SandboxSpec } from './contract.js';
import {
  bwrapArguments,
  checkContainerPath,
  checkSpec,
  hostnameFor,
  sandboxDirName,
  writableHostPathOf,
  type HostUserland,
  type SandboxLayout,
} from './sandboxLayout.js';

const mergedUsr: HostUserland = {
  topLevel: [
    { name: 'bin', kind: 'symlink', target: 'usr/bin' },
    { name: 'lib', kind: 'symlink', target: 'usr/lib' },
    { name: 'lib64', kind: 'directory' },
  ],
  etc: ['/etc/passwd', '/etc/alternatives'],
};

const spec = (overrides: Partial<SandboxSpec> = {}): SandboxSpec => ({
  id: 'ml/helper-abc12',
  image: 'busybox',
  command: ['sleep', '1000'],
  env: {},
  volumes: [],
  ...overrides,
});

const layout = (overrides: Partial<SandboxLayout> = {}): SandboxLayout => ({
  flavour: 'busybox',
  rootDir: '/state/sandboxes/x/root',
  busybox: { binDir: '/state/images/busybox/bin', binary: '/bin/busybox' },
  host: mergedUsr,
  hostname: 'helper-abc12',
  env: {},
  volumes: [],
  ...overrides,
});

/** The value following `flag` each time it appears, e.g. every `--ro-bind` pair. */
function pairs(args: readonly string[], flag: string): [string, string][] {
  const found: [string, string][] = [];
  args.forEach((arg, index) => {
    if (arg === flag) found.push([args[index + 1]!, args[index + 2]!]);
  });
  return found;
}

describe('checkContainerPath', () => {
  const table: { path: string; ok: boolean }[] = [
    { path: '/data', ok: true },
    { path: '/data/sub dir/x', ok: true },
    { path: 'data', ok: false },
    { path: '/', ok: false },
    { path: '/data/', ok: false },
    { path: '/data/../etc', ok: false },
    { path: '/data/./x', ok: false },
    { path: '//data', ok: false },
    { path: '/da\0ta', ok: false },
  ];
  for (const { path, ok } of table) {
    it(`${JSON.stringify(path)} is ${ok ? 'accepted' : 'refused'}`, () => {
      expect(checkContainerPath('mountPath', path) === undefined).toBe(ok);
    });
  }
});

describe('checkSpec', () => {
  const table: { description: string; spec: SandboxSpec; flavour?: 'busybox' | 'gnu'; problem?: RegExp }[] = [
    { description: 'a plain spec', spec: spec() },
    { description: 'an empty command (the runtime sleeps)', spec: spec({ command: [] }) },
    { description: 'an id with spaces', spec: spec({ id: 'ml/a b' }), problem: /sandbox id/ },
    { description: 'an id with ..', spec: spec({ id: 'ml/../x' }), problem: /sandbox id/ },
    { description: 'a NUL in the command', spec: spec({ command: ['sh', '\0'] }), problem: /NUL/ },
    { description: 'an env name with =', spec: spec({ env: { 'A=B': 'x' } }), problem: /environment variable name/ },
    { description: 'a relative workingDir', spec: spec({ workingDir: 'work' }), problem: /workingDir/ },
    {
      description: 'a volume over /proc',
      spec: spec({ volumes: [{ mountPath: '/proc/x', hostPath: '/v', readOnly: false }] }),
      problem: /would cover \/proc/,
    },
    {
      description: 'a volume over BusyBox /bin',
      spec: spec({ volumes: [{ mountPath: '/bin', hostPath: '/v', readOnly: true }] }),
      problem: /would cover \/bin/,
    },
    {
      description: 'a volume above /usr on GNU',
      flavour: 'gnu',
      spec: spec({ volumes: [{ mountPath: '/usr/local/data', hostPath: '/v', readOnly: false }] }),
      problem: /would cover \/usr/,
    },
    {
      description: 'a volume over a bound /etc file on GNU',
      flavour: 'gnu',
      spec: spec({ volumes: [{ mountPath: '/etc/passwd', hostPath: '/v', readOnly: false }] }),
      problem: /would cover \/etc\/passwd/,
    },
    {
      description: 'a volume elsewhere in /etc on GNU',
      flavour: 'gnu',
      spec: spec({ volumes: [{ mountPath: '/etc/app', hostPath: '/v', readOnly: false }] }),
    },
    {
      description: 'two volumes at one path',
      spec: spec({
        volumes: [
          { mountPath: '/data', hostPath: '/v1', readOnly: false },
          { mountPath: '/data', hostPath: '/v2', readOnly: false },
        ],
      }),
      problem: /two volumes/,
    },
    {
      description: 'a relative hostPath',
      spec: spec({ volumes: [{ mountPath: '/data', hostPath: 'v', readOnly: false }] }),
      problem: /hostPath/,
    },
  ];
  for (const { description, spec: candidate, flavour, problem } of table) {
    it(`${problem === undefined ? 'accepts' : 'refuses'} ${description}`, () => {
      const problems = checkSpec(candidate, flavour ?? 'busybox', mergedUsr);
      if (problem === undefined) expect(problems).toEqual([]);
      else expect(problems.join('\n')).toMatch(problem);
    });
  }
});

describe('bwrapArguments', () => {
  it('isolates PID, IPC and UTS, dies with the lab, and keeps only Docker default capabilities', () => {
    const args = bwrapArguments(layout(), ['sh']);
    for (const flag of ['--unshare-pid', '--unshare-ipc', '--unshare-uts', '--die-with-parent', '--new-session']) {
      expect(args).toContain(flag);
    }
    expect(args).not.toContain('--unshare-net');
    expect(pairs(args, '--cap-drop')[0]?.[0]).toBe('ALL');
    expect(args.filter((arg) => arg === '--cap-add')).toHaveLength(14);
    expect(args).not.toContain('CAP_SYS_ADMIN');
  });

  it('passes argv as separate arguments after "--"', () => {
    const argv = ['sh', '-c', 'echo "$1"; rm -rf "$2"', 'sh', '$(reboot)', 'a b;c'];
    const args = bwrapArguments(layout(), argv);
    expect(args.slice(args.indexOf('--') + 1)).toEqual(argv);
  });

  it('binds the writable root first, BusyBox read-only over /bin, then /proc, /dev and the volumes', () => {
    const args = bwrapArguments(
      layout({
        volumes: [
          { mountPath: '/data/inner', hostPath: '/pvc/b', readOnly: true },
          { mountPath: '/data', hostPath: '/pvc/a', readOnly: false },
        ],
      }),
      ['true'],
    );
    expect(pairs(args, '--bind')).toEqual([
      ['/state/sandboxes/x/root', '/'],
      ['/pvc/a', '/data'],
    ]);
    expect(pairs(args, '--ro-bind')).toEqual([
      ['/state/images/busybox/bin', '/bin'],
      ['/bin/busybox', '/bin/busybox'],
      ['/pvc/b', '/data/inner'],
    ]);
    // The parent volume is bound before the one nested in it.
    expect(args.indexOf('/pvc/a')).toBeLessThan(args.indexOf('/pvc/b'));
    expect(args.indexOf('--proc')).toBeLessThan(args.indexOf('/pvc/a'));
  });

  it('gives GNU images the host /usr, real top-level directories and /etc pieces, all read-only', () => {
    const args = bwrapArguments(layout({ flavour: 'gnu' }), ['true']);
    expect(pairs(args, '--ro-bind')).toEqual([
      ['/usr', '/usr'],
      ['/lib64', '/lib64'],
      ['/etc/passwd', '/etc/passwd'],
      ['/etc/alternatives', '/etc/alternatives'],
    ]);
  });

  it('clears the environment, then sets PATH, HOSTNAME, HOME and the spec env (which may override PATH)', () => {
    const args = bwrapArguments(layout({ env: { PATH: '/opt/bin', FOO: 'a b' } }), ['env']);
    expect(args.indexOf('--clearenv')).toBeLessThan(args.indexOf('--setenv'));
    expect(pairs(args, '--setenv')).toEqual([
      ['PATH', '/bin'],
      ['HOSTNAME', 'helper-abc12'],
      ['HOME', '/root'],
      ['PATH', '/opt/bin'],
      ['FOO', 'a b'],
    ]);
    expect(pairs(args, '--hostname')[0]?.[0]).toBe('helper-abc12');
  });

  it('starts in the working directory when given', () => {
    expect(pairs(bwrapArguments(layout(), ['pwd'], '/work'), '--chdir')).toEqual([['/work', '--']]);
    expect(bwrapArguments(layout(), ['pwd'])).not.toContain('--chdir');
  });
});

describe('names', () => {
  it('gives distinct ids distinct directories', () => {
    expect(sandboxDirName('ml/pod')).not.toBe(sandboxDirName('ml_pod'));
    expect(sandboxDirName('ml/pod')).toMatch(/^ml_pod-[0-9a-f]{10}$/);
  });

  it('makes a hostname from the pod name', () => {
    expect(hostnameFor('ml/tether-helper-abc12')).toBe('tether-helper-abc12');
    expect(hostnameFor('ml/Pod_1.x')).toBe('pod-1-x');
    expect(hostnameFor('ml/...')).toBe('pod');
    expect(hostnameFor(`ml/${'a'.repeat(100)}`)).toHaveLength(63);
  });

  it('maps a container path to where it is writable on the host', () => {
    const l = layout({
      volumes: [
        { mountPath: '/data', hostPath: '/pvc/a', readOnly: false },
        { mountPath: '/data/ro', hostPath: '/pvc/b', readOnly: true },
      ],
    });
    expect(writableHostPathOf(l, '/work/x')).toBe('/state/sandboxes/x/root/work/x');
    expect(writableHostPathOf(l, '/data/x/y')).toBe('/pvc/a/x/y');
    expect(writableHostPathOf(l, '/data')).toBe('/pvc/a');
    expect(writableHostPathOf(l, '/data/ro/x')).toBeUndefined();
    expect(writableHostPathOf(l, '/bin/x')).toBeUndefined();
    expect(writableHostPathOf(l, '/database')).toBe('/state/sandboxes/x/root/database');
  });
});
