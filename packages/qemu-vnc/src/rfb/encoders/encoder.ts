// The one interface every pixel encoder implements (one file per encoding, as QEMU's
// ui/vnc-enc-*.c and noVNC's core/decoders/ split theirs). An encoder appends complete
// rectangles — header and data — to an output list and says how many it wrote: most write
// one, Tight splits large areas into several. Encoders with zlib streams hold state that
// the client mirrors, so each client gets its own instances (see createEncoders in
// index.ts) and must call them one at a time, in the order their output is sent.
import type { PixelFormat, Rect } from '@vdi-sidecar/display-core';

export type { Rect };

/**
 * The server's framebuffer: B,G,R,X bytes per pixel (little-endian 0x00RRGGBB), `stride`
 * bytes per row. display-core's Framebuffer fits as it is.
 */
export interface FramebufferView {
  data: Buffer;
  stride: number;
  width: number;
  height: number;
}

export interface EncodeOptions {
  /** The client's pixel format (after SetPixelFormat, or the server's own). */
  pixelFormat: PixelFormat;
  /**
   * Compression level 0–9 from the client's pseudo-encodings (RFC 6143 §7.8; rfbproto
   * "Compression Level Pseudo-encoding"); undefined when the client sent none.
   */
  compressLevel?: number;
  /**
   * JPEG quality level 0–9 from the client's pseudo-encodings; undefined when the client sent
   * none, which forbids lossy compression (rfbproto "JPEG Quality Level Pseudo-encoding").
   */
  qualityLevel?: number;
}

export interface RectEncoder {
  /** The encoding number written in the rectangle headers. */
  readonly encoding: number;
  /**
   * Appends rectangles covering `rect` (which must lie inside `fb`) to `out`: headers and
   * data, ready to follow a FramebufferUpdate header. Returns the number of rectangles.
   */
  encode(fb: FramebufferView, rect: Rect, opts: EncodeOptions, out: Buffer[]): number | Promise<number>;
  /**
   * Forgets stream state. Tight tells the client to reset its streams in the next rectangle;
   * Zlib and ZRLE have no such signal, so reset them only when the client starts over too.
   */
  reset(): void;
  /** Frees native zlib resources; the encoder must not be used afterwards. */
  close(): void;
}

/** TigerVNC's default when a client names no compression level. */
export const DEFAULT_COMPRESS_LEVEL = 2;

/** The zlib level for a client's compression level: the same number, 0 (stored) to 9. */
export function zlibLevelFor(compressLevel: number | undefined): number {
  const level = compressLevel ?? DEFAULT_COMPRESS_LEVEL;
  return Math.min(9, Math.max(0, Math.trunc(level)));
}

/** Throws unless `rect` is a whole-pixel rectangle inside `fb`: encoders trust it afterwards. */
export function checkRect(fb: FramebufferView, rect: Rect): void {
  const { x, y, w, h } = rect;
  if (![x, y, w, h].every(Number.isInteger) || x < 0 || y < 0 || w < 0 || h < 0 || x + w > fb.width || y + h > fb.height) {
    throw new RangeError(`rectangle ${w}x${h}+${x}+${y} is not inside the ${fb.width}x${fb.height} framebuffer`);
  }
  if (w > 0xffff || h > 0xffff) throw new RangeError(`rectangle ${w}x${h} does not fit RFB's 16-bit sizes`);
}
