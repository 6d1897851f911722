// RDP 6.1 bulk compression, "XCRUSH" (MS-RDPEGDI 3.1.8.2, format 2.2.2.4.1): two chained levels.
// Level 1 keeps a 2,000,000-byte history and describes long matches anywhere in it as
// RDP61_MATCH_DETAILS (length, where in this block's output, where in the history); what no match
// covers is gathered as literals. Level 2 is MPPC 64K (MS-RDPBCGR 3.1.8) over the level-1 output.
//
// What it buys over MPPC alone: a 2 MB memory. A screen that comes back (two pictures alternated,
// a window shown again, a console scrolled by whole tiles) is one match per fragment instead of a
// fresh encoding, which MPPC's 64 KiB window (less than one 1024×768 screen of planar tiles)
// cannot see.
//
// Each packet: Level1ComprFlags, Level2ComprFlags, then the level-2 output (MPPC-compressed when
// Level2ComprFlags has PACKET_COMPRESSED, else the level-1 output as is). The packet's own flags
// are PACKET_COMPRESSED | PACKET_COMPR_TYPE_RDP61 whenever the level-1 history took the data.
//
// Level-1 matcher: a rolling hash of 16-byte windows; the history is indexed every 16 bytes
// (the latest position per hash), the packet is probed at every byte, a hit is checked byte by
// byte and extended both ways. Matches reach only data before this packet and after the last
// L1_PACKET_AT_FRONT (a receiver may zero its history there: MS-RDPEGDI 3.1.8.2.3).
// Incompressible data is undone on both levels and sent plain with flags 0, as in mppc.ts.
import { CompressionType, MppcCompressor, PACKET_COMPRESSED, type BulkCompressor, type BulkPacket } from './mppc.js';

/** Level1ComprFlags (MS-RDPEGDI 2.2.2.4.1). */
export const L1_COMPRESSED = 0x01;
export const L1_NO_COMPRESSION = 0x02;
export const L1_PACKET_AT_FRONT = 0x04;
export const L1_INNER_COMPRESSION = 0x10;

/** The level-1 history (MS-RDPEGDI 3.1.8.2.1). */
export const XCRUSH_HISTORY_SIZE = 2_000_000;
/** A block MUST be smaller than 16,383 bytes (3.1.8.2.1). */
export const XCRUSH_MAX_BLOCK = 16382;

const WINDOW = 16;
const STRIDE = 16;
/** Shorter matches cost more as 8-byte details than level 2 spends on them. */
const MIN_L1_MATCH = 256;
const TABLE_BITS = 18;
const MATCH_DETAILS_SIZE = 8;
/** Room FreeRDP keeps between the block and the end of the history (decoders check with ≥). */
const END_MARGIN = 8;

/** B^(WINDOW-1) for the rolling hash, modulo 2^32. */
const HASH_BASE = 0x01000193;
const BASE_POW = (() => {
  let p = 1;
  for (let i = 0; i < WINDOW - 1; i++) p = Math.imul(p, HASH_BASE);
  return p;
})();

function windowHash(b: Uint8Array, at: number): number {
  let h = 0;
  for (let i = 0; i < WINDOW; i++) h = (Math.imul(h, HASH_BASE) + b[at + i]) | 0;
  return h;
}

function slot(h: number): number {
  return Math.imul(h, 0x9e3779b1) >>> (32 - TABLE_BITS);
}

interface L1Match {
  /** Where in this block's output. */
  outputOffset: number;
  /** Where in the history. */
  historyOffset: number;
  length: number;
}

export class XcrushCompressor implements BulkCompressor {
  readonly type = CompressionType.RDP61;
  readonly name = 'xcrush';
  readonly maxPacketSize = XCRUSH_MAX_BLOCK;
  readonly stats = { bytesIn: 0, bytesOut: 0, packets: 0, plainPackets: 0 };
  private readonly history = Buffer.alloc(XCRUSH_HISTORY_SIZE);
  private offset = 0;
  /** Latest indexed history position per window hash (-1: none). */
  private readonly table = new Int32Array(1 << TABLE_BITS).fill(-1);
  private readonly level2 = new MppcCompressor(CompressionType.MPPC_64K);
  private saved: Buffer = Buffer.alloc(XCRUSH_MAX_BLOCK);

