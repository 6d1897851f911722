// The clipboard channel (MS-RDPECLIP): its PDUs against the specification's annotated dumps
// (section 4) and structures (section 2.2), and the server's side of the exchange with a fake
// VM clipboard standing in for display-core's ClipboardPeer.
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClipboardSelection, MAX_CLIPBOARD_BYTES, type ClipboardEvents, type ClipboardPeer, type QemuDisplay } from '@vdi-sidecar/display-core';
import { createCliprdrChannel, REQUEST_DELAY_MS } from '../src/channels/cliprdr.js';
import { STATIC_CHANNELS } from '../src/channels/index.js';
import {
  CB_USE_LONG_FORMAT_NAMES,
  CF_TEXT,
  CF_UNICODETEXT,
  decodeClientClipPdu,
  decodeClipboardText,
  encodeClipCapabilities,
  encodeFormatDataRequest,
  encodeFormatDataResponse,
  encodeFormatList,
  encodeFormatListResponse,
  encodeMonitorReady,
  encodeUnicodeText,
} from '../src/pdu/cliprdr.js';
import { RdpProtocolError } from '../src/pdu/errors.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const LONG = { longFormatNames: true };
const SHORT = { longFormatNames: false };

/** MS-RDPECLIP 4.1.3: a client's Clipboard Capabilities PDU (long names, file streams, no paths). */
const CLIENT_CAPS_4_1_3 = hex('07 00 00 00 10 00 00 00 01 00 00 00 01 00 0c 00 02 00 00 00 0e 00 00 00');
/** MS-RDPECLIP 4.1.6 / 4.5.2: Format List Response PDU, CB_RESPONSE_OK. */
const FORMAT_LIST_RESPONSE_OK = hex('03 00 01 00 00 00 00 00');
/** MS-RDPECLIP 4.5.3: Format Data Request PDU for format 0xc079. */
const FORMAT_DATA_REQUEST_4_5_3 = hex('04 00 00 00 04 00 00 00 79 c0 00 00');

/** A Format List with long names (2.2.3.1.2), written out: CF_UNICODETEXT, CF_TEXT and "HTML Format". */
const LONG_FORMAT_LIST = hex(
  '02 00 00 00 28 00 00 00' + // CB_FORMAT_LIST, flags 0, dataLen 40
    '0d 00 00 00 00 00' + // CF_UNICODETEXT, ""
    '01 00 00 00 00 00' + // CF_TEXT, ""
    '0d c0 00 00' +
    Buffer.from('HTML Format\0', 'utf16le').toString('hex'), // 0xc00d "HTML Format"
);

/** A Format List with short names (2.2.3.1.1): ASCII names (CB_ASCII_NAMES), 36 bytes each. */
function shortFormatList(entries: Array<[number, string]>, ascii: boolean): Buffer {
  const body = Buffer.concat(
    entries.map(([id, name]) => {
      const entry = Buffer.alloc(36);
      entry.writeUInt32LE(id, 0);
      Buffer.from(name, ascii ? 'latin1' : 'utf16le').copy(entry, 4, 0, 30);
      return entry;
    }),
  );
  const header = Buffer.alloc(8);
  header.writeUInt16LE(2, 0);
  header.writeUInt16LE(ascii ? 0x0004 : 0, 2);
  header.writeUInt32LE(body.length, 4);
  return Buffer.concat([header, body]);
}

