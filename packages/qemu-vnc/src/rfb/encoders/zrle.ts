// ZRLE encoding (RFC 6143 §7.7.6): the rectangle in 64×64 tiles, each with a subencoding
// byte — raw (0), solid (1), packed palette (2–16), plain RLE (128), palette RLE (130–255)
// — all through one zlib stream per connection, the rectangle sent as U32 length + data.
// Pixels are CPIXELs: 3 bytes when a 32-bit format's colour bits fit in three of them.
// Each tile takes the smallest subencoding, computed exactly, as QEMU's
// ui/vnc-enc-zrle.c.inc estimates and compares them.
//
// The bytes are exactly those of the original Map-based encoder (test/zrle.test.ts keeps it
// as the reference): palettes ordered by decreasing frequency, ties by first appearance,
// each colour sent as the CPIXEL of its first pixel (of its run's first pixel for plain
// RLE). Speed comes from how each tile is analysed (see ZrleTileEncoder), not from a
// different choice.
import { convertRect, cpixelSize, isBgrxFormat, type PixelFormat } from '@vdi-sidecar/display-core';
import { Encoding } from '../constants.js';
import { encodeRectHeader } from '../server-messages.js';
import { checkRect, zlibLevelFor, type EncodeOptions, type FramebufferView, type Rect, type RectEncoder } from './encoder.js';
import { ColourIndex, colourBits, HOST_LITTLE_ENDIAN, readPixelValues, readsFrameWords } from './pixels.js';
import { ZlibStream } from './zstream.js';

const TILE = 64;
const TILE_AREA = TILE * TILE;
/** Palette RLE has room for 127 colours (subencodings 130–255). */
const MAX_RLE_PALETTE = 127;
/** Packed palettes go up to 16 colours (subencodings 2–16). */
const MAX_PACKED_PALETTE = 16;

const Subencoding = {
  Raw: 0,
  Solid: 1,
  PlainRle: 128,
  /** Palette RLE is 128 + palette size. */
  PaletteRleBase: 128,
} as const;

/** Where a tile's CPIXEL bytes come from. */
const CPixelSource = {
  /** Bytes 0–2 of the frame word (B, G, R): BGRX-layout formats with 3-byte CPIXELs. */
  FrameBgr: 0,
  /** All 4 bytes of the frame word, X included as convertRect copies it: BGRX-layout formats, 4-byte CPIXELs. */
  FrameWord: 1,
  /** The client's value computed from the frame word, its bytes in the client's order. */
  FrameValue: 2,
  /** The tile converted by convertRect (formats whose values are not read from the frame). */
  Converted: 3,
} as const;

/** Bits dropped from an 8-bit channel for a channel of maximum `max` (2^n − 1, n ≤ 8). */
function droppedBits(max: number): number {
  return 8 - Math.log2(max + 1);
}

/** The bits of frame words 0xXXRRGGBB that reach the client in format `pf` (readsFrameWords formats). */
function frameMask(pf: PixelFormat): number {
  const top = (max: number): number => (0xff >> droppedBits(max)) << droppedBits(max);
  return (top(pf.redMax) << 16) | (top(pf.greenMax) << 8) | top(pf.blueMax);
}

/**
 * Index of a 3-byte CPIXEL's first byte in the pixel's bytes (RFC 6143 §7.7.5, reused by
 * §7.7.6): 0 when the colour bits fit the three bytes that come first in memory, else 1 —
 * the same choice as display-core's encodeCPixels. Only for formats with 3-byte CPIXELs.
 */
function cpixelByteOffset(pf: PixelFormat): number {
  const bits = colourBits(pf);
  const fitsFirst = pf.bigEndian ? (bits & 0xff) === 0 : bits >>> 24 === 0;
  return fitsFirst ? 0 : 1;
}

/** Bits per packed index for a palette of `n` colours (RFC 6143 §7.7.6). */
function packedBits(n: number): number {
  return n <= 2 ? 1 : n <= 4 ? 2 : 4;
}

