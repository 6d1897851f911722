/**
 * Damage: which parts of the framebuffer changed, kept per consumer until it
 * sends them.
 *
 * QEMU has no flow control and may send ~30 whole-screen frames a second, so
 * damage is never queued: each consumer (an RFB or RDP client) owns one
 * `Region`, a fixed-size bitmap of cells that only grows until the consumer
 * takes it. A slow client therefore costs one bitmap, however far behind it
 * falls, and gets everything that changed since its last update in one go —
 * as QEMU's own VNC server does with its dirty bitmap. `compareFrames` refines
 * whole-frame updates to what really changed, like TigerVNC's
 * ComparingUpdateTracker.
 */
import { EventEmitter } from 'node:events';

export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Cell size of a Region's bitmap, in pixels. 16 matches QEMU's VNC dirty map and Hextile tiles. */
export const DEFAULT_GRANULARITY = 16;
/** Most rectangles `Region.rects()` returns unless told otherwise. */
export const DEFAULT_MAX_RECTS = 256;

/** `r` clipped to a width×height frame, or undefined when nothing is left. */
export function clipRect(r: Rect, width: number, height: number): Rect | undefined {
  const x0 = Math.max(0, Math.floor(r.x));
  const y0 = Math.max(0, Math.floor(r.y));
  const x1 = Math.min(width, Math.ceil(r.x + r.w));
  const y1 = Math.min(height, Math.ceil(r.y + r.h));
  if (!(x1 > x0 && y1 > y0)) return undefined;
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}

export interface RegionOptions {
  /** Cell size in pixels (default 16). */
  granularity?: number;
  /** Upper bound on `rects()` output (default 256). */
  maxRects?: number;
}

function checkSize(width: number, height: number): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 0 || height < 0) {
    throw new RangeError(`invalid frame size ${width}x${height}`);
  }
}

/**
 * A set of damaged pixels of a width×height frame, kept as a bitmap of
 * granularity×granularity cells: adding is O(cells covered), memory is fixed
 * by the frame size, and what comes out is rounded out to whole cells
 * (clipped to the frame), never less than what went in.
 */
export class Region {
  readonly granularity: number;
  readonly maxRects: number;
  private w: number;
  private h: number;
  private cols: number;
  private rows: number;
  private cells: Uint8Array;
  private dirty = 0;

  constructor(width: number, height: number, options: RegionOptions = {}) {
    checkSize(width, height);
    const g = options.granularity ?? DEFAULT_GRANULARITY;
    if (!Number.isInteger(g) || g < 1) throw new RangeError(`invalid granularity ${g}`);
    const maxRects = options.maxRects ?? DEFAULT_MAX_RECTS;
    if (!Number.isInteger(maxRects) || maxRects < 1) throw new RangeError(`invalid maxRects ${maxRects}`);
    this.granularity = g;
    this.maxRects = maxRects;
    this.w = width;
    this.h = height;
    this.cols = Math.ceil(width / g);
    this.rows = Math.ceil(height / g);
    this.cells = new Uint8Array(this.cols * this.rows);
  }

  get width(): number {
    return this.w;
  }

  get height(): number {
    return this.h;
  }

  /** Add a rectangle; the part outside the frame is dropped. */
  add(rect: Rect): void {
    const r = clipRect(rect, this.w, this.h);
    if (!r) return;
    const g = this.granularity;
    const c0 = Math.floor(r.x / g);
    const c1 = Math.ceil((r.x + r.w) / g);
    const r0 = Math.floor(r.y / g);
    const r1 = Math.ceil((r.y + r.h) / g);
    const cells = this.cells;
    for (let row = r0; row < r1; row++) {
      const base = row * this.cols;
      for (let c = base + c0, end = base + c1; c < end; c++) {
        if (cells[c] === 0) {
          cells[c] = 1;
          this.dirty++;
        }
      }
    }
  }

  addRects(rects: Iterable<Rect>): void {
    for (const r of rects) this.add(r);
  }

  /** Mark the whole frame. */
  addAll(): void {
    this.cells.fill(1);
    this.dirty = this.cells.length;
  }

