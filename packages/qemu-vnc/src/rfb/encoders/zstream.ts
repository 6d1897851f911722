// One persistent zlib stream as RFB's Zlib, ZRLE and Tight encodings use them: the client
// keeps a single inflater per stream for the whole connection, and every rectangle's data
// ends with a sync flush so it can be decoded before the next arrives (rfbproto "zlib
// Encoding"; QEMU's ui/vnc-enc-zlib.c flushes with Z_SYNC_FLUSH the same way). Node offers a
// persistent deflate context only through its stream API; its `flush` option makes every
// write a Z_SYNC_FLUSH, and a write's callback runs after its output has been emitted.
//
// That write is a trip through Node's thread pool: two thread wake-ups, 0.15–0.3 ms on these
// virtual machines when idle and several ms under load, more than compressing a few KB
// takes. So small inputs are compressed synchronously, through the same handle, the way
// Node's own zlib.deflateSync drives it (lib/zlib.js processChunkSync) — which would close
// the stream afterwards, so it cannot be used itself. Large inputs keep the pool, so the
// event loop goes on serving the other clients and the D-Bus links meanwhile.
import { createDeflate, constants as zlibConstants, type Deflate } from 'node:zlib';

/** Inputs up to this size are compressed synchronously (about 1 ms at level 6 on this machine). */
const SYNC_LIMIT = 256 * 1024;

/** The parts of Node's zlib stream its synchronous path uses (Node 20's lib/zlib.js). */
interface DeflateInternals {
  _handle?: {
    writeSync(flush: number, input: Buffer, inOff: number, inLen: number, out: Buffer, outOff: number, outLen: number): void;
  } | null;
  /** zlib's avail_out and avail_in after the last write. */
  _writeState?: Uint32Array;
}

/** Output of synchronous compressions: one buffer serves every stream, the work being synchronous. */
const syncOut = Buffer.allocUnsafe(64 * 1024);

/**
 * Whether this Node offers what compressSync needs on `deflate` (it falls back to the thread
 * pool otherwise); without one, checks a stream made and closed for the purpose.
 */
export function syncCompressionAvailable(deflate?: Deflate): boolean {
  const probe = deflate ?? createDeflate();
  const internals = probe as unknown as DeflateInternals;
  const available = typeof internals._handle?.writeSync === 'function' && internals._writeState instanceof Uint32Array;
  if (!deflate) probe.close();
  return available;
}

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
      if (data.length <= SYNC_LIMIT && syncCompressionAvailable(deflate)) return compressSync(deflate, data);
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

/**
 * `data` through `deflate` with a Z_SYNC_FLUSH, on this thread: zlib is called until it has
 * room left in the output, i.e. has given out everything for this input.
 */
function compressSync(deflate: Deflate, data: Buffer): Buffer {
  const { _handle: handle, _writeState: state } = deflate as unknown as Required<DeflateInternals>;
  const pieces: Buffer[] = [];
  let inOff = 0;
  let inLen = data.length;
  for (;;) {
    handle!.writeSync(zlibConstants.Z_SYNC_FLUSH, data, inOff, inLen, syncOut, 0, syncOut.length);
    // A zlib error destroys the stream (its handle's onerror) before writeSync returns.
    if (deflate.destroyed) throw new Error('zlib failed compressing a rectangle');
    const availOut = state[0];
    const availIn = state[1];
    pieces.push(Buffer.from(syncOut.subarray(0, syncOut.length - availOut)));
    if (availOut !== 0) break;
    inOff += inLen - availIn;
    inLen = availIn;
  }
  return pieces.length === 1 ? pieces[0] : Buffer.concat(pieces);
}
