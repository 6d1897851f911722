import { describe, expect, it } from 'vitest';
import { COPYRECT_LENGTH, encodeCopyRect } from '../src/rfb/encoders/copyrect.js';
import { encodingName, negotiateEncodings } from '../src/rfb/encoders/index.js';
import { Encoding } from '../src/rfb/constants.js';

describe('CopyRect (RFC 6143 §7.7.2)', () => {
  it('is the rectangle header with encoding-type 1, then U16 src-x-position and U16 src-y-position', () => {
    const bytes = encodeCopyRect({ x: 0, y: 16, w: 1024, h: 736, srcX: 0, srcY: 32 });
    // prettier-ignore
    expect([...bytes]).toEqual([
      0x00, 0x00, // x-position 0
      0x00, 0x10, // y-position 16
      0x04, 0x00, // width 1024
      0x02, 0xe0, // height 736
      0x00, 0x00, 0x00, 0x01, // encoding-type 1 (CopyRect)
      0x00, 0x00, // src-x-position 0
      0x00, 0x20, // src-y-position 32
    ]);
    expect(bytes.length).toBe(COPYRECT_LENGTH);
    expect(COPYRECT_LENGTH).toBe(16);
  });

  it('writes every field big-endian, up to 65535', () => {
    const bytes = encodeCopyRect({ x: 0x1234, y: 0xfffe, w: 1, h: 0xffff, srcX: 0xabcd, srcY: 0x0102 });
    expect(bytes.readUInt16BE(0)).toBe(0x1234);
    expect(bytes.readUInt16BE(2)).toBe(0xfffe);
    expect(bytes.readUInt16BE(4)).toBe(1);
    expect(bytes.readUInt16BE(6)).toBe(0xffff);
    expect(bytes.readInt32BE(8)).toBe(Encoding.CopyRect);
    expect(bytes.readUInt16BE(12)).toBe(0xabcd);
    expect(bytes.readUInt16BE(14)).toBe(0x0102);
  });

  it('is named "copyrect" in metrics, and listing it does not make it the pixel encoding', () => {
    expect(encodingName(Encoding.CopyRect)).toBe('copyrect');
    // TigerVNC lists CopyRect before its preferred encoding; pixels still go as ZRLE.
    const prefs = negotiateEncodings([Encoding.CopyRect, Encoding.ZRLE, Encoding.Raw]);
    expect(prefs.encoding).toBe(Encoding.ZRLE);
    expect(prefs.requested.has(Encoding.CopyRect)).toBe(true);
  });
});
