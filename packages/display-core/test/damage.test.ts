import { describe, expect, it, vi } from 'vitest';
import {
  DEFAULT_GRANULARITY,
  DEFAULT_MAX_RECTS,
  DamageTracker,
  Region,
  clipRect,
  compareFrames,
  compareRect,
  solidColor,
  type Rect,
} from '../src/damage.js';

const byPosition = (rects: Rect[]): Rect[] => [...rects].sort((a, b) => a.y - b.y || a.x - b.x);

function overlaps(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

function expectDisjoint(rects: Rect[]): void {
  for (let i = 0; i < rects.length; i++) {
    for (let j = i + 1; j < rects.length; j++) {
      expect(overlaps(rects[i], rects[j]), `${JSON.stringify(rects[i])} overlaps ${JSON.stringify(rects[j])}`).toBe(false);
    }
  }
}

function covers(rects: Rect[], x: number, y: number): boolean {
  return rects.some((r) => x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h);
}

const areaOf = (rects: Rect[]): number => rects.reduce((sum, r) => sum + r.w * r.h, 0);

/** Deterministic pseudo-random integers in [0, n). */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 2 ** 32) * n);
  };
}

describe('clipRect', () => {
  it('clips to the frame', () => {
    expect(clipRect({ x: -5, y: -5, w: 10, h: 10 }, 100, 50)).toEqual({ x: 0, y: 0, w: 5, h: 5 });
    expect(clipRect({ x: 95, y: 45, w: 10, h: 10 }, 100, 50)).toEqual({ x: 95, y: 45, w: 5, h: 5 });
    expect(clipRect({ x: 100, y: 0, w: 1, h: 1 }, 100, 50)).toBeUndefined();
    expect(clipRect({ x: 10, y: 10, w: 0, h: 5 }, 100, 50)).toBeUndefined();
    expect(clipRect({ x: 10, y: 10, w: -3, h: 5 }, 100, 50)).toBeUndefined();
  });
});