/**
 * Encodes rectangles as ZRLE tiles (before zlib). Each tile is analysed in one pass over its
 * pixels, read straight from the BGRX frame for formats of up to 8-bit channels: runs of
 * equal pixels (which continue from one row into the next, as the encoding counts them)
 * and, for the palette, a small open-addressing hash looked up once per run — not at all
 * when the pixel above or the run before last has the same colour — instead of a Map per
 * pixel; a row whose words equal the row above's (an unrolled compare) copies its entries
 * and runs instead of being scanned. The tile's sizes under every subencoding follow from
 * the run lengths and colour count, and only the chosen one is written, into a buffer
 * reused from one rectangle to the next. Results are valid until the next call.
 */
export class ZrleTileEncoder {
  private out = Buffer.allocUnsafe(64 * 1024);
  private used = 0;

  // The rectangle's pixels: src[start + row * stride + col] is the tile's pixel (col, row).
  private src: Uint32Array = new Uint32Array(0);
  private start = 0;
  private stride = 0;
  private mask = 0;
  private width = 0;
  private source: number = CPixelSource.FrameBgr;
  private cpixel = 3;
  private bytesPerPixel = 4;
  /** Byte of a pixel where its CPIXEL starts (CPixelSource.Converted). */
  private cpixelOffset = 0;
  /** Shifts taking each CPIXEL byte out of the client's value (CPixelSource.FrameValue). */
  private readonly cpixelShift = new Int32Array(4);
  /** How the client's format cuts and places the frame's channels (CPixelSource.FrameValue). */
  private redDrop = 0;
  private greenDrop = 0;
  private blueDrop = 0;
  private redShift = 0;
  private greenShift = 0;
  private blueShift = 0;

  /** For formats read through convertRect: the tile's client bytes and colour values. */
  private readonly pixels = Buffer.alloc(TILE_AREA * 4);
  private readonly values = new Uint32Array(TILE_AREA);

  /** Palette entry of each pixel; entries are numbered in order of first appearance. */
  private readonly entries = new Uint8Array(TILE_AREA);
  /** The entries four at a time (rows of a multiple of 4 pixels start on a word). */
  private readonly entryWords = new Uint32Array(this.entries.buffer, 0, TILE_AREA / 4);
  private readonly index = new ColourIndex(MAX_RLE_PALETTE);
  private readonly entryCount = new Int32Array(MAX_RLE_PALETTE);
  /** Tile position of each entry's first pixel, whose CPIXEL the palette sends. */
  private readonly entryFirst = new Int32Array(MAX_RLE_PALETTE);
  /** Entries by decreasing count (ties by entry number), and each entry's place there. */
  private readonly order = new Uint8Array(MAX_RLE_PALETTE);
  private readonly rank = new Uint8Array(MAX_RLE_PALETTE);
  /** Runs of the tile in tile order: first pixel, length and (with a palette) entry. */
  private readonly runStart = new Int32Array(TILE_AREA);
  private readonly runLength = new Int32Array(TILE_AREA);
  private readonly runEntry = new Uint8Array(TILE_AREA);
  /** Entry and length of each run of the last row scanned, cut at the row's ends. */
  private readonly rowEntry = new Uint8Array(TILE);
  private readonly rowLength = new Int32Array(TILE);
  /**
   * Per row of the rectangle (frame formats only): 1 when the frame row equals the one above
   * across the rectangle's whole width, found with one memcmp a row. A tile's row then repeats
   * without comparing it pixel by pixel; solid backgrounds and bands make most rows so.
   */
  private rowRepeats = new Uint8Array(0);
  /** The current tile's first row within the rectangle. */
  private tileTop = 0;
  /** Colours of the tile, 0 when more than MAX_RLE_PALETTE. */
  private colours = 0;
  private runs = 0;

