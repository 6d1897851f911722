// What the LZ77-style bulk compressors share (MPPC and XCRUSH's level 2, MS-RDPBCGR 3.1.8;
// ZGFX, MS-RDPEGFX 3.1.9.1): a bit writer, most significant bit first, over a fixed buffer,
// and the hash of the next three bytes their matchers chain positions by.

/** MSB-first bit writer over a fixed buffer; `overflow` once it would pass `limit` bytes. */
export class BitWriter {
  private acc = 0;
  private count = 0;
  pos = 0;
  overflow = false;
  constructor(
    readonly out: Uint8Array,
    private readonly limit: number,
  ) {}

  /** Appends the low `n` (≤ 24) bits of `value`. */
  put(value: number, n: number): void {
    this.acc = (this.acc << n) | value;
    this.count += n;
    while (this.count >= 8) {
      this.count -= 8;
      if (this.pos >= this.limit) {
        this.overflow = true;
        this.count = 0;
        return;
      }
      this.out[this.pos++] = (this.acc >>> this.count) & 0xff;
    }
    this.acc &= (1 << this.count) - 1;
  }

  /** Bits written so far. */
  get bits(): number {
    return this.pos * 8 + this.count;
  }

  /** Zero bits up to the next byte boundary. */
  align(): void {
    if (this.count > 0) this.put(0, 8 - this.count);
  }

  /** Whole bytes, at a byte boundary. */
  bytes(src: Uint8Array, from: number, to: number): void {
    if (this.pos + (to - from) > this.limit) {
      this.overflow = true;
      return;
    }
    this.out.set(src.subarray(from, to), this.pos);
    this.pos += to - from;
  }

  /** Pads the last byte with zero bits; the total length in bytes. */
  finish(): number {
    this.align();
    return this.pos;
  }
}

/** A `bits`-bit hash of the three bytes at `b[i]`. */
export function hash3(b: Uint8Array, i: number, bits: number): number {
  return Math.imul((b[i] << 16) | (b[i + 1] << 8) | b[i + 2], 0x9e3779b1) >>> (32 - bits);
}
