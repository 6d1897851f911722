// RDP 8.0 bulk compression ("ZGFX"), MS-RDPEGFX 3.1.9.1, the codec of each RDP8_BULK_ENCODED_DATA
// segment inside RDP_SEGMENTED_DATA (2.2.5). An LZ77 variant over a history both ends keep:
//
// - History (3.1.9.1): 2,500,000 bytes, a ring. Every byte a segment produces goes into it, also
//   the bytes of a segment sent without PACKET_COMPRESSED and of an unencoded run ("All output
//   bytes MUST be recorded in the history buffer"; FreeRDP's zgfx_decompress_segment writes an
//   uncompressed segment with zgfx_history_buffer_ring_write too). So the compressor appends every
//   segment to its history before deciding how to send it, and nothing is ever undone.
// - Segment (3.1.9.1.2): at most 65,535 bytes out. The compressed bits are read most significant
//   bit first; the last byte of the data is not part of the stream but the number (0-7) of unused
//   low bits of the byte before it.
// - Tokens (3.1.9.1.2, the token table): a prefix code, then value bits. Literals: "0" + 8 bits
//   for any byte, or a 5- to 8-bit code alone for one of 25 common bytes. Matches: one of 11
//   distance prefixes, each with its value-bit count and base (distance = base + value), then the
//   length: "0" is 3; else k-1 one bits, a zero bit and k bits make 2^k + value (k = 2..15).
//   Distance 0 is no match but an unencoded run: a 15-bit byte count, zero bits up to the next
//   byte boundary, then that many bytes as they are.
//
// Checked against FreeRDP's decoder (libfreerdp/codec/zgfx.c) and the MS-RDPEDYC 4.3.3 example.
//
// The matcher, built for cost per frame: chains of earlier positions by a hash of their next
// 3 bytes (the last 512 KiB, a bounded number of candidates, one byte of lazy look-ahead), plus a
// sparse index of 32-byte strings over the whole history for long repeats (a tile or a frame sent
// again); literal runs search ever more sparsely, a segment that has not shrunk after a few KiB
// goes raw, and runs that literals would inflate go as unencoded runs.

import { RdpProtocolError } from '../pdu/errors.js';
import { BitWriter, hash3 } from './bit-writer.js';

/** The compression type in the RDP8_BULK_ENCODED_DATA header byte (2.2.5.3). */
export const ZGFX_COMPR_TYPE_RDP8 = 0x04;
/** The header flag of a ZGFX-compressed segment. */
export const ZGFX_PACKET_COMPRESSED = 0x20;
/** History size, which is also the largest match distance (3.1.9.1). */
export const ZGFX_HISTORY_SIZE = 2_500_000;
/** The most bytes one segment may carry uncompressed (3.1.9.1). */
export const ZGFX_MAX_SEGMENT = 65535;

/** Literal tokens with a code of their own: [prefix code, prefix length, byte]. */
const LITERAL_TOKENS: ReadonlyArray<readonly [number, number, number]> = [
  [0b11000, 5, 0x00],
  [0b11001, 5, 0x01],
  [0b110100, 6, 0x02],
  [0b110101, 6, 0x03],
  [0b110110, 6, 0xff],
  [0b1101110, 7, 0x04],
  [0b1101111, 7, 0x05],
  [0b1110000, 7, 0x06],
  [0b1110001, 7, 0x07],
  [0b1110010, 7, 0x08],
  [0b1110011, 7, 0x09],
  [0b1110100, 7, 0x0a],
  [0b1110101, 7, 0x0b],
  [0b1110110, 7, 0x3a],
  [0b1110111, 7, 0x3b],
  [0b1111000, 7, 0x3c],
  [0b1111001, 7, 0x3d],
  [0b1111010, 7, 0x3e],
  [0b1111011, 7, 0x3f],
  [0b1111100, 7, 0x40],
  [0b1111101, 7, 0x80],
  [0b11111100, 8, 0x0c],
  [0b11111101, 8, 0x38],
  [0b11111110, 8, 0x39],
  [0b11111111, 8, 0x66],
];