describe('Region', () => {
  const exact = (w = 100, h = 100): Region => new Region(w, h, { granularity: 1 });

  it('starts empty', () => {
    const r = new Region(1920, 1080);
    expect(r.granularity).toBe(DEFAULT_GRANULARITY);
    expect(r.maxRects).toBe(DEFAULT_MAX_RECTS);
    expect(r.isEmpty()).toBe(true);
    expect(r.rects()).toEqual([]);
    expect(r.bounds()).toBeUndefined();
  });

  it('rounds damage out to whole cells', () => {
    const r = new Region(1920, 1080);
    r.add({ x: 5, y: 5, w: 2, h: 2 });
    expect(r.rects()).toEqual([{ x: 0, y: 0, w: 16, h: 16 }]);
    r.clear();
    r.add({ x: 15, y: 15, w: 2, h: 2 }); // straddles four cells
    expect(r.rects()).toEqual([{ x: 0, y: 0, w: 32, h: 32 }]);
  });

  it('clips cells at the right and bottom edges', () => {
    const r = new Region(100, 50);
    r.add({ x: 99, y: 49, w: 1, h: 1 });
    expect(r.rects()).toEqual([{ x: 96, y: 48, w: 4, h: 2 }]);
    r.add({ x: 90, y: 40, w: 5, h: 5 });
    expect(byPosition(r.rects())).toEqual([
      { x: 80, y: 32, w: 16, h: 16 },
      { x: 96, y: 48, w: 4, h: 2 },
    ]);
  });

  it('merges adjacent rectangles', () => {
    const r = exact();
    r.add({ x: 0, y: 0, w: 10, h: 10 });
    r.add({ x: 10, y: 0, w: 10, h: 10 });
    expect(r.rects()).toEqual([{ x: 0, y: 0, w: 20, h: 10 }]);
    r.add({ x: 0, y: 10, w: 20, h: 5 });
    expect(r.rects()).toEqual([{ x: 0, y: 0, w: 20, h: 15 }]);
  });

  it('splits overlapping rectangles into disjoint ones', () => {
    const r = exact();
    r.add({ x: 0, y: 0, w: 10, h: 10 });
    r.add({ x: 5, y: 5, w: 10, h: 10 });
    const rects = r.rects();
    expect(byPosition(rects)).toEqual([
      { x: 0, y: 0, w: 10, h: 5 },
      { x: 0, y: 5, w: 15, h: 5 },
      { x: 5, y: 10, w: 10, h: 5 },
    ]);
    expectDisjoint(rects);
    expect(r.area()).toBe(175);
  });

  it('keeps a contained rectangle from adding anything', () => {
    const r = exact();
    r.add({ x: 10, y: 10, w: 50, h: 50 });
    r.add({ x: 20, y: 20, w: 5, h: 5 });
    expect(r.rects()).toEqual([{ x: 10, y: 10, w: 50, h: 50 }]);
  });

  it('keeps separate rectangles separate', () => {
    const r = exact();
    r.add({ x: 0, y: 0, w: 5, h: 5 });
    r.add({ x: 50, y: 50, w: 5, h: 5 });
    expect(byPosition(r.rects())).toEqual([
      { x: 0, y: 0, w: 5, h: 5 },
      { x: 50, y: 50, w: 5, h: 5 },
    ]);
  });

  it('keeps rectangles one cell apart separate while under the limit', () => {
    const r = exact();
    r.add({ x: 0, y: 0, w: 5, h: 5 });
    r.add({ x: 6, y: 0, w: 5, h: 5 });
    expect(r.rects()).toEqual([
      { x: 0, y: 0, w: 5, h: 5 },
      { x: 6, y: 0, w: 5, h: 5 },
    ]);
    // Over the limit the gap is bridged.
    expect(r.rects(1)).toEqual([{ x: 0, y: 0, w: 11, h: 5 }]);
  });

  it('drops what lies outside the frame', () => {
    const r = exact();
    r.add({ x: -5, y: -5, w: 10, h: 10 });
    r.add({ x: 200, y: 0, w: 10, h: 10 });
    r.add({ x: 95, y: 95, w: 10, h: 10 });
    expect(byPosition(r.rects())).toEqual([
      { x: 0, y: 0, w: 5, h: 5 },
      { x: 95, y: 95, w: 5, h: 5 },
    ]);
  });

  it('reports the whole frame as one rectangle', () => {
    const r = new Region(1000, 700);
    r.addAll();
    expect(r.rects()).toEqual([{ x: 0, y: 0, w: 1000, h: 700 }]);
    r.clear();
    r.add({ x: -10, y: -10, w: 2000, h: 2000 });
    expect(r.rects()).toEqual([{ x: 0, y: 0, w: 1000, h: 700 }]);
  });

  it('computes the bounding box', () => {
    const r = exact();
    r.add({ x: 10, y: 20, w: 5, h: 5 });
    r.add({ x: 70, y: 3, w: 2, h: 2 });
    expect(r.bounds()).toEqual({ x: 10, y: 3, w: 62, h: 22 });
  });

  it('takes everything and clears', () => {
    const r = exact();
    r.add({ x: 1, y: 2, w: 3, h: 4 });
    expect(r.takeAll()).toEqual([{ x: 1, y: 2, w: 3, h: 4 }]);
    expect(r.isEmpty()).toBe(true);
    expect(r.takeAll()).toEqual([]);
  });

  it('takes only the cells touching an area', () => {
    const r = new Region(128, 128, { granularity: 16 });
    r.add({ x: 0, y: 0, w: 10, h: 10 });
    r.add({ x: 100, y: 100, w: 10, h: 10 });
    expect(r.take({ x: 8, y: 8, w: 20, h: 4 })).toEqual([{ x: 0, y: 0, w: 16, h: 16 }]);
    expect(r.rects()).toEqual([{ x: 96, y: 96, w: 16, h: 16 }]);
    expect(r.take({ x: 0, y: 0, w: 50, h: 50 })).toEqual([]);
  });

  it('unions regions of the same and of other geometry', () => {
    const a = exact();
    const b = exact();
    a.add({ x: 0, y: 0, w: 10, h: 10 });
    b.add({ x: 10, y: 0, w: 10, h: 10 });
    a.union(b);
    expect(a.rects()).toEqual([{ x: 0, y: 0, w: 20, h: 10 }]);
    const coarse = new Region(50, 50, { granularity: 16 });
    coarse.add({ x: 40, y: 40, w: 1, h: 1 });
    a.union(coarse);
    expect(byPosition(a.rects())).toEqual([
      { x: 0, y: 0, w: 20, h: 10 },
      { x: 32, y: 32, w: 16, h: 16 },
    ]);
  });

  it('keeps damage inside a shrunk frame and clips it', () => {
    const r = exact();
    r.add({ x: 10, y: 10, w: 5, h: 5 });
    r.add({ x: 45, y: 45, w: 10, h: 10 });
    r.add({ x: 90, y: 90, w: 5, h: 5 });
    r.resize(50, 50);
    expect([r.width, r.height]).toEqual([50, 50]);
    expect(byPosition(r.rects())).toEqual([
      { x: 10, y: 10, w: 5, h: 5 },
      { x: 45, y: 45, w: 5, h: 5 },
    ]);
    r.resize(200, 100);
    expect(byPosition(r.rects())).toEqual([
      { x: 10, y: 10, w: 5, h: 5 },
      { x: 45, y: 45, w: 5, h: 5 },
    ]);
    r.resize(0, 0);
    expect(r.isEmpty()).toBe(true);
  });

  it('bounds the number of rectangles for scattered damage', () => {
    const r = new Region(1920, 1080);
    const next = rng(1);
    const points: Array<[number, number]> = [];
    for (let i = 0; i < 10_000; i++) {
      const p: [number, number] = [next(1920), next(1080)];
      points.push(p);
      r.add({ x: p[0], y: p[1], w: 1, h: 1 });
    }
    const rects = r.rects();
    expect(rects.length).toBeGreaterThan(0);
    expect(rects.length).toBeLessThanOrEqual(DEFAULT_MAX_RECTS);
    expectDisjoint(rects);
    for (const [x, y] of points) expect(covers(rects, x, y)).toBe(true);
  });

  it('bounds a checkerboard of cells, down to a handful of rectangles', () => {
    const r = new Region(1920, 1080);
    for (let cy = 0; cy < 68; cy++) for (let cx = cy % 2; cx < 120; cx += 2) r.add({ x: cx * 16, y: cy * 16, w: 16, h: 16 });
    // Exact: 4080 single cells, far over the limit.
    const rects = r.rects();
    expect(rects.length).toBeLessThanOrEqual(DEFAULT_MAX_RECTS);
    expectDisjoint(rects);
    expect(covers(rects, 0, 0) && covers(rects, 16, 16) && covers(rects, 1919, 1079)).toBe(true);
    const four = r.rects(4);
    expect(four.length).toBeLessThanOrEqual(4);
    expectDisjoint(four);
    expect(areaOf(four)).toBe(1920 * 1080);
  });

  it('rejects bad geometry', () => {
    expect(() => new Region(-1, 10)).toThrow(RangeError);
    expect(() => new Region(10, 10, { granularity: 0 })).toThrow(RangeError);
    expect(() => new Region(10, 10, { maxRects: 0 })).toThrow(RangeError);
  });
});