describe('cliprdr PDUs', () => {
  it('encodes the server capabilities (version 2, long format names) and Monitor Ready as in 4.1.1–4.1.2', () => {
    // 4.1.3's layout, with the server's flags: CB_USE_LONG_FORMAT_NAMES only.
    expect(encodeClipCapabilities(CB_USE_LONG_FORMAT_NAMES)).toEqual(hex('07 00 00 00 10 00 00 00 01 00 00 00 01 00 0c 00 02 00 00 00 02 00 00 00'));
    expect(encodeMonitorReady()).toEqual(hex('01 00 00 00 00 00 00 00'));
  });

  it('decodes the client capabilities of 4.1.3', () => {
    expect(decodeClientClipPdu(CLIENT_CAPS_4_1_3, SHORT)).toEqual({ kind: 'capabilities', version: 2, generalFlags: 0x0e });
    // No general set: the defaults (version 1, no flags); unknown sets are skipped.
    expect(decodeClientClipPdu(hex('07 00 00 00 08 00 00 00 01 00 00 00 09 00 04 00'), SHORT)).toEqual({ kind: 'capabilities', version: 1, generalFlags: 0 });
  });

  it('encodes and decodes the Format List Response of 4.1.6', () => {
    expect(encodeFormatListResponse(true)).toEqual(FORMAT_LIST_RESPONSE_OK);
    expect(encodeFormatListResponse(false)).toEqual(hex('03 00 02 00 00 00 00 00'));
    expect(decodeClientClipPdu(FORMAT_LIST_RESPONSE_OK, LONG)).toEqual({ kind: 'formatListResponse', ok: true });
  });

  it('encodes and decodes the Format Data Request of 4.5.3', () => {
    expect(encodeFormatDataRequest(0xc079)).toEqual(FORMAT_DATA_REQUEST_4_5_3);
    expect(decodeClientClipPdu(FORMAT_DATA_REQUEST_4_5_3, LONG)).toEqual({ kind: 'formatDataRequest', formatId: 49273 });
  });

  it('decodes format lists with long names, and with short ASCII or Unicode names', () => {
    expect(decodeClientClipPdu(LONG_FORMAT_LIST, LONG)).toEqual({
      kind: 'formatList',
      formats: [
        { id: CF_UNICODETEXT, name: '' },
        { id: CF_TEXT, name: '' },
        { id: 0xc00d, name: 'HTML Format' },
      ],
    });
    const formats = [
      { id: CF_UNICODETEXT, name: '' },
      { id: 0xc004, name: 'Native' },
    ];
    expect(decodeClientClipPdu(shortFormatList([[13, ''], [0xc004, 'Native']], true), SHORT)).toEqual({ kind: 'formatList', formats });
    expect(decodeClientClipPdu(shortFormatList([[13, ''], [0xc004, 'Native']], false), SHORT)).toEqual({ kind: 'formatList', formats });
    expect(decodeClientClipPdu(hex('02 00 00 00 00 00 00 00'), LONG)).toEqual({ kind: 'formatList', formats: [] });
  });

  it('encodes the server format list with CF_UNICODETEXT, long or short', () => {
    expect(encodeFormatList([{ id: CF_UNICODETEXT, name: '' }], true)).toEqual(hex('02 00 00 00 06 00 00 00 0d 00 00 00 00 00'));
    const short = encodeFormatList([{ id: CF_UNICODETEXT, name: '' }], false);
    expect(short).toEqual(Buffer.concat([hex('02 00 00 00 24 00 00 00 0d 00 00 00'), Buffer.alloc(32)]));
    expect(decodeClientClipPdu(encodeFormatList([{ id: 0xc0ff, name: 'A very long format name indeed' }], false), SHORT)).toEqual({
      kind: 'formatList',
      formats: [{ id: 0xc0ff, name: 'A very long for' }], // 15 characters and the NUL
    });
  });

  it('carries text as CF_UNICODETEXT (UTF-16LE, CR LF, NUL-terminated) in a Format Data Response', () => {
    const data = encodeUnicodeText('Grüße\n✓ 𝄞');
    expect(data).toEqual(Buffer.from('Grüße\r\n✓ 𝄞\0', 'utf16le'));
    const response = encodeFormatDataResponse(data);
    expect(response.subarray(0, 8)).toEqual(hex(`05 00 01 00 ${Buffer.from([data.length, 0, 0, 0]).toString('hex')}`));
    const decoded = decodeClientClipPdu(response, LONG);
    expect(decoded).toEqual({ kind: 'formatDataResponse', ok: true, data });
    expect(decodeClipboardText(CF_UNICODETEXT, data)).toBe('Grüße\n✓ 𝄞');
    expect(encodeFormatDataResponse(undefined)).toEqual(hex('05 00 02 00 00 00 00 00'));
    expect(decodeClientClipPdu(hex('05 00 02 00 00 00 00 00'), LONG)).toEqual({ kind: 'formatDataResponse', ok: false, data: Buffer.alloc(0) });
    // CF_TEXT / CF_OEMTEXT: 8-bit, up to the NUL.
    expect(decodeClipboardText(CF_TEXT, Buffer.from('caf\xe9\r\nline\0junk', 'latin1'))).toBe('café\nline');
    // CRLF already there stays one CRLF.
    expect(encodeUnicodeText('a\r\nb')).toEqual(Buffer.from('a\r\nb\0', 'utf16le'));
  });

  it('refuses malformed PDUs with RdpProtocolError', () => {
    const bad = [
      hex('07 00'), // short header
      hex('04 00 00 00 08 00 00 00 0d 00 00 00'), // dataLen beyond the message
      hex('04 00 00 00 02 00 00 00 0d 00'), // request without a whole format id
      hex('02 00 00 00 06 00 00 00 0d 00 00 00 41 00'), // long name without its NUL
      hex('02 00 00 00 05 00 00 00 0d 00 00 00 00'), // short list not a multiple of 36
      hex('03 00 00 00 00 00 00 00'), // response neither OK nor FAIL
      hex('03 00 03 00 00 00 00 00'), // response both
      hex('01 00 00 00 00 00 00 00'), // Monitor Ready from a client
      hex('0c 00 00 00 00 00 00 00'), // unknown type
      hex('07 00 00 00 08 00 00 00 01 00 00 00 01 00 02 00'), // capability set shorter than its header
      hex('07 00 00 00 0c 00 00 00 01 00 00 00 01 00 08 00 02 00 00 00'), // general set too short
    ];
    for (const pdu of bad) {
      const options = pdu[0] === 0x02 && pdu[4] === 0x05 ? SHORT : LONG;
      expect(() => decodeClientClipPdu(pdu, options), pdu.toString('hex')).toThrow(RdpProtocolError);
    }
    const tooMany = Buffer.concat([hex('02 00 00 00 80 bb 00 00'), Buffer.alloc(6 * 8000)]);
    expect(() => decodeClientClipPdu(tooMany, LONG)).toThrow(/more than 4096 formats/);
  });
});

