// A minimal measuring RFB client for benchmarks: RFB 3.8, security None, 32 bpp true colour,
// and incremental FramebufferUpdateRequests sent the moment each update has been received,
// so the client never holds a server back. It parses only the framing of updates (rectangle
// headers and lengths) and never decodes pixels:
//   - ZRLE (16): `U32 length` + that many zlib bytes.
//   - Tight (7): fill (3-byte TPIXEL), JPEG (compact length + data), basic compression
//     (optional filter/palette, then raw bytes when < 12, else compact length + zlib data).
//   - Raw (0), CopyRect (1), DesktopSize (-223), LastRect (-224) pseudo-rectangles.
// Zlib lengths are explicit in both encodings, so no inflater is needed to find a rectangle's
// end (the server's zlib streams stay undecoded; a real viewer keeps one inflater per stream,
// RFC 6143 §7.7.6).
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { UpdateRecord } from './measure.js';

export const ENCODING_RAW = 0;
export const ENCODING_COPYRECT = 1;
export const ENCODING_TIGHT = 7;
export const ENCODING_ZRLE = 16;
export const ENCODING_DESKTOP_SIZE = -223;
export const ENCODING_LAST_RECT = -224;
/** Tight JPEG quality level 0..9 pseudo-encoding. */
export const tightQuality = (level: number) => -32 + level;
/** Tight compression level 0..9 pseudo-encoding. */
export const tightCompression = (level: number) => -256 + level;

/** Wall clock in µs (same clock as QEMU's `-msg timestamp=on`). */
export const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;

export type { UpdateRecord };

type Where = { port: number; host?: string } | { path: string };

