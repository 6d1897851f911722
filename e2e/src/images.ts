import { join } from 'node:path';
import sharp from 'sharp';
import { expect } from 'vitest';
import { artifactsDir } from './paths.js';

/** An RGBA image, 4 bytes per pixel, rows packed (stride = width * 4). */
export interface Image {
  width: number;
  height: number;
  rgba: Buffer;
}

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface ImageComparison {
  equal: boolean;
  /** Pixels whose R, G or B differ by more than the tolerance (or exist in one image only). */
  differing: number;
  /** First differing pixel in row order, or null. */
  firstDiff: { x: number; y: number } | null;
  /** Smallest rectangle holding every differing pixel, or null. */
  bbox: Rect | null;
  sizeMismatch: boolean;
}

/**
 * Compares RGB (alpha ignored). Where sizes differ, pixels outside the common area count
 * as differing. `tolerance`: largest per-channel difference still counted as equal
 * (default 0, for lossy encodings raise it).
 */
export function compareImages(actual: Image, expected: Image, options: { tolerance?: number } = {}): ImageComparison {
  const tolerance = options.tolerance ?? 0;
  const width = Math.max(actual.width, expected.width);
  const height = Math.max(actual.height, expected.height);
  let differing = 0;
  let firstDiff: { x: number; y: number } | null = null;
  let x0 = Infinity;
  let y0 = Infinity;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let differs: boolean;
      if (x >= actual.width || y >= actual.height || x >= expected.width || y >= expected.height) {
        differs = true;
      } else {
        const a = (y * actual.width + x) * 4;
        const e = (y * expected.width + x) * 4;
        differs =
          Math.abs(actual.rgba[a] - expected.rgba[e]) > tolerance ||
          Math.abs(actual.rgba[a + 1] - expected.rgba[e + 1]) > tolerance ||
          Math.abs(actual.rgba[a + 2] - expected.rgba[e + 2]) > tolerance;
      }
      if (!differs) continue;
      differing++;
      firstDiff ??= { x, y };
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return {
    equal: differing === 0,
    differing,
    firstDiff,
    bbox: differing === 0 ? null : { x: x0, y: y0, width: x1 - x0 + 1, height: y1 - y0 + 1 },
    sizeMismatch: actual.width !== expected.width || actual.height !== expected.height,
  };
}

/** `[r, g, b]` at (x, y). */
export function pixelAt(image: Image, x: number, y: number): [number, number, number] {
  if (x < 0 || y < 0 || x >= image.width || y >= image.height) {
    throw new RangeError(`pixel (${x}, ${y}) outside ${image.width}x${image.height}`);
  }
  const i = (y * image.width + x) * 4;
  return [image.rgba[i], image.rgba[i + 1], image.rgba[i + 2]];
}

const rgb = (p: readonly number[]) => `rgb(${p[0]},${p[1]},${p[2]})`;

/** A part of an image, copied. */
export function cropImage(image: Image, rect: Rect): Image {
  if (rect.x < 0 || rect.y < 0 || rect.x + rect.width > image.width || rect.y + rect.height > image.height) {
    throw new RangeError(`crop ${JSON.stringify(rect)} outside ${image.width}x${image.height}`);
  }
  const rgba = Buffer.alloc(rect.width * rect.height * 4);
  for (let y = 0; y < rect.height; y++) {
    const from = ((rect.y + y) * image.width + rect.x) * 4;
    image.rgba.copy(rgba, y * rect.width * 4, from, from + rect.width * 4);
  }
  return { width: rect.width, height: rect.height, rgba };
}

/** Decodes PNG, JPEG or anything else sharp reads into RGBA. */
export async function decodeImage(data: Buffer): Promise<Image> {
  const { data: rgba, info } = await sharp(data).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, rgba };
}

/** Decodes a binary PPM (P6, maxval 255), what QEMU's screendump writes by default. */
export function decodePpm(data: Buffer): Image {
  // Header: "P6", width, height, maxval, separated by whitespace, then one whitespace byte.
  const fields: string[] = [];
  let pos = 0;
  while (fields.length < 4) {
    while (pos < data.length && /\s/.test(String.fromCharCode(data[pos]))) pos++;
    if (data[pos] === 0x23) {
      while (pos < data.length && data[pos] !== 0x0a) pos++;
      continue;
    }
    const start = pos;
    while (pos < data.length && !/\s/.test(String.fromCharCode(data[pos]))) pos++;
    fields.push(data.toString('latin1', start, pos));
  }
  pos++;
  const [magic, w, h, max] = fields;
  if (magic !== 'P6' || max !== '255') throw new Error(`unsupported PPM header: ${fields.join(' ')}`);
  const width = Number(w);
  const height = Number(h);
  const rgba = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    rgba[i * 4] = data[pos + i * 3];
    rgba[i * 4 + 1] = data[pos + i * 3 + 1];
    rgba[i * 4 + 2] = data[pos + i * 3 + 2];
    rgba[i * 4 + 3] = 255;
  }
  return { width, height, rgba };
}

