// XCRUSH, RDP 6.1 bulk compression (MS-RDPEGDI 3.1.8.2): level-1 matches over the 2 MB history
// chained with MPPC 64K, round-tripped through the reference receiver, including history
// wrap-around (L1_PACKET_AT_FRONT), incompressible packets and the level flags.
import { describe, expect, it } from 'vitest';
import {
  CompressionType,
  L1_COMPRESSED,
  L1_INNER_COMPRESSION,
  L1_NO_COMPRESSION,
  L1_PACKET_AT_FRONT,
  MppcDecompressor,
  PACKET_COMPRESSED,
  XCRUSH_MAX_BLOCK,
  XcrushCompressor,
  XcrushDecompressor,
} from '../src/bulk/index.js';
import { seededRandom } from './seeded-random.js';

function structured(r: () => number, n: number): Buffer {
  const out = Buffer.alloc(n);
  let i = 0;
  while (i < n) {
    const len = Math.min(n - i, 1 + Math.floor(r() * 200));
    if (r() < 0.4) out.fill(Math.floor(r() * 256), i, i + len);
    else for (let k = 0; k < len; k++) out[i + k] = Math.floor(r() * 256);
    i += len;
  }
  return out;
}

function pair() {
  return { c: new XcrushCompressor(), d: new XcrushDecompressor(new MppcDecompressor(CompressionType.MPPC_64K)) };
}

describe('XCRUSH', () => {
  it('a block seen before comes back as one level-1 match', () => {
    const r = seededRandom(1);
    const { c, d } = pair();
    const a = structured(r, 16000);
    const first = c.compress(a);
    expect(d.decompress(first.data, first.flags)).toEqual(a);
    for (let k = 0; k < 5; k++) {
      const noise = structured(r, 12000);
      const p = c.compress(noise);
      expect(d.decompress(p.data, p.flags)).toEqual(noise);
    }
    const again = c.compress(a);
    expect(again.flags).toBe(PACKET_COMPRESSED | CompressionType.RDP61);
    expect(again.data[0]! & (L1_COMPRESSED | L1_INNER_COMPRESSION)).toBe(L1_COMPRESSED | L1_INNER_COMPRESSION);
    expect(again.data.length).toBeLessThan(40);
    expect(d.decompress(again.data, again.flags)).toEqual(a);
  });

  it('round-trips a long stream across L1_PACKET_AT_FRONT wrap-arounds, with repeats and noise', () => {
    const r = seededRandom(2);
    const { c, d } = pair();
    const pool = Array.from({ length: 8 }, () => structured(r, 1 + Math.floor(r() * XCRUSH_MAX_BLOCK)));
    let atFront = 0;
    let plain = 0;
    let l1Plain = 0;
    let total = 0;
    let out = 0;
    for (let k = 0; k < 400; k++) {
      const pick = r();
      const data =
        pick < 0.5
          ? pool[Math.floor(r() * pool.length)]!
          : pick < 0.6
            ? Buffer.from(Array.from({ length: 1 + Math.floor(r() * 3000) }, () => Math.floor(r() * 256)))
            : structured(r, 1 + Math.floor(r() * XCRUSH_MAX_BLOCK));
      const p = c.compress(data);
      total += data.length;
      out += p.data.length;
      if (p.flags === 0) plain++;
      else {
        expect(p.data.length).toBeLessThan(data.length);
        if (p.data[0]! & L1_PACKET_AT_FRONT) atFront++;
        if (p.data[0]! & L1_NO_COMPRESSION) l1Plain++;
      }
      const back = d.decompress(p.data, p.flags);
      if (!back.equals(data)) throw new Error(`packet ${k} did not round-trip`);
    }
    expect(atFront).toBeGreaterThan(0);
    expect(plain).toBeGreaterThan(0);
    expect(l1Plain).toBeGreaterThan(0);
    expect(out).toBeLessThan(total * 0.6);
    expect(c.stats.bytesOut).toBe(out);
  }, 30_000);

  it('tiny packets and blocks over the limit', () => {
    const { c, d } = pair();
    for (const s of ['', 'a', 'abcdefg', 'abcdefgh'.repeat(20)]) {
      const data = Buffer.from(s);
      const p = c.compress(data);
      expect(d.decompress(p.data, p.flags)).toEqual(data);
    }
    expect(() => c.compress(Buffer.alloc(XCRUSH_MAX_BLOCK + 1))).toThrow(RangeError);
  });

  it('the receiver rejects malformed level-1 data with RangeError', () => {
    const r = seededRandom(3);
    for (let k = 0; k < 500; k++) {
      const d = new XcrushDecompressor(new MppcDecompressor(CompressionType.MPPC_64K));
      const data = Buffer.from(Array.from({ length: 2 + Math.floor(r() * 40) }, () => Math.floor(r() * 256)));
      data[1] = 0; // level 2 plain: fuzz level 1
      try {
        d.decompress(data, PACKET_COMPRESSED | CompressionType.RDP61);
      } catch (err) {
        expect(err).toBeInstanceOf(RangeError);
      }
    }
  });
});
