// RemoteFX encoder end to end (MS-RDPRFX 2.2.2 messages, 3.1.8.1 encoding; MS-RDPBCGR 2.2.9.2
// surface commands): the spec's example through the test decoder, header bytes, surface command
// layout, damaged-rect tiling, update splitting, and encode → decode → pixels within the error the
// quantization implies.
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  CMDTYPE_STREAM_SURFACE_BITS,
  DEFAULT_QUANT,
  RemoteFxEncoder,
  SURFACECMD_FRAMEACTION_BEGIN,
  SURFACECMD_FRAMEACTION_END,
  contextProperties,
  encodeHeaderMessages,
  tilesetProperties,
  type QuantValues,
  type RfxRect,
} from '../src/codec/remotefx/index.js';
import { RemoteFxTestDecoder, SPEC_SAMPLE } from './remotefx-decoder.js';
import { seededRandom } from './seeded-random.js';


type ImageKind = 'solid' | 'gradient' | 'text' | 'noise';

/** A BGRX test image of w × h. */
function image(kind: ImageKind, w: number, h: number, seed = 9): Buffer {
  const b = Buffer.alloc(w * h * 4);
  const r = seededRandom(seed);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let R: number;
      let G: number;
      let B: number;
      if (kind === 'solid') [R, G, B] = [30, 144, 255];
      else if (kind === 'gradient') {
        R = Math.round((x * 255) / (w - 1));
        G = Math.round((y * 255) / (h - 1));
        B = Math.round(((x + y) * 255) / (w + h - 2));
      } else if (kind === 'text') {
        // Glyph-like strokes: stems, bars and diagonals in 7×12 cells; dark on white, then
        // yellow on dark blue.
        const on = (x % 7 === 1 && y % 12 < 9) || (y % 12 === 4 && x % 7 < 5) || ((x + y) % 9 === 0 && y % 12 < 9 && x % 7 < 5);
        [R, G, B] = y < h * 0.75 ? (on ? [0, 0, 0] : [255, 255, 255]) : on ? [255, 255, 0] : [20, 40, 90];
      } else [R, G, B] = [Math.floor(r() * 256), Math.floor(r() * 256), Math.floor(r() * 256)];
      const o = (y * w + x) * 4;
      b[o] = B;
      b[o + 1] = G;
      b[o + 2] = R;
    }
  }
  return b;
}

interface ErrorStats {
  max: [number, number, number]; // B, G, R
  mean: number;
}

function compare(a: Buffer, b: Buffer, w: number, rect: RfxRect = { x: 0, y: 0, width: w, height: a.length / 4 / w }): ErrorStats {
  const max: [number, number, number] = [0, 0, 0];
  let sum = 0;
  for (let y = rect.y; y < rect.y + rect.height; y++) {
    for (let x = rect.x; x < rect.x + rect.width; x++) {
      for (let c = 0; c < 3; c++) {
        const d = Math.abs(a[(y * w + x) * 4 + c] - b[(y * w + x) * 4 + c]);
        if (d > max[c]) max[c] = d;
        sum += d;
      }
    }
  }
  return { max, mean: sum / (rect.width * rect.height * 3) };
}

