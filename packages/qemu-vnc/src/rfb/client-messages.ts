// A pure, incremental parser of what an RFB client sends: the handshake pieces and the
// client-to-server messages of the normal protocol phase (RFC 6143 §7.1, §7.3, §7.5 and
// the extensions registered in rfbproto). It reads from a flat Buffer and either returns a
// whole message with its size, or says how many bytes it needs — it never buffers, never
// touches a socket, and checks every client-controlled length before waiting for it.
import { inflateSync, constants as zlibConstants } from 'node:zlib';
import { parsePixelFormat, validatePixelFormat, type PixelFormat } from '@vdi-sidecar/display-core';
import {
  CLIPBOARD_ACTION_MASK,
  CLIPBOARD_FORMAT_MASK,
  ClientMessageType,
  ClipboardAction,
  MAX_FENCE_PAYLOAD,
  QemuAudioClientOp,
  QemuSubmessage,
} from './constants.js';
import { RfbProtocolError } from './errors.js';

// ---------------------------------------------------------------------------------------
// Handshake (RFC 6143 §7.1, §7.3.1)

export type RfbVersion = '3.3' | '3.7' | '3.8';

export interface ProtocolVersion {
  /** As the client wrote it. */
  major: number;
  minor: number;
  /** The version both sides go on with. */
  version: RfbVersion;
}

export const PROTOCOL_VERSION_LENGTH = 12;

const VERSION_PATTERN = /^RFB (\d{3})\.(\d{3})\n$/;

/**
 * Reads the client's 12-byte ProtocolVersion, "RFB xxx.yyy\n" (RFC 6143 §7.1.1). Only 3.3,
 * 3.7 and 3.8 are published; §7.1.1 says other numbers (3.5 above all) come from
 * implementations without the 3.7/3.8 handshake and mean 3.3. Apple's clients send 3.889
 * and speak 3.8, as TigerVNC's server assumes too.
 */
export function parseProtocolVersion(buf: Buffer): ProtocolVersion {
  if (buf.length !== PROTOCOL_VERSION_LENGTH) {
    throw new RfbProtocolError('RFB_ERR_BAD_VERSION', `ProtocolVersion is 12 bytes, got ${buf.length}`);
  }
  const match = VERSION_PATTERN.exec(buf.toString('latin1'));
  if (!match) {
    throw new RfbProtocolError('RFB_ERR_BAD_VERSION', `malformed ProtocolVersion ${JSON.stringify(buf.toString('latin1'))}`);
  }
  const major = Number(match[1]);
  const minor = Number(match[2]);
  if (major !== 3) {
    throw new RfbProtocolError('RFB_ERR_BAD_VERSION', `unsupported RFB major version ${major}`);
  }
  let version: RfbVersion = '3.3';
  if (minor === 7) version = '3.7';
  else if (minor === 8 || minor === 889) version = '3.8';
  return { major, minor, version };
}

/** ClientInit (RFC 6143 §7.3.1): one byte, non-zero to share the desktop with other clients. */
export function parseClientInit(buf: Buffer, offset = 0): { shared: boolean; size: number } | { needBytes: number } {
  if (buf.length - offset < 1) return { needBytes: 1 };
  return { shared: buf[offset] !== 0, size: 1 };
}

/**
 * VeNCrypt Plain credentials (rfbproto "VeNCrypt", Plain subtype): U32 username-length,
 * U32 password-length, then both strings (taken as UTF-8). Each length is capped.
 */
export function parseVeNCryptPlain(
  buf: Buffer,
  offset = 0,
  maxLength = 1024,
): { username: string; password: string; size: number } | { needBytes: number } {
  const available = buf.length - offset;
  if (available < 8) return { needBytes: 8 };
  const userLength = buf.readUInt32BE(offset); // username-length
  const passLength = buf.readUInt32BE(offset + 4); // password-length
  if (userLength > maxLength || passLength > maxLength) {
    throw new RfbProtocolError('RFB_ERR_TOO_LONG', `VeNCrypt Plain credentials over ${maxLength} bytes`);
  }
  const size = 8 + userLength + passLength;
  if (available < size) return { needBytes: size };
  const start = offset + 8;
  return {
    username: buf.toString('utf8', start, start + userLength),
    password: buf.toString('utf8', start + userLength, start + userLength + passLength),
    size,
  };
}

