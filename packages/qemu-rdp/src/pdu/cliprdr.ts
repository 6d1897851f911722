// Clipboard Virtual Channel Extension PDUs (MS-RDPECLIP 2.2), the "cliprdr" static channel.
// Every PDU is a CLIPRDR_HEADER (msgType, msgFlags, dataLen) and dataLen bytes. Only what a
// server sharing plain text needs is decoded in full: capabilities, format lists (short and
// long names), format data requests and responses; the rest is recognised and left alone.
import { ReadCursor, WriteCursor } from './cursor.js';
import { RdpProtocolError } from './errors.js';

/** CLIPRDR_HEADER::msgType (2.2.1). */
export const CB_MONITOR_READY = 0x0001;
export const CB_FORMAT_LIST = 0x0002;
export const CB_FORMAT_LIST_RESPONSE = 0x0003;
export const CB_FORMAT_DATA_REQUEST = 0x0004;
export const CB_FORMAT_DATA_RESPONSE = 0x0005;
export const CB_TEMP_DIRECTORY = 0x0006;
export const CB_CLIP_CAPS = 0x0007;
export const CB_FILECONTENTS_REQUEST = 0x0008;
export const CB_FILECONTENTS_RESPONSE = 0x0009;
export const CB_LOCK_CLIPDATA = 0x000a;
export const CB_UNLOCK_CLIPDATA = 0x000b;

/** CLIPRDR_HEADER::msgFlags. */
export const CB_RESPONSE_OK = 0x0001;
export const CB_RESPONSE_FAIL = 0x0002;
export const CB_ASCII_NAMES = 0x0004;

/** Capability sets (2.2.2.1.1). */
export const CB_CAPSTYPE_GENERAL = 1;
export const CB_CAPS_VERSION_1 = 1;
export const CB_CAPS_VERSION_2 = 2;
/** generalFlags (2.2.2.1.1.1). */
export const CB_USE_LONG_FORMAT_NAMES = 0x02;
export const CB_STREAM_FILECLIP_ENABLED = 0x04;
export const CB_FILECLIP_NO_FILE_PATHS = 0x08;
export const CB_CAN_LOCK_CLIPDATA = 0x10;

/** Standard clipboard format ids (Windows' WinUser.h) that carry text. */
export const CF_TEXT = 1;
export const CF_OEMTEXT = 7;
export const CF_UNICODETEXT = 13;

const HEADER_LENGTH = 8;
const GENERAL_CAPS_LENGTH = 12;
const SHORT_FORMAT_NAME_LENGTH = 32;
/** A format list naming more formats than this is refused (Windows offers a few dozen at most). */
export const MAX_FORMATS = 4096;

export interface ClipboardFormat {
  id: number;
  /** Empty for standard formats, which have no name. */
  name: string;
}

export type ClientClipPdu =
  | { kind: 'capabilities'; version: number; generalFlags: number }
  | { kind: 'formatList'; formats: ClipboardFormat[] }
  | { kind: 'formatListResponse'; ok: boolean }
  | { kind: 'formatDataRequest'; formatId: number }
  | { kind: 'formatDataResponse'; ok: boolean; data: Buffer }
  | { kind: 'temporaryDirectory' }
  | { kind: 'fileContentsRequest'; streamId: number }
  | { kind: 'fileContentsResponse' }
  | { kind: 'lock'; clipDataId: number }
  | { kind: 'unlock'; clipDataId: number };

export interface DecodeOptions {
  /** Both sides announced CB_USE_LONG_FORMAT_NAMES: format lists carry long names. */
  longFormatNames: boolean;
}

function header(msgType: number, msgFlags: number, dataLen: number, extra = 0): WriteCursor {
  return new WriteCursor(HEADER_LENGTH + dataLen + extra).u16le(msgType).u16le(msgFlags).u32le(dataLen);
}

/** Clipboard Capabilities PDU with one General Capability Set (2.2.2.1). */
export function encodeClipCapabilities(generalFlags: number, version = CB_CAPS_VERSION_2): Buffer {
  return header(CB_CLIP_CAPS, 0, 4 + GENERAL_CAPS_LENGTH)
    .u16le(1) // cCapabilitiesSets
    .u16le(0) // pad1
    .u16le(CB_CAPSTYPE_GENERAL)
    .u16le(GENERAL_CAPS_LENGTH)
    .u32le(version)
    .u32le(generalFlags)
    .toBuffer();
}

/** Server Monitor Ready PDU (2.2.2.2). */
export function encodeMonitorReady(): Buffer {
  return header(CB_MONITOR_READY, 0, 0).toBuffer();
}

