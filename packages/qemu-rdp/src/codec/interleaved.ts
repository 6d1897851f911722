// Interleaved RLE encoder for 15/16/24-bpp bitmap updates: the RLE_BITMAP_STREAM of MS-RDPBCGR
// 2.2.9.1.1.3.1.2.4, written for the decoder of MS-RDPBCGR 3.1.9 (which FreeRDP and IronRDP follow).
import {
  type BitmapRect,
  HOST_LITTLE_ENDIAN,
  alignedBitmapWidth,
  bgrxWords,
  bitmapBytesPerPixel,
  checkBitmapRect,
  converterFor,
} from './uncompressed.js';

/*
 * The stream is decoded bottom-up (the rectangle's last row first), TS_BITMAP_DATA.width pixels
 * a scanline with no padding: FreeRDP 2.11 decodes into rows of width × bytes-per-pixel, then
 * flips them. Orders refer to the pixel one scanline back ("above" in the stream); for the first
 * scanline that pixel is black (0). Writing d = pixel XOR above:
 *   background run   d = 0                        (after another background run the first pixel
 *                                                  is d = fgPel: the "inserted foreground pel")
 *   foreground run   d = fgPel
 *   FG/BG image      d ∈ {0, fgPel}, one bit per pixel, LSB first
 *   colour run       one pixel value repeated
 *   dithered run     two pixel values alternating
 *   colour image     literal pixels
 * The decoder leaves first-line mode at the first order that starts at or after the end of the
 * first scanline, and forgets a pending inserted pel there; an order that straddles that boundary
 * keeps first-line semantics past it. So no order written here straddles it: while in the first
 * scanline every order ends at or before its end.
 */

// Order headers (MS-RDPBCGR 2.2.9.1.1.3.1.2.4). Regular ones hold a 3-bit code and a 5-bit length.
const REGULAR_BG_RUN = 0x0;
const REGULAR_FG_RUN = 0x1;
const REGULAR_FGBG_IMAGE = 0x2;
const REGULAR_COLOR_RUN = 0x3;
const REGULAR_COLOR_IMAGE = 0x4;
/** MEGA_MEGA forms of the regular orders are 0xF0 | code, with a 16-bit length. */
const MEGA_MEGA = 0xf0;
// Lite orders hold a 4-bit code and a 4-bit length.
const LITE_SET_FG_FG_RUN = 0xc;
const LITE_SET_FG_FGBG_IMAGE = 0xd;
const LITE_DITHERED_RUN = 0xe;
const MEGA_MEGA_SET_FG_RUN = 0xf6;
const MEGA_MEGA_SET_FGBG_IMAGE = 0xf7;
const MEGA_MEGA_DITHERED_RUN = 0xf8;
const SPECIAL_FGBG_1 = 0xf9; // 8 pixels, bitmask 0x03
const SPECIAL_FGBG_2 = 0xfa; // 8 pixels, bitmask 0x05
const SPECIAL_WHITE = 0xfd;
const SPECIAL_BLACK = 0xfe;

/** Longest run any order can carry (MEGA_MEGA lengths are 16-bit). */
const MAX_RUN = 0xffff;
/** Runs at least this long are taken at once, without weighing an FG/BG image instead. */
const LONG_RUN = 16;
/** An FG/BG image ends before a run of this many background pixels: a background run is cheaper. */
const FGBG_BREAK_BG = 24;
/** …or before this many foreground pixels in a row. */
const FGBG_BREAK_FG = 32;

// Scratch space reused across calls (encoding is synchronous).
let pixels = new Uint32Array(0);
let deltas = new Uint32Array(0);
let output = new Uint8Array(0);
let converted = Buffer.alloc(0);

/**
 * The rectangle as an RLE_BITMAP_STREAM at `bpp` (15 = RGB555, 16 = RGB565, 24 = B,G,R), for a
 * TS_BITMAP_DATA of width `alignedBitmapWidth(rect.width)` with BITMAP_COMPRESSION and
 * NO_BITMAP_COMPRESSION_HDR (no TS_CD_HEADER). Any size works; the server sends ≤ 64×64 tiles.
 */
