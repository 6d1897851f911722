// RemoteFX transforms: colour conversion (MS-RDPRFX 3.1.8.1.3), the forward DWT against a plain
// reference written from 3.1.8.1.4 and against the spec's example (4.2.4), quantization
// (2.2.2.1.5, 3.1.8.1.5) and the LL3 differential step.
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_QUANT,
  SUBBANDS,
  bgrxTileToYCbCr,
  checkQuant,
  decodeQuant,
  dequantize,
  differentialEncode,
  encodeQuant,
  forwardDwt,
  quantize,
  rlgrDecode,
} from '../src/codec/remotefx/index.js';
import { SPEC_SAMPLE, inverseDwt, yCbCrToRgb } from './remotefx-decoder.js';
import { seededRandom } from './seeded-random.js';


const sha256 = (a: Int16Array): string => createHash('sha256').update(Buffer.from(a.buffer, a.byteOffset, a.byteLength)).digest('hex');

/** One 1-D analysis step of 3.1.8.1.4 on a plain array: [L, H]. */
function analyze(x: number[]): [number[], number[]] {
  const n = x.length / 2;
  const H: number[] = [];
  const L: number[] = [];
  for (let i = 0; i < n; i++) {
    const right = 2 * i + 2 < x.length ? x[2 * i + 2] : x[2 * i]; // symmetric extension
    H.push(Math.floor((x[2 * i + 1] - Math.floor((x[2 * i] + right) / 2)) / 2));
  }
  for (let i = 0; i < n; i++) {
    const left = i > 0 ? H[i - 1] : H[0];
    L.push(x[2 * i] + Math.floor((left + H[i]) / 2));
  }
  return [L, H];
}

/** Reference 2-D level on a matrix: columns first, then rows → { LL, HL, LH, HH } matrices. */
function referenceLevel(m: number[][]): { LL: number[][]; HL: number[][]; LH: number[][]; HH: number[][] } {
  const size = m.length;
  const half = size / 2;
  const lowRows: number[][] = Array.from({ length: half }, () => new Array<number>(size));
  const highRows: number[][] = Array.from({ length: half }, () => new Array<number>(size));
  for (let c = 0; c < size; c++) {
    const [L, H] = analyze(m.map((row) => row[c]));
    for (let r = 0; r < half; r++) {
      lowRows[r][c] = L[r];
      highRows[r][c] = H[r];
    }
  }
  const LL: number[][] = [];
  const HL: number[][] = [];
  const LH: number[][] = [];
  const HH: number[][] = [];
  for (let r = 0; r < half; r++) {
    const [a, b] = analyze(lowRows[r]);
    LL.push(a);
    HL.push(b);
    const [c, d] = analyze(highRows[r]);
    LH.push(c);
    HH.push(d);
  }
  return { LL, HL, LH, HH };
}

function referenceDwt(input: Int16Array): Map<string, number[]> {
  let m: number[][] = Array.from({ length: 64 }, (_, r) => Array.from(input.subarray(r * 64, r * 64 + 64)));
  const bands = new Map<string, number[]>();
  for (let lvl = 1; lvl <= 3; lvl++) {
    const { LL, HL, LH, HH } = referenceLevel(m);
    bands.set(`HL${lvl}`, HL.flat());
    bands.set(`LH${lvl}`, LH.flat());
    bands.set(`HH${lvl}`, HH.flat());
    m = LL;
    if (lvl === 3) bands.set('LL3', LL.flat());
  }
  return bands;
}