/**
 * Match-distance tokens: [prefix code, prefix length, value bits, base]. The last three reach
 * past the history (from 4,511,392 on); the table has them, no conforming stream uses them.
 */
const DISTANCE_TOKENS: ReadonlyArray<readonly [number, number, number, number]> = [
  [0b10001, 5, 5, 0],
  [0b10010, 5, 7, 32],
  [0b10011, 5, 9, 160],
  [0b10100, 5, 10, 672],
  [0b10101, 5, 12, 1696],
  [0b101100, 6, 14, 5792],
  [0b101101, 6, 15, 22176],
  [0b1011100, 7, 18, 54944],
  [0b1011101, 7, 20, 317088],
  [0b10111100, 8, 20, 1365664],
  [0b10111101, 8, 21, 2414240],
  [0b101111100, 9, 22, 4511392],
  [0b101111101, 9, 23, 8705696],
  [0b101111110, 9, 24, 17094304],
];

/** Every literal's cheapest code and its length in bits. */
const LIT_CODE = new Uint16Array(256);
const LIT_BITS = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  LIT_CODE[b] = b; // "0" + the byte: 9 bits whose top bit is 0
  LIT_BITS[b] = 9;
}
for (const [code, length, value] of LITERAL_TOKENS) {
  LIT_CODE[value] = code;
  LIT_BITS[value] = length;
}

/** The longest prefix; the decoder looks a prefix up from this many bits at once. */
const PEEK = 9;
const KIND_LITERAL8 = 1;
const KIND_LITERAL = 2;
const KIND_DISTANCE = 3;
/** For each PEEK-bit window: the prefix length (0: no token), kind and value or token index. */
const DEC_LENGTH = new Uint8Array(1 << PEEK);
const DEC_KIND = new Uint8Array(1 << PEEK);
const DEC_VALUE = new Uint8Array(1 << PEEK);
function addPrefix(code: number, length: number, kind: number, value: number): void {
  const first = code << (PEEK - length);
  for (let s = 0; s < 1 << (PEEK - length); s++) {
    DEC_LENGTH[first + s] = length;
    DEC_KIND[first + s] = kind;
    DEC_VALUE[first + s] = value;
  }
}
addPrefix(0, 1, KIND_LITERAL8, 0);
for (const [code, length, value] of LITERAL_TOKENS) addPrefix(code, length, KIND_LITERAL, value);
DISTANCE_TOKENS.forEach(([code, length], index) => addPrefix(code, length, KIND_DISTANCE, index));
// Left at length 0: 10000 and 101111111, the two codes the table does not assign.

/** Bits of the distance token for distance d (1 ≤ d < 2,414,240 + 2^21). */
function distanceToken(d: number): number {
  let t = 0;
  while (d >= DISTANCE_TOKENS[t][3] + (1 << DISTANCE_TOKENS[t][2])) t++;
  return t;
}

/** Bits a match of length `length` costs after its distance token. */
function lengthBits(length: number): number {
  return length === 3 ? 1 : 2 * (31 - Math.clz32(length));
}

/** The rolling hash of win[p, p + LONG_LENGTH), from scratch. */
function rollingHash(win: Uint8Array, p: number): number {
  let h = 0;
  for (let k = 0; k < LONG_LENGTH; k++) h = (Math.imul(h, ROLL_BASE) + win[p + k]) | 0;
  return h;
}

const MIN_MATCH = 3;
/** The farthest match the compressor makes: one short of the history, to keep off its edge. */
const MAX_DISTANCE = ZGFX_HISTORY_SIZE - 1;
const HASH_BITS = 17;
/**
 * The chains reach this far back (512 KiB); farther, a short match costs about what its
 * literals do, and long repeats are the long index's. Small enough to stay in cache.
 */
const CHAIN_BITS = 19;
const CHAIN_SIZE = 1 << CHAIN_BITS;
/**
 * A second index, of 32-byte strings (latest position of each hash), finds long repeats the
 * bounded chains miss: in text or pixels a 3-byte prefix has thousands of newer occurrences
 * between a block and its earlier copy. Rolling (Rabin-Karp) hash: O(1) per position.
 */
