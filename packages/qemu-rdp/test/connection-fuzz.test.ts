// Random and mutated bytes into every connection-sequence decoder: each may return a value or
// throw RdpProtocolError, never anything else (no RangeError, TypeError or hang). Seeds are
// well-formed PDUs built with this package's own writers, so mutations reach deep fields.
import { describe, expect, it } from 'vitest';
import { BerWriter } from '../src/pdu/ber.js';
import { decodeClientInfoPdu, INFO_UNICODE } from '../src/pdu/client-info.js';
import { ReadCursor } from '../src/pdu/cursor.js';
import { RdpProtocolError } from '../src/pdu/errors.js';
import { decodeClientDataBlocks, decodeConferenceCreateRequest } from '../src/pdu/gcc.js';
import { decodeConnectInitial, decodeDomainPdu, negotiateDomainParameters, SERVER_DOMAIN_PARAMETERS } from '../src/pdu/mcs.js';
import { PerWriter } from '../src/pdu/per.js';
import { decodeSecurityHeader } from '../src/pdu/security-header.js';
import { encodeTpkt, fastPathFrameLength, frameLength, tpktFrameLength } from '../src/pdu/tpkt.js';
import { decodeConnectionRequest, decodeX224Data, encodeX224Data } from '../src/pdu/x224.js';
import { seededUint32 } from './seeded-random.js';

const ITERATIONS = 20_000;


function block(type: number, body: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt16LE(type, 0);
  header.writeUInt16LE(body.length + 4, 2);
  return Buffer.concat([header, body]);
}

function u32s(...values: number[]): Buffer {
  const out = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => out.writeInt32LE(v | 0, i * 4));
  return out;
}

function clientDataBlocks(): Buffer {
  const core = Buffer.alloc(216 - 4 + 18);
  core.writeUInt32LE(0x00080004, 0);
  core.writeUInt16LE(1024, 4);
  core.writeUInt16LE(768, 6);
  core.write('FUZZ', 20, 'utf16le');
  core.writeUInt16LE(0x0001, 140); // earlyCapabilityFlags
  const channel = (name: string, options: number): Buffer => {
    const def = Buffer.alloc(12);
    def.write(name, 0, 'latin1');
    def.writeUInt32LE(options, 8);
    return def;
  };
  return Buffer.concat([
    block(0xc001, core),
    block(0xc002, u32s(0x1b, 0)),
    block(0xc003, Buffer.concat([u32s(2), channel('rdpdr', 0x80800000), channel('cliprdr', 0xc0a00000)])),
    block(0xc004, u32s(0x0d, 0)),
    block(0xc005, u32s(0, 2, 0, 0, 1919, 1079, 1, -1280, 0, -1, 1023, 0)),
    block(0xc006, u32s(0)),
    block(0xc008, u32s(0, 20, 1, 520, 290, 0, 100, 100)),
    block(0xc0aa, Buffer.from([1, 2, 3])),
  ]);
}

function conferenceCreateRequest(blocks: Buffer): Buffer {
  const connectPdu = new PerWriter()
    .index(0, 8, true) // conferenceCreateRequest
    .bits(0, 1)
    .bits(0x01, 8) // userData only
    .bool(false)
    .bool(false)
    .numericString('1', 1, 255)
    .bits(0, 3)
    .index(0, 2, true)
    .lengthDeterminant(1)
    .bool(true)
    .index(1, 2, false)
    .octetString(Buffer.from('Duca'), 4, 255)
    .octetString(blocks)
    .toBuffer();
  return new PerWriter().index(0, 2, false).objectIdentifier(Buffer.from([0, 0x14, 0x7c, 0, 1])).octetString(connectPdu).toBuffer();
}

function connectInitial(userData: Buffer): Buffer {
  const params = (values: number[]): Buffer => {
    const w = new BerWriter();
    for (const v of values) w.integer(v);
    return w.toBuffer();
  };
  const body = new BerWriter()
    .octetString(Buffer.from([1]))
    .octetString(Buffer.from([1]))
    .boolean(true)
    .sequence(params([34, 2, 0, 1, 0, 1, 65535, 2]))
    .sequence(params([1, 1, 1, 1, 0, 1, 1056, 2]))
    .sequence(params([65535, 64535, 65535, 1, 0, 1, 65535, 2]))
    .octetString(userData)
    .toBuffer();
  return new BerWriter().application(101, body).toBuffer();
}

