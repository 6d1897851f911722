// One persistent zlib stream as RFB's Zlib, ZRLE and Tight encodings use them: the client
// keeps a single inflater per stream for the whole connection, and every rectangle's data
// ends with a sync flush so it can be decoded before the next arrives (rfbproto "zlib
// Encoding"; QEMU's ui/vnc-enc-zlib.c flushes with Z_SYNC_FLUSH the same way). Node offers a
// persistent deflate context only through its stream API; its `flush` option makes every
// write a Z_SYNC_FLUSH, and a write's callback runs after its output has been emitted.
import { createDeflate, constants as zlibConstants, type Deflate } from 'node:zlib';

interface OpenStream {
  deflate: Deflate;
  level: number;
  chunks: Buffer[];
  /** Set when zlib failed outside a compression; the stream is unusable then. */
  error?: Error;
}

export class ZlibStream {
  private stream: OpenStream | undefined;
  /**
   * Every operation waits for the previous one: each compress result is one contiguous
   * piece of the stream, and a reset never cuts a compression short.
   */
  private queue: Promise<unknown> = Promise.resolve();

  /**
   * Compresses `data` at zlib `level` and resolves to every byte the stream produced for it,
   * ending on a byte boundary. A level change keeps the stream (deflateParams), so the
   * client's inflater notices nothing.
   */
  compress(data: Buffer, level: number): Promise<Buffer> {
    return this.enqueue(async () => {
      const stream = this.open(level);
      if (stream.error) throw stream.error;
      const { deflate } = stream;
      if (level !== stream.level) {
        await new Promise<void>((resolve) => deflate.params(level, zlibConstants.Z_DEFAULT_STRATEGY, () => resolve()));
        stream.level = level;
      }
      await new Promise<void>((resolve, reject) => {
        const onError = (err: Error): void => reject(err);
        deflate.once('error', onError);
        // One pass through zlib (and Node's thread pool) per rectangle: the stream flushes
        // every write (see open), and the callback runs once its output has been emitted.
        deflate.write(data, (err) => {
          deflate.off('error', onError);
          if (err) reject(err);
          else resolve();
        });
      });
      const out = Buffer.concat(stream.chunks);
      stream.chunks = [];
      return out;
    });
  }

  /**
   * `data` compressed as the Zlib and ZRLE encodings carry it: a U32 length, then the stream's
   * bytes (rfbproto "zlib Encoding"; RFC 6143 §7.7.6).
   */
  async lengthPrefixed(data: Buffer, level: number): Promise<[Buffer, Buffer]> {
    const compressed = await this.compress(data, level);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(compressed.length, 0);
    return [length, compressed];
  }

  /** Ends the stream once pending compressions are done; the next compress starts a new one. */
  reset(): void {
    void this.enqueue(async () => {
      this.stream?.deflate.close();
      this.stream = undefined;
    });
  }

  close(): void {
    this.reset();
  }

  private enqueue<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.queue.then(operation);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private open(level: number): OpenStream {
    if (this.stream) return this.stream;
    // Z_SYNC_FLUSH on every write ends each rectangle's data on a byte boundary.
    const deflate = createDeflate({ level, flush: zlibConstants.Z_SYNC_FLUSH });
    const stream: OpenStream = { deflate, level, chunks: [] };
    stream.deflate.on('data', (chunk: Buffer) => stream.chunks.push(chunk));
    stream.deflate.on('error', (err: Error) => {
      stream.error = err;
    });
    this.stream = stream;
    return stream;
  }
}