  /** The ZRLE tiles of `rect` in format `pf`, uncompressed (a view of a reused buffer). */
  encodeTiles(fb: FramebufferView, rect: Rect, pf: PixelFormat): Buffer {
    const { x, y, w, h } = rect;
    this.used = 0;
    this.setFormat(fb, pf);
    const direct = this.source !== CPixelSource.Converted;
    const frameStride = fb.stride >> 2;
    this.findRepeatedRows(fb, rect, direct);
    for (let ty = 0; ty < h; ty += TILE) {
      const th = Math.min(TILE, h - ty);
      this.tileTop = ty;
      for (let tx = 0; tx < w; tx += TILE) {
        const tw = Math.min(TILE, w - tx);
        if (direct) {
          this.start = (y + ty) * frameStride + x + tx;
        } else {
          const pixels = convertRect(fb.data, fb.stride, x + tx, y + ty, tw, th, pf, this.pixels);
          readPixelValues(pixels, pf, this.values);
          this.start = 0;
          this.stride = tw;
        }
        this.encodeTile(tw, th);
      }
    }
    return this.out.subarray(0, this.used);
  }

  private findRepeatedRows(fb: FramebufferView, rect: Rect, direct: boolean): void {
    if (this.rowRepeats.length < rect.h) this.rowRepeats = new Uint8Array(rect.h);
    this.rowRepeats.fill(0, 0, rect.h);
    if (!direct) return;
    const bytes = rect.w * 4;
    for (let r = 1; r < rect.h; r++) {
      const at = (rect.y + r) * fb.stride + rect.x * 4;
      if (fb.data.compare(fb.data, at - fb.stride, at - fb.stride + bytes, at, at + bytes) === 0) this.rowRepeats[r] = 1;
    }
  }

  private setFormat(fb: FramebufferView, pf: PixelFormat): void {
    this.cpixel = cpixelSize(pf);
    this.bytesPerPixel = pf.bitsPerPixel >> 3;
    this.cpixelOffset = this.cpixel === this.bytesPerPixel ? 0 : cpixelByteOffset(pf);
    if (readsFrameWords(fb, pf)) {
      // Colours compared as the frame's R, G, B bits that the client gets.
      this.src = new Uint32Array(fb.data.buffer, fb.data.byteOffset, fb.data.byteLength >> 2);
      this.stride = fb.stride >> 2;
      this.mask = frameMask(pf);
      this.redDrop = droppedBits(pf.redMax);
      this.greenDrop = droppedBits(pf.greenMax);
      this.blueDrop = droppedBits(pf.blueMax);
      this.redShift = pf.redShift;
      this.greenShift = pf.greenShift;
      this.blueShift = pf.blueShift;
      // BGRX-layout formats get the frame's bytes as they are (convertRect copies them, X too).
      if (isBgrxFormat(pf)) this.source = this.cpixel === 3 ? CPixelSource.FrameBgr : CPixelSource.FrameWord;
      else this.source = CPixelSource.FrameValue;
      for (let j = 0; j < this.cpixel; j++) {
        const byte = this.cpixelOffset + j;
        this.cpixelShift[j] = 8 * (pf.bigEndian ? this.bytesPerPixel - 1 - byte : byte);
      }
    } else {
      this.src = this.values;
      this.mask = -1; // the values are masked already
      this.source = CPixelSource.Converted;
    }
  }

  private reserve(n: number): void {
    if (this.used + n <= this.out.length) return;
    let size = this.out.length * 2;
    while (size < this.used + n) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.out.copy(grown, 0, 0, this.used);
    this.out = grown;
  }

