// Tight encoding (rfbproto "Tight Encoding"). Every rectangle starts with a
// compression-control byte: its low four bits tell the client which of its four zlib
// streams to reset, its high four bits the method —
//   FillCompression   (0x8_): one TPIXEL paints the whole rectangle;
//   JpegCompression   (0x9_): a JFIF image (only with a client-given quality level, 16/32 bpp);
//   BasicCompression  (0x0_–0x7_): pixels, optionally filtered, zlib-compressed when they
//     take 12 bytes or more, on one of four streams.
// Like TigerVNC's EncodeManager, each rectangle is classified by its colours: one colour →
// fill; few → palette filter (2 colours as a 1-bit bitmap on stream 1, up to 256 as 8-bit
// indices on stream 2); many → JPEG when allowed, else the copy filter on stream 0.
// Rectangles are split to at most 2048 pixels wide (a hard limit of the encoding) and
// 65,536 pixels, TigerVNC's limit.
import { bgrxToRgb, convertRect, loadSharp, type PixelFormat } from '@vdi-sidecar/display-core';
import { Encoding } from '../constants.js';
import { encodeRectHeader } from '../server-messages.js';
import { checkRect, zlibLevelFor, type EncodeOptions, type FramebufferView, type Rect, type RectEncoder } from './encoder.js';
import { buildPalette, readPixelValues, type Palette } from './pixels.js';
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

/** Pixels of one rectangle in the client's format, with their values for comparison. */
export interface ClientPixels {
  pf: PixelFormat;
  bytes: Buffer;
  values: Uint32Array;
}

export function clientPixels(fb: FramebufferView, rect: Rect, pf: PixelFormat): ClientPixels {
  const bytes = convertRect(fb.data, fb.stride, rect.x, rect.y, rect.w, rect.h, pf);
  return { pf, bytes, values: readPixelValues(bytes, pf) };
}

/** The TPIXEL of pixel `i`. */
export function tpixelAt(px: ClientPixels, i: number): Buffer {
  const { pf } = px;
  if (isTPixel24(pf)) {
    const v = px.values[i];
    return Buffer.from([(v >>> pf.redShift) & 0xff, (v >>> pf.greenShift) & 0xff, (v >>> pf.blueShift) & 0xff]);
  }
  const size = pf.bitsPerPixel >> 3;
  return px.bytes.subarray(i * size, (i + 1) * size);
}

/** All pixels as TPIXELs, for the copy filter. */
function allTPixels(px: ClientPixels): Buffer {
  const { pf, values } = px;
  if (!isTPixel24(pf)) return px.bytes;
  const out = Buffer.allocUnsafe(values.length * 3);
  for (let i = 0, o = 0; i < values.length; i++, o += 3) {
    const v = values[i];
    out[o] = (v >>> pf.redShift) & 0xff;
    out[o + 1] = (v >>> pf.greenShift) & 0xff;
    out[o + 2] = (v >>> pf.blueShift) & 0xff;
  }
  return out;
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

/** What a rectangle's colours call for. */
export type TightClass =
  | { kind: 'fill' }
  | { kind: 'palette'; palette: Palette }
  | { kind: 'fullColour' };

export function classify(px: ClientPixels, limit: number): TightClass {
  const palette = buildPalette(px.values, limit);
  if (!palette) return { kind: 'fullColour' };
  if (palette.colours.length === 1) return { kind: 'fill' };
  return { kind: 'palette', palette };
}

/** FillCompression: control byte and the one TPIXEL. */
export function fillData(control: number, px: ClientPixels): Buffer {
  return Buffer.concat([Buffer.from([TightControl.Fill | control]), tpixelAt(px, 0)]);
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

export class TightEncoder implements RectEncoder {
  readonly encoding: number = Encoding.Tight;
  private readonly streams = [new ZlibStream(), new ZlibStream(), new ZlibStream(), new ZlibStream()];
  /** Streams the client must reset before the next rectangle (control bits 0–3). */
  private pendingResets = 0;

  async encode(fb: FramebufferView, rect: Rect, opts: EncodeOptions, out: Buffer[]): Promise<number> {
    checkRect(fb, rect);
    if (rect.w === 0 || rect.h === 0) return 0;
    const pieces = splitTightRect(rect);
    for (const piece of pieces) {
      out.push(encodeRectHeader(piece.x, piece.y, piece.w, piece.h, this.encoding), await this.encodePiece(fb, piece, opts));
    }
    return pieces.length;
  }

  private async encodePiece(fb: FramebufferView, rect: Rect, opts: EncodeOptions): Promise<Buffer> {
    const px = clientPixels(fb, rect, opts.pixelFormat);
    const jpeg = jpegAllowed(rect, opts);
    const found = classify(px, tightPaletteLimit(rect.w * rect.h, opts.compressLevel, jpeg));
    // rfbproto NOTE1: the client resets the named streams whatever the method.
    const resets = this.pendingResets;
    this.pendingResets = 0;
    const level = zlibLevelFor(opts.compressLevel);
    switch (found.kind) {
      case 'fill':
        return fillData(resets, px);
      case 'palette':
        return this.paletteData(resets, px, found.palette, rect.w, rect.h, level);
      case 'fullColour':
        if (jpeg && opts.qualityLevel !== undefined) return jpegData(resets, fb, rect, opts.qualityLevel);
        return this.basicData(resets, Stream.FullColour, undefined, allTPixels(px), level);
    }
  }

  /** PaletteFilter: U8 colours − 1, TPIXEL palette, then a 1-bit bitmap (2 colours) or 8-bit indices. */
  private paletteData(resets: number, px: ClientPixels, palette: Palette, w: number, h: number, level: number): Promise<Buffer> {
    const n = palette.colours.length;
    const head = Buffer.concat([Buffer.from([n - 1]), ...palette.first.map((i) => tpixelAt(px, i))]);
    let data: Buffer;
    if (n === 2) {
      // Most significant bit leftmost, each row padded to a whole byte.
      const rowBytes = (w + 7) >> 3;
      data = Buffer.alloc(rowBytes * h);
      const background = palette.colours[0];
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          if (px.values[y * w + x] !== background) data[y * rowBytes + (x >> 3)] |= 0x80 >> (x & 7);
        }
      }
    } else {
      data = Buffer.allocUnsafe(w * h);
      for (let i = 0; i < w * h; i++) data[i] = palette.index.get(px.values[i]) ?? 0;
    }
    return this.basicData(resets, n === 2 ? Stream.Mono : Stream.Indexed, head, data, level);
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