// ---------------------------------------------------------------------------------------
// Client-to-server messages (RFC 6143 §7.5; rfbproto "Client to Server Messages")

export interface Screen {
  id: number;
  x: number;
  y: number;
  width: number;
  height: number;
  flags: number;
}

export type ClientMessage =
  | { type: 'SetPixelFormat'; pixelFormat: PixelFormat }
  | { type: 'SetEncodings'; encodings: number[] }
  | { type: 'FramebufferUpdateRequest'; incremental: boolean; x: number; y: number; width: number; height: number }
  | { type: 'KeyEvent'; down: boolean; keysym: number }
  | {
      type: 'PointerEvent';
      /**
       * Bit n is button n+1 pressed. Bits 0–6 are the button-mask's; bit 7 is Back, bit 8
       * Forward — for a plain message bit 7 is the button-mask's own, for an extended one
       * (rfbproto "ExtendedMouseButtons") bits 7 and up are the extended-buttons-mask.
       */
      buttons: number;
      x: number;
      y: number;
    }
  | { type: 'ClientCutText'; text: string }
  | { type: 'ExtendedClipboardCaps'; formats: number; actions: number; maxSizes: Map<number, number> }
  | { type: 'ExtendedClipboardRequest'; formats: number }
  | { type: 'ExtendedClipboardPeek' }
  | { type: 'ExtendedClipboardNotify'; formats: number }
  /** `compressed` is the zlib stream; see decodeExtendedClipboardProvide. */
  | { type: 'ExtendedClipboardProvide'; formats: number; compressed: Buffer }
  | { type: 'EnableContinuousUpdates'; enable: boolean; x: number; y: number; width: number; height: number }
  | { type: 'ClientFence'; flags: number; payload: Buffer }
  | { type: 'SetDesktopSize'; width: number; height: number; screens: Screen[] }
  | { type: 'QemuExtendedKeyEvent'; down: boolean; keysym: number; keycode: number }
  | { type: 'QemuAudioEnable' }
  | { type: 'QemuAudioDisable' }
  | { type: 'QemuAudioSetFormat'; sampleFormat: number; channels: number; frequency: number };

export type ClientMessageKind = ClientMessage['type'];

export interface ClientParserOptions {
  /** Largest ClientCutText text or Extended Clipboard message accepted, in bytes (default 1 MiB). */
  maxCutTextLength?: number;
  /** Largest SetEncodings list accepted (default 1024). */
  maxEncodings?: number;
  /** Most screens accepted in SetDesktopSize (default 16). */
  maxScreens?: number;
  /**
   * True once this server has confirmed ExtendedMouseButtons to the client: from then on a
   * PointerEvent with bit 7 of its button-mask set carries one more byte (rfbproto
   * "PointerEvent"). Before that, bit 7 is just button 8.
   */
  extendedMouseButtons?: boolean;
}

export const DEFAULT_MAX_CUT_TEXT_LENGTH = 1024 * 1024;
export const DEFAULT_MAX_ENCODINGS = 1024;
export const DEFAULT_MAX_SCREENS = 16;

export type ParseResult = { message: ClientMessage; size: number } | { needBytes: number };

/** Bytes of every fixed-size message (RFC 6143 §7.5.1–§7.5.5; rfbproto). */
const SET_PIXEL_FORMAT_SIZE = 20;
const SET_ENCODINGS_HEADER = 4;
const FRAMEBUFFER_UPDATE_REQUEST_SIZE = 10;
const KEY_EVENT_SIZE = 8;
const POINTER_EVENT_SIZE = 6;
const CUT_TEXT_HEADER = 8;
const ENABLE_CONTINUOUS_UPDATES_SIZE = 10;
const FENCE_HEADER = 9;
const SET_DESKTOP_SIZE_HEADER = 8;
const SCREEN_SIZE = 16;
const QEMU_EXTENDED_KEY_EVENT_SIZE = 12;
const QEMU_AUDIO_HEADER = 4;
const QEMU_AUDIO_SET_FORMAT_SIZE = 10;

