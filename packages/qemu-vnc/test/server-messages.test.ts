import { PIXEL_FORMAT_BGRX } from '@vdi-sidecar/display-core';
import { describe, expect, it } from 'vitest';
import { decodeClipboardText, decodeExtendedClipboardProvide, parseClientMessage } from '../src/rfb/client-messages.js';
import {
  ClipboardAction,
  ClipboardFormat,
  DesktopSizeReason,
  DesktopSizeStatus,
  FenceFlag,
  LedState,
  PseudoEncoding,
  SecurityType,
  VeNCryptSubtype,
} from '../src/rfb/constants.js';
import {
  encodeAckRect,
  encodeBell,
  encodeClipboardText,
  encodeCursorRect,
  encodeDesktopNameRect,
  encodeDesktopSizeRect,
  encodeEndOfContinuousUpdates,
  encodeExtendedClipboardCaps,
  encodeExtendedClipboardNotify,
  encodeExtendedClipboardPeek,
  encodeExtendedClipboardProvideText,
  encodeExtendedClipboardRequest,
  encodeExtendedDesktopSizeRect,
  encodeFramebufferUpdateHeader,
  encodeLastRect,
  encodeLedStateRect,
  encodeProtocolVersion,
  encodeQemuAudioBegin,
  encodeQemuAudioData,
  encodeQemuAudioEnd,
  encodeRectHeader,
  encodeSecurityFailure,
  encodeSecurityResult,
  encodeSecurityTypes,
  encodeSecurityTypeV33,
  encodeServerCutText,
  encodeServerFence,
  encodeServerInit,
  encodeVeNCryptSubtypes,
  encodeVeNCryptVersion,
  UNKNOWN_RECT_COUNT,
} from '../src/rfb/server-messages.js';
import { PF_565 } from './rfb-decoders.js';

const bytes = (...values: Array<number | string>): Buffer =>
  Buffer.concat(values.map((v) => (typeof v === 'string' ? Buffer.from(v, 'latin1') : Buffer.from([v]))));

describe('handshake (RFC 6143 §7.1–§7.3)', () => {
  it('writes ProtocolVersion as rfbproto spells it', () => {
    expect(encodeProtocolVersion('3.8')).toEqual(bytes(0x52, 0x46, 0x42, 0x20, 0x30, 0x30, 0x33, 0x2e, 0x30, 0x30, 0x38, 0x0a));
    expect(encodeProtocolVersion('3.7').toString()).toBe('RFB 003.007\n');
    expect(encodeProtocolVersion('3.3').toString()).toBe('RFB 003.003\n');
  });

  it('offers security types in both forms', () => {
    expect(encodeSecurityTypes([SecurityType.None, SecurityType.VncAuthentication])).toEqual(
      bytes(
        2, // number-of-security-types
        1, 2, // security-types
      ),
    );
    expect(encodeSecurityTypeV33(SecurityType.VncAuthentication)).toEqual(bytes(0, 0, 0, 2)); // U32 security-type
    expect(() => encodeSecurityTypes([])).toThrow(RangeError);
  });

  it('refuses a connection with a reason', () => {
    expect(encodeSecurityFailure('3.8', 'nope')).toEqual(
      bytes(
        0, // number-of-security-types: failure
        0, 0, 0, 4, // reason-length
        'nope', // reason-string
      ),
    );
    expect(encodeSecurityFailure('3.3', 'nope')).toEqual(bytes(0, 0, 0, 0, 0, 0, 0, 4, 'nope')); // U32 0, reason
  });

  it('writes SecurityResult, with a reason only for 3.8 failures', () => {
    expect(encodeSecurityResult('3.8', true)).toEqual(bytes(0, 0, 0, 0)); // OK
    expect(encodeSecurityResult('3.8', false, 'bad')).toEqual(
      bytes(
        0, 0, 0, 1, // status: failed
        0, 0, 0, 3, // reason-length
        'bad', // reason-string
      ),
    );
    expect(encodeSecurityResult('3.7', false)).toEqual(bytes(0, 0, 0, 1));
    expect(encodeSecurityResult('3.3', false)).toEqual(bytes(0, 0, 0, 1));
  });

  it('writes the VeNCrypt version and subtypes', () => {
    expect(encodeVeNCryptVersion()).toEqual(bytes(0, 2)); // major 0, minor 2
    expect(encodeVeNCryptSubtypes([VeNCryptSubtype.TLSNone, VeNCryptSubtype.X509Vnc])).toEqual(
      bytes(
        0, // ack: version accepted
        2, // subtypes length
        0, 0, 0x01, 0x01, // 257 TLSNone
        0, 0, 0x01, 0x05, // 261 X509Vnc
      ),
    );
  });

  it('writes ServerInit', () => {
    expect(encodeServerInit(1024, 768, PIXEL_FORMAT_BGRX, 'vm')).toEqual(
      bytes(
        0x04, 0x00, // framebuffer-width
        0x03, 0x00, // framebuffer-height
        32, // bits-per-pixel
        24, // depth
        0, // big-endian-flag
        1, // true-colour-flag
        0x00, 0xff, // red-max
        0x00, 0xff, // green-max
        0x00, 0xff, // blue-max
        16, // red-shift
        8, // green-shift
        0, // blue-shift
        0, 0, 0, // padding
        0, 0, 0, 2, // name-length
        'vm', // name-string
      ),
    );
  });
});

