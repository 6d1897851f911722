// Tight's colour analysis (ColourAnalyser, rectValues) against the shared reference
// (convertRect + readPixelValues + buildPalette), and the classification and piece
// pipelining it feeds, checked by decoding with the spec-written decoders.
import { convertRect, type PixelFormat } from '@vdi-sidecar/display-core';
import { describe, expect, it } from 'vitest';
import type { FramebufferView } from '../src/rfb/encoders/encoder.js';
import { buildPalette, readPixelValues } from '../src/rfb/encoders/pixels.js';
import {
  ColourAnalyser,
  FLAT_MIN_MEAN_RUN,
  PALETTE_OVER_JPEG_QUALITY,
  rectValues,
  TIGHT_MAX_COLOURS,
  TightEncoder,
  tpixelOf,
} from '../src/rfb/encoders/tight.js';
import { TightPngEncoder } from '../src/rfb/encoders/tightpng.js';
import {
  colourMask,
  expectedRegion,
  IMAGE_KINDS,
  makeImage,
  newDecoderState,
  PF_32_LE,
  PF_565,
  PIXEL_FORMATS,
  rng,
  roundTrip,
} from './rfb-decoders.js';

/** The same frame with its bytes `shift` bytes into a larger buffer (unaligned when shift % 4 ≠ 0). */
function shifted(fb: FramebufferView, shift: number, extraStride = 0): FramebufferView {
  const stride = fb.stride + extraStride;
  const data = Buffer.alloc(shift + stride * fb.height).subarray(shift);
  for (let y = 0; y < fb.height; y++) fb.data.copy(data, y * stride, y * fb.stride, (y + 1) * fb.stride);
  return { data, stride, width: fb.width, height: fb.height };
}

/** W×H of flat `tile`×`tileH` tiles, every tile its own colour, X bytes garbage. */
function flatTiles(width: number, height: number, tile: number, tileH = tile): FramebufferView {
  const fb = makeImage(width, height, 'solid');
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = Math.floor(y / tileH) * 1000 + Math.floor(x / tile);
      fb.data.writeUInt32LE((((Math.imul(t, 2654435761) >>> 8) & 0xffffff) | ((x * 31) << 24)) >>> 0, (y * width + x) * 4);
    }
  }
  return fb;
}

describe('rectValues', () => {
  it.each(PIXEL_FORMATS)('reads the values convertRect + readPixelValues give at %s, aligned or not', (_label, pf) => {
    const source = makeImage(37, 11, 'noisy', 3);
    const rect = { x: 5, y: 2, w: 29, h: 8 };
    for (const fb of [source, shifted(source, 0, 4), shifted(source, 1), shifted(source, 2, 2)]) {
      const expected = readPixelValues(convertRect(fb.data, fb.stride, rect.x, rect.y, rect.w, rect.h, pf), pf);
      expect([...rectValues(fb, rect, pf)]).toEqual([...expected]);
      // Into a larger reused array: only the rectangle's part is returned.
      expect([...rectValues(fb, rect, pf, new Uint32Array(1000))]).toEqual([...expected]);
    }
  });
});

