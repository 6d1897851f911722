// Small RFB decoders written from the specifications (RFC 6143 §7.7, rfbproto "Tight
// Encoding", "Tight PNG Encoding") to check the encoders: decode their output onto a canvas
// of pixel values in the client's format and compare with the source. They follow the spec
// text, not the encoders, and throw on anything the spec forbids.
import { inflateSync, constants as zlibConstants } from 'node:zlib';
import { convertRect, type PixelFormat } from '@vdi-sidecar/display-core';
import sharp from 'sharp';
import type { EncodeOptions, FramebufferView, Rect, RectEncoder } from '../src/rfb/encoders/encoder.js';

// ---------------------------------------------------------------------------------------
// Pixel formats used by the tests

export const PF_32_LE: PixelFormat = {
  bitsPerPixel: 32, depth: 24, bigEndian: false, trueColour: true,
  redMax: 255, greenMax: 255, blueMax: 255, redShift: 16, greenShift: 8, blueShift: 0,
};
export const PF_32_BE: PixelFormat = { ...PF_32_LE, bigEndian: true };
/** 32 bpp with red in the low byte (as many X11 visuals), big-endian. */
export const PF_32_BE_RGB: PixelFormat = { ...PF_32_LE, bigEndian: true, redShift: 0, greenShift: 8, blueShift: 16 };
export const PF_565: PixelFormat = {
  bitsPerPixel: 16, depth: 16, bigEndian: false, trueColour: true,
  redMax: 31, greenMax: 63, blueMax: 31, redShift: 11, greenShift: 5, blueShift: 0,
};
export const PF_565_BE: PixelFormat = { ...PF_565, bigEndian: true };
export const PF_332: PixelFormat = {
  bitsPerPixel: 8, depth: 8, bigEndian: false, trueColour: true,
  redMax: 7, greenMax: 7, blueMax: 3, redShift: 5, greenShift: 2, blueShift: 0,
};

export const PIXEL_FORMATS: Array<[string, PixelFormat]> = [
  ['32bpp LE', PF_32_LE],
  ['32bpp BE', PF_32_BE],
  ['32bpp BE red-low', PF_32_BE_RGB],
  ['16bpp 565', PF_565],
  ['16bpp 565 BE', PF_565_BE],
  ['8bpp 332', PF_332],
];

/** The bits of a pixel value that carry colour; the rest (X, padding) is undefined. */
export function colourMask(pf: PixelFormat): number {
  return ((pf.redMax * 2 ** pf.redShift) | (pf.greenMax * 2 ** pf.greenShift) | (pf.blueMax * 2 ** pf.blueShift)) >>> 0;
}

// ---------------------------------------------------------------------------------------
// Test images: B,G,R,X frames whose X bytes are garbage, as QEMU's may be

export type ImageKind = 'solid' | 'two' | 'sixteen' | 'noisy' | 'gradient' | 'mixed';
export const IMAGE_KINDS: ImageKind[] = ['solid', 'two', 'sixteen', 'noisy', 'gradient', 'mixed'];

