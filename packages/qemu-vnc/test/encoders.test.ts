import { bgrxToRgb, type PixelFormat } from '@vdi-sidecar/display-core';
import { describe, expect, it } from 'vitest';
import type { EncodeOptions, FramebufferView, Rect, RectEncoder } from '../src/rfb/encoders/encoder.js';
import { HextileEncoder } from '../src/rfb/encoders/hextile.js';
import { createEncoders, negotiateEncodings, SUPPORTED_ENCODINGS } from '../src/rfb/encoders/index.js';
import { RawEncoder } from '../src/rfb/encoders/raw.js';
import {
  encodeCompactLength,
  JPEG_MIN_AREA,
  JPEG_QUALITY,
  splitTightRect,
  TightEncoder,
  tightPaletteLimit,
} from '../src/rfb/encoders/tight.js';
import { TightPngEncoder } from '../src/rfb/encoders/tightpng.js';
import { ZlibEncoder } from '../src/rfb/encoders/zlib.js';
import { ZrleEncoder } from '../src/rfb/encoders/zrle.js';
import {
  colourMask,
  expectedRegion,
  IMAGE_KINDS,
  Inflater,
  makeImage,
  newDecoderState,
  PF_32_BE,
  PF_32_LE,
  PF_332,
  PF_565,
  PIXEL_FORMATS,
  Reader,
  roundTrip,
} from './rfb-decoders.js';

/** Rectangle sizes: a single pixel, sizes off the 16 and 64 grids, and exact tiles. */
const SIZES: Array<[number, number]> = [
  [1, 1],
  [17, 33],
  [100, 70],
  [64, 64],
];

const ENCODERS: Array<[string, () => RectEncoder]> = [
  ['Raw', () => new RawEncoder()],
  ['Hextile', () => new HextileEncoder()],
  ['Zlib', () => new ZlibEncoder()],
  ['ZRLE', () => new ZrleEncoder()],
  ['Tight', () => new TightEncoder()],
  ['TightPNG', () => new TightPngEncoder()],
];

describe.each(ENCODERS)('%s encoder', (name, make) => {
  it.each(PIXEL_FORMATS)('decodes back to exactly the source pixels at %s', async (_label, pf) => {
    // One encoder and one decoder for every image, so zlib streams carry across rectangles.
    const encoder = make();
    const state = newDecoderState();
    let seed = 1;
    for (const [w, h] of SIZES) {
      for (const kind of IMAGE_KINDS) {
        // The rectangle sits inside a larger framebuffer, away from its origin.
        const fb = makeImage(w + 5, h + 3, kind, seed++);
        const rect = { x: 3, y: 2, w, h };
        const { canvas } = await roundTrip(encoder, fb, rect, { pixelFormat: pf }, state);
        expect(canvas.region(rect, colourMask(pf)), `${name} ${kind} ${w}x${h}`).toEqual(expectedRegion(fb, rect, pf));
      }
    }
    encoder.close();
  });

  it('writes nothing for an empty rectangle', async () => {
    const out: Buffer[] = [];
    expect(await make().encode(makeImage(4, 4, 'solid'), { x: 1, y: 1, w: 0, h: 3 }, { pixelFormat: PF_32_LE }, out)).toBe(0);
    expect(out).toEqual([]);
  });

  it('refuses a rectangle outside the framebuffer', async () => {
    const encode = async (): Promise<number> =>
      make().encode(makeImage(4, 4, 'solid'), { x: 2, y: 0, w: 3, h: 1 }, { pixelFormat: PF_32_LE }, []);
    await expect(encode()).rejects.toThrow(RangeError);
  });
});

describe('zlib streams under load', () => {
  // Megabytes of incompressible data make zlib emit many chunks per flush: all of them must
  // be in the rectangle, in order, for the client's inflater to follow.
  it.each([
    ['Zlib', () => new ZlibEncoder()],
    ['ZRLE', () => new ZrleEncoder()],
    ['Tight', () => new TightEncoder()],
  ])('%s decodes a 512×512 noisy rectangle twice in a row', async (_name, make) => {
    const encoder = make();
    const state = newDecoderState();
    const rect = { x: 0, y: 0, w: 512, h: 512 };
    for (const seed of [7, 8]) {
      const fb = makeImage(512, 512, 'noisy', seed);
      const { canvas } = await roundTrip(encoder, fb, rect, { pixelFormat: PF_32_BE, compressLevel: 1 }, state);
      expect(canvas.region(rect, colourMask(PF_32_BE))).toEqual(expectedRegion(fb, rect, PF_32_BE));
    }
    encoder.close();
  });
});