describe("the spec's example (MS-RDPRFX 4.2)", () => {
  it('decodes with the test decoder to the published image within ±1', () => {
    const dec = new RemoteFxTestDecoder(64, 64);
    dec.decodeMessages(SPEC_SAMPLE.header);
    dec.decodeMessages(SPEC_SAMPLE.frame);
    expect(dec.entropy).toBe('rlgr3');
    expect(dec.channel).toEqual({ width: 64, height: 64 });
    const rgb = inflateSync(Buffer.from(SPEC_SAMPLE.imageRgbDeflated, 'base64'));
    for (let i = 0; i < 4096; i++) {
      expect(Math.abs(dec.surface[4 * i + 2] - rgb[3 * i])).toBeLessThanOrEqual(1);
      expect(Math.abs(dec.surface[4 * i + 1] - rgb[3 * i + 1])).toBeLessThanOrEqual(1);
      expect(Math.abs(dec.surface[4 * i] - rgb[3 * i + 2])).toBeLessThanOrEqual(1);
    }
  });

  it('header messages: the example bytes (4.2.2) but for its reserved bit', () => {
    const ours = encodeHeaderMessages({ width: 64, height: 64, entropy: 'rlgr3' });
    const theirs = Buffer.from(SPEC_SAMPLE.header);
    // TS_RFX_CONTEXT.properties is 0xA828 in the example: bit 15 ("r", reserved) set. Ours: 0x2828.
    expect(theirs.readUInt16LE(23)).toBe(0xa828);
    theirs.writeUInt16LE(0x2828, 23);
    expect(ours.equals(theirs)).toBe(true);
    expect(contextProperties({ entropy: 'rlgr3' })).toBe(0x2828);
    // TILESET properties in the example frame (4.2.4.1): 0x5051.
    expect(SPEC_SAMPLE.frame.readUInt16LE(37 + 12)).toBe(tilesetProperties({ entropy: 'rlgr3' }));
    expect(contextProperties({ entropy: 'rlgr1', imageMode: true })).toBe(0x2000 | (1 << 9) | (1 << 5) | (1 << 3) | 2);
  });

  it('re-encodes the published image, decoding close to it', () => {
    const rgb = inflateSync(Buffer.from(SPEC_SAMPLE.imageRgbDeflated, 'base64'));
    const src = Buffer.alloc(64 * 64 * 4);
    for (let i = 0; i < 4096; i++) [src[4 * i + 2], src[4 * i + 1], src[4 * i]] = [rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]];
    const enc = new RemoteFxEncoder({ width: 64, height: 64, entropy: 'rlgr3', codecId: 3 });
    const dec = new RemoteFxTestDecoder(64, 64);
    dec.decodeSurfaceCommands(enc.encodeFrame(src, 256, [{ x: 0, y: 0, width: 64, height: 64 }]));
    const e = compare(dec.surface, src, 64);
    expect(Math.max(...e.max)).toBeLessThanOrEqual(12);
    expect(e.mean).toBeLessThan(2);
  });
});

