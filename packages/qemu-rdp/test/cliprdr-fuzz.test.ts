// Bounded, seeded fuzzing of the cliprdr decoder and channel: valid client PDUs are mutated
// (bytes flipped, lengths patched, cut short, extended) and random buffers thrown in. Decoding
// may return or throw RdpProtocolError, nothing else; the channel likewise, whatever it is fed.
import { EventEmitter } from 'node:events';
import { describe, expect, it, vi } from 'vitest';
import type { ClipboardPeer, QemuDisplay } from '@vdi-sidecar/display-core';
import { createCliprdrChannel, REQUEST_DELAY_MS } from '../src/channels/cliprdr.js';
import {
  CB_USE_LONG_FORMAT_NAMES,
  decodeClientClipPdu,
  decodeClipboardText,
  encodeClipCapabilities,
  encodeFormatDataRequest,
  encodeFormatDataResponse,
  encodeFormatList,
  encodeFormatListResponse,
  encodeUnicodeText,
} from '../src/pdu/cliprdr.js';
import { RdpProtocolError } from '../src/pdu/errors.js';
import { seededRandom } from './seeded-random.js';

const ITERATIONS = 10_000;


const SEEDS: Buffer[] = [
  encodeClipCapabilities(0x0e),
  encodeFormatList(
    [
      { id: 13, name: '' },
      { id: 1, name: '' },
      { id: 0xc00d, name: 'HTML Format' },
    ],
    true,
  ),
  encodeFormatList(
    [
      { id: 13, name: '' },
      { id: 0xc004, name: 'Native' },
    ],
    false,
  ),
  encodeFormatListResponse(true),
  encodeFormatDataRequest(13),
  encodeFormatDataResponse(encodeUnicodeText('Grüße ✓\nclipboard')),
  encodeFormatDataResponse(undefined),
  Buffer.from('0600000008020000', 'hex'), // Temporary Directory header (body added by mutation)
  Buffer.from('0a000000040000000100000000', 'hex'), // Lock
  Buffer.from('08000000180000000100000002000000030000000000000000000000', 'hex'), // File Contents Request
];

function mutate(seed: Buffer, rand: () => number): Buffer {
  const buf = Buffer.from(seed);
  const pick = rand();
  if (pick < 0.15) return Buffer.from(Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)));
  if (pick < 0.3) return buf.subarray(0, Math.floor(rand() * buf.length));
  if (pick < 0.45 && buf.length >= 8) {
    // A lying dataLen, or another message type with this body.
    if (rand() < 0.5) buf.writeUInt32LE(Math.floor(rand() * (buf.length + 16)), 4);
    else buf.writeUInt16LE(Math.floor(rand() * 14), 0);
    return buf;
  }
  if (pick < 0.55) return Buffer.concat([buf, Buffer.from(Array.from({ length: Math.floor(rand() * 40) }, () => Math.floor(rand() * 256)))]);
  const flips = 1 + Math.floor(rand() * 4);
  for (let i = 0; i < flips && buf.length; i++) buf[Math.floor(rand() * buf.length)] = Math.floor(rand() * 256);
  return buf;
}

function expectOnlyProtocolErrors(fn: () => unknown, input: Buffer): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof RdpProtocolError)) throw new Error(`${input.toString('hex')}: ${(err as Error).stack ?? String(err)}`);
  }
}

describe('cliprdr fuzz', () => {
  it(`decodes ${ITERATIONS} mutated PDUs throwing only RdpProtocolError`, () => {
    const rand = seededRandom(0xc11b);
    let decoded = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const input = mutate(SEEDS[i % SEEDS.length]!, rand);
      const longFormatNames = rand() < 0.5;
      expectOnlyProtocolErrors(() => {
        const pdu = decodeClientClipPdu(input, { longFormatNames });
        decoded++;
        if (pdu.kind === 'formatDataResponse') decodeClipboardText(rand() < 0.5 ? 13 : 1, pdu.data);
      }, input);
    }
    // The mutations leave a good share decodable (the decoder is not refusing everything).
    expect(decoded).toBeGreaterThan(ITERATIONS / 10);
  });

  it('feeds a channel mutated messages: it throws only RdpProtocolError and keeps answering', () => {
    vi.useFakeTimers();
    const rand = seededRandom(7);
    const clipboard = Object.assign(new EventEmitter(), { setText: () => Promise.resolve(), hold: () => () => undefined });
    const sent: Buffer[] = [];
    const channel = createCliprdrChannel({
      display: {} as QemuDisplay,
      clipboard: clipboard as unknown as ClipboardPeer,
      log: () => undefined,
      send: (m) => sent.push(m),
    });
    channel.onActive?.();
    for (let i = 0; i < 2000; i++) {
      const input = mutate(SEEDS[i % SEEDS.length]!, rand);
      expectOnlyProtocolErrors(() => channel.onMessage(input), input);
      if (i % 97 === 0) clipboard.emit('text', `guest ${i}`, 0);
      if (i % 13 === 0) vi.advanceTimersByTime(REQUEST_DELAY_MS);
    }
    sent.length = 0;
    channel.onMessage(encodeClipCapabilities(CB_USE_LONG_FORMAT_NAMES));
    channel.onMessage(encodeFormatList([{ id: 13, name: '' }], true));
    vi.advanceTimersByTime(REQUEST_DELAY_MS);
    expect(sent.map((m) => m.readUInt16LE(0))).toEqual([3, 4]);
    channel.close();
    vi.useRealTimers();
  });
});
