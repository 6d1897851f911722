// RLGR entropy coding of RemoteFX coefficient streams (MS-RDPRFX 3.1.8.1.7): adaptive run-length /
// Golomb-Rice coding of the 4096 quantized coefficients of one tile component, in its two variants
// RLGR1 (one value per Golomb-Rice symbol) and RLGR3 (two values per symbol, their sum coded and
// the first one then in binary). Bits are written most significant first.
//
// Adaptation (3.1.8.1.7.3): kp and krp start at 8 (k = kr = 1) and stay within [0, 80]; k = kp >> 3,
// kr = krp >> 3. k > 0 selects run-length mode, k = 0 Golomb-Rice mode.
//   RL mode, per zero bit (a full run of 2^k zeros): kp += UP_GR; after the value ending a run:
//     kp −= DN_GR.
//   GR mode, RLGR1: kp += UQ_GR after a zero value, kp −= DQ_GR after a non-zero one (the order
//     Windows uses; early revisions of the pseudocode had the two swapped).
//   GR mode, RLGR3: kp += 2·UQ_GR when both values are zero, kp −= 2·DQ_GR when both are non-zero.
//   Every Golomb-Rice code with unary part vk: krp −= 2 when vk = 0, krp += vk when vk > 1.
// A run that reaches the end of the input is written as its zero bits, the terminating 1 and the k
// remainder bits, with no value after it: RL mode cannot code a zero value (it codes magnitude − 1),
// and decoders stop when the input ends, filling the rest with zeros (FreeRDP, IronRDP, xrdp's
// librfxcodec encoder does the same against Windows clients).
import { RdpProtocolError } from '../../pdu/errors.js';

export type RlgrMode = 'rlgr1' | 'rlgr3';

const KP_MAX = 80;
const LS_GR = 3;
const UP_GR = 4;
const DN_GR = 6;
const UQ_GR = 3;
const DQ_GR = 3;

/** A growable MSB-first bit writer over one reusable byte buffer. */
class BitWriter {
  buf = new Uint8Array(8192);
  pos = 0;
  private acc = 0;
  private nbits = 0;

  reset(): void {
    this.pos = 0;
    this.acc = 0;
    this.nbits = 0;
  }

  /** Room for `bits` more bits. */
  ensure(bits: number): void {
    const need = this.pos + ((bits + this.nbits + 7) >>> 3) + 4;
    if (need <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, need));
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
  }

  /** Writes the low `n` bits of `v` (n ≤ 24); the caller has ensured room. */
  bits(n: number, v: number): void {
    if (n === 0) return;
    this.acc = (this.acc << n) | (v & ((1 << n) - 1));
    this.nbits += n;
    while (this.nbits >= 8) {
      this.nbits -= 8;
      this.buf[this.pos++] = (this.acc >>> this.nbits) & 0xff;
    }
  }

  /** `count` copies of `bit`. */
  repeat(count: number, bit: 0 | 1): void {
    this.ensure(count);
    const word = bit ? 0xffffff : 0;
    while (count >= 24) {
      this.bits(24, word);
      count -= 24;
    }
    this.bits(count, word);
  }

  /** Pads the last byte with zero bits; returns the byte length. */
  finish(): number {
    if (this.nbits > 0) {
      this.buf[this.pos++] = (this.acc << (8 - this.nbits)) & 0xff;
      this.nbits = 0;
    }
    return this.pos;
  }
}

const writer = new BitWriter();

/** 2·|v| − sign(v): 0, −1, 1, −2, 2 … → 0, 1, 2, 3, 4 … */
function twoMagSign(v: number): number {
  return v >= 0 ? 2 * v : -2 * v - 1;
}

/**
 * RLGR-encodes `input` (typically the 4096 quantized coefficients of one tile component) into `w`,
 * leaving the bytes at w.buf[0, returned length).
 */