/** A BGRX frame of deterministic noise. */
function noise(width: number, height: number, stride = width * 4, seed = 3): Buffer {
  const buf = Buffer.alloc(stride * height);
  const next = rng(seed);
  for (let i = 0; i < buf.length; i++) buf[i] = next(256);
  return buf;
}

function touch(buf: Buffer, stride: number, x: number, y: number, byte = 0): void {
  buf[y * stride + x * 4 + byte] ^= 0xff;
}

describe('compareFrames', () => {
  const W = 200;
  const H = 150;
  const S = W * 4;
  const prev = noise(W, H);

  it('finds nothing in identical frames', () => {
    expect(compareFrames(prev, Buffer.from(prev), S, W, H)).toEqual([]);
  });

  it.each([
    [0, 0],
    [W - 1, 0],
    [0, H - 1],
    [W - 1, H - 1],
  ])('finds a single changed pixel at (%i, %i)', (x, y) => {
    const next = Buffer.from(prev);
    touch(next, S, x, y, 2);
    expect(compareFrames(prev, next, S, W, H)).toEqual([{ x, y, w: 1, h: 1 }]);
  });

  it('finds all four corners at once', () => {
    const next = Buffer.from(prev);
    for (const [x, y] of [[0, 0], [W - 1, 0], [0, H - 1], [W - 1, H - 1]]) touch(next, S, x, y);
    expect(byPosition(compareFrames(prev, next, S, W, H))).toEqual([
      { x: 0, y: 0, w: 1, h: 1 },
      { x: W - 1, y: 0, w: 1, h: 1 },
      { x: 0, y: H - 1, w: 1, h: 1 },
      { x: W - 1, y: H - 1, w: 1, h: 1 },
    ]);
  });

  it('shrinks a tile to the bounding box of its changes', () => {
    const next = Buffer.from(prev);
    touch(next, S, 30, 10);
    touch(next, S, 5, 20); // widens left in a middle row
    touch(next, S, 60, 30); // widens right on the bottom row
    expect(compareFrames(prev, next, S, W, H)).toEqual([{ x: 5, y: 10, w: 56, h: 21 }]);
  });

  it('reports one box per changed tile', () => {
    const next = Buffer.from(prev);
    touch(next, S, 10, 10);
    touch(next, S, 100, 20);
    expect(compareFrames(prev, next, S, W, H)).toEqual([
      { x: 10, y: 10, w: 1, h: 1 },
      { x: 100, y: 20, w: 1, h: 1 },
    ]);
  });

  it('joins boxes of neighbouring tiles that line up', () => {
    const next = Buffer.from(prev);
    for (let x = 50; x < 140; x++) touch(next, S, x, 70);
    expect(compareFrames(prev, next, S, W, H)).toEqual([{ x: 50, y: 70, w: 90, h: 1 }]);
  });

  it('reports a fully changed frame as one rectangle per tile row', () => {
    const next = Buffer.from(prev.map((b) => b ^ 0x01));
    expect(compareFrames(prev, next, S, W, H)).toEqual([
      { x: 0, y: 0, w: W, h: 64 },
      { x: 0, y: 64, w: W, h: 64 },
      { x: 0, y: 128, w: W, h: 22 },
    ]);
    expect(compareFrames(prev, next, S, W, H, 100)).toEqual([
      { x: 0, y: 0, w: W, h: 100 },
      { x: 0, y: 100, w: W, h: 50 },
    ]);
  });

  it('compares only the given area', () => {
    const next = Buffer.from(prev);
    touch(next, S, 10, 10);
    touch(next, S, 150, 100);
    expect(compareFrames(prev, next, S, W, H, 64, { x: 100, y: 50, w: 100, h: 100 })).toEqual([{ x: 150, y: 100, w: 1, h: 1 }]);
    expect(compareFrames(prev, next, S, W, H, 64, { x: 140, y: 90, w: 5, h: 5 })).toEqual([]);
    expect(compareFrames(prev, next, S, W, H, 64, { x: 500, y: 0, w: 5, h: 5 })).toEqual([]);
  });

  it('ignores row padding beyond the width', () => {
    const stride = S + 16;
    const a = noise(W, H, stride, 5);
    const b = Buffer.from(a);
    b[10 * stride + S + 3] ^= 0xff; // padding of row 10
    expect(compareFrames(a, b, stride, W, H)).toEqual([]);
    touch(b, stride, 199, 10);
    expect(compareFrames(a, b, stride, W, H)).toEqual([{ x: 199, y: 10, w: 1, h: 1 }]);
  });

  it('counts a change in the X byte', () => {
    const next = Buffer.from(prev);
    touch(next, S, 7, 9, 3);
    expect(compareFrames(prev, next, S, W, H)).toEqual([{ x: 7, y: 9, w: 1, h: 1 }]);
  });

  it('gives the same answer for frames that are not 4-byte aligned', () => {
    const next = Buffer.from(prev);
    touch(next, S, 30, 10, 1);
    touch(next, S, 5, 20, 3);
    touch(next, S, 60, 30, 0);
    touch(next, S, 199, 149, 2);
    const oddPrev = Buffer.alloc(prev.length + 1).subarray(1);
    const oddNext = Buffer.alloc(next.length + 1).subarray(1);
    prev.copy(oddPrev);
    next.copy(oddNext);
    const expected = [
      { x: 5, y: 10, w: 56, h: 21 },
      { x: 199, y: 149, w: 1, h: 1 },
    ];
    expect(compareFrames(prev, next, S, W, H)).toEqual(expected);
    expect(compareFrames(oddPrev, oddNext, S, W, H)).toEqual(expected);
  });

  it('returns tight, disjoint boxes that cover every change', () => {
    const next = Buffer.from(prev);
    const pick = rng(11);
    const changed: Array<[number, number]> = [];
    for (let i = 0; i < 60; i++) {
      const p: [number, number] = [pick(W), pick(H)];
      changed.push(p);
      touch(next, S, p[0], p[1], pick(4));
    }
    const rects = compareFrames(prev, next, S, W, H, 32);
    expectDisjoint(rects);
    for (const [x, y] of changed) expect(covers(rects, x, y)).toBe(true);
    const isChanged = (x: number, y: number): boolean => changed.some(([cx, cy]) => cx === x && cy === y);
    for (const r of rects) {
      // Every edge of every box has a changed pixel on it, and no box crosses a tile row.
      const row = (y: number): boolean => Array.from({ length: r.w }, (_, i) => r.x + i).some((x) => isChanged(x, y));
      const col = (x: number): boolean => Array.from({ length: r.h }, (_, i) => r.y + i).some((y) => isChanged(x, y));
      expect(row(r.y) && row(r.y + r.h - 1) && col(r.x) && col(r.x + r.w - 1), JSON.stringify(r)).toBe(true);
      expect(Math.floor(r.y / 32)).toBe(Math.floor((r.y + r.h - 1) / 32));
    }
  });

  it('handles a full HD frame', () => {
    const w = 1920;
    const h = 1080;
    const a = noise(w, h, w * 4, 8);
    const b = Buffer.from(a);
    expect(compareFrames(a, b, w * 4, w, h)).toEqual([]);
    touch(b, w * 4, 1919, 1079);
    touch(b, w * 4, 0, 0);
    expect(compareFrames(a, b, w * 4, w, h)).toEqual([
      { x: 0, y: 0, w: 1, h: 1 },
      { x: 1919, y: 1079, w: 1, h: 1 },
    ]);
  });

  it('accepts plain Uint8Arrays', () => {
    const a = new Uint8Array(prev);
    const b = new Uint8Array(prev);
    b[S * 3 + 4 * 3] ^= 1;
    expect(compareFrames(a, b, S, W, H)).toEqual([{ x: 3, y: 3, w: 1, h: 1 }]);
  });

  it('rejects inconsistent geometry', () => {
    expect(() => compareFrames(prev, prev, W * 4 - 4, W, H)).toThrow(/stride/);
    expect(() => compareFrames(prev, prev.subarray(0, S * H - 1), S, W, H)).toThrow(/smaller/);
    expect(() => compareFrames(prev, prev, S, W, H, 0)).toThrow(/tile/);
    expect(compareFrames(Buffer.alloc(0), Buffer.alloc(0), 0, 0, 0)).toEqual([]);
  });
});

