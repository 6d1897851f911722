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
  fds: readonly number[],
  opts: Record<string, unknown>,
) => DBusBufferLike;
const headerSignature = require('dbus-next/lib/header-signature.json') as Array<{ child: unknown[] }>;
const constants = require('dbus-next/lib/constants.js') as { headerTypeName: string[]; endianness: { le: number } };

const FIXED_HEADER = 16;
/** The specification's limit on a message (2^27 bytes); more is a broken peer. */
const MAX_MESSAGE = 1 << 27;

const NO_FDS: readonly number[] = Object.freeze([]);

type OnMessage = (raw: Record<string, unknown>) => void;

/**
 * Frames messages read into buffers it hands out (`readBuffer`): small messages are parsed
 * where they were read, and the rest of a long one goes straight into its place in one
 * reused buffer. So a frame of several MB costs one copy and no allocation.
 */
export class MessageFramer {
  private readonly reads: Buffer;
  /** The start of a message that did not fit in what has been read so far. */
  private pending: Buffer = Buffer.alloc(0);
  private have = 0;
  /** The pending message's length once its fixed header is in (else 0). */
  private need = 0;
  /** Bytes received so far: the stream offset of the next one. */
  private total = 0;
  /** File descriptors and the stream offset of a byte of the message they came with. */
  private fdBatches: Array<{ at: number; fds: readonly number[] }> = [];

  constructor(opts: { readSize?: number } = {}) {
    this.reads = Buffer.allocUnsafe(opts.readSize ?? 64 * 1024);
  }

  /** Where the next read should go: the rest of a pending message whose length is known, else the reused read buffer. */
  readBuffer(): Buffer {
    return this.need ? this.pending.subarray(this.have, this.need) : this.reads;
  }

  /**
   * `n` bytes were read into `buffer` (the last `readBuffer()`), with `fds`, which belong to
   * the message holding the last of those bytes (a unix socket ends a read after the bytes
   * that carried fds). Hands every message now complete, in dbus-next's raw form, to
   * `onMessage` — one at a time: byte arrays in a body ('ay') are views into memory reused
   * for the next read, so handle them before returning, or copy them.
   */
  received(buffer: Buffer, n: number, onMessage: OnMessage, fds: readonly number[] = []): void {
    const start = this.total;
    if (fds.length) this.fdBatches.push({ at: start + n - 1, fds });
    this.total += n;
    if (buffer !== this.reads) {
      this.have += n;
      if (this.have === this.need) this.completePending(this.total, onMessage);
      return;
    }
    let at = 0;
    while (at < n) {
      if (this.have) {
        at += this.fillPending(buffer.subarray(at, n));
        if (this.need && this.have === this.need) this.completePending(start + at, onMessage);
        continue;
      }
      if (n - at >= FIXED_HEADER) {
        const length = messageLength(buffer.subarray(at, at + FIXED_HEADER));
        if (n - at >= length) {
          onMessage(parseMessage(buffer.subarray(at, at + length), this.fdsUpTo(start + at + length)));
          at += length;
          continue;
        }
      }
      at += this.fillPending(buffer.subarray(at, n));
    }
  }

  /** Moves bytes into the pending message (its header first); returns how many it took. */
  private fillPending(bytes: Buffer): number {
    if (!this.need) {
      const used = Math.min(bytes.length, FIXED_HEADER - this.have);
      this.reserve(FIXED_HEADER);
      bytes.copy(this.pending, this.have, 0, used);
      this.have += used;
      if (this.have < FIXED_HEADER) return used;
      this.need = messageLength(this.pending.subarray(0, FIXED_HEADER));
      this.reserve(this.need);
      return used + this.fillPending(bytes.subarray(used));
    }
    const used = Math.min(bytes.length, this.need - this.have);
    bytes.copy(this.pending, this.have, 0, used);
    this.have += used;
    return used;
  }

  /** Hands on the pending message, which ends at stream offset `end`. */
  private completePending(end: number, onMessage: OnMessage): void {
    const message = this.pending.subarray(0, this.need);
    const fds = this.fdsUpTo(end);
    this.have = 0;
    this.need = 0;
    onMessage(parseMessage(message, fds));
  }

  /** The fds of the message that ends at stream offset `end`: every batch that came with its bytes. */
  private fdsUpTo(end: number): readonly number[] {
    if (!this.fdBatches.length || this.fdBatches[0].at >= end) return NO_FDS;
    const fds: number[] = [];
    while (this.fdBatches.length && this.fdBatches[0].at < end) fds.push(...this.fdBatches.shift()!.fds);
    return fds;
  }

  /** Grows the pending buffer, keeping what it holds; it stays at the largest message seen. */
  private reserve(length: number): void {
    if (this.pending.length >= length) return;
    const grown = Buffer.allocUnsafe(Math.max(length, 256));
    this.pending.copy(grown, 0, 0, this.have);
    this.pending = grown;
  }
}

/** A message's whole length from its fixed header (D-Bus specification, "Message Format"). */
function messageLength(header: Buffer): number {
  const le = header[0] === constants.endianness.le;
  const bodyLength = le ? header.readUInt32LE(4) : header.readUInt32BE(4);
  const fieldsLength = le ? header.readUInt32LE(12) : header.readUInt32BE(12);
  const total = FIXED_HEADER + (((fieldsLength + 7) >> 3) << 3) + bodyLength;
  if (total > MAX_MESSAGE) throw new Error(`D-Bus message of ${total} bytes exceeds the limit`);
  return total;
}

/** A whole message in dbus-next's raw form, parsed by its own DBusBuffer. */
function parseMessage(message: Buffer, fds: readonly number[]): Record<string, unknown> {
  const endian = message[0];
  const le = endian === constants.endianness.le;
  const bodyLength = le ? message.readUInt32LE(4) : message.readUInt32BE(4);
  const fieldsLength = le ? message.readUInt32LE(12) : message.readUInt32BE(12);
  const buf = new DBusBuffer(message.subarray(FIXED_HEADER), 0, endian, fds, {});
  const fields = buf.readArray(headerSignature[0].child[0], fieldsLength);
  buf.align(3);
  const raw: Record<string, unknown> = {
    serial: le ? message.readUInt32LE(8) : message.readUInt32BE(8),
    type: message[1],
    flags: message[2],
  };
  for (const [code, value] of fields) raw[constants.headerTypeName[code]] = value[1][0];
  if (bodyLength > 0 && raw.signature) raw.body = buf.read(raw.signature as string);
  return raw;
}