export function encodeInterleaved(src: Uint8Array, stride: number, rect: BitmapRect, bpp: 15 | 16 | 24): Buffer {
  checkBitmapRect(src, stride, rect);
  const W = alignedBitmapWidth(rect.width);
  const n = W * rect.height;
  const bytes = bitmapBytesPerPixel(bpp);
  if (pixels.length < n) {
    pixels = new Uint32Array(n);
    deltas = new Uint32Array(n);
  }
  // Every order covers at least one pixel and costs at most bytes + 3 for it.
  const bound = n * (bytes + 4) + 16;
  if (output.length < bound) output = new Uint8Array(bound);
  const px = pixels;
  gatherPixels(src, stride, rect, bpp, W, px);
  const dv = deltas;
  for (let i = 0; i < W && i < n; i++) dv[i] = px[i];
  for (let i = W; i < n; i++) dv[i] = px[i] ^ px[i - W];
  const len = encodeRle(px, dv, n, W, bytes, bpp === 16 ? 0xffff : bpp === 24 ? 0xffffff : -1, output);
  return Buffer.from(output.subarray(0, len));
}

/** Pixel values, bottom-up, W per row (padding repeats the last pixel): 16-bit values or 0xRRGGBB. */
function gatherPixels(src: Uint8Array, stride: number, rect: BitmapRect, bpp: 15 | 16 | 24, W: number, px: Uint32Array): void {
  const { x, y, width: w, height: h } = rect;
  if (bpp === 24) {
    const s32 = bgrxWords(src, stride);
    for (let r = 0; r < h; r++) {
      let o = r * W;
      const end = o + w;
      if (s32) {
        let j = (y + h - 1 - r) * (stride >> 2) + x;
        while (o < end) px[o++] = s32[j++] & 0xffffff;
      } else {
        let i = (y + h - 1 - r) * stride + x * 4;
        for (; o < end; o++, i += 4) px[o] = src[i] | (src[i + 1] << 8) | (src[i + 2] << 16);
      }
      for (const last = px[o - 1], rowEnd = r * W + W; o < rowEnd; o++) px[o] = last;
    }
    return;
  }
  const size = w * h * 2;
  if (converted.length < size) converted = Buffer.allocUnsafeSlow(Math.max(size, 8192));
  converterFor(bpp).convertRect(src, stride, x, y, w, h, converted);
  // Converted rows are top-down, little-endian (which is this host's order when words16 exists).
  const words16 = HOST_LITTLE_ENDIAN ? new Uint16Array(converted.buffer, converted.byteOffset, size >> 1) : undefined;
  for (let r = 0; r < h; r++) {
    let o = r * W;
    const end = o + w;
    if (words16) {
      for (let i = (h - 1 - r) * w; o < end; o++) px[o] = words16[i++];
    } else {
      for (let i = (h - 1 - r) * w * 2; o < end; o++, i += 2) px[o] = converted[i] | (converted[i + 1] << 8);
    }
    for (const last = px[o - 1], rowEnd = r * W + W; o < rowEnd; o++) px[o] = last;
  }
}

/** The F found by the last `fgbgExtent` (−1 when its pixels were all background). */
let extentFg = -1;

/**
 * How many pixels from `pos` (before `end`) an FG/BG image with foreground `fg` (−1: the first
 * non-zero d met) can cover, stopping short of long background or foreground runs.
 */
function fgbgExtent(dv: Uint32Array, pos: number, end: number, fg: number): number {
  let j = pos;
  let zeros = 0;
  let ones = 0;
  for (; j < end; j++) {
    const d = dv[j];
    if (d === 0) {
      zeros++;
      ones = 0;
      if (zeros >= FGBG_BREAK_BG && j - zeros + 1 > pos) {
        j = j - zeros + 1;
        break;
      }
    } else if (d === fg || fg < 0) {
      fg = d;
      ones++;
      zeros = 0;
      if (ones >= FGBG_BREAK_FG && j - ones + 1 > pos) {
        j = j - ones + 1;
        break;
      }
    } else {
      break;
    }
  }
  extentFg = fg;
  return j - pos;
}

