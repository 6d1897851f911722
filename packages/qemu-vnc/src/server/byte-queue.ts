// Bytes received from a client and not yet parsed. Parsers look at `view()` and say how
// much they consumed; chunks are joined lazily so a burst of small messages costs one copy.
export class ByteQueue {
  private chunks: Buffer[] = [];
  private length = 0;

  get size(): number {
    return this.length;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** Everything queued, as one Buffer (no copy when it is a single chunk). */
  view(): Buffer {
    if (this.chunks.length > 1) this.chunks = [Buffer.concat(this.chunks, this.length)];
    return this.chunks[0] ?? Buffer.alloc(0);
  }

  consume(n: number): void {
    const all = this.view();
    this.chunks = n >= all.length ? [] : [all.subarray(n)];
    this.length = Math.max(0, this.length - n);
  }

  /** Takes everything queued (used when a TLS layer takes over the stream). */
  drain(): Buffer {
    const all = this.view();
    this.chunks = [];
    this.length = 0;
    return all;
  }
}