const LONG_LENGTH = 32;
const LONG_BITS = 18;
const ROLL_BASE = 0x01000193;
/** ROLL_BASE^(LONG_LENGTH-1) mod 2^32: the weight of the byte leaving the window. */
const ROLL_OUT = (() => {
  let p = 1;
  for (let k = 1; k < LONG_LENGTH; k++) p = Math.imul(p, ROLL_BASE);
  return p;
})();
/** Candidates tried per position: bounds the work where many positions share 3 bytes. */
const MAX_CHAIN = 8;
/** A match this long ends the search (longer ones cost almost nothing more to code). */
const GOOD_MATCH = 256;
/** Matches shorter than this are checked against a match from the next byte (lazy matching). */
const LAZY_LIMIT = 16;
/** Matches longer than this enter the chains only at their first and last SPARSE_EDGE bytes. */
const SPARSE_MATCH = 64;
const SPARSE_EDGE = 16;
/** The long index takes every LONG_STEP-th position (a repeat is found within that many bytes). */
const LONG_STEP = 4;
/** Bytes of window past the history: it slides (one memmove) once per this many bytes. */
const WINDOW_SLACK = 1 << 20;
/** A literal run this long searches only every 2nd, then 3rd… byte, up to every MAX_STEP-th. */
const SKIP_SHIFT = 6;
const MAX_STEP = 8;
/** Every this many bytes, a segment whose output is ≥ 31/32 of its input so far is sent raw. */
const GIVE_UP_CHECK = 4096;
/** The largest unencoded run: its count is 15 bits. */
const MAX_RUN = 0x7fff;

function longSlot(rolling: number): number {
  return Math.imul(rolling, 0x9e3779b1) >>> (32 - LONG_BITS);
}

/**
 * The sending end: one per channel and direction, segments compressed in the order sent (about
 * 8 MB of state). Its history is a window over the stream (the last ZGFX_HISTORY_SIZE bytes at
 * least); the indexes hold absolute stream positions (low 32 bits), so sliding the window needs no
 * rebuilding. Candidates are checked byte by byte against the window, so a stale index entry costs
 * a comparison, never a wrong match.
 */
export class ZgfxCompressor {
  /** Bytes given, bytes returned, segments, segments sent raw (flags 0x04). */
  readonly stats = { bytesIn: 0, bytesOut: 0, segments: 0, rawSegments: 0 };
  private readonly window = new Uint8Array(ZGFX_HISTORY_SIZE + WINDOW_SLACK);
  /** Absolute stream position of window[0], and bytes in the window. */
  private base = 0;
  private fill = 0;
  /** Absolute position of the next byte to enter the hash chains. */
  private nextInsert = 0;
  /** Latest position (absolute, low 32 bits) with each hash; an unused slot reads as far away. */
  private readonly head = new Int32Array(1 << HASH_BITS).fill(-0x80000000);
  /** For the position in each (absolute mod CHAIN_SIZE) slot, the previous one with its hash. */
  private readonly prev = new Int32Array(CHAIN_SIZE);
  /** Latest position (absolute, low 32 bits) of each 32-byte string's hash. */
  private readonly longHead = new Int32Array(1 << LONG_BITS).fill(-0x80000000);
  /** Absolute position of the next byte to enter longHead. */
  private nextLong = 0;
  /** The rolling hash of the 32 bytes at absolute position rollingAt (-1: none). */
  private rolling = 0;
  private rollingAt = -1;
  private readonly out = new Uint8Array(ZGFX_MAX_SEGMENT + 16);
  /** What search() found. */
  private matchLength = 0;
  private matchDistance = 0;