class FakeClipboard extends EventEmitter<ClipboardEvents> {
  readonly given: string[] = [];
  /** Clients holding the clipboard now (the channel holds it while it shares the clipboard). */
  holders = 0;
  hold(): () => void {
    this.holders++;
    return () => void this.holders--;
  }
  async setText(text: string, selection = ClipboardSelection.Clipboard): Promise<void> {
    if (selection === ClipboardSelection.Clipboard) this.given.push(text);
    return Promise.resolve();
  }
}

function harness(withClipboard = true) {
  const sent: Buffer[] = [];
  const logs: string[] = [];
  const clipboard = new FakeClipboard();
  const channel = createCliprdrChannel({
    display: {} as QemuDisplay,
    clipboard: withClipboard ? (clipboard as unknown as ClipboardPeer) : undefined,
    log: (level, message) => logs.push(`${level}: ${message}`),
    send: (m) => sent.push(m),
  });
  const next = () => {
    const m = sent.shift();
    if (!m) throw new Error('nothing sent');
    return decodeServerPdu(m);
  };
  return { sent, logs, clipboard, channel, next };
}

/** The server's PDUs, read back by type (the client's view). */
function decodeServerPdu(m: Buffer): { type: number; flags: number; body: Buffer } {
  expect(m.readUInt32LE(4)).toBe(m.length - 8);
  return { type: m.readUInt16LE(0), flags: m.readUInt16LE(2), body: m.subarray(8) };
}

