// Tight encoding (rfbproto "Tight Encoding"). Every rectangle starts with a
// compression-control byte: its low four bits tell the client which of its four zlib
// streams to reset, its high four bits the method —
//   FillCompression   (0x8_): one TPIXEL paints the whole rectangle;
//   JpegCompression   (0x9_): a JFIF image (only with a client-given quality level, 16/32 bpp);
//   BasicCompression  (0x0_–0x7_): pixels, optionally filtered, zlib-compressed when they
//     take 12 bytes or more, on one of four streams.
// Like TigerVNC's EncodeManager, each rectangle is classified by its colours: one colour →
// fill; few → palette filter (2 colours as a 1-bit bitmap on stream 1, up to 256 as 8-bit
// indices on stream 2); many → JPEG when allowed, else the copy filter on stream 0. Unlike
// it, flat content (long runs) and high quality levels keep a palette of up to 256 colours
// even when JPEG is allowed (classifyRect). Rectangles are split to at most 2048 pixels wide
// (a hard limit of the encoding) and 65,536 pixels, TigerVNC's limit. Every stream uses the
// client's compression level as its zlib level (zlibLevelFor), not TigerVNC's per-stream
// table (level 6: indices 7, bitmaps 8, full colour 5) nor QEMU's (7, 7, 6).
import { bgrxToRgb, convertRect, loadSharp, type PixelFormat } from '@vdi-sidecar/display-core';
import { Encoding } from '../constants.js';
import { encodeRectHeader } from '../server-messages.js';
import { checkRect, zlibLevelFor, type EncodeOptions, type FramebufferView, type Rect, type RectEncoder } from './encoder.js';
import { ColourIndex, HOST_LITTLE_ENDIAN, readPixelValues, readsFrameWords } from './pixels.js';
import { ZlibStream } from './zstream.js';

export const TIGHT_MAX_WIDTH = 2048;
export const TIGHT_MAX_AREA = 65536;

/** Compression-control methods, in the byte's high nibble. */
export const TightControl = {
  Fill: 0x80,
  Jpeg: 0x90,
  /** TightPNG only (rfbproto "Tight PNG Encoding"). */
  Png: 0xa0,
  /** BasicCompression: bit 6 says a filter-id byte follows; bits 5–4 name the stream. */
  ReadFilterId: 0x40,
} as const;

export const TightFilter = {
  Copy: 0,
  Palette: 1,
  Gradient: 2,
} as const;

/** Data shorter than this is sent without zlib (rfbproto "BasicCompression"). */
export const TIGHT_MIN_TO_COMPRESS = 12;

/** The stream each kind of data uses; the client keeps one inflater per stream. */
const Stream = {
  FullColour: 0,
  Mono: 1,
  Indexed: 2,
} as const;

/** JPEG qualities for Tight quality levels 0–9, as TigerVNC maps them. */
export const JPEG_QUALITY = [15, 29, 41, 42, 62, 77, 79, 86, 92, 100] as const;

/**
 * JPEG chroma subsampling per quality level. TigerVNC uses 4:2:0 below level 3, 4:2:2 for
 * 3–5 and none above; sharp offers only 4:2:0 and 4:4:4, so 3–5 keep 4:2:0.
 */
export function jpegChromaSubsampling(qualityLevel: number): '4:2:0' | '4:4:4' {
  return qualityLevel >= 6 ? '4:4:4' : '4:2:0';
}

/**
 * Smallest area sent as JPEG. A JPEG from sharp costs about 270 bytes of headers and tables
 * even for one pixel, a large share of a small area's data, so smaller areas stay lossless.
 * QEMU draws the line at 4096 pixels (VNC_TIGHT_JPEG_MIN_RECT_SIZE); 32×32 keeps JPEG for
 * the small damaged tiles of a busy screen.
 */
export const JPEG_MIN_AREA = 1024;

/**
 * Splits `rect` into pieces Tight accepts: ≤ 2048 wide (rfbproto) and ≤ 65,536 pixels
 * (TigerVNC's limit, which keeps each piece's zlib and JPEG work short).
 */
