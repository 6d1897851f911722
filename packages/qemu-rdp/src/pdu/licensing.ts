// The one licensing PDU this server sends: License Error PDU - Valid Client (MS-RDPBCGR
// 2.2.1.12): a basic security header with SEC_LICENSE_PKT, the licensing preamble (2.2.1.12.1.1:
// bMsgType ERROR_ALERT, flags PREAMBLE_VERSION_3_0, wMsgSize counting preamble and message) and a
// Licensing Error Message (2.2.1.12.1.3) saying STATUS_VALID_CLIENT / ST_NO_TRANSITION with an
// empty BB_ERROR_BLOB. It tells the client that licensing is over without issuing a license.
import { WriteCursor } from './cursor.js';
import { SEC_LICENSE_PKT } from './security-header.js';

export const ERROR_ALERT = 0xff;
export const PREAMBLE_VERSION_3_0 = 0x03;
export const STATUS_VALID_CLIENT = 0x00000007;
export const ST_NO_TRANSITION = 0x00000002;
export const BB_ERROR_BLOB = 0x0004;

/** Preamble (4) + dwErrorCode (4) + dwStateTransition (4) + empty blob header (4). */
const VALID_CLIENT_MESSAGE_SIZE = 16;

/**
 * The user data of the MCS Send Data Indication (I/O channel, from MCS_SERVER_CHANNEL_ID) that
 * ends the licensing phase: 20 bytes, security header included.
 */
export function encodeLicenseValidClient(): Buffer {
  return new WriteCursor(4 + VALID_CLIENT_MESSAGE_SIZE)
    .u16le(SEC_LICENSE_PKT) // flags
    .u16le(0) // flagsHi
    .u8(ERROR_ALERT) // bMsgType
    .u8(PREAMBLE_VERSION_3_0) // flags (no EXTENDED_ERROR_MSG_SUPPORTED: mstsc dislikes it from a server)
    .u16le(VALID_CLIENT_MESSAGE_SIZE) // wMsgSize
    .u32le(STATUS_VALID_CLIENT) // dwErrorCode
    .u32le(ST_NO_TRANSITION) // dwStateTransition
    .u16le(BB_ERROR_BLOB) // bbErrorInfo.wBlobType
    .u16le(0) // bbErrorInfo.wBlobLen
    .toBuffer();
}