describe('FramebufferUpdate and pseudo-rectangles (RFC 6143 §7.6.1, §7.8; rfbproto)', () => {
  it('writes the update header and rectangle headers', () => {
    expect(encodeFramebufferUpdateHeader(1)).toEqual(
      bytes(
        0, // message-type
        0, // padding
        0x00, 0x01, // number-of-rectangles
      ),
    );
    expect(encodeFramebufferUpdateHeader(UNKNOWN_RECT_COUNT)).toEqual(bytes(0, 0, 0xff, 0xff));
    expect(() => encodeFramebufferUpdateHeader(65536)).toThrow(RangeError);
    expect(encodeRectHeader(1, 2, 3, 4, 16)).toEqual(
      bytes(
        0x00, 0x01, // x-position
        0x00, 0x02, // y-position
        0x00, 0x03, // width
        0x00, 0x04, // height
        0x00, 0x00, 0x00, 0x10, // encoding-type ZRLE
      ),
    );
  });

  it('writes LastRect, DesktopSize and DesktopName', () => {
    expect(encodeLastRect()).toEqual(bytes(0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x20)); // -224
    expect(encodeDesktopSizeRect(800, 600)).toEqual(bytes(0, 0, 0, 0, 0x03, 0x20, 0x02, 0x58, 0xff, 0xff, 0xff, 0x21)); // -223
    expect(encodeDesktopNameRect('vm')).toEqual(bytes(0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xfe, 0xcd, 0, 0, 0, 2, 'vm')); // -307
  });

  it('writes ExtendedDesktopSize with its screens', () => {
    const rect = encodeExtendedDesktopSizeRect({
      reason: DesktopSizeReason.ThisClient,
      status: DesktopSizeStatus.Forwarded,
      width: 1920,
      height: 1080,
      screens: [{ id: 0x01020304, x: 0, y: 0, width: 1920, height: 1080, flags: 0 }],
    });
    expect(rect).toEqual(
      bytes(
        0x00, 0x01, // x-position: reason, this client
        0x00, 0x04, // y-position: status, request forwarded
        0x07, 0x80, // width
        0x04, 0x38, // height
        0xff, 0xff, 0xfe, 0xcc, // encoding-type -308
        1, // number-of-screens
        0, 0, 0, // padding
        0x01, 0x02, 0x03, 0x04, // id
        0x00, 0x00, // x-position
        0x00, 0x00, // y-position
        0x07, 0x80, // width
        0x04, 0x38, // height
        0x00, 0x00, 0x00, 0x00, // flags
      ),
    );
  });

  it('writes the QEMU LED state as QEMU does, a 1×1 rectangle', () => {
    expect(encodeLedStateRect(LedState.NumLock | LedState.CapsLock)).toEqual(
      bytes(
        0, 0, 0, 0, // x, y
        0, 1, 0, 1, // width 1, height 1
        0xff, 0xff, 0xfe, 0xfb, // encoding-type -261
        0x06, // state: Num Lock, Caps Lock
      ),
    );
  });

  it('acknowledges extensions with an empty pseudo-rectangle', () => {
    expect(encodeAckRect(PseudoEncoding.QemuExtendedKeyEvent)).toEqual(bytes(0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xfe, 0xfe)); // -258
    expect(encodeAckRect(PseudoEncoding.ExtendedMouseButtons)).toEqual(bytes(0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xfe, 0xc4)); // -316
  });

  it('writes a Cursor: client pixels, then a mask from the alpha channel', () => {
    // 2×2, B,G,R,A: opaque red, transparent, green at alpha 200, blue at alpha 50.
    const data = Buffer.from([0, 0, 255, 255, 9, 9, 9, 0, 0, 255, 0, 200, 255, 0, 0, 50]);
    expect(encodeCursorRect({ width: 2, height: 2, hotX: 1, hotY: 0, data }, PF_565)).toEqual(
      bytes(
        0x00, 0x01, // x-position: hotspot x
        0x00, 0x00, // y-position: hotspot y
        0x00, 0x02, // width
        0x00, 0x02, // height
        0xff, 0xff, 0xff, 0x11, // encoding-type -239
        0x00, 0xf8, // red 0xf800, little-endian
        0x41, 0x08, // 0x090909 → R 1, G 2, B 1: 0x0841
        0xe0, 0x07, // green 0x07e0
        0x1f, 0x00, // blue 0x001f
        0b1000_0000, // mask row 0: red drawn, transparent pixel not
        0b1000_0000, // mask row 1: green (200 ≥ 128) drawn, blue (50) not
      ),
    );
    expect(encodeCursorRect({ width: 0, height: 0, hotX: 0, hotY: 0, data: Buffer.alloc(0) }, PF_565)).toHaveLength(12);
  });
});

