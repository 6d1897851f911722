import type { Framebuffer } from './framebuffer.js';
import { bgrxToRgb } from './pixel-format.js';
import { loadSharp } from './sharp.js';

/** The framebuffer's current picture as a PNG file's bytes. */
export async function framebufferToPng(fb: Framebuffer): Promise<Buffer> {
  const rgb = bgrxToRgb(fb.data, fb.stride, 0, 0, fb.width, fb.height);
  const sharp = await loadSharp();
  return sharp(rgb, { raw: { width: fb.width, height: fb.height, channels: 3 } }).png({ compressionLevel: 6 }).toBuffer();
}
