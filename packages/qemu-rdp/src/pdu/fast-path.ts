// Fast-path PDUs (MS-RDPBCGR 2.2.8.1.2 input, 2.2.9.1.2 output). They travel directly on the TLS
// stream, without TPKT/X.224/MCS: a first byte whose low two bits are 0 (FASTPATH action) where a
// TPKT header would start with 0x03. Under TLS no RDP encryption is in effect, so there is never
// a dataSignature; encrypted input is rejected.
// The frame header is one byte (action, numEvents or reserved bits, flags) and a length of one
// byte, or two bytes big-endian with the top bit set (then at most 0x7FFF); the length covers the
// whole PDU.
import type { BulkCompressor } from '../bulk/index.js';
import { ReadCursor } from './cursor.js';
import { RdpProtocolError } from './errors.js';
import { type InputEvent, extendedMouseEvent, mouseEvent, relativeMouseEvent, syncEvent } from './input.js';

/** updateCode of a fast-path update (2.2.9.1.2.1). */
export const FastPathUpdateCode = {
  ORDERS: 0x0,
  BITMAP: 0x1,
  PALETTE: 0x2,
  SYNCHRONIZE: 0x3,
  SURFCMDS: 0x4,
  PTR_NULL: 0x5,
  PTR_DEFAULT: 0x6,
  PTR_POSITION: 0x8,
  COLOR: 0x9,
  CACHED: 0xa,
  POINTER: 0xb,
  LARGE_POINTER: 0xc,
} as const;

/** fragmentation of a fast-path update. */
export const Fragmentation = { SINGLE: 0x0, LAST: 0x1, FIRST: 0x2, NEXT: 0x3 } as const;

/** One update for encodeFastPathUpdates: `data` is the update's body (e.g. TS_UPDATE_BITMAP_DATA). */
export interface FastPathUpdate {
  updateCode: number;
  data: Buffer;
}

/** Largest piece of one update carried in one fast-path PDU. */
export const MAX_FRAGMENT_SIZE = 16374;
/** Frames are kept within 0x3FFF bytes, the fast-path PDU size every client accepts. */
const MAX_FRAME_SIZE = 0x3fff;
const LONG_HEADER_SIZE = 3;
const UPDATE_HEADER_SIZE = 3; // updateHeader, size (+ compressionFlags when compressed)
/** updateHeader bits 6-7: a compressionFlags byte follows (2.2.9.1.2.1). */
const FASTPATH_OUTPUT_COMPRESSION_USED = 0x2;

/**
 * Packs updates into complete fast-path output PDUs, ready to write to the TLS stream. An update
 * larger than MAX_FRAGMENT_SIZE is split into FIRST/NEXT.../LAST fragments; several updates or
 * fragments share a frame while it stays within 0x3FFF bytes. Each update, reassembled, must fit
 * the client's maxRequestSize (clientMaxRequestSize in capabilities.ts): a larger one is a caller
 * error (RangeError) — split bitmaps with splitBitmapRects first.
 *
 * With `bulk`, each fragment is bulk-compressed on its own, in the order the frames carry them
 * (3.1.8; the client decompresses each fragment, then reassembles): a compressed one gets
 * FASTPATH_OUTPUT_COMPRESSION_USED and its compressionFlags byte. The frames must then be sent
 * in order and all of them, as the compressor's history already holds them.
 */
export function encodeFastPathUpdates(updates: readonly FastPathUpdate[], maxRequestSize: number, bulk?: BulkCompressor): Buffer[] {
  const frames: Buffer[] = [];
  let pieces: UpdatePiece[] = [];
  let payloadSize = 0;
  const flush = (): void => {
    if (pieces.length === 0) return;
    frames.push(fastPathOutputFrame(pieces, payloadSize));
    pieces = [];
    payloadSize = 0;
  };
  for (const update of updates) {
    if (!Number.isInteger(update.updateCode) || update.updateCode < 0 || update.updateCode > 0xf) {
      throw new RangeError(`fast-path updateCode ${update.updateCode} is not 0-15`);
    }
    if (update.data.length > maxRequestSize) {
      throw new RangeError(`fast-path update of ${update.data.length} bytes exceeds the client's maxRequestSize ${maxRequestSize}`);
    }
    for (const piece of updatePieces(update, bulk)) {
      const pieceSize = UPDATE_HEADER_SIZE + (piece.compressionFlags === undefined ? 0 : 1) + piece.chunk.length;
      if (payloadSize + pieceSize > MAX_FRAME_SIZE - LONG_HEADER_SIZE) flush();
      pieces.push(piece);
      payloadSize += pieceSize;
    }
  }
  flush();
  return frames;
}

/** One fast-path update (or fragment of one): its updateHeader byte and its data. */
interface UpdatePiece {
  updateHeader: number;
  /** Present when bulk compression flags the piece (compressed, or a history reset). */
  compressionFlags?: number;
  chunk: Buffer;
}

function updatePieces(update: FastPathUpdate, bulk: BulkCompressor | undefined): UpdatePiece[] {
  const { data } = update;
  // Each fragment is one bulk packet, smaller than the history (MPPC 8K: 8 KiB).
  const fragmentSize = Math.min(MAX_FRAGMENT_SIZE, bulk?.maxPacketSize ?? MAX_FRAGMENT_SIZE);
  const count = Math.max(1, Math.ceil(data.length / fragmentSize));
  const pieces: UpdatePiece[] = [];
  for (let i = 0; i < count; i++) {
    const fragmentation =
      count === 1 ? Fragmentation.SINGLE : i === 0 ? Fragmentation.FIRST : i === count - 1 ? Fragmentation.LAST : Fragmentation.NEXT;
    const updateHeader = update.updateCode | (fragmentation << 4);
    const chunk = data.subarray(i * fragmentSize, (i + 1) * fragmentSize);
    const packet = bulk?.compress(chunk);
    if (packet && packet.flags !== 0) {
      pieces.push({ updateHeader: updateHeader | (FASTPATH_OUTPUT_COMPRESSION_USED << 6), compressionFlags: packet.flags, chunk: packet.data });
    } else {
      pieces.push({ updateHeader, chunk }); // compression bits (6-7) stay 0: plain data
    }
  }
  return pieces;
}

