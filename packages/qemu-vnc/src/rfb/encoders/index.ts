// The encoder registry. A client lists encodings in its order of preference (RFC 6143
// §7.5.2); like QEMU (ui/vnc.c, set_encodings) the server takes the first one it supports,
// and Raw when none. Pseudo-encodings in the same list give the quality and compression
// levels. Content-based choices happen inside the chosen encoder (Tight's classification).
import { compressLevelOf, Encoding, jpegQualityLevelOf } from '../constants.js';
import type { RectEncoder } from './encoder.js';
import { HextileEncoder } from './hextile.js';
import { RawEncoder } from './raw.js';
import { TightEncoder } from './tight.js';
import { TightPngEncoder } from './tightpng.js';
import { ZlibEncoder } from './zlib.js';
import { ZrleEncoder } from './zrle.js';

export type { EncodeOptions, FramebufferView, Rect, RectEncoder } from './encoder.js';
export { DEFAULT_COMPRESS_LEVEL } from './encoder.js';
export { COPYRECT_LENGTH, encodeCopyRect } from './copyrect.js';
export { HextileEncoder, RawEncoder, TightEncoder, TightPngEncoder, ZlibEncoder, ZrleEncoder };

const FACTORIES = new Map<number, () => RectEncoder>([
  [Encoding.Raw, () => new RawEncoder()],
  [Encoding.Hextile, () => new HextileEncoder()],
  [Encoding.Zlib, () => new ZlibEncoder()],
  [Encoding.Tight, () => new TightEncoder()],
  [Encoding.ZRLE, () => new ZrleEncoder()],
  [Encoding.TightPNG, () => new TightPngEncoder()],
]);

const NAMES = new Map<number, string>([
  [Encoding.Raw, 'raw'],
  [Encoding.Hextile, 'hextile'],
  [Encoding.Zlib, 'zlib'],
  [Encoding.Tight, 'tight'],
  [Encoding.ZRLE, 'zrle'],
  [Encoding.TightPNG, 'tightpng'],
  [Encoding.CopyRect, 'copyrect'],
]);

/** Lower-case name of a pixel encoding ("zrle"), as metrics label it. */
export function encodingName(encoding: number): string {
  return NAMES.get(encoding) ?? String(encoding);
}

/** The pixel encodings this server can produce. */
export const SUPPORTED_ENCODINGS: readonly number[] = [...FACTORIES.keys()];

export function isSupportedEncoding(encoding: number): boolean {
  return FACTORIES.has(encoding);
}

/** What a SetEncodings list asks of the server. */
export interface EncodingPreferences {
  /** The pixel encoding for every rectangle: the first supported one in the client's list, else Raw. */
  encoding: number;
  /** JPEG quality level 0–9, when the client named one. */
  qualityLevel?: number;
  /** Compression level 0–9, when the client named one. */
  compressLevel?: number;
  /** Every number in the list, to look pseudo-encodings up in (Cursor, LastRect, Fence…). */
  requested: ReadonlySet<number>;
}

/** Reads a SetEncodings list; for levels too, the first one listed wins. */
export function negotiateEncodings(encodings: readonly number[]): EncodingPreferences {
  const encoding = encodings.find(isSupportedEncoding) ?? Encoding.Raw;
  const qualityLevel = encodings.map(jpegQualityLevelOf).find((level) => level !== undefined);
  const compressLevel = encodings.map(compressLevelOf).find((level) => level !== undefined);
  return { encoding, qualityLevel, compressLevel, requested: new Set(encodings) };
}

/**
 * One client's encoders. Each is created on first use, so a client pays only for the zlib
 * streams of the encodings it actually gets.
 */
export class EncoderSet {
  private readonly encoders = new Map<number, RectEncoder>();

  /** The encoder for `encoding`; throws for one SUPPORTED_ENCODINGS lacks. */
  get(encoding: number): RectEncoder {
    let encoder = this.encoders.get(encoding);
    if (!encoder) {
      const create = FACTORIES.get(encoding);
      if (!create) throw new RangeError(`no encoder for encoding ${encoding}`);
      encoder = create();
      this.encoders.set(encoding, encoder);
    }
    return encoder;
  }

  /** Resets every encoder made so far (see RectEncoder.reset). */
  reset(): void {
    for (const encoder of this.encoders.values()) encoder.reset();
  }

  /** Frees every encoder's resources. */
  close(): void {
    for (const encoder of this.encoders.values()) encoder.close();
    this.encoders.clear();
  }
}

/** A fresh set of encoders for a new client connection. */
export function createEncoders(): EncoderSet {
  return new EncoderSet();
}