describe('compareRect (incoming pixels for one rectangle)', () => {
  const W = 200;
  const H = 150;
  const S = W * 4;
  const mirror = noise(W, H);

  /** The rectangle of `frame` as its own buffer, rows `stride` bytes apart. */
  function cut(frame: Buffer, r: Rect, stride = r.w * 4, offset = 0): Buffer {
    const out = Buffer.alloc(offset + stride * r.h, 0x5a).subarray(offset);
    for (let row = 0; row < r.h; row++) frame.copy(out, row * stride, (r.y + row) * S + r.x * 4, (r.y + row) * S + (r.x + r.w) * 4);
    return out;
  }

  const area = { x: 37, y: 50, w: 100, h: 70 };

  it('finds nothing when the rectangle is unchanged', () => {
    expect(compareRect(mirror, S, cut(mirror, area), area.w * 4, area)).toEqual([]);
  });

  it('reports changes in frame coordinates, on the frame tile grid', () => {
    const next = Buffer.from(mirror);
    touch(next, S, 40, 52);
    touch(next, S, 70, 60); // next tile (64..127): its own box
    touch(next, S, 136, 119);
    expect(compareRect(mirror, S, cut(next, area), area.w * 4, area)).toEqual([
      { x: 40, y: 52, w: 1, h: 1 },
      { x: 70, y: 60, w: 1, h: 1 },
      { x: 136, y: 119, w: 1, h: 1 },
    ]);
  });

  it('handles padded and unaligned incoming rows', () => {
    const next = Buffer.from(mirror);
    touch(next, S, 100, 100, 1);
    const expected = [{ x: 100, y: 100, w: 1, h: 1 }];
    expect(compareRect(mirror, S, cut(next, area, area.w * 4 + 8), area.w * 4 + 8, area)).toEqual(expected);
    expect(compareRect(mirror, S, cut(next, area, area.w * 4 + 1, 1), area.w * 4 + 1, area)).toEqual(expected);
  });

  it('compares full-width rectangles band by band', () => {
    const full = { x: 0, y: 10, w: W, h: 100 };
    const next = Buffer.from(mirror);
    touch(next, S, 199, 109);
    expect(compareRect(mirror, S, cut(next, full), S, full)).toEqual([{ x: 199, y: 109, w: 1, h: 1 }]);
    expect(compareRect(mirror, S, cut(mirror, full), S, full)).toEqual([]);
  });

  it('covers exactly each tile\'s bounding box of changes, wherever in a row they are (300 seeded cases, some rows padded or unaligned)', () => {
    for (let seed = 1; seed <= 300; seed++) {
      const pick = rng(seed);
      const tile = [8, 16, 64][seed % 3];
      const x = pick(60);
      const y = pick(40);
      const r = { x, y, w: 1 + pick(W - x), h: 1 + pick(H - y) };
      const next = Buffer.from(mirror);
      // Rows changed at their left end, their right end, both, or anywhere.
      for (let k = pick(12); k > 0; k--) {
        const row = r.y + pick(r.h);
        const at = [r.x + pick(Math.min(r.w, 10)), r.x + r.w - 1 - pick(Math.min(r.w, 10)), r.x + pick(r.w)][pick(3)];
        touch(next, S, at, row, pick(4));
        if (pick(2)) touch(next, S, r.x + r.w - 1, row);
      }
      // Padded rows, and pixels off a 4-byte boundary, for some.
      const stride = r.w * 4 + (seed % 4 === 0 ? 8 : 0);
      const rects = compareRect(mirror, S, cut(next, r, stride, seed % 2), stride, r, tile);
      expectDisjoint(rects);
      // The reference: every pixel of the rectangle, tile by tile.
      const boxes = new Map<string, { x0: number; y0: number; x1: number; y1: number }>();
      for (let py = r.y; py < r.y + r.h; py++) {
        for (let px = r.x; px < r.x + r.w; px++) {
          const o = py * S + px * 4;
          if (mirror.compare(next, o, o + 4, o, o + 4) === 0) continue;
          const key = `${Math.floor(px / tile)},${Math.floor(py / tile)}`;
          const b = boxes.get(key) ?? { x0: px, y0: py, x1: px, y1: py };
          boxes.set(key, { x0: Math.min(b.x0, px), y0: Math.min(b.y0, py), x1: Math.max(b.x1, px), y1: Math.max(b.y1, py) });
        }
      }
      const expected = new Uint8Array(W * H);
      for (const b of boxes.values()) for (let py = b.y0; py <= b.y1; py++) expected.fill(1, py * W + b.x0, py * W + b.x1 + 1);
      const got = new Uint8Array(W * H);
      for (const g of rects) for (let py = g.y; py < g.y + g.h; py++) got.fill(1, py * W + g.x, py * W + g.x + g.w);
      expect(Buffer.from(got).equals(Buffer.from(expected)), `seed ${seed}`).toBe(true);
    }
  });

  it('rejects rectangles the buffers do not hold', () => {
    expect(() => compareRect(mirror, S, Buffer.alloc(10), 40, { x: 0, y: 0, w: 10, h: 1 })).toThrow(/incoming/);
    expect(() => compareRect(mirror, S, Buffer.alloc(40), 40, { x: 195, y: 0, w: 10, h: 1 })).toThrow(/outside the mirror/);
    expect(compareRect(mirror, S, Buffer.alloc(0), 0, { x: 0, y: 0, w: 0, h: 5 })).toEqual([]);
  });
});

