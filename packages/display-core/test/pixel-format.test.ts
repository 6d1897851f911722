import { describe, expect, it } from 'vitest';
import {
  PIXEL_FORMAT_BGRX,
  PIXEL_FORMAT_LENGTH,
  PIXMAN_x8r8g8b8,
  PixelConverter,
  bgrxToBgr,
  bgrxToRgb,
  bgrxToRgba,
  bytesPerPixel,
  convertRect,
  cpixelSize,
  encodeCPixels,
  encodePixelFormat,
  isBgrxFormat,
  parsePixelFormat,
  validatePixelFormat,
  type PixelFormat,
} from '../src/pixel-format.js';

const pf = (over: Partial<PixelFormat>): PixelFormat => ({ ...PIXEL_FORMAT_BGRX, ...over });

/** 32 bpp, depth 24, true colour, 8 bits per channel — RFC 6143's usual ServerInit format. */
const RGB888_LE = PIXEL_FORMAT_BGRX;
const RGB888_BE = pf({ bigEndian: true });
const RGBX_LE = pf({ redShift: 0, greenShift: 8, blueShift: 16 });
const RGB565_LE = pf({ bitsPerPixel: 16, depth: 16, redMax: 31, greenMax: 63, blueMax: 31, redShift: 11, greenShift: 5, blueShift: 0 });
const RGB565_BE = { ...RGB565_LE, bigEndian: true };
const RGB555_LE = pf({ bitsPerPixel: 16, depth: 15, redMax: 31, greenMax: 31, blueMax: 31, redShift: 10, greenShift: 5, blueShift: 0 });
/** TigerVNC's/rfbproto's "BGR233": 8 bpp, red in bits 0–2, green 3–5, blue 6–7. */
const BGR233 = pf({ bitsPerPixel: 8, depth: 8, redMax: 7, greenMax: 7, blueMax: 3, redShift: 0, greenShift: 3, blueShift: 6 });
const RGB101010 = pf({ depth: 30, redMax: 1023, greenMax: 1023, blueMax: 1023, redShift: 20, greenShift: 10, blueShift: 0 });

/** A frame of BGRX pixels from [r, g, b] triples, with optional row padding and X byte. */
function frame(width: number, pixels: ReadonlyArray<readonly [number, number, number]>, stride = width * 4, x = 0): Buffer {
  const height = pixels.length / width;
  const buf = Buffer.alloc(stride * height, 0xee);
  pixels.forEach(([r, g, b], i) => {
    const o = Math.floor(i / width) * stride + (i % width) * 4;
    buf[o] = b;
    buf[o + 1] = g;
    buf[o + 2] = r;
    buf[o + 3] = x;
  });
  return buf;
}

/** Straightforward reference conversion, one pixel at a time. */
function reference(src: Buffer, stride: number, x: number, y: number, w: number, h: number, f: PixelFormat): Buffer {
  const bpp = f.bitsPerPixel / 8;
  const out = Buffer.alloc(w * h * bpp);
  const scale = (v: number, max: number): number => (max <= 255 ? v >> (8 - Math.log2(max + 1)) : Math.round((v * max) / 255));
  let o = 0;
  for (let row = y; row < y + h; row++) {
    for (let col = x; col < x + w; col++) {
      const i = row * stride + col * 4;
      const v =
        scale(src[i + 2], f.redMax) * 2 ** f.redShift +
        scale(src[i + 1], f.greenMax) * 2 ** f.greenShift +
        scale(src[i], f.blueMax) * 2 ** f.blueShift;
      if (bpp === 4 && f.bigEndian) out.writeUInt32BE(v, o);
      else if (bpp === 4) out.writeUInt32LE(v, o);
      else if (bpp === 2 && f.bigEndian) out.writeUInt16BE(v, o);
      else if (bpp === 2) out.writeUInt16LE(v, o);
      else out.writeUInt8(v, o);
      o += bpp;
    }
  }
  return out;
}

function randomFrame(width: number, height: number, stride: number, seed: number): Buffer {
  const buf = Buffer.alloc(stride * height);
  let s = seed >>> 0;
  for (let i = 0; i < buf.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    buf[i] = s >>> 24;
  }
  return buf;
}