/**
 * Parses one client message starting at `offset`. Returns the message and its size in
 * bytes, or `needBytes`: how many bytes from `offset` must be available before calling again
 * can make progress (a lower bound while a length field is still unread). Throws
 * RfbProtocolError for unknown types and for lengths over the limits in `opts`.
 */
export function parseClientMessage(buf: Buffer, offset: number, opts: ClientParserOptions = {}): ParseResult {
  const available = buf.length - offset;
  if (available < 1) return { needBytes: 1 };
  const type = buf[offset];
  switch (type) {
    case ClientMessageType.SetPixelFormat:
      return parseSetPixelFormat(buf, offset, available);
    case ClientMessageType.SetEncodings:
      return parseSetEncodings(buf, offset, available, opts.maxEncodings ?? DEFAULT_MAX_ENCODINGS);
    case ClientMessageType.FramebufferUpdateRequest:
      if (available < FRAMEBUFFER_UPDATE_REQUEST_SIZE) return { needBytes: FRAMEBUFFER_UPDATE_REQUEST_SIZE };
      return {
        message: {
          type: 'FramebufferUpdateRequest',
          incremental: buf[offset + 1] !== 0, // U8 incremental
          x: buf.readUInt16BE(offset + 2), // U16 x-position
          y: buf.readUInt16BE(offset + 4), // U16 y-position
          width: buf.readUInt16BE(offset + 6), // U16 width
          height: buf.readUInt16BE(offset + 8), // U16 height
        },
        size: FRAMEBUFFER_UPDATE_REQUEST_SIZE,
      };
    case ClientMessageType.KeyEvent:
      if (available < KEY_EVENT_SIZE) return { needBytes: KEY_EVENT_SIZE };
      return {
        message: {
          type: 'KeyEvent',
          down: buf[offset + 1] !== 0, // U8 down-flag, 2 bytes padding
          keysym: buf.readUInt32BE(offset + 4), // U32 key
        },
        size: KEY_EVENT_SIZE,
      };
    case ClientMessageType.PointerEvent:
      return parsePointerEvent(buf, offset, available, opts.extendedMouseButtons ?? false);
    case ClientMessageType.ClientCutText:
      return parseClientCutText(buf, offset, available, opts.maxCutTextLength ?? DEFAULT_MAX_CUT_TEXT_LENGTH);
    case ClientMessageType.EnableContinuousUpdates:
      if (available < ENABLE_CONTINUOUS_UPDATES_SIZE) return { needBytes: ENABLE_CONTINUOUS_UPDATES_SIZE };
      return {
        message: {
          type: 'EnableContinuousUpdates',
          enable: buf[offset + 1] !== 0, // U8 enable-flag
          x: buf.readUInt16BE(offset + 2),
          y: buf.readUInt16BE(offset + 4),
          width: buf.readUInt16BE(offset + 6),
          height: buf.readUInt16BE(offset + 8),
        },
        size: ENABLE_CONTINUOUS_UPDATES_SIZE,
      };
    case ClientMessageType.ClientFence:
      return parseClientFence(buf, offset, available);
    case ClientMessageType.SetDesktopSize:
      return parseSetDesktopSize(buf, offset, available, opts.maxScreens ?? DEFAULT_MAX_SCREENS);
    case ClientMessageType.Qemu:
      return parseQemuMessage(buf, offset, available);
    default:
      throw new RfbProtocolError('RFB_ERR_UNKNOWN_MESSAGE', `unknown client message type ${type}`);
  }
}

function parseSetPixelFormat(buf: Buffer, offset: number, available: number): ParseResult {
  if (available < SET_PIXEL_FORMAT_SIZE) return { needBytes: SET_PIXEL_FORMAT_SIZE };
  // U8 message-type, 3 bytes padding, 16 bytes PIXEL_FORMAT (RFC 6143 §7.5.1)
  const pixelFormat = parsePixelFormat(buf, offset + 4);
  const problem = validatePixelFormat(pixelFormat);
  if (problem !== undefined) {
    throw new RfbProtocolError('RFB_ERR_BAD_PIXEL_FORMAT', `SetPixelFormat: ${problem}`);
  }
  return { message: { type: 'SetPixelFormat', pixelFormat }, size: SET_PIXEL_FORMAT_SIZE };
}

