// The graphics pipeline's bitmap cache (MS-RDPEGFX SURFACE_TO_CACHE, CACHE_TO_SURFACE,
// EVICT_CACHE_ENTRY) and RemoteFX inside it (WIRE_TO_SURFACE_1 with CAVIDEO): the PDUs, the
// server's slot/LRU bookkeeping, and GfxOutput's frames as a model client paints them. Reference
// bodies marked "IronRDP" are the vectors of IronRDP's ironrdp-testsuite-core
// (graphics_messages.rs), with the RDPGFX_HEADER added here.
import { describe, expect, it } from 'vitest';
import {
  decodeClientGfxPdu,
  encodeCacheToSurface,
  encodeEvictCacheEntry,
  encodeSurfaceToCache,
  GfxCapsFlag,
  GfxCapVersion,
  GfxCmd,
  GfxCodec,
  splitGfxPdus,
} from '../src/channels/gfx/pdu.js';
import { cacheCapacity, GfxOutput, GfxTileCache, type GfxCodecChoice, type GfxFrameSource } from '../src/server/gfx-output.js';
import { decodePlanar } from './bitmap-decoders.js';
import { RemoteFxTestDecoder } from './remotefx-decoder.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+|\/\/[^\n]*/g, ''), 'hex');

function withHeader(cmdId: number, body: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16LE(cmdId, 0);
  h.writeUInt32LE(8 + body.length, 4);
  return Buffer.concat([h, body]);
}

describe('RDPGFX cache PDUs', () => {
  it('encodes SURFACE_TO_CACHE (IronRDP: slot 14, key 0x113d86daa6a37fb7, 640,0-704,64)', () => {
    expect(encodeSurfaceToCache(0, 0x113d86daa6a37fb7n, 14, { left: 640, top: 0, right: 704, bottom: 64 })).toEqual(
      withHeader(GfxCmd.SURFACE_TO_CACHE, hex('0000 b77fa3a6da863d11 0e00 8002 0000 c002 4000')),
    );
  });

  it('encodes CACHE_TO_SURFACE (IronRDP: slot 2 to 768,320) and with several points', () => {
    expect(encodeCacheToSurface(2, 0, [{ x: 768, y: 320 }])).toEqual(withHeader(GfxCmd.CACHE_TO_SURFACE, hex('0200 0000 0100 0003 4001')));
    expect(encodeCacheToSurface(7, 3, [{ x: 1, y: 2 }, { x: 0xffff, y: 4 }])).toEqual(withHeader(GfxCmd.CACHE_TO_SURFACE, hex('0700 0300 0200 0100 0200 ffff 0400')));
  });

  it('encodes EVICT_CACHE_ENTRY (IronRDP: slot 0) and slot 6400', () => {
    expect(encodeEvictCacheEntry(0)).toEqual(withHeader(GfxCmd.EVICT_CACHE_ENTRY, hex('0000')));
    expect(encodeEvictCacheEntry(6400)).toEqual(withHeader(GfxCmd.EVICT_CACHE_ENTRY, hex('0019')));
  });

  it('the server-to-client cache PDUs are refused from a client', () => {
    for (const pdu of [encodeEvictCacheEntry(1), encodeCacheToSurface(1, 1, [{ x: 0, y: 0 }]), encodeSurfaceToCache(1, 1n, 1, { left: 0, top: 0, right: 1, bottom: 1 })]) {
      expect(() => decodeClientGfxPdu(pdu)).toThrow(/from a client/);
    }
  });
});

