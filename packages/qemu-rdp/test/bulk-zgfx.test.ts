// RDP 8.0 bulk compression (ZGFX, MS-RDPEGFX 3.1.9.1): segments coded by hand from the token
// table, the MS-RDPEDYC 4.3.3 example, raw segments feeding the history, round trips of a
// multi-megabyte stream across the history's wrap-around, compression ratios, and a decoder fuzz.
import { describe, expect, it } from 'vitest';
import { ZGFX_HISTORY_SIZE, ZgfxCompressor, ZgfxDecompressor } from '../src/bulk/zgfx.js';
import { RdpProtocolError } from '../src/pdu/errors.js';
import { seededRandom } from './seeded-random.js';

const RAW = 0x04;
const COMPRESSED = 0x24;

/** A bit string ("0101…", spaces ignored) as bytes, zero-padded, then the count of unused bits. */
function bits(s: string): Buffer {
  const b = s.replace(/\s+/g, '');
  const out = Buffer.alloc(Math.ceil(b.length / 8) + 1);
  for (let i = 0; i < b.length; i++) if (b[i] === '1') out[i >> 3]! |= 0x80 >> (i & 7);
  out[out.length - 1] = (8 - (b.length & 7)) & 7;
  return out;
}

/** A byte as a "0" + 8 bits literal. */
const lit = (c: string | number) => '0' + (typeof c === 'string' ? c.charCodeAt(0) : c).toString(2).padStart(8, '0');

