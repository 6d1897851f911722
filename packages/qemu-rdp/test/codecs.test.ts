// Bitmap codecs for Bitmap Updates (MS-RDPBCGR 2.2.9.1.1.3.1.2.2, 2.2.9.1.1.3.1.2.4, 3.1.9;
// MS-RDPEGDI 2.2.2.5.1, 3.1.9): golden bytes, and encode → spec decoder → same pixels.
import { describe, expect, it } from 'vitest';
import {
  BITMAP_COMPRESSION,
  MAX_BITMAP_DATA_LENGTH,
  NO_BITMAP_COMPRESSION_HDR,
  alignedBitmapWidth,
  encodeBitmap,
  encodeInterleaved,
  encodePlanar,
  encodeUncompressed,
  interleavedCodec,
  planarCodec,
  selectBitmapCodec,
  uncompressedCodec,
  type BitmapRect,
} from '../src/codec/index.js';
import { decodeInterleaved, decodePlanar, decodeUncompressed, type Pixels } from './bitmap-decoders.js';
import { seededRandom } from './seeded-random.js';

type Rgb = readonly [number, number, number];

/** Deterministic PRNG (mulberry32). */

interface Frame {
  buf: Buffer;
  stride: number;
  rect: BitmapRect;
}

/**
 * A frame holding a width×height image at an offset, with a padded stride, garbage around the
 * rectangle and random X bytes, so the encoders must honour stride, offset and ignore X.
 */
function makeFrame(width: number, height: number, pixel: (x: number, y: number) => Rgb, seed = 1, offset = true): Frame {
  const r = seededRandom(seed);
  const ox = offset ? 3 : 0;
  const oy = offset ? 2 : 0;
  const fw = width + ox + (offset ? 5 : 0);
  const fh = height + oy + (offset ? 1 : 0);
  const stride = fw * 4 + (offset ? 8 : 0);
  const buf = Buffer.alloc(stride * fh);
  for (let i = 0; i < buf.length; i++) buf[i] = (r() * 256) | 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [R, G, B] = pixel(x, y);
      const o = (y + oy) * stride + (x + ox) * 4;
      buf[o] = B;
      buf[o + 1] = G;
      buf[o + 2] = R;
    }
  }
  return { buf, stride, rect: { x: ox, y: oy, width, height } };
}

