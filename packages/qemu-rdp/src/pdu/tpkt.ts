// Framing of the byte stream a client sends: slow-path PDUs ride in TPKT packets (RFC 1006 §6,
// T.123 §8: version 3, reserved, 16-bit big-endian length that counts the 4-byte header too);
// fast-path input PDUs (MS-RDPBCGR 2.2.8.1.2) start with a header byte whose two low bits (the
// action) are 0 and carry a 1- or 2-byte length (the 2-byte form has the top bit of the first
// length byte set: 15 bits, big-endian) that also counts the whole PDU.
import { RdpProtocolError } from './errors.js';

export const TPKT_VERSION = 3;
export const TPKT_HEADER_LENGTH = 4;
/** TPKT header plus the shortest X.224 TPDU (Data: LI, code, EOT). */
export const MIN_TPKT_FRAME_LENGTH = 7;
/**
 * Default upper bound for a client's TPKT frame. The biggest slow-path PDUs a client sends are
 * the MCS Connect Initial (a few KB with many monitors and channels) and virtual channel chunks,
 * which the server's VCChunkSize bounds (≤ 16256 bytes); 32 KiB leaves a wide margin while keeping
 * a hostile client from making the server buffer 64 KiB per frame. Callers may raise it up to
 * 0xffff, the most the length field can say.
 */
export const DEFAULT_MAX_TPKT_FRAME_LENGTH = 0x8000;
const TPKT_LENGTH_FIELD_MAX = 0xffff;

/** Action bits of the first byte: 0 = fast-path, 3 = slow-path (TPKT version 3). */
const ACTION_MASK = 0x03;
const FASTPATH_ACTION = 0x00;
/** The length of the shortest fast-path PDU: header byte and a 1-byte length. */
const MIN_FASTPATH_LENGTH = 2;

/** Whether a PDU starting with this byte is a fast-path PDU (action bits 0). */
export function isFastPath(firstByte: number): boolean {
  return (firstByte & ACTION_MASK) === FASTPATH_ACTION;
}

/**
 * The whole frame length (header included) that a TPKT header announces. `head` needs at least
 * the 4 header bytes; throws RDP_ERR_UNEXPECTED for another version and RDP_ERR_BAD_LENGTH for a
 * length below 7 or above `maxLength`.
 */
export function tpktFrameLength(head: Buffer, maxLength = DEFAULT_MAX_TPKT_FRAME_LENGTH): number {
  if (head.length < TPKT_HEADER_LENGTH) {
    throw new RdpProtocolError('RDP_ERR_TRUNCATED', `TPKT header: needs 4 bytes, has ${head.length}`);
  }
  if (head[0] !== TPKT_VERSION) {
    throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `TPKT header: version ${head[0]}, expected 3`);
  }
  const length = head.readUInt16BE(2);
  if (length < MIN_TPKT_FRAME_LENGTH || length > Math.min(maxLength, TPKT_LENGTH_FIELD_MAX)) {
    throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `TPKT header: length ${length} outside ${MIN_TPKT_FRAME_LENGTH}..${maxLength}`);
  }
  return length;
}

/**
 * The whole length of a fast-path PDU (header byte and length bytes included), or undefined
 * when `head` does not hold the length bytes yet. Throws RDP_ERR_UNEXPECTED if the first byte is
 * not a fast-path header and RDP_ERR_BAD_LENGTH for a length shorter than its own header.
 */
export function fastPathFrameLength(head: Buffer): number | undefined {
  if (head.length < 2) return undefined;
  if (!isFastPath(head[0]!)) {
    throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `fast-path header: action ${head[0]! & ACTION_MASK} is not fast-path`);
  }
  const length1 = head[1]!;
  let length: number;
  let headerLength: number;
  if (length1 & 0x80) {
    if (head.length < 3) return undefined;
    length = ((length1 & 0x7f) << 8) | head[2]!;
    headerLength = 3;
  } else {
    length = length1;
    headerLength = 2;
  }
  if (length < Math.max(headerLength, MIN_FASTPATH_LENGTH)) {
    throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `fast-path header: length ${length} shorter than its ${headerLength}-byte header`);
  }
  return length;
}

/**
 * The length of the next frame in a client's byte stream, whichever framing it uses, or
 * undefined when more bytes are needed to tell. First byte 3 = TPKT, action 0 = fast-path;
 * anything else throws RDP_ERR_UNEXPECTED.
 */
export function frameLength(buf: Buffer, maxTpktLength = DEFAULT_MAX_TPKT_FRAME_LENGTH): number | undefined {
  if (buf.length === 0) return undefined;
  const first = buf[0]!;
  if (first === TPKT_VERSION) {
    return buf.length < TPKT_HEADER_LENGTH ? undefined : tpktFrameLength(buf, maxTpktLength);
  }
  if (isFastPath(first)) return fastPathFrameLength(buf);
  throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `frame header: first byte 0x${first.toString(16)} is neither TPKT nor fast-path`);
}

/** A TPKT packet around `payload` (an X.224 TPDU). */
export function encodeTpkt(payload: Buffer): Buffer {
  const length = TPKT_HEADER_LENGTH + payload.length;
  if (length > TPKT_LENGTH_FIELD_MAX) throw new RangeError(`TPKT: payload of ${payload.length} bytes does not fit`);
  const frame = Buffer.allocUnsafe(length);
  frame[0] = TPKT_VERSION;
  frame[1] = 0;
  frame.writeUInt16BE(length, 2);
  payload.copy(frame, TPKT_HEADER_LENGTH);
  return frame;
}

/**
 * The TPKT payload of a complete frame, after checking the header and that the frame is exactly
 * as long as its header says. (The size limit is the reader's business: see frameLength.)
 */
export function tpktPayload(frame: Buffer): Buffer {
  const length = tpktFrameLength(frame, TPKT_LENGTH_FIELD_MAX);
  if (length !== frame.length) {
    throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `TPKT: header says ${length} bytes, frame has ${frame.length}`);
  }
  return frame.subarray(TPKT_HEADER_LENGTH);
}