describe('forward DWT', () => {
  it('matches a plain reference implementation band by band', () => {
    const r = seededRandom(7);
    const inputs: Int16Array[] = [new Int16Array(4096), new Int16Array(4096).fill(4095), new Int16Array(4096).fill(-4096)];
    for (let k = 0; k < 12; k++) {
      const a = new Int16Array(4096);
      const smooth = k % 2 === 0;
      for (let i = 0; i < 4096; i++) {
        a[i] = smooth ? Math.round(((i % 64) + (i >> 6)) * 60 - 3800 + (r() - 0.5) * 200) : Math.floor(r() * 8192) - 4096;
      }
      inputs.push(a);
    }
    for (const input of inputs) {
      const ref = referenceDwt(input);
      const out = forwardDwt(Int16Array.from(input));
      for (const band of SUBBANDS) {
        expect(Array.from(out.subarray(band.offset, band.offset + band.size)), band.name).toEqual(ref.get(band.name));
      }
    }
  });

  it("reproduces the spec example's Y coefficients from its decoded samples (4.2.4)", () => {
    const f = SPEC_SAMPLE.frame;
    const tile = 37 + 27;
    const yData = f.subarray(tile + 19, tile + 19 + f.readUInt16LE(tile + 13));
    const coeffs = rlgrDecode('rlgr3', yData, new Int16Array(4096));
    for (let i = 4033; i < 4096; i++) coeffs[i] += coeffs[i - 1];
    dequantize(coeffs, decodeQuant(f, 37 + 22));
    expect(sha256(coeffs)).toBe(SPEC_SAMPLE.sha256.yDequantized);
    const samples = inverseDwt(Int16Array.from(coeffs));
    expect(sha256(samples)).toBe(SPEC_SAMPLE.sha256.yInverseDwt);
    // The forward transform of those samples gives back the transmitted coefficients exactly.
    expect(forwardDwt(Int16Array.from(samples))).toEqual(coeffs);
  });

  it('rejects a buffer that is not 64×64', () => {
    expect(() => forwardDwt(new Int16Array(100))).toThrow(RangeError);
  });
});

