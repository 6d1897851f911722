// The screen servers show while there is no VM to show (the sidecar starts before
// QEMU; a VM may shut down while clients stay connected).
import sharp from 'sharp';

export const PLACEHOLDER_WIDTH = 800;
export const PLACEHOLDER_HEIGHT = 600;

const escapeXml = (s: string) =>
  s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c] as string);

/** Renders `lines` centred on a dark background; returns B,G,R,X pixels. */
export async function renderPlaceholder(
  lines: string[],
  width = PLACEHOLDER_WIDTH,
  height = PLACEHOLDER_HEIGHT,
): Promise<Buffer> {
  const lineHeight = 34;
  const top = height / 2 - ((lines.length - 1) * lineHeight) / 2;
  const text = lines
    .map(
      (line, i) =>
        `<text x="${width / 2}" y="${top + i * lineHeight}" font-family="DejaVu Sans, sans-serif" font-size="${i === 0 ? 26 : 18}" fill="${i === 0 ? '#e8e8e8' : '#a0a8b0'}" text-anchor="middle">${escapeXml(line)}</text>`,
    )
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#1d232a"/>${text}</svg>`;
  const rgba = await sharp(Buffer.from(svg)).ensureAlpha().raw().toBuffer();
  // RGBA → BGRX in place.
  for (let i = 0; i < rgba.length; i += 4) {
    const r = rgba[i];
    rgba[i] = rgba[i + 2];
    rgba[i + 2] = r;
    rgba[i + 3] = 0;
  }
  return rgba;
}
