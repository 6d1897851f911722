// Random and mutated bytes into the client parser: it may only return messages, ask for
// more bytes (and then truly need them), or throw RfbProtocolError — never anything else,
// and never loop without progress.
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeExtendedClipboardProvide, parseClientMessage, parseProtocolVersion } from '../src/rfb/client-messages.js';
import { RfbProtocolError } from '../src/rfb/errors.js';
import { rng } from './rfb-decoders.js';

const ITERATIONS = 20_000;

/** Message types the parser knows, so random input often gets past the first byte. */
const KNOWN_TYPES = [0, 2, 3, 4, 5, 6, 150, 248, 251, 255];

/** Well-formed messages to mutate. */
const SEEDS: Buffer[] = [
  Buffer.from([0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]),
  Buffer.from([2, 0, 0, 2, 0, 0, 0, 16, 0xff, 0xff, 0xff, 0x11]),
  Buffer.from([3, 1, 0, 0, 0, 0, 4, 0, 3, 0]),
  Buffer.from([4, 1, 0, 0, 0, 0, 0xff, 0x0d]),
  Buffer.from([5, 0x81, 0, 1, 0, 2, 3]),
  Buffer.from([6, 0, 0, 0, 0, 0, 0, 3, 0x61, 0x62, 0x63]),
  Buffer.from([6, 0, 0, 0, 0xff, 0xff, 0xff, 0xf8, 0x1f, 0, 0, 1, 0, 0, 0, 0]),
  Buffer.concat([Buffer.from([6, 0, 0, 0, 0xff, 0xff, 0xff, 0xe4, 0x10, 0, 0, 1]), deflateSync(Buffer.from([0, 0, 0, 2, 0x61, 0]))]),
  Buffer.from([150, 1, 0, 0, 0, 0, 4, 0, 3, 0]),
  Buffer.from([248, 0, 0, 0, 0x80, 0, 0, 3, 2, 0xab, 0xcd]),
  Buffer.from([251, 0, 4, 0, 3, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 4, 0, 3, 0, 0, 0, 0, 0]),
  Buffer.from([255, 0, 0, 1, 0, 0, 0, 0x61, 0, 0, 0, 0x1e]),
  Buffer.from([255, 1, 0, 2, 3, 2, 0, 0, 0xac, 0x44]),
];

function randomInput(next: () => number): Buffer {
  const mode = next() % 3;
  if (mode === 0) {
    // Pure noise, with a known type first most of the time.
    const buf = Buffer.alloc(next() % 48);
    for (let i = 0; i < buf.length; i++) buf[i] = next() & 0xff;
    if (buf.length > 0 && next() % 4 !== 0) buf[0] = KNOWN_TYPES[next() % KNOWN_TYPES.length];
    return buf;
  }
  // A few seeds back to back, then flipped, truncated or extended.
  const parts: Buffer[] = [];
  for (let n = 1 + (next() % 3); n > 0; n--) parts.push(SEEDS[next() % SEEDS.length]);
  let buf = Buffer.concat(parts);
  for (let flips = next() % 4; flips > 0; flips--) buf[next() % buf.length] = next() & 0xff;
  if (mode === 1) buf = buf.subarray(0, next() % (buf.length + 1));
  else buf = Buffer.concat([buf, Buffer.from([next() & 0xff, next() & 0xff])]);
  return buf;
}

describe('client parser fuzz', () => {
  it(`survives ${ITERATIONS} random and mutated inputs`, () => {
    const next = rng(0x5eed);
    let messages = 0;
    let errors = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const buf = randomInput(next);
      const opts = { extendedMouseButtons: (next() & 1) === 1, maxCutTextLength: 256 };
      let offset = 0;
      try {
        // Every step either consumes bytes or stops, so this loop is bounded by the length.
        for (;;) {
          const result = parseClientMessage(buf, offset, opts);
          if ('needBytes' in result) {
            expect(result.needBytes).toBeGreaterThan(buf.length - offset);
            break;
          }
          expect(result.size).toBeGreaterThan(0);
          expect(offset + result.size).toBeLessThanOrEqual(buf.length);
          offset += result.size;
          messages++;
          if (result.message.type === 'ExtendedClipboardProvide') {
            decodeExtendedClipboardProvide(result.message.formats, result.message.compressed, 4096);
          }
        }
      } catch (err) {
        if (!(err instanceof RfbProtocolError)) throw err;
        errors++;
      }
    }
    // The corpus reaches both outcomes plenty of times.
    expect(messages).toBeGreaterThan(ITERATIONS / 4);
    expect(errors).toBeGreaterThan(ITERATIONS / 20);
  });

  it('survives random ProtocolVersion messages', () => {
    const next = rng(42);
    for (let i = 0; i < 2000; i++) {
      const buf = Buffer.from('RFB 003.008\n', 'latin1');
      buf[next() % 12] = next() & 0xff;
      try {
        expect(['3.3', '3.7', '3.8']).toContain(parseProtocolVersion(buf).version);
      } catch (err) {
        if (!(err instanceof RfbProtocolError)) throw err;
      }
    }
  });
});
