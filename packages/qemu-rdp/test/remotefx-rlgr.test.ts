// RLGR1/RLGR3 (MS-RDPRFX 3.1.8.1.7): bit vectors, the spec's worked example (4.2.4.1/4.2.4.2),
// round trips, and a seeded fuzz of the decoder.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rlgrDecode, rlgrEncode, type RlgrMode } from '../src/codec/remotefx/index.js';
import { RdpProtocolError } from '../src/pdu/errors.js';
import { SPEC_SAMPLE } from './remotefx-decoder.js';
import { seededRandom } from './seeded-random.js';


const sha256 = (a: Int16Array): string => createHash('sha256').update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

function decode(mode: RlgrMode, bytes: number[] | Uint8Array, n: number): number[] {
  return Array.from(rlgrDecode(mode, Uint8Array.from(bytes), new Int16Array(n)));
}

/** The Y, Cb and Cr data of the sample's one tile (TS_RFX_TILE at the end of its TILESET). */
function sampleTileData(): [Buffer, Buffer, Buffer] {
  const f = SPEC_SAMPLE.frame;
  const tileset = 14 + 23; // after FRAME_BEGIN and REGION
  const tile = tileset + 22 + 5;
  expect(f.readUInt16LE(tile)).toBe(0xcac3);
  const [yLen, cbLen, crLen] = [f.readUInt16LE(tile + 13), f.readUInt16LE(tile + 15), f.readUInt16LE(tile + 17)];
  const y = f.subarray(tile + 19, tile + 19 + yLen);
  const cb = f.subarray(tile + 19 + yLen, tile + 19 + yLen + cbLen);
  const cr = f.subarray(tile + 19 + yLen + cbLen, tile + 19 + yLen + cbLen + crLen);
  return [y, cb, cr];
}

describe('RLGR bit vectors (from IronRDP tests)', () => {
  const cases: { mode: RlgrMode; values: number[]; bytes: number[] }[] = [
    // RL: run of 1 zero (terminator 1, k=1 remainder 1), +1 (sign 0, GR(0)); then GR pair (0, 0).
    { mode: 'rlgr3', values: [0, 1, 0, 0], bytes: [0b11000000] },
    // RL as above, then RLGR1 GR 4 (2·4 = 8 ones at kr 0), then 0 (kr now 1).
    { mode: 'rlgr1', values: [0, 1, 4, 0], bytes: [0b11000111, 0b11111000] },
    { mode: 'rlgr3', values: [...new Array<number>(66).fill(0), 7], bytes: [0b00000000, 0b10011001, 0b11000000] },
    { mode: 'rlgr3', values: [0, 24], bytes: [0b11011111, 0b11111101] },
  ];
  for (const { mode, values, bytes } of cases) {
    it(`${mode} ${values.length > 8 ? `${values.length} values` : JSON.stringify(values)}`, () => {
      expect([...rlgrEncode(mode, Int16Array.from(values))]).toEqual(bytes);
      expect(decode(mode, bytes, values.length)).toEqual(values);
    });
  }

  it('decodes a negative run-length value', () => {
    expect(decode('rlgr3', [0b11100000], 2)).toEqual([0, -1]);
  });
});

describe("RLGR3 on the spec's example tile (MS-RDPRFX 4.2.4.1)", () => {
  const expected = [SPEC_SAMPLE.sha256.yCoefficients, SPEC_SAMPLE.sha256.cbCoefficients, SPEC_SAMPLE.sha256.crCoefficients];
  it('decodes to the published coefficients', () => {
    sampleTileData().forEach((bytes, i) => {
      expect(sha256(rlgrDecode('rlgr3', bytes, new Int16Array(4096)))).toBe(expected[i]);
    });
  });

  it('re-encodes bit for bit as the Windows encoder did', () => {
    // The example's streams go on past the 4096th coefficient: Windows coded one more value, −1,
    // and a zero byte after the last (decoders stop at 4096 and never see them). Coding the 4096
    // values followed by that −1 gives exactly the published bytes, but for the extra zero byte.
    for (const bytes of sampleTileData()) {
      const withExtra = rlgrDecode('rlgr3', bytes, new Int16Array(4097));
      expect(withExtra[4096]).toBe(-1);
      expect(Buffer.concat([rlgrEncode('rlgr3', withExtra), Buffer.from([0])]).equals(bytes)).toBe(true);
      // Without the extra value: the same bits up to the last symbol, and the same coefficients.
      const coeffs = withExtra.subarray(0, 4096);
      const ours = rlgrEncode('rlgr3', coeffs);
      expect(ours.length).toBeLessThan(bytes.length);
      expect(rlgrDecode('rlgr3', ours, new Int16Array(4096))).toEqual(coeffs);
    }
  });

  it('round-trips the same coefficients through RLGR1', () => {
    for (const bytes of sampleTileData()) {
      const coeffs = rlgrDecode('rlgr3', bytes, new Int16Array(4096));
      const rl1 = rlgrEncode('rlgr1', coeffs);
      expect(rlgrDecode('rlgr1', rl1, new Int16Array(4096))).toEqual(coeffs);
    }
  });
});

