// Zlib encoding (rfbproto "zlib Encoding"): Raw pixel data through one zlib stream that
// lasts the whole connection, each rectangle as U32 length + the stream's bytes for it.
import { convertRect } from '@vdi-sidecar/display-core';
import { Encoding } from '../constants.js';
import { encodeRectHeader } from '../server-messages.js';
import { checkRect, zlibLevelFor, type EncodeOptions, type FramebufferView, type Rect, type RectEncoder } from './encoder.js';
import { ZlibStream } from './zstream.js';

export class ZlibEncoder implements RectEncoder {
  readonly encoding = Encoding.Zlib;
  private readonly stream = new ZlibStream();

  async encode(fb: FramebufferView, rect: Rect, opts: EncodeOptions, out: Buffer[]): Promise<number> {
    checkRect(fb, rect);
    const { x, y, w, h } = rect;
    if (w === 0 || h === 0) return 0;
    const raw = convertRect(fb.data, fb.stride, x, y, w, h, opts.pixelFormat);
    out.push(encodeRectHeader(x, y, w, h, this.encoding), ...(await this.stream.lengthPrefixed(raw, zlibLevelFor(opts.compressLevel))));
    return 1;
  }

  reset(): void {
    this.stream.reset();
  }

  close(): void {
    this.stream.close();
  }
}
