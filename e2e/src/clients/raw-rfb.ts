// A raw TCP peer that speaks RFB byte by byte, for the tests that play a hostile or broken
// client (truncated handshakes, garbage, absurd lengths, a client that stops reading).
// Deliberately minimal: only what those tests need. Over TCP, or inside WebSocket binary
// messages (the framing noVNC uses) through the ws library.
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { createWebSocketStream, WebSocket } from 'ws';

export class RawRfbClient {
  private buffer = Buffer.alloc(0);
  private ended = false;
  private readonly closed: Promise<void>;
  /** Bytes received so far, all of them (also those consumed by read()). */
  received = 0;

  private constructor(readonly socket: Duplex) {
    socket.on('data', (chunk: Buffer) => {
      this.received += chunk.length;
      this.buffer = Buffer.concat([this.buffer, chunk]);
    });
    socket.on('error', () => undefined); // 'close' follows
    this.closed = new Promise((resolve) => socket.once('close', () => {
      this.ended = true;
      resolve();
    }));
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawRfbClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host }, () => {
        socket.off('error', reject);
        resolve(new RawRfbClient(socket));
      });
      socket.once('error', reject);
    });
  }

  /** RFB inside WebSocket binary messages, subprotocol "binary", at `url` (ws://…). */
  static connectWebSocket(url: string): Promise<RawRfbClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, ['binary']);
      ws.once('open', () => {
        ws.off('error', reject);
        resolve(new RawRfbClient(createWebSocketStream(ws)));
      });
      ws.once('error', reject);
    });
  }

  write(data: Buffer | string): void {
    this.socket.write(data);
  }

  /** Reads exactly `n` bytes (waiting for them); throws if the server closes first. */
  async read(n: number, timeoutMs = 10_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffer.length < n) {
      if (this.ended) throw new Error(`server closed the connection with ${this.buffer.length} of ${n} bytes read`);
      if (Date.now() > deadline) throw new Error(`Timed out reading ${n} bytes (have ${this.buffer.length})`);
      await sleep(10);
    }
    const out = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return out;
  }

  /** Resolves true once the server has closed the connection, false after `timeoutMs`. */
  async waitClosed(timeoutMs = 10_000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      this.closed.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return result;
  }

  /**
   * RFB 3.8 with security type None up to ServerInit; returns the desktop size and the
   * server's pixel format's bits per pixel. The server must offer None (no password).
   */
  async handshakeNone(shared = true): Promise<{ width: number; height: number; name: string; bitsPerPixel: number }> {
    const version = (await this.read(12)).toString('latin1');
    if (version !== 'RFB 003.008\n') throw new Error(`unexpected server version ${JSON.stringify(version)}`);
    this.write('RFB 003.008\n');
    const count = (await this.read(1))[0];
    const types = [...(await this.read(count))];
    if (!types.includes(1)) throw new Error(`server does not offer None: ${types.join(',')}`);
    this.write(Buffer.from([1]));
    const result = (await this.read(4)).readUInt32BE(0);
    if (result !== 0) throw new Error(`SecurityResult ${result}`);
    this.write(Buffer.from([shared ? 1 : 0]));
    const init = await this.read(24);
    const name = (await this.read(init.readUInt32BE(20))).toString('utf8');
    return { width: init.readUInt16BE(0), height: init.readUInt16BE(2), name, bitsPerPixel: init[4] };
  }

  /** SetEncodings (type 2) with `encodings`. */
  setEncodings(encodings: number[]): void {
    const msg = Buffer.alloc(4 + 4 * encodings.length);
    msg[0] = 2;
    msg.writeUInt16BE(encodings.length, 2);
    encodings.forEach((e, i) => msg.writeInt32BE(e, 4 + 4 * i));
    this.write(msg);
  }

  /** FramebufferUpdateRequest (type 3). */
  requestUpdate(incremental: boolean, width: number, height: number): void {
    const msg = Buffer.alloc(10);
    msg[0] = 3;
    msg[1] = incremental ? 1 : 0;
    msg.writeUInt16BE(width, 6);
    msg.writeUInt16BE(height, 8);
    this.write(msg);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
