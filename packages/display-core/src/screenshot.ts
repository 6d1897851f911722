import sharp from 'sharp';
import type { Framebuffer } from './framebuffer.js';
import { bgrxToRgb } from './pixel-format.js';

/** The framebuffer's current picture as a PNG file's bytes. */
export async function framebufferToPng(fb: Framebuffer): Promise<Buffer> {
  const rgb = bgrxToRgb(fb.data, fb.stride, 0, 0, fb.width, fb.height);
  return sharp(rgb, { raw: { width: fb.width, height: fb.height, channels: 3 } }).png({ compressionLevel: 6 }).toBuffer();
}
