// MPPC bulk compression (MS-RDPBCGR 3.1.8): the specification's example as bits, FreeRDP's
// published vector through our decoder, round trips of random and structured data across
// history wrap-around and incompressible packets, and a fuzz of the decoder.
import { describe, expect, it } from 'vitest';
import {
  CompressionType,
  MppcCompressor,
  MppcDecompressor,
  PACKET_AT_FRONT,
  PACKET_COMPRESSED,
  PACKET_FLUSHED,
  type MppcType,
} from '../src/bulk/index.js';
import { clientCompressionType, INFO_COMPRESSION } from '../src/pdu/client-info.js';
import { encodeFastPathUpdates, FastPathUpdateCode } from '../src/pdu/fast-path.js';
import { seededRandom } from './seeded-random.js';

const BELLS = Buffer.from('for.whom.the.bell.tolls,.the.bell.tolls.for.thee!', 'latin1');

/** A bit string ("0101…", spaces ignored) as bytes, zero-padded at the end. */
function bits(s: string): Buffer {
  const b = s.replace(/\s+/g, '');
  const out = Buffer.alloc(Math.ceil(b.length / 8));
  for (let i = 0; i < b.length; i++) if (b[i] === '1') out[i >> 3]! |= 0x80 >> (i & 7);
  return out;
}

const literal = (c: string) => c.charCodeAt(0).toString(2).padStart(8, '0');

describe('MPPC RDP 5.0 (64K)', () => {
  it('compresses the specification example as for.whom.the.bell.tolls,<16,15>.<40,4><19,3>e!', () => {
    // 3.1.8.4.2: copy-offset 0-63 is 11111 + 6 bits; length 3 is 0, 4-7 is 10 + 2 bits, 8-15 110 + 3 bits.
    const expected = bits(
      [
        ...'for.whom.the.bell.tolls,'.split('').map(literal),
        '11111 010000', // offset 16
        '110 111', // length 15
        literal('.'),
        '11111 101000', // offset 40
        '10 00', // length 4
        '11111 010011', // offset 19
        '0', // length 3
        literal('e'),
        literal('!'),
      ].join(''),
    );
    const c = new MppcCompressor(CompressionType.MPPC_64K);
    const p = c.compress(BELLS);
    expect(p.flags).toBe(PACKET_COMPRESSED | PACKET_AT_FRONT | CompressionType.MPPC_64K);
    expect(p.data.toString('hex')).toBe(expected.toString('hex'));
    expect(new MppcDecompressor().decompress(p.data, p.flags)).toEqual(BELLS);
  });

  it("decodes FreeRDP's RDP 5.0 vector of the same text (literal f, <40,3>, <35,3>)", () => {
    const vector = Buffer.concat([BELLS.subarray(0, 24), Buffer.from('fa1b97337e87e3329080', 'hex')]);
    expect(new MppcDecompressor().decompress(vector, PACKET_COMPRESSED | PACKET_AT_FRONT | 1)).toEqual(BELLS);
  });

  it('RDP 4.0 (8K): the example round-trips, with the 8K codes', () => {
    const c = new MppcCompressor(CompressionType.MPPC_8K);
    const p = c.compress(BELLS);
    expect(p.flags).toBe(PACKET_COMPRESSED | PACKET_AT_FRONT | CompressionType.MPPC_8K);
    // 24 literal bytes, then offset 16 as 1111 + 010000.
    expect(p.data.subarray(24, 26).toString('hex')).toBe(bits('1111 010000 110111').subarray(0, 2).toString('hex'));
    expect(new MppcDecompressor(CompressionType.MPPC_8K).decompress(p.data, p.flags)).toEqual(BELLS);
  });

  it('a replicating copy: a long run becomes one tuple with offset 1', () => {
    const run = Buffer.alloc(5000, 0x41);
    const p = new MppcCompressor().compress(run);
    expect(p.data.length).toBeLessThan(8);
    expect(new MppcDecompressor().decompress(p.data, p.flags)).toEqual(run);
  });
});

/** Structured data like planar bitmaps: runs, repeated rows, a few distinct byte values. */
function structured(r: () => number, n: number): Buffer {
  const out = Buffer.alloc(n);
  let i = 0;
  while (i < n) {
    const kind = r();
    const len = Math.min(n - i, 1 + Math.floor(r() * 200));
    if (kind < 0.3) out.fill(Math.floor(r() * 256), i, i + len);
    else if (kind < 0.7 && i > 300) out.copyWithin(i, i - 1 - Math.floor(r() * Math.min(i, 3000)), i - 1 - Math.floor(r() * Math.min(i, 3000)) + len);
    else for (let k = 0; k < len; k++) out[i + k] = Math.floor(r() * 256);
    i += len;
  }
  return out;
}