export class BenchRfbClient {
  private chunks: Buffer[] = [];
  private available = 0;
  private skipLeft = 0;
  private state: 'handshake' | 'msg' | 'rect' | 'skip-rect' | 'zrle' | 'tight' | 'tight-filter' | 'tight-palette' | 'tight-data' | 'clen' = 'handshake';
  private waiter: { n: number; resolve: (b: Buffer) => void } | undefined;
  private rectsLeft = 0;
  private rectsInUpdate = 0;
  private rect = { w: 0, h: 0, enc: 0 };
  private tight = { ctrl: 0, filter: 0, colors: 0, lenBytes: 0, len: 0 };
  private updateBytes = 0;
  private error: Error | undefined;
  width = 0;
  height = 0;
  /** All bytes received. */
  received = 0;
  /** Tight rectangles received as JPEG (the lossy ones). */
  jpegRects = 0;
  /** Every complete FramebufferUpdate, in order. */
  readonly updates: UpdateRecord[] = [];

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => (this.error ??= err));
    socket.on('close', () => (this.error ??= new Error('connection closed')));
  }

  static connect(where: Where): Promise<BenchRfbClient> {
    return new Promise((resolve, reject) => {
      const socket = 'path' in where ? connect({ path: where.path }) : connect({ port: where.port, host: where.host ?? '127.0.0.1' });
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new BenchRfbClient(socket));
      });
      socket.once('error', reject);
    });
  }

  /** Throws the connection's error, if any. */
  check(): void {
    if (this.error) throw this.error;
  }

  private onData(chunk: Buffer): void {
    this.received += chunk.length;
    this.chunks.push(chunk);
    this.available += chunk.length;
    try {
      if (this.state === 'handshake') {
        if (this.waiter && this.available >= this.waiter.n) {
          const w = this.waiter;
          this.waiter = undefined;
          w.resolve(this.take(w.n));
        }
        return;
      }
      while (this.step());
    } catch (err) {
      this.error ??= err as Error;
      this.socket.destroy();
    }
  }

  /** Removes and returns the first `n` bytes (caller checked they are available). */
  private take(n: number): Buffer {
    this.available -= n;
    const first = this.chunks[0];
    if (first.length >= n) {
      const out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let off = 0;
    while (off < n) {
      const c = this.chunks[0];
      const k = Math.min(c.length, n - off);
      c.copy(out, off, 0, k);
      off += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return out;
  }

  /** Drops up to skipLeft bytes; true once all are dropped. */
  private skip(): boolean {
    while (this.skipLeft > 0 && this.chunks.length > 0) {
      const c = this.chunks[0];
      const k = Math.min(c.length, this.skipLeft);
      this.skipLeft -= k;
      this.available -= k;
      this.updateBytes += k;
      if (k === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(k);
    }
    return this.skipLeft === 0;
  }

  private read(n: number): Buffer | undefined {
    if (this.available < n) return undefined;
    this.updateBytes += n;
    return this.take(n);
  }

  private handshakeRead(n: number): Promise<Buffer> {
    if (this.available >= n) return Promise.resolve(this.take(n));
    this.check();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(this.error ?? new Error(`timed out reading ${n} handshake bytes`)), 15_000);
      this.waiter = {
        n,
        resolve: (b) => {
          clearTimeout(timer);
          resolve(b);
        },
      };
    });
  }

  /** RFB 3.8, security None, ClientInit shared; records the desktop size. */
  async handshake(): Promise<{ width: number; height: number; name: string }> {
    const version = (await this.handshakeRead(12)).toString('latin1');
    if (!version.startsWith('RFB 003.')) throw new Error(`not RFB: ${JSON.stringify(version)}`);
    this.socket.write('RFB 003.008\n');
    const count = (await this.handshakeRead(1))[0];
    if (count === 0) throw new Error('server refused the connection');
    const types = [...(await this.handshakeRead(count))];
    if (!types.includes(1)) throw new Error(`server does not offer security None: ${types.join(',')}`);
    this.socket.write(Buffer.from([1]));
    const result = (await this.handshakeRead(4)).readUInt32BE(0);
    if (result !== 0) throw new Error(`SecurityResult ${result}`);
    this.socket.write(Buffer.from([1]));
    const init = await this.handshakeRead(24);
    const name = (await this.handshakeRead(init.readUInt32BE(20))).toString('utf8');
    this.width = init.readUInt16BE(0);
    this.height = init.readUInt16BE(2);
    return { width: this.width, height: this.height, name };
  }

  /**
   * SetPixelFormat (32 bpp, depth 24, little endian, true colour, RGB shifts 16/8/0),
   * SetEncodings, then a full FramebufferUpdateRequest; from then on every received update
   * is answered at once with an incremental request.
   */
  start(encodings: number[]): void {
    const pf = Buffer.alloc(20);
    pf[0] = 0;
    pf[4] = 32; // bits per pixel
    pf[5] = 24; // depth
    pf[6] = 0; // little endian
    pf[7] = 1; // true colour
    pf.writeUInt16BE(255, 8);
    pf.writeUInt16BE(255, 10);
    pf.writeUInt16BE(255, 12);
    pf[14] = 16;
    pf[15] = 8;
    pf[16] = 0;
    const enc = Buffer.alloc(4 + 4 * encodings.length);
    enc[0] = 2;
    enc.writeUInt16BE(encodings.length, 2);
    encodings.forEach((e, i) => enc.writeInt32BE(e, 4 + 4 * i));
    this.state = 'msg';
    this.socket.write(Buffer.concat([pf, enc, this.request(false)]));
    // Anything that arrived after ServerInit (nothing should) is parsed now.
    while (this.step());
  }

  private request(incremental: boolean): Buffer {
    const msg = Buffer.alloc(10);
    msg[0] = 3;
    msg[1] = incremental ? 1 : 0;
    msg.writeUInt16BE(this.width, 6);
    msg.writeUInt16BE(this.height, 8);
    return msg;
  }

  private endUpdate(): void {
    this.updates.push({ us: nowUs(), bytes: this.updateBytes, rects: this.rectsInUpdate });
    this.socket.write(this.request(true));
    this.state = 'msg';
  }

  private endRect(): void {
    this.rectsLeft--;
    if (this.rectsLeft === 0) this.endUpdate();
    else this.state = 'rect';
  }

  /** One parsing step; false when more bytes are needed. */
  private step(): boolean {
    switch (this.state) {
      case 'handshake':
        return false;
      case 'msg': {
        if (this.available < 1) return false;
        const type = this.chunks[0][0];
        if (type === 0) {
          this.updateBytes = 0;
          const h = this.read(4);
          if (!h) return false;
          this.rectsLeft = h.readUInt16BE(2);
          this.rectsInUpdate = 0;
          if (this.rectsLeft === 0) this.endUpdate();
          else this.state = 'rect';
          return true;
        }
        if (type === 2) {
          this.take(1); // Bell
          return true;
        }
        if (type === 1) throw new Error('SetColourMapEntries received with a true-colour pixel format');
        if (type === 3) {
          if (this.available < 8) return false;
          const h = this.take(8);
          const len = h.readUInt32BE(4);
          if (this.available < len) {
            this.chunks.unshift(h);
            this.available += 8;
            return false;
          }
          this.take(len);
          return true;
        }
        throw new Error(`unexpected server message type ${type}`);
      }
      case 'rect': {
        const r = this.read(12);
        if (!r) return false;
        this.rectsInUpdate++;
        const w = r.readUInt16BE(4);
        const h = r.readUInt16BE(6);
        const enc = r.readInt32BE(8);
        this.rect = { w, h, enc };
        switch (enc) {
          case ENCODING_RAW:
            this.skipLeft = w * h * 4;
            this.state = 'skip-rect';
            return true;
          case ENCODING_COPYRECT:
            this.skipLeft = 4;
            this.state = 'skip-rect';
            return true;
          case ENCODING_ZRLE:
            this.state = 'zrle';
            return true;
          case ENCODING_TIGHT:
            this.state = 'tight';
            return true;
          case ENCODING_DESKTOP_SIZE:
            this.width = w;
            this.height = h;
            this.endRect();
            return true;
          case ENCODING_LAST_RECT:
            this.endUpdate();
            return true;
          default:
            throw new Error(`unexpected rectangle encoding ${enc}`);
        }
      }
      case 'skip-rect':
        if (!this.skip()) return false;
        this.endRect();
        return true;
      case 'zrle': {
        const l = this.read(4);
        if (!l) return false;
        this.skipLeft = l.readUInt32BE(0);
        this.state = 'skip-rect';
        return true;
      }
      case 'tight': {
        const c = this.read(1);
        if (!c) return false;
        const ctrl = c[0];
        const comp = ctrl >> 4;
        this.tight = { ctrl, filter: 0, colors: 0, lenBytes: 0, len: 0 };
        if (comp === 8) {
          this.skipLeft = 3; // fill: one TPIXEL
          this.state = 'skip-rect';
        } else if (comp === 9 || comp === 10) {
          if (comp === 9) this.jpegRects++;
          this.state = 'clen'; // JPEG / PNG: compact length + data
        } else if (comp > 10) {
          throw new Error(`bad Tight control byte ${ctrl}`);
        } else {
          this.state = ctrl & 0x40 ? 'tight-filter' : 'tight-data';
        }
        return true;
      }
      case 'tight-filter': {
        const f = this.read(1);
        if (!f) return false;
        this.tight.filter = f[0];
        this.state = f[0] === 1 ? 'tight-palette' : 'tight-data';
        return true;
      }
      case 'tight-palette': {
        if (this.available < 1) return false;
        const n = this.chunks[0][0] + 1;
        if (this.available < 1 + n * 3) return false;
        this.read(1 + n * 3);
        this.tight.colors = n;
        this.state = 'tight-data';
        return true;
      }
      case 'tight-data': {
        const { w, h } = this.rect;
        const size =
          this.tight.filter === 1 ? (this.tight.colors === 2 ? Math.ceil(w / 8) * h : w * h) : w * h * 3;
        if (size < 12) {
          this.skipLeft = size;
          this.state = 'skip-rect';
        } else {
          this.state = 'clen';
        }
        return true;
      }
      case 'clen': {
        // Compact length: 1–3 bytes, 7 bits each, low bits first.
        const b = this.read(1);
        if (!b) return false;
        const t = this.tight;
        t.len |= (t.lenBytes === 2 ? b[0] : b[0] & 0x7f) << (7 * t.lenBytes);
        t.lenBytes++;
        if (t.lenBytes < 3 && b[0] & 0x80) return true;
        this.skipLeft = t.len;
        this.state = 'skip-rect';
        return true;
      }
    }
  }

  close(): void {
    this.socket.destroy();
  }
}