function encodeRle(px: Uint32Array, dv: Uint32Array, n: number, W: number, bytes: number, white: number, out: Uint8Array): number {
  let o = 0;
  let pos = 0;
  /** The decoder's fgPel, or −1 before this encoder has set it (its initial white is not relied on). */
  let fg = -1;
  /** The decoder's fInsertFgPel: the last order was a background run. */
  let lastBg = false;
  let firstLine = true;
  /** Start of the pending colour image, or −1. */
  let lit = -1;

  while (pos < n) {
    if (firstLine && pos >= W) {
      if (lit >= 0) {
        o = writeColourImage(out, o, px, lit, pos - lit, bytes, white);
        lit = -1;
      }
      firstLine = false;
      lastBg = false;
    }
    const end = Math.min(firstLine ? W : n, pos + MAX_RUN);
    const dp = dv[pos];

    // Background run; right after another one its first pixel is the inserted foreground pel.
    const insertsFg = lit < 0 && lastBg;
    let bg = 0;
    if (insertsFg ? dp === fg : dp === 0) {
      let e = pos + 1;
      while (e < end && dv[e] === 0) e++;
      bg = e - pos;
    }
    // Colour run, foreground run, dithered run.
    const p0 = px[pos];
    let c = pos + 1;
    while (c < end && px[c] === p0) c++;
    c -= pos;
    let f = 0;
    if (dp !== 0) {
      f = pos + 1;
      while (f < end && dv[f] === dp) f++;
      f -= pos;
    }
    let pairs = 0;
    if (c === 1 && pos + 3 < end) {
      const p1 = px[pos + 1];
      let e = pos + 2;
      while (e + 1 < end && px[e] === p0 && px[e + 1] === p1) e += 2;
      pairs = (e - pos) >> 1;
    }

    // The best run: the longest, then the cheapest. Costs: background run and foreground run with
    // the current fgPel 1 byte; colour run and set-foreground run 1 + a pixel; dithered 1 + 2 pixels.
    let run = 0;
    let kind = REGULAR_COLOR_IMAGE;
    if (bg > 0) {
      run = bg;
      kind = REGULAR_BG_RUN;
    }
    if (f >= 3 && (f > run || (f === run && dp === fg && kind !== REGULAR_BG_RUN))) {
      run = f;
      kind = REGULAR_FG_RUN;
    }
    if (c >= 3 && (c > run || (c === run && kind === REGULAR_FG_RUN && dp !== fg))) {
      run = c;
      kind = REGULAR_COLOR_RUN;
    }
    if (pairs >= 4 && pairs * 2 > run) {
      run = pairs * 2;
      kind = LITE_DITHERED_RUN;
    }

    // An FG/BG image pays when it covers clearly more than the best run.
    if (run < LONG_RUN) {
      const ext = fgbgExtent(dv, pos, end, dp !== 0 ? dp : fg);
      if (ext >= 8 && (run === 0 ? ext > 1 : ext >= run + 8)) {
        if (lit >= 0) {
          o = writeColourImage(out, o, px, lit, pos - lit, bytes, white);
          lit = -1;
        }
        o = writeFgBgImage(out, o, dv, pos, ext, extentFg, fg, bytes);
        if (extentFg >= 0) fg = extentFg;
        lastBg = false;
        pos += ext;
        continue;
      }
    }

    if (run === 0) {
      // Nothing better: the pixel joins the pending colour image.
      if (lit < 0) lit = pos;
      pos++;
      if (pos - lit === MAX_RUN) {
        o = writeColourImage(out, o, px, lit, MAX_RUN, bytes, white);
        lit = -1;
        lastBg = false;
      }
      continue;
    }
    if (lit >= 0) {
      o = writeColourImage(out, o, px, lit, pos - lit, bytes, white);
      lit = -1;
    }
    lastBg = false;
    if (kind === REGULAR_BG_RUN) {
      o = writeRegularHeader(out, o, REGULAR_BG_RUN, bg);
      lastBg = true;
    } else if (kind === REGULAR_FG_RUN) {
      if (dp === fg) {
        o = writeRegularHeader(out, o, REGULAR_FG_RUN, f);
      } else {
        o = writeLiteHeader(out, o, LITE_SET_FG_FG_RUN, MEGA_MEGA_SET_FG_RUN, f);
        o = writePixel(out, o, dp, bytes);
        fg = dp;
      }
    } else if (kind === REGULAR_COLOR_RUN) {
      o = writeRegularHeader(out, o, REGULAR_COLOR_RUN, c);
      o = writePixel(out, o, p0, bytes);
    } else {
      o = writeLiteHeader(out, o, LITE_DITHERED_RUN, MEGA_MEGA_DITHERED_RUN, pairs);
      o = writePixel(out, o, p0, bytes);
      o = writePixel(out, o, px[pos + 1], bytes);
    }
    pos += run;
  }
  if (lit >= 0) o = writeColourImage(out, o, px, lit, pos - lit, bytes, white);
  return o;
}