describe('ColourAnalyser', () => {
  const images: Array<[string, FramebufferView]> = [
    ...IMAGE_KINDS.map((kind, i): [string, FramebufferView] => [kind, makeImage(45, 23, kind, i + 1)]),
    ['tiles', flatTiles(45, 23, 4)],
  ];

  it.each(PIXEL_FORMATS)("finds buildPalette's colours, order and indices at %s", (_label, pf) => {
    const analyser = new ColourAnalyser();
    for (const [kind, source] of images) {
      for (const fb of [source, shifted(source, 1)]) {
        const rect = { x: 2, y: 1, w: 41, h: 21 };
        const values = readPixelValues(convertRect(fb.data, fb.stride, rect.x, rect.y, rect.w, rect.h, pf), pf);
        for (const limit of [2, 16, 96, TIGHT_MAX_COLOURS]) {
          analyser.analyse(fb, rect, pf, limit);
          const reference = buildPalette(values, limit);
          if (!reference) {
            expect(analyser.colours, `${kind} limit ${limit}`).toBe(0);
            continue;
          }
          expect(analyser.palette, `${kind} limit ${limit}`).toEqual(reference.colours);
          expect(analyser.colours).toBe(reference.colours.length);
          if (reference.colours.length > 2) {
            expect([...analyser.indices()]).toEqual([...values].map((v) => reference.index.get(v)));
          }
        }
      }
    }
  });

  it('makes the mono bitmap of any width, whichever colour comes first', () => {
    const analyser = new ColourAnalyser();
    const next = rng(9);
    for (let w = 1; w <= 20; w++) {
      for (const firstIsBackground of [true, false]) {
        const h = 3;
        const fb = makeImage(w, h, 'solid');
        // Pixel 0 decides which colour appears first; the other colour stays the majority.
        const minority = new Set<number>([firstIsBackground ? -1 : 0]);
        for (let i = 1; i < w * h; i++) if (next() % 4 === 0) minority.add(i);
        if (minority.size * 2 >= w * h) minority.clear();
        if (!firstIsBackground) minority.add(0);
        for (const i of minority) if (i >= 0) fb.data.writeUInt32LE(0x00ff00, i * 4);
        const rect = { x: 0, y: 0, w, h };
        analyser.analyse(fb, rect, PF_32_LE, 2);
        if (analyser.colours !== 2) continue;
        const rowBytes = (w + 7) >> 3;
        const expected = Buffer.alloc(rowBytes * h);
        for (let y = 0; y < h; y++) {
          for (let x = 0; x < w; x++) {
            const v = fb.data.readUInt32LE((y * w + x) * 4) & 0xffffff;
            if (v !== analyser.palette[0]) expected[y * rowBytes + (x >> 3)] |= 0x80 >> (x & 7);
          }
        }
        expect(analyser.monoBitmap(), `${w} wide, first is background: ${firstIsBackground}`).toEqual(expected);
      }
    }
  });

  it('repeats rows equal to the one above, and only those', () => {
    const analyser = new ColourAnalyser();
    const fb = flatTiles(40, 12, 8, 6);
    // Row 3 differs in one pixel; row 7 has other X bytes (the same colours); rows 9–11 repeat row 8.
    fb.data.writeUInt32LE(0x123456, (3 * 40 + 17) * 4);
    for (let x = 0; x < 40; x++) fb.data[(7 * 40 + x) * 4 + 3] ^= 0x5a;
    const rect = { x: 0, y: 0, w: 40, h: 12 };
    const values = readPixelValues(convertRect(fb.data, fb.stride, 0, 0, 40, 12, PF_32_LE), PF_32_LE);
    const reference = buildPalette(values, 256);
    analyser.analyse(fb, rect, PF_32_LE, 256);
    expect(analyser.palette).toEqual(reference?.colours);
    expect([...analyser.indices()]).toEqual([...values].map((v) => reference?.index.get(v)));
  });

  it('counts runs of equal pixels', () => {
    const analyser = new ColourAnalyser();
    analyser.analyse(flatTiles(64, 8, 8), { x: 0, y: 0, w: 64, h: 8 }, PF_32_LE, 256);
    expect(analyser.colours).toBe(8);
    expect(analyser.runs).toBe(64); // 8 runs a row: each row ends on tile 7 and the next starts on tile 0
  });
});

describe('TPIXELs from colour values', () => {
  it('writes R,G,B for 24-bit colour and the PIXEL in byte order otherwise', () => {
    expect(tpixelOf(0x336699, PF_32_LE)).toEqual(Buffer.from([0x33, 0x66, 0x99]));
    expect(tpixelOf(0x1234, PF_565)).toEqual(Buffer.from([0x34, 0x12]));
    expect(tpixelOf(0x1234, { ...PF_565, bigEndian: true })).toEqual(Buffer.from([0x12, 0x34]));
    const depth32: PixelFormat = { ...PF_32_LE, depth: 32 };
    expect(tpixelOf(0x00336699, { ...depth32, bigEndian: true })).toEqual(Buffer.from([0x00, 0x33, 0x66, 0x99]));
  });
});

describe('Tight classification of flat content', () => {
  it('keeps a palette past the JPEG limit for long runs, and decodes exactly', async () => {
    // 128×64 of 16×4 tiles: 128 colours (past the JPEG limit of 96), runs of 16 pixels.
    const fb = flatTiles(128, 64, 16, 4);
    const rect = { x: 0, y: 0, w: 128, h: 64 };
    const analyser = new ColourAnalyser();
    analyser.analyse(fb, rect, PF_32_LE, TIGHT_MAX_COLOURS);
    expect(analyser.colours).toBe(128);
    expect(analyser.runs * FLAT_MIN_MEAN_RUN).toBeLessThanOrEqual(128 * 64);
    for (const encoder of [new TightEncoder(), new TightPngEncoder()]) {
      // Quality 5: below PALETTE_OVER_JPEG_QUALITY, so only the runs keep the palette.
      const { canvas, state } = await roundTrip(encoder, fb, rect, { pixelFormat: PF_32_LE, qualityLevel: 5, compressLevel: 6 });
      expect(state.log.map((e) => e.method)).toEqual([encoder instanceof TightEncoder ? 'indexed/2' : 'png']);
      expect(canvas.region(rect, colourMask(PF_32_LE))).toEqual(expectedRegion(fb, rect, PF_32_LE));
    }
  });

  it('sends short runs of many colours as JPEG below PALETTE_OVER_JPEG_QUALITY, else as a palette', async () => {
    // 128 colours in runs of 2 pixels: well under FLAT_MIN_MEAN_RUN.
    expect(2).toBeLessThan(FLAT_MIN_MEAN_RUN);
    const fb = flatTiles(128, 64, 2);
    for (let y = 0; y < 64; y++) for (let x = 0; x < 128; x++) fb.data.writeUInt32LE((((x >> 1) + (y & 1) * 64) * 0x020305) & 0xffffff, (y * 128 + x) * 4);
    const rect = { x: 0, y: 0, w: 128, h: 64 };
    const low = await roundTrip(new TightEncoder(), fb, rect, { pixelFormat: PF_32_LE, qualityLevel: PALETTE_OVER_JPEG_QUALITY - 1 });
    expect(low.state.log.map((e) => e.method)).toEqual(['jpeg']);
    const high = await roundTrip(new TightEncoder(), fb, rect, { pixelFormat: PF_32_LE, qualityLevel: PALETTE_OVER_JPEG_QUALITY });
    expect(high.state.log.map((e) => e.method)).toEqual(['indexed/2']);
    expect(high.canvas.region(rect, colourMask(PF_32_LE))).toEqual(expectedRegion(fb, rect, PF_32_LE));
    expect(high.bytes.length).toBeLessThan(low.bytes.length);
  });
});

