// The Client Info PDU (MS-RDPBCGR 2.2.1.11): a basic security header with SEC_INFO_PKT, then
// TS_INFO_PACKET (2.2.1.11.1.1) — code page, INFO_* flags, five length-prefixed strings (domain,
// user name, password, alternate shell, working directory; each cb* excludes the null terminator
// that follows; UTF-16LE when INFO_UNICODE, else ANSI) — and, from RDP 5.0 clients, the
// TS_EXTENDED_INFO_PACKET (2.2.1.11.1.1.1) whose trailing fields are each optional in order.
// Input: the user data of the client's MCS Send Data Request on the I/O channel.
import { ReadCursor } from './cursor.js';
import { RdpProtocolError } from './errors.js';
import { decodeSecurityHeader, SEC_ENCRYPT, SEC_INFO_PKT } from './security-header.js';

export const INFO_MOUSE = 0x00000001;
export const INFO_DISABLECTRLALTDEL = 0x00000002;
export const INFO_AUTOLOGON = 0x00000008;
export const INFO_UNICODE = 0x00000010;
export const INFO_MAXIMIZESHELL = 0x00000020;
export const INFO_LOGONNOTIFY = 0x00000040;
export const INFO_COMPRESSION = 0x00000080;
/** CompressionTypeMask: the highest bulk compression type the client takes (with INFO_COMPRESSION). */
export const COMPRESSION_TYPE_MASK = 0x00001e00;
const COMPRESSION_TYPE_SHIFT = 9;
export const INFO_ENABLEWINDOWSKEY = 0x00000100;
export const INFO_REMOTECONSOLEAUDIO = 0x00002000;
export const INFO_FORCE_ENCRYPTED_CS_PDU = 0x00004000;
export const INFO_RAIL = 0x00008000;
export const INFO_LOGONERRORS = 0x00010000;
export const INFO_MOUSE_HAS_WHEEL = 0x00020000;
export const INFO_PASSWORD_IS_SC_PIN = 0x00040000;
export const INFO_NOAUDIOPLAYBACK = 0x00080000;
export const INFO_USING_SAVED_CREDS = 0x00100000;
export const INFO_AUDIOCAPTURE = 0x00200000;
export const INFO_VIDEO_DISABLE = 0x00400000;
export const INFO_HIDEF_RAIL_SUPPORTED = 0x02000000;

export const AF_INET = 0x0002;
export const AF_INET6 = 0x0017;

/** Most bytes a credential or shell string may take, terminator included (2.2.1.11.1.1). */
const MAX_INFO_STRING_BYTES = 512;
const MAX_CLIENT_ADDRESS_BYTES = 80;
const MAX_CLIENT_DIR_BYTES = 512;
const MAX_AUTO_RECONNECT_COOKIE_BYTES = 28;
const MAX_TIME_ZONE_KEY_NAME_BYTES = 254;
const TIME_ZONE_INFORMATION_LENGTH = 172;

export interface ClientTimeZone {
  /** Minutes: UTC = local time + bias. */
  bias: number;
  standardName: string;
  standardBias: number;
  daylightName: string;
  daylightBias: number;
}

export interface ExtendedClientInfo {
  clientAddressFamily: number;
  clientAddress: string;
  clientDir: string;
  clientTimeZone?: ClientTimeZone;
  clientSessionId?: number;
  /** PERF_* bits (what the client would like turned off: wallpaper, animations…). */
  performanceFlags?: number;
  /** The ARC_CS_PRIVATE_PACKET, raw (a copy). */
  autoReconnectCookie?: Buffer;
  dynamicDstTimeZoneKeyName?: string;
  dynamicDaylightTimeDisabled?: boolean;
}

export interface ClientInfo {
  codePage: number;
  flags: number;
  domain: string;
  userName: string;
  /** A secret: never log it. */
  password: string;
  alternateShell: string;
  workingDir: string;
  extended?: ExtendedClientInfo;
}

/**
 * The highest bulk compression type (PACKET_COMPR_TYPE_8K 0, 64K 1, RDP6 2, RDP61 3) the client
 * announced in its Client Info flags (2.2.1.11.1.1), or undefined without INFO_COMPRESSION.
 */
export function clientCompressionType(flags: number): number | undefined {
  if (!(flags & INFO_COMPRESSION)) return undefined;
  return (flags & COMPRESSION_TYPE_MASK) >>> COMPRESSION_TYPE_SHIFT;
}

function fail(message: string): never {
  throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `Client Info PDU: ${message}`);
}

/** Strips trailing NULs. */
function withoutNul(s: string): string {
  const nul = s.indexOf('\0');
  return nul < 0 ? s : s.slice(0, nul);
}

function decodeText(bytes: Buffer, unicode: boolean, name: string): string {
  if (unicode && bytes.length % 2 !== 0) fail(`${name} has an odd byte count ${bytes.length} in UTF-16`);
  return withoutNul(bytes.toString(unicode ? 'utf16le' : 'latin1'));
}