describe('Raw (RFC 6143 §7.7.1)', () => {
  it('writes the header and the pixels in the client format', () => {
    const fb = makeImage(2, 1, 'solid');
    fb.data.set([0x11, 0x22, 0x33, 0xee, 0x44, 0x55, 0x66, 0xee]); // B,G,R,X ×2
    const out: Buffer[] = [];
    expect(new RawEncoder().encode(fb, { x: 0, y: 0, w: 2, h: 1 }, { pixelFormat: PF_565 }, out)).toBe(1);
    expect(Buffer.concat(out)).toEqual(
      Buffer.from([
        0x00, 0x00, // x-position
        0x00, 0x00, // y-position
        0x00, 0x02, // width
        0x00, 0x01, // height
        0x00, 0x00, 0x00, 0x00, // encoding-type 0 (Raw)
        0x02, 0x31, // R 0x33→6, G 0x22→8, B 0x11→2: 0x3102, little-endian
        0xa8, 0x62, // R 0x66→12, G 0x55→21, B 0x44→8: 0x62a8
      ]),
    );
  });
});

describe('Hextile (RFC 6143 §7.7.4)', () => {
  it('sends a solid area as one background, then one mask byte per tile', () => {
    const fb = makeImage(32, 16, 'solid'); // two tiles of 0x3366cc
    const out: Buffer[] = [];
    new HextileEncoder().encode(fb, { x: 0, y: 0, w: 32, h: 16 }, { pixelFormat: PF_32_BE }, out);
    expect(out[1]).toEqual(
      Buffer.from([
        0x02, // tile 1: BackgroundSpecified
        0x00, 0x33, 0x66, 0xcc, // background pixel, 32 bpp big-endian 0x00336699cc
        0x00, // tile 2: same background, no subrects
      ]),
    );
  });

  it('uses a foreground and plain subrects for two colours', () => {
    const fb = makeImage(16, 16, 'solid');
    // A 3×2 block of 0x000000 at (4, 5).
    for (let y = 5; y < 7; y++) for (let x = 4; x < 7; x++) fb.data.writeUInt32LE(0, (y * 16 + x) * 4);
    const out: Buffer[] = [];
    new HextileEncoder().encode(fb, { x: 0, y: 0, w: 16, h: 16 }, { pixelFormat: PF_332 }, out);
    expect(out[1]).toEqual(
      Buffer.from([
        0x0e, // BackgroundSpecified | ForegroundSpecified | AnySubrects
        0x2f, // background 0x3366cc in 3:3:2 (R 1, G 3, B 3)
        0x00, // foreground black
        0x01, // number-of-subrectangles
        0x45, // x 4, y 5
        0x21, // width 3, height 2 (each minus one)
      ]),
    );
  });

  it('falls back to raw for noise, and re-specifies the background after it', async () => {
    const fb = makeImage(32, 16, 'noisy');
    // Second tile solid: after a raw tile its background must be sent again.
    for (let y = 0; y < 16; y++) for (let x = 16; x < 32; x++) fb.data.writeUInt32LE(0x123456, (y * 32 + x) * 4);
    const { bytes } = await roundTrip(new HextileEncoder(), fb, { x: 0, y: 0, w: 32, h: 16 }, { pixelFormat: PF_32_LE });
    const data = bytes.subarray(12);
    expect(data[0]).toBe(0x01); // Raw
    expect(data[1 + 16 * 16 * 4]).toBe(0x02); // BackgroundSpecified
  });
});

