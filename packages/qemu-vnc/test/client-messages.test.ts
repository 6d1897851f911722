import { deflateSync, constants as zlibConstants } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  decodeClipboardText,
  decodeExtendedClipboardProvide,
  parseClientInit,
  parseClientMessage,
  parseProtocolVersion,
  parseVeNCryptPlain,
  type ClientMessage,
  type ClientParserOptions,
} from '../src/rfb/client-messages.js';
import { ClipboardAction, ClipboardFormat } from '../src/rfb/constants.js';
import { RfbProtocolError, type RfbErrorCode } from '../src/rfb/errors.js';

const bytes = (...values: Array<number | string>): Buffer =>
  Buffer.concat(values.map((v) => (typeof v === 'string' ? Buffer.from(v, 'latin1') : Buffer.from([v]))));

function parseOne(buf: Buffer, opts?: ClientParserOptions): ClientMessage {
  const result = parseClientMessage(buf, 0, opts);
  if (!('message' in result)) throw new Error(`incomplete: needs ${result.needBytes}`);
  expect(result.size).toBe(buf.length);
  return result.message;
}

function expectCode(fn: () => unknown, code: RfbErrorCode): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(RfbProtocolError);
  expect((caught as RfbProtocolError).code).toBe(code);
}

describe('ProtocolVersion (RFC 6143 §7.1.1)', () => {
  it.each([
    ['RFB 003.003\n', '3.3'],
    ['RFB 003.007\n', '3.7'],
    ['RFB 003.008\n', '3.8'],
    ['RFB 003.005\n', '3.3'], // wrongly reported by some clients, means 3.3
    ['RFB 003.006\n', '3.3'], // other 3.x without the 3.7/3.8 handshake
    ['RFB 003.889\n', '3.8'], // Apple Remote Desktop
  ])('reads %j as %s', (text, version) => {
    expect(parseProtocolVersion(Buffer.from(text, 'latin1')).version).toBe(version);
  });

  it('keeps the numbers the client sent', () => {
    expect(parseProtocolVersion(Buffer.from('RFB 003.889\n'))).toEqual({ major: 3, minor: 889, version: '3.8' });
  });

  it.each(['RFB 004.001\n', 'RFB 3.8\n\n\n\n\n', 'XYZ 003.008\n', 'RFB 003.008 ', 'RFB 003.008\n\n'])('rejects %j', (text) => {
    expectCode(() => parseProtocolVersion(Buffer.from(text, 'latin1')), 'RFB_ERR_BAD_VERSION');
  });
});

describe('ClientInit and VeNCrypt Plain', () => {
  it('reads the shared flag', () => {
    expect(parseClientInit(Buffer.from([0x01]))).toEqual({ shared: true, size: 1 });
    expect(parseClientInit(Buffer.from([0x00]))).toEqual({ shared: false, size: 1 });
    expect(parseClientInit(Buffer.alloc(0))).toEqual({ needBytes: 1 });
  });

  it('reads Plain credentials and caps their length', () => {
    const msg = bytes(
      0, 0, 0, 4, // username-length
      0, 0, 0, 2, // password-length
      'user', // username
      'pw', // password
    );
    expect(parseVeNCryptPlain(msg)).toEqual({ username: 'user', password: 'pw', size: 14 });
    expect(parseVeNCryptPlain(msg.subarray(0, 10))).toEqual({ needBytes: 14 });
    expectCode(() => parseVeNCryptPlain(bytes(0, 1, 0, 0, 0, 0, 0, 0)), 'RFB_ERR_TOO_LONG');
  });
});

