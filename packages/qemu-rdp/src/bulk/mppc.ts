// MPPC bulk compression as RDP uses it (MS-RDPBCGR 3.1.8): RDP 4.0 with an 8 KiB history
// (3.1.8.4.1) and RDP 5.0 with a 64 KiB history (3.1.8.4.2). An LZ77 variant: each packet is
// appended to a history buffer both ends keep, and is sent as literals and copy-tuples
// <offset back from the current position, length ≥ 3> in a bit stream, most significant bit first,
// padded with zero bits to a whole byte.
//
// History (3.1.8.1): zero-filled at the start, all of it valid from then on. A packet that does
// not fit behind HistoryOffset is placed at the front (PACKET_AT_FRONT; the bytes after it stay
// and may still be referenced); PACKET_FLUSHED tells the receiver to zero the history and start at
// offset 0. A receiver does nothing with a packet that carries none of the flags (3.1.8.3): it is
// plain data, outside the history.
//
// Incompressible data: the compressor undoes what the packet did to its own history and the
// packet goes out without flags, so both histories stay as they were and keep their matches (the
// alternative, PACKET_FLUSHED with the raw data, would throw away 64 KiB of good history on every
// noisy tile).
//
// The matcher: a hash of the next 3 bytes into chains of earlier positions, a bounded number of
// candidates per position, the longest match, one byte of lazy look-ahead; candidates are checked byte by byte against the
// history itself, so a stale chain link costs a comparison, never a wrong match.
import { BitWriter, hash3 } from './bit-writer.js';

/** Compression flags (3.1.8.2.1), OR-ed with the compression type. */
export const PACKET_COMPRESSED = 0x20;
export const PACKET_AT_FRONT = 0x40;
export const PACKET_FLUSHED = 0x80;
/** The compression type in the low 4 bits of the flags (CompressionTypeMask). */
export const COMPRESSION_TYPE_MASK = 0x0f;

/** Compression types (2.2.1.11.1.1 CompressionTypeMask; 3.1.8.2.1). */
export const CompressionType = {
  MPPC_8K: 0x0,
  MPPC_64K: 0x1,
  /** RDP 6.0 bulk compression (NCRUSH, MS-RDPEGDI 3.1.8.1). */
  RDP6: 0x2,
  /** RDP 6.1 bulk compression (XCRUSH, MS-RDPEGDI 3.1.8.2). */
  RDP61: 0x3,
} as const;

export type MppcType = typeof CompressionType.MPPC_8K | typeof CompressionType.MPPC_64K;

/** One packet's payload and the compression flags that go with it (0: plain, outside the history). */
export interface BulkPacket {
  flags: number;
  data: Buffer;
}

/** What the session needs of a bulk compressor: one per connection and direction. */
export interface BulkCompressor {
  /** The compression type the flags carry. */
  readonly type: number;
  /** For logs and metrics, e.g. "mppc-64k". */
  readonly name: string;
  /** The largest packet it takes (data MUST be smaller than the history, 3.1.8.1). */
  readonly maxPacketSize: number;
  /** Compresses the next packet of the stream; packets must be sent in the order compressed. */
  compress(data: Buffer): BulkPacket;
  /** Bytes given to compress, bytes it returned (compressed or not), packets left plain. */
  readonly stats: { bytesIn: number; bytesOut: number; packets: number; plainPackets: number };
}

export function mppcHistorySize(type: MppcType): number {
  return type === CompressionType.MPPC_64K ? 65536 : 8192;
}

export function mppcName(type: MppcType): string {
  return type === CompressionType.MPPC_64K ? 'mppc-64k' : 'mppc-8k';
}

const MIN_MATCH = 3;
const HASH_BITS = 15;
const HASH_SIZE = 1 << HASH_BITS;
/** Candidates tried per position: bounds the work on data with many equal 3-byte prefixes. */
const MAX_CHAIN = 24;
/** A match this long ends the search at once (it is cheap to code and hard to beat). */
const GOOD_MATCH = 258;
/** Every this many input bytes, a packet that has not shrunk to GIVE_UP_NUM/GIVE_UP_DEN is sent plain. */
const GIVE_UP_CHECK = 2048;
const GIVE_UP_NUM = 15;
const GIVE_UP_DEN = 16;
/** Matches shorter than this are checked against a match from the next byte (lazy matching). */
const LAZY_LIMIT = 32;