export function splitTightRect(rect: Rect): Rect[] {
  if (rect.w <= TIGHT_MAX_WIDTH && rect.w * rect.h <= TIGHT_MAX_AREA) return [rect];
  const pieceW = Math.min(rect.w, TIGHT_MAX_WIDTH);
  const pieceH = Math.max(1, Math.floor(TIGHT_MAX_AREA / pieceW));
  const pieces: Rect[] = [];
  for (let dy = 0; dy < rect.h; dy += pieceH) {
    for (let dx = 0; dx < rect.w; dx += pieceW) {
      pieces.push({ x: rect.x + dx, y: rect.y + dy, w: Math.min(pieceW, rect.w - dx), h: Math.min(pieceH, rect.h - dy) });
    }
  }
  return pieces;
}

/**
 * The compact length of rfbproto "JpegCompression": 7 bits per byte, least significant
 * first, the top bit flagging another byte; the third byte holds 8 bits. Up to 4,194,303.
 */
export function encodeCompactLength(length: number): Buffer {
  if (!Number.isInteger(length) || length < 0 || length > 0x3fffff) {
    throw new RangeError(`Tight compact length ${length} is out of range`);
  }
  if (length < 0x80) return Buffer.from([length]);
  if (length < 0x4000) return Buffer.from([(length & 0x7f) | 0x80, length >> 7]);
  return Buffer.from([(length & 0x7f) | 0x80, ((length >> 7) & 0x7f) | 0x80, length >> 14]);
}

/**
 * True when a TPIXEL is 3 bytes R, G, B: true colour, 32 bpp, depth 24 and 8 bits per
 * channel (rfbproto "Tight Encoding"). Otherwise a TPIXEL is the client's PIXEL.
 */
export function isTPixel24(pf: PixelFormat): boolean {
  return (
    pf.trueColour &&
    pf.bitsPerPixel === 32 &&
    pf.depth === 24 &&
    pf.redMax === 255 &&
    pf.greenMax === 255 &&
    pf.blueMax === 255
  );
}

/**
 * True when `pf`'s colour values are frameValue() of the frame's words: readsFrameWords formats
 * (pixels.ts) of 32 bpp whose channels keep all 8 bits, the usual ones. convertRect's 8-bit tables
 * then only shift each channel into place.
 */
function valuesFromFrameWords(fb: FramebufferView, pf: PixelFormat): boolean {
  return pf.bitsPerPixel === 32 && pf.redMax === 255 && pf.greenMax === 255 && pf.blueMax === 255 && readsFrameWords(fb, pf);
}

/** The client's colour value of frame word `p` (0xXXRRGGBB), for formats valuesFromFrameWords accepts. */
function frameValue(p: number, pf: PixelFormat): number {
  return ((((p >>> 16) & 0xff) << pf.redShift) | (((p >>> 8) & 0xff) << pf.greenShift) | ((p & 0xff) << pf.blueShift)) >>> 0;
}

/**
 * The colour value (as readPixelValues reads it) of each pixel of `rect` in format `pf`,
 * into `out` when it is large enough. Without converting the rectangle first when
 * valuesFromFrameWords allows.
 */
export function rectValues(fb: FramebufferView, rect: Rect, pf: PixelFormat, out?: Uint32Array): Uint32Array {
  const area = rect.w * rect.h;
  const values = out && out.length >= area ? out.subarray(0, area) : new Uint32Array(area);
  if (!valuesFromFrameWords(fb, pf)) {
    values.set(readPixelValues(convertRect(fb.data, fb.stride, rect.x, rect.y, rect.w, rect.h, pf), pf));
    return values;
  }
  const src = new Uint32Array(fb.data.buffer, fb.data.byteOffset, fb.data.byteLength >> 2);
  const stride = fb.stride >> 2;
  let o = 0;
  for (let row = 0; row < rect.h; row++) {
    const j = (rect.y + row) * stride + rect.x;
    for (let k = j; k < j + rect.w; k++) values[o++] = frameValue(src[k], pf);
  }
  return values;
}

/**
 * The TPIXEL of colour value `v`: R, G, B for 24-bit colour, else the PIXEL in the client's
 * byte order (its undefined bits, such as a 32-bit format's X byte, zero).
 */
export function tpixelOf(v: number, pf: PixelFormat): Buffer {
  const out = Buffer.allocUnsafe(tpixelSize(pf));
  writeTPixel(v, pf, out, 0);
  return out;
}

/** Bytes per TPIXEL. */
export function tpixelSize(pf: PixelFormat): number {
  return isTPixel24(pf) ? 3 : pf.bitsPerPixel >> 3;
}

