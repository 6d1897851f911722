// Pointer (cursor) updates, MS-RDPBCGR 2.2.9.1.1.4 with their fast-path forms (2.2.9.1.2.1.5-11):
// a cursor image becomes a New Pointer Update (TS_POINTERATTRIBUTE, 32 bpp with alpha), a Large
// Pointer Update (TS_LARGEPOINTERATTRIBUTE, up to 384×384) or, for clients without New Pointer
// support, a 24-bpp Color Pointer Update; plus position, cached, hidden and default pointer.
// Masks are bottom-up rows padded to 2 bytes: the XOR mask holds the colours, the 1-bpp AND mask
// (most significant bit = leftmost pixel) is set where the pixel is transparent.
// Clipping: a cursor larger than the client accepts (32×32 without large-pointer support, 96×96
// with LARGE_POINTER_FLAG_96x96, 384×384 with LARGE_POINTER_FLAG_384x384, and smaller still when
// the update would not fit the client's maxRequestSize) is cut to a square window of that size:
// the top-left one when it holds the hotspot, else one centred on the hotspot (within the image).
import { ReadCursor, WriteCursor } from './cursor.js';
import { RdpProtocolError } from './errors.js';
import { type FastPathUpdate, FastPathUpdateCode } from './fast-path.js';
import { LargePointerFlags } from './capabilities.js';

/** A cursor image: `data` is B,G,R,A bytes, row after row, top-down, width × height × 4 bytes. */
export interface CursorImage {
  width: number;
  height: number;
  hotX: number;
  hotY: number;
  data: Buffer;
}

export interface PointerEncodeOptions {
  /** Pointer cache slot the client stores the image in (default 0). */
  cacheIndex?: number;
  /** The client's Large Pointer capability flags (0 or absent: no large pointers). */
  largePointerFlags?: number;
  /** The client sent no pointerCacheSize: it takes only 24-bpp Color Pointer Updates. */
  colorOnly?: boolean;
  /** The client's maxRequestSize: the update is kept within it (by clipping further). */
  maxRequestSize?: number;
}

/** The pointer hidden (fast-path PTR_NULL). */
export const HIDDEN_POINTER: FastPathUpdate = { updateCode: FastPathUpdateCode.PTR_NULL, data: Buffer.alloc(0) };
/** The client's default pointer (fast-path PTR_DEFAULT). */
export const DEFAULT_POINTER: FastPathUpdate = { updateCode: FastPathUpdateCode.PTR_DEFAULT, data: Buffer.alloc(0) };

/** Moves the client's pointer (TS_POINTERPOSATTRIBUTE). */
export function encodePointerPosition(x: number, y: number): FastPathUpdate {
  return { updateCode: FastPathUpdateCode.PTR_POSITION, data: new WriteCursor(4).u16le(x).u16le(y).toBuffer() };
}

/** Shows a pointer the client has cached earlier (TS_CACHEDPOINTERATTRIBUTE). */
export function encodeCachedPointer(cacheIndex: number): FastPathUpdate {
  return { updateCode: FastPathUpdateCode.CACHED, data: new WriteCursor(2).u16le(cacheIndex).toBuffer() };
}

const COLOR_POINTER_HEADER = 14; // cacheIndex, hotSpot, width, height, lengthAndMask, lengthXorMask
const LARGE_POINTER_HEADER = 20;
const SIDE_LIMITS = [384, 96, 64, 48, 32];

const xorStride = (width: number, bpp: number): number => (((width * bpp + 7) >> 3) + 1) & ~1;
const andStride = (width: number): number => (((width + 7) >> 3) + 1) & ~1;

function encodedSize(width: number, height: number, bpp: number): number {
  const header = width > 96 || height > 96 ? LARGE_POINTER_HEADER : COLOR_POINTER_HEADER + 2;
  return header + (xorStride(width, bpp) + andStride(width)) * height;
}

/**
 * A New Pointer Update (≤ 96×96), Large Pointer Update (> 96, when allowed) or Color Pointer
 * Update (colorOnly) for the image, clipped as described at the top of this file. A 0×0 image
 * gives HIDDEN_POINTER.
 */
