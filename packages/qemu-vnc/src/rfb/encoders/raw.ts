// Raw encoding (RFC 6143 §7.7.1): width × height pixels in the client's format, row by row.
import { convertRect } from '@vdi-sidecar/display-core';
import { Encoding } from '../constants.js';
import { encodeRectHeader } from '../server-messages.js';
import { checkRect, type EncodeOptions, type FramebufferView, type Rect, type RectEncoder } from './encoder.js';

export class RawEncoder implements RectEncoder {
  readonly encoding = Encoding.Raw;

  encode(fb: FramebufferView, rect: Rect, opts: EncodeOptions, out: Buffer[]): number {
    checkRect(fb, rect);
    const { x, y, w, h } = rect;
    if (w === 0 || h === 0) return 0;
    out.push(encodeRectHeader(x, y, w, h, this.encoding), convertRect(fb.data, fb.stride, x, y, w, h, opts.pixelFormat));
    return 1;
  }

  reset(): void {}

  close(): void {}
}
