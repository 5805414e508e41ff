/**
 * A lab stand-in for tests: starts a pod runtime in this process, a few sandboxes whose processes carry the
 * marker `sleep <argv[3]>`, prints "ready", and on SIGTERM stops everything and exits.
 * Usage: node --import tsx runtimeProcess.ts STATE_DIR MARKER
 */
import { createPodRuntime } from '../podRuntime.js';

const [stateDir, marker] = process.argv.slice(2);
if (stateDir === undefined || marker === undefined) {
  process.stderr.write('usage: runtimeProcess.ts STATE_DIR MARKER\n');
  process.exit(2);
}

const runtime = createPodRuntime({ stateDir });
for (const [index, image] of ['busybox', 'debian', 'busybox:1.36'].entries()) {
  const sandbox = await runtime.start({
    id: `lab/pod-${index}`,
    image,
    command: ['sh', '-c', `sleep ${marker} & sleep ${marker}`],
    env: {},
    volumes: [],
  });
  const child = sandbox.exec(['sh', '-c', `sleep ${marker}; echo never`]);
  child.stdout.resume();
  child.stderr.resume();
}
process.stdout.write('ready\n');

process.once('SIGTERM', () => {
  void runtime.stopAll().then(() => process.exit(0));
});