export function encodePointerImage(image: CursorImage, o: PointerEncodeOptions = {}): FastPathUpdate {
  const { width, height } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0 || image.data.length < width * height * 4) {
    throw new RangeError(`cursor image ${width}x${height} needs ${width * height * 4} bytes of BGRA, has ${image.data.length}`);
  }
  if (width === 0 || height === 0) return HIDDEN_POINTER;
  const bpp = o.colorOnly ? 24 : 32;
  const flags = o.largePointerFlags ?? 0;
  const flagLimit =
    flags & LargePointerFlags.SIZE_384x384 && !o.colorOnly ? 384 : flags & LargePointerFlags.SIZE_96x96 ? 96 : 32;
  const side =
    SIDE_LIMITS.find(
      (s) => s <= flagLimit && encodedSize(Math.min(width, s), Math.min(height, s), bpp) <= (o.maxRequestSize ?? Infinity),
    ) ?? 32;
  const clipped = clipCursor(image, side);
  const masks = encodeMasks(clipped, bpp);
  const cacheIndex = o.cacheIndex ?? 0;
  if (clipped.width > 96 || clipped.height > 96) {
    const w = new WriteCursor(LARGE_POINTER_HEADER + masks.xor.length + masks.and.length)
      .u16le(bpp) // xorBpp
      .u16le(cacheIndex)
      .u16le(clipped.hotX)
      .u16le(clipped.hotY)
      .u16le(clipped.width)
      .u16le(clipped.height)
      .u32le(masks.and.length) // lengthAndMask
      .u32le(masks.xor.length) // lengthXorMask
      .bytes(masks.xor)
      .bytes(masks.and);
    return { updateCode: FastPathUpdateCode.LARGE_POINTER, data: w.toBuffer() };
  }
  const w = new WriteCursor(2 + COLOR_POINTER_HEADER + masks.xor.length + masks.and.length);
  if (!o.colorOnly) w.u16le(bpp); // TS_POINTERATTRIBUTE.xorBpp, then TS_COLORPOINTERATTRIBUTE
  w.u16le(cacheIndex)
    .u16le(clipped.hotX)
    .u16le(clipped.hotY)
    .u16le(clipped.width)
    .u16le(clipped.height)
    .u16le(masks.and.length) // lengthAndMask
    .u16le(masks.xor.length) // lengthXorMask
    .bytes(masks.xor)
    .bytes(masks.and);
  return { updateCode: o.colorOnly ? FastPathUpdateCode.COLOR : FastPathUpdateCode.POINTER, data: w.toBuffer() };
}

function clipCursor(image: CursorImage, side: number): CursorImage {
  const window = (hot: number, size: number): number => (hot < side ? 0 : Math.min(hot - (side >> 1), size - side));
  if (image.width <= side && image.height <= side) {
    return { ...image, hotX: Math.min(image.hotX, image.width - 1), hotY: Math.min(image.hotY, image.height - 1) };
  }
  const x0 = image.width > side ? window(image.hotX, image.width) : 0;
  const y0 = image.height > side ? window(image.hotY, image.height) : 0;
  const width = Math.min(image.width, side);
  const height = Math.min(image.height, side);
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    const from = ((y0 + y) * image.width + x0) * 4;
    image.data.copy(data, y * width * 4, from, from + width * 4);
  }
  const clampHot = (hot: number, origin: number, size: number): number => Math.max(0, Math.min(hot - origin, size - 1));
  return { width, height, hotX: clampHot(image.hotX, x0, width), hotY: clampHot(image.hotY, y0, height), data };
}

function encodeMasks(image: CursorImage, bpp: 24 | 32): { xor: Buffer; and: Buffer } {
  const { width, height, data } = image;
  const xStride = xorStride(width, bpp);
  const aStride = andStride(width);
  const xor = Buffer.alloc(xStride * height);
  const and = Buffer.alloc(aStride * height);
  const bytesPerPixel = bpp / 8;
  for (let y = 0; y < height; y++) {
    const row = height - 1 - y; // bottom-up
    for (let x = 0; x < width; x++) {
      const src = (y * width + x) * 4;
      const alpha = data[src + 3]!;
      // 32 bpp keeps partial alpha; 24 bpp can only show a pixel or not.
      const transparent = bpp === 32 ? alpha === 0 : alpha < 0x80;
      if (transparent) {
        and[row * aStride + (x >> 3)] |= 0x80 >> (x & 7);
        continue; // XOR stays 0: the screen shows through
      }
      data.copy(xor, row * xStride + x * bytesPerPixel, src, src + bytesPerPixel);
    }
  }
  return { xor, and };
}

// --- Slow path -------------------------------------------------------------------------------

const PointerMessageType = { SYSTEM: 0x1, POSITION: 0x3, COLOR: 0x6, CACHED: 0x7, POINTER: 0x8, LARGE: 0x9 } as const;
const SYSPTR_NULL = 0x00000000;
const SYSPTR_DEFAULT = 0x00007f00;

