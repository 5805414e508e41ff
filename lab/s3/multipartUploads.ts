import { readdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * ListMultipartUploads and AbortMultipartUpload, which s3rver does not implement (it answers NotImplemented /
 * MethodNotAllowed), served by the lab's front door from s3rver's own upload folders
 * (`<bucket>/._S3rver_uploads/<uploadId>/{key,metadata,1,1.md5,…}`), so clients can find and abort uploads
 * they abandoned, as on S3.
 */
export interface PendingUpload {
  readonly key: string;
  readonly uploadId: string;
  readonly initiated: Date;
}

/** s3rver's upload ids are hex; anything else can never name one of its folders. */
function isUploadId(text: string): boolean {
  return /^[0-9a-f]{16,128}$/i.test(text);
}

/** Every pending upload whose key starts with `prefix`, sorted by key then upload id (S3's order). */
export async function listPendingUploads(uploadsDir: string, prefix: string): Promise<PendingUpload[]> {
  let ids: string[];
  try {
    ids = await readdir(uploadsDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const uploads: PendingUpload[] = [];
  for (const uploadId of ids.filter(isUploadId)) {
    const keyFile = path.join(uploadsDir, uploadId, 'key');
    try {
      const [key, info] = await Promise.all([readFile(keyFile, 'utf8'), stat(keyFile)]);
      if (key.startsWith(prefix)) uploads.push({ key, uploadId, initiated: info.mtime });
    } catch (error) {
      // Completed or aborted while we looked.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return uploads.sort((a, b) => (a.key === b.key ? cmp(a.uploadId, b.uploadId) : cmp(a.key, b.key)));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Drops an upload and its parts; false when no upload of that id exists for that key (S3: NoSuchUpload). */
export async function abortPendingUpload(uploadsDir: string, key: string, uploadId: string): Promise<boolean> {
  if (!isUploadId(uploadId)) return false;
  const dir = path.join(uploadsDir, uploadId);
  const stored = await readFile(path.join(dir, 'key'), 'utf8').catch(() => undefined);
  if (stored !== key) return false;
  await rm(dir, { recursive: true, force: true });
  return true;
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The ListMultipartUploadsResult document (one page; `encoding-type=url` percent-encodes keys as S3 does). */
export function listUploadsXml(
  bucket: string,
  prefix: string,
  uploads: readonly PendingUpload[],
  urlEncoded: boolean,
): string {
  const encode = (key: string): string => xmlEscape(urlEncoded ? encodeURIComponent(key).replace(/%2F/g, '/') : key);
  const owner = '<ID>lab</ID><DisplayName>lab</DisplayName>';
  return [
    '<?xml version="1.0" encoding="UTF-8"?>\n<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">',
    `<Bucket>${xmlEscape(bucket)}</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>`,
    `<Prefix>${encode(prefix)}</Prefix>`,
    urlEncoded ? '<EncodingType>url</EncodingType>' : '',
    `<MaxUploads>${Math.max(1000, uploads.length)}</MaxUploads><IsTruncated>false</IsTruncated>`,
    ...uploads.map(
      (u) =>
        `<Upload><Key>${encode(u.key)}</Key><UploadId>${u.uploadId}</UploadId><Initiator>${owner}</Initiator>` +
        `<Owner>${owner}</Owner><StorageClass>STANDARD</StorageClass><Initiated>${u.initiated.toISOString()}</Initiated></Upload>`,
    ),
    '</ListMultipartUploadsResult>',
  ].join('');
}