describe('ZGFX segments by hand (token table, 3.1.9.1.2)', () => {
  it('decodes a short-code literal and a "0"+8-bit literal, with the unused-bits byte', () => {
    // 11001 = 0x01, then 3 unused bits.
    expect(bits('11001').toString('hex')).toBe('c803');
    expect([...new ZgfxDecompressor().decompress(COMPRESSED, Buffer.from('c803', 'hex'))]).toEqual([0x01]);
    // 0 01100101 = "e", 7 unused bits.
    expect(bits(lit('e')).toString('hex')).toBe('328007');
    expect(new ZgfxDecompressor().decompress(COMPRESSED, Buffer.from('328007', 'hex')).toString()).toBe('e');
  });

  it('the MS-RDPEDYC 4.3.3 example: "q", then distance 1 (10001 00001), length 1594 (9 ones, 0, 570)', () => {
    const expected = bits([lit('q'), '10001 00001', '1111111110 1000111010'].join(''));
    expect(expected.toString('hex')).toBe('38c43ff47401'); // as printed in the example
    const input = Buffer.alloc(1595, 'q');
    const p = new ZgfxCompressor().compress(input);
    expect(p.flags).toBe(COMPRESSED);
    expect(p.data.toString('hex')).toBe('38c43ff47401');
    expect(new ZgfxDecompressor().decompress(p.flags, p.data)).toEqual(input);
  });

  it('"ABC" x 20: three literals and a match <distance 3, length 57>', () => {
    // Length 57 = 32 + 25: four ones, a zero, then 5 bits.
    const expected = bits([lit('A'), lit('B'), lit('C'), '10001 00011', '11110 11001'].join(''));
    expect(expected.toString('hex')).toBe('209088711fb201');
    const input = Buffer.from('ABC'.repeat(20));
    const p = new ZgfxCompressor().compress(input);
    expect(p.flags).toBe(COMPRESSED);
    expect(p.data.toString('hex')).toBe(expected.toString('hex'));
    expect(new ZgfxDecompressor().decompress(p.flags, p.data)).toEqual(input);
  });

  it('common bytes take their short codes: 00 01 02 03 FF, then <5, 15>', () => {
    const expected = bits(['11000', '11001', '110100', '110101', '110110', '10001 00101', '110 111'].join(''));
    const input = Buffer.from([0, 1, 2, 3, 0xff, 0, 1, 2, 3, 0xff, 0, 1, 2, 3, 0xff, 0, 1, 2, 3, 0xff]);
    const p = new ZgfxCompressor().compress(input);
    expect(p.flags).toBe(COMPRESSED);
    expect(p.data.toString('hex')).toBe(expected.toString('hex'));
    expect(p.data.length).toBe(7);
    expect(new ZgfxDecompressor().decompress(p.flags, p.data)).toEqual(input);
  });

  it('40 bytes that do not repeat go as an unencoded run (distance 0), then <40, 80>', () => {
    const block = Buffer.from(Array.from({ length: 40 }, (_, k) => 0x81 + k)); // 9-bit literals each
    const input = Buffer.concat([block, block, block]);
    const expected = Buffer.concat([
      // 10001 00000: distance 0; 15-bit count 40; zero bits to the byte boundary.
      bits('10001 00000 000000000101000 0000000').subarray(0, 4),
      block,
      // 10010 + 7 bits: distance 32 + 8; length 80 = 64 + 16: five ones, a zero, 6 bits.
      bits('10010 0001000 111110 010000'),
    ]);
    const p = new ZgfxCompressor().compress(input);
    expect(p.flags).toBe(COMPRESSED);
    expect(p.data.toString('hex')).toBe(expected.toString('hex'));
    expect(new ZgfxDecompressor().decompress(p.flags, p.data)).toEqual(input);
  });

  it('uncompressed segments go into the history: a match reaches back into them', () => {
    // Two raw segments, then "r the lazy dog" with "he " as <31, 3> into the first one.
    const seg3 = bits(
      [lit('r'), lit(' '), lit('t'), '10001 11111 0', ...'lazy dog'.split('').map(lit)].join(''),
    );
    expect(seg3.toString('hex')).toBe('39080e91f8d8613d1e440643799c02');
    const d = new ZgfxDecompressor();
    const out = Buffer.concat([
      d.decompress(RAW, Buffer.from('The quick brown ')),
      d.decompress(RAW, Buffer.from('fox jumps ove')),
      d.decompress(COMPRESSED, seg3),
    ]);
    expect(out.toString()).toBe('The quick brown fox jumps over the lazy dog');
  });

  it('an unencoded run that ends on a byte boundary, and one that ends the segment', () => {
    // 1110010 = 0x08; 10001 00000 + count 1 ends exactly on a byte boundary; then 0xF0.
    const d = new ZgfxDecompressor();
    expect([...d.decompress(COMPRESSED, Buffer.from([0b11100101, 0b00010000, 0b00000000, 0b00000001, 0xf0, 0x00]))]).toEqual([0x08, 0xf0]);
  });

  it('every short literal code of the table decodes to its byte', () => {
    const table: Array<[string, number]> = [
      ['11000', 0x00], ['11001', 0x01], ['110100', 0x02], ['110101', 0x03], ['110110', 0xff],
      ['1101110', 0x04], ['1101111', 0x05], ['1110000', 0x06], ['1110001', 0x07], ['1110010', 0x08],
      ['1110011', 0x09], ['1110100', 0x0a], ['1110101', 0x0b], ['1110110', 0x3a], ['1110111', 0x3b],
      ['1111000', 0x3c], ['1111001', 0x3d], ['1111010', 0x3e], ['1111011', 0x3f], ['1111100', 0x40],
      ['1111101', 0x80], ['11111100', 0x0c], ['11111101', 0x38], ['11111110', 0x39], ['11111111', 0x66],
    ];
    const out = new ZgfxDecompressor().decompress(COMPRESSED, bits(table.map(([code]) => code).join('')));
    expect([...out]).toEqual(table.map(([, value]) => value));
    // And the compressor uses them: the same bytes twice cost 25 short codes and one match.
    const input = Buffer.from([...table.map(([, v]) => v), ...table.map(([, v]) => v)]);
    const p = new ZgfxCompressor().compress(input);
    const codeBits = table.reduce((n, [code]) => n + code.length, 0);
    expect(p.data.length).toBe(Math.ceil((codeBits + 10 + 8) / 8) + 1); // then <25, 25>: 10001 11001, 1110 1001
    expect(new ZgfxDecompressor().decompress(p.flags, p.data)).toEqual(input);
  });

  it('every distance token of the table: prefix, value bits and base', () => {
    // 2.49 MB of history whose bytes tell their position apart, then one <distance, 3> per token.
    const history = Buffer.alloc(2_490_000);
    for (let p = 0; p < history.length; p++) history[p] = Math.imul(p, 0x9e3779b1) >>> 24;
    const d = new ZgfxDecompressor();
    for (let p = 0; p < history.length; p += 65535) d.decompress(RAW, history.subarray(p, Math.min(history.length, p + 65535)));
    const tokens: Array<[string, number, number]> = [
      ['10001', 5, 0], ['10010', 7, 32], ['10011', 9, 160], ['10100', 10, 672], ['10101', 12, 1696],
      ['101100', 14, 5792], ['101101', 15, 22176], ['1011100', 18, 54944], ['1011101', 20, 317088],
      ['10111100', 20, 1365664], ['10111101', 21, 2414240],
    ];
    let all = history;
    for (const [prefix, valueBits, base] of tokens) {
      for (const value of [base === 0 ? 3 : 1, Math.min((1 << valueBits) - 1, 2_490_000 - base - 1)]) {
        const distance = base + value;
        const out = d.decompress(COMPRESSED, bits(prefix + value.toString(2).padStart(valueBits, '0') + '0'));
        expect(out.equals(all.subarray(all.length - distance, all.length - distance + 3))).toBe(true);
        all = Buffer.concat([all, out]);
      }
    }
  });

  it('tiny segments go raw; the empty segment is raw and empty', () => {
    const c = new ZgfxCompressor();
    const d = new ZgfxDecompressor();
    for (const s of ['', 'a', 'ab', 'abc', 'aaaa', 'abcabcabc']) {
      const p = c.compress(Buffer.from(s));
      if (s.length <= 3) expect(p).toEqual({ flags: RAW, data: Buffer.from(s) });
      expect(d.decompress(p.flags, p.data).toString()).toBe(s);
    }
    expect(() => c.compress(Buffer.alloc(65536))).toThrow(RangeError);
  });
});