describe('ZRLE (RFC 6143 §7.7.6)', () => {
  const payload = (bytes: Buffer): Buffer => new Inflater().inflate(bytes.subarray(16));

  it('sends a solid tile as subencoding 1 and a 3-byte CPIXEL', async () => {
    const { bytes } = await roundTrip(new ZrleEncoder(), makeImage(3, 2, 'solid'), { x: 0, y: 0, w: 3, h: 2 }, { pixelFormat: PF_32_LE });
    expect(bytes.readInt32BE(8)).toBe(16); // encoding-type ZRLE
    expect(bytes.readUInt32BE(12)).toBe(bytes.length - 16); // length of the zlib data
    expect(payload(bytes)).toEqual(Buffer.from([0x01, 0xcc, 0x66, 0x33])); // solid, CPIXEL B,G,R
  });

  it('packs a two-colour tile with 1-bit indices', async () => {
    const fb = makeImage(8, 1, 'solid');
    fb.data.writeUInt32LE(0x000000, 0); // pixel 0 black, the rest 0x3366cc
    const { bytes } = await roundTrip(new ZrleEncoder(), fb, { x: 0, y: 0, w: 8, h: 1 }, { pixelFormat: PF_332 });
    // Candidates: raw 9, plain RLE 5, packed 4, palette RLE 5 → packed palette wins.
    expect(payload(bytes)).toEqual(
      Buffer.from([
        0x02, // packed palette of 2
        0x2f, 0x00, // palette: 0x3366cc (most frequent) then black
        0b1000_0000, // pixel 0 is index 1, the others index 0
      ]),
    );
  });

  it('uses palette RLE for long runs of few colours', async () => {
    const fb = makeImage(64, 64, 'solid');
    for (const row of [20, 40]) for (let x = 0; x < 64; x++) fb.data.writeUInt32LE(0xffffff, (row * 64 + x) * 4);
    const { bytes } = await roundTrip(new ZrleEncoder(), fb, { x: 0, y: 0, w: 64, h: 64 }, { pixelFormat: PF_32_LE });
    // Runs of 1280, 64, 1216, 64, 1472 pixels: palette RLE takes 31 bytes, plain RLE 35.
    expect(payload(bytes)).toEqual(
      Buffer.from([
        130, // palette RLE with 2 colours
        0xcc, 0x66, 0x33, 0xff, 0xff, 0xff, // palette CPIXELs
        0x80, 255, 255, 255, 255, 255, 4, // index 0, run 1280 = 5×255 + 4 + 1
        0x81, 63, // index 1, run 64
        0x80, 255, 255, 255, 255, 195, // index 0, run 1216 = 4×255 + 195 + 1
        0x81, 63, // index 1, run 64
        0x80, 255, 255, 255, 255, 255, 196, // index 0, run 1472 = 5×255 + 196 + 1
      ]),
    );
  });

  it('keeps one zlib stream across rectangles and compression levels', async () => {
    const encoder = new ZrleEncoder();
    const state = newDecoderState();
    const fb = makeImage(80, 40, 'mixed');
    for (const compressLevel of [undefined, 9, 9, 1, 6]) {
      const rect = { x: 5, y: 3, w: 70, h: 30 };
      const { canvas } = await roundTrip(encoder, fb, rect, { pixelFormat: PF_565, compressLevel }, state);
      expect(canvas.region(rect, colourMask(PF_565))).toEqual(expectedRegion(fb, rect, PF_565));
    }
    encoder.close();
  });
});

