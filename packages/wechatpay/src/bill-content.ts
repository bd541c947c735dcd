import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/** gunzip's output buffer size: a bill of a million rows is ~250 MB decompressed. */
const CHUNK = 256 * 1024;

export function isGzip(body: Buffer): boolean {
  return body.length >= 2 && body[0] === 0x1f && body[1] === 0x8b;
}

/** The decompressed bytes of a body as a stream: gunzipped when it starts with the gzip magic bytes 1f 8b. */
export function billContent(body: Buffer): Readable {
  const source = Readable.from([body]);
  if (!isGzip(body)) return source;
  const gunzip = createGunzip({ chunkSize: CHUNK });
  source.on('error', (err) => gunzip.destroy(err));
  return source.pipe(gunzip);
}

/**
 * The decompressed bytes of a body, chunk by chunk, for a reader that is done with a chunk when it
 * asks for the next one (keep nothing of it: copy what must outlive it). gunzip writes each chunk
 * into a new buffer and never touches a full one again; such a buffer's memory is released as soon
 * as the reader moves on, not at some later garbage collection. That halves the time a pass over a
 * large bill takes: released at once, the memory is reused warm; left to the collector, every chunk
 * lands on fresh pages of a heap tens of megabytes larger, and the collector runs for it.
 */
export async function* billChunks(body: Buffer): AsyncGenerator<Buffer, void, undefined> {
  if (!isGzip(body)) {
    for (let at = 0; at < body.length; at += CHUNK) yield body.subarray(at, at + CHUNK);
    return;
  }
  for await (const chunk of billContent(body) as AsyncIterable<Buffer>) {
    yield chunk;
    const memory = chunk.buffer;
    if (memory instanceof ArrayBuffer && chunk.byteOffset === 0 && chunk.byteLength === memory.byteLength)
      memory.transfer(0);
  }
}