  compress(data: Buffer): BulkPacket {
    const n = data.length;
    if (n > XCRUSH_MAX_BLOCK) throw new RangeError(`XCRUSH: a block of ${n} bytes is over ${XCRUSH_MAX_BLOCK}`);
    this.stats.packets++;
    this.stats.bytesIn += n;
    if (n < 8) return this.plain(data);
    const before = this.offset;
    let l1Flags = 0;
    if (this.offset + n + END_MARGIN > XCRUSH_HISTORY_SIZE) {
      this.offset = 0;
      l1Flags |= L1_PACKET_AT_FRONT;
    }
    const start = this.offset;
    this.history.copy(this.saved, 0, start, start + n);
    data.copy(this.history, start);

    const matches = this.findMatches(data, start);
    let l1: Buffer;
    if (matches.length > 0) {
      l1Flags |= L1_COMPRESSED;
      l1 = this.level1Output(data, matches);
    } else {
      l1Flags |= L1_NO_COMPRESSION;
      l1 = data;
    }
    // Level 2 must leave the whole packet (2 flag bytes + its output) smaller than the data.
    const inner = this.level2.compress(l1, n - 3);
    const total = 2 + inner.data.length;
    if (total >= n) {
      // Neither level helped: level 2 undid itself; undo level 1 and send the data plain.
      this.saved.copy(this.history, start, 0, n);
      this.offset = before;
      return this.plain(data);
    }
    this.offset = start + n;
    this.index(start, n);
    const out = Buffer.allocUnsafe(total);
    out[0] = l1Flags | L1_INNER_COMPRESSION;
    out[1] = inner.flags; // 0: level-1 output as is
    inner.data.copy(out, 2);
    this.stats.bytesOut += total;
    return { flags: PACKET_COMPRESSED | this.type, data: out };
  }

  private plain(data: Buffer): BulkPacket {
    this.stats.plainPackets++;
    this.stats.bytesOut += data.length;
    return { flags: 0, data };
  }

  /** Long matches of `data` (placed at `start`) in the history before `start`, in order. */
  private findMatches(data: Buffer, start: number): L1Match[] {
    const n = data.length;
    const h = this.history;
    const matches: L1Match[] = [];
    if (n < WINDOW || start < WINDOW) return matches;
    let literalStart = 0;
    let p = 0;
    let hash = windowHash(data, 0);
    while (p + WINDOW <= n) {
      const cand = this.table[slot(hash)];
      if (cand >= 0 && cand + WINDOW <= start && h.compare(data, p, p + WINDOW, cand, cand + WINDOW) === 0) {
        let from = p;
        let at = cand;
        let end = p + WINDOW;
        let hend = cand + WINDOW;
        while (end < n && hend < start && data[end] === h[hend]) {
          end++;
          hend++;
        }
        while (from > literalStart && at > 0 && data[from - 1] === h[at - 1]) {
          from--;
          at--;
        }
        const length = end - from;
        if (length >= MIN_L1_MATCH) {
          matches.push({ outputOffset: from, historyOffset: at, length });
          literalStart = end;
          p = end;
          if (p + WINDOW > n) break;
          hash = windowHash(data, p);
          continue;
        }
      }
      if (p + WINDOW >= n) break;
      hash = (Math.imul(hash - Math.imul(data[p], BASE_POW), HASH_BASE) + data[p + WINDOW]) | 0;
      p++;
    }
    return matches;
  }

