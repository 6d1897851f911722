// Static channel chunking (MS-RDPBCGR 2.2.6.1) and the drdynvc server (MS-RDPEDYC).
import { describe, expect, it } from 'vitest';
import type { ClipboardPeer, QemuDisplay } from '@vdi-sidecar/display-core';
import { createDrdynvcChannel, type DynamicChannelType } from '../src/channels/drdynvc.js';
import { decodeClientDvcPdu, encodeDvcCreateRequest, encodeDvcData, MAX_DVC_PDU_LENGTH } from '../src/pdu/drdynvc.js';
import { RdpProtocolError } from '../src/pdu/errors.js';
import { ChannelReassembler, CHANNEL_FLAG_FIRST, CHANNEL_FLAG_LAST, encodeChannelChunks } from '../src/pdu/virtual-channel.js';

describe('static channel chunks', () => {
  it('carries a message in chunks of at most the chunk size, flagged first and last, with the whole length', () => {
    const message = Buffer.alloc(3500, 7);
    const chunks = encodeChannelChunks(message, 1600);
    expect(chunks.map((c) => [c.readUInt32LE(0), c.readUInt32LE(4), c.length - 8])).toEqual([
      [3500, CHANNEL_FLAG_FIRST, 1600],
      [3500, 0, 1600],
      [3500, CHANNEL_FLAG_LAST, 300],
    ]);
    const single = encodeChannelChunks(Buffer.from('hi'));
    expect(single).toEqual([Buffer.from([2, 0, 0, 0, 3, 0, 0, 0, 0x68, 0x69])]);
  });

  it('reassembles chunks into the message, and refuses chunks that lie', () => {
    const r = new ChannelReassembler('cliprdr');
    const message = Buffer.from(Array.from({ length: 4000 }, (_, i) => i & 0xff));
    const out = encodeChannelChunks(message, 1600).map((c) => r.push(c));
    expect(out.slice(0, 2)).toEqual([undefined, undefined]);
    expect(out[2]).toEqual(message);
    const orphan = Buffer.from([4, 0, 0, 0, 0, 0, 0, 0, 1, 2]); // no FIRST flag
    expect(() => new ChannelReassembler('x').push(orphan)).toThrow(RdpProtocolError);
    const tooLong = Buffer.from([1, 0, 0, 0, 3, 0, 0, 0, 1, 2]); // says 1 byte, carries 2
    expect(() => new ChannelReassembler('x').push(tooLong)).toThrow(/chunks carry 2 bytes of a 1-byte message/);
    const huge = Buffer.from([0, 0, 0, 0x40, 3, 0, 0, 0]);
    expect(() => new ChannelReassembler('x', 1000).push(huge)).toThrow(/limit 1000/);
  });
});

describe('DVC PDUs', () => {
  it('encodes a create request with the smallest id field and the name NUL-terminated', () => {
    expect(encodeDvcCreateRequest(1, 'AB')).toEqual(Buffer.from([0x10, 0x01, 0x41, 0x42, 0x00]));
    expect(encodeDvcCreateRequest(0x1234, 'A')).toEqual(Buffer.from([0x11, 0x34, 0x12, 0x41, 0x00]));
  });

  it('splits data into DATA_FIRST + DATA PDUs of at most 1600 bytes that reassemble', () => {
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) & 0xff));
    const pdus = encodeDvcData(3, data);
    expect(pdus.every((p) => p.length <= MAX_DVC_PDU_LENGTH)).toBe(true);
    const first = decodeClientDvcPdu(pdus[0]!);
    expect(first).toMatchObject({ kind: 'dataFirst', channelId: 3, totalLength: 5000 });
    const rest = pdus.slice(1).map((p) => decodeClientDvcPdu(p));
    expect(rest.every((p) => p.kind === 'data' && p.channelId === 3)).toBe(true);
    const joined = Buffer.concat([first, ...rest].map((p) => (p as { data: Buffer }).data));
    expect(joined).toEqual(data);
    expect(encodeDvcData(3, Buffer.from('x'))).toEqual([Buffer.from([0x30, 0x03, 0x78])]);
  });

  it('decodes a client capabilities response and create response (MS-RDPEDYC 2.2.1.2, 2.2.2.2)', () => {
    expect(decodeClientDvcPdu(Buffer.from([0x50, 0x00, 0x03, 0x00]))).toEqual({ kind: 'capabilities', version: 3 });
    expect(decodeClientDvcPdu(Buffer.from([0x10, 0x02, 0x00, 0x00, 0x00, 0x00]))).toEqual({ kind: 'createResponse', channelId: 2, creationStatus: 0 });
    expect(() => decodeClientDvcPdu(Buffer.from([0xf0]))).toThrow(RdpProtocolError);
  });
});

describe('drdynvc server', () => {
  function harness() {
    const sent: Buffer[] = [];
    const received: string[] = [];
    const echo: DynamicChannelType = {
      name: 'Test::Echo',
      create: (ctx) => ({
        onOpen: () => ctx.send(Buffer.from('hello')),
        onMessage: (m) => received.push(m.toString()),
        close: () => received.push('closed'),
      }),
    };
    const channel = createDrdynvcChannel([echo])({
      display: {} as QemuDisplay,
      clipboard: undefined as ClipboardPeer | undefined,
      log: () => undefined,
      send: (m) => sent.push(m),
    });
    return { sent, received, channel };
  }

  it('announces version 3, opens its channels after the client answers, and passes data both ways', () => {
    const { sent, received, channel } = harness();
    channel.onActive?.();
    expect(sent.shift()).toEqual(Buffer.from([0x50, 0x00, 0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]));
    channel.onMessage(Buffer.from([0x50, 0x00, 0x03, 0x00]));
    expect(sent.shift()).toEqual(encodeDvcCreateRequest(1, 'Test::Echo'));
    channel.onMessage(Buffer.from([0x10, 0x01, 0, 0, 0, 0])); // created
    expect(sent.shift()).toEqual(Buffer.from([0x30, 0x01, ...Buffer.from('hello')]));
    for (const pdu of encodeDvcData(1, Buffer.alloc(3000, 0x61))) channel.onMessage(pdu);
    channel.onMessage(Buffer.from([0x30, 0x01, 0x62]));
    channel.onMessage(Buffer.from([0x40, 0x01])); // close
    expect(received).toEqual(['a'.repeat(3000), 'b', 'closed']);
  });

  it('refuses data on a channel that is not open, and a DATA_FIRST beyond its limit', () => {
    const { channel } = harness();
    expect(() => channel.onMessage(Buffer.from([0x30, 0x09, 0x00]))).toThrow(/not open/);
    channel.onMessage(Buffer.from([0x50, 0x00, 0x03, 0x00]));
    channel.onMessage(Buffer.from([0x10, 0x01, 0, 0, 0, 0]));
    expect(() => channel.onMessage(Buffer.from([0x28, 0x01, 0xff, 0xff, 0xff, 0x7f, 0]))).toThrow(/message of 2147483647 bytes/);
  });
});
