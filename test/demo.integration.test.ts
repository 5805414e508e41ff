import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { finished } from './helpers/cli.js';

const DEMO = fileURLToPath(new URL('../dist/sync-engine/cli/demo.js', import.meta.url));

describe('npm run demo', () => {
  it('syncs the sample project, shows a conflict, drives the lab with kubectl and aws, and pushes to a PVC and PHFS', async () => {
    const result = await finished(spawn(process.execPath, [DEMO], { stdio: ['ignore', 'pipe', 'pipe'] }));
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
  });
});
