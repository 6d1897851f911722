// ZrleTileEncoder against a plain reference: ZRLE clients inflate one zlib stream over the
// whole connection, so the fast tile analysis must produce exactly the bytes of the simple
// per-tile encoder it replaced (RFC 6143 §7.7.6: subencodings raw, solid, packed palette,
// plain RLE and palette RLE, the smallest chosen; palette by decreasing frequency, ties by
// first appearance) — for every pixel format, frame layout and tile shape.
import { convertRect, cpixelSize, encodeCPixels, type PixelFormat } from '@vdi-sidecar/display-core';
import { describe, expect, it } from 'vitest';
import type { FramebufferView, Rect } from '../src/rfb/encoders/encoder.js';
import { buildPalette, readPixelValues } from '../src/rfb/encoders/pixels.js';
import { ZrleTileEncoder } from '../src/rfb/encoders/zrle.js';
import { IMAGE_KINDS, makeImage, PIXEL_FORMATS, rng } from './rfb-decoders.js';

/** Run-length bytes: (length − 1) as 255s and a final byte below 255. */
function runLengthBytes(length: number): number[] {
  const bytes: number[] = [];
  let rest = length - 1;
  for (; rest >= 255; rest -= 255) bytes.push(255);
  bytes.push(rest);
  return bytes;
}

/** One tile the straightforward way: every candidate built in full, the smallest kept (first on ties). */
function referenceTile(pixels: Buffer, pf: PixelFormat, w: number, h: number): number[] {
  const values = readPixelValues(pixels, pf);
  const size = pf.bitsPerPixel >> 3;
  const cpixelAt = (i: number): number[] => [...encodeCPixels(pixels.subarray(i * size, (i + 1) * size), pf)];
  const palette = buildPalette(values, 127);
  if (palette?.colours.length === 1) return [1, ...cpixelAt(0)];
  const starts: number[] = [];
  for (let i = 0; i < values.length; i++) if (i === 0 || values[i] !== values[i - 1]) starts.push(i);
  const lengthOf = (r: number): number => (starts[r + 1] ?? values.length) - starts[r];
  const candidates: number[][] = [[0, ...encodeCPixels(pixels, pf)]];
  candidates.push([128, ...starts.flatMap((s, r) => [...cpixelAt(s), ...runLengthBytes(lengthOf(r))])]);
  if (palette) {
    const n = palette.colours.length;
    const head = palette.first.flatMap(cpixelAt);
    const index = (i: number): number => palette.index.get(values[i]) ?? -1;
    if (n <= 16) {
      const bits = n <= 2 ? 1 : n <= 4 ? 2 : 4;
      const packed: number[] = [];
      for (let y = 0; y < h; y++) {
        const row = new Array<number>(Math.ceil((w * bits) / 8)).fill(0);
        for (let x = 0; x < w; x++) row[(x * bits) >> 3] |= index(y * w + x) << (8 - bits - ((x * bits) & 7));
        packed.push(...row);
      }
      candidates.push([n, ...head, ...packed]);
    }
    const runs = starts.flatMap((s, r) => (lengthOf(r) === 1 ? [index(s)] : [index(s) | 0x80, ...runLengthBytes(lengthOf(r))]));
    candidates.push([128 + n, ...head, ...runs]);
  }
  return candidates.reduce((best, c) => (c.length < best.length ? c : best));
}

function referenceTiles(fb: FramebufferView, rect: Rect, pf: PixelFormat): Buffer {
  const bytes: number[] = [];
  for (let ty = 0; ty < rect.h; ty += 64) {
    for (let tx = 0; tx < rect.w; tx += 64) {
      const w = Math.min(64, rect.w - tx);
      const h = Math.min(64, rect.h - ty);
      bytes.push(...referenceTile(convertRect(fb.data, fb.stride, rect.x + tx, rect.y + ty, w, h, pf), pf, w, h));
    }
  }
  return Buffer.from(bytes);
}

const pf32 = (over: Partial<PixelFormat>): PixelFormat => ({ ...(PIXEL_FORMATS[0][1]), ...over });
/** Formats beyond the round-trip tests': whole-pixel CPIXELs with the frame's X byte, top-byte colours, 10-bit channels, tiny 8-bit. */
const FORMATS: Array<[string, PixelFormat]> = [
  ...PIXEL_FORMATS,
  ['32bpp LE depth 32 (4-byte CPIXELs, X kept)', pf32({ depth: 32 })],
  ['32bpp BE B,G,R,X depth 32', pf32({ depth: 32, bigEndian: true, redShift: 8, greenShift: 16, blueShift: 24 })],
  ['32bpp BE B,G,R,X', pf32({ bigEndian: true, redShift: 8, greenShift: 16, blueShift: 24 })],
  ['32bpp LE colours in the top bytes', pf32({ redShift: 24, greenShift: 16, blueShift: 8 })],
  ['32bpp LE colours straddling bytes', pf32({ redShift: 20, greenShift: 12, blueShift: 4 })],
  ['32bpp 10-bit channels', pf32({ depth: 30, redMax: 1023, greenMax: 1023, blueMax: 1023, redShift: 20, greenShift: 10, blueShift: 0 })],
  ['16bpp 555', { ...PIXEL_FORMATS[3][1], depth: 15, greenMax: 31, redShift: 10 }],
  ['8bpp 111', { ...PIXEL_FORMATS[5][1], depth: 3, redMax: 1, greenMax: 1, blueMax: 1, redShift: 2, greenShift: 1, blueShift: 0 }],
];