/** The same update as a slow-path TS_POINTER_PDU body (for encodeShareData with PduType2.POINTER). */
export function pointerUpdateToSlowPath(update: FastPathUpdate): Buffer {
  const header = (messageType: number): WriteCursor => new WriteCursor(8 + update.data.length).u16le(messageType).u16le(0);
  switch (update.updateCode) {
    case FastPathUpdateCode.PTR_NULL:
      return header(PointerMessageType.SYSTEM).u32le(SYSPTR_NULL).toBuffer();
    case FastPathUpdateCode.PTR_DEFAULT:
      return header(PointerMessageType.SYSTEM).u32le(SYSPTR_DEFAULT).toBuffer();
    case FastPathUpdateCode.PTR_POSITION:
      return header(PointerMessageType.POSITION).bytes(update.data).toBuffer();
    case FastPathUpdateCode.COLOR:
      return header(PointerMessageType.COLOR).bytes(update.data).toBuffer();
    case FastPathUpdateCode.CACHED:
      return header(PointerMessageType.CACHED).bytes(update.data).toBuffer();
    case FastPathUpdateCode.POINTER:
      return header(PointerMessageType.POINTER).bytes(update.data).toBuffer();
    case FastPathUpdateCode.LARGE_POINTER:
      return header(PointerMessageType.LARGE).bytes(update.data).toBuffer();
    default:
      throw new RangeError(`fast-path update code ${update.updateCode} is not a pointer update`);
  }
}

// --- Decoding (tests, diagnostics) -----------------------------------------------------------

export interface DecodedPointerShape {
  xorBpp: number;
  cacheIndex: number;
  hotX: number;
  hotY: number;
  width: number;
  height: number;
  xorMask: Buffer;
  andMask: Buffer;
}

/** Parses a COLOR, POINTER or LARGE_POINTER fast-path update's data, checking mask sizes. */
export function decodePointerShape(update: FastPathUpdate): DecodedPointerShape {
  const c = new ReadCursor(update.data, 'pointer update');
  const large = update.updateCode === FastPathUpdateCode.LARGE_POINTER;
  let xorBpp = 24;
  if (large || update.updateCode === FastPathUpdateCode.POINTER) xorBpp = c.u16le();
  else if (update.updateCode !== FastPathUpdateCode.COLOR) {
    throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `pointer update: code ${update.updateCode} carries no shape`);
  }
  if (![1, 4, 8, 16, 24, 32].includes(xorBpp)) throw new RdpProtocolError('RDP_ERR_BAD_VALUE', `pointer update: xorBpp ${xorBpp}`);
  const cacheIndex = c.u16le();
  const hotX = c.u16le();
  const hotY = c.u16le();
  const width = c.u16le();
  const height = c.u16le();
  const maxSide = large ? 384 : 96;
  if (width > maxSide || height > maxSide) {
    throw new RdpProtocolError('RDP_ERR_BAD_VALUE', `pointer update: ${width}x${height} exceeds ${maxSide}x${maxSide}`);
  }
  const lengthAndMask = large ? c.u32le() : c.u16le();
  const lengthXorMask = large ? c.u32le() : c.u16le();
  if (lengthXorMask !== xorStride(width, xorBpp) * height || lengthAndMask !== andStride(width) * height) {
    throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `pointer update: mask lengths ${lengthXorMask}/${lengthAndMask} do not match ${width}x${height} at ${xorBpp} bpp`);
  }
  const xorMask = c.bytes(lengthXorMask);
  const andMask = c.bytes(lengthAndMask);
  return { xorBpp, cacheIndex, hotX, hotY, width, height, xorMask, andMask };
}

/** A 24- or 32-bpp shape back to top-down BGRA; AND-masked pixels become 0,0,0,0. */
export function pointerShapeToImage(shape: DecodedPointerShape): CursorImage {
  const { width, height, xorBpp } = shape;
  if (xorBpp !== 24 && xorBpp !== 32) throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `pointer shape: ${xorBpp} bpp is not converted`);
  const data = Buffer.alloc(width * height * 4);
  const xStride = xorStride(width, xorBpp);
  const aStride = andStride(width);
  const bytesPerPixel = xorBpp / 8;
  for (let y = 0; y < height; y++) {
    const row = height - 1 - y;
    for (let x = 0; x < width; x++) {
      if (shape.andMask[row * aStride + (x >> 3)]! & (0x80 >> (x & 7))) continue;
      const dst = (y * width + x) * 4;
      const src = row * xStride + x * bytesPerPixel;
      shape.xorMask.copy(data, dst, src, src + bytesPerPixel);
      if (xorBpp === 24) data[dst + 3] = 0xff;
    }
  }
  return { width, height, hotX: shape.hotX, hotY: shape.hotY, data };
}
