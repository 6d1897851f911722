// Splits a D-Bus byte stream into messages (D-Bus specification, "Message Format") and
// gives each the file descriptors that arrived with its bytes. Parsing of the header
// fields and body is dbus-next's own (DBusBuffer), as its connection reader does it.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

interface DBusBufferLike {
  readArray(signature: unknown, length: number): Array<[number, [unknown, unknown[]]]>;
  align(power: number): void;
  read(signature: string): unknown[];
}
const DBusBuffer = require('dbus-next/lib/dbus-buffer.js') as new (
  buffer: Buffer,
  start: number,
  endian: number,
  fds: number[],
  opts: Record<string, unknown>,
) => DBusBufferLike;
const headerSignature = require('dbus-next/lib/header-signature.json') as Array<{ child: unknown[] }>;
const constants = require('dbus-next/lib/constants.js') as { headerTypeName: string[]; endianness: { le: number } };

const FIXED_HEADER = 16;
/** The specification's limit on a message (2^27 bytes); more is a broken peer. */
const MAX_MESSAGE = 1 << 27;

export class MessageFramer {
  /** Received bytes not yet framed. Kept as chunks: a frame of several MB arrives in
   * dozens of socket reads, and joining at every read would copy it over and over. */
  private chunks: Buffer[] = [];
  private length = 0;
  /** Stream offset of the first unframed byte. */
  private base = 0;
  private received = 0;
  private fdBatches: Array<{ at: number; fds: number[] }> = [];
  /** Where messages spanning chunks are joined; reused, so a frame costs no allocation. */
  private scratch: Buffer = Buffer.alloc(0);

  /**
   * File descriptors that arrived with the chunk that starts `pendingBytes` after what
   * `push` has seen (bytes the stream has queued but not yet delivered).
   */
  pushFds(fds: number[], pendingBytes: number): void {
    this.fdBatches.push({ at: this.received + pendingBytes, fds });
  }

  /**
   * Adds bytes and hands every message now complete, in dbus-next's raw form, to
   * `onMessage` — one at a time: byte arrays in a body ('ay') are views into a buffer
   * reused for the next message, so handle them before returning, or copy them.
   */
  push(chunk: Buffer, onMessage: (raw: Record<string, unknown>) => void): void {
    this.received += chunk.length;
    if (chunk.length) {
      this.chunks.push(chunk);
      this.length += chunk.length;
    }
    while (this.length >= FIXED_HEADER) {
      const header = this.peek(FIXED_HEADER);
      const endian = header[0];
      const le = endian === constants.endianness.le;
      const bodyLength = le ? header.readUInt32LE(4) : header.readUInt32BE(4);
      const fieldsLength = le ? header.readUInt32LE(12) : header.readUInt32BE(12);
      const total = FIXED_HEADER + (((fieldsLength + 7) >> 3) << 3) + bodyLength;
      if (total > MAX_MESSAGE) throw new Error(`D-Bus message of ${total} bytes exceeds the limit`);
      if (this.length < total) break;
      const end = this.base + total;
      const fds: number[] = [];
      while (this.fdBatches.length && this.fdBatches[0].at < end) fds.push(...this.fdBatches.shift()!.fds);
      const message = this.take(total);
      this.base = end;
      onMessage(this.parse(message, endian, fieldsLength, bodyLength, fds));
    }
  }

  /** The first `n` bytes (joined only when they span chunks). */
  private peek(n: number): Buffer {
    if (this.chunks[0].length >= n) return this.chunks[0].subarray(0, n);
    // Join only the few chunks that hold the first n bytes: the rest may be megabytes.
    let count = 0;
    for (let have = 0; have < n; count++) have += this.chunks[count].length;
    this.chunks.splice(0, count, Buffer.concat(this.chunks.slice(0, count)));
    return this.chunks[0].subarray(0, n);
  }

  /** Removes and returns the first `n` bytes, copying once at most (into `scratch`). */
  private take(n: number): Buffer {
    let out: Buffer;
    if (this.chunks[0].length >= n) {
      out = this.chunks[0].subarray(0, n);
      this.chunks[0] = this.chunks[0].subarray(n);
      if (this.chunks[0].length === 0) this.chunks.shift();
    } else {
      if (this.scratch.length < n) this.scratch = Buffer.allocUnsafe(n);
      out = this.scratch.subarray(0, n);
      let at = 0;
      while (at < n) {
        const c = this.chunks[0];
        const used = Math.min(c.length, n - at);
        c.copy(out, at, 0, used);
        at += used;
        if (used === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(used);
      }
    }
    this.length -= n;
    return out;
  }

  private parse(message: Buffer, endian: number, fieldsLength: number, bodyLength: number, fds: number[]): Record<string, unknown> {
    const header = message.subarray(0, FIXED_HEADER);
    const buf = new DBusBuffer(message.subarray(FIXED_HEADER), 0, endian, fds, {});
    const fields = buf.readArray(headerSignature[0].child[0], fieldsLength);
    buf.align(3);
    const raw: Record<string, unknown> = {
      serial: endian === constants.endianness.le ? header.readUInt32LE(8) : header.readUInt32BE(8),
      type: header[1],
      flags: header[2],
    };
    for (const [code, value] of fields) raw[constants.headerTypeName[code]] = value[1][0];
    if (bodyLength > 0 && raw.signature) raw.body = buf.read(raw.signature as string);
    return raw;
  }
}
