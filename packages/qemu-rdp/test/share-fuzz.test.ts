// Bounded fuzzing of every share-level decoder: valid seeds (built with this package's encoders
// or written out per MS-RDPBCGR) are mutated with a seeded PRNG, and random buffers are thrown in;
// a decoder may return or throw RdpProtocolError, never anything else (RangeError, TypeError...).
import { describe, expect, it } from 'vitest';
import { decodeClientDataPdu, decodeConfirmActive } from '../src/pdu/activation.js';
import { buildServerCapabilitySets, decodeCapabilitySets, encodeCapabilitySet, summarizeClientCapabilities } from '../src/pdu/capabilities.js';
import { ReadCursor, WriteCursor } from '../src/pdu/cursor.js';
import { RdpProtocolError } from '../src/pdu/errors.js';
import { FastPathUpdateCode, decodeFastPathInput, peekFastPathLength } from '../src/pdu/fast-path.js';
import { decodeSlowPathInput } from '../src/pdu/input.js';
import { decodePointerShape, encodePointerImage, pointerShapeToImage } from '../src/pdu/pointer.js';
import { PduType, PduType2, decodeSharePdus, encodeShareControl, encodeShareData } from '../src/pdu/share.js';
import { seededRandom } from './seeded-random.js';

const ITERATIONS = 20_000;


function confirmActiveSeed(): Buffer {
  const sets = [
    ...buildServerCapabilitySets({ desktopWidth: 1024, desktopHeight: 768, surfaceCommandFlags: 0x52, frameAcknowledge: 2 }),
    { type: 0x08, data: Buffer.from([1, 0, 20, 0]) }, // short pointer set
    { type: 0x1d, data: Buffer.from([1, ...new Array<number>(16).fill(0x11), 3, 2, 0, 9, 9]) }, // one codec
  ];
  const encoded = Buffer.concat(sets.map(encodeCapabilitySet));
  const source = Buffer.from('MSTSC\0', 'latin1');
  const body = new WriteCursor()
    .u32le(0x103ea)
    .u16le(0x3ea)
    .u16le(source.length)
    .u16le(4 + encoded.length)
    .bytes(source)
    .u16le(sets.length)
    .u16le(0)
    .bytes(encoded)
    .toBuffer();
  return encodeShareControl(PduType.CONFIRM_ACTIVE, 1007, body);
}

const clientData = (pduType2: number, ...body: number[]): Buffer => encodeShareData(0x103ea, 1007, pduType2, Buffer.from(body));

const SEEDS: Buffer[] = [
  confirmActiveSeed(),
  clientData(PduType2.SYNCHRONIZE, 1, 0, 0xea, 3),
  clientData(PduType2.CONTROL, 4, 0, 0, 0, 0, 0, 0, 0),
  clientData(PduType2.FONTLIST, 0, 0, 0, 0, 3, 0, 0x32, 0),
  clientData(PduType2.REFRESH_RECT, 2, 0, 0, 0, 0, 0, 0, 0, 10, 0, 10, 0, 5, 0, 5, 0, 20, 0, 20, 0),
  clientData(PduType2.SUPPRESS_OUTPUT, 1, 0, 0, 0, 0, 0, 0, 0, 0x1f, 3, 0x57, 2),
  clientData(PduType2.SHUTDOWN_REQUEST),
  clientData(
    PduType2.INPUT,
    ...[3, 0, 0, 0],
    ...[1, 0, 0, 0, 0x00, 0x00, 0, 0, 2, 0, 0, 0], // sync
    ...[2, 0, 0, 0, 0x04, 0x00, 0x00, 0x81, 0x1e, 0, 0, 0], // scancode
    ...[3, 0, 0, 0, 0x01, 0x80, 0x88, 0x03, 0x10, 0, 0x20, 0], // mouse wheel -120
  ),
  Buffer.from([0x00, 0x80, 0x41, 0x00, 0x01, 0x01, 0xef, 0x03]), // flow PDU
  // fast-path input: mouse down, move, and one of every other event type
  Buffer.from([0x18, 0x2c, ...[0x20, 0x00, 0x90, 0x1a, 0x00, 0x26, 0x04], ...Array.from({ length: 5 }, () => [0x20, 0x00, 0x08, 0x1b, 0x00, 0x26, 0x04]).flat()]),
  Buffer.from([0x00, 0x21, 0x08, 0x02, 0x1d, 0x05, 0x1d, 0x80, 0x41, 0x00, 0x81, 0x3d, 0xd8, 0x40, 0x02, 0x80, 0x0a, 0x00, 0x0b, 0x00, 0x66, 0xa0, 0x00, 0x18, 0xfb, 0xff, 0x03, 0x00, 0xc0, 0x10, 0x27, 0x00, 0x00]),
];

