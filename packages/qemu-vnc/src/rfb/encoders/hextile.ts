// Hextile encoding (RFC 6143 §7.7.4): the rectangle in 16×16 tiles, left to right, top to
// bottom; each tile either raw or a background plus subrectangles. The background and the
// foreground carry over from tile to tile when unchanged, except across a raw tile (and the
// foreground across a tile with coloured subrectangles). A tile goes raw when its
// subrectangles would take more bytes, as QEMU's ui/vnc-enc-hextile-template.h decides for
// many-colour tiles; unlike QEMU's one-row runs, subrectangles here grow in both directions.
import { convertRect, type PixelFormat } from '@vdi-sidecar/display-core';
import { Encoding, HextileFlag } from '../constants.js';
import { encodeRectHeader } from '../server-messages.js';
import { ByteWriter } from './byte-writer.js';
import { checkRect, type EncodeOptions, type FramebufferView, type Rect, type RectEncoder } from './encoder.js';
import { buildPalette, readPixelValues } from './pixels.js';

const TILE = 16;

/** A subrectangle of one colour inside a tile; `at` is a tile pixel of that colour. */
interface Subrect {
  at: number;
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * Covers the tile's non-background pixels with single-colour rectangles, greedily: from each
 * uncovered pixel, the larger of "widest run, then as many rows as fit" and "tallest run,
 * then as many columns as fit". Subrectangles never overlap. Gives up (undefined) beyond
 * `limit` subrectangles, when raw is smaller anyway.
 */
function findSubrects(tile: Uint32Array, w: number, h: number, background: number, limit: number): Subrect[] | undefined {
  const covered = new Uint8Array(w * h);
  const subrects: Subrect[] = [];
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const at = y * w + x;
      const colour = tile[at];
      if (colour === background || covered[at]) continue;
      if (subrects.length === limit) return undefined;
      // A pixel can join when it has the colour and no subrectangle holds it yet.
      const free = (i: number): boolean => covered[i] === 0 && tile[i] === colour;
      // Widest run first, then rows.
      let runW = 1;
      while (x + runW < w && free(at + runW)) runW++;
      let rowsH = 1;
      rows: for (; y + rowsH < h; rowsH++) {
        for (let i = 0; i < runW; i++) if (!free(at + rowsH * w + i)) break rows;
      }
      // Tallest run first, then columns.
      let runH = 1;
      while (y + runH < h && free(at + runH * w)) runH++;
      let colsW = 1;
      columns: for (; x + colsW < w; colsW++) {
        for (let j = 0; j < runH; j++) if (!free(at + j * w + colsW)) break columns;
      }
      const [sw, sh] = runW * rowsH >= colsW * runH ? [runW, rowsH] : [colsW, runH];
      for (let j = 0; j < sh; j++) covered.fill(1, at + j * w, at + j * w + sw);
      subrects.push({ at, x, y, w: sw, h: sh });
    }
  }
  return subrects;
}

export class HextileEncoder implements RectEncoder {
  readonly encoding = Encoding.Hextile;

  encode(fb: FramebufferView, rect: Rect, opts: EncodeOptions, out: Buffer[]): number {
    checkRect(fb, rect);
    const { x, y, w, h } = rect;
    if (w === 0 || h === 0) return 0;
    const pf = opts.pixelFormat;
    const pixels = convertRect(fb.data, fb.stride, x, y, w, h, pf);
    const values = readPixelValues(pixels, pf);
    const writer = new ByteWriter(Math.min(w * h * (pf.bitsPerPixel >> 3) + 64, 1 << 20));
    const state: CarryOver = { background: undefined, foreground: undefined };
    const tile = new Uint32Array(TILE * TILE);
    const tileAt = new Int32Array(TILE * TILE);
    for (let ty = 0; ty < h; ty += TILE) {
      const th = Math.min(TILE, h - ty);
      for (let tx = 0; tx < w; tx += TILE) {
        const tw = Math.min(TILE, w - tx);
        for (let row = 0; row < th; row++) {
          for (let col = 0; col < tw; col++) {
            const at = (ty + row) * w + tx + col;
            tile[row * tw + col] = values[at];
            tileAt[row * tw + col] = at;
          }
        }
        encodeTile(writer, tile.subarray(0, tw * th), tileAt, tw, th, pixels, pf, state);
      }
    }
    out.push(encodeRectHeader(x, y, w, h, this.encoding), writer.toBuffer());
    return 1;
  }

