// Scalar quantization of RemoteFX sub-bands (MS-RDPRFX 2.2.2.1.5 TS_RFX_CODEC_QUANT, 3.1.8.1.5).
// A quant set holds ten 4-bit factors, in TS_RFX_CODEC_QUANT order:
//   LL3, LH3, HL3, HH3, LH2, HL2, HH2, LH1, HL1, HH1
// packed two a byte, the first of each pair in the low nibble. The decoder multiplies a band's
// values by 2^(q−1), which also restores the 5 fractional bits of the colour conversion; the
// encoder divides by the same power of two, rounding to nearest. Valid factors are 6 … 15.
import { TILE_PIXELS } from './color.js';

export type QuantValues = readonly number[];

/** FreeRDP's and Windows' default quant set (6,6,6,6,7,7,8,8,8,9 in TS_RFX_CODEC_QUANT order). */
export const DEFAULT_QUANT: QuantValues = Object.freeze([6, 6, 6, 6, 7, 7, 8, 8, 8, 9]);

export const QUANT_MIN = 6;
export const QUANT_MAX = 15;
export const QUANT_SET_SIZE = 5;

/** TS_RFX_CODEC_QUANT index of the factor of each sub-band, in RemoteFX band order (HL1 … LL3). */
const BAND_QUANT_INDEX = [8, 7, 9, 5, 4, 6, 2, 1, 3, 0] as const;
const BAND_OFFSET = [0, 1024, 2048, 3072, 3328, 3584, 3840, 3904, 3968, 4032, 4096] as const;

export function checkQuant(q: QuantValues): void {
  if (q.length !== 10) throw new RangeError(`a RemoteFX quant set has 10 values, not ${q.length}`);
  for (const v of q) {
    if (!Number.isInteger(v) || v < QUANT_MIN || v > QUANT_MAX) {
      throw new RangeError(`RemoteFX quant values are integers ${QUANT_MIN}..${QUANT_MAX}, not ${v}`);
    }
  }
}

/** The 5 bytes of a TS_RFX_CODEC_QUANT. */
export function encodeQuant(q: QuantValues): Buffer {
  checkQuant(q);
  const out = Buffer.alloc(QUANT_SET_SIZE);
  for (let i = 0; i < QUANT_SET_SIZE; i++) out[i] = (q[2 * i] & 0x0f) | ((q[2 * i + 1] & 0x0f) << 4);
  return out;
}

/** The ten factors of a TS_RFX_CODEC_QUANT (not range-checked: a decoder decides what it takes). */
export function decodeQuant(b: Uint8Array, offset = 0): number[] {
  const q: number[] = [];
  for (let i = 0; i < QUANT_SET_SIZE; i++) {
    const byte = b[offset + i];
    q.push(byte & 0x0f, byte >> 4);
  }
  return q;
}

/**
 * Quantizes a transformed tile component (11.5 fixed point, bands in RemoteFX order) in place:
 * each value of a band becomes round(value / 2^(q−1)).
 */
export function quantize(coeffs: Int16Array, q: QuantValues): Int16Array {
  if (coeffs.length !== TILE_PIXELS) throw new RangeError(`a RemoteFX tile component has ${TILE_PIXELS} values`);
  for (let band = 0; band < 10; band++) {
    const shift = q[BAND_QUANT_INDEX[band]] - 1;
    const half = 1 << (shift - 1);
    const end = BAND_OFFSET[band + 1];
    for (let i = BAND_OFFSET[band]; i < end; i++) coeffs[i] = (coeffs[i] + half) >> shift;
  }
  return coeffs;
}

/** The inverse of quantize (what a decoder does): value · 2^(q−1) per band, in place. */
export function dequantize(coeffs: Int16Array, q: QuantValues): Int16Array {
  for (let band = 0; band < 10; band++) {
    const shift = q[BAND_QUANT_INDEX[band]] - 1;
    const end = BAND_OFFSET[band + 1];
    for (let i = BAND_OFFSET[band]; i < end; i++) coeffs[i] = coeffs[i] << shift;
  }
  return coeffs;
}
