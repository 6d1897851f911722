// Bounded, seeded fuzzing of the RDPSND decoder: valid client PDUs (the spec's examples and
// this package's encoders) are mutated, truncated and extended, and random buffers are thrown
// in; the decoder may return or throw RdpProtocolError, never anything else.
import { describe, expect, it } from 'vitest';
import { RdpProtocolError } from '../src/pdu/errors.js';
import { decodeClientRdpsndPdu, encodeServerAudioFormats, pcmFormat } from '../src/pdu/rdpsnd.js';
import { seededRandom } from './seeded-random.js';

const ITERATIONS = 20_000;


const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function seeds(): Buffer[] {
  const formats = Buffer.from(encodeServerAudioFormats({ formats: [pcmFormat(44100, 2, 16), { ...pcmFormat(22050, 1, 16), data: Buffer.from([1, 2, 3]) }], version: 8, lastBlockConfirmed: 0 }));
  formats.writeUInt32LE(1, 4); // TSSNDCAPS_ALIVE
  return [
    formats,
    hex('06 55 04 00 da 89 00 04'), // Training Confirm (MS-RDPEA 4.1.4)
    hex('05 00 04 00 b7 5a 08 00'), // Wave Confirm (4.2.3)
    hex('0c 00 04 00 02 00 00 00'), // Quality Mode
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
    else if (b.length >= 4) b.writeUInt16LE(Math.floor(rnd() * 0x10000), 2 * Math.floor(rnd() * 2)); // header fields
  }
  return b;
}

describe('RDPSND decoder fuzz', () => {
  it('returns a PDU or throws RdpProtocolError for mutated and random input', () => {
    const rnd = seededRandom(0x5eed5);
    const all = seeds();
    const outcomes = { decoded: 0, refused: 0 };
    for (let i = 0; i < ITERATIONS; i++) {
      const input =
        i % 4 === 3
          ? Buffer.from(Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256)))
          : mutate(all[i % all.length]!, rnd);
      try {
        decodeClientRdpsndPdu(input);
        outcomes.decoded++;
      } catch (err) {
        if (!(err instanceof RdpProtocolError)) throw new Error(`input ${input.toString('hex')}: ${(err as Error).stack}`);
        outcomes.refused++;
      }
    }
    // Both paths were exercised.
    expect(outcomes.decoded).toBeGreaterThan(1000);
    expect(outcomes.refused).toBeGreaterThan(1000);
  });
});