const cursorImage = (w: number, h: number) => ({ width: w, height: h, hotX: 1, hotY: 1, data: Buffer.alloc(w * h * 4, 0x7f) });
const POINTER_SEEDS = [
  encodePointerImage(cursorImage(5, 3)),
  encodePointerImage(cursorImage(7, 2), { colorOnly: true }),
  encodePointerImage(cursorImage(97, 2), { largePointerFlags: 3 }),
];

function mutate(seed: Buffer, rand: () => number): Buffer {
  const int = (n: number): number => Math.floor(rand() * n);
  let b = Buffer.from(seed);
  const rounds = 1 + int(4);
  for (let r = 0; r < rounds; r++) {
    const at = b.length ? int(b.length) : 0;
    switch (int(7)) {
      case 0: // flip a bit
        if (b.length) b[at] ^= 1 << int(8);
        break;
      case 1: // an interesting byte
        if (b.length) b[at] = [0x00, 0xff, 0x7f, 0x80, 0x01, int(256)][int(6)]!;
        break;
      case 2: // an interesting 16-bit little-endian value (often a length field)
        if (b.length >= 2) b.writeUInt16LE([0, 1, 3, 4, 0x7fff, 0x8000, 0xffff, b.length, b.length + 1][int(9)]! & 0xffff, Math.min(at, b.length - 2));
        break;
      case 3: // truncate
        b = b.subarray(0, int(b.length + 1));
        break;
      case 4: // append random bytes
        b = Buffer.concat([b, Buffer.from(Array.from({ length: 1 + int(16) }, () => int(256)))]);
        break;
      case 5: // duplicate a slice
        b = Buffer.concat([b.subarray(0, at), b.subarray(int(b.length + 1)), b.subarray(at)]);
        break;
      default: // delete a few bytes
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + int(4))]);
    }
  }
  return b;
}

const CLIENT_PDUTYPE2 = [
  PduType2.SYNCHRONIZE,
  PduType2.CONTROL,
  PduType2.FONTLIST,
  PduType2.INPUT,
  PduType2.REFRESH_RECT,
  PduType2.SUPPRESS_OUTPUT,
  PduType2.SHUTDOWN_REQUEST,
];

/** Runs every decoder that could meet these bytes; returns how many accepted them. */
function decodeAll(b: Buffer, rand: () => number): number {
  let accepted = 0;
  const attempt = (fn: () => unknown): void => {
    try {
      fn();
      accepted++;
    } catch (e) {
      if (!(e instanceof RdpProtocolError)) throw e;
    }
  };
  attempt(() => {
    for (const pdu of decodeSharePdus(b)) {
      if (pdu.kind === 'confirmActive') decodeConfirmActive(pdu.body);
      if (pdu.kind === 'data') decodeClientDataPdu(pdu.pduType2, pdu.body);
    }
  });
  attempt(() => decodeConfirmActive(b.subarray(6)));
  attempt(() => decodeClientDataPdu(CLIENT_PDUTYPE2[Math.floor(rand() * CLIENT_PDUTYPE2.length)]!, b.subarray(18)));
  attempt(() => decodeSlowPathInput(b.subarray(18)));
  attempt(() => decodeFastPathInput(b));
  attempt(() => peekFastPathLength(b));
  attempt(() => summarizeClientCapabilities(decodeCapabilitySets(new ReadCursor(b), Math.floor(rand() * 70))));
  return accepted;
}

describe('share decoders under fuzzing', () => {
  it(`only ever throw RdpProtocolError (${ITERATIONS} seeded cases)`, () => {
    const rand = seededRandom(0x5eed_0004);
    let accepted = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const roll = rand();
      let input: Buffer;
      if (roll < 0.1) input = Buffer.from(Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)));
      else input = mutate(SEEDS[Math.floor(rand() * SEEDS.length)]!, rand);
      try {
        accepted += decodeAll(input, rand);
        if (roll > 0.9) {
          const seed = POINTER_SEEDS[Math.floor(rand() * POINTER_SEEDS.length)]!;
          const updateCode = [FastPathUpdateCode.POINTER, FastPathUpdateCode.COLOR, FastPathUpdateCode.LARGE_POINTER, seed.updateCode][Math.floor(rand() * 4)]!;
          try {
            pointerShapeToImage(decodePointerShape({ updateCode, data: mutate(seed.data, rand) }));
          } catch (e) {
            if (!(e instanceof RdpProtocolError)) throw e;
          }
        }
      } catch (e) {
        throw new Error(`case ${i}: ${String(e)} for input ${input.toString('hex')}`, { cause: e });
      }
    }
    expect(accepted).toBeGreaterThan(ITERATIONS); // the mutations leave plenty of valid PDUs
  });
});