/** Writes the TPIXEL of `v` (see tpixelOf) at `out[at]`; returns the offset after it. */
function writeTPixel(v: number, pf: PixelFormat, out: Buffer, at: number): number {
  if (isTPixel24(pf)) {
    out[at] = (v >>> pf.redShift) & 0xff;
    out[at + 1] = (v >>> pf.greenShift) & 0xff;
    out[at + 2] = (v >>> pf.blueShift) & 0xff;
    return at + 3;
  }
  const size = pf.bitsPerPixel >> 3;
  if (size === 1) return out.writeUInt8(v & 0xff, at);
  if (size === 2) return pf.bigEndian ? out.writeUInt16BE(v & 0xffff, at) : out.writeUInt16LE(v & 0xffff, at);
  return pf.bigEndian ? out.writeUInt32BE(v >>> 0, at) : out.writeUInt32LE(v >>> 0, at);
}

/** All pixels as TPIXELs, for the copy filter: R, G, B straight from the frame, or client PIXELs. */
function allTPixels(fb: FramebufferView, rect: Rect, pf: PixelFormat): Buffer {
  // A 24-bit TPIXEL format has 8-bit channels: its R, G, B are the frame's own bytes.
  if (isTPixel24(pf)) return bgrxToRgb(fb.data, fb.stride, rect.x, rect.y, rect.w, rect.h);
  return convertRect(fb.data, fb.stride, rect.x, rect.y, rect.w, rect.h, pf);
}

/** Most colours a Tight palette holds (rfbproto: the colour count is a U8 minus one). */
export const TIGHT_MAX_COLOURS = 256;

/**
 * Flat content keeps its palette even past the JPEG palette limit when its pixels form runs
 * this long on average: there the palette's indices compress far below any JPEG, and stay
 * lossless (the limit exists for photos, whose runs are a pixel or two).
 */
export const FLAT_MIN_MEAN_RUN = 16;

/**
 * From this quality level up, any rectangle of up to 256 colours keeps its palette, as in
 * QEMU (tight_jpeg_conf: no indexed-colour JPEG at quality 7–9): JPEG at qualities 86–100
 * costs more bytes than 8-bit indices even for 200 colours of noise (96 KB against 16 KB
 * for 256×256 at quality 7).
 */
export const PALETTE_OVER_JPEG_QUALITY = 7;


/**
 * The colours of one rectangle, found in one pass that also writes each pixel's palette
 * entry. It replaces a Map lookup per pixel (the old cost) by an open-addressing table
 * looked up once per run of equal pixels — or not at all when the pixel above starts the
 * same colour — and copies rows equal to the one above (one native compare) instead of
 * scanning them: most rows of flat content repeat the one before. Its buffers are reused
 * from one rectangle to the next: results are valid until the next analyse().
 */
export class ColourAnalyser {
  /** Client values, for formats analysed without valuesFromFrameWords; made on first need. */
  private values = new Uint32Array(0);
  /** Entry of each pixel; entries are numbered in order of first appearance. */
  private entries = new Uint8Array(TIGHT_MAX_AREA);
  private readonly index = new ColourIndex(TIGHT_MAX_COLOURS);
  private readonly entryColour = new Int32Array(TIGHT_MAX_COLOURS);
  private readonly entryCount = new Int32Array(TIGHT_MAX_COLOURS);
  /** Entry and length of each run of the last row scanned. */
  private rowEntry = new Uint8Array(TIGHT_MAX_WIDTH);
  private rowLength = new Int32Array(TIGHT_MAX_WIDTH);
  /** Rank of each entry: its index in `palette`. */
  private readonly rank = new Uint8Array(TIGHT_MAX_COLOURS);
  private area = 0;
  private width = 0;

  /** Number of colours found, 0 when there are more than the analyse() call allowed. */
  colours = 0;
  /** Runs of equal pixels, each row's counted apart (until the colours overflow). */
  runs = 0;
  /** Colour values by decreasing frequency, ties by first appearance: index 0 is the background. */
  palette: number[] = [];