  reset(): void {}

  close(): void {}
}

/** Colours the next tile may leave unspecified; undefined when they may not carry over. */
interface CarryOver {
  background: number | undefined;
  foreground: number | undefined;
}

function encodeTile(
  writer: ByteWriter,
  tile: Uint32Array,
  tileAt: Int32Array,
  w: number,
  h: number,
  pixels: Buffer,
  pf: PixelFormat,
  state: CarryOver,
): void {
  const size = pf.bitsPerPixel >> 3;
  const pixelBytes = (tileIndex: number): Buffer => {
    const at = tileAt[tileIndex] * size;
    return pixels.subarray(at, at + size);
  };
  const writeRaw = (): void => {
    writer.u8(HextileFlag.Raw);
    // Each tile row is a contiguous run of the rectangle's converted pixels.
    for (let row = 0; row < h; row++) {
      const start = tileAt[row * w] * size;
      writer.bytes(pixels.subarray(start, start + w * size));
    }
    // Nothing carries over a raw tile (RFC 6143 §7.7.4).
    state.background = undefined;
    state.foreground = undefined;
  };
  const rawSize = 1 + w * h * size;
  // Every colour but the background costs a coloured subrectangle at least (mask and count
  // bytes aside): beyond this many colours raw is smaller whatever the layout.
  const maxColours = Math.min(256, Math.ceil((rawSize - 2) / (2 + size)));
  const palette = buildPalette(tile, Math.max(1, maxColours));
  if (!palette) {
    writeRaw();
    return;
  }
  const background = palette.colours[0];
  const newBackground = background !== state.background;

  if (palette.colours.length === 1) {
    // Solid tile: at most the background, no subrectangles. The foreground stays valid.
    writer.u8(newBackground ? HextileFlag.BackgroundSpecified : 0);
    if (newBackground) writer.bytes(pixelBytes(palette.first[0]));
    state.background = background;
    return;
  }

  const mono = palette.colours.length === 2;
  const foreground = mono ? palette.colours[1] : undefined;
  const newForeground = mono && foreground !== state.foreground;
  const fixedSize =
    1 + // subencoding-mask
    (newBackground ? size : 0) +
    (newForeground ? size : 0) +
    1; // number-of-subrectangles
  const subrectSize = mono ? 2 : 2 + size;
  // Subrectangles are worth it only while they stay smaller than raw, and at most 255 fit.
  const limit = Math.min(255, Math.ceil((rawSize - fixedSize) / subrectSize) - 1);
  // Each colour but the background needs a subrectangle at least.
  const subrects = palette.colours.length - 1 <= limit ? findSubrects(tile, w, h, background, limit) : undefined;

  if (!subrects) {
    writeRaw();
    return;
  }

  let mask = HextileFlag.AnySubrects;
  if (newBackground) mask |= HextileFlag.BackgroundSpecified;
  if (newForeground) mask |= HextileFlag.ForegroundSpecified;
  if (!mono) mask |= HextileFlag.SubrectsColoured;
  writer.u8(mask);
  if (newBackground) writer.bytes(pixelBytes(palette.first[0]));
  if (newForeground) writer.bytes(pixelBytes(palette.first[1]));
  writer.u8(subrects.length);
  for (const s of subrects) {
    if (!mono) writer.bytes(pixelBytes(s.at)); // subrect-pixel-value
    writer.u8((s.x << 4) | s.y); // x-and-y-position
    writer.u8(((s.w - 1) << 4) | (s.h - 1)); // width-and-height, each minus one
  }
  state.background = background;
  // Coloured subrectangles end the foreground's validity; a mono tile sets it.
  state.foreground = mono ? foreground : undefined;
}
