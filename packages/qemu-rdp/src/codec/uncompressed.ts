// Uncompressed RDP bitmaps (MS-RDPBCGR 2.2.9.1.1.3.1.2.2 TS_BITMAP_DATA, bitmapDataStream) and the
// layout facts the compressed codecs share: rows bottom-up, width padded to a multiple of 4 pixels.
import { PixelConverter, bgrxToBgr, type PixelFormat } from '@vdi-sidecar/display-core';

/** A rectangle of the source frame, in pixels. */
export interface BitmapRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Colour depths of RDP bitmap updates this package encodes (8 bpp would need a palette). */
export type BitmapBpp = 15 | 16 | 24 | 32;

/**
 * TS_BITMAP_DATA.width is padded to a multiple of this. Uncompressed rows must be a multiple of
 * 4 bytes (MS-RDPBCGR 2.2.9.1.1.3.1.2.2) yet FreeRDP 2.11 reads them as width × bytes-per-pixel
 * with no padding, and TS_CD_HEADER's cbScanWidth "MUST be divisible by 4": a width that is a
 * multiple of 4 satisfies every reading at every depth. The padding columns repeat each row's
 * last pixel; clients paint only destLeft..destRight, so they never show.
 */
export const BITMAP_WIDTH_ALIGNMENT = 4;

/** The TS_BITMAP_DATA width for a rectangle `width` pixels wide. */
export function alignedBitmapWidth(width: number): number {
  return (width + BITMAP_WIDTH_ALIGNMENT - 1) & ~(BITMAP_WIDTH_ALIGNMENT - 1);
}

/** Bytes per pixel on the wire: 15 and 16 bpp take 2, 24 takes 3, 32 takes 4. */
export function bitmapBytesPerPixel(bpp: BitmapBpp): number {
  return bpp === 32 ? 4 : bpp === 24 ? 3 : 2;
}

export function isBitmapBpp(bpp: number): bpp is BitmapBpp {
  return bpp === 15 || bpp === 16 || bpp === 24 || bpp === 32;
}

/** RGB555 little-endian, RDP's 15 bpp. */
export const RDP_PIXEL_FORMAT_15: Readonly<PixelFormat> = Object.freeze({
  bitsPerPixel: 16,
  depth: 15,
  bigEndian: false,
  trueColour: true,
  redMax: 31,
  greenMax: 31,
  blueMax: 31,
  redShift: 10,
  greenShift: 5,
  blueShift: 0,
});

/** RGB565 little-endian, RDP's 16 bpp. */
export const RDP_PIXEL_FORMAT_16: Readonly<PixelFormat> = Object.freeze({
  ...RDP_PIXEL_FORMAT_15,
  depth: 16,
  greenMax: 63,
  redShift: 11,
});

let converter15: PixelConverter | undefined;
let converter16: PixelConverter | undefined;

/** The shared converter from QEMU's BGRX to RDP's 15- or 16-bpp pixels. */
export function converterFor(bpp: 15 | 16): PixelConverter {
  if (bpp === 15) return (converter15 ??= new PixelConverter(RDP_PIXEL_FORMAT_15));
  return (converter16 ??= new PixelConverter(RDP_PIXEL_FORMAT_16));
}

/** Throws a RangeError unless `rect` is a non-empty rectangle inside the frame. */
export function checkBitmapRect(src: Uint8Array, stride: number, rect: BitmapRect): void {
  const { x, y, width, height } = rect;
  if (![x, y, width, height, stride].every(Number.isInteger) || x < 0 || y < 0 || width < 1 || height < 1) {
    throw new RangeError(`invalid bitmap rectangle ${width}x${height}+${x}+${y} (stride ${stride})`);
  }
  if ((x + width) * 4 > stride || (y + height - 1) * stride + (x + width) * 4 > src.length) {
    throw new RangeError(`bitmap rectangle ${width}x${height}+${x}+${y} lies outside the ${src.length}-byte frame (stride ${stride})`);
  }
}

export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A Uint32Array over `buf` when alignment and byte order allow reading BGRX pixels as 0xXXRRGGBB. */
export function bgrxWords(buf: Uint8Array, stride: number): Uint32Array | undefined {
  if (!HOST_LITTLE_ENDIAN || buf.byteOffset % 4 !== 0 || stride % 4 !== 0) return undefined;
  return new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >> 2);
}

/**
 * The rectangle as an uncompressed RDP bitmap: rows bottom-up (the rectangle's last row first),
 * `alignedBitmapWidth(rect.width)` pixels each, so every row is a whole number of 4-byte words
 * and no byte padding is needed. 15 bpp = RGB555 LE, 16 bpp = RGB565 LE, 24 bpp = B,G,R,
 * 32 bpp = B,G,R,0xFF (QEMU's X byte is undefined; 0xFF keeps clients that read BGRA opaque).
 */
export function encodeUncompressed(src: Uint8Array, stride: number, rect: BitmapRect, bpp: BitmapBpp): Buffer {
  checkBitmapRect(src, stride, rect);
  const { x, y, width: w, height: h } = rect;
  const W = alignedBitmapWidth(w);
  const bytes = bitmapBytesPerPixel(bpp);
  const rowBytes = W * bytes;
  // Unpooled, so the buffer starts word-aligned for the typed-array paths of the converters.
  const out = Buffer.allocUnsafeSlow(rowBytes * h);
  if (bpp === 32) {
    writeBgra(src, stride, x, y, w, h, W, out);
    return out;
  }
  const conv = bpp === 24 ? undefined : converterFor(bpp);
  for (let r = 0; r < h; r++) {
    const row = out.subarray(r * rowBytes, (r + 1) * rowBytes);
    const srcY = y + h - 1 - r;
    if (conv) conv.convertRect(src, stride, x, srcY, w, 1, row);
    else bgrxToBgr(src, stride, x, srcY, w, 1, row);
    // Padding columns repeat the last pixel.
    for (let o = w * bytes; o < rowBytes; o += bytes) row.copyWithin(o, o - bytes, o);
  }
  return out;
}

function writeBgra(src: Uint8Array, stride: number, x: number, y: number, w: number, h: number, W: number, out: Buffer): void {
  const s32 = bgrxWords(src, stride);
  const d32 = bgrxWords(out, W * 4);
  if (s32 && d32) {
    const stride32 = stride >> 2;
    for (let r = 0; r < h; r++) {
      let j = (y + h - 1 - r) * stride32 + x;
      let o = r * W;
      const end = o + w;
      while (o < end) d32[o++] = s32[j++] | 0xff000000;
      const last = d32[o - 1];
      for (const rowEnd = r * W + W; o < rowEnd; o++) d32[o] = last;
    }
    return;
  }
  for (let r = 0; r < h; r++) {
    let i = (y + h - 1 - r) * stride + x * 4;
    let o = r * W * 4;
    for (let c = 0; c < W; c++) {
      if (c < w) {
        out[o] = src[i];
        out[o + 1] = src[i + 1];
        out[o + 2] = src[i + 2];
        i += 4;
      } else {
        out[o] = out[o - 4];
        out[o + 1] = out[o - 3];
        out[o + 2] = out[o - 2];
      }
      out[o + 3] = 0xff;
      o += 4;
    }
  }
}
