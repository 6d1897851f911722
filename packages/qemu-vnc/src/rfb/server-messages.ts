// Encoders of what an RFB server sends outside pixel data: the handshake (RFC 6143 §7.1,
// §7.3.2), the server-to-client messages (§7.6) and the pseudo-rectangles of extensions
// (§7.8; rfbproto). Each returns the exact bytes to write; none keeps state.
import { deflateSync } from 'node:zlib';
import { convertRect, encodePixelFormat, type Cursor, type PixelFormat } from '@vdi-sidecar/display-core';
import type { RfbVersion, Screen } from './client-messages.js';
import {
  ClipboardAction,
  ClipboardFormat,
  MAX_FENCE_PAYLOAD,
  PseudoEncoding,
  QemuAudioServerOp,
  QemuSubmessage,
  SecurityResultStatus,
  ServerMessageType,
} from './constants.js';

// ---------------------------------------------------------------------------------------
// Handshake

/** ProtocolVersion (RFC 6143 §7.1.1): "RFB 003.00x\n", 12 bytes. */
export function encodeProtocolVersion(version: RfbVersion): Buffer {
  const minor = version.split('.')[1];
  return Buffer.from(`RFB 003.00${minor}\n`, 'latin1');
}

/** Length-prefixed string (RFC 6143 §7.1.2 "reason-length", "reason-string"). */
function u32String(text: string, encoding: BufferEncoding = 'utf8'): Buffer {
  const bytes = Buffer.from(text, encoding);
  const out = Buffer.alloc(4 + bytes.length);
  out.writeUInt32BE(bytes.length, 0); // U32 length
  bytes.copy(out, 4); // U8 array string
  return out;
}

/** The security types offered, 3.7 onwards (RFC 6143 §7.1.2): U8 count, U8 array. */
export function encodeSecurityTypes(types: readonly number[]): Buffer {
  if (types.length === 0 || types.length > 255) throw new RangeError(`cannot offer ${types.length} security types`);
  return Buffer.from([types.length, ...types]);
}

/** Version 3.3 (RFC 6143 §7.1.2): the server alone decides, one U32 security type. */
export function encodeSecurityTypeV33(type: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(type, 0);
  return out;
}

/**
 * Refuses the connection during security negotiation (RFC 6143 §7.1.2): zero types (a U8 in
 * 3.7+, a U32 in 3.3) followed by the reason string. The server then closes.
 */
export function encodeSecurityFailure(version: RfbVersion, reason: string): Buffer {
  const zero = version === '3.3' ? Buffer.alloc(4) : Buffer.alloc(1);
  return Buffer.concat([zero, u32String(reason)]);
}

/**
 * SecurityResult (RFC 6143 §7.1.3): U32 status. A 3.8 failure carries a reason string;
 * 3.3 and 3.7 clients just see the connection close.
 */
export function encodeSecurityResult(version: RfbVersion, ok: boolean, reason = 'Authentication failed'): Buffer {
  const status = Buffer.alloc(4);
  status.writeUInt32BE(ok ? SecurityResultStatus.Ok : SecurityResultStatus.Failed, 0);
  if (ok || version !== '3.8') return status;
  return Buffer.concat([status, u32String(reason)]);
}

/** VeNCrypt (rfbproto "VeNCrypt"): the server's highest version, 0.2. */
export function encodeVeNCryptVersion(): Buffer {
  return Buffer.from([0, 2]); // U8 major, U8 minor
}

/** VeNCrypt: U8 ack (0 = version accepted) then U8 count and the U32 subtypes. */
export function encodeVeNCryptSubtypes(subtypes: readonly number[]): Buffer {
  if (subtypes.length > 255) throw new RangeError(`cannot offer ${subtypes.length} VeNCrypt subtypes`);
  const out = Buffer.alloc(2 + 4 * subtypes.length);
  out[0] = 0; // U8 ack: version accepted
  out[1] = subtypes.length; // U8 subtypes length
  subtypes.forEach((subtype, i) => out.writeUInt32BE(subtype, 2 + 4 * i)); // U32 array subtypes
  return out;
}

/** VeNCrypt: refuse the client's version (non-zero ack), after which the server closes. */
export function encodeVeNCryptVersionRefused(): Buffer {
  return Buffer.from([1]);
}

