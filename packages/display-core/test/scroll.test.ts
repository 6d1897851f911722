import { describe, expect, it, vi } from 'vitest';
import { compareRect, copyInside, DamageTracker, type CopyRect, type Rect } from '../src/damage.js';
import { Framebuffer } from '../src/framebuffer.js';
import { PIXMAN_x8r8g8b8 } from '../src/pixel-format.js';
import { findVerticalScroll, MIN_SCROLL_ROWS } from '../src/scroll.js';

const W = 128;
const H = 256;
const STRIDE = W * 4;

/** A deterministic pseudo-random source (xorshift32). */
function random(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2 ** 32;
  };
}

/** A console-like screen: 16-row text lines of a few "glyph" colours on black, some lines blank. */
function consoleScreen(lines: number[]): Buffer {
  const buf = Buffer.alloc(STRIDE * H);
  for (let line = 0; line < H / 16; line++) {
    const seed = lines[line] ?? 0;
    if (seed === 0) continue;
    const glyph = random(seed);
    const chars = 1 + (seed % (W / 8 - 1));
    for (let y = 2; y < 14; y++) {
      for (let x = 0; x < chars * 8; x++) {
        if (glyph() < 0.4) buf.writeUInt32LE(0x00c0c0c0, (line * 16 + y) * STRIDE + x * 4);
      }
    }
  }
  return buf;
}

/** `frame` after the client applies `copy` and then the pixels of `rects` from `next`. */
function applied(frame: Buffer, next: Buffer, copy: CopyRect | undefined, rects: readonly Rect[]): Buffer {
  const out = Buffer.from(frame);
  if (copy) {
    // Both rows at once: a copy reads the picture as it was before it (RFC 6143 §7.7.2).
    const src = Buffer.from(frame);
    for (let row = 0; row < copy.h; row++) {
      src.copy(out, (copy.y + row) * STRIDE + copy.x * 4, (copy.srcY + row) * STRIDE + copy.srcX * 4, (copy.srcY + row) * STRIDE + (copy.srcX + copy.w) * 4);
    }
  }
  for (const r of rects) {
    for (let row = 0; row < r.h; row++) {
      const at = (r.y + row) * STRIDE + r.x * 4;
      next.copy(out, at, at, at + r.w * 4);
    }
  }
  return out;
}

function find(prev: Buffer, next: Buffer) {
  const area = { x: 0, y: 0, w: W, h: H };
  const changed = compareRect(prev, STRIDE, next, STRIDE, area);
  return { changed, found: findVerticalScroll(prev, STRIDE, H, next, STRIDE, area, changed) };
}

