// Damage → fast-path Bitmap Updates for one client: damaged rectangles are cut into 64×64 tiles
// (as Windows and FreeRDP servers do; every codec's output then fits TS_BITMAP_DATA's 16-bit
// length), each tile is encoded with the session's codec, and the tiles are packed into updates
// no larger than the client's reassembly buffer (MS-RDPBCGR 2.2.7.2.6), then fast-path frames.
// Tiles of one colour go as OpaqueRect drawing orders instead when the client takes them; with
// compression, neighbouring tiles of a row that are not go as one bitmap up to MAX_BITMAP_WIDTH
// wide (one TS_BITMAP_DATA header instead of four, and RLE runs that go on across).
import { solidColor, type Framebuffer, type Rect } from '@vdi-sidecar/display-core';
import { encodeBitmap, selectBitmapCodec, type BitmapCodecName, type BitmapSession } from '../codec/index.js';
import { encodeBitmapUpdateData, splitBitmapRects, type BitmapRect } from '../pdu/bitmap-update.js';
import type { BulkCompressor } from '../bulk/index.js';
import { encodeOpaqueRectOrder, encodeOrdersUpdateData } from '../pdu/drawing-orders.js';
import { encodeFastPathUpdates, FastPathUpdateCode, type FastPathUpdate } from '../pdu/fast-path.js';

export const TILE_SIZE = 64;

/** The tiles (≤ TILE_SIZE wide, ≤ `tileHeight` high, row by row) that cover `r`. */
export function tilesOf(r: Rect, tileHeight = TILE_SIZE): Rect[] {
  const tiles: Rect[] = [];
  for (let y = r.y; y < r.y + r.h; y += tileHeight) {
    for (let x = r.x; x < r.x + r.w; x += TILE_SIZE) {
      tiles.push({ x, y, w: Math.min(TILE_SIZE, r.x + r.w - x), h: Math.min(tileHeight, r.y + r.h - y) });
    }
  }
  return tiles;
}

/** Room for the update's and the rectangle's own headers inside the client's reassembly buffer. */
const UPDATE_OVERHEAD = 64;

/**
 * The widest bitmap tiles are joined into. Compressed, a 256×64 bitmap stays under TS_BITMAP_DATA's
 * 65,535 bytes whatever the pixels: planar falls back to raw planes (3 bytes a pixel), interleaved
 * RLE to uncompressed (at most 3 bytes a pixel). Uncompressed 32 bpp would not fit: no joining then.
 */
export const MAX_BITMAP_WIDTH = 4 * TILE_SIZE;

export class BitmapUpdateEncoder {
  /**
   * A client without a large reassembly buffer (no Multifragment Update set: 16 KiB) cannot take
   * a 64×64 tile uncompressed at 32 bpp; its tiles get fewer rows.
   */
  private readonly tileHeight: number;
  /** The codec the session's depth and compression choose (tiles may still fall back to uncompressed). */
  readonly codecName: BitmapCodecName;
  /** OpaqueRect orders sent so far (solidFills), for metrics. */
  opaqueRects = 0;
  /** Bitmaps sent so far by codec (a 32 bpp session mixes planar and interleaved), for metrics. */
  readonly bitmapsByCodec: Record<BitmapCodecName, number> = { uncompressed: 0, interleaved: 0, planar: 0 };
  /** Tiles of one colour are filled: the client takes OpaqueRect, and the colour is plain R, G, B. */
  private readonly fillsSolidTiles: boolean;
  /** How wide neighbouring tiles of a row are joined: MAX_BITMAP_WIDTH, or TILE_SIZE (no joining). */
  private readonly bitmapWidth: number;

  constructor(
    private readonly session: BitmapSession,
    /** The client's largest reassembled fast-path update. */
    private readonly maxRequestSize: number,
    /** The client did not announce NO_BITMAP_COMPRESSION_HDR: compressed data gets a TS_CD_HEADER. */
    private readonly compressionHeader = false,
    /**
     * The client takes OpaqueRect orders: tiles of one colour are filled rather than sent as
     * bitmaps. Only at 24 and 32 bpp, where the order's colour is plain red, green and blue.
     */
    solidFills = false,
  ) {
    this.fillsSolidTiles = solidFills && session.bpp >= 24;
    const pixelBytes = Math.ceil(session.bpp / 8);
    this.tileHeight = Math.max(1, Math.min(TILE_SIZE, Math.floor((maxRequestSize - UPDATE_OVERHEAD) / (TILE_SIZE * pixelBytes))));
    // Joined, a bitmap must still fit the client's reassembly buffer even uncompressed.
    const fitting = Math.floor((maxRequestSize - UPDATE_OVERHEAD) / (this.tileHeight * pixelBytes) / TILE_SIZE) * TILE_SIZE;
    this.bitmapWidth = session.compression ? Math.max(TILE_SIZE, Math.min(MAX_BITMAP_WIDTH, fitting)) : TILE_SIZE;
    this.codecName = selectBitmapCodec(session).name;
  }