/** A deterministic pseudo-random generator (xorshift32). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

export function makeImage(width: number, height: number, kind: ImageKind, seed = 1): FramebufferView {
  const stride = width * 4;
  const data = Buffer.alloc(stride * height);
  const next = rng(seed);
  const sixteen = Array.from({ length: 16 }, () => next() & 0xffffff);
  const set = (x: number, y: number, rgb: number): void => {
    const at = y * stride + x * 4;
    data[at] = rgb & 0xff; // B
    data[at + 1] = (rgb >> 8) & 0xff; // G
    data[at + 2] = (rgb >> 16) & 0xff; // R
    data[at + 3] = next() & 0xff; // X: undefined
  };
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let rgb: number;
      switch (kind) {
        case 'solid':
          rgb = 0x3366cc;
          break;
        case 'two':
          // Text-like: glyph strokes on a background.
          rgb = (x * 7 + y * 3) % 11 < 3 || (x % 9 === 4 && y % 5 !== 0) ? 0x101010 : 0xf0f0e0;
          break;
        case 'sixteen':
          rgb = sixteen[(Math.floor(x / 3) + Math.floor(y / 2) * 5) % 16];
          break;
        case 'noisy':
          rgb = next() & 0xffffff;
          break;
        case 'gradient':
          rgb = (((x * 255) / Math.max(1, width - 1)) << 16) | (((y * 255) / Math.max(1, height - 1)) << 8) | ((x + y) & 0xff);
          break;
        case 'mixed':
          // A window: solid background, a photo-like area, a few-colour title bar.
          if (y < 10) rgb = x % 13 < 6 ? 0x2050a0 : 0xffffff;
          else if (x > width / 3 && y > height / 3) rgb = ((x * y) ^ (next() & 0x0f0f0f)) & 0xffffff;
          else rgb = 0xd0d0d0;
          break;
      }
      set(x, y, rgb);
    }
  }
  return { data, stride, width, height };
}

// ---------------------------------------------------------------------------------------
// Reading

export class Reader {
  pos = 0;

  constructor(readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  bytes(n: number): Buffer {
    if (n > this.remaining) throw new Error(`truncated: need ${n} bytes, have ${this.remaining}`);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  u8(): number {
    return this.bytes(1)[0];
  }

  u16(): number {
    return this.bytes(2).readUInt16BE(0);
  }

  u32(): number {
    return this.bytes(4).readUInt32BE(0);
  }

  s32(): number {
    return this.bytes(4).readInt32BE(0);
  }

  /** A PIXEL in `pf` (RFC 6143 §7.4) as its value. */
  pixel(pf: PixelFormat): number {
    const b = this.bytes(pf.bitsPerPixel >> 3);
    if (b.length === 1) return b[0];
    if (b.length === 2) return pf.bigEndian ? b.readUInt16BE(0) : b.readUInt16LE(0);
    return pf.bigEndian ? b.readUInt32BE(0) : b.readUInt32LE(0);
  }

  /**
   * A CPIXEL (RFC 6143 §7.7.5/§7.7.6): 3 bytes for true-colour 32 bpp with depth ≤ 24 when
   * the colour bits fit in the least (by convention, first choice) or most significant 3
   * bytes of the value; those bytes keep the pixel's byte order.
   */
  cpixel(pf: PixelFormat): number {
    const layout = cpixelLayout(pf);
    if (layout === 'whole') return this.pixel(pf);
    const [b0, b1, b2] = this.bytes(3);
    const be = (b0 << 16) | (b1 << 8) | b2;
    const le = b0 | (b1 << 8) | (b2 << 16);
    const lsValue = pf.bigEndian ? be : le;
    return (layout === 'ls' ? lsValue : lsValue * 256) >>> 0;
  }

  /** Tight's compact length (rfbproto "JpegCompression"). */
  compactLength(): number {
    let b = this.u8();
    let length = b & 0x7f;
    if (b & 0x80) {
      b = this.u8();
      length |= (b & 0x7f) << 7;
      if (b & 0x80) length |= this.u8() << 14;
    }
    return length;
  }
}

export function cpixelLayout(pf: PixelFormat): 'whole' | 'ls' | 'ms' {
  if (!pf.trueColour || pf.bitsPerPixel !== 32 || pf.depth > 24) return 'whole';
  const mask = colourMask(pf);
  if (mask < 2 ** 24) return 'ls';
  if ((mask & 0xff) === 0) return 'ms';
  return 'whole';
}

/** A Tight TPIXEL: R,G,B bytes for 32 bpp depth 24 with 8-bit channels, else a PIXEL. */
function readTPixel(r: Reader, pf: PixelFormat): number {
  if (pf.trueColour && pf.bitsPerPixel === 32 && pf.depth === 24 && pf.redMax === 255 && pf.greenMax === 255 && pf.blueMax === 255) {
    const [red, green, blue] = r.bytes(3);
    return ((red << pf.redShift) | (green << pf.greenShift) | (blue << pf.blueShift)) >>> 0;
  }
  return r.pixel(pf);
}

