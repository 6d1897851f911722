// The Basic Security Header (TS_SECURITY_HEADER, MS-RDPBCGR 2.2.8.1.1.2.1): flags and flagsHi,
// 16 bits each, little-endian. With TLS or CredSSP (no standard RDP encryption) it is what
// precedes the Client Info PDU and licensing PDUs, and SEC_ENCRYPT is never set.
import { type ReadCursor, WriteCursor } from './cursor.js';

export const SEC_EXCHANGE_PKT = 0x0001;
export const SEC_TRANSPORT_REQ = 0x0002;
export const RDP_SEC_TRANSPORT_RSP = 0x0004;
export const SEC_ENCRYPT = 0x0008;
export const SEC_RESET_SEQNO = 0x0010;
export const SEC_IGNORE_SEQNO = 0x0020;
export const SEC_INFO_PKT = 0x0040;
export const SEC_LICENSE_PKT = 0x0080;
export const SEC_LICENSE_ENCRYPT_CS = 0x0200;
export const SEC_LICENSE_ENCRYPT_SC = 0x0200;
export const SEC_REDIRECTION_PKT = 0x0400;
export const SEC_SECURE_CHECKSUM = 0x0800;
export const SEC_AUTODETECT_REQ = 0x1000;
export const SEC_AUTODETECT_RSP = 0x2000;
export const SEC_HEARTBEAT = 0x4000;
export const SEC_FLAGSHI_VALID = 0x8000;

export const SECURITY_HEADER_LENGTH = 4;

export interface SecurityHeader {
  flags: number;
  /** Meaningful only when flags has SEC_FLAGSHI_VALID. */
  flagsHi: number;
}

/** Reads a basic security header at the cursor (throws RDP_ERR_TRUNCATED if short). */
export function decodeSecurityHeader(r: ReadCursor): SecurityHeader {
  return { flags: r.u16le(), flagsHi: r.u16le() };
}

export function encodeSecurityHeader(flags: number, flagsHi = 0): Buffer {
  return new WriteCursor(SECURITY_HEADER_LENGTH).u16le(flags).u16le(flagsHi).toBuffer();
}
