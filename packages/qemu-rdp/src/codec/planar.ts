// Planar (RDP 6.0 bitmap compression) encoder for 32-bpp bitmap updates: MS-RDPEGDI 2.2.2.5.1
// RDP6_BITMAP_STREAM and 3.1.9 (colour planes, scanline deltas 3.1.9.2.3, RLE segments 2.2.2.5.1.3).
import { type BitmapRect, alignedBitmapWidth, bgrxWords, checkBitmapRect } from './uncompressed.js';

/*
 * Layout written here: FormatHeader, then the red, green and blue planes (ARGB colour plane
 * definition, CLL = 0, no chroma subsampling; the alpha plane is left out with NA since QEMU's X
 * byte is not alpha), each plane TS_BITMAP_DATA.width × height bytes with rows bottom-up (FreeRDP
 * 2.11 calls planar_decompress with vFlip = TRUE for bitmap updates, as for interleaved). With
 * RLE, each plane is RDP6_RLE_SEGMENTS: the first row as it is, every later row as deltas to the
 * row before, each byte then mapped to sign-magnitude form ((v << 1) for v ≥ 0, (−v << 1) − 1
 * for v < 0), and each row cut into segments that never cross a row. Without RLE, the planes are
 * raw and a pad byte follows them.
 */

/** FormatHeader bits (MS-RDPEGDI 2.2.2.5.1). */
export const PLANAR_FORMAT_HEADER_CLL_MASK = 0x07;
export const PLANAR_FORMAT_HEADER_CS = 0x08;
export const PLANAR_FORMAT_HEADER_RLE = 0x10;
export const PLANAR_FORMAT_HEADER_NA = 0x20;

export interface PlanarOptions {
  /** Try RLE planes (default true); raw planes are still used when RLE would be larger. */
  rle?: boolean;
  /**
   * 'bitmap-update' (default): rows bottom-up, width padded to a multiple of 4, as TS_BITMAP_DATA
   * wants. 'gfx': rows top-down and the rectangle's own width, as the graphics pipeline's
   * RDPGFX_CODECID_PLANAR wants (MS-RDPEGFX 2.2.2.1: FreeRDP decodes it without vertical flip).
   */
  layout?: 'bitmap-update' | 'gfx';
}

let planes = new Uint8Array(0);
let rleOut = new Uint8Array(0);
let rowScratch = new Uint8Array(0);
/** sameRow[r]: row r (in plane order) has the same pixels as row r − 1, so its deltas are all zero. */
let sameRow = new Uint8Array(0);

/**
 * The rectangle as an RDP6_BITMAP_STREAM without alpha, for a TS_BITMAP_DATA of bitsPerPixel 32
 * and width `alignedBitmapWidth(rect.width)`: RLE planes, or raw planes when RLE does not pay.
 */
export function encodePlanar(src: Uint8Array, stride: number, rect: BitmapRect, options: PlanarOptions = {}): Buffer {
  checkBitmapRect(src, stride, rect);
  const topDown = options.layout === 'gfx';
  const W = topDown ? rect.width : alignedBitmapWidth(rect.width);
  const h = rect.height;
  const n = W * h;
  if (planes.length < 3 * n) planes = new Uint8Array(3 * n);
  if (sameRow.length < h) sameRow = new Uint8Array(h);
  splitPlanes(src, stride, rect, W, topDown, planes, sameRow);
  const rawSize = 1 + 3 * n + 1;

  if (options.rle !== false) {
    // A row costs at most W bytes plus one control byte per 15 raw bytes.
    const bound = 3 * h * (W + Math.ceil(W / 15) + 2);
    if (rleOut.length < bound) rleOut = new Uint8Array(bound);
    if (rowScratch.length < W) rowScratch = new Uint8Array(W);
    let o = 0;
    for (let p = 0; p < 3; p++) o = encodePlaneRle(planes, p * n, W, h, sameRow, rleOut, o, rowScratch);
    if (1 + o < rawSize) {
      const out = Buffer.allocUnsafe(1 + o);
      out[0] = PLANAR_FORMAT_HEADER_RLE | PLANAR_FORMAT_HEADER_NA;
      out.set(rleOut.subarray(0, o), 1);
      return out;
    }
  }
  const out = Buffer.allocUnsafe(rawSize);
  out[0] = PLANAR_FORMAT_HEADER_NA;
  out.set(planes.subarray(0, 3 * n), 1);
  out[rawSize - 1] = 0; // Pad, present only without RLE.
  return out;
}