function parseSetEncodings(buf: Buffer, offset: number, available: number, max: number): ParseResult {
  if (available < SET_ENCODINGS_HEADER) return { needBytes: SET_ENCODINGS_HEADER };
  // U8 message-type, 1 byte padding, U16 number-of-encodings (RFC 6143 §7.5.2)
  const count = buf.readUInt16BE(offset + 2);
  if (count > max) {
    throw new RfbProtocolError('RFB_ERR_TOO_MANY_ENCODINGS', `SetEncodings lists ${count} encodings, limit ${max}`);
  }
  const size = SET_ENCODINGS_HEADER + 4 * count;
  if (available < size) return { needBytes: size };
  const encodings: number[] = [];
  for (let i = 0; i < count; i++) encodings.push(buf.readInt32BE(offset + SET_ENCODINGS_HEADER + 4 * i)); // S32 encoding-type
  return { message: { type: 'SetEncodings', encodings }, size };
}

function parsePointerEvent(buf: Buffer, offset: number, available: number, extended: boolean): ParseResult {
  if (available < 2) return { needBytes: POINTER_EVENT_SIZE };
  const mask = buf[offset + 1]; // U8 button-mask
  // rfbproto "PointerEvent": once ExtendedMouseButtons is agreed, bit 7 marks one more byte.
  const isExtended = extended && (mask & 0x80) !== 0;
  const size = isExtended ? POINTER_EVENT_SIZE + 1 : POINTER_EVENT_SIZE;
  if (available < size) return { needBytes: size };
  const buttons = isExtended ? (mask & 0x7f) | (buf[offset + 6] << 7) : mask; // U8 extended-buttons-mask
  return {
    message: {
      type: 'PointerEvent',
      buttons,
      x: buf.readUInt16BE(offset + 2), // U16 x-position
      y: buf.readUInt16BE(offset + 4), // U16 y-position
    },
    size,
  };
}

function parseClientCutText(buf: Buffer, offset: number, available: number, max: number): ParseResult {
  if (available < CUT_TEXT_HEADER) return { needBytes: CUT_TEXT_HEADER };
  // U8 message-type, 3 bytes padding, then the length: U32 in RFC 6143 §7.5.6, S32 in
  // rfbproto "Extended Clipboard Pseudo-Encoding" where a negative value flags the extended
  // format. No sane plain text reaches 2 GiB, so reading it signed is safe for both.
  const length = buf.readInt32BE(offset + 4);
  const bodyLength = Math.abs(length);
  if (bodyLength > max) {
    throw new RfbProtocolError('RFB_ERR_TOO_LONG', `ClientCutText of ${bodyLength} bytes, limit ${max}`);
  }
  const size = CUT_TEXT_HEADER + bodyLength;
  if (available < size) return { needBytes: size };
  const body = buf.subarray(offset + CUT_TEXT_HEADER, offset + size);
  if (length >= 0) {
    return { message: { type: 'ClientCutText', text: body.toString('latin1') }, size };
  }
  return { message: parseExtendedClipboard(body), size };
}

function popcount16(bits: number): number {
  let count = 0;
  for (let b = bits & 0xffff; b !== 0; b &= b - 1) count++;
  return count;
}

/** The body of an extended ClientCutText (rfbproto "Extended Clipboard Pseudo-Encoding"). */
function parseExtendedClipboard(body: Buffer): ClientMessage {
  if (body.length < 4) {
    throw new RfbProtocolError('RFB_ERR_BAD_CLIPBOARD', `extended clipboard message of ${body.length} bytes has no flags`);
  }
  const flags = body.readUInt32BE(0); // U32 flags
  const formats = flags & CLIPBOARD_FORMAT_MASK;
  const actions = (flags & CLIPBOARD_ACTION_MASK) >>> 0;
  if (actions & ClipboardAction.Caps) {
    // One U32 maximum size per format bit set, in bit order.
    const count = popcount16(formats);
    if (body.length < 4 + 4 * count) {
      throw new RfbProtocolError('RFB_ERR_BAD_CLIPBOARD', `clipboard caps name ${count} formats but carry fewer sizes`);
    }
    const maxSizes = new Map<number, number>();
    let at = 4;
    for (let bit = 0; bit < 16; bit++) {
      const format = 1 << bit;
      if (formats & format) {
        maxSizes.set(format, body.readUInt32BE(at));
        at += 4;
      }
    }
    return { type: 'ExtendedClipboardCaps', formats, actions, maxSizes };
  }
  // Without caps exactly one action may be set.
  switch (actions) {
    case ClipboardAction.Request:
      return { type: 'ExtendedClipboardRequest', formats };
    case ClipboardAction.Peek:
      return { type: 'ExtendedClipboardPeek' };
    case ClipboardAction.Notify:
      return { type: 'ExtendedClipboardNotify', formats };
    case ClipboardAction.Provide:
      return { type: 'ExtendedClipboardProvide', formats, compressed: body.subarray(4) };
    default:
      throw new RfbProtocolError(
        'RFB_ERR_BAD_CLIPBOARD',
        `extended clipboard flags 0x${flags.toString(16)} name no single known action`,
      );
  }
}