  analyse(fb: FramebufferView, rect: Rect, pf: PixelFormat, maxColours: number): void {
    const { w, h } = rect;
    const area = w * h;
    if (area > this.entries.length) this.entries = new Uint8Array(area);
    if (w > this.rowEntry.length) {
      this.rowEntry = new Uint8Array(w);
      this.rowLength = new Int32Array(w);
    }
    this.area = area;
    this.width = w;
    this.palette = [];
    this.colours = 0;
    // Colours are compared as the frame's R,G,B when the client's value is just those bytes
    // rearranged (equal in one means equal in the other), else as the client's values.
    let src: Uint32Array;
    let start: number;
    let stride: number;
    let mask: number;
    const direct = valuesFromFrameWords(fb, pf);
    if (direct) {
      src = new Uint32Array(fb.data.buffer, fb.data.byteOffset, fb.data.byteLength >> 2);
      stride = fb.stride >> 2;
      start = rect.y * stride + rect.x;
      mask = 0xffffff;
    } else {
      if (this.values.length < area) this.values = new Uint32Array(Math.max(area, TIGHT_MAX_AREA));
      src = rectValues(fb, rect, pf, this.values);
      stride = w;
      start = 0;
      mask = -1;
    }
    this.index.clear();
    const { entries, entryCount, rowEntry, rowLength } = this;
    // src's words as bytes, to compare whole rows natively.
    const bytes = Buffer.from(src.buffer, src.byteOffset, src.byteLength);
    let runs = 0;
    // Runs of the last row scanned: entry and length of each, cut at the row's end.
    let rowRuns = 0;
    for (let row = 0; row < h; row++) {
      const rowStart = start + row * stride;
      const base = row * w;
      // A row the same as the one above (raw words, so equal colours too) repeats its
      // entries and counts without a look at each pixel: most rows of flat content.
      if (row > 0 && bytes.compare(bytes, rowStart * 4, (rowStart + w) * 4, (rowStart - stride) * 4, (rowStart - stride + w) * 4) === 0) {
        entries.copyWithin(base, base - w, base);
        for (let k = 0; k < rowRuns; k++) entryCount[rowEntry[k]] += rowLength[k];
        runs += rowRuns;
        continue;
      }
      // The current run: its colour, entry and first pixel. Plain locals, so the per-pixel
      // loop stays in registers; each pixel's entry is stored as it goes (a store per pixel
      // costs less than filling each run afterwards).
      let colour = src[rowStart] & mask;
      let entry = this.entryAt(colour, row, base, rowStart, src, stride, mask, maxColours);
      if (entry < 0) return this.overflow(runs);
      let runStart = base;
      rowRuns = 0;
      entries[base] = entry;
      for (let x = 1; x < w; x++) {
        const v = src[rowStart + x] & mask;
        if (v !== colour) {
          rowEntry[rowRuns] = entry;
          rowLength[rowRuns++] = base + x - runStart;
          entryCount[entry] += base + x - runStart;
          entry = this.entryAt(v, row, base + x, rowStart + x, src, stride, mask, maxColours);
          if (entry < 0) return this.overflow(runs + rowRuns);
          colour = v;
          runStart = base + x;
        }
        entries[base + x] = entry;
      }
      rowEntry[rowRuns] = entry;
      rowLength[rowRuns++] = base + w - runStart;
      entryCount[entry] += base + w - runStart;
      runs += rowRuns;
    }
    this.runs = runs;
    this.order(direct, pf);
  }

  /**
   * Ranks the entries by decreasing count, ties by first appearance (entry order) as
   * buildPalette orders them, and makes the palette. Kept out of analyse(): code after its
   * hot loop would lack type feedback when the loop is optimised on stack, and deoptimise it.
   */
  private order(direct: boolean, pf: PixelFormat): void {
    const n = this.colours;
    const { entryCount, entryColour } = this;
    const byFrequency = Array.from({ length: n }, (_, e) => e).sort((a, b) => entryCount[b] - entryCount[a] || a - b);
    byFrequency.forEach((e, r) => {
      this.rank[e] = r;
    });
    this.palette = byFrequency.map((e) => (direct ? frameValue(entryColour[e], pf) : entryColour[e] >>> 0));
  }

  /** Ends an analysis whose colours overflowed. */
  private overflow(runs: number): void {
    this.runs = runs;
    this.colours = 0;
  }

  /**
   * The entry of `colour` at pixel `pos` (src[at]) of `row`: the pixel above's when it has
   * the same colour, else entryFor's.
   */
  private entryAt(colour: number, row: number, pos: number, at: number, src: Uint32Array, stride: number, mask: number, maxColours: number): number {
    if (row > 0 && (src[at - stride] & mask) === colour) return this.entries[pos - this.width];
    return this.entryFor(colour, maxColours);
  }