/** A TS_INFO_PACKET string: cb excludes the terminator, which must follow. */
function readInfoString(r: ReadCursor, cb: number, unicode: boolean, name: string): string {
  const nulSize = unicode ? 2 : 1;
  if (cb + nulSize > MAX_INFO_STRING_BYTES) fail(`${name} of ${cb} bytes`);
  const text = decodeText(r.bytes(cb), unicode, name);
  r.skip(nulSize);
  return text;
}

/** A TS_EXTENDED_INFO_PACKET string: cb includes the terminator (0 is tolerated, as Android sends). */
function readCountedString(r: ReadCursor, max: number, unicode: boolean, name: string): string {
  const cb = r.u16le();
  if (cb > max) fail(`${name} of ${cb} bytes`);
  return decodeText(r.bytes(cb), unicode, name);
}

function readTimeZone(r: ReadCursor): ClientTimeZone {
  const tz = r.sub(TIME_ZONE_INFORMATION_LENGTH, 'Client Info time zone');
  const bias = tz.u32le() | 0;
  const standardName = decodeText(tz.bytes(64), true, 'StandardName');
  tz.skip(16); // StandardDate (SYSTEMTIME)
  const standardBias = tz.u32le() | 0;
  const daylightName = decodeText(tz.bytes(64), true, 'DaylightName');
  tz.skip(16); // DaylightDate
  const daylightBias = tz.u32le() | 0;
  return { bias, standardName, standardBias, daylightName, daylightBias };
}

function readExtendedInfo(r: ReadCursor, unicode: boolean): ExtendedClientInfo {
  const ext: ExtendedClientInfo = {
    clientAddressFamily: r.u16le(),
    clientAddress: readCountedString(r, MAX_CLIENT_ADDRESS_BYTES, unicode, 'clientAddress'),
    clientDir: readCountedString(r, MAX_CLIENT_DIR_BYTES, unicode, 'clientDir'),
  };
  // From here on each field is optional, but only at the end: stop where the data stops.
  if (r.remaining === 0) return ext;
  ext.clientTimeZone = readTimeZone(r);
  if (r.remaining === 0) return ext;
  ext.clientSessionId = r.u32le();
  if (r.remaining === 0) return ext;
  ext.performanceFlags = r.u32le();
  if (r.remaining === 0) return ext;
  const cbCookie = r.u16le();
  if (cbCookie > MAX_AUTO_RECONNECT_COOKIE_BYTES) fail(`auto-reconnect cookie of ${cbCookie} bytes`);
  if (cbCookie > 0) ext.autoReconnectCookie = Buffer.from(r.bytes(cbCookie));
  if (r.remaining === 0) return ext;
  r.skip(2); // reserved1
  if (r.remaining === 0) return ext;
  r.skip(2); // reserved2
  if (r.remaining === 0) return ext;
  ext.dynamicDstTimeZoneKeyName = readCountedString(r, MAX_TIME_ZONE_KEY_NAME_BYTES, true, 'dynamicDSTTimeZoneKeyName');
  if (r.remaining === 0) return ext;
  ext.dynamicDaylightTimeDisabled = r.u16le() !== 0;
  return ext;
}

/**
 * Parses a Client Info PDU from the user data of the MCS Send Data Request that carries it.
 * Throws RDP_ERR_UNEXPECTED if the security header lacks SEC_INFO_PKT or is encrypted (this
 * package does not do standard RDP security).
 */
export function decodeClientInfoPdu(data: Buffer): ClientInfo {
  const r = new ReadCursor(data, 'Client Info PDU');
  const { flags: secFlags } = decodeSecurityHeader(r);
  if (!(secFlags & SEC_INFO_PKT) || secFlags & SEC_ENCRYPT) {
    throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `Client Info PDU: security flags 0x${secFlags.toString(16)}`);
  }
  const codePage = r.u32le();
  const flags = r.u32le();
  const unicode = (flags & INFO_UNICODE) !== 0;
  const cbDomain = r.u16le();
  const cbUserName = r.u16le();
  const cbPassword = r.u16le();
  const cbAlternateShell = r.u16le();
  const cbWorkingDir = r.u16le();
  const info: ClientInfo = {
    codePage,
    flags,
    domain: readInfoString(r, cbDomain, unicode, 'Domain'),
    userName: readInfoString(r, cbUserName, unicode, 'UserName'),
    password: readInfoString(r, cbPassword, unicode, 'Password'),
    alternateShell: readInfoString(r, cbAlternateShell, unicode, 'AlternateShell'),
    workingDir: readInfoString(r, cbWorkingDir, unicode, 'WorkingDir'),
  };
  if (r.remaining > 0) info.extended = readExtendedInfo(r, unicode);
  return info;
}