  /** Add everything in `other` (any size or granularity). */
  union(other: Region): void {
    if (other.granularity === this.granularity && other.cols === this.cols && other.rows === this.rows) {
      const a = this.cells;
      const b = other.cells;
      for (let i = 0; i < a.length; i++) {
        if (b[i] !== 0 && a[i] === 0) {
          a[i] = 1;
          this.dirty++;
        }
      }
      return;
    }
    this.addRects(other.rects(Number.MAX_SAFE_INTEGER));
  }

  isEmpty(): boolean {
    return this.dirty === 0;
  }

  /** The smallest rectangle holding all damage, or undefined when empty. */
  bounds(): Rect | undefined {
    if (this.dirty === 0) return undefined;
    let minC = this.cols;
    let maxC = -1;
    let minR = this.rows;
    let maxR = -1;
    for (let row = 0; row < this.rows; row++) {
      const base = row * this.cols;
      for (let c = 0; c < this.cols; c++) {
        if (this.cells[base + c] !== 0) {
          if (c < minC) minC = c;
          if (c > maxC) maxC = c;
          if (row < minR) minR = row;
          maxR = row;
        }
      }
    }
    return this.cellRect(minC, maxC + 1, minR, maxR + 1);
  }

  /** Number of damaged pixels (cells rounded out, clipped to the frame). */
  area(): number {
    let total = 0;
    for (const r of this.rects(Number.MAX_SAFE_INTEGER)) total += r.w * r.h;
    return total;
  }

  /**
   * Non-overlapping rectangles covering the damage: runs of dirty cells in
   * each cell row, merged downwards while the run below has the same extent.
   * When that gives more than `maxRects`, runs separated by a few clean cells
   * are joined (gap 1, 2, 4, … cells) and, if even one span per row is too
   * many, rows are grouped into bands — more pixels, but a bounded count.
   */
  rects(maxRects: number = this.maxRects): Rect[] {
    if (this.dirty === 0) return [];
    if (this.dirty === this.cells.length) return [{ x: 0, y: 0, w: this.w, h: this.h }];
    for (let gap = 0; gap < this.cols; gap = gap === 0 ? 1 : gap * 2) {
      const out = this.mergeSpans(1, gap);
      if (out.length <= maxRects) return out;
    }
    const band = Math.max(1, Math.ceil(this.rows / maxRects));
    return this.mergeSpans(band, this.cols);
  }

  /** Forget all damage. */
  clear(): void {
    this.cells.fill(0);
    this.dirty = 0;
  }

  /** `rects()`, then `clear()`. */
  takeAll(maxRects: number = this.maxRects): Rect[] {
    const out = this.rects(maxRects);
    this.clear();
    return out;
  }

  /**
   * Take the damage that touches `area` (whole cells, so possibly a little
   * beyond it) and leave the rest.
   */
  take(area: Rect, maxRects: number = this.maxRects): Rect[] {
    const r = clipRect(area, this.w, this.h);
    if (!r || this.dirty === 0) return [];
    const g = this.granularity;
    const part = new Region(this.w, this.h, { granularity: g, maxRects: this.maxRects });
    const c0 = Math.floor(r.x / g);
    const c1 = Math.ceil((r.x + r.w) / g);
    for (let row = Math.floor(r.y / g), r1 = Math.ceil((r.y + r.h) / g); row < r1; row++) {
      const base = row * this.cols;
      for (let c = base + c0; c < base + c1; c++) {
        if (this.cells[c] !== 0) {
          this.cells[c] = 0;
          this.dirty--;
          part.cells[c] = 1;
          part.dirty++;
        }
      }
    }
    return part.rects(maxRects);
  }

  /**
   * Change the frame size, keeping the damage that is still inside it. Newly
   * exposed area is not marked; callers that resize the framebuffer mark all.
   */
  resize(width: number, height: number): void {
    checkSize(width, height);
    const g = this.granularity;
    const cols = Math.ceil(width / g);
    const rows = Math.ceil(height / g);
    const cells = new Uint8Array(cols * rows);
    let dirty = 0;
    for (let row = 0; row < Math.min(rows, this.rows); row++) {
      for (let c = 0; c < Math.min(cols, this.cols); c++) {
        if (this.cells[row * this.cols + c] !== 0) {
          cells[row * cols + c] = 1;
          dirty++;
        }
      }
    }
    this.w = width;
    this.h = height;
    this.cols = cols;
    this.rows = rows;
    this.cells = cells;
    this.dirty = dirty;
  }

