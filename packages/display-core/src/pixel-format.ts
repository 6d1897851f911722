/**
 * Pixel formats: QEMU's framebuffer layout and RFB's PIXEL_FORMAT, with the
 * conversions encoders need.
 *
 * QEMU's D-Bus display sends frames as PIXMAN_x8r8g8b8: each pixel is a
 * little-endian u32 0xXXRRGGBB, i.e. the bytes B, G, R, X in memory. The X
 * byte is undefined and never read here. Every function below takes such a
 * frame (`src`, with `srcStride` bytes per row) and a rectangle in it.
 */

/** pixman's code for x8r8g8b8 (PIXMAN_FORMAT(32, PIXMAN_TYPE_ARGB, 0, 8, 8, 8)). */
export const PIXMAN_x8r8g8b8 = 0x20020888;

/** Bytes per pixel of QEMU's frames. */
export const BGRX_BYTES_PER_PIXEL = 4;

/** RFB PIXEL_FORMAT (RFC 6143 §7.4), with the flags as booleans. */
export interface PixelFormat {
  bitsPerPixel: number;
  depth: number;
  bigEndian: boolean;
  trueColour: boolean;
  redMax: number;
  greenMax: number;
  blueMax: number;
  redShift: number;
  greenShift: number;
  blueShift: number;
}

/** Size of PIXEL_FORMAT on the wire, padding included (RFC 6143 §7.4). */
export const PIXEL_FORMAT_LENGTH = 16;

/**
 * QEMU's own layout as an RFB pixel format: 32 bpp, depth 24, little-endian,
 * red at bit 16, green 8, blue 0. Also the usual server default (QEMU's and
 * TigerVNC's) for ServerInit, so most clients keep it and need no conversion.
 */
