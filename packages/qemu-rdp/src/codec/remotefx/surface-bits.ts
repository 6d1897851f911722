// Surface commands (MS-RDPBCGR 2.2.9.2), the body of a fast-path update with updateCode
// FastPathUpdateCode.SURFCMDS (2.2.9.1.2.1.10): a sequence of commands, each starting with its
// cmdType u16. All little-endian.
//   TS_SURFCMD_SET_SURF_BITS / TS_SURFCMD_STREAM_SURF_BITS (2.2.9.2.1, 2.2.9.2.2): cmdType,
//     destLeft, destTop, destRight, destBottom u16 (right and bottom exclusive), then
//     TS_BITMAP_DATA_EX (2.2.9.2.1.1): bpp u8, flags u8 (EX_COMPRESSED_BITMAP_HEADER_PRESENT 0x01:
//     not used here), reserved u8, codecID u8, width u16, height u16, bitmapDataLength u32,
//     bitmapData.
//   TS_FRAME_MARKER (2.2.9.2.3): cmdType, frameAction u16 (BEGIN 0, END 1), frameId u32.

export const CMDTYPE_SET_SURFACE_BITS = 0x0001;
export const CMDTYPE_FRAME_MARKER = 0x0004;
export const CMDTYPE_STREAM_SURFACE_BITS = 0x0006;
export const SURFACECMD_FRAMEACTION_BEGIN = 0x0000;
export const SURFACECMD_FRAMEACTION_END = 0x0001;

export const FRAME_MARKER_SIZE = 8;
/** cmdType + dest rectangle + the fixed part of TS_BITMAP_DATA_EX. */
export const SURFACE_BITS_HEADER_SIZE = 10 + 12;

export function encodeFrameMarker(frameAction: number, frameId: number): Buffer {
  const b = Buffer.alloc(FRAME_MARKER_SIZE);
  b.writeUInt16LE(CMDTYPE_FRAME_MARKER, 0);
  b.writeUInt16LE(frameAction, 2);
  b.writeUInt32LE(frameId >>> 0, 4);
  return b;
}

export interface SurfaceBitsCommand {
  /** CMDTYPE_STREAM_SURFACE_BITS (default) or CMDTYPE_SET_SURFACE_BITS. */
  cmdType?: number;
  destLeft: number;
  destTop: number;
  /** Exclusive. */
  destRight: number;
  /** Exclusive. */
  destBottom: number;
  /** TS_BITMAP_DATA_EX.bpp (default 32). */
  bpp?: number;
  /** The codec id the client gave the codec in its Bitmap Codecs capability set. */
  codecId: number;
  width: number;
  height: number;
  /** bitmapData. */
  data: Uint8Array;
}

function u16(what: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`${what} ${v} does not fit 16 bits`);
  return v;
}

/** One TS_SURFCMD_STREAM_SURF_BITS (or SET_SURF_BITS) with its TS_BITMAP_DATA_EX. */
export function encodeSurfaceBits(c: SurfaceBitsCommand): Buffer {
  if (!Number.isInteger(c.codecId) || c.codecId < 0 || c.codecId > 0xff) throw new RangeError(`codecID ${c.codecId} does not fit 8 bits`);
  const b = Buffer.allocUnsafe(SURFACE_BITS_HEADER_SIZE + c.data.length);
  let p = 0;
  p = b.writeUInt16LE(c.cmdType ?? CMDTYPE_STREAM_SURFACE_BITS, p);
  p = b.writeUInt16LE(u16('destLeft', c.destLeft), p);
  p = b.writeUInt16LE(u16('destTop', c.destTop), p);
  p = b.writeUInt16LE(u16('destRight', c.destRight), p);
  p = b.writeUInt16LE(u16('destBottom', c.destBottom), p);
  p = b.writeUInt8(c.bpp ?? 32, p);
  p = b.writeUInt8(0, p); // flags
  p = b.writeUInt8(0, p); // reserved
  p = b.writeUInt8(c.codecId, p);
  p = b.writeUInt16LE(u16('width', c.width), p);
  p = b.writeUInt16LE(u16('height', c.height), p);
  p = b.writeUInt32LE(c.data.length, p);
  b.set(c.data, p);
  return b;
}