function clientInfo(): Buffer {
  const z = (s: string): Buffer => Buffer.from(`${s}\0`, 'utf16le');
  const header = Buffer.alloc(22);
  header.writeUInt16LE(0x40, 0); // SEC_INFO_PKT
  header.writeUInt32LE(0x0409, 4);
  header.writeUInt32LE(INFO_UNICODE | 0x3, 8);
  header.writeUInt16LE(4, 12); // cbDomain
  header.writeUInt16LE(8, 14); // cbUserName
  header.writeUInt16LE(4, 16); // cbPassword
  const extended = Buffer.concat([
    Buffer.from([2, 0, 18, 0]), // AF_INET, cbClientAddress
    z('10.0.0.1'),
    Buffer.from([10, 0]), // cbClientDir
    z('C:\\x'),
    Buffer.alloc(172),
    u32s(0, 0x1),
    Buffer.from([28, 0]),
    Buffer.alloc(28, 7),
    Buffer.from([0, 0, 0, 0, 4, 0]),
    z('a'),
    Buffer.from([0, 0]),
  ]);
  return Buffer.concat([header, z('DO'), z('user'), z('pw'), z(''), z(''), extended]);
}

function sendDataRequest(data: Buffer): Buffer {
  return new PerWriter().index(25, 43, false).constrainedWholeNumber(1007, 1001, 65535).constrainedWholeNumber(1003, 0, 65535).bits(1, 2).bits(3, 2).octetString(data).toBuffer();
}

const BLOCKS = clientDataBlocks();
const GCC = conferenceCreateRequest(BLOCKS);
const CONNECT_INITIAL = connectInitial(GCC);
const CLIENT_INFO = clientInfo();
const DOMAIN_PDUS = [
  Buffer.from([0x04, 0x01, 0x00, 0x01, 0x00]),
  Buffer.from([0x28]),
  Buffer.from([0x38, 0x00, 0x06, 0x03, 0xef]),
  Buffer.from([0x21, 0x80]),
  sendDataRequest(CLIENT_INFO),
];
/** A Connection Request TPKT frame with this variable part (the LI counts it and the fixed part). */
const connectionRequest = (variable: Buffer): Buffer => encodeTpkt(Buffer.concat([Buffer.from([6 + variable.length, 0xe0, 0, 0, 0, 0, 0]), variable]));
const CONNECTION_REQUESTS = [
  connectionRequest(Buffer.concat([Buffer.from('Cookie: mstshash=fuzz\r\n'), Buffer.from([1, 0, 8, 0, 3, 0, 0, 0])])),
  connectionRequest(Buffer.concat([Buffer.from([1, 8, 8, 0, 1, 0, 0, 0, 6, 0, 36, 0]), Buffer.alloc(32, 0x11)])),
  connectionRequest(Buffer.from('Cookie: msts=12345.6.0\r\n')),
];

type Target = { name: string; seeds: Buffer[]; wrapTpkt: boolean; decode: (buf: Buffer) => unknown };

/** Decodes a whole TPKT frame the way the server will: X.224, then MCS, then what MCS carries. */
function decodeFrameChain(frame: Buffer): unknown {
  const x224 = decodeX224Data(frame);
  if (x224.kind !== 'data') return x224;
  if (x224.payload[0] === 0x7f) {
    const ci = decodeConnectInitial(x224.payload);
    negotiateDomainParameters(ci, SERVER_DOMAIN_PARAMETERS);
    return decodeConferenceCreateRequest(ci.userData);
  }
  const pdu = decodeDomainPdu(x224.payload);
  return pdu.kind === 'sendDataRequest' ? decodeClientInfoPdu(pdu.data) : pdu;
}

