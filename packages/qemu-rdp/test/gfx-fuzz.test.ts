// Bounded, seeded fuzzing of the graphics pipeline's client PDU decoders (MS-RDPEGFX): valid
// client messages are mutated, truncated and extended, and random buffers are thrown in; the
// decoders may return or throw RdpProtocolError, never anything else — and so may GfxOutput,
// which acts on what they return (the session then drops the client with one log line).
import { describe, expect, it } from 'vitest';
import { decodeClientGfxPdu, splitGfxPdus, SUSPEND_FRAME_ACKNOWLEDGEMENT } from '../src/channels/gfx/pdu.js';
import { RdpProtocolError } from '../src/pdu/errors.js';
import { GfxOutput } from '../src/server/gfx-output.js';
import { seededRandom } from './seeded-random.js';

const ITERATIONS = 20_000;

/** 80x40, busy (no tile of one colour) but for its last column of tiles. */
const FRAME = (() => {
  const data = Buffer.alloc(80 * 40 * 4);
  for (let y = 0; y < 40; y++) for (let x = 0; x < 80; x++) data.writeUInt32LE(x < 64 ? (x * 2654435761 + y * 40503) >>> 8 : 0x445566, (y * 80 + x) * 4);
  return { width: 80, height: 40, stride: 320, data };
})();

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function seeds(): Buffer[] {
  return [
    // CAPS_ADVERTISE: 8 (THINCLIENT), 8.1, 10.1 (16 reserved bytes)
    hex('1200 0000 3a000000 0300 04000800 04000000 01000000 05010800 04000000 00000000 00010a00 10000000 00000000000000000000000000000000'),
    hex('0d00 0000 14000000 00000000 01000000 01000000'), // FRAME_ACKNOWLEDGE
    hex('1000 0000 22000000 0200 0807060504030201 00100000 0102030405060708 00200000'), // CACHE_IMPORT_OFFER
    hex('1600 0000 14000000 05000000 e8030000 0200 0300'), // QOE_FRAME_ACKNOWLEDGE
    // Two PDUs in one message.
    hex('0d00 0000 14000000 00000000 01000000 01000000 0d00 0000 14000000 ffffffff 02000000 02000000'),
  ];
}

function mutate(seed: Buffer, rnd: () => number): Buffer {
  let b = Buffer.from(seed);
  const edits = 1 + Math.floor(rnd() * 4);
  for (let e = 0; e < edits; e++) {
    const what = rnd();
    if (what < 0.5 && b.length) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
    else if (what < 0.7) b = b.subarray(0, Math.floor(rnd() * (b.length + 1)));
    else if (what < 0.85) b = Buffer.concat([b, Buffer.from(Array.from({ length: Math.floor(rnd() * 24) }, () => Math.floor(rnd() * 256)))]);
    else if (b.length >= 8) b.writeUInt16LE(Math.floor(rnd() * 0x10000), 2 * Math.floor(rnd() * 4)); // header fields
  }
  return b;
}

describe('RDPGFX client PDU decoder fuzz', () => {
  it('returns PDUs or throws RdpProtocolError for mutated and random input', () => {
    const rnd = seededRandom(0x6f78);
    const all = seeds();
    const outcomes = { decoded: 0, refused: 0, frames: 0 };
    for (let i = 0; i < ITERATIONS; i++) {
      const input =
        i % 4 === 3 ? Buffer.from(Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256))) : mutate(all[i % all.length]!, rnd);
      // Every other output with RemoteFX chosen per client and a tiny cache: whatever capabilities
      // a mutated advertisement confirmed, a frame (drawn twice: cache hits) must go out.
      const output = new GfxOutput({ send: () => undefined, log: () => undefined, wake: () => undefined, codec: i % 2 ? 'auto' : 'planar', cacheLimit: 2 });
      try {
        for (const pdu of splitGfxPdus(input)) output.onClientPdu(decodeClientGfxPdu(pdu));
        outcomes.decoded++;
        if (output.ready && i % 16 < 2) {
          output.sendFrame(FRAME, [{ x: 0, y: 0, w: 80, h: 40 }]);
          output.onClientPdu({ kind: 'frameAcknowledge', queueDepth: SUSPEND_FRAME_ACKNOWLEDGEMENT, frameId: 1, totalFramesDecoded: 1 });
          output.sendFrame(FRAME, [{ x: 0, y: 0, w: 80, h: 40 }]);
          outcomes.frames++;
        }
      } catch (err) {
        if (!(err instanceof RdpProtocolError)) throw new Error(`input ${input.toString('hex')}: ${(err as Error).stack}`);
        outcomes.refused++;
      }
    }
    expect(outcomes.decoded).toBeGreaterThan(1000);
    expect(outcomes.refused).toBeGreaterThan(1000);
    expect(outcomes.frames).toBeGreaterThan(10);
  });
});
