import { Message } from 'dbus-next';
import { marshallMessage } from 'dbus-next/lib/marshall-compat.js';
import { describe, expect, it } from 'vitest';
import { MessageFramer } from '../src/dbus/message-framer.js';

function wire(member: string, signature: string, body: unknown[], serial: number): Buffer {
  const msg = new Message({ path: '/org/qemu/Display1/Listener', interface: 'org.qemu.Display1.Listener', member, signature, body } as never);
  msg.serial = serial;
  return marshallMessage(msg)[0];
}

describe('MessageFramer', () => {
  const update = wire('UpdateMap', 'iiii', [1, 2, 3, 4], 7);
  const scanoutMap = wire('ScanoutMap', 'huuuuu', [0, 0, 640, 480, 2560, 0x20020888], 8);

  it('splits a stream into messages, whatever the chunking', () => {
    const stream = Buffer.concat([update, scanoutMap]);
    for (const cut of [1, 15, 16, update.length, update.length + 3, stream.length - 1]) {
      const framer = new MessageFramer();
      framer.pushFds([42], update.length); // the memfd arrives with ScanoutMap's first byte
      const got: Array<Record<string, unknown>> = [];
      // Bodies are views into a reused buffer: copy what the test keeps.
      const keep = (raw: Record<string, unknown>) => got.push(structuredClone(raw));
      framer.push(stream.subarray(0, cut), keep);
      framer.push(stream.subarray(cut), keep);
      expect(got.map((m) => m.member)).toEqual(['UpdateMap', 'ScanoutMap']);
      expect(got[0].body).toEqual([1, 2, 3, 4]);
      // The fd is the ScanoutMap's, not the UpdateMap's that was read first.
      expect(got[1].body).toEqual([42, 0, 640, 480, 2560, 0x20020888]);
      expect(got[1].serial).toBe(8);
    }
  });

  it('refuses a message longer than the specification allows', () => {
    const bad = Buffer.from(update);
    bad.writeUInt32LE(0x7fffffff, 4); // body length
    expect(() => new MessageFramer().push(bad, () => undefined)).toThrow(/exceeds the limit/);
  });
});
