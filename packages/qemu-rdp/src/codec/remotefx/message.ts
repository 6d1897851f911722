// The RemoteFX message stream (MS-RDPRFX 2.2.2): header messages, sent once at the start of the
// stream (TS_RFX_SYNC first; this module writes them in the order of the spec's own example,
// 4.2.2: SYNC, CONTEXT, CODEC_VERSIONS, CHANNELS), then per frame TS_RFX_FRAME_BEGIN,
// TS_RFX_REGION, TS_RFX_TILESET and TS_RFX_FRAME_END. All fields little-endian.
//
//   TS_RFX_BLOCKT          blockType u16, blockLen u32 (whole block)
//   TS_RFX_CODEC_CHANNELT  BLOCKT, codecId u8 (= 1), channelId u8 (0xFF for CONTEXT, else 0)
//   TS_RFX_SYNC            BLOCKT, magic u32 0xCACCACCA, version u16 0x0100                  12
//   TS_RFX_CODEC_VERSIONS  BLOCKT, numCodecs u8 = 1, {codecId u8 = 1, version u16 0x0100}     10
//   TS_RFX_CHANNELS        BLOCKT, numChannels u8 = 1, {channelId u8 = 0, width, height}      12
//   TS_RFX_CONTEXT         CHANNELT, ctxId u8 = 0, tileSize u16 = 64, properties u16          13
//   TS_RFX_FRAME_BEGIN     CHANNELT, frameIdx u32, numRegions u16 = 1                         14
//   TS_RFX_REGION          CHANNELT, regionFlags u8 (lrf = 1), numRects u16, rects (x, y,
//                          width, height u16 each), regionType u16 0xCAC1, numTilesets u16 1  15 + 8n
//   TS_RFX_TILESET         CHANNELT (blockType WBT_EXTENSION), subtype u16 0xCAC2, idx u16 0,
//                          properties u16, numQuant u8, tileSize u8 = 64, numTiles u16,
//                          tilesDataSize u32, quantVals (5 bytes each), tiles                 22 + 5q + tiles
//   TS_RFX_FRAME_END       CHANNELT                                                           8
//
// TS_RFX_CONTEXT.properties: flags (bits 0-2; CODEC_MODE 0x02 = image mode, 0 = video mode),
// cct (3-4) = 1 ICT, xft (5-8) = 1 DWT 5/3, et (9-12) = 1 RLGR1 / 4 RLGR3, qt (13-14) = 1 scalar.
// TS_RFX_TILESET.properties: lt (bit 0) = 1, then the same fields one bit higher.
import { type QuantValues, QUANT_SET_SIZE, encodeQuant } from './quantization.js';
import type { RlgrMode } from './rlgr.js';

export const WBT_SYNC = 0xccc0;
export const WBT_CODEC_VERSIONS = 0xccc1;
export const WBT_CHANNELS = 0xccc2;
export const WBT_CONTEXT = 0xccc3;
export const WBT_FRAME_BEGIN = 0xccc4;
export const WBT_FRAME_END = 0xccc5;
export const WBT_REGION = 0xccc6;
export const WBT_EXTENSION = 0xccc7;
export const CBT_REGION = 0xcac1;
export const CBT_TILESET = 0xcac2;
export const WF_MAGIC = 0xcaccacca;
export const WF_VERSION_1_0 = 0x0100;
export const CT_TILE_64X64 = 0x0040;
/** TS_RFX_CONTEXT flags: image mode (otherwise video mode). */
export const CODEC_MODE = 0x02;
export const COL_CONV_ICT = 0x1;
export const CLW_XFORM_DWT_53_A = 0x1;
export const CLW_ENTROPY_RLGR1 = 0x01;
export const CLW_ENTROPY_RLGR3 = 0x04;
export const SCALAR_QUANTIZATION = 0x1;
const RFX_CODEC_ID = 0x01;

export const HEADER_MESSAGES_SIZE = 12 + 13 + 10 + 12;
/** Bytes of one frame's messages besides its rects, quant sets and tiles. */
export const FRAME_MESSAGES_OVERHEAD = 14 + 15 + 22 + 8;

export interface RfxRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface RfxStreamOptions {
  /** The channel (surface) size: the desktop. */
  width: number;
  height: number;
  entropy: RlgrMode;
  /** CODEC_MODE (image mode) instead of video mode (default false). */
  imageMode?: boolean;
}

function entropyBits(mode: RlgrMode): number {
  return mode === 'rlgr1' ? CLW_ENTROPY_RLGR1 : CLW_ENTROPY_RLGR3;
}

/** TS_RFX_CONTEXT.properties. */
export function contextProperties(o: Pick<RfxStreamOptions, 'entropy' | 'imageMode'>): number {
  return (
    (o.imageMode ? CODEC_MODE : 0) |
    (COL_CONV_ICT << 3) |
    (CLW_XFORM_DWT_53_A << 5) |
    (entropyBits(o.entropy) << 9) |
    (SCALAR_QUANTIZATION << 13)
  );
}

/** TS_RFX_TILESET.properties. */
export function tilesetProperties(o: Pick<RfxStreamOptions, 'entropy' | 'imageMode'>): number {
  return (
    1 |
    ((o.imageMode ? CODEC_MODE : 0) << 1) |
    (COL_CONV_ICT << 4) |
    (CLW_XFORM_DWT_53_A << 6) |
    (entropyBits(o.entropy) << 10) |
    (SCALAR_QUANTIZATION << 14)
  );
}

function checkU16(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`${what} ${v} does not fit 16 bits`);
}