  private cellRect(c0: number, c1: number, r0: number, r1: number): Rect {
    const g = this.granularity;
    const x = c0 * g;
    const y = r0 * g;
    return { x, y, w: Math.min(c1 * g, this.w) - x, h: Math.min(r1 * g, this.h) - y };
  }

  /**
   * Rectangles from spans of dirty cells, `band` cell rows at a time, joining
   * spans separated by at most `gap` clean cells. Spans identical to ones in
   * the band above extend those rectangles downwards.
   */
  private mergeSpans(band: number, gap: number): Rect[] {
    const out: Rect[] = [];
    // Open rectangles, as flat [c0, c1, r0] triples sorted by c0.
    let open: number[] = [];
    for (let r0 = 0; r0 < this.rows; r0 += band) {
      const spans = this.bandSpans(r0, Math.min(this.rows, r0 + band), gap);
      const next: number[] = [];
      let k = 0;
      for (let s = 0; s < spans.length; s += 2) {
        const c0 = spans[s];
        const c1 = spans[s + 1];
        while (k < open.length && open[k] < c0) {
          out.push(this.cellRect(open[k], open[k + 1], open[k + 2], r0));
          k += 3;
        }
        if (k < open.length && open[k] === c0 && open[k + 1] === c1) {
          next.push(c0, c1, open[k + 2]);
          k += 3;
        } else {
          if (k < open.length && open[k] === c0) {
            out.push(this.cellRect(open[k], open[k + 1], open[k + 2], r0));
            k += 3;
          }
          next.push(c0, c1, r0);
        }
      }
      for (; k < open.length; k += 3) out.push(this.cellRect(open[k], open[k + 1], open[k + 2], r0));
      open = next;
    }
    for (let k = 0; k < open.length; k += 3) out.push(this.cellRect(open[k], open[k + 1], open[k + 2], this.rows));
    return out;
  }

  /** Spans [c0, c1) of columns with a dirty cell in rows [r0, r1), as flat pairs. */
  private bandSpans(r0: number, r1: number, gap: number): number[] {
    const spans: number[] = [];
    const cols = this.cols;
    let start = -1;
    let lastDirty = -1;
    for (let c = 0; c < cols; c++) {
      let dirty = false;
      for (let row = r0; row < r1 && !dirty; row++) dirty = this.cells[row * cols + c] !== 0;
      if (!dirty) continue;
      if (start < 0 || c - lastDirty - 1 > gap) {
        if (start >= 0) spans.push(start, lastDirty + 1);
        start = c;
      }
      lastDirty = c;
    }
    if (start >= 0) spans.push(start, lastDirty + 1);
    return spans;
  }
}

