// ZRLE encoding (RFC 6143 §7.7.6): the rectangle in 64×64 tiles, each with a subencoding
// byte — raw (0), solid (1), packed palette (2–16), plain RLE (128), palette RLE (130–255)
// — all through one zlib stream per connection, the rectangle sent as U32 length + data.
// Pixels are CPIXELs: 3 bytes when a 32-bit format's colour bits fit in three of them.
// Each tile takes the smallest subencoding, computed exactly, as QEMU's
// ui/vnc-enc-zrle.c.inc estimates and compares them.
import { convertRect, cpixelSize, encodeCPixels, type PixelFormat } from '@vdi-sidecar/display-core';
import { Encoding } from '../constants.js';
import { encodeRectHeader } from '../server-messages.js';
import { ByteWriter } from './byte-writer.js';
import { checkRect, zlibLevelFor, type EncodeOptions, type FramebufferView, type Rect, type RectEncoder } from './encoder.js';
import { buildPalette, readPixelValues, type Palette } from './pixels.js';
import { ZlibStream } from './zstream.js';

const TILE = 64;
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

/** Bytes of a run length: (length − 1) as 255s and a final byte below 255. */
function runLengthBytes(length: number): number {
  return Math.floor((length - 1) / 255) + 1;
}

function writeRunLength(writer: ByteWriter, length: number): void {
  let rest = length - 1;
  while (rest >= 255) {
    writer.u8(255);
    rest -= 255;
  }
  writer.u8(rest);
}

/** Bits per packed index for a palette of `n` colours (RFC 6143 §7.7.6). */
function packedBits(n: number): number {
  return n <= 2 ? 1 : n <= 4 ? 2 : 4;
}

export class ZrleEncoder implements RectEncoder {
  readonly encoding = Encoding.ZRLE;
  private readonly stream = new ZlibStream();
  /**
   * The tiles of one rectangle before compression, reused from one rectangle to the next
   * (encode runs one at a time per client): a fresh megabyte per rectangle was an mmap,
   * page faults and a munmap each time.
   */
  private readonly writer = new ByteWriter(64 * 1024);

  async encode(fb: FramebufferView, rect: Rect, opts: EncodeOptions, out: Buffer[]): Promise<number> {
    checkRect(fb, rect);
    const { x, y, w, h } = rect;
    if (w === 0 || h === 0) return 0;
    const pf = opts.pixelFormat;
    const cpixel = cpixelSize(pf);
    const writer = this.writer;
    writer.clear();
    for (let ty = 0; ty < h; ty += TILE) {
      const th = Math.min(TILE, h - ty);
      for (let tx = 0; tx < w; tx += TILE) {
        const tw = Math.min(TILE, w - tx);
        const pixels = convertRect(fb.data, fb.stride, x + tx, y + ty, tw, th, pf);
        encodeTile(writer, readPixelValues(pixels, pf), tileCPixels(pixels, pf), cpixel, tw, th);
      }
    }
    const compressed = await this.stream.compress(writer.view(), zlibLevelFor(opts.compressLevel));
    const length = Buffer.alloc(4);
    length.writeUInt32BE(compressed.length, 0); // U32 length
    out.push(encodeRectHeader(x, y, w, h, this.encoding), length, compressed); // U8 array zlibData
    return 1;
  }

  reset(): void {
    this.stream.reset();
  }

  close(): void {
    this.stream.close();
  }
}

/**
 * A tile's CPIXELs, made only when asked: all of them for raw and plain RLE, one at a time for
 * palette entries (most tiles are solid or palette tiles).
 */
interface TileCPixels {
  all(): Buffer;
  at(i: number): Buffer;
}

function tileCPixels(pixels: Buffer, pf: PixelFormat): TileCPixels {
  const size = pf.bitsPerPixel >> 3;
  let all: Buffer | undefined;
  return {
    all: () => (all ??= encodeCPixels(pixels, pf)),
    at: (i) => encodeCPixels(pixels.subarray(i * size, (i + 1) * size), pf),
  };
}