/** Pictures that take each path: repeated rows (flat bands, stripes), runs across rows, 127 and 128 colours, text. */
function pictures(width: number, height: number): Array<[string, FramebufferView]> {
  const kinds = IMAGE_KINDS.map((kind): [string, FramebufferView] => [kind, makeImage(width, height, kind)]);
  const make = (colour: (x: number, y: number, next: () => number) => number, seed: number): FramebufferView => {
    const fb = makeImage(width, height, 'solid', seed);
    const next = rng(seed);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) fb.data.writeUInt32LE(colour(x, y, next) >>> 0, (y * width + x) * 4);
    return fb;
  };
  return [
    ...kinds,
    // 32×32 flat blocks, X bytes random: rows repeat the row above with different raw words.
    ['blocks', make((x, y, next) => ((((y >> 5) * 7 + (x >> 5)) * 0x9e3779b1) & 0xffffff) | (next() & 0xff000000), 2)],
    // The same with the X bytes kept: whole frame rows repeat byte for byte (found by one compare a row).
    ['blocks, X kept', make((x, y) => (((y >> 5) * 7 + (x >> 5)) * 0x9e3779b1) & 0xffffff, 9)],
    // Rows that repeat in every tile but one: the whole-row compare fails, each tile's own does not.
    ['one column changing', make((x, y) => (x >= 100 && x < 110 ? y * 0x010203 : ((x >> 5) * 0x304050) & 0xffffff), 10)],
    ['stripes', make((x) => ((x >> 2) % 16) * 0x0f0f0f, 3)],
    // Rows alternating between one colour and two, so runs join across row ends.
    ['bands', make((x, y) => (y % 3 === 0 && x > 10 ? 0xffffff : 0x202020), 4)],
    // Exactly 127 and 128 colours per 64×64 tile (palette RLE's limit), in runs of 16.
    ['127 colours', make((x, y) => ((y * 4 + (x >> 4)) % 127) * 0x020301, 5)],
    ['128 colours', make((x, y) => ((y * 4 + (x >> 4)) % 128) * 0x020301, 6)],
    ['specks', make((x, y, next) => (next() % 97 === 0 ? next() & 0xffffff : 0x336699), 7)],
    ['glyphs', make((x, y) => ((x * 5 + (y >> 1) * 3) % 7 < 2 && y % 16 > 3 ? 0xaaaaaa : 0), 8)],
  ];
}

/** The same picture with its frame at an odd byte offset and stride, as the direct word reads cannot take it. */
function unaligned(fb: FramebufferView): FramebufferView {
  const stride = fb.stride + 3;
  const data = Buffer.alloc(stride * fb.height + 1).subarray(1);
  for (let y = 0; y < fb.height; y++) fb.data.copy(data, y * stride, y * fb.stride, (y + 1) * fb.stride);
  return { data, stride, width: fb.width, height: fb.height };
}

describe('ZrleTileEncoder', () => {
  const width = 150;
  const height = 140;
  // Whole frames (tiles cut to 22 and 12 at the right and bottom), an odd rectangle and a sliver.
  const rects: Rect[] = [
    { x: 0, y: 0, w: width, h: height },
    { x: 3, y: 5, w: 130, h: 67 },
    { x: 149, y: 0, w: 1, h: 140 },
    { x: 7, y: 139, w: 140, h: 1 },
  ];
  const all = pictures(width, height);

  for (const [formatName, pf] of FORMATS) {
    it(`gives the reference encoder's bytes at ${formatName}`, () => {
      const encoder = new ZrleTileEncoder();
      for (const [pictureName, fb] of all) {
        for (const frame of [fb, unaligned(fb)]) {
          for (const rect of rects) {
            const expected = referenceTiles(frame, rect, pf);
            const actual = Buffer.from(encoder.encodeTiles(frame, rect, pf));
            expect(actual.equals(expected), `${pictureName} ${JSON.stringify(rect)} aligned ${frame === fb}`).toBe(true);
          }
        }
      }
    });
  }

  it('rejects a pixel format convertRect rejects, as before', () => {
    const fb = all[0][1];
    expect(() => new ZrleTileEncoder().encodeTiles(fb, { x: 0, y: 0, w: 8, h: 8 }, pf32({ redMax: 100 }))).toThrow(/unsupported pixel format/);
  });

  it('picks each subencoding on content made for it', () => {
    const pf = PIXEL_FORMATS[0][1];
    const encoder = new ZrleTileEncoder();
    const first = (name: string): number => {
      const fb = all.find(([n]) => n === name)?.[1] as FramebufferView;
      return encoder.encodeTiles(fb, { x: 0, y: 0, w: 64, h: 64 }, pf)[0];
    };
    expect(first('solid')).toBe(1);
    expect(first('noisy')).toBe(0); // raw
    expect(first('128 colours')).toBe(128); // plain RLE: too many colours for a palette
    expect(first('127 colours')).toBe(128 + 127); // palette RLE with the largest palette
    expect(first('glyphs')).toBe(2); // packed palette of two colours
    expect(cpixelSize(pf)).toBe(3);
  });
});