function encodeInto(w: BitWriter, mode: RlgrMode, input: Int16Array): number {
  w.reset();
  const n = input.length;
  let k = 1;
  let kp = 1 << LS_GR;
  let krp = 1 << LS_GR;
  let i = 0;

  // Golomb-Rice code of a non-negative value with parameter kr = krp >> 3, adapting krp.
  const codeGr = (val: number): void => {
    const kr = krp >> LS_GR;
    const vk = val >>> kr;
    w.repeat(vk, 1);
    w.ensure(1 + kr);
    w.bits(1, 0);
    w.bits(kr, val);
    if (vk === 0) krp = krp > 2 ? krp - 2 : 0;
    else if (vk > 1) krp = Math.min(krp + vk, KP_MAX);
  };

  while (i < n) {
    if (k !== 0) {
      // Run-length mode: the zeros up to the next non-zero value (or the end).
      let zeros = 0;
      while (i < n && input[i] === 0) {
        zeros++;
        i++;
      }
      let runMax = 1 << k;
      while (zeros >= runMax) {
        w.ensure(1);
        w.bits(1, 0);
        zeros -= runMax;
        kp = Math.min(kp + UP_GR, KP_MAX);
        k = kp >> LS_GR;
        runMax = 1 << k;
      }
      w.ensure(1 + k);
      w.bits(1, 1);
      w.bits(k, zeros);
      if (i === n) break; // the run ended the input: no value follows it
      const v = input[i++];
      w.ensure(1);
      w.bits(1, v < 0 ? 1 : 0);
      codeGr((v < 0 ? -v : v) - 1);
      kp = kp > DN_GR ? kp - DN_GR : 0;
      k = kp >> LS_GR;
    } else if (mode === 'rlgr1') {
      const twoMs = twoMagSign(input[i++]);
      codeGr(twoMs);
      if (twoMs === 0) kp = Math.min(kp + UQ_GR, KP_MAX);
      else kp = kp > DQ_GR ? kp - DQ_GR : 0;
      k = kp >> LS_GR;
    } else {
      const twoMs1 = twoMagSign(input[i++]);
      const twoMs2 = i < n ? twoMagSign(input[i++]) : 0;
      const sum = twoMs1 + twoMs2;
      codeGr(sum);
      const nIdx = 32 - Math.clz32(sum);
      w.ensure(nIdx);
      w.bits(nIdx, twoMs1);
      if (twoMs1 !== 0 && twoMs2 !== 0) {
        kp = kp > 2 * DQ_GR ? kp - 2 * DQ_GR : 0;
        k = kp >> LS_GR;
      } else if (twoMs1 === 0 && twoMs2 === 0) {
        kp = Math.min(kp + 2 * UQ_GR, KP_MAX);
        k = kp >> LS_GR;
      }
    }
  }
  return w.finish();
}

/** RLGR1/RLGR3-encodes `input`; the result is a fresh Buffer. */
export function rlgrEncode(mode: RlgrMode, input: Int16Array): Buffer {
  const len = encodeInto(writer, mode, input);
  return Buffer.from(writer.buf.subarray(0, len));
}

/**
 * RLGR-encodes `input` into a shared scratch buffer and returns a view of it, valid until the
 * next call of rlgrEncode/rlgrEncodeScratch (avoids a copy when the caller copies it on anyway).
 */
export function rlgrEncodeScratch(mode: RlgrMode, input: Int16Array): Uint8Array {
  const len = encodeInto(writer, mode, input);
  return writer.buf.subarray(0, len);
}

/**
 * Decodes an RLGR1/RLGR3 stream into `out` (all of it: values the stream does not reach are zero,
 * as in the decoders of Windows and FreeRDP; extra values are dropped). Throws RdpProtocolError
 * ('RDP_ERR_BAD_VALUE') for a value outside the 16-bit range.
 */
