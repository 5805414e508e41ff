import tar from 'tar-stream';

/** Test helper: the entries of a tar archive, [name, content] in order. */
export async function untar(archive: Buffer): Promise<[string, string][]> {
  const entries: [string, string][] = [];
  const extract = tar.extract();
  extract.on('entry', (header, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
    stream.on('end', () => {
      entries.push([header.name, Buffer.concat(chunks).toString()]);
      next();
    });
  });
  const done = new Promise<void>((resolve, reject) => extract.on('finish', () => resolve()).on('error', reject));
  extract.end(archive);
  await done;
  return entries;
}