  /**
   * The next segment of the stream (at most 65,535 bytes) as RDP8_BULK_ENCODED_DATA: `flags` is
   * the header byte, `data` what follows it. Compressed (0x24) when that is smaller, else the
   * data as is (0x04, `data` then a view of the input, not a copy); either way the receiver's
   * history takes the segment, and so does ours. Over 65,535 bytes is a caller's bug: RangeError.
   * An empty segment comes back raw and empty (FreeRDP rejects a segment of only its header).
   */
  compress(data: Uint8Array): { flags: number; data: Buffer } {
    const n = data.length;
    if (n > ZGFX_MAX_SEGMENT) throw new RangeError(`ZGFX: a segment of ${n} bytes is over ${ZGFX_MAX_SEGMENT}`);
    this.stats.segments++;
    this.stats.bytesIn += n;
    if (this.fill + n > this.window.length) this.slide();
    const start = this.fill;
    const end = start + n;
    this.window.set(data, start);
    this.fill = end;
    const length = n > 3 ? this.encode(start, end) : 0; // 3 bytes never shrink
    this.insertUntil(end, end);
    if (length === 0) {
      this.stats.rawSegments++;
      this.stats.bytesOut += n;
      return { flags: ZGFX_COMPR_TYPE_RDP8, data: Buffer.from(data.buffer, data.byteOffset, n) };
    }
    this.stats.bytesOut += length;
    return { flags: ZGFX_COMPR_TYPE_RDP8 | ZGFX_PACKET_COMPRESSED, data: Buffer.from(this.out.subarray(0, length)) };
  }

  /** Keeps the last history's worth of bytes at the front of the window. */
  private slide(): void {
    const keep = Math.min(this.fill, ZGFX_HISTORY_SIZE);
    const shift = this.fill - keep;
    this.window.copyWithin(0, shift, this.fill);
    this.base += shift;
    this.fill = keep;
  }

  /** Compresses window[start, end) into `out`; its length, or 0 if it would not be smaller. */
  private encode(start: number, end: number): number {
    const n = end - start;
    const w = new BitWriter(this.out, n - 1); // n - 1 bytes with the final one: smaller than n
    let i = start;
    /** Start of the pending literal run. */
    let run = start;
    /** A search already done for position i (by the lazy look-ahead), or -1. */
    let cachedAt = -1;
    let checkAt = start + GIVE_UP_CHECK;
    while (i < end) {
      if (i >= checkAt) {
        // Mostly incompressible so far (codec payloads are): stop searching, send it raw.
        if ((w.pos + (i - run)) * 32 >= (i - start) * 31) return 0;
        checkAt += GIVE_UP_CHECK;
      }
      let length = 0;
      let distance = 0;
      if (i + MIN_MATCH <= end) {
        this.insertUntil(i, end);
        if (cachedAt !== i) this.search(i, end);
        length = this.matchLength;
        distance = this.matchDistance;
        this.insertUntil(i + 1, end);
        if (length > 0 && length < LAZY_LIMIT && i + 1 + MIN_MATCH <= end) {
          // A longer match from the next byte is worth a literal here.
          this.search(i + 1, end);
          if (this.matchLength > length) {
            length = 0;
            cachedAt = i + 1;
          }
        }
      }
      if (length > 0 && length < 8 && !this.worthIt(i, length, distance)) length = 0;
      if (length === 0) {
        i += cachedAt === i + 1 ? 1 : Math.min(MAX_STEP, 1 + ((i - run) >> SKIP_SHIFT));
        continue;
      }
      if (i > run) this.flushLiterals(w, run, i);
      const t = distanceToken(distance);
      const [code, prefixBits, valueBits, base] = DISTANCE_TOKENS[t];
      w.put(code, prefixBits);
      w.put(distance - base, valueBits);
      if (length === 3) {
        w.put(0, 1);
      } else {
        const k = 31 - Math.clz32(length);
        w.put(((1 << (k - 1)) - 1) << 1, k); // k-1 ones, then a zero
        w.put(length - (1 << k), k);
      }
      if (w.overflow) return 0;
      if (length > SPARSE_MATCH) {
        // Inside a long match only its ends enter the chains: the bytes are indexed where they
        // came from, and the long index still takes this copy (it is cheap, and sparse).
        this.insertUntil(i + SPARSE_EDGE, end);
        this.skipChains(i + length - SPARSE_EDGE);
      }
      i += length;
      run = i;
    }
    if (end > run) this.flushLiterals(w, run, end);
    // The last byte says how many low bits of the one before it are padding (3.1.9.1.2).
    const unused = (8 - (w.bits & 7)) & 7;
    w.align();
    w.bytes(Uint8Array.of(unused), 0, 1);
    return w.overflow ? 0 : w.pos;
  }

