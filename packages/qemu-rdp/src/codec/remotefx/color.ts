// Colour conversion for RemoteFX (MS-RDPRFX 3.1.8.1.3, the irreversible colour transform, ICT):
//   Y  =  0.299    R + 0.587    G + 0.114    B − 128
//   Cb = −0.168935 R − 0.331665 G + 0.500590 B
//   Cr =  0.499813 R − 0.418531 G − 0.081282 B
// Results are 16-bit fixed point with 5 fractional bits (value · 32), the representation the rest
// of the pipeline works in (quantization removes the 5 bits again). The factors are the spec's
// scaled by 2^15 and rounded so that each row sums to exactly 2^15 (Y) or 0 (Cb, Cr): greys give
// exact Y and zero chroma. Products are then rounded to the 5-bit fraction (>> 10 with +512).
// Values are clamped to [−4096, 4095] (−128.0 … 127.97), as the decoder expects.

export const TILE_SIZE = 64;
export const TILE_PIXELS = TILE_SIZE * TILE_SIZE;

const Y_R = 9798;
const Y_G = 19235;
const Y_B = 3735; // 0.114 · 2^15 = 3735.6, taken down so Y_R + Y_G + Y_B = 32768
const CB_R = -5535;
const CB_G = -10868;
const CB_B = 16403;
const CR_R = 16377;
const CR_G = -13714;
const CR_B = -2663;

const ROUND = 512;
const Y_OFFSET = 128 << 5; // the −128 level shift, in 11.5 fixed point

function clamp(v: number): number {
  return v < -4096 ? -4096 : v > 4095 ? 4095 : v;
}

/**
 * Converts the 64×64 tile at (x0, y0) of a B,G,R,X frame (`stride` bytes a row) into Y, Cb and Cr
 * planes of 4096 values each (rows of 64). Pixels beyond `width` × `height` (the frame's size,
 * for tiles on its right or bottom edge) repeat the last column and row, which keeps the wavelet
 * from spending bits on a false edge.
 */
export function bgrxTileToYCbCr(
  src: Uint8Array,
  stride: number,
  x0: number,
  y0: number,
  width: number,
  height: number,
  yOut: Int16Array,
  cbOut: Int16Array,
  crOut: Int16Array,
): void {
  const w = Math.min(TILE_SIZE, width - x0);
  const h = Math.min(TILE_SIZE, height - y0);
  if (w <= 0 || h <= 0) throw new RangeError(`tile at ${x0},${y0} lies outside the ${width}x${height} frame`);
  if ((y0 + h - 1) * stride + (x0 + w) * 4 > src.length) {
    throw new RangeError(`frame of ${src.length} bytes is too short for a tile at ${x0},${y0} (stride ${stride})`);
  }
  for (let row = 0; row < h; row++) {
    let p = (y0 + row) * stride + x0 * 4;
    let o = row * TILE_SIZE;
    for (let col = 0; col < w; col++, p += 4, o++) {
      const b = src[p];
      const g = src[p + 1];
      const r = src[p + 2];
      yOut[o] = clamp(((Y_R * r + Y_G * g + Y_B * b + ROUND) >> 10) - Y_OFFSET);
      cbOut[o] = clamp((CB_R * r + CB_G * g + CB_B * b + ROUND) >> 10);
      crOut[o] = clamp((CR_R * r + CR_G * g + CR_B * b + ROUND) >> 10);
    }
    if (w < TILE_SIZE) {
      const last = o - 1;
      yOut.fill(yOut[last], o, row * TILE_SIZE + TILE_SIZE);
      cbOut.fill(cbOut[last], o, row * TILE_SIZE + TILE_SIZE);
      crOut.fill(crOut[last], o, row * TILE_SIZE + TILE_SIZE);
    }
  }
  if (h < TILE_SIZE) {
    const lastRow = (h - 1) * TILE_SIZE;
    for (let row = h; row < TILE_SIZE; row++) {
      yOut.copyWithin(row * TILE_SIZE, lastRow, lastRow + TILE_SIZE);
      cbOut.copyWithin(row * TILE_SIZE, lastRow, lastRow + TILE_SIZE);
      crOut.copyWithin(row * TILE_SIZE, lastRow, lastRow + TILE_SIZE);
    }
  }
}