describe('constants', () => {
  it('PIXMAN_x8r8g8b8 is PIXMAN_FORMAT(32, ARGB, 0, 8, 8, 8)', () => {
    const PIXMAN_TYPE_ARGB = 2;
    expect(PIXMAN_x8r8g8b8).toBe(((32 << 24) | (PIXMAN_TYPE_ARGB << 16) | (0 << 12) | (8 << 8) | (8 << 4) | 8) >>> 0);
    expect(PIXMAN_x8r8g8b8).toBe(0x20020888);
  });

  it('BGRX is the 32-bpp little-endian depth-24 format', () => {
    expect(PIXEL_FORMAT_BGRX).toEqual({
      bitsPerPixel: 32,
      depth: 24,
      bigEndian: false,
      trueColour: true,
      redMax: 255,
      greenMax: 255,
      blueMax: 255,
      redShift: 16,
      greenShift: 8,
      blueShift: 0,
    });
    expect(Object.isFrozen(PIXEL_FORMAT_BGRX)).toBe(true);
  });
});

describe('PIXEL_FORMAT wire format (RFC 6143 §7.4)', () => {
  const vectors: ReadonlyArray<readonly [string, number[], PixelFormat]> = [
    [
      '32-bpp little-endian true colour',
      [
        32, // bits-per-pixel
        24, // depth
        0, // big-endian-flag
        1, // true-colour-flag
        0x00, 0xff, // red-max 255
        0x00, 0xff, // green-max 255
        0x00, 0xff, // blue-max 255
        16, // red-shift
        8, // green-shift
        0, // blue-shift
        0, 0, 0, // padding
      ],
      RGB888_LE,
    ],
    [
      '16-bpp 565 big-endian',
      [
        16, // bits-per-pixel
        16, // depth
        1, // big-endian-flag
        1, // true-colour-flag
        0x00, 0x1f, // red-max 31
        0x00, 0x3f, // green-max 63
        0x00, 0x1f, // blue-max 31
        11, // red-shift
        5, // green-shift
        0, // blue-shift
        0, 0, 0, // padding
      ],
      RGB565_BE,
    ],
    [
      '8-bpp BGR233',
      [
        8, // bits-per-pixel
        8, // depth
        0, // big-endian-flag
        1, // true-colour-flag
        0x00, 0x07, // red-max 7
        0x00, 0x07, // green-max 7
        0x00, 0x03, // blue-max 3
        0, // red-shift
        3, // green-shift
        6, // blue-shift
        0, 0, 0, // padding
      ],
      BGR233,
    ],
    [
      '10-bit channels',
      [32, 30, 0, 1, 0x03, 0xff, 0x03, 0xff, 0x03, 0xff, 20, 10, 0, 0, 0, 0],
      RGB101010,
    ],
  ];

  it.each(vectors)('parses %s', (_name, bytes, expected) => {
    expect(parsePixelFormat(Buffer.from(bytes))).toEqual(expected);
  });

  it.each(vectors)('encodes %s', (_name, bytes, format) => {
    expect([...encodePixelFormat(format)]).toEqual(bytes);
  });

  it('parses at an offset inside a SetPixelFormat message', () => {
    // SetPixelFormat (§7.5.1): u8 message-type 0, 3 bytes padding, PIXEL_FORMAT.
    const msg = Buffer.from([0, 0, 0, 0, ...vectors[1][1]]);
    expect(parsePixelFormat(msg, 4)).toEqual(RGB565_BE);
  });

  it('treats any non-zero flag as true', () => {
    const bytes = Buffer.from(vectors[0][1]);
    bytes[2] = 0x80;
    bytes[3] = 0xff;
    expect(parsePixelFormat(bytes).bigEndian).toBe(true);
    expect(parsePixelFormat(bytes).trueColour).toBe(true);
  });

  it('needs 16 bytes', () => {
    expect(PIXEL_FORMAT_LENGTH).toBe(16);
    expect(() => parsePixelFormat(Buffer.alloc(15))).toThrow(/16 bytes, got 15/);
    expect(() => parsePixelFormat(Buffer.alloc(16), 1)).toThrow(/got 15/);
  });
});