export class MppcCompressor implements BulkCompressor {
  readonly name: string;
  readonly maxPacketSize: number;
  readonly stats = { bytesIn: 0, bytesOut: 0, packets: 0, plainPackets: 0 };
  private readonly size: number;
  private readonly history: Buffer;
  /** HistoryOffset: where the next packet goes. */
  private offset = 0;
  /** End of the bytes written since the history was last zeroed (past it: zeros). */
  private validEnd = 0;
  /** Most recent position with each 3-byte hash (-1: none), and each position's previous one. */
  private readonly head = new Int32Array(HASH_SIZE).fill(-1);
  private readonly prev: Int32Array;
  private readonly maxMatch: number;
  private saved: Buffer = Buffer.alloc(0);
  private out: Buffer = Buffer.alloc(0);
  /** What search() found. */
  private matchLength = 0;
  private matchPos = 0;

  constructor(readonly type: MppcType = CompressionType.MPPC_64K) {
    this.size = mppcHistorySize(type);
    this.history = Buffer.alloc(this.size);
    this.prev = new Int32Array(this.size).fill(-1);
    this.maxMatch = type === CompressionType.MPPC_64K ? 65535 : 8191;
    this.name = mppcName(type);
    this.maxPacketSize = this.size - 1;
  }

  /**
   * The next packet, compressed (PACKET_COMPRESSED, with PACKET_AT_FRONT when it starts at the
   * front of the history) or, when that would not make it smaller, unchanged with flags 0. Data
   * must be smaller than the history (8 KiB or 64 KiB). `maxOutput`: the most compressed bytes
   * worth sending (default: fewer than the data); beyond it the packet goes plain.
   */
  compress(data: Buffer, maxOutput = data.length - 1): BulkPacket {
    const n = data.length;
    if (n >= this.size) throw new RangeError(`MPPC: ${n} bytes do not fit a ${this.size}-byte history`);
    this.stats.packets++;
    this.stats.bytesIn += n;
    if (n < MIN_MATCH + 1) return this.plain(data);
    const before = { offset: this.offset, validEnd: this.validEnd };
    let flags = PACKET_COMPRESSED | this.type;
    if (this.offset === 0 || this.offset + n > this.size) {
      this.offset = 0;
      flags |= PACKET_AT_FRONT;
    }
    const start = this.offset;
    const end = start + n;
    // Kept to undo this packet if it goes out plain.
    if (this.saved.length < n) this.saved = Buffer.allocUnsafe(Math.max(n, 16384));
    this.history.copy(this.saved, 0, start, end);
    data.copy(this.history, start);
    if (this.out.length < n) this.out = Buffer.allocUnsafe(Math.max(n, 16384));
    const limit = Math.min(n - 1, maxOutput);
    const w = new BitWriter(this.out, Math.max(0, limit));
    const h = this.history;
    const big = this.type === CompressionType.MPPC_64K;
    const validEnd = Math.max(this.validEnd, end);
    let i = start;
    /** A search already done for position i (by the lazy look-ahead), or -1. */
    let cachedAt = -1;
    let checkAt = start + GIVE_UP_CHECK;
    while (i < end && !w.overflow) {
      if (i >= checkAt) {
        // Incompressible so far (noise, photos): stop spending time, the packet goes plain.
        if (w.pos * GIVE_UP_DEN >= (i - start) * GIVE_UP_NUM) break;
        checkAt += GIVE_UP_CHECK;
      }
      let bestLen = 0;
      let bestPos = 0;
      if (i + MIN_MATCH <= end) {
        if (cachedAt !== i) this.search(i, end, validEnd);
        bestLen = this.matchLength;
        bestPos = this.matchPos;
        this.insert(i);
        // Lazy matching: a longer match from the next byte is worth a literal here.
        if (bestLen >= MIN_MATCH && bestLen < LAZY_LIMIT && i + 1 + MIN_MATCH <= end) {
          this.search(i + 1, end, validEnd);
          if (this.matchLength > bestLen) {
            bestLen = 0;
            cachedAt = i + 1;
          }
        }
      }
      if (bestLen >= MIN_MATCH) {
        const copyOffset = (i - bestPos) & (this.size - 1);
        if (big) putOffset64k(w, copyOffset);
        else putOffset8k(w, copyOffset);
        putLength(w, bestLen);
        const stop = Math.min(i + bestLen, end - MIN_MATCH + 1);
        for (let j = i + 1; j < stop; j++) this.insert(j);
        i += bestLen;
      } else {
        const b = h[i];
        if (b < 0x80) w.put(b, 8);
        else w.put(0x100 | (b & 0x7f), 9);
        i++;
      }
    }
    const length = w.overflow || i < end ? n : w.finish();
    if (w.overflow || i < end || length > limit) {
      // Not smaller: undo, and send the data plain.
      this.saved.copy(this.history, start, 0, n);
      this.offset = before.offset;
      this.validEnd = before.validEnd;
      return this.plain(data);
    }
    this.offset = end;
    this.validEnd = validEnd;
    this.stats.bytesOut += length;
    return { flags, data: Buffer.from(this.out.subarray(0, length)) };
  }

