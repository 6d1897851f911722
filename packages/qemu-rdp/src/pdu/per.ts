// ALIGNED PER (X.691) as far as T.125's DomainMCSPDU and T.124's ConnectData /
// ConferenceCreateRequest / ConferenceCreateResponse need it: bit fields packed MSB first, with
// octet alignment where X.691 asks for it. The pieces: CHOICE indexes and ENUMERATED values
// (with an optional extension bit), constrained whole numbers (§10.5.7), semi-constrained and
// unconstrained INTEGERs (§10.6–10.8), length determinants (§10.9), OCTET STRINGs with or without
// size constraints (§16), NumericString digits (§27), OBJECT IDENTIFIERs (§24) and BOOLEANs.
//
// Length determinants follow RDP practice rather than X.691 above 16383: one octet below 128,
// else two octets whose top bit is set, giving 15 bits (Windows and FreeRDP both do this and
// never fragment). A third form does not exist here.
import { RdpProtocolError, type RdpErrorCode } from './errors.js';
import { WriteCursor } from './cursor.js';

const MAX_LENGTH_DETERMINANT = 0x7fff;
/** Integers this package reads or writes fit in 4 octets. */
const MAX_INTEGER_OCTETS = 4;

/** Bits for a constrained whole number with `range` values (X.691 §10.5.7.1). */
function bitsForRange(range: number): number {
  return range <= 1 ? 0 : 32 - Math.clz32(range - 1);
}

export class PerReader {
  /** Position in bits from the start of `buf`. */
  private bitPos = 0;

  constructor(
    readonly buf: Buffer,
    readonly what = 'PER',
  ) {}

  private fail(code: RdpErrorCode, message: string): never {
    throw new RdpProtocolError(code, `${this.what}: ${message}`);
  }

  /** Whole bytes left after the current one (a partly read byte counts as used). */
  get remainingBytes(): number {
    return this.buf.length - Math.ceil(this.bitPos / 8);
  }

  /** Up to 24 bits, most significant first. */
  bits(n: number): number {
    if (this.bitPos + n > this.buf.length * 8) {
      this.fail('RDP_ERR_TRUNCATED', `needs ${n} more bits at bit ${this.bitPos}, has ${this.buf.length * 8 - this.bitPos}`);
    }
    let value = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.buf[this.bitPos >> 3]!;
      value = (value << 1) | ((byte >> (7 - (this.bitPos & 7))) & 1);
      this.bitPos++;
    }
    return value;
  }

  bool(): boolean {
    return this.bits(1) === 1;
  }

  /** Skips to the next octet boundary (X.691 padding bits). */
  align(): void {
    this.bitPos = (this.bitPos + 7) & ~7;
  }

  /** `n` octets after aligning, as a view into the input. */
  octets(n: number): Buffer {
    this.align();
    const start = this.bitPos >> 3;
    if (n < 0 || start + n > this.buf.length) {
      this.fail('RDP_ERR_TRUNCATED', `needs ${n} more bytes at offset ${start}, has ${this.buf.length - start}`);
    }
    this.bitPos += n * 8;
    return this.buf.subarray(start, start + n);
  }

  /** A whole number in lb..ub (ranges up to 65536), X.691 §10.5.7 aligned variant. */
  constrainedWholeNumber(lb: number, ub: number, name: string): number {
    const range = ub - lb + 1;
    let offset: number;
    if (range <= 255) offset = this.bits(bitsForRange(range));
    else if (range === 256) offset = this.octets(1)[0]!;
    else if (range <= 65536) offset = this.octets(2).readUInt16BE(0);
    else throw new RangeError(`PER: range ${range} not supported`);
    const value = lb + offset;
    if (value > ub) this.fail('RDP_ERR_BAD_VALUE', `${name} ${value} above ${ub}`);
    return value;
  }

  /** A length determinant (see the header comment for the 15-bit form). */
  lengthDeterminant(): number {
    const first = this.octets(1)[0]!;
    if (first < 0x80) return first;
    return ((first & 0x7f) << 8) | this.octets(1)[0]!;
  }

  /** An INTEGER (lb..MAX): length determinant then non-negative binary of value − lb. */
  semiConstrainedInteger(lb: number, name: string): number {
    const length = this.lengthDeterminant();
    if (length < 1 || length > MAX_INTEGER_OCTETS) this.fail('RDP_ERR_BAD_ENCODING', `${name}: ${length}-octet integer`);
    let value = 0;
    for (const b of this.octets(length)) value = value * 256 + b;
    return lb + value;
  }

  /** An unconstrained INTEGER: length determinant then two's complement. */
  integer(name: string): number {
    const length = this.lengthDeterminant();
    if (length < 1 || length > MAX_INTEGER_OCTETS) this.fail('RDP_ERR_BAD_ENCODING', `${name}: ${length}-octet integer`);
    const octets = this.octets(length);
    return octets.readIntBE(0, length);
  }

  /**
   * The index of a CHOICE alternative or an ENUMERATED value among `count` root values. With
   * `extensible`, an extension bit comes first; a set bit (a value from a later version of the
   * type) is refused as RDP_ERR_UNEXPECTED.
   */
  index(count: number, extensible: boolean, name: string): number {
    if (extensible && this.bool()) this.fail('RDP_ERR_UNEXPECTED', `${name}: extension value`);
    const value = this.bits(bitsForRange(count));
    if (value >= count) this.fail('RDP_ERR_BAD_VALUE', `${name}: ${value} is not one of ${count} values`);
    return value;
  }

  /**
   * An OCTET STRING. Without bounds its length is a length determinant; with `lb..ub` (ub below
   * 64K) it is a constrained whole number. `maxLength` caps what the client may claim.
   */
  octetString(name: string, maxLength: number, lb?: number, ub?: number): Buffer {
    const length = lb === undefined || ub === undefined ? this.lengthDeterminant() : this.constrainedWholeNumber(lb, ub, `${name} length`);
    if (length > maxLength) this.fail('RDP_ERR_BAD_LENGTH', `${name}: ${length} bytes, at most ${maxLength} allowed`);
    return this.octets(length);
  }

  /** A NumericString restricted to the digits 0–9 (T.124 SimpleNumericString), size lb..ub ≤ 255. */
  numericString(lb: number, ub: number, name: string): string {
    const length = this.constrainedWholeNumber(lb, ub, `${name} length`);
    if (ub * 4 > 16) this.align();
    let digits = '';
    for (let i = 0; i < length; i++) {
      const digit = this.bits(4);
      if (digit > 9) this.fail('RDP_ERR_BAD_VALUE', `${name}: ${digit} is not a digit`);
      digits += String(digit);
    }
    return digits;
  }

  /** An OBJECT IDENTIFIER: its BER contents octets (at most `maxLength`). */
  objectIdentifier(name: string, maxLength = 16): Buffer {
    return this.octetString(name, maxLength);
  }
}