function asBuffer(a: Uint8Array): Buffer {
  return Buffer.isBuffer(a) ? a : Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

type Pixels = Uint32Array | Uint8Array;

/**
 * Index of the first element i in [start, end) where a[i] and b[i + delta]
 * differ, or -1. Elements are pixels (Uint32Array) or bytes (Uint8Array, when
 * a frame is not 4-byte aligned); `delta` maps a row of `a` onto `b`.
 */
function firstDiff(a: Pixels, b: Pixels, delta: number, start: number, end: number): number {
  for (let i = start; i < end; i++) if (a[i] !== b[i + delta]) return i;
  return -1;
}

function lastDiff(a: Pixels, b: Pixels, delta: number, start: number, end: number): number {
  for (let i = end - 1; i >= start; i--) if (a[i] !== b[i + delta]) return i;
  return -1;
}

/** A BGRX buffer whose byte 0 holds pixel (x0, y0) of the frame, rows `stride` bytes apart. */
interface FrameView {
  data: Uint8Array;
  stride: number;
  x0: number;
  y0: number;
}

function checkTile(tile: number): void {
  if (!Number.isInteger(tile) || tile < 1) throw new RangeError(`invalid tile size ${tile}`);
}

/**
 * The parts of `next` that differ from `prev`, two frames of the same
 * layout (BGRX, `stride` bytes per row): per tile×tile block of a grid
 * anchored at (0, 0), the bounding box of the changed pixels; boxes of
 * neighbouring tiles that line up are joined. Only `area` is compared when
 * given (e.g. the rectangle of a QEMU Update).
 *
 * Identical rows are skipped with one native memcmp each (whole bands at once
 * when the area spans full rows), so identical frames cost little; in a
 * changed tile the scan stops as soon as the box reaches the tile's edges.
 * The X byte of a pixel counts: a guest that changes only X bytes yields
 * damage, which is harmless.
 */
export function compareFrames(
  prev: Uint8Array,
  next: Uint8Array,
  stride: number,
  width: number,
  height: number,
  tile = 64,
  area?: Rect,
): Rect[] {
  checkSize(width, height);
  checkTile(tile);
  if (!Number.isInteger(stride) || stride < width * 4) throw new RangeError(`stride ${stride} is less than ${width} pixels`);
  const needed = height === 0 ? 0 : (height - 1) * stride + width * 4;
  if (prev.length < needed || next.length < needed) {
    throw new RangeError(`frames of ${prev.length} and ${next.length} bytes are smaller than ${width}x${height} at stride ${stride} (${needed} bytes)`);
  }
  const a = clipRect(area ?? { x: 0, y: 0, w: width, h: height }, width, height);
  if (!a) return [];
  return compareViews({ data: prev, stride, x0: 0, y0: 0 }, { data: next, stride, x0: 0, y0: 0 }, a, tile);
}

/**
 * The pixel value (4 bytes, little-endian) every pixel of `r` has in a frame of 4-byte pixels
 * with `stride` bytes per row, or undefined when they differ. A row is of one colour when it
 * equals itself shifted by one pixel; the other rows must then equal the first: one native
 * memcmp per row.
 */
export function solidColor(data: Uint8Array, stride: number, r: Rect): number | undefined {
  const buf = asBuffer(data);
  const first = r.y * stride + r.x * 4;
  const rowBytes = r.w * 4;
  if (r.w > 1 && buf.compare(buf, first, first + rowBytes - 4, first + 4, first + rowBytes) !== 0) return undefined;
  for (let y = 1; y < r.h; y++) {
    const row = first + y * stride;
    if (buf.compare(buf, first, first + rowBytes, row, row + rowBytes) !== 0) return undefined;
  }
  return buf.readUInt32LE(first);
}

/**
 * Like `compareFrames`, for new pixels that arrive as a rectangle of their
 * own: `incoming` holds `area` (its byte 0 is pixel (area.x, area.y)) with
 * `incomingStride` bytes per row, and is compared with the same rectangle of
 * the mirror frame. Tiles stay anchored at the frame's (0, 0).
 */
export function compareRect(
  mirror: Uint8Array,
  mirrorStride: number,
  incoming: Uint8Array,
  incomingStride: number,
  area: Rect,
  tile = 64,
): Rect[] {
  checkTile(tile);
  const { x, y, w, h } = area;
  if (![x, y, w, h, mirrorStride, incomingStride].every(Number.isInteger) || x < 0 || y < 0 || w < 0 || h < 0) {
    throw new RangeError(`invalid rectangle ${w}x${h}+${x}+${y}`);
  }
  if (w === 0 || h === 0) return [];
  if (incomingStride < w * 4 || incoming.length < (h - 1) * incomingStride + w * 4) {
    throw new RangeError(`incoming pixels (${incoming.length} bytes, stride ${incomingStride}) do not hold ${w}x${h}`);
  }
  if (mirrorStride < (x + w) * 4 || mirror.length < (y + h - 1) * mirrorStride + (x + w) * 4) {
    throw new RangeError(`rectangle ${w}x${h}+${x}+${y} lies outside the mirror (${mirror.length} bytes, stride ${mirrorStride})`);
  }
  return compareViews(
    { data: mirror, stride: mirrorStride, x0: 0, y0: 0 },
    { data: incoming, stride: incomingStride, x0: x, y0: y },
    { x, y, w, h },
    tile,
  );
}

/** The comparison behind both entry points; `a` is already checked to lie inside both views. */
function compareViews(prev: FrameView, next: FrameView, a: Rect, tile: number): Rect[] {
  const pb = asBuffer(prev.data);
  const nb = asBuffer(next.data);
  // Compare whole pixels when both frames allow 32-bit views; else bytes.
  const aligned =
    prev.stride % 4 === 0 && next.stride % 4 === 0 && prev.data.byteOffset % 4 === 0 && next.data.byteOffset % 4 === 0;
  const pp: Pixels = aligned ? new Uint32Array(prev.data.buffer, prev.data.byteOffset, prev.data.byteLength >> 2) : prev.data;
  const np: Pixels = aligned ? new Uint32Array(next.data.buffer, next.data.byteOffset, next.data.byteLength >> 2) : next.data;
  const per = aligned ? 1 : 4; // elements per pixel
  const unit = aligned ? 4 : 1; // bytes per element
  // Byte and element offsets of pixel (0, y) in each view (negative when the view starts further right).
  const pByte = (y: number): number => (y - prev.y0) * prev.stride - prev.x0 * 4;
  const nByte = (y: number): number => (y - next.y0) * next.stride - next.x0 * 4;
  const rows: RowIndex = {
    pRow: (y) => pByte(y) / unit,
    nRow: (y) => nByte(y) / unit,
  };

  const out: Rect[] = [];
  const ax1 = a.x + a.w;
  const ay1 = a.y + a.h;
  const rowBytes = a.w * 4;
  // Bands of full rows are contiguous in both views: compare them in one call.
  const contiguous = a.x - prev.x0 === 0 && rowBytes === prev.stride && a.x - next.x0 === 0 && rowBytes === next.stride;
  // Per row of the band: the first and last tile column with a change, -1 for a row without.
  const firstTile = new Int32Array(tile);
  const lastTile = new Int32Array(tile);
  const tileA = Math.floor(a.x / tile);
  const tileB = Math.floor((ax1 - 1) / tile);
  const tileStart = (t: number): number => Math.max(a.x, t * tile);
  const tileEnd = (t: number): number => Math.min(ax1, (t + 1) * tile);
  // Columns [x0, x1) of row y differ.
  const differs = (y: number, x0: number, x1: number): boolean => {
    const p0 = pByte(y) + x0 * 4;
    const n0 = nByte(y) + x0 * 4;
    return nb.compare(pb, p0, p0 + (x1 - x0) * 4, n0, n0 + (x1 - x0) * 4) !== 0;
  };

  for (let by0 = a.y; by0 < ay1; ) {
    const by1 = Math.min(ay1, (Math.floor(by0 / tile) + 1) * tile);
    if (contiguous) {
      const p0 = pByte(by0);
      const n0 = nByte(by0);
      const len = (by1 - by0) * rowBytes;
      if (nb.compare(pb, p0, p0 + len, n0, n0 + len) === 0) {
        by0 = by1;
        continue;
      }
    }
    let any = false;
    for (let y = by0; y < by1; y++) {
      const i = y - by0;
      firstTile[i] = lastTile[i] = -1;
      // The tiles at the ends of the row's change: the end tiles are scanned first (a row that
      // changed all over stops at its first and last pixel), then the change is bisected with
      // memcmp, so that a console line changed at its left end leaves the tiles to its right
      // unscanned.
      const base = rows.pRow(y);
      const d = rows.nRow(y) - base;
      let lo = tileA;
      let hi = tileA;
      if (firstDiff(pp, np, d, base + a.x * per, base + tileEnd(tileA) * per) < 0) {
        if (tileA === tileB || !differs(y, tileEnd(tileA), ax1)) continue;
        lo = tileA + 1;
        hi = tileB;
      }
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (differs(y, a.x, tileEnd(mid))) hi = mid;
        else lo = mid + 1;
      }
      firstTile[i] = lo;
      any = true;
      if (lo === tileB || lastDiff(pp, np, d, base + tileStart(tileB) * per, base + ax1 * per) >= 0) lo = hi = tileB;
      else hi = tileB - 1;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (differs(y, tileStart(mid), ax1)) lo = mid;
        else hi = mid - 1;
      }
      lastTile[i] = lo;
    }
    if (!any) {
      by0 = by1;
      continue;
    }
    let last: Rect | undefined;
    for (let bx0 = a.x; bx0 < ax1; ) {
      const bx1 = Math.min(ax1, (Math.floor(bx0 / tile) + 1) * tile);
      const t = Math.floor(bx0 / tile);
      const box = tileBox(pp, np, per, rows, { firstTile, lastTile, t }, bx0, bx1, by0, by1);
      if (box) {
        if (last && last.y === box.y && last.h === box.h && last.x + last.w === box.x) last.w += box.w;
        else out.push((last = box));
      }
      bx0 = bx1;
    }
    by0 = by1;
  }
  return out;
}