  /**
   * The longest usable match for position i (matchLength, 0 if none of MIN_MATCH; matchPos):
   * earlier in this packet, or an older byte the packet has not overwritten (and within what
   * was ever written, validEnd); equal lengths prefer the nearer (cheaper) offset.
   */
  private search(i: number, end: number, validEnd: number): void {
    const h = this.history;
    const mask = this.size - 1;
    let bestLen = 0;
    let bestPos = 0;
    const maxHere = Math.min(end - i, this.maxMatch);
    let cand = this.head[hash3(h, i, HASH_BITS)];
    for (let tries = 0; cand >= 0 && tries < MAX_CHAIN; tries++, cand = this.prev[cand]) {
      if (cand === i || (cand > i && cand < end)) continue;
      let limit = maxHere;
      if (cand > i) limit = Math.min(limit, validEnd - cand);
      if (limit < MIN_MATCH || h[cand] !== h[i] || h[cand + 1] !== h[i + 1] || h[cand + 2] !== h[i + 2]) continue;
      if (bestLen < limit && h[cand + bestLen] !== h[i + bestLen]) continue;
      let len = MIN_MATCH;
      while (len < limit && h[cand + len] === h[i + len]) len++;
      if (len > bestLen || (len === bestLen && ((i - cand) & mask) < ((i - bestPos) & mask))) {
        bestLen = len;
        bestPos = cand;
        if (len >= GOOD_MATCH || len === maxHere) break;
      }
    }
    this.matchLength = bestLen >= MIN_MATCH ? bestLen : 0;
    this.matchPos = bestPos;
  }

  /** Puts position i at the head of its hash chain. */
  private insert(i: number): void {
    const hv = hash3(this.history, i, HASH_BITS);
    if (this.head[hv] === i) return;
    this.prev[i] = this.head[hv];
    this.head[hv] = i;
  }

  private plain(data: Buffer): BulkPacket {
    this.stats.plainPackets++;
    this.stats.bytesOut += data.length;
    return { flags: 0, data };
  }
}

/** Copy-offset, RDP 5.0 (3.1.8.4.2.2.1). */
function putOffset64k(w: BitWriter, o: number): void {
  if (o < 64) {
    w.put(0x1f, 5); // 11111
    w.put(o, 6);
  } else if (o < 320) {
    w.put(0x1e, 5); // 11110
    w.put(o - 64, 8);
  } else if (o < 2368) {
    w.put(0xe, 4); // 1110
    w.put(o - 320, 11);
  } else {
    w.put(0x6, 3); // 110
    w.put(o - 2368, 16);
  }
}

/** Copy-offset, RDP 4.0 (3.1.8.4.1.2.1). */
function putOffset8k(w: BitWriter, o: number): void {
  if (o < 64) {
    w.put(0xf, 4); // 1111
    w.put(o, 6);
  } else if (o < 320) {
    w.put(0xe, 4); // 1110
    w.put(o - 64, 8);
  } else {
    w.put(0x6, 3); // 110
    w.put(o - 320, 13);
  }
}

