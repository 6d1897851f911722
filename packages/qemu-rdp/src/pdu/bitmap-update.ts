// Bitmap Update data, TS_UPDATE_BITMAP_DATA (MS-RDPBCGR 2.2.9.1.1.3.1.2): updateType
// (UPDATETYPE_BITMAP), numberRectangles, then one TS_BITMAP_DATA per rectangle. The same bytes
// are the data of a fast-path FASTPATH_UPDATETYPE_BITMAP update (whose data keeps the updateType
// field: FreeRDP fastpath_recv_update_common reads it) and the body of a slow-path Update PDU
// (pduType2 UPDATE). Uncompressed bitmap data is bottom-up rows, each padded to 4 bytes;
// compressed data is interleaved RLE or planar (MS-RDPBCGR 2.2.9.1.1.3.1.2.4, MS-RDPEGDI).
import { WriteCursor } from './cursor.js';

export const UPDATETYPE_BITMAP = 0x0001;

/** TS_BITMAP_DATA flags. */
export const BitmapDataFlags = { BITMAP_COMPRESSION: 0x0001, NO_BITMAP_COMPRESSION_HDR: 0x0400 } as const;

export interface BitmapRect {
  /** Destination on the desktop; right and bottom are inclusive. */
  left: number;
  top: number;
  right: number;
  bottom: number;
  /** Size of the bitmap in `data`; may exceed the destination when rows are padded. */
  width: number;
  height: number;
  bitsPerPixel: number;
  /** Whether `data` is compressed (interleaved RLE or planar). */
  compressed: boolean;
  data: Buffer;
}

export interface BitmapEncodeOptions {
  /**
   * Write a TS_CD_HEADER before compressed data: needed when the client did not announce
   * NO_BITMAP_COMPRESSION_HDR in its General capability set (default false).
   */
  compressionHeader?: boolean;
}

const UPDATE_HEADER_SIZE = 4; // updateType, numberRectangles
const RECT_HEADER_SIZE = 18;
const COMPRESSION_HEADER_SIZE = 8;
const MAX_RECTANGLES = 0xffff;

/** A BitmapRect whose destination is exactly the bitmap (x, y, width × height). */
export function bitmapRectAt(x: number, y: number, bitmap: Omit<BitmapRect, 'left' | 'top' | 'right' | 'bottom'>): BitmapRect {
  return { left: x, top: y, right: x + bitmap.width - 1, bottom: y + bitmap.height - 1, ...bitmap };
}

function hasCompressionHeader(rect: BitmapRect, o: BitmapEncodeOptions): boolean {
  return rect.compressed && o.compressionHeader === true;
}

/** Bytes one rectangle takes in TS_UPDATE_BITMAP_DATA. */
export function encodedBitmapRectSize(rect: BitmapRect, o: BitmapEncodeOptions = {}): number {
  return RECT_HEADER_SIZE + (hasCompressionHeader(rect, o) ? COMPRESSION_HEADER_SIZE : 0) + rect.data.length;
}

/** TS_UPDATE_BITMAP_DATA for the given rectangles (RangeError on values that do not fit). */
export function encodeBitmapUpdateData(rects: readonly BitmapRect[], o: BitmapEncodeOptions = {}): Buffer {
  if (rects.length > MAX_RECTANGLES) throw new RangeError(`bitmap update: ${rects.length} rectangles exceed 65535`);
  const size = rects.reduce((n, r) => n + encodedBitmapRectSize(r, o), UPDATE_HEADER_SIZE);
  const w = new WriteCursor(size).u16le(UPDATETYPE_BITMAP).u16le(rects.length);
  for (const r of rects) writeBitmapData(w, r, o);
  return w.toBuffer();
}

function writeBitmapData(w: WriteCursor, r: BitmapRect, o: BitmapEncodeOptions): void {
  for (const v of [r.left, r.top, r.right, r.bottom, r.width, r.height, r.bitsPerPixel]) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`bitmap rectangle field ${v} is not a 16-bit unsigned integer`);
  }
  const header = hasCompressionHeader(r, o);
  const bitmapLength = (header ? COMPRESSION_HEADER_SIZE : 0) + r.data.length;
  if (bitmapLength > 0xffff) throw new RangeError(`bitmap rectangle data of ${bitmapLength} bytes exceeds 65535: tile it smaller`);
  const flags = r.compressed
    ? BitmapDataFlags.BITMAP_COMPRESSION | (header ? 0 : BitmapDataFlags.NO_BITMAP_COMPRESSION_HDR)
    : 0;
  w.u16le(r.left).u16le(r.top).u16le(r.right).u16le(r.bottom);
  w.u16le(r.width).u16le(r.height).u16le(r.bitsPerPixel).u16le(flags).u16le(bitmapLength);
  if (header) {
    const scanWidth = (r.width * Math.ceil(r.bitsPerPixel / 8) + 3) & ~3;
    w.u16le(0) // cbCompFirstRowSize: MUST be 0
      .u16le(r.data.length) // cbCompMainBodySize
      .u16le(scanWidth) // cbScanWidth
      .u16le(scanWidth * r.height); // cbUncompressedSize
  }
  w.bytes(r.data);
}

/**
 * Groups rectangles, in order, into batches whose TS_UPDATE_BITMAP_DATA stays within maxBytes
 * (e.g. the client's maxRequestSize). A rectangle that alone exceeds it is a RangeError.
 */
export function splitBitmapRects(rects: readonly BitmapRect[], maxBytes: number, o: BitmapEncodeOptions = {}): BitmapRect[][] {
  const batches: BitmapRect[][] = [];
  let batch: BitmapRect[] = [];
  let size = UPDATE_HEADER_SIZE;
  for (const rect of rects) {
    const rectSize = encodedBitmapRectSize(rect, o);
    if (UPDATE_HEADER_SIZE + rectSize > maxBytes) {
      throw new RangeError(`bitmap rectangle of ${rectSize} bytes cannot fit an update of at most ${maxBytes} bytes`);
    }
    if (size + rectSize > maxBytes || batch.length === MAX_RECTANGLES) {
      batches.push(batch);
      batch = [];
      size = UPDATE_HEADER_SIZE;
    }
    batch.push(rect);
    size += rectSize;
  }
  if (batch.length > 0) batches.push(batch);
  return batches;
}
