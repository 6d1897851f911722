// The screen servers show while there is no VM to show (the sidecar starts before
// QEMU; a VM may shut down while clients stay connected). Drawn in plain JS from a small
// embedded bitmap font: loading an image library (sharp/libvips: ~27 MiB resident) just for
// this screen would cost every server process that memory for good.
import { inflateSync } from 'node:zlib';
import { PLACEHOLDER_FONTS, type BitmapFont } from './placeholder-font.js';

export const PLACEHOLDER_WIDTH = 800;
export const PLACEHOLDER_HEIGHT = 600;

const BACKGROUND = [0x1d, 0x23, 0x2a] as const;
const TITLE_COLOUR = [0xe8, 0xe8, 0xe8] as const;
const TEXT_COLOUR = [0xa0, 0xa8, 0xb0] as const;
const FIRST_GLYPH = 32;
const LAST_GLYPH = 126;

/** Glyph coverage (0–255), glyph-major, decoded on first use. */
const coverage = new Map<BitmapFont, Uint8Array>();

function glyphs(font: BitmapFont): Uint8Array {
  let bytes = coverage.get(font);
  if (!bytes) {
    const packed = inflateSync(Buffer.from(font.data, 'base64'));
    bytes = new Uint8Array((LAST_GLYPH - FIRST_GLYPH + 1) * font.cellW * font.cellH);
    for (let i = 0; i < bytes.length; i++) bytes[i] = ((i & 1 ? packed[i >> 1] : packed[i >> 1] >> 4) & 0x0f) * 17;
    coverage.set(font, bytes);
  }
  return bytes;
}

/** Draws `text` centred on `centreX`, baseline at `baseline`, into B,G,R,X `out`. */
function drawLine(out: Buffer, width: number, height: number, text: string, font: BitmapFont, colour: readonly number[], centreX: number, baseline: number): void {
  const g = glyphs(font);
  const glyphBytes = font.cellW * font.cellH;
  const left = centreX - (text.length * font.advance) / 2;
  for (let n = 0; n < text.length; n++) {
    let code = text.charCodeAt(n);
    if (code === 32) continue;
    if (code < FIRST_GLYPH || code > LAST_GLYPH) code = 0x3f; // '?'
    const base = (code - FIRST_GLYPH) * glyphBytes;
    const x0 = Math.round(left + n * font.advance) - font.pad;
    const y0 = Math.round(baseline) - font.ascent;
    for (let gy = 0; gy < font.cellH; gy++) {
      const y = y0 + gy;
      if (y < 0 || y >= height) continue;
      for (let gx = 0; gx < font.cellW; gx++) {
        const x = x0 + gx;
        const a = g[base + gy * font.cellW + gx];
        if (a === 0 || x < 0 || x >= width) continue;
        const p = (y * width + x) * 4;
        // Over the background, colour·a + pixel·(1−a), per channel (B, G, R).
        for (let c = 0; c < 3; c++) out[p + c] = Math.round((colour[2 - c] * a + out[p + c] * (255 - a)) / 255);
      }
    }
  }
}

/** Renders `lines` centred on a dark background; returns B,G,R,X pixels. */
export async function renderPlaceholder(
  lines: string[],
  width = PLACEHOLDER_WIDTH,
  height = PLACEHOLDER_HEIGHT,
): Promise<Buffer> {
  const out = Buffer.alloc(width * height * 4);
  for (let p = 0; p < out.length; p += 4) {
    out[p] = BACKGROUND[2];
    out[p + 1] = BACKGROUND[1];
    out[p + 2] = BACKGROUND[0];
  }
  const lineHeight = 34;
  const top = height / 2 - ((lines.length - 1) * lineHeight) / 2;
  lines.forEach((line, i) =>
    drawLine(out, width, height, line, i === 0 ? PLACEHOLDER_FONTS.title : PLACEHOLDER_FONTS.text, i === 0 ? TITLE_COLOUR : TEXT_COLOUR, width / 2, top + i * lineHeight),
  );
  return out;
}