/** English-like text from a small vocabulary. */
function text(r: () => number, n: number): Buffer {
  const words = ['the', 'window', 'server', 'frame', 'of', 'and', 'pixel', 'surface', 'cache', 'tile', 'a', 'to', 'graphics', 'is', 'in'];
  let s = '';
  while (s.length < n) s += words[Math.floor(r() * words.length)]! + (r() < 0.1 ? '.\n' : ' ');
  return Buffer.from(s.slice(0, n));
}

/** 32-bpp pixels: flat areas, gradients, a little noise, rows that repeat. */
function pixels(r: () => number, n: number): Buffer {
  const out = Buffer.alloc(n);
  const width = 256 * 4;
  for (let row = 0; row * width < n; row++) {
    const at = row * width;
    if (row > 0 && r() < 0.4) {
      out.copyWithin(at, at - width, Math.min(n, at));
      continue;
    }
    let x = 0;
    while (x < width && at + x < n) {
      const span = 4 * (1 + Math.floor(r() * 64));
      const kind = r();
      const base = [Math.floor(r() * 256), Math.floor(r() * 256), Math.floor(r() * 256)];
      for (let k = 0; k < span && x < width && at + x < n; k += 4, x += 4) {
        const g = kind < 0.5 ? 0 : kind < 0.8 ? k >> 2 : Math.floor(r() * 8);
        for (let c = 0; c < 3 && at + x + c < n; c++) out[at + x + c] = (base[c]! + g) & 0xff;
        if (at + x + 3 < n) out[at + x + 3] = 0xff;
      }
    }
  }
  return out;
}

const noise = (r: () => number, n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(r() * 256)));

/** Compresses and decodes each segment in order; the bytes sent. */
function roundTrip(c: ZgfxCompressor, d: ZgfxDecompressor, segments: Buffer[]): { bytesOut: number; raw: number } {
  let bytesOut = 0;
  let raw = 0;
  segments.forEach((data, i) => {
    const p = c.compress(data);
    if (p.flags === RAW) {
      raw++;
      expect(p.data.equals(data)).toBe(true);
    } else {
      expect(p.flags).toBe(COMPRESSED);
      expect(p.data.length).toBeLessThan(data.length);
    }
    bytesOut += p.data.length;
    const back = d.decompress(p.flags, p.data);
    if (!back.equals(data)) throw new Error(`segment ${i} (${data.length} bytes, flags 0x${p.flags.toString(16)}) did not round-trip`);
  });
  return { bytesOut, raw };
}