describe('quantization', () => {
  it('packs TS_RFX_CODEC_QUANT as the spec example does (66 66 77 88 98)', () => {
    expect([...encodeQuant(DEFAULT_QUANT)]).toEqual([0x66, 0x66, 0x77, 0x88, 0x98]);
    expect(decodeQuant(Buffer.from([0x66, 0x66, 0x77, 0x88, 0x98]))).toEqual([...DEFAULT_QUANT]);
    expect(decodeQuant(Buffer.from([0x21, 0x43, 0x65, 0x87, 0xa9]))).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it('checks the factors', () => {
    expect(() => checkQuant([6, 6, 6])).toThrow(RangeError);
    expect(() => checkQuant([5, 6, 6, 6, 7, 7, 8, 8, 8, 9])).toThrow(RangeError);
    expect(() => checkQuant([6, 6, 6, 6, 7, 7, 8, 8, 8, 16])).toThrow(RangeError);
    expect(() => checkQuant([15, 15, 15, 15, 15, 15, 15, 15, 15, 15])).not.toThrow();
  });

  it('divides each band by 2^(q−1), rounding to nearest, and dequantize multiplies back', () => {
    const q = [6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
    // band order HL1 LH1 HH1 HL2 LH2 HH2 HL3 LH3 HH3 LL3 → quant index 8 7 9 5 4 6 2 1 3 0
    const bandQ = [14, 13, 15, 11, 10, 12, 8, 7, 9, 6];
    const r = seededRandom(11);
    const c = new Int16Array(4096);
    for (let i = 0; i < 4096; i++) c[i] = Math.floor(r() * 32000) - 16000;
    const quantized = quantize(Int16Array.from(c), q);
    SUBBANDS.forEach((band, b) => {
      const step = 2 ** (bandQ[b] - 1);
      for (let i = band.offset; i < band.offset + band.size; i++) {
        expect(quantized[i]).toBe(Math.floor(c[i] / step + 0.5));
      }
    });
    const back = dequantize(Int16Array.from(quantized), q);
    SUBBANDS.forEach((band, b) => {
      const step = 2 ** (bandQ[b] - 1);
      for (let i = band.offset; i < band.offset + band.size; i++) expect(Math.abs(back[i] - c[i])).toBeLessThanOrEqual(step / 2);
    });
  });

  it('codes LL3 as its first value and successive differences', () => {
    const c = new Int16Array(4096);
    for (let i = 0; i < 64; i++) c[4032 + i] = 100 + i * i;
    c[4031] = 77;
    differentialEncode(c);
    expect(c[4031]).toBe(77);
    expect(c[4032]).toBe(100);
    for (let i = 1; i < 64; i++) expect(c[4032 + i]).toBe(2 * i - 1);
  });
});

describe('colour conversion (ICT)', () => {
  const planes = (): [Int16Array, Int16Array, Int16Array] => [new Int16Array(4096), new Int16Array(4096), new Int16Array(4096)];

  it('maps greys to exact Y − 128 and zero chroma, 11.5 fixed point', () => {
    for (const v of [0, 1, 77, 128, 200, 255]) {
      const px = Buffer.alloc(64 * 64 * 4, v);
      const [y, cb, cr] = planes();
      bgrxTileToYCbCr(px, 256, 0, 0, 64, 64, y, cb, cr);
      expect(new Set(y)).toEqual(new Set([(v - 128) * 32]));
      expect(new Set(cb)).toEqual(new Set([0]));
      expect(new Set(cr)).toEqual(new Set([0]));
    }
  });

  it('agrees with the float formulas to within 0.75/32 (rounding plus the 2^15 factors), and inverts to within one level', () => {
    const r = seededRandom(5);
    const px = Buffer.alloc(64 * 64 * 4);
    for (let i = 0; i < px.length; i++) px[i] = Math.floor(r() * 256);
    const [y, cb, cr] = planes();
    bgrxTileToYCbCr(px, 256, 0, 0, 64, 64, y, cb, cr);
    for (let i = 0; i < 4096; i++) {
      const [b, g, red] = [px[4 * i], px[4 * i + 1], px[4 * i + 2]];
      const fy = (0.299 * red + 0.587 * g + 0.114 * b - 128) * 32;
      const fcb = (-0.168935 * red - 0.331665 * g + 0.50059 * b) * 32;
      const fcr = (0.499813 * red - 0.418531 * g - 0.081282 * b) * 32;
      expect(Math.abs(y[i] - fy)).toBeLessThanOrEqual(0.75);
      expect(Math.abs(cb[i] - fcb)).toBeLessThanOrEqual(0.75);
      expect(Math.abs(cr[i] - fcr)).toBeLessThanOrEqual(0.75);
      const [R, G, B] = yCbCrToRgb(y[i], cb[i], cr[i]);
      expect(Math.abs(R - red)).toBeLessThanOrEqual(1);
      expect(Math.abs(G - g)).toBeLessThanOrEqual(1);
      expect(Math.abs(B - b)).toBeLessThanOrEqual(1);
    }
  });

  it('repeats the last column and row beyond the frame edge', () => {
    // A 10×5 frame; the tile at (0, 0) covers it and extends past it.
    const w = 10;
    const h = 5;
    const px = Buffer.alloc(w * h * 4);
    for (let yy = 0; yy < h; yy++) for (let x = 0; x < w; x++) px.fill(yy * 40 + x * 2, (yy * w + x) * 4, (yy * w + x) * 4 + 4);
    const [y] = planes();
    bgrxTileToYCbCr(px, w * 4, 0, 0, w, h, y, new Int16Array(4096), new Int16Array(4096));
    for (let row = 0; row < 64; row++) {
      for (let col = 0; col < 64; col++) {
        const sy = Math.min(row, h - 1);
        const sx = Math.min(col, w - 1);
        expect(y[row * 64 + col]).toBe((sy * 40 + sx * 2 - 128) * 32);
      }
    }
  });

  it('rejects a tile outside the frame or a short buffer', () => {
    const [y, cb, cr] = planes();
    expect(() => bgrxTileToYCbCr(Buffer.alloc(64 * 64 * 4), 256, 64, 0, 64, 64, y, cb, cr)).toThrow(RangeError);
    expect(() => bgrxTileToYCbCr(Buffer.alloc(100), 256, 0, 0, 64, 64, y, cb, cr)).toThrow(RangeError);
  });
});