function writePixel(out: Uint8Array, o: number, v: number, bytes: number): number {
  out[o] = v & 0xff;
  out[o + 1] = (v >>> 8) & 0xff;
  if (bytes === 3) out[o + 2] = v >>> 16;
  return o + bytes;
}

/** Regular order header: 5-bit length 1..31, or 0 and a byte of length − 32, or MEGA_MEGA. */
function writeRegularHeader(out: Uint8Array, o: number, code: number, len: number): number {
  if (len <= 31) {
    out[o++] = (code << 5) | len;
  } else if (len <= 287) {
    out[o++] = code << 5;
    out[o++] = len - 32;
  } else {
    out[o++] = MEGA_MEGA | code;
    out[o++] = len & 0xff;
    out[o++] = len >>> 8;
  }
  return o;
}

/** Lite order header: 4-bit length 1..15, or 0 and a byte of length − 16, or its MEGA_MEGA form. */
function writeLiteHeader(out: Uint8Array, o: number, code: number, mega: number, len: number): number {
  if (len <= 15) {
    out[o++] = (code << 4) | len;
  } else if (len <= 271) {
    out[o++] = code << 4;
    out[o++] = len - 16;
  } else {
    out[o++] = mega;
    out[o++] = len & 0xff;
    out[o++] = len >>> 8;
  }
  return o;
}

function writeColourImage(out: Uint8Array, o: number, px: Uint32Array, start: number, len: number, bytes: number, white: number): number {
  if (len === 1 && px[start] === 0) {
    out[o++] = SPECIAL_BLACK;
    return o;
  }
  // Not at 15 bpp: decoders disagree on its white (FreeRDP writes 0xFFFF, RGB555 white is 0x7FFF).
  if (len === 1 && px[start] === white) {
    out[o++] = SPECIAL_WHITE;
    return o;
  }
  o = writeRegularHeader(out, o, REGULAR_COLOR_IMAGE, len);
  const end = start + len;
  if (bytes === 2) {
    for (let i = start; i < end; i++, o += 2) {
      const v = px[i];
      out[o] = v & 0xff;
      out[o + 1] = v >>> 8;
    }
  } else {
    for (let i = start; i < end; i++, o += 3) {
      const v = px[i];
      out[o] = v & 0xff;
      out[o + 1] = (v >>> 8) & 0xff;
      out[o + 2] = v >>> 16;
    }
  }
  return o;
}

/**
 * An FG/BG image of `len` pixels from `pos` with foreground `F` (−1: all background), given the
 * decoder's current foreground `fg`. FG/BG lengths: a 5-bit (regular) or 4-bit (lite) count of
 * 8-pixel groups, or 0 and a byte of length − 1, or MEGA_MEGA.
 */
function writeFgBgImage(out: Uint8Array, o: number, dv: Uint32Array, pos: number, len: number, F: number, fg: number, bytes: number): number {
  const setsFg = F >= 0 && F !== fg;
  if (!setsFg && len === 8) {
    let mask = 0;
    for (let j = 0; j < 8; j++) if (dv[pos + j] !== 0) mask |= 1 << j;
    if (mask === 0x03 || mask === 0x05) {
      out[o++] = mask === 0x03 ? SPECIAL_FGBG_1 : SPECIAL_FGBG_2;
      return o;
    }
  }
  const groups = len >> 3;
  if ((len & 7) === 0 && groups <= (setsFg ? 15 : 31)) {
    out[o++] = setsFg ? (LITE_SET_FG_FGBG_IMAGE << 4) | groups : (REGULAR_FGBG_IMAGE << 5) | groups;
  } else if (len <= 256) {
    out[o++] = setsFg ? LITE_SET_FG_FGBG_IMAGE << 4 : REGULAR_FGBG_IMAGE << 5;
    out[o++] = len - 1;
  } else {
    out[o++] = setsFg ? MEGA_MEGA_SET_FGBG_IMAGE : MEGA_MEGA | REGULAR_FGBG_IMAGE;
    out[o++] = len & 0xff;
    out[o++] = len >>> 8;
  }
  if (setsFg) o = writePixel(out, o, F, bytes);
  const end = pos + len;
  for (let i = pos; i < end; i += 8) {
    let mask = 0;
    const stop = Math.min(i + 8, end);
    for (let j = i; j < stop; j++) if (dv[j] !== 0) mask |= 1 << (j - i);
    out[o++] = mask;
  }
  return o;
}
