// Pixel values in the client's format, as numbers. display-core converts the server's
// B,G,R,X frame into the client's bytes (convertRect); encoders that compare pixels
// (palettes, runs, solid areas) read those bytes back as values and write values out again.
import { validatePixelFormat, type PixelFormat } from '@vdi-sidecar/display-core';
import type { FramebufferView } from './encoder.js';

/**
 * The bits of a pixel value that carry colour. The others are undefined — QEMU's X byte
 * passes through unchanged when the client's format matches the frame's — so pixels are
 * compared on these bits only.
 */
export function colourBits(pf: PixelFormat): number {
  return ((pf.redMax * 2 ** pf.redShift) | (pf.greenMax * 2 ** pf.greenShift) | (pf.blueMax * 2 ** pf.blueShift)) >>> 0;
}

/**
 * The colour values of the packed pixels in `bytes`, read in the format's byte order; into
 * `out` when it is large enough (encoders that go tile by tile reuse one array).
 */
export function readPixelValues(bytes: Buffer, pf: PixelFormat, out?: Uint32Array): Uint32Array {
  const size = pf.bitsPerPixel >> 3;
  const mask = colourBits(pf);
  const count = Math.floor(bytes.length / size);
  const values = out && out.length >= count ? out.subarray(0, count) : new Uint32Array(count);
  if (size === 1) {
    for (let i = 0; i < count; i++) values[i] = bytes[i] & mask;
  } else if (size === 2) {
    for (let i = 0; i < count; i++) values[i] = (pf.bigEndian ? bytes.readUInt16BE(i * 2) : bytes.readUInt16LE(i * 2)) & mask;
  } else if (!pf.bigEndian && bytes.byteOffset % 4 === 0) {
    // The common case (little-endian 32-bit, aligned): the bytes as words, masked.
    const words = new Uint32Array(bytes.buffer, bytes.byteOffset, count);
    for (let i = 0; i < count; i++) values[i] = words[i] & mask;
  } else {
    for (let i = 0; i < count; i++) values[i] = (pf.bigEndian ? bytes.readUInt32BE(i * 4) : bytes.readUInt32LE(i * 4)) & mask;
  }
  return values;
}

/** The distinct colours of a set of pixels, most frequent first. */
export interface Palette {
  colours: number[];
  /** colour value → index into `colours`. */
  index: Map<number, number>;
  /** For each colour, the position of its first pixel (to copy its bytes from there). */
  first: number[];
}

/**
 * The palette of `values`, or undefined as soon as it would exceed `maxColours`. Colours are
 * ordered by decreasing frequency (ties by first appearance), so index 0 is the background.
 */
export function buildPalette(values: Uint32Array, maxColours: number): Palette | undefined {
  const counts = new Map<number, number>();
  const firstSeen = new Map<number, number>();
  // Counted a run at a time: screens are mostly runs, and a Map lookup per pixel is the cost.
  for (let i = 0; i < values.length; ) {
    const v = values[i];
    let j = i + 1;
    while (j < values.length && values[j] === v) j++;
    const n = counts.get(v);
    if (n === undefined) {
      if (counts.size >= maxColours) return undefined;
      counts.set(v, j - i);
      firstSeen.set(v, i);
    } else {
      counts.set(v, n + j - i);
    }
    i = j;
  }
  // Map iteration follows insertion order, and sort is stable: ties keep first appearance.
  const colours = [...counts.keys()].sort((a, b) => (counts.get(b) ?? 0) - (counts.get(a) ?? 0));
  return {
    colours,
    index: new Map(colours.map((c, i) => [c, i])),
    first: colours.map((c) => firstSeen.get(c) ?? 0),
  };
}

/** Whether this machine stores words little-endian (the frame's B, G, R, X bytes read as 0xXXRRGGBB). */
export const HOST_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * True when `pf`'s colour values can be computed from the frame's words directly: a valid
 * format whose channels have at most 8 bits, on a word-aligned frame. convertRect then keeps
 * the top bits of each 8-bit channel and shifts them into place, so two pixels have equal
 * client values exactly when their frame words agree on those bits (zrle.ts: frameMask), and a
 * CPIXEL can be made from the word.
 */
export function readsFrameWords(fb: FramebufferView, pf: PixelFormat): boolean {
  return (
    HOST_LITTLE_ENDIAN &&
    validatePixelFormat(pf) === undefined &&
    pf.redMax <= 255 &&
    pf.greenMax <= 255 &&
    pf.blueMax <= 255 &&
    fb.stride % 4 === 0 &&
    fb.data.byteOffset % 4 === 0
  );
}

/**
 * Colour value → palette entry, for the encoders' per-run lookups (a Map per pixel used to be
 * their main cost): an open-addressing hash table with at least four slots per entry it can hold,
 * a power of two of them. Entries are numbered by the caller, 0, 1, … as colours appear.
 */
export class ColourIndex {
  private readonly slotColour: Int32Array;
  /** Entry of each slot + 1; 0 is empty. */
  private readonly slotEntry: Int16Array;
  private readonly slots: number;
  private readonly shift: number;

  constructor(maxEntries: number) {
    const bits = Math.ceil(Math.log2(4 * maxEntries));
    this.slots = 1 << bits;
    this.shift = 32 - bits;
    this.slotColour = new Int32Array(this.slots);
    this.slotEntry = new Int16Array(this.slots);
  }

  clear(): void {
    this.slotEntry.fill(0);
  }

  /**
   * The entry of `colour`; when it has none, `next` is recorded for it and returned, unless
   * `next` is `limit` (one colour too many): then -1.
   */
  entryOf(colour: number, next: number, limit: number): number {
    const { slotColour, slotEntry } = this;
    let slot = Math.imul(colour, 0x9e3779b1) >>> this.shift;
    let entry = slotEntry[slot] - 1;
    while (entry >= 0 && slotColour[slot] !== colour) {
      slot = (slot + 1) & (this.slots - 1);
      entry = slotEntry[slot] - 1;
    }
    if (entry >= 0) return entry;
    if (next >= limit) return -1;
    slotColour[slot] = colour;
    slotEntry[slot] = next + 1;
    return next;
  }
}