describe('findVerticalScroll', () => {
  const lines = Array.from({ length: H / 16 }, (_, i) => 1000 + i * 37);

  it('finds a console scrolled up by one line: the copy, and the new bottom line as the rest', () => {
    const prev = consoleScreen(lines);
    const next = consoleScreen([...lines.slice(1), 7777]);
    const { changed, found } = find(prev, next);
    expect(found).toBeDefined();
    const { copy, rest } = found!;
    expect(copy.y - copy.srcY).toBe(-16);
    expect(copy.x).toBe(copy.srcX);
    expect(copy.h).toBeGreaterThanOrEqual(H - 16 - 16);
    // The rest is only what the copy does not explain: at most the last line and the glyph gaps.
    for (const r of rest) expect(r.y + r.h <= copy.y || r.y >= copy.y + copy.h).toBe(true);
    expect(applied(prev, next, copy, rest).equals(next)).toBe(true);
    expect(rest.reduce((a, r) => a + r.w * r.h, 0)).toBeLessThan(changed.reduce((a, r) => a + r.w * r.h, 0) / 4);
  });

  it('finds a scroll down by three lines', () => {
    const prev = consoleScreen(lines);
    const next = consoleScreen([11, 12, 13, ...lines.slice(0, -3)]);
    const { found } = find(prev, next);
    expect(found?.copy.y).toBeGreaterThan(found!.copy.srcY);
    expect(found!.copy.y - found!.copy.srcY).toBe(48);
    expect(applied(prev, next, found!.copy, found!.rest).equals(next)).toBe(true);
  });

  it('finds a long scroll of text that repeats (seq output: the same glyph rows on many lines)', () => {
    // A 32-pixel column of 48 text lines drawn from 3 variants, scrolled by 20 lines.
    const w = 32;
    const h = 768;
    const stride = w * 4;
    const rnd = random(77);
    const variants = [1, 2, 3].map((seed) => {
      const g = random(seed);
      return Array.from({ length: 16 * w }, (_, i) => (i >= 2 * w && i < 14 * w && g() < 0.4 ? 0x00c0c0c0 : 0));
    });
    const lines = Array.from({ length: 48 + 20 }, () => Math.floor(rnd() * 3));
    const draw = (first: number): Buffer => {
      const buf = Buffer.alloc(stride * h);
      for (let line = 0; line < 48; line++) variants[lines[first + line]!]!.forEach((v, i) => buf.writeUInt32LE(v, line * 16 * stride + i * 4));
      return buf;
    };
    const prev = draw(0);
    const next = draw(20);
    const area = { x: 0, y: 0, w, h };
    const changed = compareRect(prev, stride, next, stride, area);
    const found = findVerticalScroll(prev, stride, h, next, stride, area, changed);
    expect(found).toBeDefined();
    expect(found!.copy.srcY - found!.copy.y).toBe(20 * 16);
    expect(found!.copy.h).toBeGreaterThanOrEqual(28 * 16 - 32);
  });

  it('finds the same scroll in pixels that do not start on a 4-byte boundary', () => {
    const prev = consoleScreen(lines);
    const next = consoleScreen([...lines.slice(2), 5, 6]);
    const shifted = Buffer.alloc(next.length + 1).subarray(1);
    next.copy(shifted);
    const area = { x: 0, y: 0, w: W, h: H };
    const changed = compareRect(prev, STRIDE, shifted, STRIDE, area);
    const found = findVerticalScroll(prev, STRIDE, H, shifted, STRIDE, area, changed);
    expect(found).toEqual(find(prev, next).found);
    expect(found!.copy.srcY - found!.copy.y).toBe(32);
  });

  it('finds nothing in a picture that did not move, nor in changes too short to be worth a copy', () => {
    const rnd = random(3);
    const prev = consoleScreen(lines);
    const noise = Buffer.from(prev);
    for (let i = 0; i < noise.length; i += 4) noise.writeUInt32LE(Math.floor(rnd() * 2 ** 24), i);
    expect(find(prev, noise).found).toBeUndefined();
    const blank = Buffer.alloc(prev.length);
    expect(find(prev, blank).found).toBeUndefined();
    // One line rewritten: shorter than MIN_SCROLL_ROWS.
    const oneLine = Buffer.from(prev);
    oneLine.fill(0x7f, 5 * 16 * STRIDE, 6 * 16 * STRIDE);
    expect(MIN_SCROLL_ROWS).toBeGreaterThan(16);
    expect(find(prev, oneLine).found).toBeUndefined();
  });

  it('a copy found is always exact: copy, then the rest, gives the new picture (2000 seeded cases)', () => {
    let foundCount = 0;
    for (let seed = 1; seed <= 2000; seed++) {
      const rnd = random(seed);
      const base = Array.from({ length: H / 16 }, () => (rnd() < 0.2 ? 0 : 1 + Math.floor(rnd() * 5)));
      const prev = consoleScreen(base);
      // Scroll by whole or odd rows, up or down, then scribble a little anywhere.
      const dy = Math.floor(rnd() * 80) - 40;
      const next = Buffer.alloc(prev.length);
      for (let y = 0; y < H; y++) {
        const from = y + dy;
        if (from >= 0 && from < H) prev.copy(next, y * STRIDE, from * STRIDE, (from + 1) * STRIDE);
      }
      for (let k = Math.floor(rnd() * 4); k > 0; k--) {
        const at = Math.floor(rnd() * (H * W)) * 4;
        next.writeUInt32LE(Math.floor(rnd() * 2 ** 24), at);
      }
      const { found } = find(prev, next);
      if (!found) continue;
      foundCount++;
      expect(applied(prev, next, found.copy, found.rest).equals(next), `seed ${seed}`).toBe(true);
      expect(found.copy.h).toBeGreaterThanOrEqual(MIN_SCROLL_ROWS);
    }
    // Most of these are scrolls: the search must find them, not only be safe.
    expect(foundCount).toBeGreaterThan(1000);
  });
});