  private encodeTile(w: number, h: number): void {
    const area = w * h;
    const cpixel = this.cpixel;
    this.width = w;
    // No subencoding is chosen above raw's size, so this is room enough.
    const rawSize = 1 + area * cpixel;
    this.reserve(rawSize);
    this.analyse(w, h);
    const n = this.colours;
    if (n === 1) {
      this.out[this.used++] = Subencoding.Solid;
      this.used = this.putCPixel(0, this.used);
      return;
    }
    // Exact sizes of each candidate, subencoding byte included. A run of length L takes
    // ⌊(L − 1) ÷ 255⌋ + 1 length bytes; palette RLE gives single pixels no length at all.
    const { runs, runLength } = this;
    let lengthBytes = 0;
    let singles = 0;
    for (let r = 0; r < runs; r++) {
      const length = runLength[r];
      if (length === 1) singles++;
      lengthBytes += ((length - 1) / 255) | 0;
    }
    lengthBytes += runs;
    let best: number = Subencoding.Raw;
    let bestSize = rawSize;
    const plainRleSize = 1 + runs * cpixel + lengthBytes;
    if (plainRleSize < bestSize) [best, bestSize] = [Subencoding.PlainRle, plainRleSize];
    if (n > 0) {
      const paletteSize = 1 + n * cpixel;
      if (n <= MAX_PACKED_PALETTE) {
        const packedSize = paletteSize + ((w * packedBits(n) + 7) >> 3) * h;
        if (packedSize < bestSize) [best, bestSize] = [n, packedSize];
      }
      const paletteRleSize = paletteSize + runs + lengthBytes - singles;
      if (paletteRleSize < bestSize) best = Subencoding.PaletteRleBase + n;
    }
    if (best === Subencoding.Raw) this.writeRaw(w, h);
    else if (best === Subencoding.PlainRle) this.writePlainRle();
    else if (best <= MAX_PACKED_PALETTE) this.writePacked(w, h);
    else this.writePaletteRle();
  }

  /**
   * Finds the tile's runs and, up to MAX_RLE_PALETTE colours, its palette; with more, only
   * the runs (colours is 0 then).
   */
  private analyse(w: number, h: number): void {
    this.index.clear();
    this.colours = 0;
    if (this.scan(w, h)) {
      this.rankEntries();
    } else {
      this.colours = 0;
      this.countRuns(w, h);
    }
  }

  /**
   * The palette pass: each pixel's entry, each entry's count and first pixel, and the tile's
   * runs. False as soon as the tile has more than MAX_RLE_PALETTE colours.
   */
  private scan(w: number, h: number): boolean {
    const { src, start, stride, mask, entries, entryCount, rowEntry, rowLength, runStart, runLength, runEntry } = this;
    let runs = 0;
    let rowRuns = 0;
    for (let row = 0; row < h; row++) {
      const at = start + row * stride;
      const base = row * w;
      if (row > 0 && (this.rowRepeats[this.tileTop + row] === 1 || this.repeatsRowAbove(at, w))) {
        // Same pixels as the row above: same entries and runs, the first run joining the
        // previous row's last when they share a colour.
        entries.copyWithin(base, base - w, base);
        let pos = base;
        let k = 0;
        if (runEntry[runs - 1] === rowEntry[0]) {
          runLength[runs - 1] += rowLength[0];
          entryCount[rowEntry[0]] += rowLength[0];
          pos += rowLength[0];
          k = 1;
        }
        for (; k < rowRuns; k++) {
          const entry = rowEntry[k];
          const length = rowLength[k];
          runStart[runs] = pos;
          runLength[runs] = length;
          runEntry[runs++] = entry;
          entryCount[entry] += length;
          pos += length;
        }
        continue;
      }
      // The current run: its colour, entry and first pixel, in locals so the per-pixel loop
      // stays in registers; each pixel's entry is stored as it goes.
      let colour = src[at] & mask;
      let entry = this.entryAt(colour, row, base, at);
      if (entry < 0) return false;
      // Colour and entry of the run before the current one in this row; none yet, and
      // `colour` itself never matches at a change of colour.
      let lastColour = colour;
      let lastEntry = entry;
      entries[base] = entry;
      let begin = base;
      rowRuns = 0;
      for (let col = 1; ; col++) {
        let v = 0;
        if (col < w) {
          v = src[at + col] & mask;
          if (v === colour) {
            entries[base + col] = entry;
            continue;
          }
        }
        // The run ends here (a new colour, or the row's end).
        const length = base + col - begin;
        rowEntry[rowRuns] = entry;
        rowLength[rowRuns++] = length;
        entryCount[entry] += length;
        // Only a row's first run can join the previous run: within a row, colours alternate.
        if (begin === base && runs > 0 && runEntry[runs - 1] === entry) {
          runLength[runs - 1] += length;
        } else {
          runStart[runs] = begin;
          runLength[runs] = length;
          runEntry[runs++] = entry;
        }
        if (col >= w) break;
        // The colour before this run comes back most often (text, edges): swap to it.
        if (v === lastColour) {
          const swapped = entry;
          entry = lastEntry;
          lastEntry = swapped;
          lastColour = colour;
        } else {
          lastColour = colour;
          lastEntry = entry;
          entry = this.entryAt(v, row, base + col, at + col);
          if (entry < 0) return false;
        }
        entries[base + col] = entry;
        colour = v;
        begin = base + col;
      }
    }
    this.runs = runs;
    return true;
  }

