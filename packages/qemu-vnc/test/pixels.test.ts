// The pixel values and palettes the encoders compare: the same whatever the byte order and
// alignment of the client's bytes, colours by decreasing frequency (ties by first appearance).
import { PIXEL_FORMAT_BGRX, type PixelFormat } from '@vdi-sidecar/display-core';
import { describe, expect, it } from 'vitest';
import { buildPalette, readPixelValues } from '../src/rfb/encoders/pixels.js';

describe('readPixelValues', () => {
  const values = [0x00112233, 0xff445566, 0x00778899];

  it('reads 32-bit little-endian pixels, aligned or not, without the undefined X byte', () => {
    const bytes = Buffer.alloc(13);
    values.forEach((v, i) => bytes.writeUInt32LE(v, 1 + i * 4));
    const expected = [0x112233, 0x445566, 0x778899];
    expect([...readPixelValues(bytes.subarray(1), PIXEL_FORMAT_BGRX)]).toEqual(expected);
    const aligned = Buffer.from(bytes.subarray(1));
    expect(aligned.byteOffset % 4).toBe(0);
    expect([...readPixelValues(aligned, PIXEL_FORMAT_BGRX)]).toEqual(expected);
  });

  it('reads into a given array when it is large enough, else into a new one', () => {
    const bytes = Buffer.alloc(12);
    values.forEach((v, i) => bytes.writeUInt32LE(v, i * 4));
    const out = new Uint32Array(8).fill(7);
    const read = readPixelValues(bytes, PIXEL_FORMAT_BGRX, out);
    expect(read.buffer).toBe(out.buffer);
    expect([...read]).toEqual([0x112233, 0x445566, 0x778899]);
    expect(out[3]).toBe(7); // past the pixels: untouched
    const small = new Uint32Array(2);
    const fresh = readPixelValues(bytes, PIXEL_FORMAT_BGRX, small);
    expect(fresh.buffer).not.toBe(small.buffer);
    expect([...fresh]).toEqual([0x112233, 0x445566, 0x778899]);
  });

  it('reads big-endian pixels in their own order', () => {
    const pf: PixelFormat = { ...PIXEL_FORMAT_BGRX, bigEndian: true };
    const bytes = Buffer.alloc(12);
    values.forEach((v, i) => bytes.writeUInt32BE(v, i * 4));
    expect([...readPixelValues(bytes, pf)]).toEqual([0x112233, 0x445566, 0x778899]);
  });
});

describe('buildPalette', () => {
  it('orders colours by count, ties by first appearance, and knows where each first is', () => {
    const p = buildPalette(Uint32Array.from([5, 5, 7, 9, 9, 9, 7, 5, 5, 1]), 16);
    expect(p?.colours).toEqual([5, 9, 7, 1]);
    expect(p?.first).toEqual([0, 3, 2, 9]);
    expect(p?.index.get(7)).toBe(2);
  });

  it('gives up beyond the colour limit, runs or not', () => {
    expect(buildPalette(Uint32Array.from([1, 1, 2, 2, 3, 3]), 2)).toBeUndefined();
    expect(buildPalette(Uint32Array.from([1, 1, 2, 2, 1, 1]), 2)?.colours).toEqual([1, 2]);
  });
});