// ---------------------------------------------------------------------------------------
// The client's framebuffer

export class Canvas {
  readonly values: Uint32Array;
  /** 1 where a rectangle painted the pixel. */
  readonly painted: Uint8Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.values = new Uint32Array(width * height);
    this.painted = new Uint8Array(width * height);
  }

  set(x: number, y: number, value: number): void {
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) throw new Error(`pixel ${x},${y} outside the canvas`);
    this.values[y * this.width + x] = value;
    this.painted[y * this.width + x] = 1;
  }

  fill(x: number, y: number, w: number, h: number, value: number): void {
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) this.set(x + i, y + j, value);
  }

  /** The values of `rect`, masked to their colour bits. */
  region(rect: Rect, mask: number): number[] {
    const out: number[] = [];
    for (let j = 0; j < rect.h; j++) {
      for (let i = 0; i < rect.w; i++) {
        const at = (rect.y + j) * this.width + rect.x + i;
        if (!this.painted[at]) throw new Error(`pixel ${rect.x + i},${rect.y + j} was never painted`);
        out.push((this.values[at] & mask) >>> 0);
      }
    }
    return out;
  }
}

/** What a lossless encoder must reproduce: the source converted by display-core, masked. */
export function expectedRegion(fb: FramebufferView, rect: Rect, pf: PixelFormat): number[] {
  const bytes = convertRect(fb.data, fb.stride, rect.x, rect.y, rect.w, rect.h, pf);
  const r = new Reader(bytes);
  const mask = colourMask(pf);
  const out: number[] = [];
  for (let i = 0; i < rect.w * rect.h; i++) out.push((r.pixel(pf) & mask) >>> 0);
  return out;
}

/** Paints decoded R,G,B pixels, converted to the client's format the way the server converts. */
function paintRgb(canvas: Canvas, rect: Rect, rgb: Buffer, pf: PixelFormat): void {
  const bgrx = Buffer.alloc(rect.w * rect.h * 4);
  for (let i = 0; i < rect.w * rect.h; i++) {
    bgrx[i * 4] = rgb[i * 3 + 2];
    bgrx[i * 4 + 1] = rgb[i * 3 + 1];
    bgrx[i * 4 + 2] = rgb[i * 3];
  }
  const r = new Reader(convertRect(bgrx, rect.w * 4, 0, 0, rect.w, rect.h, pf));
  for (let j = 0; j < rect.h; j++) for (let i = 0; i < rect.w; i++) canvas.set(rect.x + i, rect.y + j, r.pixel(pf));
}

// ---------------------------------------------------------------------------------------
// zlib streams as a client keeps them

/**
 * One client-side inflater. Each rectangle's data ends on a sync flush, so the stream so far
 * always inflates completely; the new bytes are what follows the ones already consumed.
 */
export class Inflater {
  private chunks: Buffer[] = [];
  private consumed = 0;