export function rlgrDecode(mode: RlgrMode, data: Uint8Array, out: Int16Array): Int16Array {
  const totalBits = data.length * 8;
  let bitPos = 0;
  let o = 0;
  const n = out.length;
  let k = 1;
  let kp = 1 << LS_GR;
  let kr = 1;
  let krp = 1 << LS_GR;

  const bit = (): number => {
    const b = (data[bitPos >>> 3] >>> (7 - (bitPos & 7))) & 1;
    bitPos++;
    return b;
  };
  /** n bits (n ≤ 24) as an unsigned number; the caller has checked they exist. */
  const read = (count: number): number => {
    let v = 0;
    for (let j = 0; j < count; j++) v = (v << 1) | bit();
    return v;
  };
  /** Counts (and consumes) the bits equal to `b` before the next other bit or the end. */
  const countRun = (b: number): number => {
    let c = 0;
    // Whole bytes at once where possible.
    while (bitPos < totalBits) {
      if ((bitPos & 7) === 0 && bitPos + 8 <= totalBits && data[bitPos >>> 3] === (b ? 0xff : 0)) {
        c += 8;
        bitPos += 8;
        continue;
      }
      if (bit() !== b) {
        bitPos--;
        break;
      }
      c++;
    }
    return c;
  };
  /** The Golomb-Rice code after its unary part `vk` (the terminating 0 already consumed). */
  const grValue = (vk: number): number | undefined => {
    if (bitPos + kr > totalBits) return undefined;
    const value = vk * (1 << kr) + read(kr);
    if (vk === 0) {
      krp = krp > 2 ? krp - 2 : 0;
      kr = krp >> LS_GR;
    } else if (vk > 1) {
      krp = Math.min(krp + vk, KP_MAX);
      kr = krp >> LS_GR;
    }
    return value;
  };
  const tooLarge = (what: string, v: number): RdpProtocolError =>
    new RdpProtocolError('RDP_ERR_BAD_VALUE', `RLGR: ${what} ${v} at bit ${bitPos} is outside the 16-bit range`);
  const fromTwoMs = (v: number): number => ((v & 1) !== 0 ? -((v + 1) / 2) : v / 2);

  while (bitPos < totalBits && o < n) {
    if (k !== 0) {
      const zeroBits = countRun(0);
      if (bitPos >= totalBits) break;
      bitPos++; // the terminating 1
      let run = 0;
      for (let j = 0; j < zeroBits; j++) {
        run += 1 << k;
        kp = Math.min(kp + UP_GR, KP_MAX);
        k = kp >> LS_GR;
      }
      if (bitPos + k > totalBits) break;
      run += read(k);
      if (bitPos >= totalBits) {
        // The run ended the stream (no value follows it).
        const end = Math.min(n, o + run);
        out.fill(0, o, end);
        o = end;
        break;
      }
      const sign = bit();
      const vk = countRun(1);
      if (bitPos >= totalBits) break;
      bitPos++; // the terminating 0
      const code = grValue(vk);
      if (code === undefined) break;
      kp = kp > DN_GR ? kp - DN_GR : 0;
      k = kp >> LS_GR;
      const mag = code + 1;
      if (mag > 32768 || (mag === 32768 && sign === 0)) throw tooLarge('magnitude', mag);
      const end = Math.min(n, o + run);
      out.fill(0, o, end);
      o = end;
      if (o < n) out[o++] = sign ? -mag : mag;
    } else {
      const vk = countRun(1);
      if (bitPos >= totalBits) break;
      bitPos++;
      const code = grValue(vk);
      if (code === undefined) break;
      if (mode === 'rlgr1') {
        if (code === 0) kp = Math.min(kp + UQ_GR, KP_MAX);
        else kp = kp > DQ_GR ? kp - DQ_GR : 0;
        k = kp >> LS_GR;
        if (code > 65535) throw tooLarge('value code', code);
        out[o++] = fromTwoMs(code);
      } else {
        if (code > 131070) throw tooLarge('value pair code', code);
        const nIdx = 32 - Math.clz32(code);
        if (bitPos + nIdx > totalBits) break;
        const val1 = read(nIdx);
        const val2 = code - val1;
        if (val1 > 65535 || val2 < 0 || val2 > 65535) throw tooLarge('value pair part', val2 < 0 ? val2 : val1);
        if (val1 !== 0 && val2 !== 0) {
          kp = kp > 2 * DQ_GR ? kp - 2 * DQ_GR : 0;
          k = kp >> LS_GR;
        } else if (val1 === 0 && val2 === 0) {
          kp = Math.min(kp + 2 * UQ_GR, KP_MAX);
          k = kp >> LS_GR;
        }
        out[o++] = fromTwoMs(val1);
        if (o < n) out[o++] = fromTwoMs(val2);
      }
    }
  }
  out.fill(0, o);
  return out;
}