describe('GfxTileCache', () => {
  it('hands out slots 1..capacity, then evicts the least recently used', () => {
    const c = new GfxTileCache(3);
    expect(['a', 'b', 'c'].map((k) => c.insert(k))).toEqual([
      { slot: 1, evicted: false },
      { slot: 2, evicted: false },
      { slot: 3, evicted: false },
    ]);
    expect(c.lookup('a')).toBe(1); // a is now the most recently used: b is the oldest
    expect(c.lookup('zz')).toBeUndefined();
    expect(c.insert('d')).toEqual({ slot: 2, evicted: true });
    expect(c.lookup('b')).toBeUndefined();
    expect(c.insert('e')).toEqual({ slot: 3, evicted: true }); // c was next
    expect(c.insert('f')).toEqual({ slot: 1, evicted: true }); // then a
    expect(c.size).toBe(3);
    expect(() => c.insert('f')).toThrow();
    expect(c.clear().sort()).toEqual([1, 2, 3]);
    expect(c.size).toBe(0);
    expect(c.insert('a')).toEqual({ slot: 1, evicted: false });
  });

  it('never holds more entries than its capacity', () => {
    const c = new GfxTileCache(50);
    for (let i = 0; i < 1000; i++) {
      const { slot } = c.insert(`k${i}`);
      expect(slot).toBeGreaterThanOrEqual(1);
      expect(slot).toBeLessThanOrEqual(50);
      if (i % 3 === 0) c.lookup(`k${i - 10}`);
    }
    expect(c.size).toBe(50);
    expect(() => new GfxTileCache(0)).toThrow(RangeError);
    expect(() => new GfxTileCache(0xffff)).toThrow(RangeError);
  });

  it('sizes the cache from the capability flags: 100 MB or 16 MB of 64x64 tiles, within the slot count', () => {
    expect(cacheCapacity(0)).toBe(6400);
    expect(cacheCapacity(GfxCapsFlag.SMALL_CACHE)).toBe(1024);
    expect(cacheCapacity(GfxCapsFlag.THINCLIENT | GfxCapsFlag.SMALL_CACHE)).toBe(1024);
  });
});

// ---- GfxOutput with the cache and with RemoteFX, against a model client -----------------------

function frame(width: number, height: number, f: (x: number, y: number) => number): GfxFrameSource {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.writeUInt32LE(((f(x, y) & 0xffffff) | 0xff000000) >>> 0, (y * width + x) * 4);
  return { width, height, stride: width * 4, data };
}

function pixelsOf(src: GfxFrameSource): Uint32Array {
  const out = new Uint32Array(src.width * src.height);
  for (let i = 0; i < out.length; i++) out[i] = src.data.readUInt32LE(4 * i) & 0xffffff;
  return out;
}

/**
 * A client: one surface, planar / RemoteFX / solid fill, and a bitmap cache that refuses what
 * FreeRDP would get wrong (a slot out of range, filling a slot in use, drawing from an empty one).
 */
class ModelClient {
  surface = new Uint32Array(0);
  width = 0;
  height = 0;
  readonly cache = new Map<number, { w: number; h: number; pixels: Uint32Array }>();
  readonly counts = new Map<number, number>();
  rfxTiles = 0;

  constructor(readonly slots: number) {}

