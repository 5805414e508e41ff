import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { processesMentioning } from '../lab/runtime/testing/processes.js';
import { finished } from './helpers/cli.js';
import { mountsUnder } from './lab/helpers.js';

const DEMO = fileURLToPath(new URL('../dist/sync-engine/cli/demo.js', import.meta.url));

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tether-demo-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** The demo as `npm run demo` starts it, without TETHER_DEMO_UI from the caller's environment. */
function startDemo(args: readonly string[] = []) {
  const env = { ...process.env };
  delete env['TETHER_DEMO_UI'];
  return spawn(process.execPath, [DEMO, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('npm run demo', () => {
  it('syncs the sample project, shows a conflict, drives the lab with kubectl and aws, and pushes to a PVC and PHFS', async () => {
    // stdout is a pipe here, as in CI: the demo prints its summary and exits instead of opening the app.
    const result = await finished(startDemo());
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/vision: did upload 112, download 0/);
    expect(result.stdout).toMatch(
      /conflict: scripts\/train\.sh changed on both sides; the remote version is kept as scripts\/train\.conflict-/,
    );
    expect(result.stdout).toMatch(/lab ready: api https:\/\/127\.0\.0\.1:\d+/);
    expect(result.stdout).toMatch(/group-vision\s+vision-datasets\s+Bound/);
    expect(result.stdout).toMatch(/vision-scratch\s+Pending/);
    expect(result.stdout).toMatch(/--context alice auth can-i create pods --subresource=exec -n group-vision\nyes/);
    expect(result.stdout).toMatch(/--context bob auth can-i create pods --subresource=exec -n group-vision\nno/);
    expect(result.stdout).toMatch(/groups\/vision\/datasets\/cifar-mini\/train\/batch-01\.bin/);
    // Tether itself against the lab: a pvc:// push through a helper pod, checked through another pod, and PHFS.
    expect(result.stdout).toMatch(/lab-claim: did upload 111, download 0/);
    expect(result.stdout).toMatch(/ls \/data\/shapes\/train\/class-0 \| wc -l'\nREADME\.md\ntrain\nval\n25\n/);
    expect(result.stdout).toMatch(/lab-phfs: did upload 111, download 0/);
    expect(result.stdout).toContain('(lab stopped)');
    expect(result.stdout).toContain(
      '(The app was not opened: stdout is not a terminal. `npm run demo -- --ui` opens it on the lab until Ctrl-C.)',
    );
  });

  it('stops the lab and exits 130 when interrupted half-way, leaving no sandbox or mount behind', async () => {
    const dir = join(work, 'interrupted');
    const child = startDemo(['--dir', dir]);
    const result = finished(child);
    let seen = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        seen += d.toString();
        if (seen.includes('lab ready: ')) resolve();
      });
      child.once('exit', () => reject(new Error(`the demo exited before the lab was ready:\n${seen}`)));
    });
    expect(processesMentioning(join(dir, 'lab'))).not.toEqual([]);
    child.kill('SIGTERM');
    const { code, stdout, stderr } = await result;
    expect({ code, stderr }).toEqual({ code: 130, stderr: '' });
    expect(stdout).toMatch(/\(lab stopped\)\n\n\(SIGTERM: demo stopped\)\n$/);
    expect(processesMentioning(join(dir, 'lab'))).toEqual([]);
    expect(await mountsUnder(join(dir, 'lab'))).toEqual([]);
  });

  it('refuses a --dir that holds other files, since it clears its folder first', async () => {
    const dir = join(work, 'precious');
    await mkdir(dir);
    await writeFile(join(dir, 'thesis.tex'), 'years of work');
    const result = await finished(startDemo(['--dir', dir]));
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `demo: ${dir} is not empty and not a previous demo's folder; the demo clears its folder first, so pick an empty or new one\n`,
    );
    expect(result.stdout).toBe('');
    expect(await readFile(join(dir, 'thesis.tex'), 'utf8')).toBe('years of work');
  });

  it('explains a mistake in its arguments and exits 2', async () => {
    const result = await finished(startDemo(['--port', 'eighty']));
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect(result.stderr).toBe('--port must be a port number from 0 to 65535, not "eighty"\n');
  });
});