  /**
   * True when the row at src[at] has the same words as the row above (so the same colours).
   * Eight words a test, their differences OR-ed: faster than a test per word.
   */
  private repeatsRowAbove(at: number, w: number): boolean {
    const src = this.src;
    const b = at - this.stride;
    let i = 0;
    for (; i + 8 <= w; i += 8) {
      const a = at + i;
      const c = b + i;
      if (
        ((src[a] ^ src[c]) |
          (src[a + 1] ^ src[c + 1]) |
          (src[a + 2] ^ src[c + 2]) |
          (src[a + 3] ^ src[c + 3]) |
          (src[a + 4] ^ src[c + 4]) |
          (src[a + 5] ^ src[c + 5]) |
          (src[a + 6] ^ src[c + 6]) |
          (src[a + 7] ^ src[c + 7])) !==
        0
      ) {
        return false;
      }
    }
    for (; i < w; i++) if (src[at + i] !== src[b + i]) return false;
    return true;
  }

  /** The entry of `colour` at tile position `pos` (src[at]): the pixel above's when it has the same colour, else entryFor's. */
  private entryAt(colour: number, row: number, pos: number, at: number): number {
    if (row > 0 && (this.src[at - this.stride] & this.mask) === colour) return this.entries[pos - this.width];
    return this.entryFor(colour, pos);
  }

  /** The entry of `colour` from the hash table, added when new (first seen at `pos`); -1 when one colour too many. */
  private entryFor(colour: number, pos: number): number {
    const entry = this.index.entryOf(colour, this.colours, MAX_RLE_PALETTE);
    if (entry === this.colours) {
      this.colours++;
      this.entryCount[entry] = 0;
      this.entryFirst[entry] = pos;
    }
    return entry;
  }

  /**
   * Orders the entries by decreasing count, ties by first appearance (entry number): an
   * insertion sort, stable, over at most 127 entries and mostly a handful.
   */
  private rankEntries(): void {
    const { order, rank, entryCount } = this;
    const n = this.colours;
    for (let i = 0; i < n; i++) {
      const count = entryCount[i];
      let j = i;
      while (j > 0 && entryCount[order[j - 1]] < count) {
        order[j] = order[j - 1];
        j--;
      }
      order[j] = i;
    }
    for (let i = 0; i < n; i++) rank[order[i]] = i;
  }

  /** The runs alone, for tiles of too many colours for a palette. */
  private countRuns(w: number, h: number): void {
    const { src, start, stride, mask, runStart, runLength } = this;
    let runs = 0;
    let colour = src[start] & mask;
    let begin = 0;
    for (let row = 0; row < h; row++) {
      const at = start + row * stride;
      const base = row * w;
      for (let col = 0; col < w; col++) {
        const v = src[at + col] & mask;
        if (v !== colour) {
          runStart[runs] = begin;
          runLength[runs++] = base + col - begin;
          begin = base + col;
          colour = v;
        }
      }
    }
    runStart[runs] = begin;
    runLength[runs++] = w * h - begin;
    this.runs = runs;
  }