function parseClientFence(buf: Buffer, offset: number, available: number): ParseResult {
  if (available < FENCE_HEADER) return { needBytes: FENCE_HEADER };
  // U8 message-type, 3 bytes padding, U32 flags, U8 length (rfbproto "ClientFence")
  const length = buf[offset + 8];
  if (length > MAX_FENCE_PAYLOAD) {
    throw new RfbProtocolError('RFB_ERR_BAD_FENCE', `fence payload of ${length} bytes, limit ${MAX_FENCE_PAYLOAD}`);
  }
  const size = FENCE_HEADER + length;
  if (available < size) return { needBytes: size };
  return {
    message: {
      type: 'ClientFence',
      flags: buf.readUInt32BE(offset + 4),
      payload: Buffer.from(buf.subarray(offset + FENCE_HEADER, offset + size)),
    },
    size,
  };
}

function parseSetDesktopSize(buf: Buffer, offset: number, available: number, maxScreens: number): ParseResult {
  if (available < SET_DESKTOP_SIZE_HEADER) return { needBytes: SET_DESKTOP_SIZE_HEADER };
  // U8 message-type, 1 padding, U16 width, U16 height, U8 number-of-screens, 1 padding
  // (rfbproto "SetDesktopSize")
  const count = buf[offset + 6];
  if (count > maxScreens) {
    throw new RfbProtocolError('RFB_ERR_TOO_MANY_SCREENS', `SetDesktopSize with ${count} screens, limit ${maxScreens}`);
  }
  const size = SET_DESKTOP_SIZE_HEADER + SCREEN_SIZE * count;
  if (available < size) return { needBytes: size };
  const screens: Screen[] = [];
  for (let i = 0; i < count; i++) {
    const at = offset + SET_DESKTOP_SIZE_HEADER + SCREEN_SIZE * i;
    screens.push({
      id: buf.readUInt32BE(at), // U32 id
      x: buf.readUInt16BE(at + 4), // U16 x-position
      y: buf.readUInt16BE(at + 6), // U16 y-position
      width: buf.readUInt16BE(at + 8), // U16 width
      height: buf.readUInt16BE(at + 10), // U16 height
      flags: buf.readUInt32BE(at + 12), // U32 flags
    });
  }
  return {
    message: { type: 'SetDesktopSize', width: buf.readUInt16BE(offset + 2), height: buf.readUInt16BE(offset + 4), screens },
    size,
  };
}

