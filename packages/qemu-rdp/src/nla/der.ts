// The small part of DER (X.690 §10 over §8) that CredSSP's TSRequest (MS-CSSP 2.2.1) and SPNEGO
// (RFC 4178, MS-SPNG) need: one-byte tags (universal and context-specific [0]..[30]), definite
// lengths up to four length octets, INTEGER (signed, up to 32 bits), ENUMERATED, OCTET STRING,
// OBJECT IDENTIFIER (kept as raw bytes) and SEQUENCE. ../pdu/ber.ts serves T.125 and stays as is.
import { ReadCursor } from '../pdu/cursor.js';
import { RdpProtocolError } from '../pdu/errors.js';

export const DER_TAG_INTEGER = 0x02;
export const DER_TAG_OCTET_STRING = 0x04;
export const DER_TAG_OID = 0x06;
export const DER_TAG_ENUMERATED = 0x0a;
export const DER_TAG_SEQUENCE = 0x30;
/** Application class, constructed, number 0: GSS-API's InitialContextToken (RFC 2743 3.1). */
export const DER_TAG_APPLICATION_0 = 0x60;

/** Context-specific, constructed [n]: the explicit tags of TSRequest's fields. */
export function contextTag(n: number): number {
  return 0xa0 | n;
}

/** One TLV: its tag and a view of its contents. */
export interface DerElement {
  tag: number;
  contents: Buffer;
}

/** Reads TLVs in sequence over a buffer; every failure is an RdpProtocolError. */
export class DerReader {
  private readonly cursor: ReadCursor;

  constructor(buf: Buffer, readonly what = 'DER') {
    this.cursor = new ReadCursor(buf, what);
  }

  get remaining(): number {
    return this.cursor.remaining;
  }

  private fail(message: string): never {
    throw new RdpProtocolError('RDP_ERR_BAD_ENCODING', `${this.what}: ${message}`);
  }

  /** The tag of the next element, without consuming it; undefined at the end. */
  peekTag(): number | undefined {
    return this.cursor.remaining > 0 ? this.cursor.buf[this.cursor.pos] : undefined;
  }

  /** The next element, whatever its tag. */
  element(): DerElement {
    const tag = this.cursor.u8();
    if ((tag & 0x1f) === 0x1f) this.fail(`multi-byte tag 0x${tag.toString(16)} is not used here`);
    const length = readLength(this.cursor, this.what);
    return { tag, contents: this.cursor.bytes(length) };
  }

  /** The contents of the next element, which must carry `tag`. */
  expect(tag: number, name: string): Buffer {
    const element = this.element();
    if (element.tag !== tag) {
      throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `${this.what}: ${name}: tag 0x${element.tag.toString(16)}, expected 0x${tag.toString(16)}`);
    }
    return element.contents;
  }

  /** The contents of the next element if it carries `tag`, else undefined (nothing consumed). */
  optional(tag: number, name: string): Buffer | undefined {
    return this.peekTag() === tag ? this.expect(tag, name) : undefined;
  }

  /** A reader over the contents of the next element, which must carry `tag`. */
  enter(tag: number, name: string): DerReader {
    return new DerReader(this.expect(tag, name), `${this.what} ${name}`);
  }

  end(): void {
    if (this.cursor.remaining !== 0) this.fail(`${this.cursor.remaining} unexpected trailing bytes`);
  }
}

function readLength(cursor: ReadCursor, what: string): number {
  const first = cursor.u8();
  if (first < 0x80) return first;
  const octets = first & 0x7f;
  if (octets === 0) throw new RdpProtocolError('RDP_ERR_BAD_ENCODING', `${what}: indefinite length is not DER`);
  if (octets > 4) throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `${what}: ${octets} length octets`);
  let length = 0;
  for (let i = 0; i < octets; i++) length = length * 256 + cursor.u8();
  return length;
}

/**
 * A signed INTEGER of one to four content octets. Five octets are accepted when the first is zero,
 * as some peers write unsigned 32-bit values (FreeRDP's errorCode) that way.
 */
export function decodeInteger(contents: Buffer, what: string): number {
  if (contents.length === 5 && contents[0] === 0) return contents.readUInt32BE(1);
  if (contents.length < 1 || contents.length > 4) {
    throw new RdpProtocolError('RDP_ERR_BAD_ENCODING', `${what}: INTEGER of ${contents.length} octets`);
  }
  return contents.readIntBE(0, contents.length);
}

/** Total bytes of the first TLV in `buf` once its header is complete; undefined while it is not. */
export function derElementLength(buf: Buffer): number | undefined {
  if (buf.length < 2) return undefined;
  const first = buf[1]!;
  if (first < 0x80) return 2 + first;
  const octets = first & 0x7f;
  if (octets === 0) throw new RdpProtocolError('RDP_ERR_BAD_ENCODING', 'DER: indefinite length is not DER');
  if (octets > 4) throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `DER: ${octets} length octets`);
  if (buf.length < 2 + octets) return undefined;
  let length = 0;
  for (let i = 0; i < octets; i++) length = length * 256 + buf[2 + i]!;
  return 2 + octets + length;
}

// ---- writing: each function returns a whole TLV ----

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const octets: number[] = [];
  for (let v = length; v > 0; v = Math.floor(v / 256)) octets.unshift(v & 0xff);
  return Buffer.from([0x80 | octets.length, ...octets]);
}

export function derTlv(tag: number, ...contents: Uint8Array[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), encodeLength(body.length), body]);
}

export function derSequence(...elements: Uint8Array[]): Buffer {
  return derTlv(DER_TAG_SEQUENCE, ...elements);
}

/** [n] EXPLICIT around one element. */
export function derContext(n: number, element: Uint8Array): Buffer {
  return derTlv(contextTag(n), element);
}

export function derOctetString(value: Uint8Array): Buffer {
  return derTlv(DER_TAG_OCTET_STRING, value);
}

/** A signed 32-bit INTEGER (or ENUMERATED) in the fewest octets two's complement allows. */
export function derInteger(value: number, tag = DER_TAG_INTEGER): Buffer {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0x7fffffff) throw new RangeError(`DER INTEGER ${value} out of int32 range`);
  let octets = 4;
  while (octets > 1) {
    const top = 2 ** ((octets - 1) * 8 - 1);
    if (value >= -top && value < top) octets--;
    else break;
  }
  const out = Buffer.alloc(octets);
  out.writeIntBE(value, 0, octets);
  return derTlv(tag, out);
}