describe('other server messages (RFC 6143 §7.6; rfbproto)', () => {
  it('writes Bell and EndOfContinuousUpdates', () => {
    expect(encodeBell()).toEqual(bytes(2));
    expect(encodeEndOfContinuousUpdates()).toEqual(bytes(150));
  });

  it('writes ServerCutText in Latin-1 with LF line ends', () => {
    expect(encodeServerCutText('h\xe9\r\nx€')).toEqual(
      bytes(
        3, // message-type
        0, 0, 0, // padding
        0, 0, 0, 5, // length
        'h\xe9\nx', // text
        0x3f, // '€' is not Latin-1
      ),
    );
  });

  it('writes ServerFence', () => {
    expect(encodeServerFence(FenceFlag.Request | FenceFlag.BlockBefore, Buffer.from([7]))).toEqual(
      bytes(
        248, // message-type
        0, 0, 0, // padding
        0x80, 0x00, 0x00, 0x01, // flags
        1, // length
        7, // payload
      ),
    );
    expect(() => encodeServerFence(0, Buffer.alloc(65))).toThrow(RangeError);
  });

  it('writes the QEMU Audio messages', () => {
    expect(encodeQemuAudioBegin()).toEqual(bytes(255, 1, 0, 1)); // type, submessage, operation 1: begin
    expect(encodeQemuAudioEnd()).toEqual(bytes(255, 1, 0, 0)); // operation 0: end
    expect(encodeQemuAudioData(Buffer.from([1, 2, 3, 4]))).toEqual(
      bytes(
        255, // message-type
        1, // submessage-type
        0, 2, // operation: data
        0, 0, 0, 4, // data-length
        1, 2, 3, 4, // data
      ),
    );
  });
});

describe('Extended Clipboard server messages', () => {
  it('writes caps with one size per format', () => {
    const actions = ClipboardAction.Request | ClipboardAction.Peek | ClipboardAction.Notify | ClipboardAction.Provide;
    expect(encodeExtendedClipboardCaps(actions, new Map([[ClipboardFormat.Text, 0]]))).toEqual(
      bytes(
        3, // message-type
        0, 0, 0, // padding
        0xff, 0xff, 0xff, 0xf8, // length -8: extended
        0x1f, 0x00, 0x00, 0x01, // flags: caps|request|peek|notify|provide, text
        0x00, 0x00, 0x00, 0x00, // max size of text
      ),
    );
  });

  it('writes notify, request and peek', () => {
    expect(encodeExtendedClipboardNotify(ClipboardFormat.Text)).toEqual(bytes(3, 0, 0, 0, 0xff, 0xff, 0xff, 0xfc, 0x08, 0, 0, 1));
    expect(encodeExtendedClipboardRequest(ClipboardFormat.Text)).toEqual(bytes(3, 0, 0, 0, 0xff, 0xff, 0xff, 0xfc, 0x02, 0, 0, 1));
    expect(encodeExtendedClipboardPeek()).toEqual(bytes(3, 0, 0, 0, 0xff, 0xff, 0xff, 0xfc, 0x04, 0, 0, 0));
  });

  it('writes text for provide as UTF-8 with CR LF and a NUL', () => {
    expect(encodeClipboardText('a\nb')).toEqual(Buffer.from('a\r\nb\0'));
  });

  it('round-trips provide through the client parser (same layout as ClientCutText)', () => {
    const message = encodeExtendedClipboardProvideText('line 1\nlíne 2 ✓');
    message[0] = 6; // ServerCutText → ClientCutText
    const result = parseClientMessage(message, 0);
    if (!('message' in result) || result.message.type !== 'ExtendedClipboardProvide') throw new Error('not a provide');
    expect(result.size).toBe(message.length);
    const data = decodeExtendedClipboardProvide(result.message.formats, result.message.compressed);
    expect(decodeClipboardText(data.get(ClipboardFormat.Text) ?? Buffer.alloc(0))).toBe('line 1\nlíne 2 ✓');
  });
});