export async function savePng(image: Image, path: string): Promise<void> {
  await sharp(image.rgba, { raw: { width: image.width, height: image.height, channels: 4 } })
    .png()
    .toFile(path);
}

export async function loadPng(path: string): Promise<Image> {
  const { data: rgba, info } = await sharp(path).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, rgba };
}

/** Colour of pixel (x, y) after `vdi-pattern n` in the guest (same formula, see there). */
export function patternColor(n: number, x: number, y: number): [number, number, number] {
  const tx = x >> 5;
  const ty = y >> 5;
  return [(tx * 8 + n * 40) & 255, (ty * 8 + n * 80) & 255, ((tx ^ ty) * 16 + n * 100 + 128) & 255];
}

/** The whole screen `vdi-pattern n` draws on a width x height framebuffer. */
export function patternImage(n: number, width: number, height: number): Image {
  const rgba = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = patternColor(n, x, y);
      const i = (y * width + x) * 4;
      rgba[i] = r;
      rgba[i + 1] = g;
      rgba[i + 2] = b;
      rgba[i + 3] = 255;
    }
  }
  return { width, height, rgba };
}

/** Differing pixels red over a dimmed grey copy of `expected` (or black outside it). */
function diffImage(actual: Image, expected: Image, tolerance: number): Image {
  const width = Math.max(actual.width, expected.width);
  const height = Math.max(actual.height, expected.height);
  const rgba = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      const inA = x < actual.width && y < actual.height;
      const inE = x < expected.width && y < expected.height;
      let grey = 0;
      let differs = !(inA && inE);
      if (inE) {
        const [r, g, b] = pixelAt(expected, x, y);
        grey = Math.round((r + g + b) / 12);
      }
      if (inA && inE) {
        const pa = pixelAt(actual, x, y);
        const pe = pixelAt(expected, x, y);
        differs = pa.some((v, i) => Math.abs(v - pe[i]) > tolerance);
      }
      rgba[o] = differs ? 255 : grey;
      rgba[o + 1] = differs ? 0 : grey;
      rgba[o + 2] = differs ? 0 : grey;
      rgba[o + 3] = 255;
    }
  }
  return { width, height, rgba };
}

function currentTestName(): string | undefined {
  try {
    return expect.getState().currentTestName;
  } catch {
    return undefined;
  }
}

/**
 * Throws a readable error unless the images are equal (RGB, within `tolerance`). On a
 * mismatch it first saves `<name>-actual.png`, `<name>-expected.png` and `<name>-diff.png`
 * (differences in red) under `dir` (default: e2e/artifacts/<current test>/).
 */
export async function expectSameImage(
  actual: Image,
  expected: Image,
  name: string,
  options: { tolerance?: number; dir?: string } = {},
): Promise<void> {
  const tolerance = options.tolerance ?? 0;
  const result = compareImages(actual, expected, { tolerance });
  if (result.equal) return;
  const dir = options.dir ?? artifactsDir(currentTestName() ?? 'images');
  const base = join(dir, name.replace(/[^A-Za-z0-9._-]+/g, '-'));
  await Promise.all([
    savePng(actual, `${base}-actual.png`),
    savePng(expected, `${base}-expected.png`),
    savePng(diffImage(actual, expected, tolerance), `${base}-diff.png`),
  ]);
  const total = Math.max(actual.width, expected.width) * Math.max(actual.height, expected.height);
  const lines = [`${name}: images differ in ${result.differing} of ${total} pixels`];
  if (result.sizeMismatch) {
    lines.push(`  size: actual ${actual.width}x${actual.height}, expected ${expected.width}x${expected.height}`);
  }
  const first = result.firstDiff;
  if (first) {
    const inBoth = first.x < Math.min(actual.width, expected.width) && first.y < Math.min(actual.height, expected.height);
    const detail = inBoth
      ? `: actual ${rgb(pixelAt(actual, first.x, first.y))}, expected ${rgb(pixelAt(expected, first.x, first.y))}`
      : ' (outside one image)';
    lines.push(`  first difference at (${first.x}, ${first.y})${detail}`);
  }
  const box = result.bbox;
  if (box) lines.push(`  differences within x ${box.x}..${box.x + box.width - 1}, y ${box.y}..${box.y + box.height - 1}`);
  lines.push(`  saved ${base}-{actual,expected,diff}.png`);
  throw new Error(lines.join('\n'));
}

/** One pixel per 32x32 tile of vdi-pattern, from the tile's centre (lossy codecs blur edges). */
export function tileCentres(image: Image): Image {
  const width = Math.ceil(image.width / 32);
  const height = Math.ceil(image.height / 32);
  const rgba = Buffer.alloc(width * height * 4);
  for (let ty = 0; ty < height; ty++) {
    for (let tx = 0; tx < width; tx++) {
      const x = Math.min(tx * 32 + 16, image.width - 1);
      const y = Math.min(ty * 32 + 16, image.height - 1);
      image.rgba.copy(rgba, (ty * width + tx) * 4, (y * image.width + x) * 4, (y * image.width + x) * 4 + 4);
    }
  }
  return { width, height, rgba };
}