/** Format List PDU (2.2.3.1): long names (2.2.3.1.2) or short Unicode names (2.2.3.1.1). */
export function encodeFormatList(formats: readonly ClipboardFormat[], longFormatNames: boolean): Buffer {
  const body = new WriteCursor(64);
  for (const format of formats) {
    body.u32le(format.id);
    if (longFormatNames) {
      body.bytes(Buffer.from(`${format.name}\0`, 'utf16le'));
    } else {
      // 32 bytes: the name in UTF-16LE, truncated to 15 characters and NUL-padded.
      const name = Buffer.from(format.name, 'utf16le').subarray(0, SHORT_FORMAT_NAME_LENGTH - 2);
      body.bytes(name).zeros(SHORT_FORMAT_NAME_LENGTH - name.length);
    }
  }
  const data = body.toBuffer();
  return header(CB_FORMAT_LIST, 0, data.length).bytes(data).toBuffer();
}

/** Format List Response PDU (2.2.3.2). */
export function encodeFormatListResponse(ok: boolean): Buffer {
  return header(CB_FORMAT_LIST_RESPONSE, ok ? CB_RESPONSE_OK : CB_RESPONSE_FAIL, 0).toBuffer();
}

/** Format Data Request PDU (2.2.5.1). */
export function encodeFormatDataRequest(formatId: number): Buffer {
  return header(CB_FORMAT_DATA_REQUEST, 0, 4).u32le(formatId).toBuffer();
}

/** Format Data Response PDU (2.2.5.2): the data, or a failure with no data. */
export function encodeFormatDataResponse(data: Buffer | undefined): Buffer {
  if (!data) return header(CB_FORMAT_DATA_RESPONSE, CB_RESPONSE_FAIL, 0).toBuffer();
  return header(CB_FORMAT_DATA_RESPONSE, CB_RESPONSE_OK, data.length).bytes(data).toBuffer();
}

/** File Contents Response PDU (2.2.5.4) saying no: this server never offers files. */
export function encodeFileContentsFailure(streamId: number): Buffer {
  return header(CB_FILECONTENTS_RESPONSE, CB_RESPONSE_FAIL, 4).u32le(streamId).toBuffer();
}

/** Decodes one whole cliprdr message from the client. Throws RdpProtocolError when malformed. */
export function decodeClientClipPdu(message: Buffer, options: DecodeOptions): ClientClipPdu {
  const c = new ReadCursor(message, 'cliprdr PDU');
  const msgType = c.u16le();
  const msgFlags = c.u16le();
  const dataLen = c.u32le();
  if (dataLen > c.remaining) {
    throw new RdpProtocolError('RDP_ERR_TRUNCATED', `cliprdr PDU type ${msgType}: dataLen ${dataLen}, but ${c.remaining} bytes follow the header`);
  }
  // Bytes after dataLen (some clients pad) are ignored.
  const body = c.sub(dataLen, `cliprdr PDU type ${msgType}`);
  switch (msgType) {
    case CB_CLIP_CAPS:
      return decodeCapabilities(body);
    case CB_FORMAT_LIST:
      return { kind: 'formatList', formats: options.longFormatNames ? decodeLongFormatNames(body) : decodeShortFormatNames(body, msgFlags) };
    case CB_FORMAT_LIST_RESPONSE:
      return { kind: 'formatListResponse', ok: responseOk(msgType, msgFlags) };
    case CB_FORMAT_DATA_REQUEST:
      return { kind: 'formatDataRequest', formatId: body.u32le() };
    case CB_FORMAT_DATA_RESPONSE: {
      const ok = responseOk(msgType, msgFlags);
      return { kind: 'formatDataResponse', ok, data: ok ? body.bytes(body.remaining) : Buffer.alloc(0) };
    }
    case CB_TEMP_DIRECTORY:
      return { kind: 'temporaryDirectory' };
    case CB_FILECONTENTS_REQUEST:
      return { kind: 'fileContentsRequest', streamId: body.u32le() };
    case CB_FILECONTENTS_RESPONSE:
      return { kind: 'fileContentsResponse' };
    case CB_LOCK_CLIPDATA:
      return { kind: 'lock', clipDataId: body.u32le() };
    case CB_UNLOCK_CLIPDATA:
      return { kind: 'unlock', clipDataId: body.u32le() };
    default:
      throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `cliprdr: message type ${msgType} from a client`);
  }
}