  /** Writes the CPIXEL of the tile's pixel at `pos` at out[o]; returns the offset after it. */
  private putCPixel(pos: number, o: number): number {
    const out = this.out;
    if (this.source === CPixelSource.Converted) {
      const at = pos * this.bytesPerPixel + this.cpixelOffset;
      for (let j = 0; j < this.cpixel; j++) out[o + j] = this.pixels[at + j];
      return o + this.cpixel;
    }
    const row = (pos / this.width) | 0;
    const p = this.src[this.start + row * this.stride + pos - row * this.width];
    return this.putFrameCPixel(p, o);
  }

  /** Writes the CPIXEL of frame word `p` at out[o]; returns the offset after it. */
  private putFrameCPixel(p: number, o: number): number {
    const out = this.out;
    switch (this.source) {
      case CPixelSource.FrameBgr:
        out[o] = p;
        out[o + 1] = p >>> 8;
        out[o + 2] = p >>> 16;
        return o + 3;
      case CPixelSource.FrameWord:
        out[o] = p;
        out[o + 1] = p >>> 8;
        out[o + 2] = p >>> 16;
        out[o + 3] = p >>> 24;
        return o + 4;
      default: {
        // The client's value: each channel of frame word 0xXXRRGGBB cut to its top bits and
        // shifted into place, as convertRect's tables do.
        const v =
          ((((p >>> 16) & 0xff) >>> this.redDrop) << this.redShift) |
          ((((p >>> 8) & 0xff) >>> this.greenDrop) << this.greenShift) |
          (((p & 0xff) >>> this.blueDrop) << this.blueShift);
        for (let j = 0; j < this.cpixel; j++) out[o + j] = v >>> this.cpixelShift[j];
        return o + this.cpixel;
      }
    }
  }

  /** U8 subencoding 0, then every pixel's CPIXEL. */
  private writeRaw(w: number, h: number): void {
    const out = this.out;
    let o = this.used;
    out[o++] = Subencoding.Raw;
    if (this.source === CPixelSource.Converted) {
      const { pixels, cpixel, bytesPerPixel } = this;
      const area = w * h;
      if (cpixel === bytesPerPixel) {
        out.set(pixels.subarray(0, area * bytesPerPixel), o);
        o += area * bytesPerPixel;
      } else {
        for (let i = 0, at = this.cpixelOffset; i < area; i++, at += 4, o += 3) {
          out[o] = pixels[at];
          out[o + 1] = pixels[at + 1];
          out[o + 2] = pixels[at + 2];
        }
      }
    } else {
      const { src, start, stride } = this;
      for (let row = 0; row < h; row++) {
        const at = start + row * stride;
        if (this.source === CPixelSource.FrameBgr) {
          for (let k = at; k < at + w; k++, o += 3) {
            const p = src[k];
            out[o] = p;
            out[o + 1] = p >>> 8;
            out[o + 2] = p >>> 16;
          }
        } else {
          for (let k = at; k < at + w; k++) o = this.putFrameCPixel(src[k], o);
        }
      }
    }
    this.used = o;
  }

  /** U8 128, then per run its first pixel's CPIXEL and the run length. */
  private writePlainRle(): void {
    const { runs, runStart, runLength } = this;
    let o = this.used;
    this.out[o++] = Subencoding.PlainRle;
    for (let r = 0; r < runs; r++) {
      o = this.putCPixel(runStart[r], o); // CPIXEL pixelValue
      o = this.putRunLength(runLength[r], o);
    }
    this.used = o;
  }

  /** A run length as (length − 1) in 255s and a final byte below 255. */
  private putRunLength(length: number, o: number): number {
    const out = this.out;
    let rest = length - 1;
    while (rest >= 255) {
      out[o++] = 255;
      rest -= 255;
    }
    out[o++] = rest;
    return o;
  }