  /** A short match pays only if its tokens are fewer bits than its bytes as literals. */
  private worthIt(i: number, length: number, distance: number): boolean {
    const [, prefixBits, valueBits] = DISTANCE_TOKENS[distanceToken(distance)];
    let literal = 0;
    for (let k = 0; k < length; k++) literal += LIT_BITS[this.window[i + k]];
    return prefixBits + valueBits + lengthBits(length) < literal;
  }

  /** window[from, to) as literals or, where fewer bits, as unencoded runs. */
  private flushLiterals(w: BitWriter, from: number, to: number): void {
    const win = this.window;
    for (let a = from; a < to && !w.overflow; ) {
      const b = Math.min(to, a + MAX_RUN);
      let literal = 0;
      for (let k = a; k < b; k++) literal += LIT_BITS[win[k]];
      const pad = (8 - ((w.bits + 25) & 7)) & 7;
      if (25 + pad + 8 * (b - a) < literal) {
        w.put(0b1000100000, 10); // distance token 10001 with value 0: an unencoded run
        w.put(b - a, 15);
        w.align();
        w.bytes(win, a, b);
      } else {
        for (let k = a; k < b; k++) w.put(LIT_CODE[win[k]], LIT_BITS[win[k]]);
      }
      a = b;
    }
  }

  /** Enters positions up to (not including) window index `to` into the hash chains. */
  private insertUntil(to: number, end: number): void {
    const win = this.window;
    const base = this.base;
    const last = Math.min(to, end - 2); // a hash needs 3 bytes
    const head = this.head;
    const prev = this.prev;
    let p = this.nextInsert - base;
    for (; p < last; p++) {
      const h = hash3(win, p, HASH_BITS);
      const abs32 = (base + p) | 0;
      prev[abs32 & (CHAIN_SIZE - 1)] = head[h];
      head[h] = abs32;
    }
    if (last > this.nextInsert - base) this.nextInsert = base + last;
    const lastLong = Math.min(to, end - LONG_LENGTH + 1);
    for (let p = this.nextLong - base; p < lastLong; p++) {
      const abs = base + p;
      if (this.rollingAt !== abs) this.rolling = rollingHash(win, p);
      if ((abs & (LONG_STEP - 1)) === 0) this.longHead[longSlot(this.rolling)] = abs | 0;
      if (p + LONG_LENGTH < end) {
        // Slide the hash one byte: drop win[p], take win[p + 32].
        this.rolling = (Math.imul(this.rolling - Math.imul(win[p], ROLL_OUT), ROLL_BASE) + win[p + LONG_LENGTH]) | 0;
        this.rollingAt = abs + 1;
      } else {
        this.rollingAt = -1;
      }
    }
    if (lastLong > this.nextLong - base) this.nextLong = base + lastLong;
  }

  /** Leaves positions before window index `to` out of the chains. */
  private skipChains(to: number): void {
    if (this.nextInsert < this.base + to) this.nextInsert = this.base + to;
  }