/** Element index of pixel (0, y) in each view. */
interface RowIndex {
  pRow(y: number): number;
  nRow(y: number): number;
}

/** The tile columns each row of a band changed in (from firstTile to lastTile), and this tile's column t. */
interface BandSpans {
  firstTile: Int32Array;
  lastTile: Int32Array;
  t: number;
}

/** Bounding box of the changed pixels in one tile, or undefined. */
function tileBox(
  pp: Pixels,
  np: Pixels,
  per: number,
  rows: RowIndex,
  spans: BandSpans,
  bx0: number,
  bx1: number,
  by0: number,
  by1: number,
): Rect | undefined {
  // Positions are element offsets from pixel (0, y) of the row: e0..e1 spans the tile.
  const e0 = bx0 * per;
  const e1 = bx1 * per;
  // Top row with a change, and where it starts and ends.
  let minY = -1;
  let minX = 0;
  let maxX = 0;
  for (let y = by0; y < by1; y++) {
    if (!inSpan(spans, y - by0)) continue;
    const base = rows.pRow(y);
    const d = rows.nRow(y) - base;
    const f = firstDiff(pp, np, d, base + e0, base + e1);
    if (f >= 0) {
      minY = y;
      minX = f - base;
      maxX = lastDiff(pp, np, d, f, base + e1) - base;
      break;
    }
  }
  if (minY < 0) return undefined;
  // Bottom row with a change.
  let maxY = minY;
  for (let y = by1 - 1; y > minY; y--) {
    if (!inSpan(spans, y - by0)) continue;
    const base = rows.pRow(y);
    const d = rows.nRow(y) - base;
    const l = lastDiff(pp, np, d, base + e0, base + e1);
    if (l >= 0) {
      maxY = y;
      maxX = Math.max(maxX, l - base);
      minX = Math.min(minX, firstDiff(pp, np, d, base + e0, l + 1) - base);
      break;
    }
  }
  // Rows in between can only widen the box; look only outside it.
  for (let y = minY + 1; y < maxY && (minX > e0 || maxX < e1 - 1); y++) {
    if (!inSpan(spans, y - by0)) continue;
    const base = rows.pRow(y);
    const d = rows.nRow(y) - base;
    if (minX > e0) {
      const f = firstDiff(pp, np, d, base + e0, base + minX);
      if (f >= 0) minX = f - base;
    }
    if (maxX < e1 - 1) {
      const l = lastDiff(pp, np, d, base + maxX + 1, base + e1);
      if (l >= 0) maxX = l - base;
    }
  }
  const x0 = Math.floor(minX / per);
  const x1 = Math.floor(maxX / per) + 1;
  return { x: x0, y: minY, w: x1 - x0, h: maxY - minY + 1 };
}

