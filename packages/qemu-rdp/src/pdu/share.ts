// Share Control Header and Share Data Header (MS-RDPBCGR 2.2.8.1.1.1.1, 2.2.8.1.1.1.2): the
// envelope of every slow-path PDU after licensing. These bytes are the userData of an MCS Send
// Data Request/Indication on the I/O channel (1003); with TLS (Enhanced RDP Security) there is no
// security header in front of them. T.128 flow-control PDUs (totalLength 0x8000) are recognised
// so the caller can ignore them; bulk-compressed data from the client is rejected because this
// server never advertises compression.
import { ReadCursor, WriteCursor } from './cursor.js';
import { RdpProtocolError } from './errors.js';

/** MCS channel ID of the server (MS-RDPBCGR 2.2.1.13.1: pduSource / originatorId). */
export const SERVER_CHANNEL_ID = 0x03ea;

/** PDUVersion subfield of pduType: TS_PROTOCOL_VERSION (0x1) in the high 12 bits. */
const TS_PROTOCOL_VERSION = 0x10;

/** Share Control Header pduType values (the low 4 bits). */
export const PduType = {
  DEMAND_ACTIVE: 0x1,
  CONFIRM_ACTIVE: 0x3,
  DEACTIVATE_ALL: 0x6,
  DATA: 0x7,
  SERVER_REDIRECT: 0xa,
} as const;

/** Share Data Header pduType2 values. */
export const PduType2 = {
  UPDATE: 2,
  CONTROL: 20,
  POINTER: 27,
  INPUT: 28,
  SYNCHRONIZE: 31,
  REFRESH_RECT: 33,
  PLAY_SOUND: 34,
  SUPPRESS_OUTPUT: 35,
  SHUTDOWN_REQUEST: 36,
  SHUTDOWN_DENIED: 37,
  SAVE_SESSION_INFO: 38,
  FONTLIST: 39,
  FONTMAP: 40,
  SET_KEYBOARD_INDICATORS: 41,
  BITMAPCACHE_PERSISTENT_LIST: 43,
  BITMAPCACHE_ERROR: 44,
  SET_KEYBOARD_IME_STATUS: 45,
  OFFSCRCACHE_ERROR: 46,
  SET_ERROR_INFO: 47,
  DRAWNINEGRID_ERROR: 48,
  DRAWGDIPLUS_ERROR: 49,
  ARC_STATUS: 50,
  STATUS_INFO: 54,
  MONITOR_LAYOUT: 55,
} as const;

/** Share Data Header streamId values. */
export const StreamId = { UNDEFINED: 0, LOW: 1, MED: 2, HI: 4 } as const;

/** compressedType flag: the body is bulk-compressed (MS-RDPBCGR 3.1.8.2.2). */
const PACKET_COMPRESSED = 0x20;
/** totalLength value that marks a T.128 FlowPDU (8 bytes, to be ignored). */
const FLOW_MARKER = 0x8000;
const FLOW_PDU_LENGTH = 8;
const SHARE_CONTROL_HEADER_LENGTH = 6;
const SHARE_DATA_HEADER_LENGTH = 18; // including the Share Control Header
/** At most this many share PDUs are accepted in one MCS Send Data Request. */
export const MAX_SHARE_PDUS_PER_PACKET = 64;

export type SharePdu =
  /** Client Confirm Active (2.2.1.13.2); body starts at shareId: see decodeConfirmActive. */
  | { kind: 'confirmActive'; pduSource: number; body: Buffer }
  /** A Data PDU; body is what follows the 18-byte Share Data Header. */
  | { kind: 'data'; pduSource: number; shareId: number; streamId: number; pduType2: number; body: Buffer }
  | { kind: 'deactivateAll'; pduSource: number; body: Buffer }
  /** T.128 flow-control PDU: MUST be ignored (2.2.8.1.1.1.1). */
  | { kind: 'flow'; pduTypeFlow: number }
  /** Any other share PDU type (not expected from a client). */
  | { kind: 'other'; pduType: number; pduSource: number; body: Buffer };

/** Decodes exactly one share PDU (trailing bytes are an error: use decodeSharePdus for several). */
export function decodeSharePdu(data: Buffer): SharePdu {
  const pdus = decodeSharePdus(data);
  if (pdus.length !== 1) {
    throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `share PDU: expected one PDU, found ${pdus.length}`);
  }
  return pdus[0]!;
}