function fastPathOutputFrame(pieces: UpdatePiece[], payloadSize: number): Buffer {
  const short = payloadSize + 2 <= 0x7f;
  const total = payloadSize + (short ? 2 : LONG_HEADER_SIZE);
  const frame = Buffer.allocUnsafe(total);
  let pos = 0;
  frame[pos++] = 0; // fpOutputHeader: FASTPATH_OUTPUT_ACTION_FASTPATH, no flags
  if (short) {
    frame[pos++] = total;
  } else {
    frame.writeUInt16BE(0x8000 | total, pos);
    pos += 2;
  }
  for (const { updateHeader, compressionFlags, chunk } of pieces) {
    frame[pos++] = updateHeader;
    if (compressionFlags !== undefined) frame[pos++] = compressionFlags;
    frame.writeUInt16LE(chunk.length, pos); // size
    pos += 2;
    pos += chunk.copy(frame, pos);
  }
  return frame;
}

/**
 * The total length of the fast-path PDU starting at head[0], or undefined when head does not yet
 * hold the whole length field (2 or 3 bytes are needed). For framing the TLS byte stream.
 */
export function peekFastPathLength(head: Buffer): number | undefined {
  if (head.length < 2) return undefined;
  const length1 = head[1]!;
  if (!(length1 & 0x80)) return checkFrameLength(length1, 2);
  if (head.length < 3) return undefined;
  return checkFrameLength(((length1 & 0x7f) << 8) | head[2]!, 3);
}

function checkFrameLength(length: number, headerSize: number): number {
  if (length < headerSize) {
    throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `fast-path PDU: length ${length} is shorter than its ${headerSize}-byte header`);
  }
  return length;
}

// --- Input -----------------------------------------------------------------------------------

const FASTPATH_INPUT_ENCRYPTED = 0x2;
const EventCode = { SCANCODE: 0, MOUSE: 1, MOUSEX: 2, SYNC: 3, UNICODE: 4, MOUSEREL: 5, QOE_TIMESTAMP: 6 } as const;
const KbdFlags = { RELEASE: 0x01, EXTENDED: 0x02, EXTENDED1: 0x04 } as const;

/**
 * One complete fast-path input PDU (as framed with peekFastPathLength: its length field must
 * match frame.length) → its events in order. Each event starts with eventHeader: eventFlags in
 * the low 5 bits, eventCode in the high 3.
 */
export function decodeFastPathInput(frame: Buffer): InputEvent[] {
  const c = new ReadCursor(frame, 'fast-path input PDU');
  const fpInputHeader = c.u8();
  if ((fpInputHeader & 0x3) !== 0) {
    throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `fast-path input PDU: action ${fpInputHeader & 0x3} is not FASTPATH_INPUT_ACTION_FASTPATH`);
  }
  if ((fpInputHeader >> 6) & FASTPATH_INPUT_ENCRYPTED) {
    throw new RdpProtocolError('RDP_ERR_UNEXPECTED', 'fast-path input PDU is RDP-encrypted, but no RDP encryption is in use (TLS)');
  }
  const length = peekFastPathLength(frame);
  if (length !== frame.length) {
    throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `fast-path input PDU: length field ${length ?? 'incomplete'} but ${frame.length} bytes given`);
  }
  c.skip(frame[1]! & 0x80 ? 2 : 1); // length1, length2
  let numEvents = (fpInputHeader >> 2) & 0xf;
  if (numEvents === 0) numEvents = c.u8(); // more than 15 events: the count follows the header
  const events: InputEvent[] = [];
  for (let i = 0; i < numEvents; i++) events.push(decodeFastPathEvent(c));
  return events;
}

function decodeFastPathEvent(c: ReadCursor): InputEvent {
  const eventHeader = c.u8();
  const eventFlags = eventHeader & 0x1f;
  const eventCode = eventHeader >> 5;
  switch (eventCode) {
    case EventCode.SCANCODE:
      return {
        kind: 'scancode',
        code: c.u8(),
        release: (eventFlags & KbdFlags.RELEASE) !== 0,
        extended: (eventFlags & KbdFlags.EXTENDED) !== 0,
        extended1: (eventFlags & KbdFlags.EXTENDED1) !== 0,
      };
    case EventCode.MOUSE:
      return mouseEvent(c.u16le(), c.u16le(), c.u16le());
    case EventCode.MOUSEX:
      return extendedMouseEvent(c.u16le(), c.u16le(), c.u16le());
    case EventCode.SYNC:
      return syncEvent(eventFlags);
    case EventCode.UNICODE:
      return { kind: 'unicode', codeUnit: c.u16le(), release: (eventFlags & KbdFlags.RELEASE) !== 0 };
    case EventCode.MOUSEREL:
      return relativeMouseEvent(c.u16le(), c.i16le(), c.i16le());
    case EventCode.QOE_TIMESTAMP:
      return { kind: 'qoeTimestamp', timestampMs: c.u32le() };
    default:
      throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `fast-path input event: unknown eventCode ${eventCode}`);
  }
}