  inflate(data: Buffer): Buffer {
    this.chunks.push(data);
    const all = inflateSync(Buffer.concat(this.chunks), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    const fresh = all.subarray(this.consumed);
    this.consumed = all.length;
    return fresh;
  }

  reset(): void {
    this.chunks = [];
    this.consumed = 0;
  }
}

export interface DecoderState {
  zlib: Inflater;
  zrle: Inflater;
  tight: Inflater[];
  /** Decoded R,G,B of every JPEG rectangle, for the lossy checks. */
  jpegs: Array<{ rect: Rect; rgb: Buffer }>;
  /** Rectangles seen, with their encodings and Tight/TightPNG methods. */
  log: Array<{ rect: Rect; encoding: number; method?: string }>;
}

export function newDecoderState(): DecoderState {
  return { zlib: new Inflater(), zrle: new Inflater(), tight: [0, 1, 2, 3].map(() => new Inflater()), jpegs: [], log: [] };
}

// ---------------------------------------------------------------------------------------
// Rectangles

/** Decodes `count` rectangles (RFC 6143 §7.6.1 headers and their data) onto `canvas`. */
export async function decodeRects(
  data: Buffer,
  count: number,
  pf: PixelFormat,
  canvas: Canvas,
  state: DecoderState,
): Promise<void> {
  const r = new Reader(data);
  for (let n = 0; n < count; n++) {
    const rect = { x: r.u16(), y: r.u16(), w: r.u16(), h: r.u16() };
    const encoding = r.s32();
    if (rect.x + rect.w > canvas.width || rect.y + rect.h > canvas.height) throw new Error('rectangle outside the framebuffer');
    const entry: DecoderState['log'][number] = { rect, encoding };
    state.log.push(entry);
    switch (encoding) {
      case 0:
        decodeRaw(r, rect, pf, canvas);
        break;
      case 5:
        decodeHextile(r, rect, pf, canvas);
        break;
      case 6:
        decodeRaw(new Reader(state.zlib.inflate(r.bytes(r.u32()))), rect, pf, canvas, true);
        break;
      case 16:
        decodeZrle(new Reader(state.zrle.inflate(r.bytes(r.u32()))), rect, pf, canvas);
        break;
      case 7:
        entry.method = await decodeTight(r, rect, pf, canvas, state, false);
        break;
      case -260:
        entry.method = await decodeTight(r, rect, pf, canvas, state, true);
        break;
      default:
        throw new Error(`unexpected encoding ${encoding}`);
    }
  }
  if (r.remaining !== 0) throw new Error(`${r.remaining} bytes left after ${count} rectangles`);
}

function decodeRaw(r: Reader, rect: Rect, pf: PixelFormat, canvas: Canvas, whole = false): void {
  for (let j = 0; j < rect.h; j++) for (let i = 0; i < rect.w; i++) canvas.set(rect.x + i, rect.y + j, r.pixel(pf));
  if (whole && r.remaining !== 0) throw new Error('zlib data longer than the rectangle');
}

/** RFC 6143 §7.7.4, including which colours may carry over between tiles. */
function decodeHextile(r: Reader, rect: Rect, pf: PixelFormat, canvas: Canvas): void {
  let background: number | undefined;
  let foreground: number | undefined;
  for (let ty = 0; ty < rect.h; ty += 16) {
    for (let tx = 0; tx < rect.w; tx += 16) {
      const tw = Math.min(16, rect.w - tx);
      const th = Math.min(16, rect.h - ty);
      const x0 = rect.x + tx;
      const y0 = rect.y + ty;
      const mask = r.u8();
      if (mask & 1) {
        // Raw: nothing carries over it.
        for (let j = 0; j < th; j++) for (let i = 0; i < tw; i++) canvas.set(x0 + i, y0 + j, r.pixel(pf));
        background = undefined;
        foreground = undefined;
        continue;
      }
      if (mask & ~0x1f) throw new Error(`hextile mask 0x${mask.toString(16)} has unknown bits`);
      if (mask & 2) background = r.pixel(pf);
      if (background === undefined) throw new Error('hextile tile relies on a background that cannot carry over');
      canvas.fill(x0, y0, tw, th, background);
      if (mask & 4) {
        if (mask & 16) throw new Error('ForegroundSpecified together with SubrectsColoured');
        foreground = r.pixel(pf);
      }
      if (mask & 8) {
        const count = r.u8();
        for (let s = 0; s < count; s++) {
          let colour: number | undefined;
          if (mask & 16) colour = r.pixel(pf);
          else colour = foreground;
          if (colour === undefined) throw new Error('hextile subrect relies on a foreground that cannot carry over');
          const xy = r.u8();
          const wh = r.u8();
          const sx = xy >> 4;
          const sy = xy & 15;
          const sw = (wh >> 4) + 1;
          const sh = (wh & 15) + 1;
          if (sx + sw > tw || sy + sh > th) throw new Error('hextile subrect outside its tile');
          canvas.fill(x0 + sx, y0 + sy, sw, sh, colour);
        }
      }
      if (mask & 16) foreground = undefined;
    }
  }
}

function readRunLength(r: Reader): number {
  let length = 1;
  for (;;) {
    const b = r.u8();
    length += b;
    if (b !== 255) return length;
  }
}

/** RFC 6143 §7.7.6. */
function decodeZrle(r: Reader, rect: Rect, pf: PixelFormat, canvas: Canvas): void {
  for (let ty = 0; ty < rect.h; ty += 64) {
    for (let tx = 0; tx < rect.w; tx += 64) {
      const tw = Math.min(64, rect.w - tx);
      const th = Math.min(64, rect.h - ty);
      const put = (i: number, value: number): void => canvas.set(rect.x + tx + (i % tw), rect.y + ty + Math.floor(i / tw), value);
      const sub = r.u8();
      if (sub === 0) {
        for (let i = 0; i < tw * th; i++) put(i, r.cpixel(pf));
      } else if (sub === 1) {
        const value = r.cpixel(pf);
        for (let i = 0; i < tw * th; i++) put(i, value);
      } else if (sub >= 2 && sub <= 16) {
        const palette = Array.from({ length: sub }, () => r.cpixel(pf));
        const bits = sub === 2 ? 1 : sub <= 4 ? 2 : 4;
        for (let j = 0; j < th; j++) {
          const row = r.bytes(Math.ceil((tw * bits) / 8));
          for (let i = 0; i < tw; i++) {
            const bit = i * bits;
            const index = (row[bit >> 3] >> (8 - bits - (bit & 7))) & ((1 << bits) - 1);
            if (index >= sub) throw new Error('packed index outside the palette');
            put(j * tw + i, palette[index]);
          }
        }
      } else if (sub === 128) {
        let i = 0;
        while (i < tw * th) {
          const value = r.cpixel(pf);
          const length = readRunLength(r);
          if (i + length > tw * th) throw new Error('run past the end of the tile');
          for (let k = 0; k < length; k++) put(i++, value);
        }
      } else if (sub >= 130) {
        const palette = Array.from({ length: sub - 128 }, () => r.cpixel(pf));
        let i = 0;
        while (i < tw * th) {
          const b = r.u8();
          const index = b & 0x7f;
          if (index >= palette.length) throw new Error('RLE index outside the palette');
          const length = b & 0x80 ? readRunLength(r) : 1;
          if (i + length > tw * th) throw new Error('run past the end of the tile');
          for (let k = 0; k < length; k++) put(i++, palette[index]);
        }
      } else {
        throw new Error(`unused ZRLE subencoding ${sub}`);
      }
    }
  }
  if (r.remaining !== 0) throw new Error('ZRLE data longer than its tiles');
}

/** rfbproto "Tight Encoding" and "Tight PNG Encoding"; returns the method used. */
async function decodeTight(
  r: Reader,
  rect: Rect,
  pf: PixelFormat,
  canvas: Canvas,
  state: DecoderState,
  png: boolean,
): Promise<string> {
  if (rect.w > 2048) throw new Error('Tight rectangle wider than 2048');
  const control = r.u8();
  for (let s = 0; s < 4; s++) if (control & (1 << s)) state.tight[s].reset();
  const method = control >> 4;
  if (method === 0x8) {
    canvas.fill(rect.x, rect.y, rect.w, rect.h, readTPixel(r, pf));
    return 'fill';
  }
  if (method === 0x9) {
    if (pf.bitsPerPixel === 8) throw new Error('JPEG sent to an 8 bpp client');
    const jpeg = r.bytes(r.compactLength());
    const { data, info } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
    if (info.width !== rect.w || info.height !== rect.h || info.channels !== 3) throw new Error('JPEG of the wrong size');
    state.jpegs.push({ rect, rgb: data });
    paintRgb(canvas, rect, data, pf);
    return 'jpeg';
  }
  if (png) {
    if (method !== 0xa) throw new Error(`TightPNG forbids method 0x${method.toString(16)}`);
    const image = r.bytes(r.compactLength());
    const { data, info } = await sharp(image).raw().toBuffer({ resolveWithObject: true });
    if (info.width !== rect.w || info.height !== rect.h || info.channels !== 3) throw new Error('PNG of the wrong size');
    paintRgb(canvas, rect, data, pf);
    return 'png';
  }
  if (method & 0x8) throw new Error(`invalid Tight method 0x${method.toString(16)}`);
  const stream = method & 0x3;
  const filter = method & 0x4 ? r.u8() : 0;
  const tpixelSize = readTPixelSize(pf);
  const readData = (length: number): Buffer => {
    if (length < 12) return r.bytes(length);
    return state.tight[stream].inflate(r.bytes(r.compactLength()));
  };
  if (filter === 0) {
    const pixels = new Reader(readData(rect.w * rect.h * tpixelSize));
    for (let j = 0; j < rect.h; j++) for (let i = 0; i < rect.w; i++) canvas.set(rect.x + i, rect.y + j, readTPixel(pixels, pf));
    if (pixels.remaining) throw new Error('copy-filter data too long');
    return `copy/${stream}`;
  }
  if (filter !== 1) throw new Error(`unexpected filter ${filter}`);
  const colours = r.u8() + 1;
  if (colours < 2) throw new Error('a palette needs two colours at least');
  const palette = Array.from({ length: colours }, () => readTPixel(r, pf));
  if (colours === 2) {
    const rowBytes = Math.ceil(rect.w / 8);
    const bits = readData(rowBytes * rect.h);
    if (bits.length !== rowBytes * rect.h) throw new Error('mono bitmap of the wrong size');
    for (let j = 0; j < rect.h; j++) {
      for (let i = 0; i < rect.w; i++) {
        const bit = (bits[j * rowBytes + (i >> 3)] >> (7 - (i & 7))) & 1;
        canvas.set(rect.x + i, rect.y + j, palette[bit]);
      }
    }
    return `mono/${stream}`;
  }
  const indices = readData(rect.w * rect.h);
  if (indices.length !== rect.w * rect.h) throw new Error('indexed data of the wrong size');
  for (let j = 0; j < rect.h; j++) {
    for (let i = 0; i < rect.w; i++) {
      const index = indices[j * rect.w + i];
      if (index >= colours) throw new Error('index outside the palette');
      canvas.set(rect.x + i, rect.y + j, palette[index]);
    }
  }
  return `indexed/${stream}`;
}

function readTPixelSize(pf: PixelFormat): number {
  const is24 = pf.trueColour && pf.bitsPerPixel === 32 && pf.depth === 24 && pf.redMax === 255 && pf.greenMax === 255 && pf.blueMax === 255;
  return is24 ? 3 : pf.bitsPerPixel >> 3;
}

/** Encodes `rect` of `fb` with `encoder` and decodes the result onto a canvas of the frame's size. */
export async function roundTrip(
  encoder: RectEncoder,
  fb: FramebufferView,
  rect: Rect,
  opts: EncodeOptions,
  state: DecoderState = newDecoderState(),
): Promise<{ canvas: Canvas; count: number; bytes: Buffer; state: DecoderState }> {
  const out: Buffer[] = [];
  const count = await encoder.encode(fb, rect, opts, out);
  const bytes = Buffer.concat(out);
  const canvas = new Canvas(fb.width, fb.height);
  await decodeRects(bytes, count, opts.pixelFormat, canvas, state);
  return { canvas, count, bytes, state };
}
