// Bitmap codecs for RDP Bitmap Updates: picks one per session colour depth and client support and
// returns what a TS_BITMAP_DATA (MS-RDPBCGR 2.2.9.1.1.3.1.2.2) needs, without TS_CD_HEADER.
import { encodeInterleaved } from './interleaved.js';
import { encodePlanar } from './planar.js';
import {
  type BitmapBpp,
  type BitmapRect,
  alignedBitmapWidth,
  bitmapBytesPerPixel,
  encodeUncompressed,
  isBitmapBpp,
} from './uncompressed.js';

export { encodeInterleaved } from './interleaved.js';
export {
  PLANAR_FORMAT_HEADER_CLL_MASK,
  PLANAR_FORMAT_HEADER_CS,
  PLANAR_FORMAT_HEADER_NA,
  PLANAR_FORMAT_HEADER_RLE,
  encodePlanar,
  type PlanarOptions,
} from './planar.js';
export {
  BITMAP_WIDTH_ALIGNMENT,
  RDP_PIXEL_FORMAT_15,
  RDP_PIXEL_FORMAT_16,
  alignedBitmapWidth,
  bitmapBytesPerPixel,
  encodeUncompressed,
  isBitmapBpp,
  type BitmapBpp,
  type BitmapRect,
} from './uncompressed.js';

/** TS_BITMAP_DATA flags (MS-RDPBCGR 2.2.9.1.1.3.1.2.2). */
export const BITMAP_COMPRESSION = 0x0001;
export const NO_BITMAP_COMPRESSION_HDR = 0x0400;

/** TS_BITMAP_DATA.bitmapLength is 16 bits: a bitmap must encode to at most this many bytes. */
export const MAX_BITMAP_DATA_LENGTH = 0xffff;

export type BitmapCodecName = 'uncompressed' | 'interleaved' | 'planar';

/** One way of turning a rectangle of a BGRX frame into a bitmapDataStream. */
export interface BitmapCodec {
  readonly name: BitmapCodecName;
  /** Whether its output goes with BITMAP_COMPRESSION. */
  readonly compressed: boolean;
  /** The bitmapDataStream for `rect` at `bpp`; its TS_BITMAP_DATA width is `alignedBitmapWidth(rect.width)`. */
  encode(src: Uint8Array, stride: number, rect: BitmapRect, bpp: BitmapBpp): Buffer;
}

export const uncompressedCodec: BitmapCodec = Object.freeze({
  name: 'uncompressed',
  compressed: false,
  encode: encodeUncompressed,
});

export const interleavedCodec: BitmapCodec = Object.freeze({
  name: 'interleaved',
  compressed: true,
  encode(src: Uint8Array, stride: number, rect: BitmapRect, bpp: BitmapBpp): Buffer {
    if (bpp === 32) throw new RangeError('interleaved RLE does not carry 32 bpp (use planar)');
    return encodeInterleaved(src, stride, rect, bpp);
  },
});

export const planarCodec: BitmapCodec = Object.freeze({
  name: 'planar',
  compressed: true,
  encode(src: Uint8Array, stride: number, rect: BitmapRect, bpp: BitmapBpp): Buffer {
    if (bpp !== 32) throw new RangeError(`planar bitmaps are 32 bpp, not ${bpp}`);
    return encodePlanar(src, stride, rect);
  },
});

/** What the session negotiated. */
export interface BitmapSession {
  /** The session's colour depth (the client core data / confirm active), 15, 16, 24 or 32. */
  bpp: number;
  /** Whether the client takes compressed bitmaps (Bitmap Capability Set bitmapCompressionFlag). */
  compression: boolean;
}

/** 32 bpp compressed → planar, 15/16/24 compressed → interleaved RLE, otherwise uncompressed. */
export function selectBitmapCodec(session: BitmapSession): BitmapCodec {
  const { bpp } = session;
  if (!isBitmapBpp(bpp)) throw new RangeError(`bitmap updates at ${bpp} bpp are not supported (15, 16, 24 or 32)`);
  if (!session.compression) return uncompressedCodec;
  return bpp === 32 ? planarCodec : interleavedCodec;
}

/** The fields of one TS_BITMAP_DATA, but for the destination rectangle. */
export interface EncodedBitmap {
  /** TS_BITMAP_DATA.width: the rectangle's width rounded up to a multiple of 4 (destRight stays x + width − 1). */
  width: number;
  height: number;
  bitsPerPixel: BitmapBpp;
  /** Set BITMAP_COMPRESSION (with NO_BITMAP_COMPRESSION_HDR: no TS_CD_HEADER precedes `data`). */
  compressed: boolean;
  /** TS_BITMAP_DATA.flags for `compressed`. */
  flags: number;
  codec: BitmapCodecName;
  /** bitmapDataStream; bitmapLength is its length. */
  data: Buffer;
}

/**
 * A 32 bpp tile whose 24 bpp interleaved RLE takes less than this many bytes per pixel is sent
 * so without trying planar: planar spends a control byte per row and colour plane at least, so
 * on text and flat areas (where interleaved's fill, FG/BG mask and copy-from-above orders give
 * 0.02–0.1 byte a pixel) it is 5–20 times larger.
 */
const INTERLEAVED_GOOD_ENOUGH = 0.25;

/**
 * Encodes `rect` of a BGRX frame (`stride` bytes a row, top-down) for a Bitmap Update. Falls back
 * to an uncompressed bitmap when interleaved RLE would not be smaller. In 32 bpp sessions a tile
 * goes as planar or, when that is smaller, as a 24 bpp interleaved RLE bitmap: TS_BITMAP_DATA
 * carries each bitmap's own depth (MS-RDPBCGR 2.2.9.1.1.3.1.2.2), and the fourth byte of a BGRX
 * pixel is padding, so both are lossless. Throws a RangeError when the result exceeds
 * MAX_BITMAP_DATA_LENGTH: split the rectangle (64×64 tiles always fit).
 */
export function encodeBitmap(src: Uint8Array, stride: number, rect: BitmapRect, session: BitmapSession): EncodedBitmap {
  let codec = selectBitmapCodec(session);
  let bpp = session.bpp as BitmapBpp;
  const width = alignedBitmapWidth(rect.width);
  let data: Buffer;
  if (codec === planarCodec) {
    const rle = encodeInterleaved(src, stride, rect, 24);
    const planar = rle.length < width * rect.height * INTERLEAVED_GOOD_ENOUGH ? undefined : codec.encode(src, stride, rect, bpp);
    if (planar && planar.length <= rle.length) {
      data = planar;
    } else {
      codec = interleavedCodec;
      bpp = 24;
      data = rle;
    }
  } else {
    data = codec.encode(src, stride, rect, bpp);
    if (codec === interleavedCodec && data.length >= width * rect.height * bitmapBytesPerPixel(bpp)) {
      codec = uncompressedCodec;
      data = codec.encode(src, stride, rect, bpp);
    }
  }
  if (data.length > MAX_BITMAP_DATA_LENGTH) {
    throw new RangeError(
      `a ${rect.width}x${rect.height} bitmap at ${bpp} bpp encodes to ${data.length} bytes, over TS_BITMAP_DATA's ${MAX_BITMAP_DATA_LENGTH}`,
    );
  }
  return {
    width,
    height: rect.height,
    bitsPerPixel: bpp,
    compressed: codec.compressed,
    flags: codec.compressed ? BITMAP_COMPRESSION | NO_BITMAP_COMPRESSION_HDR : 0,
    codec: codec.name,
    data,
  };
}