describe('Tight (rfbproto "Tight Encoding")', () => {
  it('encodes compact lengths as the spec describes', () => {
    expect(encodeCompactLength(10000)).toEqual(Buffer.from([0x90, 0x4e])); // the spec's example
    expect(encodeCompactLength(127)).toEqual(Buffer.from([0x7f]));
    expect(encodeCompactLength(128)).toEqual(Buffer.from([0x80, 0x01]));
    expect(encodeCompactLength(16383)).toEqual(Buffer.from([0xff, 0x7f]));
    expect(encodeCompactLength(16384)).toEqual(Buffer.from([0x80, 0x80, 0x01]));
    expect(encodeCompactLength(4194303)).toEqual(Buffer.from([0xff, 0xff, 0xff]));
    expect(() => encodeCompactLength(4194304)).toThrow(RangeError);
    for (const n of [0, 1, 300, 65535, 1 << 20]) expect(new Reader(encodeCompactLength(n)).compactLength()).toBe(n);
  });

  it('fills a solid rectangle with one 3-byte TPIXEL', async () => {
    const { bytes } = await roundTrip(new TightEncoder(), makeImage(4, 4, 'solid'), { x: 0, y: 0, w: 4, h: 4 }, { pixelFormat: PF_32_LE });
    expect(bytes).toEqual(
      Buffer.from([
        0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x04, // x, y, width, height
        0x00, 0x00, 0x00, 0x07, // encoding-type 7 (Tight)
        0x80, // compression-control: FillCompression, no resets
        0x33, 0x66, 0xcc, // TPIXEL R, G, B
      ]),
    );
  });

  it('uses a client PIXEL as TPIXEL when the format is not 24-bit colour', async () => {
    const { bytes } = await roundTrip(new TightEncoder(), makeImage(2, 2, 'solid'), { x: 0, y: 0, w: 2, h: 2 }, { pixelFormat: PF_565 });
    expect(bytes.subarray(12)).toEqual(Buffer.from([0x80, 0x39, 0x33])); // fill, 0x3339 little-endian
  });

  it('sends two colours as a mono bitmap, uncompressed when under 12 bytes', async () => {
    const fb = makeImage(8, 2, 'solid');
    fb.data.writeUInt32LE(0xffffff, 0); // top-left pixel white
    const { bytes, state } = await roundTrip(new TightEncoder(), fb, { x: 0, y: 0, w: 8, h: 2 }, { pixelFormat: PF_32_LE });
    expect(bytes.subarray(12)).toEqual(
      Buffer.from([
        0x50, // BasicCompression, stream 1, read-filter-id
        0x01, // PaletteFilter
        0x01, // two colours
        0x33, 0x66, 0xcc, 0xff, 0xff, 0xff, // palette TPIXELs: background first
        0x80, 0x00, // 1-bit rows, 2 bytes < 12: sent as is
      ]),
    );
    expect(state.log[0].method).toBe('mono/1');
  });

  it('classifies content: palette, indexed, full colour, JPEG', async () => {
    const cases: Array<[string, Parameters<typeof makeImage>[2], EncodeOptions, string]> = [
      ['text', 'two', { pixelFormat: PF_32_LE }, 'mono/1'],
      ['16 colours', 'sixteen', { pixelFormat: PF_32_LE }, 'indexed/2'],
      ['noise', 'noisy', { pixelFormat: PF_32_LE }, 'copy/0'],
      ['noise, quality 5', 'noisy', { pixelFormat: PF_32_LE, qualityLevel: 5 }, 'jpeg'],
      ['noise at 16 bpp, quality 5', 'noisy', { pixelFormat: PF_565, qualityLevel: 5 }, 'jpeg'],
      // rfbproto: no JPEG for 8 bpp clients, whatever the quality level.
      ['noise at 8 bpp, quality 5', 'noisy', { pixelFormat: PF_332, qualityLevel: 5 }, 'indexed/2'],
    ];
    for (const [label, kind, opts, method] of cases) {
      const { state } = await roundTrip(new TightEncoder(), makeImage(64, 64, kind), { x: 0, y: 0, w: 64, h: 64 }, opts);
      expect(state.log.map((e) => e.method), label).toEqual([method]);
    }
  });

  it('keeps small areas lossless even with a quality level', async () => {
    const { state } = await roundTrip(new TightEncoder(), makeImage(31, 32, 'noisy'), { x: 0, y: 0, w: 31, h: 32 }, {
      pixelFormat: PF_32_LE,
      qualityLevel: 9,
    });
    expect(31 * 32).toBeLessThan(JPEG_MIN_AREA);
    expect(state.log.map((e) => e.method)).toEqual(['copy/0']);
  });

  it("limits palettes as TigerVNC's EncodeManager does", () => {
    expect(tightPaletteLimit(4096, undefined, false)).toBe(256); // 4096 / 16
    expect(tightPaletteLimit(1024, 2, false)).toBe(64); // 1024 / 16
    expect(tightPaletteLimit(1024, 9, false)).toBe(14); // 1024 / 72
    expect(tightPaletteLimit(10, 0, false)).toBe(2); // 10 / 4, at least 2
    expect(tightPaletteLimit(4096, undefined, true)).toBe(96);
    expect(tightPaletteLimit(4096, 1, true)).toBe(24);
  });

  it('splits rectangles to 2048 pixels wide and 65,536 pixels', async () => {
    expect(splitTightRect({ x: 0, y: 0, w: 2100, h: 40 })).toEqual([
      { x: 0, y: 0, w: 2048, h: 32 },
      { x: 2048, y: 0, w: 52, h: 32 },
      { x: 0, y: 32, w: 2048, h: 8 },
      { x: 2048, y: 32, w: 52, h: 8 },
    ]);
    const fb = makeImage(300, 300, 'mixed');
    const rect = { x: 0, y: 0, w: 300, h: 300 };
    const { canvas, count, state } = await roundTrip(new TightEncoder(), fb, rect, { pixelFormat: PF_32_BE });
    expect(count).toBe(2);
    for (const { rect: piece } of state.log) expect(piece.w * piece.h).toBeLessThanOrEqual(65536);
    expect(canvas.region(rect, colourMask(PF_32_BE))).toEqual(expectedRegion(fb, rect, PF_32_BE));
  });

  it('tells the client to reset all four streams after reset()', async () => {
    const encoder = new TightEncoder();
    const state = newDecoderState();
    const fb = makeImage(40, 40, 'noisy');
    const rect = { x: 0, y: 0, w: 40, h: 40 };
    const first = await roundTrip(encoder, fb, rect, { pixelFormat: PF_32_LE }, state);
    expect(first.bytes[12] & 0x0f).toBe(0);
    encoder.reset();
    const second = await roundTrip(encoder, fb, rect, { pixelFormat: PF_32_LE }, state);
    expect(second.bytes[12] & 0x0f).toBe(0x0f);
    expect(second.canvas.region(rect, colourMask(PF_32_LE))).toEqual(expectedRegion(fb, rect, PF_32_LE));
    const third = await roundTrip(encoder, fb, rect, { pixelFormat: PF_32_LE }, state);
    expect(third.bytes[12] & 0x0f).toBe(0);
    encoder.close();
  });
});