/**
 * Length-of-match, both versions (3.1.8.4.1.2.2, 3.1.8.4.2.2.2): 3 is a single 0 bit; a length
 * in [2^k, 2^(k+1)) is k-1 one bits, a zero bit, then its low k bits.
 */
function putLength(w: BitWriter, len: number): void {
  if (len === 3) {
    w.put(0, 1);
    return;
  }
  const k = 31 - Math.clz32(len);
  w.put((1 << k) - 2, k);
  w.put(len & ((1 << k) - 1), k);
}

/**
 * The receiving end (3.1.8.3): decompresses packets in order into its own history. The server
 * never receives compressed data (it advertises none); this is the reference the tests and the
 * fuzzer check the compressor against. Throws RangeError on a malformed packet.
 */
export class MppcDecompressor {
  private readonly size: number;
  private readonly history: Buffer;
  private offset = 0;

  constructor(readonly type: MppcType = CompressionType.MPPC_64K) {
    this.size = mppcHistorySize(type);
    this.history = Buffer.alloc(this.size);
  }

  decompress(data: Buffer, flags: number): Buffer {
    if (flags & PACKET_FLUSHED) {
      this.history.fill(0);
      this.offset = 0;
    }
    if (flags & PACKET_AT_FRONT) this.offset = 0;
    if (!(flags & PACKET_COMPRESSED)) return data;
    if ((flags & COMPRESSION_TYPE_MASK) !== this.type) {
      throw new RangeError(`MPPC: packet of compression type ${flags & COMPRESSION_TYPE_MASK}, history of type ${this.type}`);
    }
    const big = this.type === CompressionType.MPPC_64K;
    const h = this.history;
    const start = this.offset;
    let pos = start;
    const totalBits = data.length * 8;
    let bit = 0;
    const read = (n: number): number => {
      if (bit + n > totalBits) throw new RangeError('MPPC: bit stream ends inside a symbol');
      let v = 0;
      for (let k = 0; k < n; k++, bit++) v = (v << 1) | ((data[bit >> 3] >> (7 - (bit & 7))) & 1);
      return v;
    };
    /** Counts leading one bits, up to `max`, and consumes them and the zero after (if below max). */
    const ones = (max: number): number => {
      let k = 0;
      while (k < max && read(1) === 1) k++;
      return k;
    };
    // As FreeRDP does: fewer than 8 bits left is the padding.
    while (totalBits - bit >= 8) {
      if (read(1) === 0) {
        this.put(pos++, read(7));
        continue;
      }
      if (read(1) === 0) {
        this.put(pos++, 0x80 | read(7));
        continue;
      }
      // 11…: a copy-offset.
      let copyOffset: number;
      if (big) {
        const k = ones(3); // after "11": 0 → 110, 10 → 1110, 110 → 11110, 111 → 11111
        copyOffset = k === 0 ? read(16) + 2368 : k === 1 ? read(11) + 320 : k === 2 ? read(8) + 64 : read(6);
      } else {
        const k = ones(2); // 0 → 110, 10 → 1110, 11 → 1111
        copyOffset = k === 0 ? read(13) + 320 : k === 1 ? read(8) + 64 : read(6);
      }
      if (copyOffset === 0) throw new RangeError('MPPC: copy-offset 0');
      const maxK = big ? 15 : 12;
      const k = ones(maxK) + 1; // "0" → 3; k-1 ones then 0 → 2^k + k bits
      if (k > maxK) throw new RangeError('MPPC: invalid length-of-match');
      const length = k === 1 ? 3 : (1 << k) + read(k);
      if (pos + length > this.size) throw new RangeError('MPPC: match runs past the end of the history');
      let src = (pos - copyOffset) & (this.size - 1);
      if (src + length > this.size) throw new RangeError('MPPC: match source runs past the end of the history');
      for (let k2 = 0; k2 < length; k2++) h[pos++] = h[src++];
    }
    this.offset = pos;
    return Buffer.from(h.subarray(start, pos));
  }

  private put(pos: number, byte: number): void {
    if (pos >= this.size) throw new RangeError('MPPC: literal past the end of the history');
    this.history[pos] = byte;
  }
}