/** TS_RFX_SYNC, TS_RFX_CONTEXT, TS_RFX_CODEC_VERSIONS and TS_RFX_CHANNELS (one channel). */
export function encodeHeaderMessages(o: RfxStreamOptions): Buffer {
  if (o.width < 1 || o.width > 0x7fff || o.height < 1 || o.height > 0x7fff) {
    throw new RangeError(`RemoteFX channel size ${o.width}x${o.height} is out of range`);
  }
  const b = Buffer.alloc(HEADER_MESSAGES_SIZE);
  let p = 0;
  p = b.writeUInt16LE(WBT_SYNC, p);
  p = b.writeUInt32LE(12, p);
  p = b.writeUInt32LE(WF_MAGIC, p);
  p = b.writeUInt16LE(WF_VERSION_1_0, p);

  p = b.writeUInt16LE(WBT_CONTEXT, p);
  p = b.writeUInt32LE(13, p);
  p = b.writeUInt8(RFX_CODEC_ID, p);
  p = b.writeUInt8(0xff, p);
  p = b.writeUInt8(0, p); // ctxId
  p = b.writeUInt16LE(CT_TILE_64X64, p);
  p = b.writeUInt16LE(contextProperties(o), p);

  p = b.writeUInt16LE(WBT_CODEC_VERSIONS, p);
  p = b.writeUInt32LE(10, p);
  p = b.writeUInt8(1, p); // numCodecs
  p = b.writeUInt8(RFX_CODEC_ID, p);
  p = b.writeUInt16LE(WF_VERSION_1_0, p);

  p = b.writeUInt16LE(WBT_CHANNELS, p);
  p = b.writeUInt32LE(12, p);
  p = b.writeUInt8(1, p); // numChannels
  p = b.writeUInt8(0, p); // channelId
  p = b.writeUInt16LE(o.width, p);
  b.writeUInt16LE(o.height, p);
  return b;
}

export interface RfxFrameMessage {
  /** TS_RFX_FRAME_BEGIN.frameIdx. */
  frameIdx: number;
  /** The region's rectangles (channel coordinates): what the client updates from the tiles. */
  rects: readonly RfxRect[];
  /** The tileset's quant sets; tiles refer to them by index. */
  quants: readonly QuantValues[];
  /** TS_RFX_TILE blocks (tile.ts). */
  tiles: readonly Buffer[];
  entropy: RlgrMode;
  imageMode?: boolean;
}

/** The size encodeFrameMessages gives for these counts and tile bytes. */
export function frameMessagesSize(numRects: number, numQuant: number, tilesDataSize: number): number {
  return FRAME_MESSAGES_OVERHEAD + 8 * numRects + QUANT_SET_SIZE * numQuant + tilesDataSize;
}

/** TS_RFX_FRAME_BEGIN, TS_RFX_REGION, TS_RFX_TILESET, TS_RFX_FRAME_END. */
export function encodeFrameMessages(f: RfxFrameMessage): Buffer {
  checkU16('numRects', f.rects.length);
  checkU16('numTiles', f.tiles.length);
  if (f.quants.length < 1 || f.quants.length > 0xff) throw new RangeError(`numQuant ${f.quants.length} is not 1..255`);
  let tilesDataSize = 0;
  for (const t of f.tiles) tilesDataSize += t.length;
  const b = Buffer.allocUnsafe(frameMessagesSize(f.rects.length, f.quants.length, tilesDataSize));
  let p = 0;
  p = b.writeUInt16LE(WBT_FRAME_BEGIN, p);
  p = b.writeUInt32LE(14, p);
  p = b.writeUInt8(RFX_CODEC_ID, p);
  p = b.writeUInt8(0, p);
  p = b.writeUInt32LE(f.frameIdx >>> 0, p);
  p = b.writeUInt16LE(1, p); // numRegions

  p = b.writeUInt16LE(WBT_REGION, p);
  p = b.writeUInt32LE(15 + 8 * f.rects.length, p);
  p = b.writeUInt8(RFX_CODEC_ID, p);
  p = b.writeUInt8(0, p);
  p = b.writeUInt8(1, p); // regionFlags: lrf
  p = b.writeUInt16LE(f.rects.length, p);
  for (const r of f.rects) {
    for (const [what, v] of [
      ['rect x', r.x],
      ['rect y', r.y],
      ['rect width', r.width],
      ['rect height', r.height],
    ] as const) {
      checkU16(what, v);
      p = b.writeUInt16LE(v, p);
    }
  }
  p = b.writeUInt16LE(CBT_REGION, p);
  p = b.writeUInt16LE(1, p); // numTilesets

  p = b.writeUInt16LE(WBT_EXTENSION, p);
  p = b.writeUInt32LE(22 + QUANT_SET_SIZE * f.quants.length + tilesDataSize, p);
  p = b.writeUInt8(RFX_CODEC_ID, p);
  p = b.writeUInt8(0, p);
  p = b.writeUInt16LE(CBT_TILESET, p);
  p = b.writeUInt16LE(0, p); // idx
  p = b.writeUInt16LE(tilesetProperties(f), p);
  p = b.writeUInt8(f.quants.length, p);
  p = b.writeUInt8(CT_TILE_64X64, p);
  p = b.writeUInt16LE(f.tiles.length, p);
  p = b.writeUInt32LE(tilesDataSize, p);
  for (const q of f.quants) p += encodeQuant(q).copy(b, p);
  for (const t of f.tiles) p += t.copy(b, p);

  p = b.writeUInt16LE(WBT_FRAME_END, p);
  p = b.writeUInt32LE(8, p);
  p = b.writeUInt8(RFX_CODEC_ID, p);
  b.writeUInt8(0, p);
  return b;
}
