// CopyRect encoding (RFC 6143 §7.7.2): the client copies a rectangle of its own picture.
// After the rectangle header (the destination, encoding-type 1) come only U16 src-x-position
// and U16 src-y-position: the top-left corner of the source, same width and height. Not a
// RectEncoder — it reads no pixels; the server decides a copy from the damage tracker's.
import { Encoding } from '../constants.js';
import { RECT_HEADER_LENGTH, writeRectHeader } from '../server-messages.js';
import type { CopyRect } from '@vdi-sidecar/display-core';

/** Bytes of one CopyRect rectangle: the 12-byte header and the 4-byte source position. */
export const COPYRECT_LENGTH = RECT_HEADER_LENGTH + 4;

/** One CopyRect rectangle, header included, ready to follow a FramebufferUpdate header. */
export function encodeCopyRect(copy: CopyRect): Buffer {
  const out = Buffer.alloc(COPYRECT_LENGTH);
  const offset = writeRectHeader(out, 0, copy.x, copy.y, copy.w, copy.h, Encoding.CopyRect);
  out.writeUInt16BE(copy.srcX, offset); // U16 src-x-position
  out.writeUInt16BE(copy.srcY, offset + 2); // U16 src-y-position
  return out;
}