/** Row i of the band may have changed in the tile. */
function inSpan(spans: BandSpans, i: number): boolean {
  return spans.firstTile[i] <= spans.t && spans.t <= spans.lastTile[i];
}

/** Part of the screen that moved: the destination (x, y, w, h) now shows what (srcX, srcY, w, h) showed before. */
export interface CopyRect extends Rect {
  srcX: number;
  srcY: number;
}

/** Whether the copy is non-empty and its source and destination both lie inside a width×height frame. */
export function copyInside(copy: CopyRect, width: number, height: number): boolean {
  const inside = (x: number, y: number) => Number.isInteger(x) && Number.isInteger(y) && x >= 0 && y >= 0 && x + copy.w <= width && y + copy.h <= height;
  return Number.isInteger(copy.w) && Number.isInteger(copy.h) && copy.w > 0 && copy.h > 0 && inside(copy.x, copy.y) && inside(copy.srcX, copy.srcY);
}

/** One consumer's view of a DamageTracker. */
export interface DamageConsumer {
  /**
   * Everything damaged since the last take (all of `area`'s cells when given), coalesced; clears
   * what it returns. A copy still pending (see takeCopy) is turned into damage first.
   */
  take(area?: Rect): Rect[];
  /**
   * The pending copy, if any (at most one), removed: it must reach the client before the
   * rectangles that the next `take` returns, which may overlap its source or destination.
   */
  takeCopy(): CopyRect | undefined;
  /** Damage or a copy is pending. */
  hasDamage(): boolean;
  /** Bounding box of the pending damage, or undefined. */
  bounds(): Rect | undefined;
  /** Mark the whole frame for this consumer only (e.g. a non-incremental update request). */
  markAll(): void;
  /** Stop receiving damage; the tracker forgets this consumer. */
  close(): void;
  readonly closed: boolean;
}