/**
 * Decodes the share PDUs in one MCS Send Data userData. Clients may put several back to back; up
 * to 3 trailing bytes (too short for a header) are ignored, as FreeRDP does.
 */
export function decodeSharePdus(data: Buffer): SharePdu[] {
  const c = new ReadCursor(data, 'share PDU');
  const pdus: SharePdu[] = [];
  while (c.remaining > 3) {
    if (pdus.length >= MAX_SHARE_PDUS_PER_PACKET) {
      throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `share PDU: more than ${MAX_SHARE_PDUS_PER_PACKET} PDUs in one packet`);
    }
    pdus.push(decodeOne(c));
  }
  return pdus;
}

function decodeOne(c: ReadCursor): SharePdu {
  const totalLength = c.buf.readUInt16LE(c.pos);
  if (totalLength === FLOW_MARKER) {
    const flow = c.sub(FLOW_PDU_LENGTH, 'flow PDU');
    flow.skip(2); // flowMarker
    return { kind: 'flow', pduTypeFlow: flow.u16le() };
  }
  if (totalLength < SHARE_CONTROL_HEADER_LENGTH) {
    throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `share control header: totalLength ${totalLength} is below 6`);
  }
  const pdu = c.sub(totalLength, 'share PDU');
  pdu.skip(2); // totalLength
  const pduType = pdu.u16le() & 0x0f; // the PDUVersion bits are not checked, as in FreeRDP
  const pduSource = pdu.u16le();
  switch (pduType) {
    case PduType.CONFIRM_ACTIVE:
      return { kind: 'confirmActive', pduSource, body: pdu.bytes(pdu.remaining) };
    case PduType.DEACTIVATE_ALL:
      return { kind: 'deactivateAll', pduSource, body: pdu.bytes(pdu.remaining) };
    case PduType.DATA:
      return decodeDataPdu(pdu, pduSource, totalLength);
    default:
      return { kind: 'other', pduType, pduSource, body: pdu.bytes(pdu.remaining) };
  }
}

function decodeDataPdu(pdu: ReadCursor, pduSource: number, totalLength: number): SharePdu {
  if (totalLength < SHARE_DATA_HEADER_LENGTH) {
    throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `share data header: totalLength ${totalLength} is below 18`);
  }
  const shareId = pdu.u32le();
  pdu.skip(1); // pad1
  const streamId = pdu.u8();
  pdu.skip(2); // uncompressedLength: only meaningful for compressed data
  const pduType2 = pdu.u8();
  const compressedType = pdu.u8();
  pdu.skip(2); // compressedLength
  if (compressedType & PACKET_COMPRESSED) {
    throw new RdpProtocolError(
      'RDP_ERR_UNEXPECTED',
      `share data PDU (pduType2 ${pduType2}) is bulk-compressed (compressedType 0x${compressedType.toString(16)}), but this server never enables compression`,
    );
  }
  return { kind: 'data', pduSource, shareId, streamId, pduType2, body: pdu.bytes(pdu.remaining) };
}

/** Share Control Header + body: a complete share PDU (the MCS Send Data userData). */
export function encodeShareControl(pduType: number, pduSource: number, body: Uint8Array): Buffer {
  const totalLength = SHARE_CONTROL_HEADER_LENGTH + body.length;
  if (totalLength > 0xffff) throw new RangeError(`share PDU of ${totalLength} bytes exceeds 65535`);
  return new WriteCursor(totalLength)
    .u16le(totalLength)
    .u16le(TS_PROTOCOL_VERSION | pduType)
    .u16le(pduSource)
    .bytes(body)
    .toBuffer();
}

/**
 * Share Control Header + Share Data Header + body: a complete Data PDU. uncompressedLength is
 * set to the body length (as FreeRDP and IronRDP do; clients ignore it for uncompressed data).
 */
export function encodeShareData(
  shareId: number,
  pduSource: number,
  pduType2: number,
  body: Uint8Array,
  streamId: number = StreamId.LOW,
): Buffer {
  const header = new WriteCursor(12)
    .u32le(shareId)
    .u8(0) // pad1
    .u8(streamId)
    .u16le(body.length) // uncompressedLength
    .u8(pduType2)
    .u8(0) // compressedType
    .u16le(0) // compressedLength
    .toBuffer();
  return encodeShareControl(PduType.DATA, pduSource, Buffer.concat([header, body]));
}