describe('DamageTracker', () => {
  it('can start at 0×0 and be sized later', () => {
    const t = new DamageTracker();
    const c = t.subscribe();
    expect(c.take()).toEqual([]);
    t.resize(64, 32);
    expect(c.take()).toEqual([{ x: 0, y: 0, w: 64, h: 32 }]);
  });

  it('emits a damage event with the clipped rectangles', () => {
    const t = new DamageTracker(100, 100);
    const seen: Rect[][] = [];
    t.on('damage', (rects) => seen.push(rects));
    t.addDamage([
      { x: 90, y: 90, w: 20, h: 20 },
      { x: 200, y: 0, w: 5, h: 5 },
    ]);
    t.addDamage({ x: 500, y: 500, w: 1, h: 1 });
    t.markAll();
    t.resize(10, 20);
    expect(seen).toEqual([
      [{ x: 90, y: 90, w: 10, h: 10 }],
      [{ x: 0, y: 0, w: 100, h: 100 }],
      [{ x: 0, y: 0, w: 10, h: 20 }],
    ]);
  });


  it('starts each consumer with the whole frame unless told otherwise', () => {
    const t = new DamageTracker(640, 480);
    const a = t.subscribe();
    const b = t.subscribe({ initialFull: false });
    expect(a.take()).toEqual([{ x: 0, y: 0, w: 640, h: 480 }]);
    expect(a.take()).toEqual([]);
    expect(b.hasDamage()).toBe(false);
    expect(t.consumerCount).toBe(2);
  });

  it('gives every consumer the damage, each at its own pace', () => {
    const t = new DamageTracker(640, 480, { granularity: 1 });
    const fast = t.subscribe({ initialFull: false });
    const slow = t.subscribe({ initialFull: false });
    t.addDamage({ x: 0, y: 0, w: 10, h: 10 });
    expect(fast.take()).toEqual([{ x: 0, y: 0, w: 10, h: 10 }]);
    t.addDamage([{ x: 10, y: 0, w: 10, h: 10 }]);
    expect(fast.take()).toEqual([{ x: 10, y: 0, w: 10, h: 10 }]);
    expect(slow.take()).toEqual([{ x: 0, y: 0, w: 20, h: 10 }]);
    expect(slow.take()).toEqual([]);
  });

  it('notifies once until the consumer takes', () => {
    const t = new DamageTracker(640, 480);
    const onDamage = vi.fn();
    const c = t.subscribe({ initialFull: false, onDamage });
    t.addDamage({ x: 0, y: 0, w: 1, h: 1 });
    t.addDamage({ x: 100, y: 0, w: 1, h: 1 });
    t.addDamage([{ x: 200, y: 0, w: 1, h: 1 }]);
    expect(onDamage).toHaveBeenCalledTimes(1);
    expect(c.take()).toHaveLength(3);
    t.addDamage({ x: 0, y: 0, w: 1, h: 1 });
    expect(onDamage).toHaveBeenCalledTimes(2);
  });

  it('does not notify for damage outside the frame or for nothing', () => {
    const t = new DamageTracker(100, 100);
    const onDamage = vi.fn();
    t.subscribe({ initialFull: false, onDamage });
    t.addDamage({ x: 500, y: 500, w: 10, h: 10 });
    t.addDamage([]);
    expect(onDamage).not.toHaveBeenCalled();
  });

  it('notifies after every consumer has the damage', () => {
    const t = new DamageTracker(100, 100);
    let seenByOther: boolean | undefined;
    const second = { hasDamage: (): boolean => false };
    t.subscribe({ initialFull: false, onDamage: () => (seenByOther = second.hasDamage()) });
    const other = t.subscribe({ initialFull: false });
    second.hasDamage = () => other.hasDamage();
    t.addDamage({ x: 1, y: 1, w: 1, h: 1 });
    expect(seenByOther).toBe(true);
  });

  it('keeps a consumer that never takes bounded', () => {
    const t = new DamageTracker(1920, 1080);
    const idle = t.subscribe({ initialFull: false });
    const pick = rng(5);
    let last: Rect = { x: 0, y: 0, w: 0, h: 0 };
    for (let i = 0; i < 10_000; i++) {
      last = { x: pick(1920), y: pick(1080), w: 1 + pick(40), h: 1 + pick(20) };
      t.addDamage(last);
    }
    const rects = idle.take();
    expect(rects.length).toBeLessThanOrEqual(DEFAULT_MAX_RECTS);
    expect(covers(rects, last.x, last.y)).toBe(true);
    expectDisjoint(rects);
    expect(idle.hasDamage()).toBe(false);
  });

  it('marks everything on resize, for everyone', () => {
    const t = new DamageTracker(640, 480);
    const onDamage = vi.fn();
    const a = t.subscribe({ initialFull: false, onDamage });
    const b = t.subscribe({ initialFull: false });
    t.addDamage({ x: 600, y: 400, w: 10, h: 10 });
    t.resize(800, 600);
    expect([t.width, t.height]).toEqual([800, 600]);
    expect(a.take()).toEqual([{ x: 0, y: 0, w: 800, h: 600 }]);
    expect(b.bounds()).toEqual({ x: 0, y: 0, w: 800, h: 600 });
    expect(onDamage).toHaveBeenCalledTimes(1);
    t.resize(320, 200);
    expect(b.take()).toEqual([{ x: 0, y: 0, w: 320, h: 200 }]);
    expect(onDamage).toHaveBeenCalledTimes(2);
  });

  it('marks all for one consumer or for everyone', () => {
    const t = new DamageTracker(64, 64);
    const a = t.subscribe({ initialFull: false });
    const b = t.subscribe({ initialFull: false });
    a.markAll();
    expect(a.hasDamage()).toBe(true);
    expect(b.hasDamage()).toBe(false);
    t.markAll();
    expect(b.take()).toEqual([{ x: 0, y: 0, w: 64, h: 64 }]);
  });

  it('takes part of the damage when asked for an area', () => {
    const t = new DamageTracker(256, 256);
    const c = t.subscribe({ initialFull: false });
    t.addDamage([
      { x: 0, y: 0, w: 8, h: 8 },
      { x: 200, y: 200, w: 8, h: 8 },
    ]);
    expect(c.take({ x: 0, y: 0, w: 100, h: 100 })).toEqual([{ x: 0, y: 0, w: 16, h: 16 }]);
    expect(c.take()).toEqual([{ x: 192, y: 192, w: 16, h: 16 }]);
  });

  it('forgets closed consumers', () => {
    const t = new DamageTracker(64, 64);
    const onDamage = vi.fn();
    const c = t.subscribe({ initialFull: false, onDamage });
    c.close();
    c.close();
    expect(c.closed).toBe(true);
    expect(t.consumerCount).toBe(0);
    t.addDamage({ x: 0, y: 0, w: 1, h: 1 });
    expect(onDamage).not.toHaveBeenCalled();
    expect(c.hasDamage()).toBe(false);
  });

  it('notifies the others when one callback throws, then rethrows', () => {
    const t = new DamageTracker(64, 64);
    const good = vi.fn();
    t.subscribe({
      initialFull: false,
      onDamage: () => {
        throw new Error('boom');
      },
    });
    t.subscribe({ initialFull: false, onDamage: good });
    expect(() => t.addDamage({ x: 0, y: 0, w: 1, h: 1 })).toThrow('boom');
    expect(good).toHaveBeenCalledTimes(1);
  });
});

describe('solidColor', () => {
  const stride = 16 * 4 + 8;
  const frame = Buffer.alloc(stride * 8);
  for (let y = 0; y < 8; y++) for (let x = 0; x < 16; x++) frame.writeUInt32LE(0x00aa1100, y * stride + x * 4);
  frame.writeUInt32LE(0x00000001, 5 * stride + 9 * 4);

  it('gives the one pixel value of a rectangle of one colour', () => {
    expect(solidColor(frame, stride, { x: 0, y: 0, w: 16, h: 5 })).toBe(0x00aa1100);
    expect(solidColor(frame, stride, { x: 10, y: 0, w: 6, h: 8 })).toBe(0x00aa1100);
    expect(solidColor(frame, stride, { x: 9, y: 5, w: 1, h: 1 })).toBe(1);
  });

  it('is undefined when one pixel differs, in the first row or any other', () => {
    expect(solidColor(frame, stride, { x: 0, y: 0, w: 16, h: 8 })).toBeUndefined();
    expect(solidColor(frame, stride, { x: 8, y: 5, w: 2, h: 1 })).toBeUndefined();
    expect(solidColor(frame, stride, { x: 9, y: 4, w: 1, h: 2 })).toBeUndefined();
  });
});
