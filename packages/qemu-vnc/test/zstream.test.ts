// ZlibStream: one continuous zlib stream per RFB stream, every piece ending on a sync flush,
// whether a piece was compressed on this thread (small) or in Node's thread pool (large).
import { randomBytes } from 'node:crypto';
import { constants, createDeflate, inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { syncCompressionAvailable, ZlibStream } from '../src/rfb/encoders/zstream.js';

function sample(length: number, seed: number): Buffer {
  const b = Buffer.alloc(length);
  for (let i = 0; i < length; i++) b[i] = (i % 251 < 120 ? seed : (i * 2654435761) >>> 24) & 0xff;
  return b;
}

/** What Node's own deflate stream emits for the same writes, each flushed: the reference bytes. */
async function viaNodeStream(inputs: Buffer[], level: number): Promise<Buffer[]> {
  const deflate = createDeflate({ level, flush: constants.Z_SYNC_FLUSH });
  let chunks: Buffer[] = [];
  deflate.on('data', (c: Buffer) => chunks.push(c));
  const out: Buffer[] = [];
  for (const input of inputs) {
    await new Promise<void>((resolve) => deflate.write(input, () => resolve()));
    out.push(Buffer.concat(chunks));
    chunks = [];
  }
  deflate.close();
  return out;
}

describe('ZlibStream', () => {
  // Small pieces go the synchronous way, the 600 KB one through the thread pool.
  const inputs = [sample(100, 1), sample(5000, 2), sample(600_000, 3), sample(70_000, 4), sample(1, 5)];

  it('compresses small inputs on this thread on this Node', () => {
    expect(syncCompressionAvailable()).toBe(true);
  });

  it('makes the same bytes as Node’s deflate stream, and each piece decodes once it has arrived', async () => {
    const z = new ZlibStream();
    const pieces: Buffer[] = [];
    for (const input of inputs) pieces.push(await z.compress(input, 6));
    z.close();
    expect(pieces).toEqual(await viaNodeStream(inputs, 6));
    // A client inflates the stream piece by piece: everything so far decodes to the inputs so far.
    for (let n = 1; n <= pieces.length; n++) {
      const decoded = inflateSync(Buffer.concat(pieces.slice(0, n)), { finishFlush: constants.Z_SYNC_FLUSH });
      expect(decoded.equals(Buffer.concat(inputs.slice(0, n)))).toBe(true);
    }
  });

  it('produces more output than one synchronous buffer holds in one piece', async () => {
    // Incompressible: the output of 200 KB is larger than the 64 KB output buffer.
    const noise = randomBytes(200_000);
    const z = new ZlibStream();
    const piece = await z.compress(noise, 6);
    z.close();
    expect(piece.length).toBeGreaterThan(64 * 1024);
    expect(inflateSync(piece, { finishFlush: constants.Z_SYNC_FLUSH }).equals(noise)).toBe(true);
  });

  it('keeps the stream across a level change', async () => {
    const z = new ZlibStream();
    const a = await z.compress(inputs[0], 6);
    const b = await z.compress(inputs[1], 1);
    const c = await z.compress(inputs[3], 9);
    z.close();
    const decoded = inflateSync(Buffer.concat([a, b, c]), { finishFlush: constants.Z_SYNC_FLUSH });
    expect(decoded.equals(Buffer.concat([inputs[0], inputs[1], inputs[3]]))).toBe(true);
  });
});