/** Red, green and blue planes of W×h bytes each, rows bottom-up (or top-down), padding repeating the last pixel. */
function splitPlanes(src: Uint8Array, stride: number, rect: BitmapRect, W: number, topDown: boolean, out: Uint8Array, same: Uint8Array): void {
  const { x, y, width: w, height: h } = rect;
  const n = W * h;
  const s32 = bgrxWords(src, stride);
  const stride32 = stride >> 2;
  /** From a pixel to the same pixel of the plane's row before, in the frame (in 32-bit words). */
  const prevRow = topDown ? -stride32 : stride32;
  for (let r = 0; r < h; r++) {
    const srcY = topDown ? y + r : y + h - 1 - r;
    let o = r * W;
    const end = o + w;
    same[r] = 0;
    if (s32) {
      let j = srcY * stride32 + x;
      if (r > 0) {
        // The plane's row before is the one below in the frame (bottom-up) or above (top-down);
        // compare B, G, R only.
        let k = j;
        const stop = j + w;
        while (k < stop && ((s32[k] ^ s32[k + prevRow]) & 0xffffff) === 0) k++;
        if (k === stop) {
          same[r] = 1;
          out.copyWithin(o, o - W, o);
          out.copyWithin(n + o, n + o - W, n + o);
          out.copyWithin(2 * n + o, 2 * n + o - W, 2 * n + o);
          continue;
        }
      }
      for (; o < end; o++) {
        const p = s32[j++];
        out[o] = p >>> 16;
        out[n + o] = p >>> 8;
        out[2 * n + o] = p;
      }
    } else {
      let i = srcY * stride + x * 4;
      for (; o < end; o++, i += 4) {
        out[o] = src[i + 2];
        out[n + o] = src[i + 1];
        out[2 * n + o] = src[i];
      }
    }
    for (const rowEnd = r * W + W; o < rowEnd; o++) {
      out[o] = out[o - 1];
      out[n + o] = out[n + o - 1];
      out[2 * n + o] = out[2 * n + o - 1];
    }
  }
}

/** One plane (W×h bytes at `start`) as RDP6_RLE_SEGMENTS written at `o`; returns the new end. */
function encodePlaneRle(
  plane: Uint8Array,
  start: number,
  W: number,
  h: number,
  same: Uint8Array,
  out: Uint8Array,
  o: number,
  row: Uint8Array,
): number {
  o = encodeRowRle(plane, start, W, out, o);
  for (let r = 1; r < h; r++) {
    if (same[r]) {
      // All deltas zero: one run of W zeros (the run value at a row's start is 0).
      o = writeSegments(plane, 0, 0, W, out, o);
      continue;
    }
    const cur = start + r * W;
    const prev = cur - W;
    for (let c = 0; c < W; c++) {
      // The delta as a signed byte, then in sign-magnitude form: 2v, or −2v − 1 when negative.
      const v = ((plane[cur + c] - plane[prev + c]) << 24) >> 24;
      row[c] = (v << 1) ^ (v >> 31);
    }
    o = encodeRowRle(row, 0, W, out, o);
  }
  return o;
}

/**
 * One row of bytes as RLE segments. A segment is a control byte (cRawBytes in the high nibble,
 * nRunLength in the low one), cRawBytes raw bytes, then nRunLength repeats of the last byte
 * decoded (0 at the start of a row). nRunLength 1 and 2 are escapes for runs of 16 + cRawBytes
 * and 32 + cRawBytes with no raw bytes, so plain runs are 3..15 long.
 */
function encodeRowRle(t: Uint8Array, start: number, w: number, out: Uint8Array, o: number): number {
  const end = start + w;
  let rawStart = start;
  let prev = 0;
  let i = start;
  while (i < end) {
    const v = t[i];
    if (v !== prev) {
      prev = v;
      i++;
      continue;
    }
    let j = i + 1;
    while (j < end && t[j] === prev) j++;
    if (j - i >= 3) {
      o = writeSegments(t, rawStart, i - rawStart, j - i, out, o);
      rawStart = j;
    }
    i = j;
  }
  if (rawStart < end) o = writeSegments(t, rawStart, end - rawStart, 0, out, o);
  return o;
}

/** `raw` literal bytes from `from`, then a run of `run` (0 or ≥ 3) repeats of the last value. */
function writeSegments(t: Uint8Array, from: number, raw: number, run: number, out: Uint8Array, o: number): number {
  while (raw > 15) {
    out[o++] = 0xf0;
    for (const stop = from + 15; from < stop; ) out[o++] = t[from++];
    raw -= 15;
  }
  if (raw > 0) {
    let carried = 0;
    if (run <= 15) carried = run;
    else if (run - 15 >= 3) carried = 15;
    out[o++] = (raw << 4) | carried;
    for (const stop = from + raw; from < stop; ) out[o++] = t[from++];
    run -= carried;
  }
  while (run > 0) {
    let len: number;
    if (run >= 16) {
      len = Math.min(run, 47);
      // Never leave a remainder of 1 or 2: those cannot be a run.
      if (run - len === 1 || run - len === 2) len -= 3;
      out[o++] = len >= 32 ? ((len - 32) << 4) | 2 : ((len - 16) << 4) | 1;
    } else {
      len = run;
      out[o++] = len;
    }
    run -= len;
  }
  return o;
}
