// One RemoteFX tile (MS-RDPRFX 2.2.2.3.4.1 TS_RFX_TILE, encoding per 3.1.8.1): the 64×64 pixels
// at (64·xIdx, 64·yIdx) → Y, Cb, Cr (color.ts) → 3-level DWT (dwt.ts) → quantization
// (quantization.ts) → LL3 differentially coded (3.1.8.1.6: each LL3 value after the first replaced
// by its difference to the one before, in the band's row-major order) → RLGR (rlgr.ts).
//
// TS_RFX_TILE, little-endian: blockType u16 = CBT_TILE (0xCAC3), blockLen u32 (19 + data),
// quantIdxY u8, quantIdxCb u8, quantIdxCr u8, xIdx u16, yIdx u16, YLen u16, CbLen u16, CrLen u16,
// then YData, CbData, CrData.
import { TILE_PIXELS, TILE_SIZE, bgrxTileToYCbCr } from './color.js';
import { forwardDwt } from './dwt.js';
import { type QuantValues, quantize } from './quantization.js';
import { type RlgrMode, rlgrEncodeScratch } from './rlgr.js';

export const CBT_TILE = 0xcac3;
export const TILE_HEADER_SIZE = 19;
/** Start of LL3 in a transformed component. */
export const LL3_OFFSET = 4032;

const yPlane = new Int16Array(TILE_PIXELS);
const cbPlane = new Int16Array(TILE_PIXELS);
const crPlane = new Int16Array(TILE_PIXELS);

export interface TileQuant {
  /** Quant set of each component: the values, and their index in the tileset's quant list. */
  y: QuantValues;
  cb: QuantValues;
  cr: QuantValues;
  quantIdxY: number;
  quantIdxCb: number;
  quantIdxCr: number;
}

/** Replaces LL3 (the last 64 values) by its first value and successive differences, in place. */
export function differentialEncode(coeffs: Int16Array, start = LL3_OFFSET, end = coeffs.length): void {
  for (let i = end - 1; i > start; i--) coeffs[i] = coeffs[i] - coeffs[i - 1];
}

/** DWT → quantization → LL3 differential for one component plane (in place). */
export function transformComponent(plane: Int16Array, quant: QuantValues): Int16Array {
  forwardDwt(plane);
  quantize(plane, quant);
  differentialEncode(plane);
  return plane;
}

/**
 * The TS_RFX_TILE block for tile (xIdx, yIdx) of a B,G,R,X frame of `width` × `height` pixels
 * (`stride` bytes a row); parts of the tile beyond the frame repeat its edge pixels.
 */
export function encodeTile(
  src: Uint8Array,
  stride: number,
  width: number,
  height: number,
  xIdx: number,
  yIdx: number,
  quant: TileQuant,
  mode: RlgrMode,
): Buffer {
  return encodeTileAt(src, stride, width, height, xIdx * TILE_SIZE, yIdx * TILE_SIZE, xIdx, yIdx, quant, mode);
}

/**
 * Like encodeTile, but the 64×64 pixels are taken at (x, y), anywhere in the frame, and the block
 * says (xIdx, yIdx): for a message whose channel is not the frame (the graphics pipeline's
 * CAVIDEO, where one tile at (0, 0) of its destination rectangle is cut from the surface).
 */
export function encodeTileAt(
  src: Uint8Array,
  stride: number,
  width: number,
  height: number,
  x: number,
  y: number,
  xIdx: number,
  yIdx: number,
  quant: TileQuant,
  mode: RlgrMode,
): Buffer {
  bgrxTileToYCbCr(src, stride, x, y, width, height, yPlane, cbPlane, crPlane);
  const parts: Buffer[] = [];
  for (const [plane, q] of [
    [yPlane, quant.y],
    [cbPlane, quant.cb],
    [crPlane, quant.cr],
  ] as const) {
    const coded = rlgrEncodeScratch(mode, transformComponent(plane, q));
    if (coded.length > 0xffff) throw new RangeError(`a RemoteFX tile component coded to ${coded.length} bytes (over 65535)`);
    parts.push(Buffer.from(coded));
  }
  const [yData, cbData, crData] = parts as [Buffer, Buffer, Buffer];
  const blockLen = TILE_HEADER_SIZE + yData.length + cbData.length + crData.length;
  const out = Buffer.allocUnsafe(blockLen);
  out.writeUInt16LE(CBT_TILE, 0);
  out.writeUInt32LE(blockLen, 2);
  out[6] = quant.quantIdxY;
  out[7] = quant.quantIdxCb;
  out[8] = quant.quantIdxCr;
  out.writeUInt16LE(xIdx, 9);
  out.writeUInt16LE(yIdx, 11);
  out.writeUInt16LE(yData.length, 13);
  out.writeUInt16LE(cbData.length, 15);
  out.writeUInt16LE(crData.length, 17);
  yData.copy(out, TILE_HEADER_SIZE);
  cbData.copy(out, TILE_HEADER_SIZE + yData.length);
  crData.copy(out, TILE_HEADER_SIZE + yData.length + cbData.length);
  return out;
}