/** Mean absolute difference per channel between the JPEG's pixels and the source. */
function meanError(fb: FramebufferView, rect: Rect, rgb: Buffer): number {
  const source = bgrxToRgb(fb.data, fb.stride, rect.x, rect.y, rect.w, rect.h);
  let sum = 0;
  for (let i = 0; i < source.length; i++) sum += Math.abs(source[i] - rgb[i]);
  return sum / source.length;
}

/** A smooth, photo-like image with too many colours for a palette. */
function photo(width: number, height: number): FramebufferView {
  const fb = makeImage(width, height, 'gradient');
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * 4;
      fb.data[at] = (128 + 100 * Math.sin(x / 7) * Math.cos(y / 5)) & 0xff;
    }
  }
  return fb;
}

describe('Tight JPEG', () => {
  it.each([
    [9, 3],
    [5, 6],
    [0, 20],
  ])('at quality level %i stays within a mean error of %i', async (qualityLevel, limit) => {
    const fb = photo(128, 96);
    const rect = { x: 0, y: 0, w: 128, h: 96 };
    for (const pixelFormat of [PF_32_LE, PF_565]) {
      for (const encoder of [new TightEncoder(), new TightPngEncoder()]) {
        const { state } = await roundTrip(encoder, fb, rect, { pixelFormat, qualityLevel });
        expect(state.jpegs).toHaveLength(1);
        expect(meanError(fb, rect, state.jpegs[0].rgb)).toBeLessThan(limit);
      }
    }
  });

  it("maps quality levels to TigerVNC's JPEG qualities", () => {
    expect(JPEG_QUALITY).toEqual([15, 29, 41, 42, 62, 77, 79, 86, 92, 100]);
  });
});

describe('TightPNG (rfbproto "Tight PNG Encoding")', () => {
  it('never uses BasicCompression: PNG for palettes and full colour without a quality level', async () => {
    for (const kind of ['two', 'sixteen', 'noisy'] as const) {
      const { state } = await roundTrip(new TightPngEncoder(), makeImage(64, 64, kind), { x: 0, y: 0, w: 64, h: 64 }, { pixelFormat: PF_32_LE });
      expect(state.log.map((e) => e.method)).toEqual(['png']);
    }
  });
});

describe('encoder registry', () => {
  it("takes the client's first supported encoding, as QEMU does", () => {
    const prefs = negotiateEncodings([-239, 99, 16, 7, -23, -250, -30]);
    expect(prefs.encoding).toBe(16);
    expect(prefs.qualityLevel).toBe(9); // -23 is the first quality level listed
    expect(prefs.compressLevel).toBe(6); // -250 = -256 + 6
    expect(prefs.requested.has(-239)).toBe(true);
    expect(negotiateEncodings([1, 2, 99]).encoding).toBe(0); // CopyRect, RRE, unknown → Raw
    expect(negotiateEncodings([]).qualityLevel).toBeUndefined();
  });

  it('makes each encoder once per client, on demand', () => {
    const set = createEncoders();
    for (const encoding of SUPPORTED_ENCODINGS) {
      expect(set.get(encoding).encoding).toBe(encoding);
      expect(set.get(encoding)).toBe(set.get(encoding));
    }
    expect(createEncoders().get(7)).not.toBe(set.get(7));
    expect(() => set.get(1)).toThrow(RangeError);
    set.reset();
    set.close();
  });
});

describe('pixel formats of the tests', () => {
  it('cover 32 bpp LE/BE, 16 bpp 565 and 8 bpp 332', () => {
    const formats: PixelFormat[] = PIXEL_FORMATS.map(([, pf]) => pf);
    expect(formats.map((pf) => pf.bitsPerPixel)).toEqual([32, 32, 32, 16, 16, 8]);
  });
});