describe('DamageTracker copies', () => {
  const copy: CopyRect = { x: 0, y: 0, w: 64, h: 160, srcX: 0, srcY: 16 };
  const rest: Rect[] = [{ x: 0, y: 160, w: 64, h: 16 }];

  it('gives the copy to an idle consumer that accepts copies, the destination as damage to the others', () => {
    const t = new DamageTracker(128, 256);
    const onDamage = vi.fn();
    const copier = t.subscribe({ initialFull: false, acceptsCopy: () => true, onDamage });
    const plain = t.subscribe({ initialFull: false });
    const busy = t.subscribe({ initialFull: false, acceptsCopy: () => false });
    const behind = t.subscribe({ initialFull: false, acceptsCopy: () => true });
    behind.markAll();
    expect(t.wantsCopies).toBe(true);
    t.addCopy(copy, rest);
    expect(onDamage).toHaveBeenCalledTimes(1);
    expect(copier.hasDamage()).toBe(true);
    expect(copier.takeCopy()).toEqual(copy);
    expect(copier.takeCopy()).toBeUndefined();
    expect(copier.take()).toEqual(rest);
    for (const c of [plain, busy]) {
      expect(c.takeCopy()).toBeUndefined();
      expect(c.take()).toEqual([{ x: 0, y: 0, w: 64, h: 176 }]);
    }
    expect(behind.takeCopy()).toBeUndefined();
    expect(behind.take()).toEqual([{ x: 0, y: 0, w: 128, h: 256 }]);
  });

  it('take() without takeCopy() sends the copy as pixels; a second copy before the first was taken does too', () => {
    const t = new DamageTracker(128, 256);
    const a = t.subscribe({ initialFull: false, acceptsCopy: () => true });
    t.addCopy(copy, []);
    expect(a.take()).toEqual([{ x: 0, y: 0, w: 64, h: 160 }]);
    const b = t.subscribe({ initialFull: false, acceptsCopy: () => true });
    t.addCopy(copy, []);
    t.addCopy({ ...copy, x: 64, srcX: 64 }, []);
    expect(b.takeCopy()).toEqual(copy);
    expect(b.take()).toEqual([{ x: 64, y: 0, w: 64, h: 160 }]);
  });

  it('forgets a pending copy when everything is sent again (markAll, resize)', () => {
    const t = new DamageTracker(128, 256);
    const a = t.subscribe({ initialFull: false, acceptsCopy: () => true });
    t.addCopy(copy, []);
    a.markAll();
    expect(a.takeCopy()).toBeUndefined();
    a.take();
    t.addCopy(copy, []);
    t.resize(64, 64);
    expect(a.takeCopy()).toBeUndefined();
  });

  it('refuses a copy that leaves the frame', () => {
    const t = new DamageTracker(128, 256);
    expect(() => t.addCopy({ ...copy, srcY: 200 }, [])).toThrow(RangeError);
  });
});

describe('Framebuffer with a consumer that takes copies', () => {
  it('turns a scrolled update into a copy plus the new rows, and the client picture follows', () => {
    const fb = new Framebuffer();
    const lines = Array.from({ length: H / 16 }, (_, i) => 500 + i * 11);
    const first = consoleScreen(lines);
    fb.scanout(W, H, STRIDE, PIXMAN_x8r8g8b8, first);
    const consumer = fb.damage.subscribe({ initialFull: false, acceptsCopy: () => true });
    const client = Buffer.from(fb.data);
    const second = consoleScreen([...lines.slice(2), 3, 4]);
    fb.update(0, 0, W, H, STRIDE, PIXMAN_x8r8g8b8, second);
    const c = consumer.takeCopy();
    expect(c).toMatchObject({ x: 0, srcX: 0 });
    expect(c!.srcY - c!.y).toBe(32);
    expect(fb.stats.copies).toBe(1);
    expect(applied(client, fb.data, c, consumer.take()).equals(second)).toBe(true);
  });

  it('does not look for copies when no consumer can take them', () => {
    const fb = new Framebuffer();
    const lines = Array.from({ length: H / 16 }, (_, i) => 900 + i);
    fb.scanout(W, H, STRIDE, PIXMAN_x8r8g8b8, consoleScreen(lines));
    const consumer = fb.damage.subscribe({ initialFull: false });
    fb.update(0, 0, W, H, STRIDE, PIXMAN_x8r8g8b8, consoleScreen([...lines.slice(1), 5]));
    expect(fb.stats.copies).toBe(0);
    expect(consumer.takeCopy()).toBeUndefined();
    expect(consumer.take().length).toBeGreaterThan(0);
  });
});

describe('copyInside', () => {
  it('needs a non-empty copy whose source and destination both lie in the frame', () => {
    const copy: CopyRect = { x: 0, y: 0, w: 64, h: 160, srcX: 0, srcY: 16 };
    expect(copyInside(copy, 64, 176)).toBe(true);
    expect(copyInside(copy, 64, 175)).toBe(false);
    expect(copyInside({ ...copy, x: -1 }, 128, 256)).toBe(false);
    expect(copyInside({ ...copy, w: 0 }, 128, 256)).toBe(false);
    expect(copyInside({ ...copy, srcX: 0.5 }, 128, 256)).toBe(false);
  });
});
