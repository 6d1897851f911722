import { Message } from 'dbus-next';
import { marshallMessage } from 'dbus-next/lib/marshall-compat.js';
import { describe, expect, it } from 'vitest';
import { MessageFramer } from '../src/dbus/message-framer.js';

function wire(member: string, signature: string, body: unknown[], serial: number): Buffer {
  const msg = new Message({ path: '/org/qemu/Display1/Listener', interface: 'org.qemu.Display1.Listener', member, signature, body } as never);
  msg.serial = serial;
  return marshallMessage(msg)[0];
}

/**
 * Reads `stream` into the framer as a unix socket would: into readBuffer(), at most `size`
 * bytes a read; fds sent with the byte at `fdsAt` come with the read that holds it, and the
 * kernel ends that read at the end of what their sender wrote with them (`fdsSendEnd`).
 */
function readAll(
  framer: MessageFramer,
  stream: Buffer,
  size: number,
  onMessage: (raw: Record<string, unknown>) => void,
  fdsWith?: { at: number; sendEnd: number; fds: number[] },
): void {
  for (let at = 0; at < stream.length; ) {
    const target = framer.readBuffer();
    let n = Math.min(target.length, size, stream.length - at);
    const carriesFds = fdsWith !== undefined && at <= fdsWith.at && fdsWith.at < at + n;
    if (carriesFds) n = Math.min(n, fdsWith.sendEnd - at);
    stream.copy(target, 0, at, at + n);
    framer.received(target, n, onMessage, carriesFds ? fdsWith.fds : []);
    at += n;
  }
}

describe('MessageFramer with file descriptors', () => {
  const update = wire('UpdateMap', 'iiii', [1, 2, 3, 4], 7);
  const scanoutMap = wire('ScanoutMap', 'huuuuu', [0, 0, 640, 480, 2560, 0x20020888], 8);

  it('gives the fds to the message they came with, whatever the reads', () => {
    const stream = Buffer.concat([update, scanoutMap, update]);
    const memfd = { at: update.length, sendEnd: update.length + scanoutMap.length, fds: [42] };
    for (const size of [1, 15, 16, update.length, update.length + 3, stream.length]) {
      const got: Array<Record<string, unknown>> = [];
      // Bodies are views into a reused buffer: copy what the test keeps.
      readAll(new MessageFramer(), stream, size, (raw) => got.push(structuredClone(raw)), memfd);
      expect(got.map((m) => m.member)).toEqual(['UpdateMap', 'ScanoutMap', 'UpdateMap']);
      expect(got[0].body).toEqual([1, 2, 3, 4]);
      // The fd is the ScanoutMap's, not the UpdateMap's read in the same read before it.
      expect(got[1].body).toEqual([42, 0, 640, 480, 2560, 0x20020888]);
      expect(got[1].serial).toBe(8);
      expect(got[2].body).toEqual([1, 2, 3, 4]);
    }
  });

  it('gives a memfd to the message it came with when a long frame was read just before it', () => {
    const pixels = Buffer.alloc(300_000, 0x5a);
    const frame = wire('Update', 'iiiiuuay', [0, 0, 250, 300, 1000, 0x20020888, pixels], 9);
    const stream = Buffer.concat([frame, scanoutMap, update]);
    const memfd = { at: frame.length, sendEnd: frame.length + scanoutMap.length, fds: [42] };
    for (const size of [212_992, 65_536, 1000]) {
      const got: Array<Record<string, unknown>> = [];
      const keep = (raw: Record<string, unknown>) => got.push({ member: raw.member, body: (raw.body as unknown[]).slice(0, 2) });
      readAll(new MessageFramer({ readSize: 4096 }), stream, size, keep, memfd);
      expect(got.map((m) => m.member)).toEqual(['Update', 'ScanoutMap', 'UpdateMap']);
      expect(got[1].body).toEqual([42, 0]);
      expect(got[2].body).toEqual([1, 2]);
    }
  });
});

describe('MessageFramer', () => {
  const update = wire('UpdateMap', 'iiii', [1, 2, 3, 4], 7);
  // A frame larger than one read: it is read into its place, not through the read buffer.
  const pixels = Buffer.alloc(300_000, 0xab);
  pixels.writeUInt32LE(0xdeadbeef, pixels.length - 4);
  const frame = wire('Update', 'iiiiuuay', [0, 0, 250, 300, 1000, 0x20020888, pixels], 8);
  const stream = Buffer.concat([update, frame, update, update]);

  /** Feeds `stream` as a socket reading into readBuffer() would, each read at most `sizes[i]` bytes. */
  function feed(framer: MessageFramer, sizes: (i: number) => number): Array<Record<string, unknown>> {
    const got: Array<Record<string, unknown>> = [];
    const keep = (raw: Record<string, unknown>) =>
      got.push({ member: raw.member, serial: raw.serial, body: (raw.body as unknown[]).map((v) => (Buffer.isBuffer(v) ? Buffer.from(v) : v)) });
    for (let at = 0, i = 0; at < stream.length; i++) {
      const target = framer.readBuffer();
      const n = Math.min(target.length, sizes(i), stream.length - at);
      stream.copy(target, 0, at, at + n);
      framer.received(target, n, keep);
      at += n;
    }
    return got;
  }

  it('splits a stream into messages, whatever the reads', () => {
    const cuts: Array<[string, (i: number) => number]> = [
      ['whole reads', () => Infinity],
      ['1 byte', () => 1],
      ['15 bytes', () => 15],
      ['a header and a bit', () => 17],
      ['socket-sized', () => 212_992],
      ['irregular', (i) => [3, 5000, 16, 70_001, 9][i % 5]],
    ];
    for (const [, sizes] of cuts) {
      const got = feed(new MessageFramer({ readSize: 4096 }), sizes);
      expect(got.map((m) => m.member)).toEqual(['UpdateMap', 'Update', 'UpdateMap', 'UpdateMap']);
      expect(got[0].body).toEqual([1, 2, 3, 4]);
      const body = got[1].body as unknown[];
      expect(body.slice(0, 6)).toEqual([0, 0, 250, 300, 1000, 0x20020888]);
      expect((body[6] as Buffer).equals(pixels)).toBe(true);
      expect(got.map((m) => m.serial)).toEqual([7, 8, 7, 7]);
    }
  });

  it('reads the rest of a long message straight into its place', () => {
    const framer = new MessageFramer({ readSize: 4096 });
    const first = framer.readBuffer();
    stream.copy(first, 0, update.length, update.length + 4096);
    framer.received(first, 4096, () => undefined);
    // The header is in: the next read goes to the message, sized to what is still missing.
    expect(framer.readBuffer().length).toBe(frame.length - 4096);
  });

  it('refuses a message longer than the specification allows', () => {
    const framer = new MessageFramer();
    const target = framer.readBuffer();
    update.copy(target);
    target.writeUInt32LE(0x7fffffff, 4);
    expect(() => framer.received(target, update.length, () => undefined)).toThrow(/exceeds the limit/);
  });
});
