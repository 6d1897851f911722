// A growable output buffer for encoders that emit many small fields.

export class ByteWriter {
  private buf: Buffer;
  private used = 0;

  constructor(initialSize = 4096) {
    this.buf = Buffer.allocUnsafe(Math.max(16, initialSize));
  }

  get length(): number {
    return this.used;
  }

  private reserve(n: number): void {
    if (this.used + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.used + n) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buf.copy(grown, 0, 0, this.used);
    this.buf = grown;
  }

  u8(value: number): void {
    this.reserve(1);
    this.buf[this.used++] = value;
  }

  bytes(data: Uint8Array): void {
    this.reserve(data.length);
    this.buf.set(data, this.used);
    this.used += data.length;
  }

  /** The bytes written so far (a view: copy it before writing more if you keep it). */
  view(): Buffer {
    return this.buf.subarray(0, this.used);
  }

  /** A copy of the bytes written so far. */
  toBuffer(): Buffer {
    return Buffer.from(this.view());
  }

  clear(): void {
    this.used = 0;
  }
}