/** Valid messages with the result each must parse to; also the corpus of the chunked test. */
const VECTORS: Array<[string, Buffer, ClientMessage, ClientParserOptions?]> = [
  [
    'SetPixelFormat',
    bytes(
      0, // message-type
      0, 0, 0, // padding
      16, // bits-per-pixel
      16, // depth
      1, // big-endian-flag
      1, // true-colour-flag
      0x00, 0x1f, // red-max
      0x00, 0x3f, // green-max
      0x00, 0x1f, // blue-max
      11, // red-shift
      5, // green-shift
      0, // blue-shift
      0, 0, 0, // padding
    ),
    {
      type: 'SetPixelFormat',
      pixelFormat: {
        bitsPerPixel: 16, depth: 16, bigEndian: true, trueColour: true,
        redMax: 31, greenMax: 63, blueMax: 31, redShift: 11, greenShift: 5, blueShift: 0,
      },
    },
  ],
  [
    'SetEncodings',
    bytes(
      2, // message-type
      0, // padding
      0x00, 0x04, // number-of-encodings
      0x00, 0x00, 0x00, 0x10, // ZRLE
      0x00, 0x00, 0x00, 0x07, // Tight
      0xff, 0xff, 0xff, 0x11, // -239 Cursor
      0xc0, 0xa1, 0xe5, 0xce, // Extended Clipboard
    ),
    { type: 'SetEncodings', encodings: [16, 7, -239, 0xc0a1e5ce | 0] },
  ],
  [
    'FramebufferUpdateRequest',
    bytes(
      3, // message-type
      1, // incremental
      0x00, 0x0a, // x-position
      0x00, 0x14, // y-position
      0x03, 0x20, // width 800
      0x02, 0x58, // height 600
    ),
    { type: 'FramebufferUpdateRequest', incremental: true, x: 10, y: 20, width: 800, height: 600 },
  ],
  [
    'KeyEvent',
    bytes(
      4, // message-type
      1, // down-flag
      0, 0, // padding
      0x00, 0x00, 0xff, 0x0d, // key: XK_Return
    ),
    { type: 'KeyEvent', down: true, keysym: 0xff0d },
  ],
  [
    'PointerEvent',
    bytes(
      5, // message-type
      0x81, // button-mask: left and, without ExtendedMouseButtons, button 8 (back)
      0x00, 0x64, // x-position
      0x00, 0xc8, // y-position
    ),
    { type: 'PointerEvent', buttons: 0x81, x: 100, y: 200 },
  ],
  [
    'extended PointerEvent',
    bytes(
      5, // message-type
      0x81, // button-mask: marker bit 7 and left
      0x00, 0x01, // x-position
      0x00, 0x02, // y-position
      0x02, // extended-buttons-mask: forward
    ),
    { type: 'PointerEvent', buttons: 0x001 | (0x02 << 7), x: 1, y: 2 },
    { extendedMouseButtons: true },
  ],
  [
    'ClientCutText',
    bytes(
      6, // message-type
      0, 0, 0, // padding
      0x00, 0x00, 0x00, 0x05, // length
      'h\xe9llo', // text, ISO 8859-1
    ),
    { type: 'ClientCutText', text: 'héllo' },
  ],
  [
    'Extended Clipboard caps',
    bytes(
      6, // message-type
      0, 0, 0, // padding
      0xff, 0xff, 0xff, 0xf4, // length -12: extended, 12 bytes follow
      0x1f, 0x00, 0x00, 0x03, // flags: caps|request|peek|notify|provide, text|rtf
      0x00, 0x00, 0x00, 0x00, // max size of text
      0x00, 0x10, 0x00, 0x00, // max size of rtf
    ),
    {
      type: 'ExtendedClipboardCaps',
      formats: ClipboardFormat.Text | ClipboardFormat.Rtf,
      actions: ClipboardAction.Caps | ClipboardAction.Request | ClipboardAction.Peek | ClipboardAction.Notify | ClipboardAction.Provide,
      maxSizes: new Map([
        [ClipboardFormat.Text, 0],
        [ClipboardFormat.Rtf, 0x100000],
      ]),
    },
  ],
  [
    'Extended Clipboard notify',
    bytes(6, 0, 0, 0, 0xff, 0xff, 0xff, 0xfc, 0x08, 0x00, 0x00, 0x01), // -4, notify|text
    { type: 'ExtendedClipboardNotify', formats: ClipboardFormat.Text },
  ],
  [
    'Extended Clipboard request',
    bytes(6, 0, 0, 0, 0xff, 0xff, 0xff, 0xfc, 0x02, 0x00, 0x00, 0x01), // -4, request|text
    { type: 'ExtendedClipboardRequest', formats: ClipboardFormat.Text },
  ],
  [
    'Extended Clipboard peek',
    bytes(6, 0, 0, 0, 0xff, 0xff, 0xff, 0xfc, 0x04, 0x00, 0x00, 0x00), // -4, peek
    { type: 'ExtendedClipboardPeek' },
  ],
  [
    'EnableContinuousUpdates',
    bytes(
      150, // message-type
      1, // enable-flag
      0x00, 0x00, // x-position
      0x00, 0x00, // y-position
      0x04, 0x00, // width 1024
      0x03, 0x00, // height 768
    ),
    { type: 'EnableContinuousUpdates', enable: true, x: 0, y: 0, width: 1024, height: 768 },
  ],
  [
    'ClientFence',
    bytes(
      248, // message-type
      0, 0, 0, // padding
      0x80, 0x00, 0x00, 0x03, // flags: Request|BlockAfter|BlockBefore
      2, // length
      0xab, 0xcd, // payload
    ),
    { type: 'ClientFence', flags: 0x80000003, payload: Buffer.from([0xab, 0xcd]) },
  ],
  [
    'SetDesktopSize',
    bytes(
      251, // message-type
      0, // padding
      0x07, 0x80, // width 1920
      0x04, 0x38, // height 1080
      1, // number-of-screens
      0, // padding
      0x00, 0x00, 0x00, 0x01, // id
      0x00, 0x00, // x-position
      0x00, 0x00, // y-position
      0x07, 0x80, // width
      0x04, 0x38, // height
      0x00, 0x00, 0x00, 0x00, // flags
    ),
    { type: 'SetDesktopSize', width: 1920, height: 1080, screens: [{ id: 1, x: 0, y: 0, width: 1920, height: 1080, flags: 0 }] },
  ],
  [
    'QEMU Extended Key Event',
    bytes(
      255, // message-type
      0, // submessage-type
      0x00, 0x01, // down-flag
      0x00, 0x00, 0x00, 0x61, // keysym: XK_a
      0x00, 0x00, 0x00, 0x1e, // keycode: XT 0x1e
    ),
    { type: 'QemuExtendedKeyEvent', down: true, keysym: 0x61, keycode: 0x1e },
  ],
  ['QEMU Audio enable', bytes(255, 1, 0x00, 0x00), { type: 'QemuAudioEnable' }], // type, submessage, operation 0
  ['QEMU Audio disable', bytes(255, 1, 0x00, 0x01), { type: 'QemuAudioDisable' }], // operation 1
  [
    'QEMU Audio set format',
    bytes(
      255, // message-type
      1, // submessage-type
      0x00, 0x02, // operation: set format
      3, // sample-format: S16
      2, // nchannels
      0x00, 0x00, 0xac, 0x44, // frequency 44100
    ),
    { type: 'QemuAudioSetFormat', sampleFormat: 3, channels: 2, frequency: 44100 },
  ],
];