/** VeNCrypt TLS and X509 subtypes: U8 1 means "go on with the TLS handshake". */
export function encodeVeNCryptSubtypeAccepted(): Buffer {
  return Buffer.from([1]);
}

/**
 * ServerInit (RFC 6143 §7.3.2): U16 width, U16 height, PIXEL_FORMAT, U32 name-length, name
 * (UTF-8, as rfbproto "String Encodings" recommends).
 */
export function encodeServerInit(width: number, height: number, pf: PixelFormat, name: string): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt16BE(width, 0); // U16 framebuffer-width
  head.writeUInt16BE(height, 2); // U16 framebuffer-height
  return Buffer.concat([head, encodePixelFormat(pf), u32String(name)]);
}

// ---------------------------------------------------------------------------------------
// FramebufferUpdate (RFC 6143 §7.6.1)

/** Number of rectangles that, with LastRect, means "until a LastRect rectangle" (rfbproto). */
export const UNKNOWN_RECT_COUNT = 0xffff;

export const RECT_HEADER_LENGTH = 12;

/** U8 message-type 0, 1 byte padding, U16 number-of-rectangles. */
export function encodeFramebufferUpdateHeader(rectCount: number): Buffer {
  if (!Number.isInteger(rectCount) || rectCount < 0 || rectCount > 0xffff) {
    throw new RangeError(`a FramebufferUpdate cannot hold ${rectCount} rectangles`);
  }
  const out = Buffer.alloc(4);
  out[0] = ServerMessageType.FramebufferUpdate;
  out.writeUInt16BE(rectCount, 2);
  return out;
}

/** A rectangle header: U16 x, U16 y, U16 width, U16 height, S32 encoding-type. */
export function encodeRectHeader(x: number, y: number, width: number, height: number, encoding: number): Buffer {
  const out = Buffer.alloc(RECT_HEADER_LENGTH);
  writeRectHeader(out, 0, x, y, width, height, encoding);
  return out;
}

/** Writes a rectangle header into `out` at `offset`; returns the offset after it. */
export function writeRectHeader(
  out: Buffer,
  offset: number,
  x: number,
  y: number,
  width: number,
  height: number,
  encoding: number,
): number {
  out.writeUInt16BE(x, offset); // U16 x-position
  out.writeUInt16BE(y, offset + 2); // U16 y-position
  out.writeUInt16BE(width, offset + 4); // U16 width
  out.writeUInt16BE(height, offset + 6); // U16 height
  out.writeInt32BE(encoding, offset + 8); // S32 encoding-type
  return offset + RECT_HEADER_LENGTH;
}

/** LastRect (rfbproto "LastRect Pseudo-encoding"): ends an update of UNKNOWN_RECT_COUNT rectangles. */
export function encodeLastRect(): Buffer {
  return encodeRectHeader(0, 0, 0, 0, PseudoEncoding.LastRect);
}

/** DesktopSize (RFC 6143 §7.8.2): the new size in the header, no data. */
export function encodeDesktopSizeRect(width: number, height: number): Buffer {
  return encodeRectHeader(0, 0, width, height, PseudoEncoding.DesktopSize);
}

export interface ExtendedDesktopSize {
  /** DesktopSizeReason: x-position of the pseudo-rectangle. */
  reason: number;
  /** DesktopSizeStatus: y-position of the pseudo-rectangle. */
  status: number;
  width: number;
  height: number;
  screens: readonly Screen[];
}

/**
 * ExtendedDesktopSize (rfbproto "ExtendedDesktopSize Pseudo-encoding"): header with reason
 * and status, then U8 number-of-screens, 3 bytes padding and 16 bytes per SCREEN.
 */
export function encodeExtendedDesktopSizeRect(info: ExtendedDesktopSize): Buffer {
  const { screens } = info;
  if (screens.length > 255) throw new RangeError(`cannot describe ${screens.length} screens`);
  const out = Buffer.alloc(RECT_HEADER_LENGTH + 4 + 16 * screens.length);
  let at = writeRectHeader(out, 0, info.reason, info.status, info.width, info.height, PseudoEncoding.ExtendedDesktopSize);
  out[at] = screens.length; // U8 number-of-screens, 3 bytes padding
  at += 4;
  for (const screen of screens) {
    out.writeUInt32BE(screen.id >>> 0, at); // U32 id
    out.writeUInt16BE(screen.x, at + 4); // U16 x-position
    out.writeUInt16BE(screen.y, at + 6); // U16 y-position
    out.writeUInt16BE(screen.width, at + 8); // U16 width
    out.writeUInt16BE(screen.height, at + 10); // U16 height
    out.writeUInt32BE(screen.flags >>> 0, at + 12); // U32 flags
    at += 16;
  }
  return out;
}