  /**
   * The longest match for window index i within [i, end) (matchLength, 0 if under 3;
   * matchDistance): chains run newest first, so equal lengths keep the nearer, cheaper distance.
   */
  private search(i: number, end: number): void {
    const win = this.window;
    const abs = this.base + i;
    const abs32 = abs | 0;
    const maxLength = end - i;
    let bestLength = 0;
    let bestDistance = 0;
    if (i + LONG_LENGTH <= end) {
      // The latest earlier copy of the next 32 bytes, if the long index has one.
      const rolling = this.rollingAt === abs ? this.rolling : rollingHash(win, i);
      const d = (abs32 - this.longHead[longSlot(rolling)]) >>> 0;
      if (d > 0 && d <= MAX_DISTANCE && d <= i) {
        const c = i - d;
        let length = 0;
        while (length < maxLength && win[c + length] === win[i + length]) length++;
        if (length >= MIN_MATCH) {
          bestLength = length;
          bestDistance = d;
        }
      }
    }
    if (bestLength >= GOOD_MATCH || bestLength === maxLength) {
      this.matchLength = bestLength;
      this.matchDistance = bestDistance;
      return;
    }
    let lastDistance = 0;
    let candidate = this.head[hash3(win, i, HASH_BITS)];
    for (let tries = 0; tries < MAX_CHAIN; tries++) {
      const d = (abs32 - candidate) >>> 0;
      // Links only go back; anything else is an unused slot or a stale link.
      if (d <= lastDistance || d >= CHAIN_SIZE || d > i) break;
      lastDistance = d;
      const c = i - d;
      if (win[c + bestLength] === win[i + bestLength] && win[c] === win[i] && win[c + 1] === win[i + 1] && win[c + 2] === win[i + 2]) {
        let length = MIN_MATCH;
        while (length < maxLength && win[c + length] === win[i + length]) length++;
        if (length > bestLength || (length === bestLength && d < bestDistance)) {
          bestLength = length;
          bestDistance = d;
          if (length >= GOOD_MATCH || length === maxLength) break;
        }
      }
      candidate = this.prev[(abs32 - d) & (CHAIN_SIZE - 1)];
    }
    this.matchLength = bestLength >= MIN_MATCH ? bestLength : 0;
    this.matchDistance = bestDistance;
  }
}

/**
 * The receiving end (3.1.9.1.2), stateful across segments: the reference the tests check the
 * compressor against, and the decoder of test clients. Malformed input throws RdpProtocolError;
 * the history is then undefined, as the stream is.
 */
export class ZgfxDecompressor {
  /** The ring; it starts small and grows to its full size as the stream fills it (before
   * that, bytes not yet written read as the zeros a full-size ring would hold). */
  private history = new Uint8Array(1 << 16);
  private index = 0;
  private readonly out = new Uint8Array(ZGFX_MAX_SEGMENT);

