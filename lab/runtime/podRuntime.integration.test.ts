import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ImageFlavour, PodRuntime, Sandbox, SandboxSpec } from './contract.js';
import { createPodRuntime } from './podRuntime.js';
import { sandboxDirName } from './sandboxLayout.js';
import { eventually, processesMentioning, processesWith, run, uniqueSleepSeconds } from './testing/processes.js';

const here = path.dirname(new URL(import.meta.url).pathname);
let workDir: string;
let runtime: PodRuntime;

beforeAll(() => {
  workDir = mkdtempSync(path.join(os.tmpdir(), 'tether-runtime-'));
  runtime = createPodRuntime({ stateDir: path.join(workDir, 'state') });
});

afterAll(async () => {
  await runtime.stopAll();
  rmSync(workDir, { recursive: true, force: true });
});

let counter = 0;
async function volumeDir(): Promise<string> {
  counter += 1;
  const dir = path.join(workDir, `pvc-${counter}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

function podSpec(image: string, overrides: Partial<SandboxSpec> = {}): SandboxSpec {
  counter += 1;
  return { id: `ns/pod-${counter}`, image, command: [], env: {}, volumes: [], ...overrides };
}

const flavours: { image: string; flavour: ImageFlavour; tar: RegExp }[] = [
  { image: 'busybox:1.36', flavour: 'busybox', tar: /busybox/i },
  { image: 'debian:bookworm', flavour: 'gnu', tar: /GNU tar/ },
];

describe.each(flavours)('a $flavour sandbox ($image)', ({ image, flavour, tar }) => {
  let sandbox: Sandbox;
  let rw: string;
  let ro: string;

  beforeAll(async () => {
    rw = await volumeDir();
    ro = await volumeDir();
    writeFileSync(path.join(ro, 'readme.txt'), 'read only\n');
    sandbox = await runtime.start(
      podSpec(image, {
        env: { GREETING: 'hello world', EMPTY: '' },
        volumes: [
          { mountPath: '/data', hostPath: rw, readOnly: false },
          { mountPath: '/data/ro', hostPath: ro, readOnly: true },
        ],
      }),
    );
  });

  afterAll(() => sandbox.stop());

  it('has the expected flavour and userland', async () => {
    expect(sandbox.flavour).toBe(flavour);
    const result = await run(sandbox, [
      'sh',
      '-c',
      'tar --version | head -n 1; for c in find stat sha256sum head mv; do command -v $c; done',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(tar);
    expect(result.stdout.trim().split('\n')).toHaveLength(6);
  });

  it('runs sh -c with arguments passed separately, never spliced into the script', async () => {
    const result = await run(sandbox, ['sh', '-c', 'printf "%s|" "$@"', 'sh', 'a b', '$(echo no)', "'; exit 9"]);
    expect(result).toEqual({ code: 0, stdout: "a b|$(echo no)|'; exit 9|", stderr: '' });
  });

  it('has a clean environment: the spec env, PATH, HOSTNAME and HOME only', async () => {
    const result = await run(sandbox, ['sh', '-c', 'echo "$GREETING|$HOSTNAME|$HOME|$PATH"; env | cut -d= -f1 | sort']);
    const [first, ...names] = result.stdout.trim().split('\n');
    expect(first).toBe(
      `hello world|${sandbox.id.split('/')[1]}|/root|${flavour === 'busybox' ? '/bin' : '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'}`,
    );
    // sh adds PWD (and SHLVL); nothing from the lab's own environment leaks in.
    expect(names.filter((name) => !['PWD', 'SHLVL', '_', 'OLDPWD'].includes(name))).toEqual([
      'EMPTY',
      'GREETING',
      'HOME',
      'HOSTNAME',
      'PATH',
    ]);
  });

  it('writes through the read-write volume to the host', async () => {
    const result = await run(sandbox, ['sh', '-c', 'echo written > /data/out.txt && cat /data/ro/readme.txt']);
    expect(result).toEqual({ code: 0, stdout: 'read only\n', stderr: '' });
    expect(readFileSync(path.join(rw, 'out.txt'), 'utf8')).toBe('written\n');
  });

  it('refuses writes to the read-only volume with EROFS', async () => {
    const result = await run(sandbox, ['sh', '-c', 'echo x > /data/ro/readme.txt']);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/Read-only file system/);
    expect(readFileSync(path.join(ro, 'readme.txt'), 'utf8')).toBe('read only\n');
  });

  it('keeps the image userland read-only but the rest of the root writable', async () => {
    const system = flavour === 'busybox' ? '/bin/newfile' : '/usr/bin/newfile';
    const denied = await run(sandbox, ['sh', '-c', `touch ${system}`]);
    expect(denied.stderr).toMatch(/Read-only file system/);
    const allowed = await run(sandbox, ['sh', '-c', 'mkdir -p /work/a && echo ok > /work/a/f && cat /work/a/f']);
    expect(allowed).toEqual({ code: 0, stdout: 'ok\n', stderr: '' });
  });

  it('has its own PID namespace and Docker default capabilities only', async () => {
    const result = await run(sandbox, ['sh', '-c', 'echo $$; grep CapEff /proc/self/status']);
    const [pid, caps] = result.stdout.trim().split('\n');
    expect(Number(pid)).toBeLessThan(10);
    expect(caps).toMatch(/CapEff:\s+00000000a80425fb/);
  });

  it('reports exit codes, and 128 + signal for killed processes', async () => {
    expect((await run(sandbox, ['sh', '-c', 'exit 7'])).code).toBe(7);
    expect((await run(sandbox, ['sh', '-c', 'kill -TERM $$'])).code).toBe(143);
    expect((await run(sandbox, ['no-such-program'])).code).not.toBe(0);
    const sleeper = sandbox.exec(['sleep', '1000']);
    sleeper.stdin.end();
    sleeper.kill();
    expect(await sleeper.exited).toBe(137);
  });
});

describe('the writable root', () => {
  it('is shared by the main process and exec processes', async () => {
    const sandbox = await runtime.start(
      podSpec('busybox', { command: ['sh', '-c', 'echo from-main > /tmp/marker; exec sleep 1000'] }),
    );
    try {
      let seen = '';
      for (let attempt = 0; attempt < 100 && seen === ''; attempt += 1) {
        seen = (await run(sandbox, ['sh', '-c', 'cat /tmp/marker 2>/dev/null || true'])).stdout;
      }
      expect(seen).toBe('from-main\n');
      expect((await run(sandbox, ['sh', '-c', 'echo from-exec > /root/note'])).code).toBe(0);
      expect((await run(sandbox, ['cat', '/root/note'])).stdout).toBe('from-exec\n');
    } finally {
      await sandbox.stop();
    }
  });

  it('starts in the working directory, creating it, and gives it to exec processes too', async () => {
    const sandbox = await runtime.start(podSpec('debian', { workingDir: '/work/project' }));
    try {
      expect((await run(sandbox, ['pwd'])).stdout).toBe('/work/project\n');
      expect((await complete(sandbox, ['pwd'], '/tmp')).stdout).toBe('/tmp\n');
    } finally {
      await sandbox.stop();
    }
  });
});

async function complete(sandbox: Sandbox, argv: string[], workingDir: string): Promise<{ stdout: string }> {
  const child = sandbox.exec(argv, { workingDir });
  child.stdin.end();
  const chunks: Buffer[] = [];
  for await (const chunk of child.stdout) chunks.push(chunk as Buffer);
  await child.exited;
  return { stdout: Buffer.concat(chunks).toString() };
}

describe('the main process', () => {
  it('exits with its code and its output can be read', async () => {
    const sandbox = await runtime.start(
      podSpec('busybox', { command: ['sh', '-c', 'echo out; echo err >&2; exit 4'] }),
    );
    const chunks: Buffer[] = [];
    sandbox.main.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    expect(await sandbox.main.exited).toBe(4);
    await eventually(() => Buffer.concat(chunks).toString() === 'out\n');
    expect(Buffer.concat(chunks).toString()).toBe('out\n');
    expect(() => sandbox.exec(['true'])).toThrow(/not running/);
    await sandbox.stop();
  });

  it('takes the exec processes with it when it exits, as a container does', async () => {
    const marker = uniqueSleepSeconds();
    const sandbox = await runtime.start(podSpec('busybox', { command: ['sleep', '0.5'] }));
    const child = sandbox.exec(['sleep', marker]);
    child.stdout.resume();
    child.stderr.resume();
    expect(await child.exited).toBe(137);
    expect(await sandbox.main.exited).toBe(0);
    expect(processesWith(['sleep', marker])).toEqual([]);
    await sandbox.stop();
  });

  it('never blocks on output nobody reads', async () => {
    const sandbox = await runtime.start(podSpec('busybox', { command: ['head', '-c', '20000000', '/dev/zero'] }));
    expect(await sandbox.main.exited).toBe(0);
    await sandbox.stop();
  });

  it('reads /dev/null as stdin, like a container without stdin: true', async () => {
    const sandbox = await runtime.start(podSpec('busybox', { command: ['cat'] }));
    expect(await sandbox.main.exited).toBe(0);
    await sandbox.stop();
  });
});

describe('stop', () => {
  it('kills the main and exec processes, removes the writable root, and refuses further execs', async () => {
    const marker = uniqueSleepSeconds();
    const sandbox = await runtime.start(podSpec('busybox', { command: ['sleep', marker] }));
    const child = sandbox.exec(['sh', '-c', `sleep ${marker}; echo never`]);
    child.stdout.resume();
    await eventually(() => processesWith(['sleep', marker]).length === 2);
    expect(processesWith(['sleep', marker])).toHaveLength(2);
    const [instance] = readdirSync(path.join(workDir, 'state', 'sandboxes'));
    const root = path.join(workDir, 'state', 'sandboxes', instance!, sandboxDirName(sandbox.id));
    expect(existsSync(root)).toBe(true);
    await sandbox.stop();
    await sandbox.stop(); // idempotent
    expect(await sandbox.main.exited).toBe(137);
    expect(await child.exited).toBe(137);
    expect(processesWith(['sleep', marker])).toEqual([]);
    expect(processesMentioning(marker)).toEqual([]); // nor the bwrap processes around them
    expect(existsSync(root)).toBe(false);
    expect(() => sandbox.exec(['true'])).toThrow(/stopped/);
  });

  it('lets a pod id start again after its main process exited', async () => {
    const spec = podSpec('busybox', { command: ['sh', '-c', 'touch /tmp/old; exit 0'] });
    const first = await runtime.start(spec);
    await first.main.exited;
    const second = await runtime.start({ ...spec, command: ['sleep', '1000'] });
    expect((await run(second, ['sh', '-c', 'ls /tmp'])).stdout).toBe(''); // a fresh writable layer
    await expect(runtime.start(spec)).rejects.toThrow(/already running/);
    await second.stop();
  });
});

describe('bad specs', () => {
  const cases: { description: string; spec: () => SandboxSpec | Promise<SandboxSpec>; error: RegExp }[] = [
    {
      description: 'an image the lab cannot pull',
      spec: () => podSpec('nginx:1.27'),
      error: /cannot pull image "nginx:1.27"/,
    },
    {
      description: 'a missing volume directory',
      spec: () =>
        podSpec('busybox', {
          volumes: [{ mountPath: '/data', hostPath: path.join(workDir, 'nope'), readOnly: false }],
        }),
      error: /hostPath .*nope is not a directory/,
    },
    {
      description: 'a volume over /dev',
      spec: async () =>
        podSpec('busybox', { volumes: [{ mountPath: '/dev/x', hostPath: await volumeDir(), readOnly: false }] }),
      error: /would cover \/dev/,
    },
    {
      description: 'a relative mount path',
      spec: async () =>
        podSpec('busybox', { volumes: [{ mountPath: 'data', hostPath: await volumeDir(), readOnly: false }] }),
      error: /must be an absolute path/,
    },
    {
      description: 'a working directory inside a read-only volume that does not exist',
      spec: async () =>
        podSpec('busybox', {
          workingDir: '/data/missing',
          volumes: [{ mountPath: '/data', hostPath: await volumeDir(), readOnly: true }],
        }),
      error: /cannot set up sandbox .*chdir/i,
    },
  ];
  for (const { description, spec, error } of cases) {
    it(`refuses ${description}`, async () => {
      await expect(runtime.start(await spec())).rejects.toThrow(error);
    });
  }
});

describe('prerequisites', () => {
  it('names the Debian package when bubblewrap is missing', () => {
    expect(() => createPodRuntime({ stateDir: workDir, bwrapPath: '/nonexistent/bwrap' })).toThrow(
      /bubblewrap .*apt-get install bubblewrap/,
    );
  });

  it('names the Debian package when BusyBox is missing', () => {
    expect(() => createPodRuntime({ stateDir: workDir, busyboxPath: '/nonexistent/busybox' })).toThrow(
      /busybox-static/,
    );
  });
});

describe('shutdown', () => {
  async function startLab(stateDir: string, marker: string): Promise<ChildProcessByStdio<null, Readable, null>> {
    const lab = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(here, 'testing', 'runtimeProcess.ts'), stateDir, marker],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    await new Promise<void>((resolve, reject) => {
      lab.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('ready')) resolve();
      });
      lab.once('exit', (code) => reject(new Error(`the lab exited early with ${code}`)));
    });
    return lab;
  }

  it('stopAll leaves no process and no writable root behind', async () => {
    const stateDir = path.join(workDir, 'lab-term');
    const marker = uniqueSleepSeconds();
    const lab = await startLab(stateDir, marker);
    // Per sandbox: the main shell's two sleeps and the exec's sleep.
    expect(await eventually(() => processesWith(['sleep', marker]).length === 9)).toBe(true);
    expect(processesMentioning(stateDir).length).toBeGreaterThan(0);
    const exited = new Promise((resolve) => lab.once('exit', resolve));
    lab.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(processesWith(['sleep', marker])).toEqual([]);
    expect(processesMentioning(stateDir)).toEqual([]);
    expect(readdirSync(path.join(stateDir, 'sandboxes'))).toEqual([]);
  });

  it('a killed lab leaves no process behind, and the next runtime removes its leftovers', async () => {
    const stateDir = path.join(workDir, 'lab-kill');
    const marker = uniqueSleepSeconds();
    const lab = await startLab(stateDir, marker);
    expect(await eventually(() => processesWith(['sleep', marker]).length === 9)).toBe(true);
    expect(processesMentioning(stateDir).length).toBeGreaterThan(0);
    const exited = new Promise((resolve) => lab.once('exit', (_code, signal) => resolve(signal)));
    lab.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    expect(await eventually(() => processesMentioning(marker).length === 0)).toBe(true);
    expect(processesMentioning(stateDir)).toEqual([]);
    const leftovers = readdirSync(path.join(stateDir, 'sandboxes'));
    expect(leftovers).toHaveLength(1);
    const next = createPodRuntime({ stateDir });
    const sandbox = await next.start(podSpec('busybox'));
    expect(existsSync(path.join(stateDir, 'sandboxes', leftovers[0]!))).toBe(false);
    await sandbox.stop();
    await next.stopAll();
  });
});