/** DesktopName (rfbproto "DesktopName Pseudo-encoding"): zero header, U32 length, UTF-8 name. */
export function encodeDesktopNameRect(name: string): Buffer {
  return Buffer.concat([encodeRectHeader(0, 0, 0, 0, PseudoEncoding.DesktopName), u32String(name)]);
}

/**
 * QEMU LED State (rfbproto "QEMU LED State Pseudo-encoding"): one U8 of LedState bits.
 * QEMU's own server sends it as a 1×1 rectangle at 0,0; we do the same.
 */
export function encodeLedStateRect(state: number): Buffer {
  return Buffer.concat([encodeRectHeader(0, 0, 1, 1, PseudoEncoding.QemuLedState), Buffer.from([state & 0xff])]);
}

/**
 * Cursor (RFC 6143 §7.8.1) from display-core's cursor (B,G,R,A bytes, straight alpha): the
 * hotspot in x/y, the pixels in the client's format, then a 1-bit mask, rows padded to
 * whole bytes, most significant bit leftmost; a pixel is drawn where its alpha reaches
 * `alphaThreshold`. A 0×0 cursor (header only) hides it.
 */
export function encodeCursorRect(cursor: Cursor, pf: PixelFormat, alphaThreshold = 128): Buffer {
  const { width, height } = cursor;
  const header = encodeRectHeader(cursor.hotX, cursor.hotY, width, height, PseudoEncoding.Cursor);
  if (width === 0 || height === 0) return header;
  // The alpha byte sits where a frame's unused X byte does; the conversion ignores it.
  const pixels = convertRect(cursor.data, width * 4, 0, 0, width, height, pf);
  const rowBytes = (width + 7) >> 3;
  const mask = Buffer.alloc(rowBytes * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (cursor.data[(y * width + x) * 4 + 3] >= alphaThreshold) {
        mask[y * rowBytes + (x >> 3)] |= 0x80 >> (x & 7);
      }
    }
  }
  return Buffer.concat([header, pixels, mask]);
}

/** An empty pseudo-rectangle that confirms an extension (QEMU key/audio, ExtendedMouseButtons). */
export function encodeAckRect(encoding: number, width = 0, height = 0): Buffer {
  return encodeRectHeader(0, 0, width, height, encoding);
}

// ---------------------------------------------------------------------------------------
// Other server messages

/** Bell (RFC 6143 §7.6.3): the message type alone. */
export function encodeBell(): Buffer {
  return Buffer.from([ServerMessageType.Bell]);
}

/** Latin-1 bytes of `text`; characters outside Latin-1 become "?". */
function latin1(text: string): Buffer {
  const out = Buffer.alloc(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    out[i] = code <= 0xff ? code : 0x3f;
  }
  return out;
}

/**
 * ServerCutText (RFC 6143 §7.6.4): U8 type, 3 padding, U32 length, ISO 8859-1 text with
 * bare LF line ends.
 */
export function encodeServerCutText(text: string): Buffer {
  const body = latin1(text.replace(/\r\n/g, '\n'));
  const head = Buffer.alloc(8);
  head[0] = ServerMessageType.ServerCutText;
  head.writeUInt32BE(body.length, 4);
  return Buffer.concat([head, body]);
}

/** An extended ServerCutText: S32 length negated, U32 flags, body (rfbproto "Extended Clipboard"). */
function extendedCutText(flags: number, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(12);
  head[0] = ServerMessageType.ServerCutText;
  head.writeInt32BE(-(4 + body.length), 4); // S32 length, negative: extended format
  head.writeUInt32BE(flags >>> 0, 8); // U32 flags
  return Buffer.concat([head, body]);
}

/**
 * Extended Clipboard caps: the formats and actions this server accepts, with a U32 maximum
 * unsolicited size per format, in format-bit order. rfbproto recommends sizes of 0 so that
 * every change arrives as a notify.
 */