describe('validatePixelFormat', () => {
  it('accepts the usual formats', () => {
    for (const f of [RGB888_LE, RGB888_BE, RGBX_LE, RGB565_LE, RGB565_BE, RGB555_LE, BGR233, RGB101010]) {
      expect(validatePixelFormat(f)).toBeUndefined();
    }
  });

  it.each([
    [pf({ bitsPerPixel: 24 }), 'bits-per-pixel 24 is not 8, 16 or 32'],
    [pf({ trueColour: false }), 'colour-map pixel formats (true-colour-flag 0) are not supported'],
    [pf({ redMax: 100 }), 'red-max 100 is not of the form 2^n-1'],
    [pf({ greenMax: 0 }), 'green-max 0 is not of the form 2^n-1'],
    [pf({ blueShift: 25 }), 'blue-shift 25 puts 8 bits outside a 32-bit pixel'],
    [{ ...RGB565_LE, redShift: 12 }, 'red-shift 12 puts 5 bits outside a 16-bit pixel'],
    [pf({ greenShift: 12 }), 'green bits overlap another channel'],
    [pf({ depth: 0 }), 'depth 0 is not within 1..32'],
    [{ ...BGR233, depth: 16 }, 'depth 16 is not within 1..8'],
  ])('rejects %j', (format, message) => {
    expect(validatePixelFormat(format)).toBe(message);
  });

  it('makes the converter refuse', () => {
    expect(() => new PixelConverter(pf({ trueColour: false }))).toThrow('unsupported pixel format: colour-map');
  });
});