const TARGETS: Target[] = [
  {
    name: 'framing',
    seeds: [CONNECTION_REQUESTS[0]!, Buffer.from([0x44, 0x81, 0x2c]), Buffer.from([0x44, 0x09])],
    wrapTpkt: false,
    decode: (buf) => [frameLength(buf), buf.length >= 4 ? tpktFrameLength(buf, 0xffff) : 0, buf.length > 0 && (buf[0]! & 3) === 0 ? fastPathFrameLength(buf) : 0],
  },
  { name: 'X.224 Connection Request', seeds: CONNECTION_REQUESTS.map((f) => f.subarray(4)), wrapTpkt: true, decode: decodeConnectionRequest },
  { name: 'frame chain', seeds: [CONNECT_INITIAL, ...DOMAIN_PDUS].map((p) => Buffer.concat([Buffer.from([2, 0xf0, 0x80]), p])), wrapTpkt: true, decode: decodeFrameChain },
  { name: 'MCS Connect-Initial', seeds: [CONNECT_INITIAL], wrapTpkt: false, decode: decodeConnectInitial },
  { name: 'GCC Conference Create Request', seeds: [GCC], wrapTpkt: false, decode: decodeConferenceCreateRequest },
  { name: 'GCC client data blocks', seeds: [BLOCKS], wrapTpkt: false, decode: decodeClientDataBlocks },
  { name: 'MCS domain PDU', seeds: DOMAIN_PDUS, wrapTpkt: false, decode: decodeDomainPdu },
  { name: 'Client Info PDU', seeds: [CLIENT_INFO], wrapTpkt: false, decode: decodeClientInfoPdu },
  { name: 'security header', seeds: [CLIENT_INFO.subarray(0, 6)], wrapTpkt: false, decode: (buf) => decodeSecurityHeader(new ReadCursor(buf)) },
];

function mutate(seed: Buffer, next: () => number): Buffer {
  let buf = Buffer.from(seed);
  const mode = next() % 6;
  if (mode === 0) {
    // Pure noise.
    buf = Buffer.alloc(next() % 64);
    for (let i = 0; i < buf.length; i++) buf[i] = next() & 0xff;
    return buf;
  }
  if (buf.length === 0) return buf;
  for (let flips = 1 + (next() % 4); flips > 0; flips--) {
    const at = next() % buf.length;
    // Mostly bytes that act as lengths or flags in these formats.
    buf[at] = [0x00, 0x01, 0x7f, 0x80, 0x81, 0x82, 0xff, next() & 0xff][next() % 8]!;
  }
  if (mode === 1) buf = buf.subarray(0, next() % (buf.length + 1));
  if (mode === 2) buf = Buffer.concat([buf, Buffer.from([next() & 0xff, next() & 0xff, next() & 0xff])]);
  if (mode === 3) {
    const at = next() % buf.length;
    buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + 1 + (next() % 8))]);
  }
  return buf;
}

describe('connection sequence decoders under fuzzing', () => {
  it('decode every seed as is', () => {
    for (const target of TARGETS) {
      for (const seed of target.seeds) {
        expect(() => target.decode(target.wrapTpkt ? encodeTpkt(seed) : seed), target.name).not.toThrow();
      }
    }
    expect(decodeFrameChain(encodeX224Data(sendDataRequest(CLIENT_INFO)))).toMatchObject({ userName: 'user', password: 'pw' });
  });

  it(`survive ${ITERATIONS} random and mutated inputs with RdpProtocolError only`, () => {
    const next = seededUint32(0x7d9c0a11);
    const outcomes = new Map<string, { ok: number; rejected: number }>();
    for (let i = 0; i < ITERATIONS; i++) {
      const target = TARGETS[next() % TARGETS.length]!;
      let input = mutate(target.seeds[next() % target.seeds.length]!, next);
      // Re-wrapping keeps the TPKT length right, so mutations inside the frame are reached.
      if (target.wrapTpkt) input = input.length + 4 <= 0xffff ? encodeTpkt(input) : input;
      const tally = outcomes.get(target.name) ?? { ok: 0, rejected: 0 };
      outcomes.set(target.name, tally);
      try {
        target.decode(input);
        tally.ok++;
      } catch (err) {
        if (!(err instanceof RdpProtocolError)) {
          throw new Error(`${target.name} threw ${String(err)} on ${input.toString('hex')}`);
        }
        tally.rejected++;
      }
    }
    // Both outcomes happen for the structured decoders: the fuzzing reaches past the first check.
    for (const [name, tally] of outcomes) {
      expect(tally.rejected, name).toBeGreaterThan(0);
      expect(tally.ok, name).toBeGreaterThan(0);
    }
  });
});