describe('client messages (RFC 6143 §7.5, rfbproto)', () => {
  it.each(VECTORS)('parses %s', (_name, buf, message, opts) => {
    expect(parseOne(buf, opts)).toEqual(message);
  });

  it.each(VECTORS)('asks for more bytes while %s is incomplete', (_name, buf, _message, opts) => {
    for (let n = 0; n < buf.length; n++) {
      const result = parseClientMessage(buf.subarray(0, n), 0, opts);
      expect(result).toHaveProperty('needBytes');
      if ('needBytes' in result) {
        expect(result.needBytes).toBeGreaterThan(n);
        expect(result.needBytes).toBeLessThanOrEqual(buf.length);
      }
    }
  });

  it('parses at an offset and leaves what follows', () => {
    const stream = Buffer.concat([Buffer.from([9, 9, 9]), VECTORS[3][1], VECTORS[2][1]]);
    const result = parseClientMessage(stream, 3);
    expect(result).toEqual({ message: VECTORS[3][2], size: 8 });
  });

  it('parses a stream fed in chunks of every size', () => {
    const stream = Buffer.concat(VECTORS.filter(([, , , opts]) => !opts).map(([, buf]) => buf));
    const expected = VECTORS.filter(([, , , opts]) => !opts).map(([, , message]) => message);
    for (const chunkSize of [1, 2, 3, 5, 7, 13, 64, stream.length]) {
      const messages: ClientMessage[] = [];
      let pending = Buffer.alloc(0);
      for (let at = 0; at < stream.length; at += chunkSize) {
        pending = Buffer.concat([pending, stream.subarray(at, at + chunkSize)]);
        let offset = 0;
        for (;;) {
          const result = parseClientMessage(pending, offset);
          if ('needBytes' in result) {
            expect(result.needBytes).toBeGreaterThan(pending.length - offset);
            break;
          }
          messages.push(result.message);
          offset += result.size;
        }
        pending = pending.subarray(offset);
      }
      expect(messages, `chunks of ${chunkSize}`).toEqual(expected);
      expect(pending.length).toBe(0);
    }
  });
});