describe('RLGR round trips', () => {
  const modes: RlgrMode[] = ['rlgr1', 'rlgr3'];
  const trailing: number[][] = [
    [0],
    [0, 0, 0, 0, 0, 0, 0, 0],
    [5, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 3, 0, 0, 0, 0, 0],
    [1, -2, 3, 0, 0, 0, 0, 0],
    [7],
    [-32768, 32767, 0, -32768],
    new Array<number>(4096).fill(0),
  ];
  for (const mode of modes) {
    it(`${mode}: runs that reach the end, extremes`, () => {
      for (const values of trailing) {
        const enc = rlgrEncode(mode, Int16Array.from(values));
        expect(decode(mode, enc, values.length)).toEqual(values);
      }
    });

    it(`${mode}: random coefficient-like streams`, () => {
      const r = seededRandom(mode === 'rlgr1' ? 1 : 3);
      for (let iter = 0; iter < 300; iter++) {
        const n = iter < 200 ? 4096 : 1 + Math.floor(r() * 300);
        const density = r();
        const scale = [1, 4, 64, 1024, 32768][Math.floor(r() * 5)];
        const values = new Int16Array(n);
        for (let i = 0; i < n; i++) {
          if (r() < density) values[i] = Math.max(-32768, Math.min(32767, Math.round((r() - 0.5) * 2 * scale)));
        }
        const enc = rlgrEncode(mode, values);
        expect(rlgrDecode(mode, enc, new Int16Array(n))).toEqual(values);
      }
    });
  }

  it('zero-fills what the stream does not reach and drops what does not fit', () => {
    expect(decode('rlgr3', [], 4)).toEqual([0, 0, 0, 0]);
    expect(decode('rlgr1', [0b11000111, 0b11111000], 2)).toEqual([0, 1]);
  });
});

describe('RLGR decoder fuzz', () => {
  for (const mode of ['rlgr1', 'rlgr3'] as const) {
    it(`${mode}: garbage and mutated streams only ever raise RdpProtocolError`, () => {
      const r = seededRandom(mode === 'rlgr1' ? 0xf00d : 0xbeef);
      const valid = sampleTileData().map((b) => rlgrEncode(mode, rlgrDecode('rlgr3', b, new Int16Array(4096))));
      let thrown = 0;
      for (let iter = 0; iter < 3000; iter++) {
        let input: Uint8Array;
        if (iter % 3 === 0) {
          input = new Uint8Array(Math.floor(r() * 600));
          const fill = r() < 0.2 ? (r() < 0.5 ? 0xff : 0x00) : -1;
          for (let i = 0; i < input.length; i++) input[i] = fill >= 0 && r() < 0.9 ? fill : Math.floor(r() * 256);
        } else {
          const base = valid[iter % valid.length];
          input = Uint8Array.from(base.subarray(0, Math.floor(r() * (base.length + 1))));
          const flips = 1 + Math.floor(r() * 8);
          for (let f = 0; f < flips && input.length > 0; f++) input[Math.floor(r() * input.length)] ^= 1 << Math.floor(r() * 8);
        }
        const n = r() < 0.8 ? 4096 : Math.floor(r() * 100);
        try {
          const out = rlgrDecode(mode, input, new Int16Array(n));
          expect(out.length).toBe(n);
        } catch (e) {
          expect(e).toBeInstanceOf(RdpProtocolError);
          thrown++;
        }
      }
      // All-ones input codes oversized values: some iterations must have been rejected.
      expect(thrown).toBeGreaterThan(0);
    });
  }

  it('rejects an oversized value with RDP_ERR_BAD_VALUE', () => {
    // RL mode (k = 1 at the start): terminator, run remainder 0, sign 1, then a unary part of
    // ~17000 ones, so the magnitude is far beyond 32768.
    const bytes = new Uint8Array(2200).fill(0xff);
    bytes[0] = 0b10111111;
    bytes[bytes.length - 1] = 0;
    expect(() => rlgrDecode('rlgr1', bytes, new Int16Array(16))).toThrow(expect.objectContaining({ code: 'RDP_ERR_BAD_VALUE' }));
  });
});