  apply(pdus: Buffer[]): void {
    for (const pdu of pdus) {
      const cmdId = pdu.readUInt16LE(0);
      this.counts.set(cmdId, (this.counts.get(cmdId) ?? 0) + 1);
      switch (cmdId) {
        case GfxCmd.CREATE_SURFACE:
          this.width = pdu.readUInt16LE(10);
          this.height = pdu.readUInt16LE(12);
          this.surface = new Uint32Array(this.width * this.height);
          break;
        case GfxCmd.SOLID_FILL: {
          const color = pdu.readUIntLE(10, 3);
          const count = pdu.readUInt16LE(14);
          for (let i = 0; i < count; i++) {
            const [l, t, r, b] = [0, 2, 4, 6].map((o) => pdu.readUInt16LE(16 + 8 * i + o)) as [number, number, number, number];
            for (let y = t; y < b; y++) this.surface.fill(color, y * this.width + l, y * this.width + r);
          }
          break;
        }
        case GfxCmd.WIRE_TO_SURFACE_1:
          this.wireToSurface(pdu);
          break;
        case GfxCmd.SURFACE_TO_CACHE: {
          const slot = pdu.readUInt16LE(18);
          const [l, t, r, b] = [20, 22, 24, 26].map((o) => pdu.readUInt16LE(o)) as [number, number, number, number];
          this.checkSlot(slot);
          if (this.cache.has(slot)) throw new Error(`SURFACE_TO_CACHE into slot ${slot}, which is in use`);
          const w = r - l;
          const h = b - t;
          const pixels = new Uint32Array(w * h);
          for (let y = 0; y < h; y++) pixels.set(this.surface.subarray((t + y) * this.width + l, (t + y) * this.width + r), y * w);
          this.cache.set(slot, { w, h, pixels });
          break;
        }
        case GfxCmd.CACHE_TO_SURFACE: {
          const slot = pdu.readUInt16LE(8);
          const entry = this.cache.get(slot);
          if (!entry) throw new Error(`CACHE_TO_SURFACE from empty slot ${slot}`);
          const n = pdu.readUInt16LE(12);
          for (let i = 0; i < n; i++) {
            const x = pdu.readUInt16LE(14 + 4 * i);
            const y0 = pdu.readUInt16LE(16 + 4 * i);
            for (let y = 0; y < entry.h; y++) this.surface.set(entry.pixels.subarray(y * entry.w, (y + 1) * entry.w), (y0 + y) * this.width + x);
          }
          break;
        }
        case GfxCmd.EVICT_CACHE_ENTRY: {
          const slot = pdu.readUInt16LE(8);
          this.checkSlot(slot);
          if (!this.cache.delete(slot)) throw new Error(`EVICT_CACHE_ENTRY of empty slot ${slot}`);
          break;
        }
      }
    }
  }

  count(cmdId: number): number {
    return this.counts.get(cmdId) ?? 0;
  }

  private checkSlot(slot: number): void {
    if (slot < 1 || slot >= this.slots) throw new Error(`cache slot ${slot} outside 1..${this.slots - 1}`);
  }

  private wireToSurface(pdu: Buffer): void {
    const codec = pdu.readUInt16LE(10);
    const [l, t, r, b] = [13, 15, 17, 19].map((o) => pdu.readUInt16LE(o)) as [number, number, number, number];
    const w = r - l;
    const h = b - t;
    const data = pdu.subarray(25, 25 + pdu.readUInt32LE(21));
    if (codec === GfxCodec.PLANAR) {
      const flipped = decodePlanar(data, w, h).pixels;
      for (let y = 0; y < h; y++) this.surface.set(flipped.subarray((h - 1 - y) * w, (h - y) * w), (t + y) * this.width + l);
      return;
    }
    expect(codec).toBe(GfxCodec.CAVIDEO);
    // Every CAVIDEO message stands alone: a fresh decoder (no header state) must take it.
    const rfx = new RemoteFxTestDecoder(this.width, this.height);
    for (let i = 0; i < this.surface.length; i++) rfx.surface.writeUInt32LE(this.surface[i]!, 4 * i);
    rfx.decodeMessages(data, l, t);
    expect(rfx.frames).toHaveLength(1);
    expect(rfx.frames[0]!.rects).toEqual([{ x: 0, y: 0, width: w, height: h }]);
    expect(rfx.frames[0]!.tiles.map((tile) => [tile.xIdx, tile.yIdx])).toEqual([[0, 0]]);
    for (let y = t; y < b; y++) for (let x = l; x < r; x++) this.surface[y * this.width + x] = rfx.surface.readUInt32LE(4 * (y * this.width + x)) & 0xffffff;
    this.rfxTiles++;
  }
}