export function encodeExtendedClipboardCaps(actions: number, maxSizes: ReadonlyMap<number, number>): Buffer {
  let formats = 0;
  const sizes: number[] = [];
  for (let bit = 0; bit < 16; bit++) {
    const size = maxSizes.get(1 << bit);
    if (size === undefined) continue;
    formats |= 1 << bit;
    sizes.push(size);
  }
  const body = Buffer.alloc(4 * sizes.length);
  sizes.forEach((size, i) => body.writeUInt32BE(size, 4 * i)); // U32 array sizes
  return extendedCutText(ClipboardAction.Caps | actions | formats, body);
}

/** Extended Clipboard notify: which formats the server's clipboard now has. */
export function encodeExtendedClipboardNotify(formats: number): Buffer {
  return extendedCutText(ClipboardAction.Notify | formats);
}

/** Extended Clipboard request: ask the client to provide these formats. */
export function encodeExtendedClipboardRequest(formats: number): Buffer {
  return extendedCutText(ClipboardAction.Request | formats);
}

/** Extended Clipboard peek: ask the client to notify which formats it has. */
export function encodeExtendedClipboardPeek(): Buffer {
  return extendedCutText(ClipboardAction.Peek);
}

/**
 * Extended Clipboard provide: one zlib stream holding, for each format in bit order, a U32
 * size and the data. A complete stream is sent; every client's inflater accepts it.
 */
export function encodeExtendedClipboardProvide(data: ReadonlyMap<number, Buffer>): Buffer {
  let formats = 0;
  const parts: Buffer[] = [];
  for (let bit = 0; bit < 16; bit++) {
    const bytes = data.get(1 << bit);
    if (bytes === undefined) continue;
    formats |= 1 << bit;
    const size = Buffer.alloc(4);
    size.writeUInt32BE(bytes.length, 0); // U32 size
    parts.push(size, bytes); // U8 array data
  }
  return extendedCutText(ClipboardAction.Provide | formats, deflateSync(Buffer.concat(parts)));
}

/** Text as the Extended Clipboard's text format wants it: UTF-8, CR LF line ends, a final NUL. */
export function encodeClipboardText(text: string): Buffer {
  return Buffer.from(`${text.replace(/\r\n|\r|\n/g, '\r\n')}\0`, 'utf8');
}

/** A provide message of text alone. */
export function encodeExtendedClipboardProvideText(text: string): Buffer {
  return encodeExtendedClipboardProvide(new Map([[ClipboardFormat.Text, encodeClipboardText(text)]]));
}

/** EndOfContinuousUpdates (rfbproto): the message type alone. */
export function encodeEndOfContinuousUpdates(): Buffer {
  return Buffer.from([ServerMessageType.EndOfContinuousUpdates]);
}

/** ServerFence (rfbproto "ServerFence"): U8 type, 3 padding, U32 flags, U8 length, payload ≤ 64. */
export function encodeServerFence(flags: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  if (payload.length > MAX_FENCE_PAYLOAD) throw new RangeError(`fence payload of ${payload.length} bytes`);
  const head = Buffer.alloc(9);
  head[0] = ServerMessageType.ServerFence;
  head.writeUInt32BE(flags >>> 0, 4);
  head[8] = payload.length;
  return Buffer.concat([head, payload]);
}

function qemuAudio(operation: number): Buffer {
  // U8 message-type 255, U8 submessage-type 1, U16 operation (rfbproto "QEMU Audio Server Message")
  const out = Buffer.alloc(4);
  out[0] = ServerMessageType.Qemu;
  out[1] = QemuSubmessage.Audio;
  out.writeUInt16BE(operation, 2);
  return out;
}

/** QEMU Audio: a stream begins. */
export function encodeQemuAudioBegin(): Buffer {
  return qemuAudio(QemuAudioServerOp.Begin);
}

/** QEMU Audio: the stream has ended. */
export function encodeQemuAudioEnd(): Buffer {
  return qemuAudio(QemuAudioServerOp.End);
}

/** QEMU Audio data: U32 data-length then samples in the format the client set. */
export function encodeQemuAudioData(samples: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(samples.length, 0);
  return Buffer.concat([qemuAudio(QemuAudioServerOp.Data), length, samples]);
}