/** Runs of equal pixels in tile order; runs continue from one row into the next. */
function findRuns(values: Uint32Array): { starts: number[]; lengths: number[] } {
  const starts: number[] = [];
  const lengths: number[] = [];
  let i = 0;
  while (i < values.length) {
    let j = i + 1;
    while (j < values.length && values[j] === values[i]) j++;
    starts.push(i);
    lengths.push(j - i);
    i = j;
  }
  return { starts, lengths };
}

function encodeTile(
  writer: ByteWriter,
  values: Uint32Array,
  cpixels: TileCPixels,
  cpixel: number,
  w: number,
  h: number,
): void {
  const cpixelAt = cpixels.at;
  const palette = buildPalette(values, MAX_RLE_PALETTE);
  if (palette && palette.colours.length === 1) {
    writer.u8(Subencoding.Solid);
    writer.bytes(cpixelAt(0));
    return;
  }
  const { starts, lengths } = findRuns(values);

  // Exact sizes of each candidate, subencoding byte included.
  const rawSize = 1 + values.length * cpixel;
  let plainRleSize = 1;
  for (const length of lengths) plainRleSize += cpixel + runLengthBytes(length);
  let best: 'raw' | 'plainRle' | 'packed' | 'paletteRle' = 'raw';
  let bestSize = rawSize;
  if (plainRleSize < bestSize) [best, bestSize] = ['plainRle', plainRleSize];
  if (palette) {
    const n = palette.colours.length;
    const paletteBytes = n * cpixel;
    if (n <= MAX_PACKED_PALETTE) {
      const packedSize = 1 + paletteBytes + Math.ceil((w * packedBits(n)) / 8) * h;
      if (packedSize < bestSize) [best, bestSize] = ['packed', packedSize];
    }
    let paletteRleSize = 1 + paletteBytes;
    for (const length of lengths) paletteRleSize += length === 1 ? 1 : 1 + runLengthBytes(length);
    if (paletteRleSize < bestSize) [best, bestSize] = ['paletteRle', paletteRleSize];
  }

  switch (best) {
    case 'raw':
      writer.u8(Subencoding.Raw);
      writer.bytes(cpixels.all());
      return;
    case 'plainRle': {
      writer.u8(Subencoding.PlainRle);
      const all = cpixels.all();
      starts.forEach((start, r) => {
        writer.bytes(all.subarray(start * cpixel, (start + 1) * cpixel)); // CPIXEL pixelValue
        writeRunLength(writer, lengths[r]);
      });
      return;
    }
    case 'packed':
      writePacked(writer, values, palette as Palette, cpixelAt, w, h);
      return;
    case 'paletteRle': {
      const p = palette as Palette;
      writer.u8(Subencoding.PaletteRleBase + p.colours.length);
      for (const first of p.first) writer.bytes(cpixelAt(first));
      starts.forEach((start, r) => {
        const index = p.index.get(values[start]) ?? 0;
        if (lengths[r] === 1) {
          writer.u8(index); // a single pixel: the index alone
        } else {
          writer.u8(index | 0x80); // a run: index with the top bit, then the length
          writeRunLength(writer, lengths[r]);
        }
      });
      return;
    }
  }
}

/** Packed palette: indices of 1, 2 or 4 bits, most significant bits leftmost, rows byte-aligned. */
function writePacked(
  writer: ByteWriter,
  values: Uint32Array,
  palette: Palette,
  cpixelAt: (i: number) => Buffer,
  w: number,
  h: number,
): void {
  const n = palette.colours.length;
  writer.u8(n); // subencoding = palette size
  for (const first of palette.first) writer.bytes(cpixelAt(first));
  const bits = packedBits(n);
  // The last colour's index, kept: neighbouring pixels mostly share it.
  let last = values[0];
  let lastIndex = palette.index.get(last) ?? 0;
  for (let row = 0; row < h; row++) {
    let byte = 0;
    let filled = 0;
    for (let col = 0; col < w; col++) {
      const v = values[row * w + col];
      if (v !== last) {
        last = v;
        lastIndex = palette.index.get(v) ?? 0;
      }
      byte = (byte << bits) | lastIndex;
      filled += bits;
      if (filled === 8) {
        writer.u8(byte);
        byte = 0;
        filled = 0;
      }
    }
    if (filled > 0) writer.u8(byte << (8 - filled)); // pad the row to a whole byte
  }
}