  /** One RDP8_BULK_ENCODED_DATA: its header byte and the data after it. */
  decompress(flags: number, data: Uint8Array): Buffer {
    if ((flags & 0x0f) !== ZGFX_COMPR_TYPE_RDP8) {
      throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `ZGFX: compression type ${flags & 0x0f}, not RDP8`);
    }
    this.reserve();
    if (!(flags & ZGFX_PACKET_COMPRESSED)) {
      if (data.length > ZGFX_MAX_SEGMENT) throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `ZGFX: a raw segment of ${data.length} bytes`);
      this.record(data);
      return Buffer.from(data);
    }
    const n = data.length;
    if (n < 1) throw new RdpProtocolError('RDP_ERR_TRUNCATED', 'ZGFX: a compressed segment without its final byte');
    const unused = data[n - 1];
    if (unused > 7 || (n === 1 && unused > 0)) throw new RdpProtocolError('RDP_ERR_BAD_VALUE', `ZGFX: ${unused} unused bits`);
    const totalBits = (n - 1) * 8 - unused;
    const last = n - 1; // the bit stream's bytes: data[0, last)
    const h = this.history;
    const out = this.out;
    let count = 0;
    let bit = 0;
    const byteAt = (k: number): number => (k < last ? data[k] : 0);
    /** The next `bits` (≤ 24) bits, without consuming them; past the end they read as zeros. */
    const peek = (bits: number): number => {
      const k = bit >> 3;
      const word = ((byteAt(k) << 24) | (byteAt(k + 1) << 16) | (byteAt(k + 2) << 8) | byteAt(k + 3)) >>> 0;
      return (word >>> (32 - (bit & 7) - bits)) & ((1 << bits) - 1);
    };
    const read = (bits: number): number => {
      if (bit + bits > totalBits) throw new RdpProtocolError('RDP_ERR_TRUNCATED', 'ZGFX: the bit stream ends inside a token');
      const v = peek(bits);
      bit += bits;
      return v;
    };
    const put = (b: number): void => {
      if (count >= ZGFX_MAX_SEGMENT) throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', 'ZGFX: a segment decodes to more than 65,535 bytes');
      h[this.index] = b;
      if (++this.index === ZGFX_HISTORY_SIZE) this.index = 0;
      out[count++] = b;
    };
    while (bit < totalBits) {
      const e = peek(PEEK);
      const prefix = DEC_LENGTH[e];
      if (prefix === 0) throw new RdpProtocolError('RDP_ERR_BAD_ENCODING', `ZGFX: no token starts 0b${e.toString(2).padStart(PEEK, '0')}`);
      if (bit + prefix > totalBits) throw new RdpProtocolError('RDP_ERR_TRUNCATED', 'ZGFX: the bit stream ends inside a token');
      bit += prefix;
      const kind = DEC_KIND[e];
      if (kind === KIND_LITERAL8) {
        put(read(8));
        continue;
      }
      if (kind === KIND_LITERAL) {
        put(DEC_VALUE[e]);
        continue;
      }
      const [, , valueBits, base] = DISTANCE_TOKENS[DEC_VALUE[e]];
      if (base >= ZGFX_HISTORY_SIZE) throw new RdpProtocolError('RDP_ERR_BAD_VALUE', `ZGFX: a match distance from ${base}, past the history`);
      const distance = base + read(valueBits);
      if (distance === 0) {
        // An unencoded run: its count, then bytes from the next byte boundary.
        const length = read(15);
        const from = (bit + 7) >> 3;
        if ((from + length) * 8 > totalBits) throw new RdpProtocolError('RDP_ERR_TRUNCATED', `ZGFX: an unencoded run of ${length} bytes past the end`);
        if (count + length > ZGFX_MAX_SEGMENT) throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', 'ZGFX: a segment decodes to more than 65,535 bytes');
        const bytes = data.subarray(from, from + length);
        out.set(bytes, count);
        count += length;
        this.record(bytes);
        bit = (from + length) * 8;
        continue;
      }
      if (distance > ZGFX_HISTORY_SIZE) throw new RdpProtocolError('RDP_ERR_BAD_VALUE', `ZGFX: match distance ${distance}, past the history`);
      let ones = 0;
      while (read(1) === 1) {
        // 14 ones already make lengths of 2^15 and more; one more would pass any segment.
        if (++ones > 14) throw new RdpProtocolError('RDP_ERR_BAD_VALUE', 'ZGFX: a match length of 2^16 or more');
      }
      const length = ones === 0 ? 3 : (1 << (ones + 1)) + read(ones + 1);
      if (count + length > ZGFX_MAX_SEGMENT) throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', 'ZGFX: a segment decodes to more than 65,535 bytes');
      // Byte by byte from the ring: a match may overlap the bytes it produces (a run).
      let src = this.index - distance;
      if (src < 0) src += ZGFX_HISTORY_SIZE;
      for (let k = 0; k < length; k++) {
        const b = src < h.length ? h[src] : 0;
        if (++src === ZGFX_HISTORY_SIZE) src = 0;
        h[this.index] = b;
        if (++this.index === ZGFX_HISTORY_SIZE) this.index = 0;
        out[count++] = b;
      }
    }
    return Buffer.from(out.subarray(0, count));
  }

  /** Room in the ring for one more segment (the ring never wraps before it is full-size). */
  private reserve(): void {
    const h = this.history;
    if (h.length === ZGFX_HISTORY_SIZE) return;
    const need = Math.min(ZGFX_HISTORY_SIZE, this.index + ZGFX_MAX_SEGMENT);
    if (need <= h.length) return;
    this.history = new Uint8Array(Math.min(ZGFX_HISTORY_SIZE, Math.max(need, h.length * 2)));
    this.history.set(h);
  }

  /** Appends bytes to the history ring. */
  private record(bytes: Uint8Array): void {
    const first = Math.min(bytes.length, ZGFX_HISTORY_SIZE - this.index);
    this.history.set(bytes.subarray(0, first), this.index);
    this.history.set(bytes.subarray(first), 0);
    this.index = (this.index + bytes.length) % ZGFX_HISTORY_SIZE;
  }
}