  /** The entry of `colour`, added when new; -1 when it is one colour too many. */
  private entryFor(colour: number, maxColours: number): number {
    const entry = this.index.entryOf(colour, this.colours, maxColours);
    if (entry === this.colours) {
      this.colours++;
      this.entryColour[entry] = colour;
      this.entryCount[entry] = 0;
    }
    return entry;
  }

  /** The 8-bit palette indices, written into `out` (at least one byte a pixel). */
  indices(out: Buffer = Buffer.allocUnsafe(this.area)): Buffer {
    const { area, rank, entries } = this;
    out = out.subarray(0, area);
    let identity = true;
    for (let e = 0; e < this.colours; e++) if (rank[e] !== e) identity = false;
    if (identity) out.set(entries.subarray(0, area));
    else for (let i = 0; i < area; i++) out[i] = rank[entries[i]];
    return out;
  }

  /**
   * The 1-bit bitmap of a two-colour palette: 1 where the pixel is not the background, most
   * significant bit leftmost, each row padded to a whole byte (rfbproto "PaletteFilter").
   * Written into `out` when given (it must hold the bitmap).
   */
  monoBitmap(out?: Buffer): Buffer {
    const { area, width, entries } = this;
    const h = area / width;
    // Entries are 0 and 1; the bit is the entry, or its inverse when entry 0 is index 1.
    const flip = this.rank[0] === 1 ? 0xff : 0;
    const rowBytes = (width + 7) >> 3;
    // Every byte is written below, padding bits as 0: no need to clear `out` first.
    out = out ? out.subarray(0, rowBytes * h) : Buffer.allocUnsafe(rowBytes * h);
    // Eight entries at a time while rows stay word-aligned: one multiply gathers the low bit
    // of each of a word's four bytes into a nibble, first byte highest.
    const words = HOST_LITTLE_ENDIAN && width % 4 === 0 ? new Uint32Array(entries.buffer, entries.byteOffset, area >> 2) : undefined;
    const whole = words ? width >> 3 : 0;
    for (let y = 0; y < h; y++) {
      const o = y * rowBytes;
      let i = y * width;
      if (words) {
        for (let b = 0; b < whole; b++, i += 8) {
          const hi = (Math.imul(words[i >> 2], 0x08040201) >>> 24) & 0x0f;
          const lo = (Math.imul(words[(i >> 2) + 1], 0x08040201) >>> 24) & 0x0f;
          out[o + b] = ((hi << 4) | lo) ^ flip;
        }
      }
      for (let x = whole * 8; x < width; x += 8) {
        const bits = Math.min(8, width - x);
        let byte = 0;
        for (let b = 0; b < bits; b++, i++) if ((entries[i] ^ (flip & 1)) === 1) byte |= 0x80 >> b;
        out[o + (x >> 3)] = byte;
      }
    }
    return out;
  }
}

/**
 * Most colours worth a palette for a rectangle of `area` pixels, after TigerVNC's
 * EncodeManager: area ÷ (compression level × 8), at least 2 and at most 256; with JPEG in
 * play a fixed 24 (levels 0–1) or 96, since JPEG handles many colours better than zlib.
 */
export function tightPaletteLimit(area: number, compressLevel: number | undefined, jpeg: boolean): number {
  let limit: number;
  if (jpeg) limit = compressLevel !== undefined && compressLevel < 2 ? 24 : 96;
  else limit = Math.floor(area / Math.max(4, (compressLevel ?? 2) * 8));
  return Math.min(256, Math.max(2, limit));
}

/** True when JPEG may encode this rectangle for this client (rfbproto: 16 or 32 bpp and a quality level). */
export function jpegAllowed(rect: Rect, opts: EncodeOptions): boolean {
  const bpp = opts.pixelFormat.bitsPerPixel;
  return opts.qualityLevel !== undefined && (bpp === 16 || bpp === 32) && rect.w * rect.h >= JPEG_MIN_AREA;
}

/** What a rectangle's colours call for, and whether JPEG may encode it. */
export interface TightClass {
  kind: 'fill' | 'palette' | 'fullColour';
  jpeg: boolean;
}