export const PIXEL_FORMAT_BGRX: Readonly<PixelFormat> = Object.freeze({
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

/** Read a PIXEL_FORMAT from 16 bytes at `offset` (multi-byte fields are big-endian, RFC 6143 §7). */
export function parsePixelFormat(buf: Uint8Array, offset = 0): PixelFormat {
  if (buf.length - offset < PIXEL_FORMAT_LENGTH) {
    throw new RangeError(`PIXEL_FORMAT needs ${PIXEL_FORMAT_LENGTH} bytes, got ${Math.max(0, buf.length - offset)}`);
  }
  const u16 = (at: number): number => (buf[offset + at] << 8) | buf[offset + at + 1];
  return {
    bitsPerPixel: buf[offset], // u8 bits-per-pixel
    depth: buf[offset + 1], // u8 depth
    bigEndian: buf[offset + 2] !== 0, // u8 big-endian-flag
    trueColour: buf[offset + 3] !== 0, // u8 true-colour-flag
    redMax: u16(4), // u16 red-max
    greenMax: u16(6), // u16 green-max
    blueMax: u16(8), // u16 blue-max
    redShift: buf[offset + 10], // u8 red-shift
    greenShift: buf[offset + 11], // u8 green-shift
    blueShift: buf[offset + 12], // u8 blue-shift; 13..15 padding
  };
}

/** The 16 wire bytes of a PIXEL_FORMAT (RFC 6143 §7.4), padding zeroed. */
export function encodePixelFormat(pf: PixelFormat): Buffer {
  const out = Buffer.alloc(PIXEL_FORMAT_LENGTH);
  out.writeUInt8(pf.bitsPerPixel, 0);
  out.writeUInt8(pf.depth, 1);
  out.writeUInt8(pf.bigEndian ? 1 : 0, 2);
  out.writeUInt8(pf.trueColour ? 1 : 0, 3);
  out.writeUInt16BE(pf.redMax, 4);
  out.writeUInt16BE(pf.greenMax, 6);
  out.writeUInt16BE(pf.blueMax, 8);
  out.writeUInt8(pf.redShift, 10);
  out.writeUInt8(pf.greenShift, 11);
  out.writeUInt8(pf.blueShift, 12);
  return out;
}

/** Number of bits in a max of the form 2^n − 1. */
function maxBits(max: number): number {
  return Math.log2(max + 1);
}

function isAllOnes(max: number): boolean {
  return Number.isInteger(max) && max > 0 && max <= 0xffff && (max & (max + 1)) === 0;
}

/**
 * Why we cannot serve `pf`, or undefined when we can. We support true colour
 * only (a colour map would need SetColourMapEntries and palette matching), at
 * 8, 16 or 32 bits per pixel, with each channel's max of the form 2^n − 1 and
 * every channel inside the pixel without overlapping another.
 */
export function validatePixelFormat(pf: PixelFormat): string | undefined {
  const bpp = pf.bitsPerPixel;
  if (bpp !== 8 && bpp !== 16 && bpp !== 32) return `bits-per-pixel ${bpp} is not 8, 16 or 32`;
  if (!pf.trueColour) return 'colour-map pixel formats (true-colour-flag 0) are not supported';
  if (!Number.isInteger(pf.depth) || pf.depth < 1 || pf.depth > bpp) return `depth ${pf.depth} is not within 1..${bpp}`;
  const channels: ReadonlyArray<readonly [string, number, number]> = [
    ['red', pf.redMax, pf.redShift],
    ['green', pf.greenMax, pf.greenShift],
    ['blue', pf.blueMax, pf.blueShift],
  ];
  let used = 0;
  for (const [name, max, shift] of channels) {
    if (!isAllOnes(max)) return `${name}-max ${max} is not of the form 2^n-1`;
    if (!Number.isInteger(shift) || shift < 0 || shift + maxBits(max) > bpp) {
      return `${name}-shift ${shift} puts ${maxBits(max)} bits outside a ${bpp}-bit pixel`;
    }
    const mask = max * 2 ** shift;
    if ((used & mask) !== 0) return `${name} bits overlap another channel`;
    used |= mask;
  }
  return undefined;
}

export function bytesPerPixel(pf: PixelFormat): number {
  return pf.bitsPerPixel >> 3;
}

/** True when `pf`'s pixels have exactly QEMU's bytes (B, G, R, X): rows can be copied as they are. */
export function isBgrxFormat(pf: PixelFormat): boolean {
  return (
    pf.trueColour &&
    pf.bitsPerPixel === 32 &&
    pf.redMax === 255 &&
    pf.greenMax === 255 &&
    pf.blueMax === 255 &&
    ((!pf.bigEndian && pf.redShift === 16 && pf.greenShift === 8 && pf.blueShift === 0) ||
      // Big-endian 0xBBGGRRXX puts the same bytes in the same memory order.
      (pf.bigEndian && pf.redShift === 8 && pf.greenShift === 16 && pf.blueShift === 24))
  );
}

const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A Uint32Array over `buf`'s bytes when its alignment allows one (and the host is little-endian), else undefined. */
function u32View(buf: Uint8Array): Uint32Array | undefined {
  if (!HOST_LITTLE_ENDIAN || buf.byteOffset % 4 !== 0) return undefined;
  return new Uint32Array(buf.buffer, buf.byteOffset, buf.byteLength >> 2);
}

function checkRect(src: Uint8Array, srcStride: number, x: number, y: number, w: number, h: number): void {
  if (![x, y, w, h, srcStride].every(Number.isInteger) || x < 0 || y < 0 || w < 0 || h < 0) {
    throw new RangeError(`invalid rectangle ${w}x${h}+${x}+${y} (stride ${srcStride})`);
  }
  if (w === 0 || h === 0) return;
  if (x * 4 + w * 4 > srcStride || (y + h - 1) * srcStride + (x + w) * 4 > src.length) {
    throw new RangeError(`rectangle ${w}x${h}+${x}+${y} lies outside the ${src.length}-byte frame (stride ${srcStride})`);
  }
}

/**
 * Per-channel lookup tables: for each 8-bit source intensity, the channel's
 * bits scaled and shifted into place — and byte-swapped when the client's byte
 * order differs from this host's, so the converted pixel can be stored with
 * one native-order typed-array write (a byte swap distributes over the OR of
 * disjoint channels). Narrower channels keep the top bits (v >> (8 − n)), as
 * QEMU's and TigerVNC's servers do; wider ones (n > 8) are scaled with rounding.
 */
function channelTable(max: number, shift: number, bitsPerPixel: number, swap: boolean): Uint32Array {
  const table = new Uint32Array(256);
  const bits = maxBits(max);
  for (let v = 0; v < 256; v++) {
    const scaled = bits <= 8 ? v >> (8 - bits) : Math.round((v * max) / 255);
    const value = (scaled * 2 ** shift) >>> 0;
    table[v] = swap ? byteSwap(value, bitsPerPixel) : value;
  }
  return table;
}

function byteSwap(value: number, bits: number): number {
  if (bits === 16) return ((value & 0xff) << 8) | (value >>> 8);
  if (bits === 32) return (((value & 0xff) << 24) | ((value & 0xff00) << 8) | ((value >>> 8) & 0xff00) | (value >>> 24)) >>> 0;
  return value;
}

/**
 * Converts rectangles of QEMU frames into one client pixel format. Make one
 * per client format and reuse it: it holds the lookup tables.
 */
export class PixelConverter {
  readonly format: Readonly<PixelFormat>;
  readonly bytesPerPixel: number;
  private readonly red: Uint32Array;
  private readonly green: Uint32Array;
  private readonly blue: Uint32Array;
  private readonly copyRows: boolean;
  private readonly rgb565: boolean;

  constructor(pf: PixelFormat) {
    const problem = validatePixelFormat(pf);
    if (problem) throw new Error(`unsupported pixel format: ${problem}`);
    this.format = Object.freeze({ ...pf });
    this.bytesPerPixel = bytesPerPixel(pf);
    const swap = pf.bitsPerPixel > 8 && pf.bigEndian === HOST_LITTLE_ENDIAN;
    this.red = channelTable(pf.redMax, pf.redShift, pf.bitsPerPixel, swap);
    this.green = channelTable(pf.greenMax, pf.greenShift, pf.bitsPerPixel, swap);
    this.blue = channelTable(pf.blueMax, pf.blueShift, pf.bitsPerPixel, swap);
    this.copyRows = isBgrxFormat(pf);
    this.rgb565 =
      pf.bitsPerPixel === 16 &&
      pf.redMax === 31 &&
      pf.greenMax === 63 &&
      pf.blueMax === 31 &&
      pf.redShift === 11 &&
      pf.greenShift === 5 &&
      pf.blueShift === 0;
  }

  /**
   * The pixels of the w×h rectangle at (x, y), packed row after row in the
   * client's format. With `out`, writes there (it must hold w·h·bpp/8 bytes)
   * and returns the part written.
   */
  convertRect(src: Uint8Array, srcStride: number, x: number, y: number, w: number, h: number, out?: Buffer): Buffer {
    checkRect(src, srcStride, x, y, w, h);
    const size = w * h * this.bytesPerPixel;
    const dst = outBuffer(out, size);
    if (size === 0) return dst;
    if (this.copyRows) {
      copyBgrxRows(src, srcStride, x, y, w, h, dst);
    } else if (dst.byteOffset % this.bytesPerPixel !== 0) {
      // Typed-array views need alignment; convert into a fresh (offset 0) buffer first.
      const aligned = Buffer.from(new ArrayBuffer(size));
      this.convertRect(src, srcStride, x, y, w, h, aligned);
      dst.set(aligned);
    } else {
      const view =
        this.bytesPerPixel === 4
          ? new Uint32Array(dst.buffer, dst.byteOffset, w * h)
          : this.bytesPerPixel === 2
            ? new Uint16Array(dst.buffer, dst.byteOffset, w * h)
            : dst;
      const s32 = srcStride % 4 === 0 ? u32View(src) : undefined;
      if (this.rgb565 && s32 && view instanceof Uint16Array) {
        convert565(s32, srcStride >> 2, x, y, w, h, view, this.format.bigEndian === HOST_LITTLE_ENDIAN);
      } else {
        this.convertInto(src, srcStride, x, y, w, h, view);
      }
    }
    return dst;
  }

  private convertInto(
    src: Uint8Array,
    stride: number,
    x: number,
    y: number,
    w: number,
    h: number,
    dst: Uint32Array | Uint16Array | Uint8Array,
  ): void {
    const { red, green, blue } = this;
    const s32 = stride % 4 === 0 ? u32View(src) : undefined;
    let o = 0;
    for (let row = 0; row < h; row++) {
      if (s32) {
        let j = ((y + row) * stride) / 4 + x;
        const end = j + w;
        for (; j < end; j++) {
          const p = s32[j];
          dst[o++] = red[(p >>> 16) & 0xff] | green[(p >>> 8) & 0xff] | blue[p & 0xff];
        }
      } else {
        // Source bytes are B, G, R, X whatever the host's byte order.
        let i = (y + row) * stride + x * 4;
        const end = i + w * 4;
        for (; i < end; i += 4) dst[o++] = red[src[i + 2]] | green[src[i + 1]] | blue[src[i]];
      }
    }
  }
}

/**
 * RGB565, the common 16-bpp format, with its shifts as constants: about twice
 * as fast as the table path (V8 keeps the constants in registers).
 */
function convert565(
  s32: Uint32Array,
  stride32: number,
  x: number,
  y: number,
  w: number,
  h: number,
  dst: Uint16Array,
  swap: boolean,
): void {
  let o = 0;
  for (let row = 0; row < h; row++) {
    let j = (y + row) * stride32 + x;
    const end = j + w;
    if (swap) {
      for (; j < end; j++) {
        const p = s32[j];
        const v = ((p >>> 8) & 0xf800) | ((p >>> 5) & 0x07e0) | ((p >>> 3) & 0x001f);
        dst[o++] = (v >>> 8) | ((v & 0xff) << 8);
      }
    } else {
      for (; j < end; j++) {
        const p = s32[j];
        dst[o++] = ((p >>> 8) & 0xf800) | ((p >>> 5) & 0x07e0) | ((p >>> 3) & 0x001f);
      }
    }
  }
}

function outBuffer(out: Buffer | undefined, size: number): Buffer {
  if (!out) return Buffer.allocUnsafe(size);
  if (out.length < size) throw new RangeError(`output buffer holds ${out.length} bytes, ${size} needed`);
  return out.subarray(0, size);
}

function copyBgrxRows(src: Uint8Array, stride: number, x: number, y: number, w: number, h: number, dst: Buffer): void {
  const rowBytes = w * 4;
  const start = y * stride + x * 4;
  if (rowBytes === stride) {
    dst.set(src.subarray(start, start + rowBytes * h));
    return;
  }
  for (let row = 0; row < h; row++) {
    const i = start + row * stride;
    dst.set(src.subarray(i, i + rowBytes), row * rowBytes);
  }
}

/** Converters for recently used formats, so the free function does not rebuild tables per call. */
const converterCache = new Map<string, PixelConverter>();
const CONVERTER_CACHE_SIZE = 8;

function converterFor(pf: PixelFormat): PixelConverter {
  const key = `${pf.bitsPerPixel}/${pf.depth}/${+pf.bigEndian}/${+pf.trueColour}/${pf.redMax}/${pf.greenMax}/${pf.blueMax}/${pf.redShift}/${pf.greenShift}/${pf.blueShift}`;
  let conv = converterCache.get(key);
  if (!conv) {
    conv = new PixelConverter(pf);
    if (converterCache.size >= CONVERTER_CACHE_SIZE) {
      const oldest = converterCache.keys().next().value;
      if (oldest !== undefined) converterCache.delete(oldest);
    }
    converterCache.set(key, conv);
  }
  return conv;
}

/**
 * The w×h rectangle at (x, y) of a BGRX frame, in pixel format `pf`, packed.
 * Throws for a format `validatePixelFormat` rejects. See `PixelConverter`.
 */
export function convertRect(
  src: Uint8Array,
  srcStride: number,
  x: number,
  y: number,
  w: number,
  h: number,
  pf: PixelFormat,
  out?: Buffer,
): Buffer {
  return converterFor(pf).convertRect(src, srcStride, x, y, w, h, out);
}

/** The rectangle as packed R, G, B bytes (for sharp raw input, JPEG, PNG). */
export function bgrxToRgb(src: Uint8Array, srcStride: number, x: number, y: number, w: number, h: number, out?: Buffer): Buffer {
  return pack24(src, srcStride, x, y, w, h, out, true);
}

/**
 * The rectangle as packed B, G, R bytes: QEMU's bytes without X. This is the
 * 24-bpp layout of Windows DIBs and of RDP bitmaps (MS-RDPBCGR 2.2.9.1.1.3.1.2.2).
 */
export function bgrxToBgr(src: Uint8Array, srcStride: number, x: number, y: number, w: number, h: number, out?: Buffer): Buffer {
  return pack24(src, srcStride, x, y, w, h, out, false);
}

/** BGRX → 3 bytes a pixel, B,G,R or (redFirst) R,G,B. */
function pack24(src: Uint8Array, srcStride: number, x: number, y: number, w: number, h: number, out: Buffer | undefined, redFirst: boolean): Buffer {
  checkRect(src, srcStride, x, y, w, h);
  const dst = outBuffer(out, w * h * 3);
  const s32 = srcStride % 4 === 0 ? u32View(src) : undefined;
  // Four pixels make three whole output words; rows stay word-aligned when w is a multiple of 4.
  const d32 = s32 && w % 4 === 0 ? u32View(dst) : undefined;
  // 0xXXRRGGBB → 0xXXBBGGRR when red goes first; the packing below then writes bytes 0, 1, 2.
  const order = redFirst ? (p: number) => (p & 0xff00ff00) | ((p & 0xff) << 16) | ((p >>> 16) & 0xff) : (p: number) => p;
  if (s32 && d32) {
    const stride32 = srcStride >> 2;
    let o = 0;
    for (let row = 0; row < h; row++) {
      let j = (y + row) * stride32 + x;
      const end = j + w;
      for (; j < end; j += 4) {
        const a = order(s32[j]);
        const b = order(s32[j + 1]);
        const c = order(s32[j + 2]);
        const d = order(s32[j + 3]);
        // Memory order P0 P0 P0 P1 | P1 P1 P2 P2 | P2 P3 P3 P3 (bytes 0..2 of each pixel), little-endian words.
        d32[o++] = (a & 0xffffff) | ((b & 0xff) << 24);
        d32[o++] = ((b >>> 8) & 0xffff) | ((c & 0xffff) << 16);
        d32[o++] = ((c >>> 16) & 0xff) | ((d & 0xffffff) << 8);
      }
    }
    return dst;
  }
  const first = redFirst ? 2 : 0;
  let o = 0;
  for (let row = 0; row < h; row++) {
    let i = (y + row) * srcStride + x * 4;
    const end = i + w * 4;
    for (; i < end; i += 4) {
      dst[o] = src[i + first];
      dst[o + 1] = src[i + 1];
      dst[o + 2] = src[i + 2 - first];
      o += 3;
    }
  }
  return dst;
}

/** The rectangle as packed R, G, B, A bytes with A = 255 (QEMU's X byte is not alpha). */
export function bgrxToRgba(src: Uint8Array, srcStride: number, x: number, y: number, w: number, h: number, out?: Buffer): Buffer {
  checkRect(src, srcStride, x, y, w, h);
  const dst = outBuffer(out, w * h * 4);
  const s32 = srcStride % 4 === 0 ? u32View(src) : undefined;
  const d32 = u32View(dst);
  let o = 0;
  for (let row = 0; row < h; row++) {
    if (s32 && d32) {
      let j = ((y + row) * srcStride + x * 4) >> 2;
      const end = j + w;
      let o32 = o >> 2;
      // Swap the R and B bytes and force A: 0xXXRRGGBB → 0xFFBBGGRR.
      for (; j < end; j++) {
        const p = s32[j];
        d32[o32++] = 0xff000000 | ((p & 0xff) << 16) | (p & 0xff00) | ((p >>> 16) & 0xff);
      }
      o = o32 << 2;
    } else {
      let i = (y + row) * srcStride + x * 4;
      const end = i + w * 4;
      for (; i < end; i += 4) {
        dst[o] = src[i + 2];
        dst[o + 1] = src[i + 1];
        dst[o + 2] = src[i];
        dst[o + 3] = 255;
        o += 4;
      }
    }
  }
  return dst;
}

/**
 * Where the 3 CPIXEL bytes sit inside a pixel's bytes, or undefined when a
 * CPIXEL is the whole pixel. RFC 6143 §7.7.5 (TRLE; ZRLE §7.7.6 reuses it):
 * a CPIXEL is 3 bytes when true-colour, 32 bpp, depth ≤ 24 and all colour
 * bits fit in the least or the most significant 3 bytes of the pixel value.
 * Those bytes keep the pixel's byte order. When both fit (bits only in the
 * middle two bytes), take the 3 bytes that come first in memory, as
 * TigerVNC does.
 */
function cpixelOffset(pf: PixelFormat): number | undefined {
  if (!pf.trueColour || pf.bitsPerPixel !== 32 || pf.depth > 24) return undefined;
  const all =
    (pf.redMax * 2 ** pf.redShift) | (pf.greenMax * 2 ** pf.greenShift) | (pf.blueMax * 2 ** pf.blueShift);
  const fitsLs = (all >>> 24) === 0;
  const fitsMs = (all & 0xff) === 0;
  // In little-endian memory the least significant bytes come first; in big-endian the most significant.
  if (pf.bigEndian ? fitsMs : fitsLs) return 0;
  if (pf.bigEndian ? fitsLs : fitsMs) return 1;
  return undefined;
}

/** Bytes per CPIXEL in TRLE/ZRLE for pixel format `pf` (RFC 6143 §7.7.5). */
export function cpixelSize(pf: PixelFormat): number {
  return cpixelOffset(pf) === undefined ? bytesPerPixel(pf) : 3;
}

/**
 * Packs pixels already in format `pf` (as `convertRect` returns them) as
 * CPIXELs. Returns `pixels` itself when a CPIXEL is a whole pixel.
 */
export function encodeCPixels(pixels: Uint8Array, pf: PixelFormat): Buffer {
  const offset = cpixelOffset(pf);
  if (offset === undefined) {
    return Buffer.isBuffer(pixels) ? pixels : Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  }
  const count = pixels.length >> 2;
  const out = Buffer.allocUnsafe(count * 3);
  let i = offset;
  let o = 0;
  for (let n = 0; n < count; n++) {
    out[o] = pixels[i];
    out[o + 1] = pixels[i + 1];
    out[o + 2] = pixels[i + 2];
    i += 4;
    o += 3;
  }
  return out;
}
