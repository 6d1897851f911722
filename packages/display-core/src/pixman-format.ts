// QEMU names surface formats with pixman codes: PIXMAN_FORMAT(bpp, type, a, r, g, b) =
// bpp<<24 | type<<16 | a<<12 | r<<8 | g<<4 | b (pixman.h). Guests almost always give
// x8r8g8b8, the byte order B,G,R,X of our mirror; the other formats a VGA mode can have
// (16 bpp modes, 24 bpp packed) are converted into it on arrival.
import { PIXMAN_x8r8g8b8 } from './pixel-format.js';

export const PIXMAN_A8R8G8B8 = 0x20028888;

const TYPE_ARGB = 2;
const TYPE_ABGR = 3;
const TYPE_BGRA = 8;
const TYPE_RGBA = 9;

interface Channel {
  shift: number;
  bits: number;
}

export interface PixmanLayout {
  bytesPerPixel: number;
  red: Channel;
  green: Channel;
  blue: Channel;
}

/** The channel layout of a pixman format, or undefined for formats we cannot read. */
export function pixmanLayout(format: number): PixmanLayout | undefined {
  const bpp = format >>> 24;
  const type = (format >>> 16) & 0xff;
  const a = (format >>> 12) & 0xf;
  const r = (format >>> 8) & 0xf;
  const g = (format >>> 4) & 0xf;
  const b = format & 0xf;
  if (![16, 24, 32].includes(bpp) || r === 0 || g === 0 || b === 0) return undefined;
  const layout = (rs: number, gs: number, bs: number): PixmanLayout => ({
    bytesPerPixel: bpp / 8,
    red: { shift: rs, bits: r },
    green: { shift: gs, bits: g },
    blue: { shift: bs, bits: b },
  });
  switch (type) {
    case TYPE_ARGB:
      return layout(g + b, b, 0);
    case TYPE_ABGR:
      return layout(0, r, r + g);
    case TYPE_BGRA:
      return layout(bpp - b - g - r, bpp - b - g, bpp - b);
    case TYPE_RGBA:
      return layout(bpp - r, bpp - r - g, bpp - r - g - b);
    default:
      void a;
      return undefined;
  }
}

export function isPixmanFormatSupported(format: number): boolean {
  return pixmanLayout(format) !== undefined;
}

/** Widens an n-bit channel value to 8 bits, replicating high bits (0x1f → 0xff). */
function widen(value: number, bits: number): number {
  if (bits >= 8) return (value >>> (bits - 8)) & 0xff;
  let out = value << (8 - bits);
  for (let filled = bits; filled < 8; filled += bits) out |= value << (8 - bits - filled) >>> 0;
  return out & 0xff;
}

/**
 * Copies a width×height rectangle in pixman `format` (rows `srcStride` apart) into `dst`
 * (B,G,R,X; rows `dstStride` apart) at byte offset `dstOffset`.
 */
export function copyToBgrx(
  format: number,
  src: Buffer,
  srcStride: number,
  width: number,
  height: number,
  dst: Buffer,
  dstOffset: number,
  dstStride: number,
): void {
  if (format === PIXMAN_x8r8g8b8 || format === PIXMAN_A8R8G8B8) {
    const rowBytes = width * 4;
    for (let y = 0; y < height; y++) src.copy(dst, dstOffset + y * dstStride, y * srcStride, y * srcStride + rowBytes);
    return;
  }
  const layout = pixmanLayout(format);
  if (!layout) throw new Error(`unsupported pixel format 0x${format.toString(16)}`);
  const { bytesPerPixel, red, green, blue } = layout;
  const rMask = (1 << red.bits) - 1;
  const gMask = (1 << green.bits) - 1;
  const bMask = (1 << blue.bits) - 1;
  for (let y = 0; y < height; y++) {
    let s = y * srcStride;
    let d = dstOffset + y * dstStride;
    for (let x = 0; x < width; x++, s += bytesPerPixel, d += 4) {
      // pixman formats are native-endian words; QEMU runs little-endian here.
      const v = bytesPerPixel === 4 ? src.readUInt32LE(s) : bytesPerPixel === 2 ? src.readUInt16LE(s) : src.readUIntLE(s, 3);
      dst[d] = widen((v >>> blue.shift) & bMask, blue.bits);
      dst[d + 1] = widen((v >>> green.shift) & gMask, green.bits);
      dst[d + 2] = widen((v >>> red.shift) & rMask, red.bits);
      dst[d + 3] = 0;
    }
  }
}