export class PerWriter {
  private readonly out = new WriteCursor();
  /** Bits waiting for a full octet, and how many. */
  private pending = 0;
  private pendingBits = 0;

  bits(value: number, n: number): this {
    for (let i = n - 1; i >= 0; i--) {
      this.pending = (this.pending << 1) | ((value >>> i) & 1);
      if (++this.pendingBits === 8) {
        this.out.u8(this.pending);
        this.pending = 0;
        this.pendingBits = 0;
      }
    }
    return this;
  }

  bool(value: boolean): this {
    return this.bits(value ? 1 : 0, 1);
  }

  align(): this {
    if (this.pendingBits > 0) this.bits(0, 8 - this.pendingBits);
    return this;
  }

  octets(value: Uint8Array): this {
    this.align();
    this.out.bytes(value);
    return this;
  }

  constrainedWholeNumber(value: number, lb: number, ub: number): this {
    if (!Number.isInteger(value) || value < lb || value > ub) throw new RangeError(`PER: ${value} outside ${lb}..${ub}`);
    const range = ub - lb + 1;
    const offset = value - lb;
    if (range <= 255) return this.bits(offset, bitsForRange(range));
    this.align();
    if (range === 256) this.out.u8(offset);
    else if (range <= 65536) this.out.u16be(offset);
    else throw new RangeError(`PER: range ${range} not supported`);
    return this;
  }

  lengthDeterminant(length: number): this {
    if (!Number.isInteger(length) || length < 0 || length > MAX_LENGTH_DETERMINANT) throw new RangeError(`PER: length ${length} out of range`);
    this.align();
    if (length < 0x80) this.out.u8(length);
    else this.out.u16be(0x8000 | length);
    return this;
  }

  semiConstrainedInteger(value: number, lb: number): this {
    const octets = minimalOctets(value - lb, false);
    return this.lengthDeterminant(octets.length).octets(octets);
  }

  integer(value: number): this {
    const octets = minimalOctets(value, true);
    return this.lengthDeterminant(octets.length).octets(octets);
  }

  index(value: number, count: number, extensible: boolean): this {
    if (extensible) this.bits(0, 1);
    return this.constrainedWholeNumber(value, 0, count - 1);
  }

  octetString(value: Uint8Array, lb?: number, ub?: number): this {
    if (lb === undefined || ub === undefined) this.lengthDeterminant(value.length);
    else this.constrainedWholeNumber(value.length, lb, ub);
    return this.octets(value);
  }

  numericString(digits: string, lb: number, ub: number): this {
    if (!/^[0-9]*$/.test(digits)) throw new RangeError(`PER: "${digits}" is not a numeric string`);
    this.constrainedWholeNumber(digits.length, lb, ub);
    if (ub * 4 > 16) this.align();
    for (const d of digits) this.bits(Number(d), 4);
    return this;
  }

  objectIdentifier(contents: Uint8Array): this {
    return this.octetString(contents);
  }

  /** The octets written; a partly filled last octet is padded with zero bits. */
  toBuffer(): Buffer {
    this.align();
    return this.out.toBuffer();
  }
}

/** The fewest big-endian octets for `value` (two's complement when `signed`). */
function minimalOctets(value: number, signed: boolean): Buffer {
  if (!Number.isInteger(value) || (!signed && value < 0)) throw new RangeError(`PER: integer ${value} out of range`);
  for (let n = 1; n <= MAX_INTEGER_OCTETS; n++) {
    const bits = n * 8;
    const fits = signed ? value >= -(2 ** (bits - 1)) && value < 2 ** (bits - 1) : value < 2 ** bits;
    if (!fits) continue;
    const out = Buffer.alloc(n);
    if (signed) out.writeIntBE(value, 0, n);
    else out.writeUIntBE(value, 0, n);
    return out;
  }
  throw new RangeError(`PER: integer ${value} needs more than ${MAX_INTEGER_OCTETS} octets`);
}
