// X.224 class 0 TPDUs as RDP uses them (X.224 §13, T.123 §8), each inside a TPKT packet:
// - Connection Request (CR, 0xE0) with RDP's routing token or cookie line and RDP_NEG_REQ
//   (MS-RDPBCGR 2.2.1.1, 2.2.1.1.1, 2.2.1.1.2);
// - Connection Confirm (CC, 0xD0) with RDP_NEG_RSP or RDP_NEG_FAILURE (2.2.1.2.1, 2.2.1.2.2);
// - Data (DT, 0x02 0xF0 0x80) carrying every later slow-path PDU, and Disconnect Request (DR, 0x80).
import { RdpProtocolError } from './errors.js';
import { ReadCursor, WriteCursor } from './cursor.js';
import { encodeTpkt, tpktPayload } from './tpkt.js';

/** Security protocols of RDP_NEG_REQ::requestedProtocols / RDP_NEG_RSP::selectedProtocol. */
export const PROTOCOL_RDP = 0x00;
export const PROTOCOL_SSL = 0x01;
export const PROTOCOL_HYBRID = 0x02;
export const PROTOCOL_RDSTLS = 0x04;
export const PROTOCOL_HYBRID_EX = 0x08;

/** RDP_NEG_REQ flags. */
export const RESTRICTED_ADMIN_MODE_REQUIRED = 0x01;
export const REDIRECTED_AUTHENTICATION_MODE_REQUIRED = 0x02;
export const CORRELATION_INFO_PRESENT = 0x08;

/** RDP_NEG_RSP flags. */
export const EXTENDED_CLIENT_DATA_SUPPORTED = 0x01;
export const DYNVC_GFX_PROTOCOL_SUPPORTED = 0x02;
export const RESTRICTED_ADMIN_MODE_SUPPORTED = 0x08;
export const REDIRECTED_AUTHENTICATION_MODE_SUPPORTED = 0x10;

/** RDP_NEG_FAILURE failure codes. */
export const SSL_REQUIRED_BY_SERVER = 0x01;
export const SSL_NOT_ALLOWED_BY_SERVER = 0x02;
export const SSL_CERT_NOT_ON_SERVER = 0x03;
export const INCONSISTENT_FLAGS = 0x04;
export const HYBRID_REQUIRED_BY_SERVER = 0x05;
export const SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER = 0x06;

const TPDU_CONNECTION_REQUEST = 0xe0;
const TPDU_CONNECTION_CONFIRM = 0xd0;
const TPDU_DISCONNECT_REQUEST = 0x80;
const TPDU_DATA = 0xf0;
const TPDU_DATA_EOT = 0x80;
/** LI, code, dst-ref (2), src-ref (2), class. */
const CR_FIXED_LENGTH = 7;
/** MS-RDPBCGR 3.3.5.3.2: the server's source reference. */
const SERVER_SOURCE_REFERENCE = 0x1234;

const TYPE_RDP_NEG_REQ = 0x01;
const TYPE_RDP_NEG_RSP = 0x02;
const TYPE_RDP_NEG_FAILURE = 0x03;
const TYPE_RDP_CORRELATION_INFO = 0x06;
const NEG_STRUCTURE_LENGTH = 8;
const CORRELATION_INFO_LENGTH = 36;

const COOKIE_PREFIX = 'Cookie: mstshash=';
const ROUTING_TOKEN_PREFIX = 'Cookie: msts=';
const TOKEN_LINE_PREFIXES = [COOKIE_PREFIX, ROUTING_TOKEN_PREFIX].map((p) => Buffer.from(p, 'latin1'));
const CRLF = Buffer.from('\r\n', 'latin1');

export interface ConnectionRequest {
  /** The IDENTIFIER of "Cookie: mstshash=IDENTIFIER" (usually the user name), if sent. */
  cookie?: string;
  /** The value of a "Cookie: msts=…" routing token line (load balancers), if sent. */
  routingToken?: string;
  /** Whether an RDP_NEG_REQ was present; without it the client can only do standard RDP security. */
  hasNegotiationRequest: boolean;
  /** PROTOCOL_* bits; PROTOCOL_RDP (0) when no RDP_NEG_REQ was sent. */
  requestedProtocols: number;
  /** RDP_NEG_REQ flags (0 without one). */
  negFlags: number;
  /** The 16-byte correlation id of an RDP_CORRELATION_INFO, if sent. */
  correlationId?: Buffer;
}

