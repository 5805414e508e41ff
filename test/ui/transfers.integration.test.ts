import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tar from 'tar-stream';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startUiHost } from './helpers.js';
import type { UiHost } from './helpers.js';

/**
 * Streaming transfers through the real `tether ui`: a 200 MiB file goes up and comes back down (alone, and in a
 * folder's tar archive) over the host's HTTP routes, byte for byte, while the host's resident memory grows far
 * less than the file (measured in the host process: /proc/PID/status, peak against the start).
 */
const SIZE = 200 * 1024 * 1024;
let work: string;
let host: UiHost;
let sourceFile: string;
let sourceHash: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tether-ui-transfers-'));
  await mkdir(join(work, 'home'));
  await mkdir(join(work, 'remote', 'big'), { recursive: true });
  // 200 MiB of incompressible bytes: one random MiB, each copy with its index written in, so no two MiB match.
  sourceFile = join(work, 'source.bin');
  const block = randomBytes(1024 * 1024);
  const hash = createHash('sha256');
  const file = await open(sourceFile, 'w');
  for (let i = 0; i < SIZE / block.length; i++) {
    block.writeUInt32BE(i, 0);
    hash.update(block);
    await file.write(block);
  }
  await file.close();
  sourceHash = hash.digest('hex');
  host = await startUiHost(join(work, 'home'));
}, 120_000);

afterAll(async () => {
  await (host as UiHost | undefined)?.stop();
  await rm(work, { recursive: true, force: true });
}, 60_000);

/** VmRSS and VmHWM (peak) of the host process, in bytes. */
async function memory(): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${String(host.process.pid)}/status`, 'utf8');
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

function routeUrl(route: string, path: string): string {
  const { port, searchParams } = new URL(host.url);
  const query = new URLSearchParams({
    token: searchParams.get('token') ?? '',
    remoteUrl: `file://${join(work, 'remote')}`,
    path,
  });
  return `http://127.0.0.1:${port}${route}?${query.toString()}`;
}

function get(url: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => request(url, resolve).on('error', reject).end());
}

it('streams a 200 MiB upload and its download (file and folder tar) with bounded memory', async () => {
  // Resets the peak to the current RSS where the kernel lets us (else the peak since start only overestimates).
  await writeFile(`/proc/${String(host.process.pid)}/clear_refs`, '5').catch(() => undefined);
  const before = await memory();
  const uploaded = await new Promise<{ status: number | undefined; body: string }>((resolve, reject) => {
    const req = request(routeUrl('/transfer/upload', 'big/source.bin'), {
      method: 'PUT',
      headers: { 'content-length': String(SIZE) },
    });
    req.on('response', (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (d: string) => (body += d));
      response.on('end', () => resolve({ status: response.statusCode, body }));
    });
    req.on('error', reject);
    createReadStream(sourceFile).pipe(req);
  });
  expect(uploaded).toEqual({ status: 200, body: '{"ok":true}' });
  const onRemote = createHash('sha256');
  for await (const chunk of createReadStream(join(work, 'remote', 'big', 'source.bin')))
    onRemote.update(chunk as Buffer);
  expect(onRemote.digest('hex')).toBe(sourceHash);

  const file = await get(routeUrl('/transfer/download', 'big/source.bin'));
  expect(file.statusCode).toBe(200);
  expect(file.headers['content-length']).toBe(String(SIZE));
  const downloaded = createHash('sha256');
  for await (const chunk of file) downloaded.update(chunk as Buffer);
  expect(downloaded.digest('hex')).toBe(sourceHash);

  const folder = await get(routeUrl('/transfer/download', 'big'));
  expect(folder.headers['content-disposition']).toContain('filename="big.tar"');
  const inArchive = new Map<string, string>();
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const hash = createHash('sha256');
    stream.on('data', (chunk: unknown) => hash.update(chunk as Buffer));
    stream.on('end', () => {
      inArchive.set(header.name, hash.digest('hex'));
      next();
    });
  });
  const extracted = new Promise<void>((resolve, reject) => extract.on('finish', resolve).on('error', reject));
  folder.pipe(extract);
  await extracted;
  expect(inArchive.get('big/source.bin')).toBe(sourceHash);
  expect([...inArchive.keys()]).toEqual(['big/', 'big/source.bin']);

  const after = await memory();
  process.stdout.write(`host RSS: ${before.rss >> 20} MiB at the start, ${after.peak >> 20} MiB at the peak\n`);
  // 600 MiB went through the host; its resident memory at its peak stayed well under 100 MB above the start.
  expect(after.peak - before.rss).toBeLessThan(100 * 1024 * 1024);
}, 180_000);