function parseQemuMessage(buf: Buffer, offset: number, available: number): ParseResult {
  if (available < 2) return { needBytes: 2 };
  const submessage = buf[offset + 1]; // U8 submessage-type (rfbproto "QEMU Client Message")
  if (submessage === QemuSubmessage.ExtendedKeyEvent) {
    if (available < QEMU_EXTENDED_KEY_EVENT_SIZE) return { needBytes: QEMU_EXTENDED_KEY_EVENT_SIZE };
    return {
      message: {
        type: 'QemuExtendedKeyEvent',
        down: buf.readUInt16BE(offset + 2) !== 0, // U16 down-flag
        keysym: buf.readUInt32BE(offset + 4), // U32 keysym
        keycode: buf.readUInt32BE(offset + 8), // U32 keycode (XT, E0-prefixed keys as 0x80|code)
      },
      size: QEMU_EXTENDED_KEY_EVENT_SIZE,
    };
  }
  if (submessage !== QemuSubmessage.Audio) {
    throw new RfbProtocolError('RFB_ERR_UNKNOWN_MESSAGE', `unknown QEMU client submessage ${submessage}`);
  }
  if (available < QEMU_AUDIO_HEADER) return { needBytes: QEMU_AUDIO_HEADER };
  const operation = buf.readUInt16BE(offset + 2); // U16 operation (rfbproto "QEMU Audio Client Message")
  switch (operation) {
    case QemuAudioClientOp.Enable:
      return { message: { type: 'QemuAudioEnable' }, size: QEMU_AUDIO_HEADER };
    case QemuAudioClientOp.Disable:
      return { message: { type: 'QemuAudioDisable' }, size: QEMU_AUDIO_HEADER };
    case QemuAudioClientOp.SetFormat: {
      if (available < QEMU_AUDIO_SET_FORMAT_SIZE) return { needBytes: QEMU_AUDIO_SET_FORMAT_SIZE };
      const sampleFormat = buf[offset + 4]; // U8 sample-format, 0..5
      const channels = buf[offset + 5]; // U8 nchannels, 1 or 2
      if (sampleFormat > 5 || (channels !== 1 && channels !== 2)) {
        throw new RfbProtocolError(
          'RFB_ERR_BAD_AUDIO_FORMAT',
          `QEMU audio format ${sampleFormat} with ${channels} channels is not defined`,
        );
      }
      return {
        message: { type: 'QemuAudioSetFormat', sampleFormat, channels, frequency: buf.readUInt32BE(offset + 6) }, // U32 frequency
        size: QEMU_AUDIO_SET_FORMAT_SIZE,
      };
    }
    default:
      throw new RfbProtocolError('RFB_ERR_UNKNOWN_MESSAGE', `unknown QEMU audio operation ${operation}`);
  }
}

// ---------------------------------------------------------------------------------------
// Extended Clipboard payloads (rfbproto "Extended Clipboard Pseudo-Encoding", provide)

/**
 * Inflates a provide message's zlib stream into each format's data: for every format bit
 * set, in bit order, a U32 size and that many bytes. The stream may end with a sync flush
 * instead of a finished stream (noVNC sends it so), hence `finishFlush`. The output is capped
 * at `maxSize` bytes; a larger or truncated payload throws RfbProtocolError.
 */
export function decodeExtendedClipboardProvide(
  formats: number,
  compressed: Buffer,
  maxSize = DEFAULT_MAX_CUT_TEXT_LENGTH,
): Map<number, Buffer> {
  let raw: Buffer;
  try {
    raw = inflateSync(compressed, { finishFlush: zlibConstants.Z_SYNC_FLUSH, maxOutputLength: maxSize });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new RfbProtocolError('RFB_ERR_TOO_LONG', `clipboard data inflates beyond ${maxSize} bytes`);
    }
    throw new RfbProtocolError('RFB_ERR_BAD_CLIPBOARD', `clipboard data does not inflate: ${(err as Error).message}`);
  }
  const result = new Map<number, Buffer>();
  let at = 0;
  for (let bit = 0; bit < 16; bit++) {
    const format = 1 << bit;
    if ((formats & format) === 0) continue;
    if (raw.length - at < 4) {
      throw new RfbProtocolError('RFB_ERR_BAD_CLIPBOARD', `clipboard data ends before the size of format 0x${format.toString(16)}`);
    }
    const size = raw.readUInt32BE(at); // U32 size
    at += 4;
    if (raw.length - at < size) {
      throw new RfbProtocolError('RFB_ERR_BAD_CLIPBOARD', `clipboard data ends inside format 0x${format.toString(16)}`);
    }
    result.set(format, raw.subarray(at, at + size)); // U8 array data
    at += size;
  }
  return result;
}

/**
 * The text of a provide message's text format: UTF-8, ended by a NUL, lines ended by CR LF
 * (rfbproto "Extended Clipboard Pseudo-Encoding", *text*). Returns it with LF line ends.
 */
export function decodeClipboardText(data: Buffer): string {
  const nul = data.indexOf(0);
  const text = data.toString('utf8', 0, nul === -1 ? data.length : nul);
  return text.replace(/\r\n/g, '\n');
}