describe('ZGFX round trips', () => {
  it('4 MB of mixed segments, across the history wrap-around and a match reaching ~2.4 MB back', () => {
    const r = seededRandom(8);
    const c = new ZgfxCompressor();
    const d = new ZgfxDecompressor();
    const marker = noise(r, 30000); // sent first, again after ~2.4 MB of other data
    const segments: Buffer[] = [marker];
    let total = marker.length;
    let k = 0;
    while (total < 4_200_000) {
      const kind = k++ % 5;
      const len = 1 + Math.floor(r() * 65535);
      const seg =
        kind === 0 ? text(r, len)
        : kind === 1 ? pixels(r, len)
        : kind === 2 ? noise(r, Math.min(len, 20000))
        : kind === 3 ? segments[1 + Math.floor(r() * (segments.length - 1))]! // a repeated block (not the marker)
        : Buffer.concat([text(r, len >> 1), noise(r, len >> 2)]);
      segments.push(seg);
      total += seg.length;
      if (total > 2_400_000 && total - seg.length <= 2_400_000) {
        segments.push(marker);
        total += marker.length;
      }
    }
    const markerAt = segments.indexOf(marker, 1);
    const before = roundTrip(c, d, segments.slice(0, markerAt));
    const p = c.compress(marker);
    expect(p.flags).toBe(COMPRESSED);
    expect(p.data.length).toBeLessThan(100); // one far match: the noise was not re-sent
    expect(d.decompress(p.flags, p.data).equals(marker)).toBe(true);
    const after = roundTrip(c, d, segments.slice(markerAt + 1));
    expect(total).toBeGreaterThan(ZGFX_HISTORY_SIZE + 1_500_000);
    expect(before.raw + after.raw).toBeGreaterThan(0);
    expect((before.bytesOut + after.bytesOut) / total).toBeLessThan(0.6);
  }, 20_000);

  it('matches whose source straddles the end of the ring', () => {
    const r = seededRandom(9);
    const c = new ZgfxCompressor();
    const d = new ZgfxDecompressor();
    const filler = Buffer.alloc(65535, 0x20);
    const segments: Buffer[] = [];
    let total = 0;
    while (total + filler.length < ZGFX_HISTORY_SIZE - 1000) {
      segments.push(filler);
      total += filler.length;
    }
    segments.push(Buffer.alloc(ZGFX_HISTORY_SIZE - 1000 - total, 0x21));
    const straddle = noise(r, 2000); // ring positions S-1000 … S+999
    segments.push(straddle, straddle, Buffer.concat([straddle.subarray(500), straddle.subarray(0, 1500)]));
    const { bytesOut } = roundTrip(c, d, segments);
    expect(bytesOut).toBeLessThan(2000 + 200 + segments.length * 20);
  });
});

describe('ZGFX compression ratio and incompressible data', () => {
  it('repeated content compresses well; noise goes out raw and the stream keeps round-tripping', () => {
    const r = seededRandom(10);
    const c = new ZgfxCompressor();
    const d = new ZgfxDecompressor();
    const page = text(r, 60000);
    const image = pixels(r, 65535);
    const first = roundTrip(c, d, [page, image]);
    expect(first.bytesOut).toBeLessThan((page.length + image.length) * 0.5);
    const again = roundTrip(c, d, [page, image, page, image]);
    expect(again.bytesOut).toBeLessThan(200); // four long matches
    const junk = noise(r, 65535);
    const p = c.compress(junk);
    expect(p.flags).toBe(RAW);
    expect(p.data.equals(junk)).toBe(true);
    expect(d.decompress(p.flags, p.data).equals(junk)).toBe(true);
    // After the raw segment both histories hold it, and the older content too.
    const after = roundTrip(c, d, [junk, page, Buffer.concat([junk.subarray(1000, 30000), page.subarray(5, 30000)])]);
    expect(after.bytesOut).toBeLessThan(200);
    expect(c.stats.rawSegments).toBe(1);
    console.log(
      `ZGFX ratio: text+pixels first ${(first.bytesOut / (page.length + image.length)).toFixed(3)}, repeated ${again.bytesOut} bytes for ${2 * (page.length + image.length)}`,
    );
  });
});