describe('surface commands', () => {
  it('frame marker BEGIN, STREAM_SURF_BITS (desktop-sized, client codec id), frame marker END', () => {
    const enc = new RemoteFxEncoder({ width: 100, height: 70, entropy: 'rlgr1', codecId: 3 });
    const src = image('gradient', 100, 70);
    const data = enc.encodeFrame(src, 400, [{ x: 10, y: 5, width: 20, height: 20 }]);
    expect(data.readUInt16LE(0)).toBe(0x0004);
    expect(data.readUInt16LE(2)).toBe(SURFACECMD_FRAMEACTION_BEGIN);
    expect(data.readUInt32LE(4)).toBe(0);
    expect(data.readUInt16LE(8)).toBe(CMDTYPE_STREAM_SURFACE_BITS);
    expect([data.readUInt16LE(10), data.readUInt16LE(12), data.readUInt16LE(14), data.readUInt16LE(16)]).toEqual([0, 0, 100, 70]);
    expect([data[18], data[19], data[20], data[21]]).toEqual([32, 0, 0, 3]); // bpp, flags, reserved, codecID
    expect([data.readUInt16LE(22), data.readUInt16LE(24)]).toEqual([100, 70]);
    const len = data.readUInt32LE(26);
    expect(30 + len + 8).toBe(data.length);
    expect(data.readUInt16LE(30)).toBe(0xccc0); // TS_RFX_SYNC opens the first frame's messages
    expect(data.readUInt16LE(30 + len)).toBe(0x0004);
    expect(data.readUInt16LE(30 + len + 2)).toBe(SURFACECMD_FRAMEACTION_END);
    expect(data.readUInt32LE(30 + len + 4)).toBe(0);

    const dec = new RemoteFxTestDecoder(100, 70);
    dec.decodeSurfaceCommands(data);
    expect(dec.frames).toHaveLength(1);
    expect(dec.frames[0].rects).toEqual([{ x: 10, y: 5, width: 20, height: 20 }]);
    expect(dec.frames[0].tiles.map((t) => [t.xIdx, t.yIdx])).toEqual([[0, 0]]);

    // Later frames: no header messages, frameId and frameIdx count up; reset() sends them again.
    const second = enc.encodeFrame(src, 400, [{ x: 60, y: 60, width: 40, height: 10 }]);
    expect(second.readUInt32LE(4)).toBe(1);
    expect(second.readUInt16LE(30)).toBe(0xccc4);
    dec.decodeSurfaceCommands(second);
    expect(dec.frames[1].frameIdx).toBe(1);
    // x 60…99 and y 60…69 touch tile columns 0-1 and rows 0-1.
    expect(dec.frames[1].tiles.map((t) => [t.xIdx, t.yIdx])).toEqual([
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
    ]);
    enc.reset();
    expect(enc.encodeFrame(src, 400, [{ x: 0, y: 0, width: 1, height: 1 }]).readUInt16LE(30)).toBe(0xccc0);
  });

  it('updates only the damaged rectangles, with the tiles that cover them', () => {
    const w = 300;
    const h = 200;
    const enc = new RemoteFxEncoder({ width: w, height: h, entropy: 'rlgr3', codecId: 5 });
    const dec = new RemoteFxTestDecoder(w, h);
    const first = image('gradient', w, h);
    dec.decodeSurfaceCommands(enc.encodeFrame(first, w * 4, [{ x: 0, y: 0, width: w, height: h }]));
    expect(dec.frames[0].tiles).toHaveLength(5 * 4);
    const before = Buffer.from(dec.surface);
    const second = image('noise', w, h);
    const rects = [
      { x: 70, y: 10, width: 30, height: 20 },
      { x: 250, y: 150, width: 100, height: 100 }, // clipped to the desktop
      { x: 400, y: 0, width: 5, height: 5 }, // outside: dropped
    ];
    dec.decodeSurfaceCommands(enc.encodeFrame(second, w * 4, rects));
    const frame = dec.frames[1];
    expect(frame.rects).toEqual([rects[0], { x: 250, y: 150, width: 50, height: 50 }]);
    expect(frame.tiles.map((t) => [t.xIdx, t.yIdx])).toEqual([
      [1, 0],
      [3, 2],
      [4, 2],
      [3, 3],
      [4, 3],
    ]);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const inside = (x >= 70 && x < 100 && y >= 10 && y < 30) || (x >= 250 && y >= 150);
        if (!inside) expect(dec.surface.readUInt32LE((y * w + x) * 4)).toBe(before.readUInt32LE((y * w + x) * 4));
      }
    }
    expect(compare(dec.surface, second, w, frame.rects[0]).mean).toBeLessThan(8);
    expect(() => enc.encodeFrame(second, w * 4, [rects[2]])).toThrow(RangeError);
  });

  it('splits a frame over updates within a size budget, decoding to the same pixels', () => {
    const w = 320;
    const h = 192;
    const src = image('text', w, h);
    const whole = new RemoteFxTestDecoder(w, h);
    whole.decodeSurfaceCommands(new RemoteFxEncoder({ width: w, height: h, entropy: 'rlgr1', codecId: 3 }).encodeFrame(src, w * 4, [{ x: 0, y: 0, width: w, height: h }]));
    const enc = new RemoteFxEncoder({ width: w, height: h, entropy: 'rlgr1', codecId: 3 });
    const updates = enc.encodeFrameUpdates(src, w * 4, [{ x: 0, y: 0, width: w, height: h }], 0x3f80);
    expect(updates.length).toBeGreaterThan(1);
    const split = new RemoteFxTestDecoder(w, h);
    for (const u of updates) {
      expect(u.length).toBeLessThanOrEqual(0x3f80);
      split.decodeSurfaceCommands(u);
    }
    expect(split.markers).toEqual([
      { action: SURFACECMD_FRAMEACTION_BEGIN, frameId: 0 },
      { action: SURFACECMD_FRAMEACTION_END, frameId: 0 },
    ]);
    expect(split.frames.map((f) => f.frameIdx)).toEqual(updates.map((_, i) => i));
    expect(split.frames.reduce((n, f) => n + f.tiles.length, 0)).toBe(15);
    expect(split.surface.equals(whole.surface)).toBe(true);
    expect(enc.last).toEqual({ frameId: 0, rects: [{ x: 0, y: 0, width: w, height: h }], tiles: 15 });
  });

  it('checks its options and inputs', () => {
    expect(() => new RemoteFxEncoder({ width: 0, height: 10, entropy: 'rlgr1', codecId: 3 })).toThrow(RangeError);
    expect(() => new RemoteFxEncoder({ width: 10, height: 10, entropy: 'rlgr1', codecId: 0 })).toThrow(RangeError);
    expect(() => new RemoteFxEncoder({ width: 10, height: 10, entropy: 'rlgr1', codecId: 3, quant: [1, 2] })).toThrow(RangeError);
    const enc = new RemoteFxEncoder({ width: 10, height: 10, entropy: 'rlgr3', codecId: 3 });
    expect(() => enc.encodeFrame(Buffer.alloc(100), 40, [{ x: 0, y: 0, width: 10, height: 10 }])).toThrow(RangeError);
    expect(() => enc.encodeFrame(Buffer.alloc(400), 20, [{ x: 0, y: 0, width: 10, height: 10 }])).toThrow(RangeError);
  });
});

