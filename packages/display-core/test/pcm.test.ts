// PCM conversion: sample formats, channel mapping, resampling in pieces.
import { describe, expect, it } from 'vitest';
import type { PcmFormat } from '../src/audio.js';
import { convertiblePcm, PcmConverter } from '../src/pcm.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const S16_STEREO_44K: PcmFormat = { bits: 16, signed: true, float: false, frequency: 44100, channels: 2, bytesPerFrame: 4, bytesPerSecond: 176400, bigEndian: false };

describe('PCM conversion', () => {
  it('passes signed 16-bit little-endian through when rate and channels match, keeping partial frames for later', () => {
    const c = new PcmConverter(S16_STEREO_44K, { frequency: 44100, channels: 2 });
    const pcm = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(c.convert(pcm)).toEqual(pcm.subarray(0, 8));
    expect(c.convert(Buffer.from([11, 12]))).toEqual(Buffer.from([9, 10, 11, 12]));
  });

  it('converts unsigned 8-bit mono to signed 16-bit stereo', () => {
    const u8: PcmFormat = { bits: 8, signed: false, float: false, frequency: 8000, channels: 1, bytesPerFrame: 1, bytesPerSecond: 8000, bigEndian: false };
    const out = new PcmConverter(u8, { frequency: 8000, channels: 2 }).convert(Buffer.from([0x80, 0xff, 0x00]));
    expect([...new Int16Array(out.buffer, out.byteOffset, out.length / 2)]).toEqual([0, 0, 32512, 32512, -32768, -32768]);
  });

  it('converts float and big-endian samples, and downmixes to mono', () => {
    const f32: PcmFormat = { bits: 32, signed: true, float: true, frequency: 48000, channels: 2, bytesPerFrame: 8, bytesPerSecond: 384000, bigEndian: false };
    const b = Buffer.alloc(8);
    b.writeFloatLE(0.5, 0);
    b.writeFloatLE(-0.25, 4);
    expect(new PcmConverter(f32, { frequency: 48000, channels: 1 }).convert(b).readInt16LE(0)).toBe(Math.round(0.125 * 32768));
    const be: PcmFormat = { ...S16_STEREO_44K, bigEndian: true };
    expect(new PcmConverter(be, { frequency: 44100, channels: 2 }).convert(hex('12 34 ff fe'))).toEqual(hex('34 12 fe ff'));
  });

  it('resamples in pieces without losing or gaining time', () => {
    const c = new PcmConverter({ ...S16_STEREO_44K, frequency: 8000 }, { frequency: 44100, channels: 2 });
    let outFrames = 0;
    // One second in uneven pieces of a ramp.
    let sent = 0;
    let peak = 0;
    for (let i = 0; sent < 8000; i++) {
      const frames = Math.min(8000 - sent, 100 + ((i * 53) % 211));
      const pcm = Buffer.alloc(frames * 4);
      for (let f = 0; f < frames; f++) {
        pcm.writeInt16LE(sent + f, f * 4);
        pcm.writeInt16LE(-(sent + f), f * 4 + 2);
      }
      const out = c.convert(pcm);
      // Interpolated values lie between neighbours: never outside the ramp's range.
      for (let o = 0; o < out.length; o += 4) peak = Math.max(peak, Math.abs(out.readInt16LE(o)));
      outFrames += out.length / 4;
      sent += frames;
    }
    expect(Math.abs(outFrames - 44100)).toBeLessThanOrEqual(6);
    expect(peak).toBeLessThanOrEqual(7999);
    expect(peak).toBeGreaterThan(7900);
  });

  it('writes the other integer sample formats, little-endian, unsigned with silence at the midpoint', () => {
    const pcm = Buffer.alloc(8);
    pcm.writeInt16LE(0, 0);
    pcm.writeInt16LE(-32768, 2);
    pcm.writeInt16LE(16384, 4);
    pcm.writeInt16LE(32767, 6);
    const to = (bits: 8 | 16 | 32, signed: boolean) => new PcmConverter(S16_STEREO_44K, { frequency: 44100, channels: 2, bits, signed }).convert(pcm);
    expect(to(8, false)).toEqual(Buffer.from([0x80, 0x00, 0xc0, 0xff]));
    expect(to(8, true)).toEqual(Buffer.from([0x00, 0x80, 0x40, 0x7f]));
    expect(to(16, false)).toEqual(hex('0080 0000 00c0 ffff'));
    expect(to(16, true)).toEqual(pcm);
    const s32 = to(32, true);
    expect([0, 4, 8, 12].map((o) => s32.readInt32LE(o))).toEqual([0, -2147483648, 1073741824, 32767 * 65536]);
    const u32 = to(32, false);
    expect([0, 4].map((o) => u32.readUInt32LE(o))).toEqual([2147483648, 0]);
  });

  it('passes unsigned 8-bit through unchanged when it is also the output', () => {
    const u8: PcmFormat = { bits: 8, signed: false, float: false, frequency: 8000, channels: 1, bytesPerFrame: 1, bytesPerSecond: 8000, bigEndian: false };
    const pcm = Buffer.from([1, 128, 255]);
    expect(new PcmConverter(u8, { frequency: 8000, channels: 1, bits: 8, signed: false }).convert(pcm)).toEqual(pcm);
  });

  it('refuses formats it cannot read or write', () => {
    expect(convertiblePcm({ ...S16_STEREO_44K, bits: 24, bytesPerFrame: 6 })).toBe(false);
    expect(() => new PcmConverter(S16_STEREO_44K, { frequency: 0, channels: 2 })).toThrow(/unsupported output/);
  });
});