function responseOk(msgType: number, msgFlags: number): boolean {
  const ok = (msgFlags & CB_RESPONSE_OK) !== 0;
  const fail = (msgFlags & CB_RESPONSE_FAIL) !== 0;
  if (ok === fail) throw new RdpProtocolError('RDP_ERR_BAD_VALUE', `cliprdr PDU type ${msgType}: msgFlags 0x${msgFlags.toString(16)} is neither OK nor FAIL`);
  return ok;
}

/** CLIPRDR_CAPS (2.2.2.1): the General Capability Set; other sets are skipped. */
function decodeCapabilities(c: ReadCursor): ClientClipPdu {
  const count = c.u16le();
  c.skip(2); // pad1
  let general: { version: number; generalFlags: number } | undefined;
  for (let i = 0; i < count; i++) {
    const type = c.u16le();
    const length = c.u16le();
    if (length < 4) throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `cliprdr capability set ${type}: lengthCapability ${length}`);
    const set = c.sub(length - 4, `cliprdr capability set ${type}`);
    if (type !== CB_CAPSTYPE_GENERAL) continue;
    if (length < GENERAL_CAPS_LENGTH) throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `cliprdr general capability set of ${length} bytes`);
    general = { version: set.u32le(), generalFlags: set.u32le() };
  }
  // Without a general set the defaults apply (version 1, no flags).
  return { kind: 'capabilities', version: general?.version ?? CB_CAPS_VERSION_1, generalFlags: general?.generalFlags ?? 0 };
}

/** CLIPRDR_LONG_FORMAT_NAMES (2.2.3.1.2): id and NUL-terminated UTF-16LE name, repeated. */
function decodeLongFormatNames(c: ReadCursor): ClipboardFormat[] {
  const formats: ClipboardFormat[] = [];
  while (c.remaining > 0) {
    if (formats.length === MAX_FORMATS) throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `cliprdr format list of more than ${MAX_FORMATS} formats`);
    const id = c.u32le();
    const start = c.pos;
    let end = start;
    for (;;) {
      c.need(end + 2 - c.pos);
      if (c.buf.readUInt16LE(end) === 0) break;
      end += 2;
    }
    const name = c.buf.toString('utf16le', start, end);
    c.skip(end + 2 - start);
    formats.push({ id, name });
  }
  return formats;
}

/** CLIPRDR_SHORT_FORMAT_NAMES (2.2.3.1.1): id and a 32-byte name, ASCII or UTF-16LE. */
function decodeShortFormatNames(c: ReadCursor, msgFlags: number): ClipboardFormat[] {
  const entry = 4 + SHORT_FORMAT_NAME_LENGTH;
  if (c.remaining % entry !== 0) {
    throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `cliprdr short format list of ${c.remaining} bytes, not a multiple of ${entry}`);
  }
  if (c.remaining / entry > MAX_FORMATS) throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `cliprdr format list of more than ${MAX_FORMATS} formats`);
  const ascii = (msgFlags & CB_ASCII_NAMES) !== 0;
  const formats: ClipboardFormat[] = [];
  while (c.remaining > 0) {
    const id = c.u32le();
    const raw = c.bytes(SHORT_FORMAT_NAME_LENGTH);
    formats.push({ id, name: ascii ? raw.toString('latin1').replace(/\0[^]*$/, '') : utf16UpToNul(raw) });
  }
  return formats;
}

function utf16UpToNul(raw: Buffer): string {
  for (let i = 0; i + 1 < raw.length; i += 2) {
    if (raw.readUInt16LE(i) === 0) return raw.toString('utf16le', 0, i);
  }
  return raw.toString('utf16le', 0, raw.length & ~1);
}

// ---- Text in clipboard formats -------------------------------------------------------------

/**
 * Text as CF_UNICODETEXT: UTF-16LE, NUL-terminated, lines ending in CR LF as Windows
 * applications expect (a lone LF becomes CR LF; an existing CR LF stays one).
 */
export function encodeUnicodeText(text: string): Buffer {
  return Buffer.from(`${text.replace(/\r?\n/g, '\r\n')}\0`, 'utf16le');
}

/**
 * The text of CF_UNICODETEXT (UTF-16LE), CF_TEXT or CF_OEMTEXT (8-bit; read as Latin-1) data,
 * up to its first NUL, with CR LF line ends turned into LF.
 */
export function decodeClipboardText(formatId: number, data: Buffer): string {
  let text: string;
  if (formatId === CF_UNICODETEXT) {
    text = utf16UpToNul(data);
  } else {
    const nul = data.indexOf(0);
    text = data.toString('latin1', 0, nul < 0 ? data.length : nul);
  }
  return text.replace(/\r\n/g, '\n');
}