/** The rectangle's pixels, top-down, as the decoders report them (reference conversion, not PixelConverter). */
function expected(frame: Frame, bpp: number): Pixels {
  const { buf, stride, rect } = frame;
  const out = new Uint32Array(rect.width * rect.height);
  for (let y = 0; y < rect.height; y++) {
    for (let x = 0; x < rect.width; x++) {
      const o = (rect.y + y) * stride + (rect.x + x) * 4;
      const [b, g, r] = [buf[o], buf[o + 1], buf[o + 2]];
      out[y * rect.width + x] =
        bpp === 16
          ? ((r >> 3) << 11) | ((g >> 2) << 5) | (b >> 3)
          : bpp === 15
            ? ((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3)
            : (r << 16) | (g << 8) | b;
    }
  }
  return out;
}

/** Decoded W-wide pixels cropped to the rectangle's width; the padding columns repeat the last pixel. */
function crop(pixels: Pixels, W: number, width: number, height: number): Pixels {
  const out = new Uint32Array(width * height);
  for (let y = 0; y < height; y++) {
    out.set(pixels.subarray(y * W, y * W + width), y * width);
    for (let x = width; x < W; x++) expect(pixels[y * W + x]).toBe(pixels[y * W + width - 1]);
  }
  return out;
}

function expectSamePixels(actual: Pixels, want: Pixels, label: string): void {
  if (actual.length !== want.length) throw new Error(`${label}: ${actual.length} pixels, expected ${want.length}`);
  for (let i = 0; i < want.length; i++) {
    if (actual[i] !== want[i]) {
      throw new Error(`${label}: pixel ${i} is 0x${actual[i].toString(16)}, expected 0x${want[i].toString(16)}`);
    }
  }
}

// ---- Test images -------------------------------------------------------------------------------

type Image = (w: number, h: number, seed: number) => (x: number, y: number) => Rgb;

const randomColour = (r: () => number): Rgb => [(r() * 256) | 0, (r() * 256) | 0, (r() * 256) | 0];

const IMAGES: Record<string, Image> = {
  black: () => () => [0, 0, 0],
  white: () => () => [255, 255, 255],
  solid: (_w, _h, seed) => {
    const c = randomColour(seededRandom(seed));
    return () => c;
  },
  twoColourStripes: (_w, _h, seed) => {
    const r = seededRandom(seed);
    const a = randomColour(r);
    const b = randomColour(r);
    return (x) => ((x >> 2) & 1 ? a : b);
  },
  twoColourChecker: (_w, _h, seed) => {
    const r = seededRandom(seed);
    const a = randomColour(r);
    const b = randomColour(r);
    return (x, y) => ((x + y) & 1 ? a : b);
  },
  horizontalLines: (_w, _h, seed) => {
    const r = seededRandom(seed);
    const a = randomColour(r);
    const b = randomColour(r);
    return (_x, y) => (y % 3 === 0 ? a : b);
  },
  gradient: (w, h) => (x, y) => [Math.floor((x * 255) / Math.max(1, w - 1)), Math.floor((y * 255) / Math.max(1, h - 1)), (x + y) & 255],
  verticalGradient: (_w, h) => (_x, y) => {
    const v = Math.floor((y * 255) / Math.max(1, h - 1));
    return [v, v, 255 - v];
  },
  noise: (_w, _h, seed) => {
    const r = seededRandom(seed);
    return () => randomColour(r);
  },
  palette3: (_w, _h, seed) => {
    const r = seededRandom(seed);
    const cs = [randomColour(r), randomColour(r), randomColour(r)];
    return () => cs[(r() * 3) | 0];
  },
  text: (_w, _h, seed) => {
    // Glyph-like strokes: white background, black or coloured ink in 6×10 cells.
    const r = seededRandom(seed);
    const ink = [[0, 0, 0] as Rgb, randomColour(r)];
    const cells = new Map<string, number>();
    return (x, y) => {
      const key = `${(x / 6) | 0},${(y / 10) | 0}`;
      let glyph = cells.get(key);
      if (glyph === undefined) {
        glyph = (r() * 0xffffffff) >>> 0;
        cells.set(key, glyph);
      }
      const cx = x % 6;
      const cy = y % 10;
      if (cx === 5 || cy >= 8) return [255, 255, 255];
      const on = (glyph >>> ((cx * 3 + cy) % 32)) & 1 && (cx === 0 || cy === 0 || cx === 2 || cy === 4 || cy === 7);
      return on ? ink[glyph & 1] : [255, 255, 255];
    };
  },
  antialiasedText: (_w, _h, seed) => {
    const r = seededRandom(seed);
    return (x, y) => {
      const v = (x * 7 + y * 13) % 11;
      if (v < 6) return [250, 250, 250];
      return r() < 0.5 ? [20, 20, 30] : [128 + ((v * 8) & 63), 128, 140];
    };
  },
  dither: (_w, _h, seed) => {
    const r = seededRandom(seed);
    const a = randomColour(r);
    const b = randomColour(r);
    return (x, y) => ((x + (y >> 3)) & 1 ? a : b);
  },
  desktop: (w, h, seed) => {
    // A window on a gradient: title bar, text, a photo-like noisy block.
    const r = seededRandom(seed);
    return (x, y) => {
      if (y < 6) return [40, 90, 200];
      if (x > w / 2 && y > h / 2) return randomColour(r);
      if ((x + y * 3) % 17 < 2 && y % 9 < 6) return [0, 0, 0];
      return [230, 230, (y * 2) & 255];
    };
  },
};

const SIZES: ReadonlyArray<readonly [number, number]> = [
  [1, 1],
  [3, 7],
  [4, 1],
  [64, 64],
  [65, 3],
  [200, 37],
];

// ---- Tests -------------------------------------------------------------------------------------

describe('width alignment', () => {
  it('rounds TS_BITMAP_DATA.width up to a multiple of 4', () => {
    expect([1, 3, 4, 5, 63, 64, 65].map(alignedBitmapWidth)).toEqual([4, 4, 4, 8, 64, 64, 68]);
  });
});

describe('uncompressed', () => {
  it('writes golden bytes: bottom-up rows, width padded with the last pixel', () => {
    // 3×2: top row red, green, blue; bottom row white, black, grey.
    const top: Rgb[] = [
      [255, 0, 0],
      [0, 255, 0],
      [0, 0, 255],
    ];
    const bottom: Rgb[] = [
      [255, 255, 255],
      [0, 0, 0],
      [0x80, 0x80, 0x80],
    ];
    const f = makeFrame(3, 2, (x, y) => (y === 0 ? top : bottom)[x], 1, false);
    expect([...encodeUncompressed(f.buf, f.stride, f.rect, 24)]).toEqual([
      ...[0xff, 0xff, 0xff, 0, 0, 0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80],
      ...[0, 0, 0xff, 0, 0xff, 0, 0xff, 0, 0, 0xff, 0, 0],
    ]);
    expect([...encodeUncompressed(f.buf, f.stride, f.rect, 16)]).toEqual([
      ...[0xff, 0xff, 0, 0, 0x10, 0x84, 0x10, 0x84],
      ...[0, 0xf8, 0xe0, 0x07, 0x1f, 0, 0x1f, 0],
    ]);
    expect([...encodeUncompressed(f.buf, f.stride, f.rect, 15)]).toEqual([
      ...[0xff, 0x7f, 0, 0, 0x10, 0x42, 0x10, 0x42],
      ...[0, 0x7c, 0xe0, 0x03, 0x1f, 0, 0x1f, 0],
    ]);
    expect([...encodeUncompressed(f.buf, f.stride, f.rect, 32)]).toEqual([
      ...[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0xff, 0x80, 0x80, 0x80, 0xff, 0x80, 0x80, 0x80, 0xff],
      ...[0, 0, 0xff, 0xff, 0, 0xff, 0, 0xff, 0xff, 0, 0, 0xff, 0xff, 0, 0, 0xff],
    ]);
  });

  for (const bpp of [15, 16, 24, 32] as const) {
    it(`round-trips every image and size at ${bpp} bpp`, () => {
      let seed = 10;
      for (const [name, image] of Object.entries(IMAGES)) {
        for (const [w, h] of SIZES) {
          const f = makeFrame(w, h, image(w, h, seed), seed++);
          const data = encodeUncompressed(f.buf, f.stride, f.rect, bpp);
          const W = alignedBitmapWidth(w);
          const got = crop(decodeUncompressed(data, W, h, bpp), W, w, h);
          expectSamePixels(got, expected(f, bpp), `${name} ${w}x${h} @${bpp}`);
        }
      }
    });
  }

  it('also works when the frame is not word-aligned', () => {
    const f = makeFrame(5, 3, IMAGES.noise(5, 3, 3), 3);
    const odd = Buffer.alloc(f.buf.length + 1).subarray(1);
    f.buf.copy(odd);
    for (const bpp of [15, 16, 24, 32] as const) {
      expect(encodeUncompressed(odd, f.stride, f.rect, bpp)).toEqual(encodeUncompressed(f.buf, f.stride, f.rect, bpp));
    }
  });

  it('rejects rectangles outside the frame and empty ones', () => {
    const f = makeFrame(4, 4, IMAGES.black(4, 4, 1), 1, false);
    expect(() => encodeUncompressed(f.buf, f.stride, { x: 1, y: 0, width: 4, height: 1 }, 32)).toThrow(RangeError);
    expect(() => encodeUncompressed(f.buf, f.stride, { x: 0, y: 1, width: 4, height: 4 }, 32)).toThrow(RangeError);
    expect(() => encodeUncompressed(f.buf, f.stride, { x: 0, y: 0, width: 0, height: 4 }, 32)).toThrow(RangeError);
  });
});

describe('interleaved RLE', () => {
  it('writes golden bytes for small bitmaps', () => {
    const black = makeFrame(4, 1, () => [0, 0, 0], 1, false);
    // One background run of 4 (first scanline: black).
    expect([...encodeInterleaved(black.buf, black.stride, black.rect, 16)]).toEqual([0x04]);
    const white = makeFrame(4, 2, () => [255, 255, 255], 1, false);
    // First scanline: colour run of 4 white; second: background run of 4 (no inserted pel at a new line).
    expect([...encodeInterleaved(white.buf, white.stride, white.rect, 16)]).toEqual([0x64, 0xff, 0xff, 0x04]);
    expect([...encodeInterleaved(white.buf, white.stride, white.rect, 24)]).toEqual([0x64, 0xff, 0xff, 0xff, 0x04]);
    // 3 wide: the padding column repeats the last pixel, so still 4 per scanline.
    const three = makeFrame(3, 2, () => [255, 255, 255], 1, false);
    expect([...encodeInterleaved(three.buf, three.stride, three.rect, 16)]).toEqual([0x64, 0xff, 0xff, 0x04]);
    // On the first scanline a black pixel is a one-pixel background run.
    const dot = makeFrame(8, 1, (x) => (x === 3 ? [0, 0, 0] : [0x10, 0x20, 0x30]), 1, false);
    expect([...encodeInterleaved(dot.buf, dot.stride, dot.rect, 24)]).toEqual([0x63, 0x30, 0x20, 0x10, 0x01, 0x64, 0x30, 0x20, 0x10]);
    // Pixels whose XOR with the scanline before is 0 or one colour make an FG/BG image, here across
    // two scanlines, setting the foreground (blue) on the way: masks 0x03 then 0x06.
    const fgbg = makeFrame(8, 3, (x, y) => (y === 2 ? [0, 0, 0] : (y === 1 ? x < 2 : x === 0 || x === 2) ? [0, 0, 0xff] : [0, 0, 0]), 1, false);
    expect([...encodeInterleaved(fgbg.buf, fgbg.stride, fgbg.rect, 16)]).toEqual([0x08, 0xd2, 0x1f, 0x00, 0x03, 0x06]);
  });

  it('inserts no foreground pel across the first-line boundary, and uses it after it', () => {
    // Bottom-up: first scanline black; second scanline black except one red pixel in the middle.
    const f = makeFrame(8, 2, (x, y) => (y === 0 && x === 3 ? [255, 0, 0] : [0, 0, 0]), 1, false);
    const data = encodeInterleaved(f.buf, f.stride, f.rect, 24);
    // BG(8) on line 0; at line 1: BG(3), then set-fg run of 1 red, then BG(4) — or an FG/BG image.
    const { pixels } = decodeInterleaved(data, 8, 2, 24);
    expectSamePixels(pixels, expected(f, 24), 'boundary');
    expect(data[0]).toBe(0x08);
  });

  for (const bpp of [15, 16, 24] as const) {
    it(`round-trips every image and size at ${bpp} bpp`, () => {
      let seed = 100;
      for (const [name, image] of Object.entries(IMAGES)) {
        for (const [w, h] of SIZES) {
          const f = makeFrame(w, h, image(w, h, seed), seed++);
          const data = encodeInterleaved(f.buf, f.stride, f.rect, bpp);
          const W = alignedBitmapWidth(w);
          const { pixels } = decodeInterleaved(data, W, h, bpp);
          expectSamePixels(crop(pixels, W, w, h), expected(f, bpp), `${name} ${w}x${h} @${bpp}`);
          if (bpp === 15) {
            // FreeRDP's 15-bpp white is 0xFFFF: the stream must not depend on it.
            const freerdp = decodeInterleaved(data, W, h, bpp, { white: 0xffff });
            expectSamePixels(crop(freerdp.pixels, W, w, h), expected(f, bpp), `${name} ${w}x${h} @15 (white 0xffff)`);
          }
        }
      }
    });
  }

  it('compresses what it should', () => {
    const size = (name: string, bpp: 15 | 16 | 24): number => {
      const f = makeFrame(64, 64, IMAGES[name](64, 64, 5), 5);
      return encodeInterleaved(f.buf, f.stride, f.rect, bpp).length;
    };
    expect(size('black', 16)).toBeLessThanOrEqual(8);
    expect(size('solid', 24)).toBeLessThanOrEqual(12);
    expect(size('horizontalLines', 16)).toBeLessThan(250);
    expect(size('twoColourStripes', 16)).toBeLessThan(700);
    expect(size('text', 16)).toBeLessThan(64 * 64 * 2 * 0.25);
    // Noise cannot shrink, but colour images keep the overhead to a few header bytes.
    expect(size('noise', 24)).toBeLessThan(64 * 64 * 3 * 1.02);
  });

  it('uses every kind of order on varied content', () => {
    const used = new Set<string>();
    let seed = 7;
    for (const [name, image] of Object.entries(IMAGES)) {
      for (const [w, h] of [...SIZES, [300, 250] as const]) {
        for (const bpp of [16, 24] as const) {
          const f = makeFrame(w, h, image(w, h, seed), seed++);
          const W = alignedBitmapWidth(w);
          const { orders, pixels } = decodeInterleaved(encodeInterleaved(f.buf, f.stride, f.rect, bpp), W, h, bpp);
          expectSamePixels(crop(pixels, W, w, h), expected(f, bpp), `${name} ${w}x${h} @${bpp}`);
          for (const order of Object.keys(orders)) used.add(order);
        }
      }
    }
    for (const order of [
      'REGULAR_BG_RUN',
      'MEGA_MEGA_BG_RUN',
      'REGULAR_FG_RUN',
      'LITE_SET_FG_FG_RUN',
      'REGULAR_FGBG_IMAGE',
      'LITE_SET_FG_FGBG_IMAGE',
      'REGULAR_COLOR_RUN',
      'MEGA_MEGA_COLOR_RUN',
      'REGULAR_COLOR_IMAGE',
      'MEGA_MEGA_COLOR_IMAGE',
      'LITE_DITHERED_RUN',
      'SPECIAL_BLACK',
      'SPECIAL_WHITE',
    ]) {
      expect(used, order).toContain(order);
    }
  });

  it('round-trips random images from a few colours (fuzz)', () => {
    const r = seededRandom(99);
    for (let iter = 0; iter < 300; iter++) {
      const w = 1 + ((r() * 70) | 0);
      const h = 1 + ((r() * 20) | 0);
      const colours = Array.from({ length: 1 + ((r() * 4) | 0) }, () => randomColour(r));
      const runny = r() < 0.5;
      let last = colours[0];
      const img: Rgb[] = [];
      for (let i = 0; i < w * h; i++) {
        if (!runny || r() < 0.2) last = colours[(r() * colours.length) | 0];
        img.push(last);
      }
      const f = makeFrame(w, h, (x, y) => img[y * w + x], iter);
      const bpp = ([15, 16, 24] as const)[iter % 3];
      const W = alignedBitmapWidth(w);
      const { pixels } = decodeInterleaved(encodeInterleaved(f.buf, f.stride, f.rect, bpp), W, h, bpp);
      expectSamePixels(crop(pixels, W, w, h), expected(f, bpp), `fuzz ${iter} ${w}x${h} @${bpp}`);
    }
  });

  it('handles runs and images longer than 65535 pixels', () => {
    for (const name of ['black', 'solid', 'noise', 'twoColourChecker']) {
      const f = makeFrame(400, 300, IMAGES[name](400, 300, 3), 3);
      const data = encodeInterleaved(f.buf, f.stride, f.rect, 24);
      const { pixels } = decodeInterleaved(data, 400, 300, 24);
      expectSamePixels(pixels, expected(f, 24), name);
    }
  });
});

describe('planar', () => {
  it('writes golden bytes: RLE planes with the no-alpha flag', () => {
    const f = makeFrame(4, 1, () => [0x10, 0x20, 0x30], 1, false);
    // FormatHeader RLE|NA; per plane one segment: 1 raw byte, then a run of 3.
    expect([...encodePlanar(f.buf, f.stride, f.rect)]).toEqual([0x30, 0x13, 0x10, 0x13, 0x20, 0x13, 0x30]);
    // Raw planes: header NA, R, G, B planes, pad byte.
    expect([...encodePlanar(f.buf, f.stride, f.rect, { rle: false })]).toEqual([
      0x20,
      ...[0x10, 0x10, 0x10, 0x10],
      ...[0x20, 0x20, 0x20, 0x20],
      ...[0x30, 0x30, 0x30, 0x30],
      0,
    ]);
  });

  it('encodes later rows as sign-magnitude deltas, bottom-up', () => {
    // 4×2, top row R = 5, bottom row R = 3: bottom-up the first row is 3, then the delta +2 → 4.
    const f = makeFrame(4, 2, (_x, y) => [y === 0 ? 5 : 3, 0, 0], 1, false);
    const data = encodePlanar(f.buf, f.stride, f.rect);
    // Red: row 0 = raw 3 + run 3; row 1 = raw 4 (delta +2) + run 3. Green, blue: zeros (runs of 4).
    expect([...data]).toEqual([0x30, 0x13, 0x03, 0x13, 0x04, 0x04, 0x04, 0x04, 0x04]);
    // And a negative delta: top 3, bottom 5 → delta −2 → 3.
    const g = makeFrame(4, 2, (_x, y) => [y === 0 ? 3 : 5, 0, 0], 1, false);
    expect([...encodePlanar(g.buf, g.stride, g.rect)].slice(0, 5)).toEqual([0x30, 0x13, 0x05, 0x13, 0x03]);
  });

  it('uses the long-run escapes and splits raw bytes by 15', () => {
    // One row of 64: 20 distinct values then 44 equal to the last → raw 15, raw 5 + run…
    const f = makeFrame(64, 1, (x) => [x < 20 ? x * 7 : 133, 0, 0], 1, false);
    const data = encodePlanar(f.buf, f.stride, f.rect);
    const red = [...data.subarray(1, 1 + 1 + 15 + 1 + 5 + 1)];
    expect(red[0]).toBe(0xf0);
    expect(red[16]).toBe(0x5f); // 5 raw, run 15
    expect(red[22]).toBe(((44 - 15 - 16) << 4) | 1); // run of 16 + 13 = 29
    expect(decodePlanar(data, 64, 1).pixels[63]).toBe(133 << 16);
  });

  for (const rle of [true, false]) {
    it(`round-trips every image and size (${rle ? 'RLE' : 'raw'} planes, RGB compared)`, () => {
      let seed = 200;
      for (const [name, image] of Object.entries(IMAGES)) {
        for (const [w, h] of SIZES) {
          const f = makeFrame(w, h, image(w, h, seed), seed++);
          const data = encodePlanar(f.buf, f.stride, f.rect, { rle });
          const W = alignedBitmapWidth(w);
          const decoded = decodePlanar(data, W, h);
          expect(decoded.alpha).toBeUndefined();
          if (!rle) expect(decoded.rle).toBe(false);
          expectSamePixels(crop(decoded.pixels, W, w, h), expected(f, 32), `${name} ${w}x${h}`);
        }
      }
    });
  }

  it('falls back to raw planes when RLE does not pay, and uses RLE when it does', () => {
    const noise = makeFrame(64, 64, IMAGES.noise(64, 64, 1), 1);
    const raw = encodePlanar(noise.buf, noise.stride, noise.rect);
    expect(raw[0]).toBe(0x20);
    expect(raw.length).toBe(1 + 3 * 64 * 64 + 1);
    const text = makeFrame(64, 64, IMAGES.text(64, 64, 1), 1);
    const rle = encodePlanar(text.buf, text.stride, text.rect);
    expect(rle[0]).toBe(0x30);
    expect(rle.length).toBeLessThan(3 * 64 * 64 * 0.75);
    const solid = makeFrame(64, 64, IMAGES.solid(64, 64, 1), 1);
    expect(encodePlanar(solid.buf, solid.stride, solid.rect).length).toBeLessThan(3 * 64 * 3);
  });

  it('round-trips random rows of deltas and runs (fuzz)', () => {
    const r = seededRandom(4242);
    for (let iter = 0; iter < 300; iter++) {
      const w = 1 + ((r() * 140) | 0);
      const h = 1 + ((r() * 6) | 0);
      const img: Rgb[] = [];
      let cur = randomColour(r);
      for (let i = 0; i < w * h; i++) {
        const p = r();
        if (p < 0.1) cur = randomColour(r);
        else if (p < 0.2) cur = [(cur[0] + 1) & 255, cur[1], (cur[2] + 255) & 255];
        else if (p < 0.25 && i >= w) cur = img[i - w];
        img.push(cur);
      }
      const f = makeFrame(w, h, (x, y) => img[y * w + x], iter);
      const W = alignedBitmapWidth(w);
      expectSamePixels(crop(decodePlanar(encodePlanar(f.buf, f.stride, f.rect), W, h).pixels, W, w, h), expected(f, 32), `fuzz ${iter}`);
    }
  });
});

describe('encodeBitmap', () => {
  const f = makeFrame(61, 20, IMAGES.text(61, 20, 2), 2);

  it('picks the codec from the session depth and compression support', () => {
    expect(selectBitmapCodec({ bpp: 32, compression: true })).toBe(planarCodec);
    for (const bpp of [15, 16, 24]) expect(selectBitmapCodec({ bpp, compression: true })).toBe(interleavedCodec);
    for (const bpp of [15, 16, 24, 32]) expect(selectBitmapCodec({ bpp, compression: false })).toBe(uncompressedCodec);
    expect(() => selectBitmapCodec({ bpp: 8, compression: true })).toThrow(/8 bpp/);
  });

  it('returns the TS_BITMAP_DATA fields', () => {
    const gradient = makeFrame(61, 20, IMAGES.gradient(61, 20, 2), 2);
    const planar = encodeBitmap(gradient.buf, gradient.stride, gradient.rect, { bpp: 32, compression: true });
    expect(planar).toMatchObject({ width: 64, height: 20, bitsPerPixel: 32, compressed: true, codec: 'planar' });
    expect(planar.flags).toBe(BITMAP_COMPRESSION | NO_BITMAP_COMPRESSION_HDR);
    expect(planar.flags).toBe(0x0401);
    expectSamePixels(crop(decodePlanar(planar.data, 64, 20).pixels, 64, 61, 20), expected(gradient, 32), 'planar');

    const rle = encodeBitmap(f.buf, f.stride, f.rect, { bpp: 16, compression: true });
    expect(rle).toMatchObject({ width: 64, height: 20, bitsPerPixel: 16, compressed: true, flags: 0x0401, codec: 'interleaved' });
    expectSamePixels(crop(decodeInterleaved(rle.data, 64, 20, 16).pixels, 64, 61, 20), expected(f, 16), 'interleaved');

    const raw = encodeBitmap(f.buf, f.stride, f.rect, { bpp: 24, compression: false });
    expect(raw).toMatchObject({ width: 64, height: 20, bitsPerPixel: 24, compressed: false, flags: 0, codec: 'uncompressed' });
    expect(raw.data.length).toBe(64 * 20 * 3);
  });

  it('at 32 bpp sends text and flat areas as 24 bpp interleaved RLE, smaller than planar and the same pixels', () => {
    for (const [name, image] of [
      ['text', IMAGES.text(64, 64, 5)],
      ['palette3', IMAGES.palette3(64, 64, 5)],
      ['horizontalLines', IMAGES.horizontalLines(64, 64, 5)],
    ] as const) {
      const tile = makeFrame(64, 64, image, 5);
      const bitmap = encodeBitmap(tile.buf, tile.stride, tile.rect, { bpp: 32, compression: true });
      expect(bitmap, name).toMatchObject({ bitsPerPixel: 24, compressed: true, flags: 0x0401, codec: 'interleaved' });
      expect(bitmap.data.length, name).toBeLessThan(encodePlanar(tile.buf, tile.stride, tile.rect).length);
      expectSamePixels(decodeInterleaved(bitmap.data, 64, 64, 24).pixels, expected(tile, 32), name);
    }
    // Where planar is smaller it stays planar.
    for (const [name, image] of [
      ['noise', IMAGES.noise(64, 64, 5)],
      ['gradient', IMAGES.gradient(64, 64, 5)],
    ] as const) {
      const tile = makeFrame(64, 64, image, 5);
      const bitmap = encodeBitmap(tile.buf, tile.stride, tile.rect, { bpp: 32, compression: true });
      expect(bitmap, name).toMatchObject({ bitsPerPixel: 32, codec: 'planar' });
      expect(bitmap.data.length, name).toBeLessThanOrEqual(encodeInterleaved(tile.buf, tile.stride, tile.rect, 24).length);
    }
  });

  it('sends noise uncompressed when interleaved RLE would not be smaller', () => {
    const noise = makeFrame(64, 64, IMAGES.noise(64, 64, 8), 8);
    const bitmap = encodeBitmap(noise.buf, noise.stride, noise.rect, { bpp: 24, compression: true });
    expect(bitmap).toMatchObject({ compressed: false, flags: 0, codec: 'uncompressed' });
    expectSamePixels(decodeUncompressed(bitmap.data, 64, 64, 24), expected(noise, 24), 'noise');
  });

  it('refuses bitmaps over the 16-bit bitmapLength and codecs at the wrong depth', () => {
    const big = makeFrame(130, 130, IMAGES.noise(130, 130, 1), 1, false);
    expect(() => encodeBitmap(big.buf, big.stride, big.rect, { bpp: 32, compression: false })).toThrow(
      new RegExp(`${MAX_BITMAP_DATA_LENGTH}`),
    );
    expect(() => interleavedCodec.encode(f.buf, f.stride, f.rect, 32)).toThrow(RangeError);
    expect(() => planarCodec.encode(f.buf, f.stride, f.rect, 16)).toThrow(RangeError);
  });
});
