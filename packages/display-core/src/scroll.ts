// Scrolling: a guest that scrolls (a text console, a terminal, a web page) redraws a band of
// its screen with what was a few rows above or below. Found here, the band reaches clients as a
// copy (RFB CopyRect, RDP ScrBlt or SurfaceToSurface) plus the rows that are really new, instead
// of every pixel of the band again. QEMU only says which rectangle changed, so the move is
// found by comparing rows of the new pixels with rows of the frame they replace. Vertical only:
// that is how consoles and pages scroll.
import { solidColor, type CopyRect, type Rect } from './damage.js';

/** A band shorter than this is not worth a copy (and short matches are often coincidences). */
export const MIN_SCROLL_ROWS = 32;
/** Rows of the changed area tried as anchors for the search. */
const SAMPLE_ROWS = 8;
/**
 * Offsets at which one anchor row is found again that are followed up (nearest first). Text
 * repeats (the same glyph rows on many lines), so the real distance may come after many others.
 */
const CANDIDATES_PER_SAMPLE = 128;
/** Row comparisons one search may make, per row of the changed area: bounds the worst case. */
const COMPARISONS_PER_ROW = 48;
/** How far below a sample point an anchor row (not of one colour) is looked for. */
const ANCHOR_SEARCH_ROWS = 32;
/** Pixels of a row that go into its hash, spread over the row. */
const HASHED_PIXELS_PER_ROW = 64;

export interface ScrollFound {
  /** The band that moved. */
  copy: CopyRect;
  /** What changed besides: `changed` without the band's rows. */
  rest: Rect[];
}

/**
 * Looks for a vertical scroll in an update, before it is applied.
 *
 * `frame` is the picture before the update (4 bytes per pixel, `frameStride` bytes per row,
 * `frameHeight` rows); `incoming` holds the update's new pixels for `area` (its byte 0 is pixel
 * (area.x, area.y), `incomingStride` bytes per row); `changed` says where they differ from the
 * frame (inside `area`, as compareRect returns it). Returns the tallest band of the changed
 * area's bounding box, at least MIN_SCROLL_ROWS high, whose new rows equal the frame's rows a
 * fixed distance away — every row checked byte for byte, so a copy found is exact — or
 * undefined.
 */
export function findVerticalScroll(
  frame: Buffer,
  frameStride: number,
  frameHeight: number,
  incoming: Buffer,
  incomingStride: number,
  area: Rect,
  changed: readonly Rect[],
): ScrollFound | undefined {
  if (changed.length === 0) return undefined;
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -Infinity;
  let y1 = -Infinity;
  for (const r of changed) {
    x0 = Math.min(x0, r.x);
    y0 = Math.min(y0, r.y);
    x1 = Math.max(x1, r.x + r.w);
    y1 = Math.max(y1, r.y + r.h);
  }
  if (y1 - y0 < MIN_SCROLL_ROWS) return undefined;
  const rowBytes = (x1 - x0) * 4;
  const newStart = (y: number): number => (y - area.y) * incomingStride + (x0 - area.x) * 4;
  const oldStart = (y: number): number => y * frameStride + x0 * 4;
  let budget = COMPARISONS_PER_ROW * (y1 - y0);
  // Rows are hashed from a sample of their pixels (each row once, when first asked): rows whose
  // hashes differ differ, so most candidates are dropped without a memory compare.
  const oldHash = new RowHashes(frame, frameStride, x0, x1 - x0, frameHeight);
  const newHash = new RowHashes(incoming, incomingStride, x0 - area.x, x1 - x0, area.h);
  // New row y equals old row y + dy (both over the bounding box's columns).
  const same = (y: number, dy: number): boolean => {
    budget--;
    if (newHash.of(y - area.y) !== oldHash.of(y + dy)) return false;
    const n = newStart(y);
    const o = oldStart(y + dy);
    return incoming.compare(frame, o, o + rowBytes, n, n + rowBytes) === 0;
  };

  const uniform = (y: number): boolean => solidColor(incoming, incomingStride, { x: x0 - area.x, y: y - area.y, w: x1 - x0, h: 1 }) !== undefined;

  let best: { top: number; bottom: number; dy: number } | undefined;
  for (let k = 0; k < SAMPLE_ROWS; k++) {
    // A row of one colour (blank lines, the gaps between text lines) is found everywhere: the
    // anchor is the first row below the sample point that is not.
    let s = y0 + Math.floor(((k + 0.5) * (y1 - y0)) / SAMPLE_ROWS);
    const limit = Math.min(y1, s + ANCHOR_SEARCH_ROWS);
    while (s < limit && uniform(s)) s++;
    if (s === limit) continue;
    let candidates = 0;
    // The rows a band scrolled in from changed too: the source lies within the changed area.
    for (let d = 1; d < y1 - y0 && candidates < CANDIDATES_PER_SAMPLE && budget > 0; d++) {
      for (let dy = d; dy >= -d; dy -= 2 * d) {
        if (s + dy < y0 || s + dy >= y1 || !same(s, dy)) continue;
        candidates++;
        let top = s;
        while (top > y0 && top - 1 + dy >= 0 && same(top - 1, dy)) top--;
        let bottom = s + 1;
        while (bottom < y1 && bottom + dy < frameHeight && same(bottom, dy)) bottom++;
        if (!best || bottom - top > best.bottom - best.top) best = { top, bottom, dy };
      }
    }
    // Half the area moving together is the scroll; stop looking.
    if (budget <= 0 || (best && best.bottom - best.top >= Math.max(MIN_SCROLL_ROWS, (y1 - y0) / 2))) break;
  }
  if (!best || best.bottom - best.top < MIN_SCROLL_ROWS) return undefined;

  const { top, bottom, dy } = best;
  const rest: Rect[] = [];
  for (const r of changed) {
    const above = Math.min(r.y + r.h, top) - r.y;
    if (above > 0) rest.push({ x: r.x, y: r.y, w: r.w, h: above });
    const from = Math.max(r.y, bottom);
    if (r.y + r.h > from) rest.push({ x: r.x, y: from, w: r.w, h: r.y + r.h - from });
  }
  return { copy: { x: x0, y: top, w: x1 - x0, h: bottom - top, srcX: x0, srcY: top + dy }, rest };
}

/** Hashes of the rows of a picture over columns x .. x+w-1, each computed once, when first asked. */
class RowHashes {
  private readonly hashes: Int32Array;
  private readonly known: Uint8Array;
  private readonly step: number;
  private readonly pixels: Uint32Array | undefined;

  constructor(
    private readonly data: Buffer,
    private readonly stride: number,
    private readonly x: number,
    private readonly w: number,
    rows: number,
  ) {
    this.hashes = new Int32Array(rows);
    this.known = new Uint8Array(rows);
    this.step = Math.max(1, Math.floor(w / HASHED_PIXELS_PER_ROW));
    const aligned = data.byteOffset % 4 === 0 && stride % 4 === 0;
    this.pixels = aligned ? new Uint32Array(data.buffer, data.byteOffset, data.length >> 2) : undefined;
  }

  of(y: number): number {
    if (this.known[y]) return this.hashes[y];
    // FNV-1a over whole pixels.
    let h = 0x811c9dc5;
    const start = y * this.stride + this.x * 4;
    for (let i = 0; i < this.w; i += this.step) {
      const px = this.pixels ? this.pixels[(start >> 2) + i] : this.data.readUInt32LE(start + i * 4);
      h = Math.imul(h ^ px, 0x01000193);
    }
    this.known[y] = 1;
    return (this.hashes[y] = h);
  }
}