describe('invalid client messages', () => {
  it.each([1, 7, 100, 249, 250, 254])('rejects unknown message type %i', (type) => {
    expectCode(() => parseClientMessage(Buffer.from([type, 0, 0, 0, 0, 0, 0, 0]), 0), 'RFB_ERR_UNKNOWN_MESSAGE');
  });

  it('rejects unknown QEMU submessages and audio operations', () => {
    expectCode(() => parseClientMessage(bytes(255, 2), 0), 'RFB_ERR_UNKNOWN_MESSAGE');
    expectCode(() => parseClientMessage(bytes(255, 1, 0, 3), 0), 'RFB_ERR_UNKNOWN_MESSAGE');
  });

  it('rejects audio formats QEMU does not define', () => {
    expectCode(() => parseClientMessage(bytes(255, 1, 0, 2, 6, 2, 0, 0, 0xac, 0x44), 0), 'RFB_ERR_BAD_AUDIO_FORMAT');
    expectCode(() => parseClientMessage(bytes(255, 1, 0, 2, 3, 3, 0, 0, 0xac, 0x44), 0), 'RFB_ERR_BAD_AUDIO_FORMAT');
  });

  it('rejects absurd cut-text lengths from the header alone', () => {
    // 2 GiB − 1 announced, 8 bytes present: refused before buffering anything.
    expectCode(() => parseClientMessage(bytes(6, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff), 0), 'RFB_ERR_TOO_LONG');
    // Just over the default 1 MiB.
    expectCode(() => parseClientMessage(bytes(6, 0, 0, 0, 0x00, 0x10, 0x00, 0x01), 0), 'RFB_ERR_TOO_LONG');
    // Extended form, -2 GiB.
    expectCode(() => parseClientMessage(bytes(6, 0, 0, 0, 0x80, 0x00, 0x00, 0x00), 0), 'RFB_ERR_TOO_LONG');
    // A configured limit.
    expectCode(() => parseClientMessage(bytes(6, 0, 0, 0, 0, 0, 0, 17), 0, { maxCutTextLength: 16 }), 'RFB_ERR_TOO_LONG');
    expect(parseClientMessage(bytes(6, 0, 0, 0, 0, 0, 0, 16), 0, { maxCutTextLength: 16 })).toEqual({ needBytes: 24 });
  });

  it('rejects SetEncodings lists over the limit from the header alone', () => {
    expectCode(() => parseClientMessage(bytes(2, 0, 0x04, 0x01), 0), 'RFB_ERR_TOO_MANY_ENCODINGS'); // 1025
    expectCode(() => parseClientMessage(bytes(2, 0, 0xff, 0xff), 0), 'RFB_ERR_TOO_MANY_ENCODINGS');
    expectCode(() => parseClientMessage(bytes(2, 0, 0, 3), 0, { maxEncodings: 2 }), 'RFB_ERR_TOO_MANY_ENCODINGS');
    expect(parseClientMessage(bytes(2, 0, 0x04, 0x00), 0)).toEqual({ needBytes: 4 + 4 * 1024 });
  });

  it('rejects SetDesktopSize with too many screens', () => {
    expectCode(() => parseClientMessage(bytes(251, 0, 4, 0, 3, 0, 17, 0), 0), 'RFB_ERR_TOO_MANY_SCREENS');
    expectCode(() => parseClientMessage(bytes(251, 0, 4, 0, 3, 0, 3, 0), 0, { maxScreens: 2 }), 'RFB_ERR_TOO_MANY_SCREENS');
  });

  it('rejects fence payloads over 64 bytes', () => {
    expectCode(() => parseClientMessage(bytes(248, 0, 0, 0, 0x80, 0, 0, 0, 65), 0), 'RFB_ERR_BAD_FENCE');
    expect(parseClientMessage(bytes(248, 0, 0, 0, 0x80, 0, 0, 0, 64), 0)).toEqual({ needBytes: 9 + 64 });
  });

  it('rejects pixel formats the server cannot produce', () => {
    const pf = (bpp: number, trueColour: number): Buffer =>
      bytes(0, 0, 0, 0, bpp, 24, 0, trueColour, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0);
    expectCode(() => parseClientMessage(pf(24, 1), 0), 'RFB_ERR_BAD_PIXEL_FORMAT'); // 24 bpp
    expectCode(() => parseClientMessage(pf(32, 0), 0), 'RFB_ERR_BAD_PIXEL_FORMAT'); // colour map
  });

  it('rejects malformed Extended Clipboard messages', () => {
    // Fewer than 4 bytes: no room for the flags.
    expectCode(() => parseClientMessage(bytes(6, 0, 0, 0, 0xff, 0xff, 0xff, 0xfe, 0, 0), 0), 'RFB_ERR_BAD_CLIPBOARD');
    // Two actions at once.
    expectCode(() => parseClientMessage(bytes(6, 0, 0, 0, 0xff, 0xff, 0xff, 0xfc, 0x0a, 0, 0, 1), 0), 'RFB_ERR_BAD_CLIPBOARD');
    // No action.
    expectCode(() => parseClientMessage(bytes(6, 0, 0, 0, 0xff, 0xff, 0xff, 0xfc, 0x00, 0, 0, 1), 0), 'RFB_ERR_BAD_CLIPBOARD');
    // Caps naming two formats with one size.
    expectCode(
      () => parseClientMessage(bytes(6, 0, 0, 0, 0xff, 0xff, 0xff, 0xf8, 0x01, 0, 0, 3, 0, 0, 0, 0), 0),
      'RFB_ERR_BAD_CLIPBOARD',
    );
  });
});