/**
 * Analyses `rect` (the results stay in `analyser`) and classifies it as TigerVNC's
 * EncodeManager does — one colour: fill; up to the palette limit: palette; more: full
 * colour — except that with JPEG allowed, a palette of up to 256 colours is kept past
 * TigerVNC's JPEG limit for flat content (FLAT_MIN_MEAN_RUN) and at high quality levels
 * (PALETTE_OVER_JPEG_QUALITY).
 */
export function classifyRect(analyser: ColourAnalyser, fb: FramebufferView, rect: Rect, opts: EncodeOptions): TightClass {
  const area = rect.w * rect.h;
  const jpeg = jpegAllowed(rect, opts);
  const limit = tightPaletteLimit(area, opts.compressLevel, jpeg);
  analyser.analyse(fb, rect, opts.pixelFormat, jpeg ? TIGHT_MAX_COLOURS : limit);
  const n = analyser.colours;
  if (n === 1) return { kind: 'fill', jpeg };
  if (n === 0) return { kind: 'fullColour', jpeg };
  const paletteWins = n <= limit || analyser.runs * FLAT_MIN_MEAN_RUN <= area || (opts.qualityLevel ?? 0) >= PALETTE_OVER_JPEG_QUALITY;
  if (paletteWins) return { kind: 'palette', jpeg };
  return { kind: 'fullColour', jpeg };
}

/** FillCompression: control byte and the one TPIXEL. */
export function fillData(control: number, colour: number, pf: PixelFormat): Buffer {
  return Buffer.concat([Buffer.from([TightControl.Fill | control]), tpixelOf(colour, pf)]);
}

/** JpegCompression: control byte, compact length, JFIF data made by sharp from R,G,B. */
export async function jpegData(control: number, fb: FramebufferView, rect: Rect, qualityLevel: number): Promise<Buffer> {
  const level = Math.min(9, Math.max(0, Math.trunc(qualityLevel)));
  const rgb = bgrxToRgb(fb.data, fb.stride, rect.x, rect.y, rect.w, rect.h);
  const sharp = await loadSharp();
  const jpeg = await sharp(rgb, { raw: { width: rect.w, height: rect.h, channels: 3 } })
    .jpeg({ quality: JPEG_QUALITY[level], chromaSubsampling: jpegChromaSubsampling(level) })
    .toBuffer();
  return Buffer.concat([Buffer.from([TightControl.Jpeg | control]), encodeCompactLength(jpeg.length), jpeg]);
}

/**
 * `rect` as rectangles of a Tight-family encoding (Tight, TightPNG): pieces within the size
 * limits (splitTightRect), each classified (classifyRect), its data made by `make.fill` or
 * `make.other`. Pieces of one colour, one under the other, go out as one fill: a fill
 * carries no data, so only the width limit applies to it (rfbproto "Tight Encoding"; QEMU's
 * server sends large solid areas whole too), and a cleared 1920×1080 screen is one
 * rectangle, not 32. Returns how many rectangles it added to `out`.
 */
export async function encodeTightRects(
  encoding: number,
  analyser: ColourAnalyser,
  fb: FramebufferView,
  rect: Rect,
  opts: EncodeOptions,
  out: Buffer[],
  make: { fill(colour: number): Buffer; other(piece: Rect, cls: TightClass): Buffer | Promise<Buffer> },
): Promise<number> {
  checkRect(fb, rect);
  if (rect.w === 0 || rect.h === 0) return 0;
  let count = 0;
  let fill: { rect: Rect; colour: number } | undefined;
  const endFill = (): void => {
    if (!fill) return;
    const { x, y, w, h } = fill.rect;
    out.push(encodeRectHeader(x, y, w, h, encoding), make.fill(fill.colour));
    count++;
    fill = undefined;
  };
  for (const piece of splitTightRect(rect)) {
    const cls = classifyRect(analyser, fb, piece, opts);
    if (cls.kind === 'fill') {
      const colour = analyser.palette[0];
      if (fill && fill.colour === colour && fill.rect.x === piece.x && fill.rect.w === piece.w && fill.rect.y + fill.rect.h === piece.y) {
        fill.rect.h += piece.h;
      } else {
        endFill();
        fill = { rect: { ...piece }, colour };
      }
      continue;
    }
    endFill();
    out.push(encodeRectHeader(piece.x, piece.y, piece.w, piece.h, encoding), await make.other(piece, cls));
    count++;
  }
  endFill();
  return count;
}

/** Spare palette buffers a TightEncoder keeps: 8 × 64 KiB per client at most. */
const MAX_SPARE_BUFFERS = 8;