export interface SubscribeOptions {
  /**
   * Called when damage arrives and the consumer has not been told since its
   * last take — once, not per rectangle. Keep it cheap (schedule the update);
   * it runs inside `addDamage`.
   */
  onDamage?: () => void;
  /** Start with the whole frame damaged (default true: a new client has seen nothing). */
  initialFull?: boolean;
  /**
   * Asked when a copy arrives (see DamageTracker.addCopy): true when this consumer can send it
   * as a copy now — its client's picture, once what is in flight arrives, is the framebuffer
   * as it was before the copy, because nothing is being encoded from the framebuffer at this
   * moment. Without it, or when it says false, the copy's destination becomes damage.
   */
  acceptsCopy?: () => boolean;
}

class Consumer implements DamageConsumer {
  readonly region: Region;
  armed = true;
  closed = false;
  copy: CopyRect | undefined;

  constructor(
    private readonly detach: (c: Consumer) => void,
    width: number,
    height: number,
    options: RegionOptions,
    readonly onDamage: (() => void) | undefined,
    readonly acceptsCopy: (() => boolean) | undefined,
  ) {
    this.region = new Region(width, height, options);
  }

  take(area?: Rect): Rect[] {
    this.armed = true;
    this.copyToDamage();
    return area ? this.region.take(area) : this.region.takeAll();
  }

  takeCopy(): CopyRect | undefined {
    const copy = this.copy;
    this.copy = undefined;
    return copy;
  }

  /** A copy that cannot be sent as one is sent as the pixels of its destination. */
  copyToDamage(): void {
    if (!this.copy) return;
    this.region.addRects([this.copy]);
    this.copy = undefined;
  }

  hasDamage(): boolean {
    return this.copy !== undefined || !this.region.isEmpty();
  }

  bounds(): Rect | undefined {
    return this.region.bounds();
  }

  markAll(): void {
    // Everything is sent again: a copy would be wasted, and after a resize may not fit.
    this.copy = undefined;
    this.region.addAll();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.detach(this);
  }
}

export interface DamageTrackerEvents {
  /** Damage was added (already clipped to the frame), for observers such as statistics or "first frame" waits. */
  damage: [rects: Rect[]];
}

/**
 * Fans damage out to any number of consumers that each pull at their own
 * pace. Producers call `addDamage`; each consumer holds one Region (memory
 * bounded by the frame size) and is notified, edge-triggered, when damage
 * becomes available after it took everything.
 */
export class DamageTracker extends EventEmitter<DamageTrackerEvents> {
  private readonly consumers = new Set<Consumer>();
  private w: number;
  private h: number;
  private readonly options: RegionOptions;