/** Parses a whole TPKT frame holding an X.224 Connection Request (MS-RDPBCGR 2.2.1.1). */
export function decodeConnectionRequest(frame: Buffer): ConnectionRequest {
  const tpdu = tpktPayload(frame);
  const r = new ReadCursor(tpdu, 'X.224 Connection Request');
  const li = r.u8();
  if (li !== tpdu.length - 1 || li < CR_FIXED_LENGTH - 1) {
    throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `X.224 Connection Request: length indicator ${li} for a ${tpdu.length}-byte TPDU`);
  }
  const code = r.u8();
  if ((code & 0xf0) !== TPDU_CONNECTION_REQUEST) {
    throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `X.224: TPDU code 0x${code.toString(16)}, expected a Connection Request`);
  }
  r.skip(5); // dst-ref, src-ref, class and options: not used by RDP

  const result: ConnectionRequest = { hasNegotiationRequest: false, requestedProtocols: PROTOCOL_RDP, negFlags: 0 };
  const line = readTokenLine(r);
  if (line?.startsWith(COOKIE_PREFIX)) result.cookie = line.slice(COOKIE_PREFIX.length);
  else if (line?.startsWith(ROUTING_TOKEN_PREFIX)) result.routingToken = line.slice(ROUTING_TOKEN_PREFIX.length);

  if (r.remaining >= NEG_STRUCTURE_LENGTH && r.buf[r.pos] === TYPE_RDP_NEG_REQ) {
    r.skip(1);
    result.negFlags = r.u8();
    const length = r.u16le();
    if (length !== NEG_STRUCTURE_LENGTH) {
      throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `RDP_NEG_REQ: length ${length}, expected 8`);
    }
    result.requestedProtocols = r.u32le();
    result.hasNegotiationRequest = true;
    if (result.negFlags & CORRELATION_INFO_PRESENT) result.correlationId = readCorrelationInfo(r);
  }
  // Anything after these is not defined by MS-RDPBCGR; ignore it as Windows does.
  return result;
}

/** A "Cookie: …\r\n" line at the start of the variable part, without its CR LF, or undefined. */
function readTokenLine(r: ReadCursor): string | undefined {
  const rest = r.buf.subarray(r.pos);
  if (!TOKEN_LINE_PREFIXES.some((prefix) => rest.subarray(0, prefix.length).equals(prefix))) return undefined;
  const end = rest.indexOf(CRLF);
  if (end < 0) throw new RdpProtocolError('RDP_ERR_BAD_ENCODING', 'X.224 Connection Request: cookie line without CR LF');
  const line = r.bytes(end).toString('latin1');
  r.skip(CRLF.length);
  return line;
}

function readCorrelationInfo(r: ReadCursor): Buffer {
  const type = r.u8();
  r.skip(1); // flags, 0
  const length = r.u16le();
  if (type !== TYPE_RDP_CORRELATION_INFO || length !== CORRELATION_INFO_LENGTH) {
    throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `RDP_CORRELATION_INFO: type ${type}, length ${length}`);
  }
  const id = Buffer.from(r.bytes(16));
  r.skip(16); // reserved
  return id;
}

/** A whole TPKT frame: X.224 Connection Confirm with RDP_NEG_RSP (MS-RDPBCGR 2.2.1.2.1). */
export function encodeConnectionConfirm(selectedProtocol: number, flags = 0): Buffer {
  return connectionConfirm(TYPE_RDP_NEG_RSP, flags, selectedProtocol);
}

/**
 * A whole TPKT frame: X.224 Connection Confirm with RDP_NEG_FAILURE (MS-RDPBCGR 2.2.1.2.2),
 * e.g. SSL_REQUIRED_BY_SERVER. The server closes the connection after sending it.
 */
export function encodeNegotiationFailure(failureCode: number): Buffer {
  return connectionConfirm(TYPE_RDP_NEG_FAILURE, 0, failureCode);
}

function connectionConfirm(negType: number, negFlags: number, value: number): Buffer {
  const w = new WriteCursor(CR_FIXED_LENGTH + NEG_STRUCTURE_LENGTH);
  w.u8(CR_FIXED_LENGTH - 1 + NEG_STRUCTURE_LENGTH); // LI counts everything after itself
  w.u8(TPDU_CONNECTION_CONFIRM);
  w.u16be(0); // dst-ref
  w.u16be(SERVER_SOURCE_REFERENCE);
  w.u8(0); // class 0, no options
  w.u8(negType).u8(negFlags).u16le(NEG_STRUCTURE_LENGTH).u32le(value);
  return encodeTpkt(w.toBuffer());
}

export type X224DataResult = { kind: 'data'; payload: Buffer } | { kind: 'disconnect' };

/**
 * Parses a whole TPKT frame holding an X.224 Data TPDU and returns its payload (a view into
 * `frame`), or `{ kind: 'disconnect' }` for a Disconnect Request. Other TPDUs throw
 * RDP_ERR_UNEXPECTED.
 */
export function decodeX224Data(frame: Buffer): X224DataResult {
  const tpdu = tpktPayload(frame);
  const r = new ReadCursor(tpdu, 'X.224 TPDU');
  const li = r.u8();
  const code = r.u8();
  if (code === TPDU_DISCONNECT_REQUEST) return { kind: 'disconnect' };
  if (code !== TPDU_DATA) {
    throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `X.224: TPDU code 0x${code.toString(16)}, expected Data`);
  }
  if (li !== 2) throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `X.224 Data: length indicator ${li}, expected 2`);
  const eot = r.u8();
  if (eot !== TPDU_DATA_EOT) {
    throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `X.224 Data: 0x${eot.toString(16)} where EOT (0x80) belongs`);
  }
  return { kind: 'data', payload: r.bytes(r.remaining) };
}

/** A whole TPKT frame: `payload` (an MCS PDU) in an X.224 Data TPDU. */
export function encodeX224Data(payload: Buffer): Buffer {
  return encodeTpkt(Buffer.concat([Buffer.from([2, TPDU_DATA, TPDU_DATA_EOT]), payload]));
}
