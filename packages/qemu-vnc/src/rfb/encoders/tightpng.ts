// TightPNG encoding (rfbproto "Tight PNG Encoding"): Tight without BasicCompression. Each
// rectangle is FillCompression (0x80) or JpegCompression (0x90) exactly as in Tight, or
// PngCompression (0xA0): compact length + a PNG image. noVNC asks for it because browsers
// decode PNG natively. There are no zlib streams here, so no stream resets either.
import { bgrxToRgb, loadSharp } from '@vdi-sidecar/display-core';
import { Encoding } from '../constants.js';
import { zlibLevelFor, type EncodeOptions, type FramebufferView, type Rect, type RectEncoder } from './encoder.js';
import { ColourAnalyser, encodeCompactLength, encodeTightRects, fillData, jpegData, TightControl } from './tight.js';

/**
 * The lowest zlib level for PNG. On screen content sharp's PNG at level 6 is several times
 * smaller than at the low levels clients often ask for, and no slower (1920×1080 of text:
 * 57 KB in 8 ms at level 6, 322 KB in 11 ms at level 2, measured with sharp 0.35).
 */
export const PNG_MIN_ZLIB_LEVEL = 6;

/** PngCompression: control byte, compact length, a lossless RGB PNG made by sharp. */
async function pngData(fb: FramebufferView, rect: Rect, compressLevel: number | undefined): Promise<Buffer> {
  const rgb = bgrxToRgb(fb.data, fb.stride, rect.x, rect.y, rect.w, rect.h);
  const sharp = await loadSharp();
  // No palette option: sharp quantises palette PNGs, which changes colours even for two.
  const png = await sharp(rgb, { raw: { width: rect.w, height: rect.h, channels: 3 } })
    .png({ compressionLevel: Math.max(PNG_MIN_ZLIB_LEVEL, zlibLevelFor(compressLevel)), adaptiveFiltering: false })
    .toBuffer();
  return Buffer.concat([Buffer.from([TightControl.Png]), encodeCompactLength(png.length), png]);
}

export class TightPngEncoder implements RectEncoder {
  readonly encoding = Encoding.TightPNG;
  private readonly analyser = new ColourAnalyser();

  encode(fb: FramebufferView, rect: Rect, opts: EncodeOptions, out: Buffer[]): Promise<number> {
    return encodeTightRects(this.encoding, this.analyser, fb, rect, opts, out, {
      fill: (colour) => fillData(0, colour, opts.pixelFormat),
      other: (piece, cls) =>
        cls.kind === 'fullColour' && cls.jpeg && opts.qualityLevel !== undefined
          ? jpegData(0, fb, piece, opts.qualityLevel)
          : pngData(fb, piece, opts.compressLevel),
    });
  }

  reset(): void {}

  close(): void {}
}