  /** The size may start at 0×0 and be set by `resize` once the first frame arrives. */
  constructor(width = 0, height = 0, options: RegionOptions = {}) {
    super();
    checkSize(width, height);
    this.w = width;
    this.h = height;
    this.options = { ...options };
  }

  get width(): number {
    return this.w;
  }

  get height(): number {
    return this.h;
  }

  get consumerCount(): number {
    return this.consumers.size;
  }

  /** Whether any consumer may take copies (otherwise looking for them is wasted work). */
  get wantsCopies(): boolean {
    for (const c of this.consumers) if (c.acceptsCopy) return true;
    return false;
  }

  subscribe(options: SubscribeOptions = {}): DamageConsumer {
    const c = new Consumer((gone) => this.consumers.delete(gone), this.w, this.h, this.options, options.onDamage, options.acceptsCopy);
    if (options.initialFull ?? true) c.region.addAll();
    this.consumers.add(c);
    return c;
  }

  addDamage(rects: Rect | Iterable<Rect>): void {
    const list: Rect[] = [];
    for (const r of isRect(rects) ? [rects] : rects) {
      const clipped = clipRect(r, this.w, this.h);
      if (clipped) list.push(clipped);
    }
    if (list.length === 0) return;
    this.apply((region) => region.addRects(list));
    this.emit('damage', list);
  }

  /**
   * The frame changed by `copy` (its destination now shows what its source showed) plus
   * `damage`. A consumer gets it as a copy only when that is safe: it accepts one now, has
   * no damage pending (so its client's picture is the frame before this change) and no other
   * copy waiting (one copy per take keeps the order simple); every other consumer gets the
   * copy's destination as damage.
   */
  addCopy(copy: CopyRect, damage: readonly Rect[]): void {
    if (!copyInside(copy, this.w, this.h)) {
      throw new RangeError(`copy ${copy.w}x${copy.h} from +${copy.srcX}+${copy.srcY} to +${copy.x}+${copy.y} leaves the ${this.w}x${this.h} frame`);
    }
    const dst: Rect = { x: copy.x, y: copy.y, w: copy.w, h: copy.h };
    const rest: Rect[] = [];
    for (const r of damage) {
      const clipped = clipRect(r, this.w, this.h);
      if (clipped) rest.push(clipped);
    }
    this.apply((region, c) => {
      if (c.acceptsCopy && !c.copy && region.isEmpty() && c.acceptsCopy()) c.copy = { ...copy };
      else region.addRects([dst]);
      if (rest.length) region.addRects(rest);
    });
    this.emit('damage', [dst, ...rest]);
  }

  /** Mark the whole frame for every consumer. */
  markAll(): void {
    this.apply((region, c) => {
      c.copy = undefined;
      region.addAll();
    });
    if (this.w > 0 && this.h > 0) this.emit('damage', [{ x: 0, y: 0, w: this.w, h: this.h }]);
  }

  /** New frame size: every consumer's region takes it, all of it marked (old pixels mean nothing now). */
  resize(width: number, height: number): void {
    checkSize(width, height);
    this.w = width;
    this.h = height;
    this.apply((region, c) => {
      c.copy = undefined;
      region.resize(width, height);
      region.addAll();
    });
    if (width > 0 && height > 0) this.emit('damage', [{ x: 0, y: 0, w: width, h: height }]);
  }

  private apply(change: (region: Region, consumer: Consumer) => void): void {
    const toNotify: Consumer[] = [];
    for (const c of this.consumers) {
      change(c.region, c);
      if (c.armed && c.hasDamage()) {
        c.armed = false;
        if (c.onDamage) toNotify.push(c);
      }
    }
    // Notify after every region is updated, so a callback that takes at once sees everything.
    let failure: unknown;
    let failed = false;
    for (const c of toNotify) {
      try {
        c.onDamage?.();
      } catch (err) {
        if (!failed) {
          failed = true;
          failure = err;
        }
      }
    }
    if (failed) throw failure;
  }
}

function isRect(v: Rect | Iterable<Rect>): v is Rect {
  return typeof (v as Rect).x === 'number' && typeof (v as Partial<Iterable<Rect>>)[Symbol.iterator] !== 'function';
}