function harness(opts: { codec?: GfxCodecChoice; cacheLimit?: number; flags?: number; version?: number } = {}) {
  const messages: Buffer[] = [];
  const logs: string[] = [];
  const output = new GfxOutput({
    send: (m) => messages.push(m),
    log: (_level, m) => logs.push(m),
    wake: () => undefined,
    codec: opts.codec,
    cacheLimit: opts.cacheLimit,
    now: () => new Date(0),
  });
  const body = Buffer.alloc(14);
  body.writeUInt16LE(1, 0);
  body.writeUInt32LE(opts.version ?? GfxCapVersion.V10, 2);
  body.writeUInt32LE(4, 6);
  body.writeUInt32LE(opts.flags ?? 0, 10);
  output.onClientPdu(decodeClientGfxPdu(withHeader(GfxCmd.CAPS_ADVERTISE, body)));
  const client = new ModelClient((opts.flags ?? 0) & GfxCapsFlag.SMALL_CACHE ? 4096 : 25600);
  const pump = () => client.apply(messages.splice(0).flatMap((m) => splitGfxPdus(m)));
  pump();
  let acked = 0;
  const send = (src: GfxFrameSource, rects = [{ x: 0, y: 0, w: src.width, h: src.height }]) => {
    const stats = output.sendFrame(src, rects)!;
    expect(stats).toBeDefined();
    pump();
    output.onClientPdu({ kind: 'frameAcknowledge', queueDepth: 0, frameId: stats.frameId, totalFramesDecoded: ++acked });
    return stats;
  };
  return { output, client, send, logs };
}

/** Two busy pictures (no tile of one colour), as vdi-pattern draws them. */
const pictureA = (w: number, h: number) => frame(w, h, (x, y) => ((x * 7) ^ (y * 13)) * 0x010101 + x * y);
const pictureB = (w: number, h: number) => frame(w, h, (x, y) => (x << 16) ^ (y << 4) ^ ((x * y) & 0xff));