describe('Tight over many pieces', () => {
  it.each(PIXEL_FORMATS)('decodes a wide frame of flat tiles and text exactly at %s', async (_label, pf) => {
    // 2100 wide: pieces of 2048 and 52 columns, 32 rows each. Rows 0–31: 16×32 tiles (128
    // colours, flat); 32–63: two-colour "text" on a flat band; 64–95: tiles with a band of
    // noise. So fill, mono, indexed, copy and JPEG mix, on all four zlib streams.
    const fb = flatTiles(2100, 96, 16, 32);
    const text = makeImage(2100, 96, 'two');
    const noise = makeImage(2100, 96, 'noisy');
    for (let i = 32 * 2100; i < 64 * 2100; i++) fb.data.writeUInt32LE(0xf0f0e0, i * 4); // the text's background
    for (let y = 36; y < 60; y++) text.data.copy(fb.data, y * fb.stride, y * fb.stride, y * fb.stride + 2000 * 4);
    noise.data.copy(fb.data, 70 * fb.stride, 70 * fb.stride, 90 * fb.stride);
    const rect = { x: 0, y: 0, w: 2100, h: 96 };
    const lossless = { x: 0, y: 0, w: 2100, h: 64 };
    const encoder = new TightEncoder();
    const state = newDecoderState();
    for (const opts of [{ pixelFormat: pf, compressLevel: 6 }, { pixelFormat: pf, qualityLevel: 9, compressLevel: 6 }, { pixelFormat: pf }]) {
      const { canvas, count } = await roundTrip(encoder, fb, rect, opts, state);
      expect(count).toBe(6);
      const methods = new Set(state.log.map((e) => e.method));
      for (const method of ['fill', 'mono/1']) expect(methods).toContain(method);
      expect(methods).toContain('indexed/2');
      const jpeg = methods.has('jpeg');
      expect(jpeg).toBe(opts.qualityLevel !== undefined && pf.bitsPerPixel !== 8);
      expect(canvas.region(jpeg ? lossless : rect, colourMask(pf))).toEqual(expectedRegion(fb, jpeg ? lossless : rect, pf));
      state.log.length = 0;
    }
    encoder.close();
  });
});

describe('Tight fills', () => {
  for (const [name, make] of [
    ['Tight', () => new TightEncoder()],
    ['TightPNG', () => new TightPngEncoder()],
  ] as const) {
    it(`sends a one-colour screen as one fill, however large (${name})`, async () => {
      // A cleared 1920×1080 console: 32 pieces at the size limits, one rectangle on the wire.
      const fb = makeImage(1920, 1080, 'solid');
      const rect = { x: 0, y: 0, w: 1920, h: 1080 };
      const { canvas, count, bytes } = await roundTrip(make(), fb, rect, { pixelFormat: PF_32_LE });
      expect(count).toBe(1);
      expect(bytes.length).toBe(12 + 1 + 3); // header, fill control, one 24-bit TPIXEL
      expect(canvas.region(rect, colourMask(PF_32_LE))).toEqual(expectedRegion(fb, rect, PF_32_LE));
    });

    it(`joins only fills of one colour, one under the other; other pieces stay apart (${name})`, async () => {
      // 1920×200: pieces of 1920×34. Rows 0–67 one colour, 68–101 text-like, 102–199 a second colour.
      const fb = makeImage(1920, 200, 'solid');
      const next = rng(3);
      for (let y = 68; y < 102; y++) for (let x = 0; x < 1920; x++) if (next() % 5 === 0) fb.data.writeUInt32LE(0xffffff, (y * 1920 + x) * 4);
      for (let y = 102; y < 200; y++) for (let x = 0; x < 1920; x++) fb.data.writeUInt32LE(0x3366cc, (y * 1920 + x) * 4);
      const rect = { x: 0, y: 0, w: 1920, h: 200 };
      const { canvas, count, bytes } = await roundTrip(make(), fb, rect, { pixelFormat: PF_32_LE, compressLevel: 6 });
      // The first fill (two pieces), the text piece, then the second colour's fill (three pieces).
      expect(count).toBe(3);
      expect(bytes.readUInt16BE(6)).toBe(68); // the first rectangle's height
      expect(canvas.region(rect, colourMask(PF_32_LE))).toEqual(expectedRegion(fb, rect, PF_32_LE));
    });
  }
});