describe('encode → decode error bounds', () => {
  // Measured maxima (B, G, R) on 200×130 images with the default quant (6,6,6,6,7,7,8,8,8,9):
  // solid 0; gradient 6,3,6 (mean 0.69); text-like 28,14,30 (mean 1.35); noise 40,25,31 (mean
  // 5.0). With every factor 6 (finest): gradient 5,2,4; text 6,5,5; noise 9,5,7. The bounds below
  // leave a little room; smooth content stays within a few levels, sharp edges ring.
  const cases: { kind: ImageKind; quant?: QuantValues; max: number; mean: number }[] = [
    { kind: 'solid', max: 0, mean: 0 },
    { kind: 'gradient', max: 8, mean: 1 },
    { kind: 'text', max: 36, mean: 2 },
    { kind: 'noise', max: 48, mean: 6 },
    { kind: 'gradient', quant: [6, 6, 6, 6, 6, 6, 6, 6, 6, 6], max: 6, mean: 1 },
    { kind: 'text', quant: [6, 6, 6, 6, 6, 6, 6, 6, 6, 6], max: 8, mean: 1 },
    { kind: 'noise', quant: [6, 6, 6, 6, 6, 6, 6, 6, 6, 6], max: 12, mean: 1.5 },
  ];
  for (const entropy of ['rlgr1', 'rlgr3'] as const) {
    for (const { kind, quant, max, mean } of cases) {
      it(`${entropy} ${kind} quant ${(quant ?? DEFAULT_QUANT).join('')}: max ≤ ${max}, mean ≤ ${mean}`, () => {
        const w = 200;
        const h = 130;
        const src = image(kind, w, h);
        const enc = new RemoteFxEncoder({ width: w, height: h, entropy, codecId: 3, quant });
        const dec = new RemoteFxTestDecoder(w, h);
        dec.decodeSurfaceCommands(enc.encodeFrame(src, w * 4, [{ x: 0, y: 0, width: w, height: h }]));
        const e = compare(dec.surface, src, w);
        expect(Math.max(...e.max)).toBeLessThanOrEqual(max);
        expect(e.mean).toBeLessThanOrEqual(mean);
      });
    }
  }

  it('takes a separate chroma quant set (two quant sets in the tileset)', () => {
    const w = 128;
    const h = 64;
    const src = image('gradient', w, h);
    const enc = new RemoteFxEncoder({ width: w, height: h, entropy: 'rlgr3', codecId: 3, chromaQuant: [7, 7, 7, 7, 8, 8, 9, 9, 9, 10] });
    const dec = new RemoteFxTestDecoder(w, h);
    dec.decodeSurfaceCommands(enc.encodeFrame(src, w * 4, [{ x: 0, y: 0, width: w, height: h }]));
    expect(dec.frames[0].tiles.map((t) => t.quantIdx)).toEqual([
      [0, 1, 1],
      [0, 1, 1],
    ]);
    expect(Math.max(...compare(dec.surface, src, w).max)).toBeLessThanOrEqual(12);
  });

  it('reads frames with padded rows (stride > width · 4)', () => {
    const w = 90;
    const h = 70;
    const stride = w * 4 + 24;
    const tight = image('gradient', w, h);
    const padded = Buffer.alloc(stride * h, 0xee);
    for (let y = 0; y < h; y++) tight.copy(padded, y * stride, y * w * 4, (y + 1) * w * 4);
    const a = new RemoteFxTestDecoder(w, h);
    a.decodeSurfaceCommands(new RemoteFxEncoder({ width: w, height: h, entropy: 'rlgr1', codecId: 3 }).encodeFrame(tight, w * 4, [{ x: 0, y: 0, width: w, height: h }]));
    const b = new RemoteFxTestDecoder(w, h);
    b.decodeSurfaceCommands(new RemoteFxEncoder({ width: w, height: h, entropy: 'rlgr1', codecId: 3 }).encodeFrame(padded, stride, [{ x: 0, y: 0, width: w, height: h }]));
    expect(b.surface.equals(a.surface)).toBe(true);
  });
});
