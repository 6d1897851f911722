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
/**
 * The fds a call seems to carry on a link that takes none: the kernel dropped them (-1 each,
 * up to its limit of 253 per message), and the call still parses and gets its answer.
 */
const DROPPED_FDS: readonly number[] = Object.freeze(new Array<number>(253).fill(-1));
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
      const total = messageLength(this.peek(FIXED_HEADER));
      if (this.length < total) break;
      const end = this.base + total;
      const fds: number[] = [];
      while (this.fdBatches.length && this.fdBatches[0].at < end) fds.push(...this.fdBatches.shift()!.fds);
      const message = this.take(total);
      this.base = end;
      onMessage(parseMessage(message, fds));
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

}

/**
 * Frames messages read straight into the buffers it hands out (`readBuffer`), for a socket
 * that reads into memory we give it (net.Socket's `onread`): nothing is allocated per read,
 * and a message longer than one read is read into its place in one reused buffer, so an
 * 8 MB frame costs neither copies between chunks nor garbage to collect. Carries no file
 * descriptors: it serves links on which none are expected (see DROPPED_FDS).
 */
export class InPlaceFramer {
  private readonly reads: Buffer;
  /** The start of a message that did not fit in what has been read so far. */
  private pending: Buffer = Buffer.alloc(0);
  private have = 0;
  /** The pending message's length once its fixed header is in (else 0). */
  private need = 0;

  constructor(readSize = 64 * 1024) {
    this.reads = Buffer.allocUnsafe(readSize);
  }

  /** Where the next read should go: the rest of a pending message whose length is known, else the reused read buffer. */
  readBuffer(): Buffer {
    return this.need ? this.pending.subarray(this.have, this.need) : this.reads;
  }

  /**
   * `n` bytes were read into `buffer` (the last `readBuffer()`); hands every message now
   * complete to `onMessage`, one at a time. As with MessageFramer, byte arrays in a body are
   * views into reused memory: handle them before returning, or copy them.
   */
  received(buffer: Buffer, n: number, onMessage: (raw: Record<string, unknown>) => void): void {
    if (buffer !== this.reads) {
      this.have += n;
      if (this.have === this.need) this.completePending(onMessage);
      return;
    }
    let at = 0;
    while (at < n) {
      if (this.have) {
        at += this.fillPending(buffer.subarray(at, n));
        if (this.need && this.have === this.need) this.completePending(onMessage);
        continue;
      }
      if (n - at >= FIXED_HEADER) {
        const total = messageLength(buffer.subarray(at, at + FIXED_HEADER));
        if (n - at >= total) {
          onMessage(parseMessage(buffer.subarray(at, at + total), DROPPED_FDS));
          at += total;
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

  private completePending(onMessage: (raw: Record<string, unknown>) => void): void {
    const message = this.pending.subarray(0, this.need);
    this.have = 0;
    this.need = 0;
    onMessage(parseMessage(message, DROPPED_FDS));
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