  /** The palette's CPIXELs, most frequent first, each its colour's first pixel. */
  private putPalette(o: number): number {
    const { order, entryFirst } = this;
    for (let i = 0; i < this.colours; i++) o = this.putCPixel(entryFirst[order[i]], o);
    return o;
  }

  /** Packed palette: U8 palette size, the palette, indices of 1, 2 or 4 bits, most significant bits leftmost, rows byte-aligned. */
  private writePacked(w: number, h: number): void {
    const out = this.out;
    const n = this.colours;
    let o = this.used;
    out[o++] = n;
    o = this.putPalette(o);
    const bits = packedBits(n);
    if (bits === 1 && w % 8 === 0 && HOST_LITTLE_ENDIAN) {
      o = this.putBitmap(o, w, h);
    } else {
      o = this.putIndices(o, w, h, bits);
    }
    this.used = o;
  }

  /**
   * Two colours' 1-bit indices, eight pixels a byte from two words of entries: one multiply
   * gathers the low bit of a word's four bytes into a nibble, first byte highest. Entries
   * are 0 and 1; the bit is the entry, or its inverse when entry 0 is not index 0.
   */
  private putBitmap(o: number, w: number, h: number): number {
    const { out, entryWords } = this;
    const flip = this.rank[0] === 0 ? 0 : 0xff;
    const words = (w * h) >> 2;
    for (let i = 0; i < words; i += 2) {
      const hi = (Math.imul(entryWords[i], 0x08040201) >>> 24) & 0x0f;
      const lo = (Math.imul(entryWords[i + 1], 0x08040201) >>> 24) & 0x0f;
      out[o++] = ((hi << 4) | lo) ^ flip;
    }
    return o;
  }

  private putIndices(o: number, w: number, h: number, bits: number): number {
    const { out, entries, rank } = this;
    for (let row = 0; row < h; row++) {
      const base = row * w;
      let byte = 0;
      let filled = 0;
      for (let col = 0; col < w; col++) {
        byte = (byte << bits) | rank[entries[base + col]];
        filled += bits;
        if (filled === 8) {
          out[o++] = byte;
          byte = 0;
          filled = 0;
        }
      }
      if (filled > 0) out[o++] = byte << (8 - filled); // pad the row to a whole byte
    }
    return o;
  }

  /** Palette RLE: U8 128 + palette size, the palette, then per run its index alone (one pixel) or with the top bit and the run length. */
  private writePaletteRle(): void {
    const { out, runs, runLength, runEntry, rank } = this;
    let o = this.used;
    out[o++] = Subencoding.PaletteRleBase + this.colours;
    o = this.putPalette(o);
    for (let r = 0; r < runs; r++) {
      const index = rank[runEntry[r]];
      const length = runLength[r];
      if (length === 1) {
        out[o++] = index;
      } else {
        out[o++] = index | 0x80;
        o = this.putRunLength(length, o);
      }
    }
    this.used = o;
  }
}

export class ZrleEncoder implements RectEncoder {
  readonly encoding = Encoding.ZRLE;
  private readonly stream = new ZlibStream();
  /**
   * Reused from one rectangle to the next (encode runs one at a time per client, and zlib
   * has read the tiles when compress resolves): fresh buffers per tile or rectangle cost
   * allocations, page faults and garbage collection.
   */
  private readonly tiles = new ZrleTileEncoder();

  async encode(fb: FramebufferView, rect: Rect, opts: EncodeOptions, out: Buffer[]): Promise<number> {
    checkRect(fb, rect);
    const { x, y, w, h } = rect;
    if (w === 0 || h === 0) return 0;
    const data = this.tiles.encodeTiles(fb, rect, opts.pixelFormat);
    out.push(encodeRectHeader(x, y, w, h, this.encoding), ...(await this.stream.lengthPrefixed(data, zlibLevelFor(opts.compressLevel))));
    return 1;
  }

  reset(): void {
    this.stream.reset();
  }

  close(): void {
    this.stream.close();
  }
}