describe('convertRect', () => {
  // One pixel R=0x12 G=0x34 B=0x56 (QEMU bytes 56 34 12 X), white, red, green, blue.
  const src = frame(5, [
    [0x12, 0x34, 0x56],
    [0xff, 0xff, 0xff],
    [0xff, 0x00, 0x00],
    [0x00, 0xff, 0x00],
    [0x00, 0x00, 0xff],
  ]);
  const convert = (f: PixelFormat): number[] => [...convertRect(src, 20, 0, 0, 5, 1, f)];

  it('copies QEMU bytes for the native format, X byte included', () => {
    expect(convert(RGB888_LE)).toEqual([
      0x56, 0x34, 0x12, 0x00, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0xff, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00,
    ]);
  });

  it('writes 32-bpp big-endian as 0x00RRGGBB in network order', () => {
    expect(convert(RGB888_BE).slice(0, 8)).toEqual([0x00, 0x12, 0x34, 0x56, 0x00, 0xff, 0xff, 0xff]);
  });

  it('swaps channels for red at bit 0', () => {
    expect(convert(RGBX_LE).slice(0, 12)).toEqual([0x12, 0x34, 0x56, 0x00, 0xff, 0xff, 0xff, 0x00, 0xff, 0x00, 0x00, 0x00]);
  });

  it('converts to RGB565 in both byte orders', () => {
    // r 0x12>>3 = 2, g 0x34>>2 = 13, b 0x56>>3 = 10: 2<<11 | 13<<5 | 10 = 0x11aa.
    expect(convert(RGB565_LE)).toEqual([0xaa, 0x11, 0xff, 0xff, 0x00, 0xf8, 0xe0, 0x07, 0x1f, 0x00]);
    expect(convert(RGB565_BE)).toEqual([0x11, 0xaa, 0xff, 0xff, 0xf8, 0x00, 0x07, 0xe0, 0x00, 0x1f]);
  });

  it('converts to RGB555', () => {
    // r 2, g 0x34>>3 = 6, b 10: 2<<10 | 6<<5 | 10 = 0x08ca.
    expect(convert(RGB555_LE)).toEqual([0xca, 0x08, 0xff, 0x7f, 0x00, 0x7c, 0xe0, 0x03, 0x1f, 0x00]);
  });

  it('converts to BGR233', () => {
    // r 0x12>>5 = 0, g 0x34>>5 = 1, b 0x56>>6 = 1: 0 | 1<<3 | 1<<6 = 0x48.
    expect(convert(BGR233)).toEqual([0x48, 0xff, 0x07, 0x38, 0xc0]);
  });

  it('scales up to channels wider than 8 bits', () => {
    // 0x12 = 18 → round(18·1023/255) = 72; 0x34 = 52 → 209; 0x56 = 86 → 345.
    const v = (72 << 20) | (209 << 10) | 345;
    expect(convert(RGB101010).slice(0, 4)).toEqual([v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24]);
    expect(convert(RGB101010).slice(4, 8)).toEqual([0xff, 0xff, 0xff, 0x3f]);
  });

  it('takes a sub-rectangle of a padded frame', () => {
    // 4×3 frame, stride 20 (one pixel of padding per row); pixel (c, r) has R=r, G=c, B=0x80.
    const pixels: Array<[number, number, number]> = [];
    for (let r = 0; r < 3; r++) for (let c = 0; c < 4; c++) pixels.push([r, c, 0x80]);
    const padded = frame(4, pixels, 20);
    expect([...convertRect(padded, 20, 1, 1, 2, 2, RGB888_BE)]).toEqual([
      0, 1, 1, 0x80, 0, 1, 2, 0x80, // row 1: (1,1), (2,1)
      0, 2, 1, 0x80, 0, 2, 2, 0x80, // row 2: (1,2), (2,2)
    ]);
    expect([...convertRect(padded, 20, 1, 1, 2, 2, RGB888_LE)]).toEqual([
      0x80, 1, 1, 0, 0x80, 2, 1, 0, 0x80, 1, 2, 0, 0x80, 2, 2, 0,
    ]);
  });

  it.each([
    ['RGB888 LE', RGB888_LE],
    ['RGB888 BE', RGB888_BE],
    ['RGBX LE', RGBX_LE],
    ['RGB565 LE', RGB565_LE],
    ['RGB565 BE', RGB565_BE],
    ['RGB555 LE', RGB555_LE],
    ['RGB555 BE', { ...RGB555_LE, bigEndian: true }],
    ['BGR233', BGR233],
    ['10-bit', RGB101010],
    ['10-bit BE', { ...RGB101010, bigEndian: true }],
  ])('matches the reference conversion for %s (aligned and not)', (_name, f) => {
    const width = 37;
    const height = 9;
    const stride = width * 4 + 12;
    const data = randomFrame(width, height, stride, 42);
    const expected = reference(data, stride, 3, 2, 29, 6, f);
    if (isBgrxFormat(f)) {
      // The native format is copied as is: QEMU's X byte goes along (a depth-24 client ignores it).
      for (let row = 0; row < 6; row++) {
        for (let col = 0; col < 29; col++) expected[(row * 29 + col) * 4 + 3] = data[(2 + row) * stride + (3 + col) * 4 + 3];
      }
    }
    expect(convertRect(data, stride, 3, 2, 29, 6, f).equals(expected)).toBe(true);
    // The same pixels at an odd byte offset (no 32-bit views possible).
    const odd = Buffer.alloc(data.length + 1).subarray(1);
    data.copy(odd);
    expect(convertRect(odd, stride, 3, 2, 29, 6, f).equals(expected)).toBe(true);
    // Into a caller's buffer at an odd offset.
    const out = Buffer.alloc(expected.length + 3);
    const written = convertRect(data, stride, 3, 2, 29, 6, f, out.subarray(3));
    expect(written.equals(expected)).toBe(true);
    expect(out.subarray(3).equals(expected)).toBe(true);
  });

  it('handles empty rectangles and rejects ones outside the frame', () => {
    expect(convertRect(src, 20, 2, 0, 0, 1, RGB565_LE)).toHaveLength(0);
    expect(() => convertRect(src, 20, 3, 0, 3, 1, RGB888_LE)).toThrow(RangeError);
    expect(() => convertRect(src, 20, 0, 1, 1, 1, RGB888_LE)).toThrow(RangeError);
    expect(() => convertRect(src, 20, -1, 0, 1, 1, RGB888_LE)).toThrow(RangeError);
    expect(() => convertRect(src, 20, 0, 0, 5, 1, RGB888_LE, Buffer.alloc(19))).toThrow(/19 bytes, 20 needed/);
  });

  it('reuses a PixelConverter', () => {
    const conv = new PixelConverter(RGB565_LE);
    expect(conv.bytesPerPixel).toBe(2);
    expect([...conv.convertRect(src, 20, 0, 0, 1, 1)]).toEqual([0xaa, 0x11]);
    expect([...conv.convertRect(src, 20, 2, 0, 1, 1)]).toEqual([0x00, 0xf8]);
  });

  it('converts a full HD frame', () => {
    const w = 1920;
    const h = 1080;
    const big = randomFrame(w, h, w * 4, 7);
    const rgb565 = convertRect(big, w * 4, 0, 0, w, h, RGB565_LE);
    expect(rgb565).toHaveLength(w * h * 2);
    const i = (h - 1) * w + (w - 1);
    const b = big[i * 4];
    const g = big[i * 4 + 1];
    const r = big[i * 4 + 2];
    expect(rgb565.readUInt16LE(i * 2)).toBe(((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3));
  });
});

describe('bgrxToRgb / bgrxToRgba', () => {
  const pixels: Array<[number, number, number]> = [];
  for (let i = 0; i < 24; i++) pixels.push([i, 0x40 + i, 0x80 + i]);
  // 8×3 frame with a padded stride.
  const src = frame(8, pixels, 40, 0x99);

  const expectedRgb = (x: number, y: number, w: number, h: number): number[] => {
    const out: number[] = [];
    for (let r = y; r < y + h; r++) for (let c = x; c < x + w; c++) out.push(...pixels[r * 8 + c]);
    return out;
  };

  it.each([
    [0, 0, 8, 3], // width a multiple of 4: word path
    [1, 1, 4, 2],
    [1, 0, 3, 3], // byte path
    [7, 2, 1, 1],
  ])('packs RGB for %i,%i %ix%i', (x, y, w, h) => {
    expect([...bgrxToRgb(src, 40, x, y, w, h)]).toEqual(expectedRgb(x, y, w, h));
    const odd = Buffer.alloc(src.length + 1).subarray(1);
    src.copy(odd);
    expect([...bgrxToRgb(odd, 40, x, y, w, h)]).toEqual(expectedRgb(x, y, w, h));
  });

  it('packs RGBA with opaque alpha, ignoring X', () => {
    const expected: number[] = [];
    for (let c = 2; c < 6; c++) expected.push(...pixels[8 + c], 0xff);
    expect([...bgrxToRgba(src, 40, 2, 1, 4, 1)]).toEqual(expected);
    const odd = Buffer.alloc(src.length + 1).subarray(1);
    src.copy(odd);
    expect([...bgrxToRgba(odd, 40, 2, 1, 4, 1)]).toEqual(expected);
    const out = Buffer.alloc(17);
    expect([...bgrxToRgba(src, 40, 2, 1, 4, 1, out.subarray(1))]).toEqual(expected);
  });

  it.each([
    [0, 0, 8, 3], // width a multiple of 4: word path
    [1, 1, 4, 2],
    [1, 0, 3, 3], // byte path
    [7, 2, 1, 1],
    [2, 1, 0, 2], // empty
  ])('packs BGR for %i,%i %ix%i', (x, y, w, h) => {
    const expectedBgr = expectedRgb(x, y, w, h);
    for (let i = 0; i < expectedBgr.length; i += 3) {
      [expectedBgr[i], expectedBgr[i + 2]] = [expectedBgr[i + 2], expectedBgr[i]];
    }
    expect([...bgrxToBgr(src, 40, x, y, w, h)]).toEqual(expectedBgr);
    const odd = Buffer.alloc(src.length + 1).subarray(1);
    src.copy(odd);
    expect([...bgrxToBgr(odd, 40, x, y, w, h)]).toEqual(expectedBgr);
    const out = Buffer.alloc(expectedBgr.length + 4, 0x77);
    const written = bgrxToBgr(src, 40, x, y, w, h, out.subarray(2));
    expect([...written]).toEqual(expectedBgr);
    expect(out[0]).toBe(0x77);
    expect(out[out.length - 1]).toBe(0x77);
  });

  it('rejects a BGR rectangle outside the frame or a short output buffer', () => {
    expect(() => bgrxToBgr(src, 40, 8, 0, 4, 1)).toThrow(RangeError);
    expect(() => bgrxToBgr(src, 40, 0, 0, 4, 1, Buffer.alloc(11))).toThrow(RangeError);
  });

  it('converts a full HD frame to RGB', () => {
    const w = 1920;
    const h = 1080;
    const big = randomFrame(w, h, w * 4, 9);
    const rgb = bgrxToRgb(big, w * 4, 0, 0, w, h);
    expect(rgb).toHaveLength(w * h * 3);
    for (const i of [0, 1, 2, 3, 4, w * h - 1]) {
      expect([rgb[i * 3], rgb[i * 3 + 1], rgb[i * 3 + 2]]).toEqual([big[i * 4 + 2], big[i * 4 + 1], big[i * 4]]);
    }
  });
});

describe('CPIXEL (RFC 6143 §7.7.5)', () => {
  it.each([
    ['32 bpp depth 24 LE, colour in the low 3 bytes', 3, RGB888_LE],
    ['32 bpp depth 24 BE, colour in the low 3 bytes', 3, RGB888_BE],
    ['32 bpp depth 24, colour in the high 3 bytes', 3, pf({ redShift: 24, greenShift: 16, blueShift: 8 })],
    ['32 bpp depth 32', 4, pf({ depth: 32 })],
    ['32 bpp depth 24 spread over all 4 bytes', 4, pf({ redShift: 24, greenShift: 8, blueShift: 0 })],
    ['16 bpp', 2, RGB565_LE],
    ['8 bpp', 1, BGR233],
    ['colour map', 4, pf({ trueColour: false })],
  ])('%s → %i bytes', (_name, size, f) => {
    expect(cpixelSize(f)).toBe(size);
  });

  it('keeps the least significant 3 bytes in the pixel byte order', () => {
    // R=0x12 G=0x34 B=0x56 and R=0xab G=0xcd B=0xef.
    const src = frame(2, [
      [0x12, 0x34, 0x56],
      [0xab, 0xcd, 0xef],
    ]);
    const le = convertRect(src, 8, 0, 0, 2, 1, RGB888_LE);
    expect([...encodeCPixels(le, RGB888_LE)]).toEqual([0x56, 0x34, 0x12, 0xef, 0xcd, 0xab]);
    const be = convertRect(src, 8, 0, 0, 2, 1, RGB888_BE);
    expect([...encodeCPixels(be, RGB888_BE)]).toEqual([0x12, 0x34, 0x56, 0xab, 0xcd, 0xef]);
  });

  it('keeps the most significant 3 bytes when the colour lives there', () => {
    const high = pf({ redShift: 24, greenShift: 16, blueShift: 8 });
    const src = frame(1, [[0x12, 0x34, 0x56]]);
    const le = convertRect(src, 4, 0, 0, 1, 1, high); // value 0x12345600, LE bytes 00 56 34 12
    expect([...le]).toEqual([0x00, 0x56, 0x34, 0x12]);
    expect([...encodeCPixels(le, high)]).toEqual([0x56, 0x34, 0x12]);
    const highBe = { ...high, bigEndian: true };
    const be = convertRect(src, 4, 0, 0, 1, 1, highBe);
    expect([...encodeCPixels(be, highBe)]).toEqual([0x12, 0x34, 0x56]);
  });

  it('passes whole pixels through otherwise', () => {
    const px = Buffer.from([1, 2, 3, 4]);
    expect(encodeCPixels(px, RGB565_LE)).toBe(px);
  });
});

describe('helpers', () => {
  it('bytesPerPixel', () => {
    expect([RGB888_LE, RGB565_LE, BGR233].map(bytesPerPixel)).toEqual([4, 2, 1]);
  });

  it('isBgrxFormat recognises both byte-order spellings of QEMU layout', () => {
    expect(isBgrxFormat(RGB888_LE)).toBe(true);
    expect(isBgrxFormat(pf({ depth: 32 }))).toBe(true);
    expect(isBgrxFormat(pf({ bigEndian: true, redShift: 8, greenShift: 16, blueShift: 24 }))).toBe(true);
    expect(isBgrxFormat(RGB888_BE)).toBe(false);
    expect(isBgrxFormat(RGBX_LE)).toBe(false);
  });
});
