// PCM conversion: QEMU's voices (any sample format, rate, channels) to what a client plays.
import type { PcmFormat } from './audio.js';

/** Whether {@link PcmConverter} can read this format. */
export function convertiblePcm(f: PcmFormat): boolean {
  const bitsOk = f.float ? f.bits === 32 || f.bits === 64 : f.bits === 8 || f.bits === 16 || f.bits === 32;
  return bitsOk && f.channels >= 1 && f.frequency > 0 && f.bytesPerFrame === (f.bits / 8) * f.channels;
}

/** What {@link PcmConverter} produces: little-endian integer PCM (default signed 16-bit). */
export interface PcmOutput {
  frequency: number;
  channels: number;
  /** Bits per sample: 8, 16 or 32 (default 16). */
  bits?: 8 | 16 | 32;
  /** Signed samples, or unsigned with the midpoint as silence (default signed). */
  signed?: boolean;
}

/**
 * QEMU's PCM (any of its sample formats) to little-endian integer PCM (signed 16-bit unless
 * the output says otherwise) with the given rate and channel count. Stateful: partial frames and the resampler's position carry over
 * from one chunk to the next, so a stream converted in pieces keeps its duration.
 */
export class PcmConverter {
  private rest: Buffer = Buffer.alloc(0);
  /** Resampler: position of the next output frame in input frames, relative to the chunk start. */
  private pos = 0;
  /** The last input frame of the previous chunk (position -1). */
  private prev: Float64Array | undefined;
  private readonly direct: boolean;
  private readonly outBits: 8 | 16 | 32;
  private readonly outSigned: boolean;

  constructor(
    readonly input: PcmFormat,
    readonly output: PcmOutput,
  ) {
    if (!convertiblePcm(input)) throw new Error(`unsupported PCM: ${input.bits} bits${input.float ? ' float' : ''}, ${input.channels} channels`);
    if (!(output.frequency > 0) || output.channels < 1) throw new Error(`unsupported output: ${output.frequency} Hz, ${output.channels} channels`);
    this.outBits = output.bits ?? 16;
    this.outSigned = output.signed ?? true;
    this.direct =
      !input.float &&
      !input.bigEndian &&
      input.bits === this.outBits &&
      input.signed === this.outSigned &&
      input.channels === output.channels &&
      input.frequency === output.frequency;
  }

  convert(chunk: Buffer): Buffer {
    const frameBytes = this.input.bytesPerFrame;
    const data = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    const frames = Math.floor(data.length / frameBytes);
    this.rest = Buffer.from(data.subarray(frames * frameBytes));
    if (frames === 0) return Buffer.alloc(0);
    if (this.direct) return Buffer.from(data.subarray(0, frames * frameBytes));
    const inCh = this.input.channels;
    const outCh = this.output.channels;
    // Decode and map channels: samples as doubles in [-1, 1], outCh per frame.
    const mapped = new Float64Array(frames * outCh);
    const frame = new Float64Array(inCh);
    const bytes = this.input.bits / 8;
    for (let i = 0; i < frames; i++) {
      for (let c = 0; c < inCh; c++) frame[c] = this.sample(data, i * frameBytes + c * bytes);
      if (outCh === 1 && inCh > 1) {
        let sum = 0;
        for (let c = 0; c < inCh; c++) sum += frame[c]!;
        mapped[i] = sum / inCh;
      } else {
        for (let c = 0; c < outCh; c++) mapped[i * outCh + c] = frame[Math.min(c, inCh - 1)]!;
      }
    }
    const resampled = this.input.frequency === this.output.frequency ? mapped : this.resample(mapped, frames, outCh);
    return this.encode(resampled);
  }

  /** Samples in [-1, 1] to the output's sample format, clamped. */
  private encode(x: Float64Array): Buffer {
    const bytes = this.outBits / 8;
    const out = Buffer.allocUnsafe(x.length * bytes);
    const full = 2 ** (this.outBits - 1);
    const bias = this.outSigned ? 0 : full;
    for (let i = 0; i < x.length; i++) {
      const v = Math.max(-full, Math.min(full - 1, Math.round(x[i]! * full))) + bias;
      const at = i * bytes;
      if (this.outBits === 8) {
        if (this.outSigned) out.writeInt8(v, at);
        else out.writeUInt8(v, at);
      } else if (this.outBits === 16) {
        if (this.outSigned) out.writeInt16LE(v, at);
        else out.writeUInt16LE(v, at);
      } else if (this.outSigned) out.writeInt32LE(v, at);
      else out.writeUInt32LE(v, at);
    }
    return out;
  }

  private sample(b: Buffer, at: number): number {
    const f = this.input;
    if (f.float) {
      if (f.bits === 32) return f.bigEndian ? b.readFloatBE(at) : b.readFloatLE(at);
      return f.bigEndian ? b.readDoubleBE(at) : b.readDoubleLE(at);
    }
    switch (f.bits) {
      case 8:
        return f.signed ? b.readInt8(at) / 128 : (b[at]! - 128) / 128;
      case 16:
        if (f.signed) return (f.bigEndian ? b.readInt16BE(at) : b.readInt16LE(at)) / 32768;
        return ((f.bigEndian ? b.readUInt16BE(at) : b.readUInt16LE(at)) - 32768) / 32768;
      default:
        if (f.signed) return (f.bigEndian ? b.readInt32BE(at) : b.readInt32LE(at)) / 2147483648;
        return ((f.bigEndian ? b.readUInt32BE(at) : b.readUInt32LE(at)) - 2147483648) / 2147483648;
    }
  }

  /** Linear interpolation between neighbouring input frames, continuing across chunks. */
  private resample(x: Float64Array, frames: number, ch: number): Float64Array {
    const step = this.input.frequency / this.output.frequency;
    const at = (i: number, c: number): number => (i < 0 ? (this.prev ? this.prev[c]! : x[c]!) : x[i * ch + c]!);
    const out: number[] = [];
    let p = this.pos;
    while (p <= frames - 1) {
      const i = Math.floor(p);
      const t = p - i;
      for (let c = 0; c < ch; c++) {
        const a = at(i, c);
        out.push(t === 0 ? a : a + (at(Math.min(i + 1, frames - 1), c) - a) * t);
      }
      p += step;
    }
    this.pos = p - frames;
    this.prev = x.slice((frames - 1) * ch, frames * ch);
    return Float64Array.from(out);
  }
}
