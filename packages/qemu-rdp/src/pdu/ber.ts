// The little of BER (X.690 §8) that T.125's Connect-Initial and Connect-Response need: one-byte
// universal tags, the two-byte application tags 101/102 (0x7F 0x65, 0x7F 0x66), definite lengths
// in short or long form (up to two length octets), INTEGER, ENUMERATED, BOOLEAN, OCTET STRING and
// SEQUENCE. Integers are read as unsigned, as RDP peers write 65535 as 02 02 FF FF.
import { RdpProtocolError } from './errors.js';
import { ReadCursor, WriteCursor } from './cursor.js';

export const BER_TAG_BOOLEAN = 0x01;
export const BER_TAG_INTEGER = 0x02;
export const BER_TAG_OCTET_STRING = 0x04;
export const BER_TAG_ENUMERATED = 0x0a;
export const BER_TAG_SEQUENCE = 0x30;
/** Class application, constructed, tag number in the next byte (≥ 31). */
const BER_APPLICATION_LONG_TAG = 0x7f;

/** Largest integer this reader accepts: four content octets. */
const MAX_INTEGER_OCTETS = 4;

export class BerReader {
  readonly cursor: ReadCursor;

  constructor(buf: Buffer, what = 'BER') {
    this.cursor = new ReadCursor(buf, what);
  }

  get remaining(): number {
    return this.cursor.remaining;
  }

  private fail(code: 'RDP_ERR_UNEXPECTED' | 'RDP_ERR_BAD_ENCODING' | 'RDP_ERR_BAD_LENGTH', message: string): never {
    throw new RdpProtocolError(code, `${this.cursor.what}: ${message}`);
  }

  /** A definite length, checked against the bytes left. */
  length(): number {
    const first = this.cursor.u8();
    let length: number;
    if (first < 0x80) length = first;
    else if (first === 0x81) length = this.cursor.u8();
    else if (first === 0x82) length = this.cursor.u16be();
    else return this.fail('RDP_ERR_BAD_ENCODING', `length form 0x${first.toString(16)} not supported`);
    if (length > this.cursor.remaining) {
      this.fail('RDP_ERR_BAD_LENGTH', `length ${length} exceeds the ${this.cursor.remaining} bytes left`);
    }
    return length;
  }

  /** Reads a one-byte tag that must be `tag`, then its length. */
  tag(tag: number, name: string): number {
    const got = this.cursor.u8();
    if (got !== tag) this.fail('RDP_ERR_UNEXPECTED', `${name}: tag 0x${got.toString(16)}, expected 0x${tag.toString(16)}`);
    return this.length();
  }

  /** Reads application tag `number` (≥ 31, constructed), then its length. */
  applicationTag(number: number, name: string): number {
    const first = this.cursor.u8();
    const second = this.cursor.u8();
    if (first !== BER_APPLICATION_LONG_TAG || second !== number) {
      this.fail('RDP_ERR_UNEXPECTED', `${name}: tag 0x${first.toString(16)} 0x${second.toString(16)}, expected [APPLICATION ${number}]`);
    }
    return this.length();
  }

  private unsignedContent(length: number, name: string): number {
    if (length < 1 || length > MAX_INTEGER_OCTETS) this.fail('RDP_ERR_BAD_ENCODING', `${name}: ${length}-byte integer`);
    let value = 0;
    for (const b of this.cursor.bytes(length)) value = value * 256 + b;
    return value;
  }

  /** An INTEGER read as unsigned (0 .. 2^32-1). */
  integer(name: string): number {
    let length = this.tag(BER_TAG_INTEGER, name);
    // Leading zero octets (proper BER puts one before a high bit) do not count towards the limit.
    while (length > 1 && this.cursor.buf[this.cursor.pos] === 0) {
      this.cursor.skip(1);
      length--;
    }
    return this.unsignedContent(length, name);
  }

  enumerated(name: string): number {
    return this.unsignedContent(this.tag(BER_TAG_ENUMERATED, name), name);
  }

  boolean(name: string): boolean {
    const length = this.tag(BER_TAG_BOOLEAN, name);
    if (length !== 1) this.fail('RDP_ERR_BAD_ENCODING', `${name}: ${length}-byte BOOLEAN`);
    return this.cursor.u8() !== 0;
  }

  /** An OCTET STRING of at most `maxLength` bytes, as a view into the input. */
  octetString(name: string, maxLength: number): Buffer {
    const length = this.tag(BER_TAG_OCTET_STRING, name);
    if (length > maxLength) this.fail('RDP_ERR_BAD_LENGTH', `${name}: ${length} bytes, at most ${maxLength} allowed`);
    return this.cursor.bytes(length);
  }

  /** A SEQUENCE header; returns a reader over exactly its contents and moves past them. */
  sequence(name: string): BerReader {
    const length = this.tag(BER_TAG_SEQUENCE, name);
    return new BerReader(this.cursor.bytes(length), `${this.cursor.what} ${name}`);
  }
}

/** BER length octets for `length` (short form below 128, else 0x81 or 0x82). */
export function berLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  if (length <= 0xff) return Buffer.from([0x81, length]);
  if (length <= 0xffff) return Buffer.from([0x82, length >> 8, length & 0xff]);
  throw new RangeError(`BER: length ${length} too large`);
}

/** Writer of BER values; constructed values are built from already-encoded contents. */
export class BerWriter {
  private readonly w = new WriteCursor();

  /** A TLV with a one-byte tag. */
  tlv(tag: number, contents: Buffer): this {
    this.w.u8(tag).bytes(berLength(contents.length)).bytes(contents);
    return this;
  }

  /** A constructed [APPLICATION number] value (number ≥ 31). */
  application(number: number, contents: Buffer): this {
    this.w.u8(BER_APPLICATION_LONG_TAG).u8(number).bytes(berLength(contents.length)).bytes(contents);
    return this;
  }

  /** A non-negative INTEGER in the fewest octets that keep it positive. */
  integer(value: number): this {
    return this.tlv(BER_TAG_INTEGER, unsignedOctets(value));
  }

  enumerated(value: number): this {
    return this.tlv(BER_TAG_ENUMERATED, unsignedOctets(value));
  }

  boolean(value: boolean): this {
    return this.tlv(BER_TAG_BOOLEAN, Buffer.from([value ? 0xff : 0x00]));
  }

  octetString(value: Buffer): this {
    return this.tlv(BER_TAG_OCTET_STRING, value);
  }

  sequence(contents: Buffer): this {
    return this.tlv(BER_TAG_SEQUENCE, contents);
  }

  toBuffer(): Buffer {
    return this.w.toBuffer();
  }
}

/** Two's-complement octets of a non-negative integer: 255 → 00 FF, 65528 → 00 FF F8. */
function unsignedOctets(value: number): Buffer {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`BER: integer ${value} out of range`);
  const octets: number[] = [];
  let v = value;
  do {
    octets.unshift(v % 256);
    v = Math.floor(v / 256);
  } while (v > 0);
  if (octets[0]! & 0x80) octets.unshift(0);
  return Buffer.from(octets);
}
