// Forward discrete wavelet transform of a RemoteFX tile component (MS-RDPRFX 3.1.8.1.4): three
// levels of a 2-D lifting transform (the 5/3 Le Gall wavelet in the spec's integer form, with the
// high band halved), applied first down the columns and then along the rows. With x the input of
// one 1-D pass of length 2N, for n = 0 … N−1:
//   H[n] = (x[2n+1] − ((x[2n] + x[2n+2]) >> 1)) >> 1        x[2N] taken as x[2N−2] (mirror)
//   L[n] = x[2n] + ((H[n−1] + H[n]) >> 1)                   H[−1] taken as H[0]
// Level 1 turns the 64×64 block into HL1, LH1, HH1 (32×32 each) and LL1; level 2 transforms LL1
// into HL2, LH2, HH2 (16×16) and LL2; level 3 transforms LL2 into HL3, LH3, HH3 and LL3 (8×8). In
// the 4096-value buffer the bands end up in RemoteFX order, each row-major:
//   HL1 0, LH1 1024, HH1 2048, HL2 3072, LH2 3328, HH2 3584, HL3 3840, LH3 3904, HH3 3968, LL3 4032.
// (HL: horizontally high, vertically low; LH the reverse.)

import { TILE_PIXELS } from './color.js';

/** Offsets of the ten sub-bands in a transformed 64×64 tile, in RemoteFX order. */
export const SUBBANDS = [
  { name: 'HL1', offset: 0, size: 1024 },
  { name: 'LH1', offset: 1024, size: 1024 },
  { name: 'HH1', offset: 2048, size: 1024 },
  { name: 'HL2', offset: 3072, size: 256 },
  { name: 'LH2', offset: 3328, size: 256 },
  { name: 'HH2', offset: 3584, size: 256 },
  { name: 'HL3', offset: 3840, size: 64 },
  { name: 'LH3', offset: 3904, size: 64 },
  { name: 'HH3', offset: 3968, size: 64 },
  { name: 'LL3', offset: 4032, size: 64 },
] as const;

export type SubbandName = (typeof SUBBANDS)[number]['name'];

let scratch = new Int16Array(TILE_PIXELS);

/** One level on the (2·half)² block at buf[off…]: bands written back as HL, LH, HH, LL. */
function level(buf: Int16Array, off: number, half: number, tmp: Int16Array): void {
  const width = half * 2;
  const hRows = half * width; // tmp: L rows first, then H rows
  // Vertical pass, column by column.
  for (let x = 0; x < width; x++) {
    let prevH = 0;
    for (let n = 0; n < half; n++) {
      const even = buf[off + 2 * n * width + x];
      const odd = buf[off + (2 * n + 1) * width + x];
      const next = n < half - 1 ? buf[off + (2 * n + 2) * width + x] : even;
      const hv = (odd - ((even + next) >> 1)) >> 1;
      tmp[hRows + n * width + x] = hv;
      tmp[n * width + x] = even + (n === 0 ? hv : (prevH + hv) >> 1);
      prevH = hv;
    }
  }
  // Horizontal pass, row by row: L rows give HL and LL, H rows give HH and LH.
  const band = half * half;
  const hl = off;
  const lh = off + band;
  const hh = off + 2 * band;
  const ll = off + 3 * band;
  for (let y = 0; y < half; y++) {
    rowPass(tmp, y * width, half, buf, ll + y * half, hl + y * half);
    rowPass(tmp, hRows + y * width, half, buf, lh + y * half, hh + y * half);
  }
}

function rowPass(src: Int16Array, s: number, half: number, dst: Int16Array, lo: number, hi: number): void {
  let prevH = 0;
  for (let n = 0; n < half; n++) {
    const even = src[s + 2 * n];
    const odd = src[s + 2 * n + 1];
    const next = n < half - 1 ? src[s + 2 * n + 2] : even;
    const hv = (odd - ((even + next) >> 1)) >> 1;
    dst[hi + n] = hv;
    dst[lo + n] = even + (n === 0 ? hv : (prevH + hv) >> 1);
    prevH = hv;
  }
}

/** Transforms a 64×64 component (4096 values, rows of 64) in place into the ten RemoteFX sub-bands. */
export function forwardDwt(buf: Int16Array): Int16Array {
  if (buf.length !== TILE_PIXELS) throw new RangeError(`a RemoteFX tile component has ${TILE_PIXELS} values, not ${buf.length}`);
  if (scratch.length < TILE_PIXELS) scratch = new Int16Array(TILE_PIXELS);
  level(buf, 0, 32, scratch);
  level(buf, 3072, 16, scratch);
  level(buf, 3840, 8, scratch);
  return buf;
}
