import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FaultSpec } from '../../lab/faults.js';
import { newCredential } from '../../lab/s3/phfs.js';
import type { PhfsCredential } from '../../lab/s3/phfs.js';
import { StateStore } from '../../sync-engine/state/store.js';

/**
 * The lab's PHFS store alone (s3rver behind the SigV4-checking front door, with group permissions and
 * injectable faults), a state store, and helpers to look at the bucket without Tether's code.
 */
export interface PhfsLab {
  readonly dir: string;
  readonly endpoint: string;
  readonly bucket: string;
  /** Sets the store's injected failures (500/503 answers, latency); resolves once they apply. */
  setFaults(spec: FaultSpec): Promise<void>;
  readonly users: Record<'admin' | 'alice' | 'bob', PhfsCredential>;
  /** Environment for the SDK / CLIs as `user` (credentials from the standard variables). */
  env(user: 'admin' | 'alice' | 'bob'): Record<string, string>;
  /** Points this process's AWS variables at the lab as `user`. */
  useUser(user: 'admin' | 'alice' | 'bob'): void;
  client(user?: 'admin' | 'alice' | 'bob'): S3Client;
  keys(prefix: string): Promise<string[]>;
  get(key: string): Promise<Buffer>;
  metadata(key: string): Promise<Record<string, string>>;
  put(key: string, body: string | Buffer): Promise<void>;
  openStore(): StateStore;
  stop(): Promise<void>;
}

export const BUCKET = 'phfs';

const serverScript = fileURLToPath(new URL('./phfsServerProcess.ts', import.meta.url));

/** Starts the store in its own process (see `phfsServerProcess.ts`). */
export async function startPhfsLab(): Promise<PhfsLab> {
  const dir = await mkdtemp(join(tmpdir(), 'tether-phfs-test-'));
  const users = {
    admin: newCredential('admin', { read: ['*'], write: ['*'] }),
    alice: newCredential('alice', { read: ['vision', 'nlp'], write: ['vision'] }),
    bob: newCredential('bob', { read: ['vision'], write: [] }),
  };
  const child = spawn(process.execPath, ['--import', 'tsx', serverScript, join(dir, 'phfs')], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const answers = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const nextLine = async (): Promise<string> => {
    const next = await answers.next();
    if (next.done === true) throw new Error('the PHFS store process ended');
    return next.value;
  };
  child.stdin.write(`${JSON.stringify(Object.values(users))}\n`);
  const { endpoint } = JSON.parse(await nextLine()) as { endpoint: string };
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  await mkdir(join(dir, 'home'), { recursive: true });
  const clients: S3Client[] = [];
  const env = (user: 'admin' | 'alice' | 'bob'): Record<string, string> => ({
    AWS_ACCESS_KEY_ID: users[user].accessKeyId,
    AWS_SECRET_ACCESS_KEY: users[user].secretAccessKey,
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ENDPOINT_URL: endpoint,
    AWS_CONFIG_FILE: join(dir, 'no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  const client = (user: 'admin' | 'alice' | 'bob' = 'admin'): S3Client => {
    const made = new S3Client({
      endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: users[user].accessKeyId, secretAccessKey: users[user].secretAccessKey },
    });
    clients.push(made);
    return made;
  };
  const admin = client('admin');
  const stores: StateStore[] = [];
  return {
    dir,
    endpoint,
    bucket: BUCKET,
    async setFaults(spec) {
      child.stdin.write(`${JSON.stringify(spec)}\n`);
      const answer = await nextLine();
      if (answer !== 'ok') throw new Error(`the PHFS store did not take the faults: ${answer}`);
    },
    users,
    env,
    useUser(user) {
      Object.assign(process.env, env(user));
    },
    client,
    async keys(prefix) {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await admin.send(
          new ListObjectsV2Command({
            Bucket: BUCKET,
            Prefix: prefix,
            ...(token === undefined ? {} : { ContinuationToken: token }),
          }),
        );
        for (const item of page.Contents ?? []) if (item.Key !== undefined) keys.push(item.Key);
        token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (token !== undefined);
      return keys.sort();
    },
    async get(key) {
      const answer = await admin.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
      return Buffer.from(await answer.Body!.transformToByteArray());
    },
    async metadata(key) {
      const answer = await admin.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
      return answer.Metadata ?? {};
    },
    async put(key, body) {
      await admin.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
    },
    openStore() {
      const store = StateStore.open(join(dir, 'home', 'state.db'));
      stores.push(store);
      return store;
    },
    async stop() {
      for (const store of stores) store.close();
      for (const made of clients) made.destroy();
      child.stdin.end();
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