describe('GfxOutput with the bitmap cache', () => {
  it('alternating two pictures: the third frame on comes from the cache, and the picture is right', () => {
    const h = harness();
    expect(h.output.cacheCapacity).toBe(6400);
    const a = pictureA(256, 192);
    const b = pictureB(256, 192);
    expect(h.send(a)).toMatchObject({ bitmapTiles: 12, cacheHits: 0, cacheStores: 12 });
    expect(h.client.surface).toEqual(pixelsOf(a));
    expect(h.send(b)).toMatchObject({ bitmapTiles: 12, cacheHits: 0, cacheStores: 12 });
    expect(h.client.surface).toEqual(pixelsOf(b));
    for (let i = 0; i < 4; i++) {
      const src = i % 2 === 0 ? a : b;
      const stats = h.send(src);
      expect(stats).toMatchObject({ bitmapTiles: 0, cacheHits: 12, cacheStores: 0 });
      expect(stats.bytes).toBeLessThan(12 * 40);
      expect(h.client.surface).toEqual(pixelsOf(src));
    }
    expect(h.client.count(GfxCmd.CACHE_TO_SURFACE)).toBe(48);
    expect(h.logs.some((l) => /12 from cache/.test(l))).toBe(true);
    expect(h.output.totals).toMatchObject({ cacheHits: 48, cacheStores: 24, planarTiles: 24 });
  });

  it('a picture seen before comes from the cache even when its damage arrives in bands off the 64×64 grid', () => {
    const h = harness();
    const a = pictureA(256, 192);
    const b = pictureB(256, 192);
    h.send(a);
    h.send(b);
    // The guest still writing picture A: rows 0..39, then 40..191 (bands a guest's write makes).
    const top = h.send(a, [{ x: 0, y: 0, w: 256, h: 40 }]);
    const rest = h.send(a, [{ x: 0, y: 40, w: 256, h: 152 }]);
    // The tiles of grid rows 1 and 2 lie wholly inside the second band: from the cache.
    expect(top.cacheHits).toBe(0);
    expect(rest.cacheHits).toBe(8);
    expect(h.client.surface).toEqual(pixelsOf(a));
  });

  it('the same tile twice in one frame: drawn, cached, then copied from the cache', () => {
    const h = harness();
    const src = frame(128, 64, (x, y) => (x % 64) * 3 + y * 1000);
    expect(h.send(src)).toMatchObject({ bitmapTiles: 1, cacheHits: 1, cacheStores: 1 });
    expect(h.client.surface).toEqual(pixelsOf(src));
  });

  it('solid tiles are filled, not cached; partial tiles are cached with their own size', () => {
    const h = harness();
    const src = frame(100, 70, (x, y) => (x < 64 && y < 64 ? 0x123456 : x * 31 + y * 7));
    const first = h.send(src);
    expect(first).toMatchObject({ solidTiles: 1, bitmapTiles: 3, cacheStores: 3 });
    expect(h.send(src)).toMatchObject({ solidTiles: 1, bitmapTiles: 0, cacheHits: 3 });
    expect(h.client.surface).toEqual(pixelsOf(src));
    // An unaligned damage rectangle: tiles start at its corner.
    const moved = frame(100, 70, (x, y) => (x < 64 && y < 64 ? 0x123456 : x * 31 + y * 7 + (x > 70 && y >= 3 ? 1 : 0)));
    h.send(moved, [{ x: 65, y: 3, w: 35, h: 67 }]);
    expect(h.client.surface).toEqual(pixelsOf(moved));
  });

  it('a full cache evicts its least recently used slot first (EVICT_CACHE_ENTRY), and stays right', () => {
    const h = harness({ cacheLimit: 5 });
    expect(h.output.cacheCapacity).toBe(5);
    const pictures = [0, 1, 2].map((k) => frame(192, 64, (x, y) => ((x + k * 1000) * 2654435761) ^ (y * 40503)));
    for (let round = 0; round < 4; round++) {
      for (const p of pictures) {
        h.send(p);
        expect(h.client.surface).toEqual(pixelsOf(p));
        expect(h.client.cache.size).toBeLessThanOrEqual(5);
      }
    }
    expect(h.output.totals.cacheEvictions).toBeGreaterThan(0);
    expect(h.client.count(GfxCmd.EVICT_CACHE_ENTRY)).toBe(h.output.totals.cacheEvictions);
  });

  it('a mode change evicts every slot in use before the reset, then fills the cache afresh', () => {
    const h = harness();
    h.send(pictureA(128, 128));
    expect(h.client.cache.size).toBe(4);
    const big = pictureA(192, 128);
    const stats = h.send(big);
    expect(h.client.count(GfxCmd.EVICT_CACHE_ENTRY)).toBe(4);
    expect(stats.cacheHits).toBe(0);
    expect(h.client.cache.size).toBe(6);
    expect(h.client.surface).toEqual(pixelsOf(big));
    expect(h.send(big).cacheHits).toBe(6);
  });

  it('a small cache (RDPGFX_CAPS_FLAG_SMALL_CACHE) gets at most 1024 entries; cache: false sends no cache PDU', () => {
    expect(harness({ flags: GfxCapsFlag.SMALL_CACHE, version: GfxCapVersion.V8 }).output.cacheCapacity).toBe(1024);
    const messages: Buffer[] = [];
    const output = new GfxOutput({ send: (m) => messages.push(m), log: () => undefined, wake: () => undefined, cache: false });
    output.onClientPdu({ kind: 'capsAdvertise', capsSets: [{ version: GfxCapVersion.V10, data: Buffer.alloc(4) }] });
    const a = pictureA(128, 64);
    output.sendFrame(a, [{ x: 0, y: 0, w: 128, h: 64 }]);
    output.onClientPdu({ kind: 'frameAcknowledge', queueDepth: 0, frameId: 1, totalFramesDecoded: 1 });
    output.sendFrame(a, [{ x: 0, y: 0, w: 128, h: 64 }]);
    const cmds = messages.flatMap((m) => splitGfxPdus(m)).map((p) => p.readUInt16LE(0));
    expect(cmds.filter((c) => c >= GfxCmd.SURFACE_TO_CACHE && c <= GfxCmd.EVICT_CACHE_ENTRY)).toEqual([]);
    expect(output.cacheCapacity).toBe(0);
  });
});