describe('cliprdr channel', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  /** The client's format lists settle: the text request goes out. */
  const settle = () => vi.advanceTimersByTime(REQUEST_DELAY_MS);

  it('is registered as the "cliprdr" static channel', () => {
    expect(STATIC_CHANNELS.cliprdr).toBe(createCliprdrChannel);
  });

  it('holds the VM clipboard from activation until closed, once (qemu-vnc beside it may want it after)', () => {
    const { channel, clipboard } = harness();
    expect(clipboard.holders).toBe(0);
    channel.onActive?.();
    channel.onActive?.(); // reactivation
    expect(clipboard.holders).toBe(1);
    channel.close?.();
    channel.close?.();
    expect(clipboard.holders).toBe(0);
  });

  it('starts with capabilities and Monitor Ready, once, and stays mute without a VM clipboard', () => {
    const { channel, sent } = harness();
    channel.onActive?.();
    channel.onActive?.(); // reactivation
    expect(sent).toEqual([encodeClipCapabilities(CB_USE_LONG_FORMAT_NAMES), encodeMonitorReady()]);
    const mute = harness(false);
    mute.channel.onActive?.();
    mute.channel.onMessage(LONG_FORMAT_LIST);
    expect(mute.sent).toEqual([]);
  });

  it('client copy: answers the format list, asks for CF_UNICODETEXT, gives the text to the guest', async () => {
    const { channel, clipboard, next, sent } = harness();
    channel.onActive?.();
    sent.length = 0;
    channel.onMessage(CLIENT_CAPS_4_1_3);
    channel.onMessage(Buffer.concat([hex('06 00 00 00 08 02 00 00'), Buffer.alloc(520)])); // Temporary Directory (520 bytes): ignored
    channel.onMessage(LONG_FORMAT_LIST);
    expect(next()).toEqual({ type: 3, flags: 1, body: Buffer.alloc(0) });
    expect(sent).toEqual([]); // the request waits for the lists to settle
    settle();
    expect(next()).toEqual({ type: 4, flags: 0, body: hex('0d 00 00 00') });
    channel.onMessage(encodeFormatDataResponse(Buffer.from('from the client: Grüße ✓\r\nline 2\r\n\0', 'utf16le')));
    await Promise.resolve();
    expect(clipboard.given).toEqual(['from the client: Grüße ✓\nline 2\n']);
    // Lock / Unlock are ignored.
    channel.onMessage(hex('0a 00 00 00 04 00 00 00 01 00 00 00'));
    channel.onMessage(hex('0b 00 00 00 04 00 00 00 01 00 00 00'));
    expect(sent).toEqual([]);
  });

  it('falls back to CF_TEXT, reads short names from a client without long-name capability, ignores lists without text', () => {
    const { channel, clipboard, next, sent } = harness();
    channel.onActive?.();
    sent.length = 0;
    channel.onMessage(hex('07 00 00 00 10 00 00 00 01 00 00 00 01 00 0c 00 02 00 00 00 00 00 00 00'));
    channel.onMessage(shortFormatList([[0xc004, 'Native'], [CF_TEXT, '']], true));
    expect(next().type).toBe(3);
    settle();
    expect(next()).toEqual({ type: 4, flags: 0, body: hex('01 00 00 00') });
    channel.onMessage(encodeFormatDataResponse(Buffer.from('plain\0', 'latin1')));
    expect(clipboard.given).toEqual(['plain']);
    channel.onMessage(shortFormatList([[8, '']], true)); // CF_DIB only
    expect(next().type).toBe(3);
    settle();
    expect(sent).toEqual([]);
    // An unasked response (FreeRDP sends one before each format list) is ignored.
    channel.onMessage(encodeFormatDataResponse(undefined));
    expect(clipboard.given).toEqual(['plain']);
  });

  it('guest copy: announces CF_UNICODETEXT once the client is ready, then serves the text', () => {
    const { channel, clipboard, next, sent } = harness();
    channel.onActive?.();
    sent.length = 0;
    clipboard.emit('text', 'early', ClipboardSelection.Clipboard); // before the client's capabilities
    expect(sent).toEqual([]);
    channel.onMessage(CLIENT_CAPS_4_1_3);
    expect(next()).toEqual({ type: 2, flags: 0, body: hex('0d 00 00 00 00 00') });
    channel.onMessage(FORMAT_LIST_RESPONSE_OK);
    clipboard.emit('text', 'Grüße ✓ clipboard\nline 2', ClipboardSelection.Clipboard);
    expect(next().type).toBe(2);
    clipboard.emit('text', 'primary selection', ClipboardSelection.Primary); // not the clipboard
    expect(sent).toEqual([]);
    channel.onMessage(encodeFormatDataRequest(CF_UNICODETEXT));
    const response = next();
    expect(response.type).toBe(5);
    expect(response.flags).toBe(1);
    expect(response.body).toEqual(Buffer.from('Grüße ✓ clipboard\r\nline 2\0', 'utf16le'));
    // Formats it did not offer: a failure, not a protocol error.
    channel.onMessage(encodeFormatDataRequest(CF_TEXT));
    expect(next()).toEqual({ type: 5, flags: 2, body: Buffer.alloc(0) });
    // The guest empties its clipboard: an empty format list.
    clipboard.emit('release', ClipboardSelection.Clipboard);
    expect(next()).toEqual({ type: 2, flags: 0, body: Buffer.alloc(0) });
    channel.onMessage(encodeFormatDataRequest(CF_UNICODETEXT));
    expect(next()).toEqual({ type: 5, flags: 2, body: Buffer.alloc(0) });
  });

  it('asks only for the newest of format lists that follow each other closely (FreeRDP sends two per copy)', () => {
    const { channel, next, sent } = harness();
    channel.onActive?.();
    channel.onMessage(CLIENT_CAPS_4_1_3);
    sent.length = 0;
    channel.onMessage(LONG_FORMAT_LIST);
    vi.advanceTimersByTime(REQUEST_DELAY_MS - 1);
    channel.onMessage(encodeFormatList([{ id: CF_TEXT, name: '' }], true));
    vi.advanceTimersByTime(REQUEST_DELAY_MS - 1);
    expect(sent.map((m) => m.readUInt16LE(0))).toEqual([3, 3]);
    sent.length = 0;
    vi.advanceTimersByTime(1);
    expect(next()).toEqual({ type: 4, flags: 0, body: hex('01 00 00 00') });
    // A list without text cancels a request not yet made; closing cancels one too.
    channel.onMessage(LONG_FORMAT_LIST);
    channel.onMessage(encodeFormatList([{ id: 8, name: '' }], true));
    channel.onMessage(LONG_FORMAT_LIST);
    channel.close();
    sent.length = 0;
    settle();
    expect(sent).toEqual([]);
  });

  it('after the client copies, the guest text is no longer served; closing unsubscribes', () => {
    const { channel, clipboard, next, sent } = harness();
    channel.onActive?.();
    channel.onMessage(CLIENT_CAPS_4_1_3);
    sent.length = 0;
    clipboard.emit('text', 'guest', ClipboardSelection.Clipboard);
    next();
    channel.onMessage(LONG_FORMAT_LIST);
    sent.length = 0;
    channel.onMessage(encodeFormatDataRequest(CF_UNICODETEXT));
    expect(next().flags).toBe(2);
    channel.close();
    expect(clipboard.listenerCount('text') + clipboard.listenerCount('release')).toBe(0);
  });

  it('drops client text beyond the clipboard limit with a warning', () => {
    const { channel, clipboard, logs } = harness();
    channel.onActive?.();
    channel.onMessage(CLIENT_CAPS_4_1_3);
    channel.onMessage(LONG_FORMAT_LIST);
    settle();
    const big = Buffer.alloc((MAX_CLIPBOARD_BYTES + 2) * 2, 0x41);
    for (let i = 1; i < big.length; i += 2) big[i] = 0;
    channel.onMessage(encodeFormatDataResponse(big));
    expect(clipboard.given).toEqual([]);
    expect(logs.some((l) => /^warn: client clipboard text of \d+ bytes not given/.test(l))).toBe(true);
  });

  it('throws RdpProtocolError on a malformed message (the session drops the client)', () => {
    const { channel } = harness();
    channel.onActive?.();
    expect(() => channel.onMessage(hex('02 00 00 00 06 00 00 00 0d 00 00 00 41 00'))).toThrow(RdpProtocolError);
  });
});