  /** MatchCount, RDP61_MATCH_DETAILS, then the literals between and after the matches. */
  private level1Output(data: Buffer, matches: L1Match[]): Buffer {
    const covered = matches.reduce((s, m) => s + m.length, 0);
    const out = Buffer.allocUnsafe(2 + matches.length * MATCH_DETAILS_SIZE + data.length - covered);
    out.writeUInt16LE(matches.length, 0);
    let pos = 2;
    for (const m of matches) {
      out.writeUInt16LE(m.length, pos); // MatchLength
      out.writeUInt16LE(m.outputOffset, pos + 2); // MatchOutputOffset
      out.writeUInt32LE(m.historyOffset, pos + 4); // MatchHistoryOffset
      pos += MATCH_DETAILS_SIZE;
    }
    let from = 0;
    for (const m of matches) {
      pos += data.copy(out, pos, from, m.outputOffset);
      from = m.outputOffset + m.length;
    }
    data.copy(out, pos, from);
    return out;
  }

  /** Indexes the block just added at `start`: every STRIDE-aligned window in it. */
  private index(start: number, n: number): void {
    const h = this.history;
    let q = Math.ceil(start / STRIDE) * STRIDE;
    for (; q + WINDOW <= start + n; q += STRIDE) this.table[slot(windowHash(h, q))] = q;
  }
}

/**
 * The receiving end (MS-RDPEGDI 3.1.8.2.3), for the tests: level 2 with an MPPC 64K
 * decompressor, then level 1 into the 2 MB history. Throws RangeError on malformed data.
 */
export class XcrushDecompressor {
  private readonly history = Buffer.alloc(XCRUSH_HISTORY_SIZE);
  private offset = 0;
  private readonly level2: { decompress(data: Buffer, flags: number): Buffer };

  constructor(level2: { decompress(data: Buffer, flags: number): Buffer }) {
    this.level2 = level2;
  }

  decompress(data: Buffer, flags: number): Buffer {
    if (!(flags & PACKET_COMPRESSED)) return data;
    if (data.length < 2) throw new RangeError('XCRUSH: no level flags');
    const l1Flags = data[0];
    const l2Flags = data[1];
    let l1 = data.subarray(2);
    if (l2Flags & PACKET_COMPRESSED) l1 = this.level2.decompress(l1, l2Flags);
    if (l1Flags & L1_PACKET_AT_FRONT) this.offset = 0;
    const h = this.history;
    const start = this.offset;
    let pos = start;
    const append = (src: Buffer): void => {
      if (pos + src.length >= XCRUSH_HISTORY_SIZE) throw new RangeError('XCRUSH: past the end of the history');
      pos += src.copy(h, pos);
    };
    if (l1Flags & L1_NO_COMPRESSION) {
      append(l1);
    } else if (l1Flags & L1_COMPRESSED) {
      if (l1.length < 2) throw new RangeError('XCRUSH: no MatchCount');
      const count = l1.readUInt16LE(0);
      let lit = 2 + count * MATCH_DETAILS_SIZE;
      if (lit > l1.length) throw new RangeError('XCRUSH: match details past the end');
      let out = 0;
      for (let i = 0; i < count; i++) {
        const d = 2 + i * MATCH_DETAILS_SIZE;
        const length = l1.readUInt16LE(d);
        const outputOffset = l1.readUInt16LE(d + 2);
        const historyOffset = l1.readUInt32LE(d + 4);
        if (outputOffset < out) throw new RangeError('XCRUSH: matches out of order');
        const literals = outputOffset - out;
        if (lit + literals > l1.length) throw new RangeError('XCRUSH: literals past the end');
        append(l1.subarray(lit, lit + literals));
        lit += literals;
        if (historyOffset + length >= XCRUSH_HISTORY_SIZE || pos + length >= XCRUSH_HISTORY_SIZE) throw new RangeError('XCRUSH: match past the end of the history');
        for (let k = 0; k < length; k++) h[pos++] = h[historyOffset + k];
        out = outputOffset + length;
      }
      append(l1.subarray(lit));
    } else {
      throw new RangeError(`XCRUSH: Level1ComprFlags 0x${l1Flags.toString(16)} has neither L1_COMPRESSED nor L1_NO_COMPRESSION`);
    }
    this.offset = pos;
    return Buffer.from(h.subarray(start, pos));
  }
}