describe('Extended Clipboard provide (rfbproto "Extended Clipboard Pseudo-Encoding")', () => {
  const text = Buffer.from('hi\r\n€!\0', 'utf8');
  const body = Buffer.concat([Buffer.from([0, 0, 0, text.length]), text]); // U32 size, data

  function provide(compressed: Buffer): Buffer {
    const head = Buffer.alloc(12);
    head[0] = 6; // message-type
    head.writeInt32BE(-(4 + compressed.length), 4); // length, negative
    head.writeUInt32BE(0x10000001, 8); // flags: provide|text
    return Buffer.concat([head, compressed]);
  }

  it('returns the compressed data, decoded separately', () => {
    const message = parseOne(provide(deflateSync(body)));
    expect(message.type).toBe('ExtendedClipboardProvide');
    if (message.type !== 'ExtendedClipboardProvide') return;
    const data = decodeExtendedClipboardProvide(message.formats, message.compressed);
    expect([...data.keys()]).toEqual([ClipboardFormat.Text]);
    expect(decodeClipboardText(data.get(ClipboardFormat.Text) ?? Buffer.alloc(0))).toBe('hi\n€!');
  });

  it('accepts a stream ended by a flush instead of a finish, as noVNC sends', () => {
    const unfinished = deflateSync(body, { finishFlush: zlibConstants.Z_FULL_FLUSH });
    const data = decodeExtendedClipboardProvide(ClipboardFormat.Text, unfinished);
    expect(data.get(ClipboardFormat.Text)).toEqual(text);
  });

  it('caps the inflated size', () => {
    const big = deflateSync(Buffer.concat([Buffer.from([0, 0x20, 0, 0]), Buffer.alloc(0x200000)]));
    expect(big.length).toBeLessThan(4096); // tiny on the wire…
    expectCode(() => decodeExtendedClipboardProvide(ClipboardFormat.Text, big), 'RFB_ERR_TOO_LONG'); // …2 MiB inflated
    expectCode(() => decodeExtendedClipboardProvide(ClipboardFormat.Text, deflateSync(body), 8), 'RFB_ERR_TOO_LONG');
  });

  it('rejects data that is not zlib or ends early', () => {
    expectCode(() => decodeExtendedClipboardProvide(ClipboardFormat.Text, Buffer.from('not zlib')), 'RFB_ERR_BAD_CLIPBOARD');
    expectCode(() => decodeExtendedClipboardProvide(ClipboardFormat.Text, deflateSync(Buffer.from([0, 0]))), 'RFB_ERR_BAD_CLIPBOARD');
    expectCode(
      () => decodeExtendedClipboardProvide(ClipboardFormat.Text, deflateSync(Buffer.from([0, 0, 0, 9, 1]))),
      'RFB_ERR_BAD_CLIPBOARD',
    );
    // Text and RTF announced, text alone present.
    expectCode(
      () => decodeExtendedClipboardProvide(ClipboardFormat.Text | ClipboardFormat.Rtf, deflateSync(body)),
      'RFB_ERR_BAD_CLIPBOARD',
    );
  });
});