  /**
   * Fast-path frames that paint `rects` (which must lie inside the frame) from `fb`, after the
   * drawing `orders` given (e.g. a ScrBlt that must reach the client first); with `bulk`,
   * bulk-compressed (the frames must then all be sent, in order).
   */
  encode(fb: Framebuffer, rects: readonly Rect[], bulk?: BulkCompressor, orders: readonly Buffer[] = []): Buffer[] {
    const bitmaps: BitmapRect[] = [];
    const fills: Fill[] = [];
    /** Tiles of the current row waiting to go as one bitmap. */
    let run: Rect | undefined;
    const flush = () => {
      if (!run) return;
      const t = run;
      run = undefined;
      const b = encodeBitmap(fb.data, fb.stride, { x: t.x, y: t.y, width: t.w, height: t.h }, this.session);
      this.bitmapsByCodec[b.codec]++;
      bitmaps.push({
        left: t.x,
        top: t.y,
        right: t.x + t.w - 1,
        bottom: t.y + t.h - 1,
        width: b.width,
        height: b.height,
        bitsPerPixel: b.bitsPerPixel,
        compressed: b.compressed,
        data: b.data,
      });
    };
    for (const r of rects) {
      for (const t of tilesOf(r, this.tileHeight)) {
        const color = this.fillsSolidTiles ? solidColor(fb.data, fb.stride, t) : undefined;
        if (color !== undefined) {
          flush();
          addFill(fills, { ...t, color });
        } else if (run && continuesRow(run, t) && run.w + t.w <= this.bitmapWidth) {
          run.w += t.w;
        } else {
          flush();
          run = { ...t };
        }
      }
    }
    flush();
    const options = { compressionHeader: this.compressionHeader };
    const updates: FastPathUpdate[] = splitBitmapRects(bitmaps, this.maxRequestSize - UPDATE_OVERHEAD, options).map((batch) => ({
      updateCode: FastPathUpdateCode.BITMAP,
      data: encodeBitmapUpdateData(batch, options),
    }));
    const joined = joinDown(fills);
    this.opaqueRects += joined.length;
    // Pixels are B, G, R, X.
    const allOrders = [
      ...orders,
      ...joined.map((f) => encodeOpaqueRectOrder({ left: f.x, top: f.y, width: f.w, height: f.h, red: (f.color >> 16) & 0xff, green: (f.color >> 8) & 0xff, blue: f.color & 0xff })),
    ];
    if (allOrders.length) updates.unshift({ updateCode: FastPathUpdateCode.ORDERS, data: encodeOrdersUpdateData(allOrders) });
    return encodeFastPathUpdates(updates, this.maxRequestSize, bulk);
  }
}

/** A rectangle of one pixel value. */
interface Fill extends Rect {
  color: number;
}

/** Whether `next` lies just right of `r`, on the same rows (tiles come row by row). */
function continuesRow(r: Rect, next: Rect): boolean {
  return r.y === next.y && r.h === next.h && r.x + r.w === next.x;
}

/** Adds a tile of one colour to `fills`, widening the fill just before it when it continues it (tiles come row by row). */
function addFill(fills: Fill[], t: Fill): void {
  const last = fills[fills.length - 1];
  if (last && last.color === t.color && continuesRow(last, t)) last.w += t.w;
  else fills.push(t);
}

/** Fills of the same columns and colour that touch vertically, joined (the input comes row by row). */
function joinDown(fills: readonly Fill[]): Fill[] {
  const byBottom = new Map<string, Fill>();
  const out: Fill[] = [];
  // A fill is found by its columns, colour and the row just below it.
  const key = (f: Fill, bottom: number) => `${f.x},${f.w},${f.color},${bottom}`;
  for (const f of fills) {
    const above = byBottom.get(key(f, f.y));
    if (above) {
      byBottom.delete(key(f, f.y));
      above.h += f.h;
      byBottom.set(key(above, above.y + above.h), above);
      continue;
    }
    const copy = { ...f };
    out.push(copy);
    byBottom.set(key(copy, f.y + f.h), copy);
  }
  return out;
}