export class TightEncoder implements RectEncoder {
  readonly encoding: number = Encoding.Tight;
  private readonly streams = [new ZlibStream(), new ZlibStream(), new ZlibStream(), new ZlibStream()];
  private readonly analyser = new ColourAnalyser();
  /** Streams the client must reset before the next rectangle (control bits 0–3). */
  private pendingResets = 0;
  /**
   * Buffers of TIGHT_MAX_AREA bytes for palette data, taken back once zlib has read them:
   * fresh ones cost page faults (some 1.5 ms per 1920×1080 frame of 8-bit indices).
   */
  private readonly spare: Buffer[] = [];

  encode(fb: FramebufferView, rect: Rect, opts: EncodeOptions, out: Buffer[]): Promise<number> {
    return encodeTightRects(this.encoding, this.analyser, fb, rect, opts, out, {
      fill: (colour) => fillData(this.takeResets(), colour, opts.pixelFormat),
      other: (piece, cls) => this.encodePiece(fb, piece, opts, cls),
    });
  }

  /** The client resets the streams named in a rectangle's control byte, whatever its method (rfbproto NOTE1). */
  private takeResets(): number {
    const resets = this.pendingResets;
    this.pendingResets = 0;
    return resets;
  }

  /** A piece that is not one colour, as `cls` (classifyRect's verdict on it, analysed in this.analyser) says. */
  private encodePiece(fb: FramebufferView, rect: Rect, opts: EncodeOptions, cls: TightClass): Buffer | Promise<Buffer> {
    const pf = opts.pixelFormat;
    const resets = this.takeResets();
    const level = zlibLevelFor(opts.compressLevel);
    if (cls.kind === 'palette') return this.paletteData(resets, pf, rect.w, rect.h, level);
    if (cls.jpeg && opts.qualityLevel !== undefined) return jpegData(resets, fb, rect, opts.qualityLevel);
    return this.basicData(resets, Stream.FullColour, undefined, allTPixels(fb, rect, pf), level);
  }

  /** PaletteFilter: U8 colours − 1, TPIXEL palette, then a 1-bit bitmap (2 colours) or 8-bit indices. */
  private paletteData(resets: number, pf: PixelFormat, w: number, h: number, level: number): Promise<Buffer> {
    const { palette } = this.analyser;
    const n = palette.length;
    const head = Buffer.allocUnsafe(1 + n * tpixelSize(pf));
    head[0] = n - 1;
    palette.reduce((at, colour) => writeTPixel(colour, pf, head, at), 1);
    // splitTightRect keeps pieces within TIGHT_MAX_AREA, so their data fits a spare buffer.
    const pooled = w * h <= TIGHT_MAX_AREA;
    const buffer = pooled ? (this.spare.pop() ?? Buffer.allocUnsafe(TIGHT_MAX_AREA)) : Buffer.allocUnsafe(w * h);
    const data = n === 2 ? this.analyser.monoBitmap(buffer) : this.analyser.indices(buffer);
    const result = this.basicData(resets, n === 2 ? Stream.Mono : Stream.Indexed, head, data, level);
    // basicData is done with the buffer when it resolves (zlib has consumed it, or it was copied).
    return result.then((bytes) => {
      if (pooled && this.spare.length < MAX_SPARE_BUFFERS) this.spare.push(buffer);
      return bytes;
    });
  }

  /**
   * BasicCompression: control byte (stream, filter flag), filter-id and filter data, then
   * the pixel data — raw under 12 bytes, else compact length + the stream's zlib output.
   */
  private async basicData(resets: number, stream: number, paletteHead: Buffer | undefined, data: Buffer, level: number): Promise<Buffer> {
    const control = (stream << 4) | resets | (paletteHead ? TightControl.ReadFilterId : 0);
    const head = paletteHead ? Buffer.concat([Buffer.from([control, TightFilter.Palette]), paletteHead]) : Buffer.from([control]);
    if (data.length < TIGHT_MIN_TO_COMPRESS) return Buffer.concat([head, data]);
    const compressed = await this.streams[stream].compress(data, level);
    return Buffer.concat([head, encodeCompactLength(compressed.length), compressed]);
  }

  reset(): void {
    for (const stream of this.streams) stream.reset();
    this.pendingResets = 0x0f;
  }

  close(): void {
    for (const stream of this.streams) stream.close();
  }
}