function roundTrip(type: MppcType, packets: Buffer[]): { plain: number; atFront: number; bytesOut: number } {
  const c = new MppcCompressor(type);
  const d = new MppcDecompressor(type);
  let plain = 0;
  let atFront = 0;
  let bytesOut = 0;
  packets.forEach((data, i) => {
    const p = c.compress(data);
    expect(p.flags & PACKET_FLUSHED).toBe(0);
    if (p.flags === 0) plain++;
    else expect(p.data.length).toBeLessThan(data.length);
    if (p.flags & PACKET_AT_FRONT) atFront++;
    bytesOut += p.data.length;
    const back = d.decompress(p.data, p.flags);
    if (!back.equals(data)) throw new Error(`packet ${i} (${data.length} bytes, flags 0x${p.flags.toString(16)}) did not round-trip`);
  });
  expect(c.stats.bytesOut).toBe(bytesOut);
  return { plain, atFront, bytesOut };
}

describe.each([
  { name: '64K', type: CompressionType.MPPC_64K as MppcType, max: 16374 },
  { name: '8K', type: CompressionType.MPPC_8K as MppcType, max: 8000 },
])('MPPC $name round trips', ({ type, max }) => {
  it('structured packets across many history wrap-arounds', () => {
    const r = seededRandom(7);
    const packets = Array.from({ length: 300 }, () => structured(r, 1 + Math.floor(r() * max)));
    const { atFront, bytesOut } = roundTrip(type, packets);
    const total = packets.reduce((n, p) => n + p.length, 0);
    expect(atFront).toBeGreaterThan(total / (type ? 65536 : 8192) - 2);
    expect(bytesOut).toBeLessThan(total * 0.8);
  }, 30_000);

  it('random packets go out plain and leave the history usable', () => {
    const r = seededRandom(11);
    const noise = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));
    const text = Buffer.from('the same line of text, again and again; '.repeat(40));
    const packets: Buffer[] = [];
    for (let k = 0; k < 40; k++) packets.push(k % 3 === 0 ? text : noise(1 + Math.floor(r() * max)));
    const { plain } = roundTrip(type, packets);
    expect(plain).toBeGreaterThan(20);
    // The text still matches the history the noise did not destroy: tiny after the first time.
    const c = new MppcCompressor(type);
    c.compress(text);
    c.compress(noise(Math.min(max, 5000)));
    expect(c.compress(text).data.length).toBeLessThan(20);
  });

  it('the same picture alternating with another: the second round references the first', () => {
    const r = seededRandom(3);
    const a = structured(r, Math.min(max, 12000));
    const b = structured(r, Math.min(max, 12000));
    const { bytesOut } = roundTrip(type, [a, b, a, b, a, b]);
    const firstTwo = roundTrip(type, [a, b]).bytesOut;
    if (type === CompressionType.MPPC_64K) expect(bytesOut - firstTwo).toBeLessThan(400);
  });

  it('tiny and empty packets', () => {
    roundTrip(type, [Buffer.alloc(0), Buffer.from('a'), Buffer.from('abc'), Buffer.from('abcd'), Buffer.from('abcabcabc'), Buffer.alloc(0)]);
  });
});

describe('Client Info CompressionTypeMask (2.2.1.11.1.1)', () => {
  it("reads the type next to INFO_COMPRESSION, as in the specification's example (flags 0x43b3: 64K)", () => {
    expect(clientCompressionType(0x000043b3)).toBe(CompressionType.MPPC_64K);
    expect(clientCompressionType(INFO_COMPRESSION | (CompressionType.RDP61 << 9))).toBe(CompressionType.RDP61);
    expect(clientCompressionType(INFO_COMPRESSION)).toBe(CompressionType.MPPC_8K);
    expect(clientCompressionType(0x00000633)).toBeUndefined(); // a type without INFO_COMPRESSION
  });
});