describe('GfxOutput with RemoteFX (CAVIDEO)', () => {
  /** Largest difference of one colour channel between two XRGB pictures. */
  const maxDiff = (a: Uint32Array, b: Uint32Array) => {
    let m = 0;
    for (let i = 0; i < a.length; i++) for (const s of [0, 8, 16]) m = Math.max(m, Math.abs(((a[i]! >> s) & 0xff) - ((b[i]! >> s) & 0xff)));
    return m;
  };
  const smooth = (w: number, h: number, k = 0) => frame(w, h, (x, y) => (((x * 2 + k) & 0xff) << 16) | (((y * 3 + k) & 0xff) << 8) | ((x + y) & 0xff));

  it('sends tiles that are neither solid nor cached as self-contained RemoteFX messages, within the codec loss', () => {
    const h = harness({ codec: 'remotefx' });
    expect(h.output.codec).toBe('remotefx');
    const src = smooth(150, 70);
    const stats = h.send(src);
    expect(stats.bitmapTiles).toBe(6);
    expect(h.client.rfxTiles).toBe(6);
    expect(maxDiff(h.client.surface, pixelsOf(src))).toBeLessThanOrEqual(8);
    expect(h.logs.some((l) => /6 remotefx/.test(l))).toBe(true);
    expect(h.output.totals.remotefxTiles).toBe(6);
    // The same picture again: all from the cache, which holds what the client decoded.
    const before = Uint32Array.from(h.client.surface);
    h.client.surface.fill(0);
    expect(h.send(src)).toMatchObject({ bitmapTiles: 0, cacheHits: 6 });
    expect(h.client.surface).toEqual(before);
  });

  it('an unaligned damage rectangle paints only its own pixels', () => {
    const h = harness({ codec: 'remotefx' });
    const a = smooth(128, 128);
    h.send(a);
    const painted = Uint32Array.from(h.client.surface);
    const b = smooth(128, 128, 40);
    h.send(b, [{ x: 10, y: 20, w: 50, h: 30 }]);
    for (let y = 0; y < 128; y++) {
      for (let x = 0; x < 128; x++) {
        const inside = x >= 10 && x < 60 && y >= 20 && y < 50;
        if (!inside) expect(h.client.surface[y * 128 + x]).toBe(painted[y * 128 + x]);
      }
    }
    const diffInside = maxDiff(
      Uint32Array.from({ length: 50 * 30 }, (_, i) => h.client.surface[(20 + Math.floor(i / 50)) * 128 + 10 + (i % 50)]!),
      Uint32Array.from({ length: 50 * 30 }, (_, i) => pixelsOf(b)[(20 + Math.floor(i / 50)) * 128 + 10 + (i % 50)]!),
    );
    expect(diffInside).toBeLessThanOrEqual(8);
  });

  it("'auto' takes RemoteFX, but planar for a client that calls itself a thin client", () => {
    expect(harness({ codec: 'auto' }).output.codec).toBe('remotefx');
    const thin = harness({ codec: 'auto', version: GfxCapVersion.V8, flags: GfxCapsFlag.THINCLIENT });
    expect(thin.output.codec).toBe('planar');
    const src = smooth(64, 64);
    thin.send(src);
    expect(thin.client.rfxTiles).toBe(0);
    expect(thin.client.surface).toEqual(pixelsOf(src));
    expect(new GfxOutput({ send: () => undefined, log: () => undefined, wake: () => undefined, codec: 'auto' }).codec).toBe('planar');
  });
});