describe('ZGFX decoder fuzz', () => {
  it('10,000 mutated, truncated and random segments only ever throw RdpProtocolError', () => {
    const r = seededRandom(77);
    const c = new ZgfxCompressor();
    const samples: Buffer[] = [];
    for (let k = 0; k < 40; k++) {
      const len = 50 + Math.floor(r() * 4000);
      const data = k % 4 === 0 ? text(r, len) : k % 4 === 1 ? pixels(r, len) : k % 4 === 2 ? Buffer.concat([text(r, len), noise(r, 300), text(r, len)]) : Buffer.alloc(len, k);
      const p = c.compress(data);
      if (p.flags === COMPRESSED) samples.push(p.data);
    }
    expect(samples.length).toBeGreaterThan(30);
    let thrown = 0;
    for (let k = 0; k < 10_000; k++) {
      let data: Buffer;
      const mode = k % 4;
      const base = samples[Math.floor(r() * samples.length)]!;
      if (mode === 0) {
        data = Buffer.from(base);
        for (let f = 1 + Math.floor(r() * 4); f > 0; f--) data[Math.floor(r() * data.length)]! ^= 1 << Math.floor(r() * 8);
      } else if (mode === 1) {
        data = Buffer.from(base.subarray(0, Math.floor(r() * base.length)));
        if (data.length > 0 && r() < 0.5) data[data.length - 1] = Math.floor(r() * 8);
      } else if (mode === 2) {
        data = noise(r, Math.floor(r() * 64));
        if (data.length > 0 && r() < 0.7) data[data.length - 1] &= 7;
      } else {
        data = Buffer.from(base);
        data[Math.floor(r() * data.length)] = Math.floor(r() * 256);
        data[data.length - 1] = Math.floor(r() * 9);
      }
      const flags = r() < 0.97 ? COMPRESSED : Math.floor(r() * 256);
      try {
        const out = new ZgfxDecompressor().decompress(flags, data);
        expect(out.length).toBeLessThanOrEqual(65535);
      } catch (err) {
        if (!(err instanceof RdpProtocolError)) throw err;
        thrown++;
      }
    }
    expect(thrown).toBeGreaterThan(1000);
  });

  it('rejects what the format forbids', () => {
    const d = new ZgfxDecompressor();
    const codeOf = (f: () => unknown) => {
      try {
        f();
      } catch (err) {
        expect(err).toBeInstanceOf(RdpProtocolError);
        return (err as RdpProtocolError).code;
      }
      return 'no error';
    };
    expect(codeOf(() => d.decompress(0x26, bits(lit('a'))))).toBe('RDP_ERR_UNEXPECTED'); // not type 4
    expect(codeOf(() => d.decompress(COMPRESSED, Buffer.alloc(0)))).toBe('RDP_ERR_TRUNCATED');
    expect(codeOf(() => d.decompress(COMPRESSED, Buffer.from([0x00, 0x08])))).toBe('RDP_ERR_BAD_VALUE'); // 8 unused bits
    expect(codeOf(() => d.decompress(COMPRESSED, bits('10000 000')))).toBe('RDP_ERR_BAD_ENCODING'); // unassigned prefix
    expect(codeOf(() => d.decompress(COMPRESSED, bits('101111100' + '0'.repeat(22) + '0')))).toBe('RDP_ERR_BAD_VALUE'); // past the history
    expect(codeOf(() => d.decompress(COMPRESSED, bits('10001 00001 ' + '1'.repeat(15) + '0' + '0'.repeat(16))))).toBe('RDP_ERR_BAD_VALUE'); // length ≥ 2^16
    expect(codeOf(() => d.decompress(COMPRESSED, bits('10001 00000 000000000101000 0000000')))).toBe('RDP_ERR_TRUNCATED'); // run of 40, no bytes
    expect(codeOf(() => d.decompress(COMPRESSED, bits(lit('a') + '0100')))).toBe('RDP_ERR_TRUNCATED'); // ends inside a literal
    // A literal, then <1, 65535> (14 ones, a zero, 15 bits): 65,536 bytes, one too many.
    expect(codeOf(() => d.decompress(COMPRESSED, bits(lit('a') + '10001 00001' + '1'.repeat(14) + '0' + '1'.repeat(15))))).toBe('RDP_ERR_BAD_LENGTH');
    expect(codeOf(() => d.decompress(RAW, Buffer.alloc(65536)))).toBe('RDP_ERR_BAD_LENGTH');
  });
});

describe('ZGFX speed', () => {
  it('compresses graphics-pipeline-like data at a useful rate (reported)', () => {
    const r = seededRandom(1);
    // Frames: pixel data, text, and codec payloads (noise) in 65,535-byte segments.
    const segments = Array.from({ length: 48 }, (_, k) => (k % 3 === 0 ? pixels(r, 65535) : k % 3 === 1 ? text(r, 65535) : noise(r, 65535)));
    const c = new ZgfxCompressor();
    const t0 = performance.now();
    const out = segments.map((s) => c.compress(s));
    const ms = performance.now() - t0;
    const d = new ZgfxDecompressor();
    const t1 = performance.now();
    out.forEach((p) => d.decompress(p.flags, p.data));
    const msDecode = performance.now() - t1;
    const mb = (65535 * segments.length) / 1e6;
    console.log(
      `ZGFX speed: compress ${(ms / mb).toFixed(1)} ms per MB, decompress ${(msDecode / mb).toFixed(1)} ms per MB, ratio ${(c.stats.bytesOut / c.stats.bytesIn).toFixed(3)} (pixels, text, noise in thirds)`,
    );
  });
});