describe('MPPC decoder fuzz', () => {
  it('corrupted and random packets throw RangeError or decode, never anything else', () => {
    const r = seededRandom(99);
    const c = new MppcCompressor();
    for (let k = 0; k < 2000; k++) {
      const d = new MppcDecompressor();
      let data: Buffer;
      if (k % 2 === 0) {
        data = Buffer.from(Array.from({ length: Math.floor(r() * 64) }, () => Math.floor(r() * 256)));
      } else {
        data = Buffer.from(c.compress(structured(r, 200 + Math.floor(r() * 2000))).data);
        for (let f = 0; f < 3; f++) data[Math.floor(r() * data.length)] ^= 1 << Math.floor(r() * 8);
      }
      try {
        const out = d.decompress(data, PACKET_COMPRESSED | PACKET_AT_FRONT | 1);
        expect(out.length).toBeLessThanOrEqual(65536);
      } catch (err) {
        expect(err).toBeInstanceOf(RangeError);
      }
    }
  });
});

describe('fast-path output with bulk compression', () => {
  /** Parses frames back into updates, decompressing each fragment in order, then reassembling. */
  function parse(frames: Buffer[], d: MppcDecompressor): Array<{ updateCode: number; data: Buffer; compressed: number }> {
    const updates: Array<{ updateCode: number; data: Buffer; compressed: number }> = [];
    let parts: Buffer[] = [];
    let compressed = 0;
    for (const f of frames) {
      expect(f.length).toBeLessThanOrEqual(0x3fff);
      let pos = f[1]! & 0x80 ? 3 : 2;
      while (pos < f.length) {
        const header = f[pos++]!;
        const flags = header >> 6 === 2 ? f[pos++]! : 0;
        const size = f.readUInt16LE(pos);
        pos += 2;
        const chunk = d.decompress(f.subarray(pos, pos + size), flags);
        if (flags & PACKET_COMPRESSED) compressed++;
        pos += size;
        const frag = (header >> 4) & 3;
        parts.push(Buffer.from(chunk));
        if (frag === 0 || frag === 1) {
          updates.push({ updateCode: header & 0xf, data: Buffer.concat(parts), compressed });
          parts = [];
          compressed = 0;
        }
      }
    }
    return updates;
  }

  it('compresses each fragment in order; the client-side decoder gets the updates back', () => {
    const r = seededRandom(5);
    const updates = [
      { updateCode: FastPathUpdateCode.BITMAP, data: structured(r, 70000) },
      { updateCode: FastPathUpdateCode.PTR_POSITION, data: Buffer.from([1, 0, 2, 0]) },
      { updateCode: FastPathUpdateCode.BITMAP, data: structured(r, 300) },
      { updateCode: FastPathUpdateCode.BITMAP, data: Buffer.from(Array.from({ length: 20000 }, () => Math.floor(r() * 256))) },
    ];
    const c = new MppcCompressor();
    const d = new MppcDecompressor();
    for (let round = 0; round < 3; round++) {
      const frames = encodeFastPathUpdates(updates, 0x3f0000, c);
      const back = parse(frames, d);
      expect(back.map((u) => u.updateCode)).toEqual(updates.map((u) => u.updateCode));
      back.forEach((u, i) => expect(u.data.equals(updates[i]!.data)).toBe(true));
      expect(back[0]!.compressed).toBeGreaterThan(0);
    }
    expect(c.stats.bytesOut).toBeLessThan(c.stats.bytesIn);
  });

  it('MPPC 8K: fragments stay smaller than its 8 KiB history', () => {
    const r = seededRandom(6);
    const update = { updateCode: FastPathUpdateCode.BITMAP, data: structured(r, 40000) };
    const c = new MppcCompressor(CompressionType.MPPC_8K);
    const d = new MppcDecompressor(CompressionType.MPPC_8K);
    for (let round = 0; round < 3; round++) {
      const back = parse(encodeFastPathUpdates([update], 0x3f0000, c), d);
      expect(back[0]!.data.equals(update.data)).toBe(true);
    }
  });

  it('without a compressor nothing changes: no compression bits', () => {
    const frames = encodeFastPathUpdates([{ updateCode: FastPathUpdateCode.BITMAP, data: Buffer.alloc(100, 7) }], 0x3f0000);
    expect(frames[0]![2]! & 0xc0).toBe(0);
  });
});

describe('MPPC speed', () => {
  it('compresses structured data at a useful rate (reported)', () => {
    const r = seededRandom(1);
    const packets = Array.from({ length: 128 }, () => structured(r, 16000));
    const c = new MppcCompressor();
    const t0 = performance.now();
    for (const p of packets) c.compress(p);
    const ms = performance.now() - t0;
    const mb = (16000 * 128) / 1e6;
    console.log(`MPPC 64K: ${(ms / mb).toFixed(1)} ms per MB, ratio ${(c.stats.bytesOut / c.stats.bytesIn).toFixed(3)}`);
    expect(ms / mb).toBeLessThan(500);
  });
});
