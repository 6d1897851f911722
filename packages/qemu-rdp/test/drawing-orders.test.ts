// Primary drawing orders (MS-RDPEGDI 2.2.2.2.1.1): ScrBlt and OpaqueRect, the fast-path Orders
// update that carries them (MS-RDPBCGR 2.2.9.1.2.1.2), the Order capability set that announces
// them, and the bitmap update encoder sending them before the bitmaps of the same update.
import { describe, expect, it } from 'vitest';
import { Framebuffer } from '@vdi-sidecar/display-core';
import { buildServerCapabilitySets, CapabilitySetType, encodeOrderCapability, OrderFlags, summarizeClientCapabilities } from '../src/pdu/capabilities.js';
import { encodeOpaqueRectOrder, encodeOrdersUpdateData, encodeScrBltOrder, OrderSupportIndex, SCRBLT_ORDER_LENGTH, supportsOrder } from '../src/pdu/drawing-orders.js';
import { FastPathUpdateCode } from '../src/pdu/fast-path.js';
import { BitmapUpdateEncoder } from '../src/server/bitmap-updates.js';
import { decodeInterleaved, decodePlanar, decodeUncompressed } from './bitmap-decoders.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+|\/\/[^\n]*/g, ''), 'hex');

describe('ScrBlt primary drawing order', () => {
  it('is controlFlags, orderType, one fieldFlags byte with all seven fields, then the fields (2.2.2.2.1.1.2.7)', () => {
    const order = encodeScrBltOrder({ left: 0, top: 0, width: 1024, height: 752, srcX: 0, srcY: 16 });
    expect(order).toEqual(
      hex(`
        09       // controlFlags: TS_STANDARD | TS_TYPE_CHANGE (no TS_BOUNDS, no TS_DELTA_COORDINATES)
        02       // orderType: TS_ENC_SCRBLT_ORDER
        7f       // fieldFlags: nLeftRect .. nYSrc all present
        0000     // nLeftRect 0
        0000     // nTopRect 0
        0004     // nWidth 1024
        f002     // nHeight 752
        cc       // bRop: SRCCOPY
        0000     // nXSrc 0
        1000     // nYSrc 16
      `),
    );
    expect(order.length).toBe(SCRBLT_ORDER_LENGTH);
  });

  it('writes coordinates as 2-byte signed little-endian values (2.2.2.2.1.1.1.1)', () => {
    const order = encodeScrBltOrder({ left: -3, top: 0x1234, width: 1, height: 0x7fff, srcX: 0x7fff, srcY: -0x8000 });
    expect(order.subarray(3)).toEqual(hex('fdff 3412 0100 ff7f cc ff7f 0080'));
  });

  it('refuses values that do not fit', () => {
    expect(() => encodeScrBltOrder({ left: 0x8000, top: 0, width: 1, height: 1, srcX: 0, srcY: 0 })).toThrow(RangeError);
    expect(() => encodeScrBltOrder({ left: 0, top: 0, width: 0, height: 1, srcX: 0, srcY: 0 })).toThrow(RangeError);
    expect(() => encodeScrBltOrder({ left: 0, top: 0, width: 1, height: 1, srcX: 0.5, srcY: 0 })).toThrow(RangeError);
  });

  it('goes in an Orders update: numberOrders (u16), then the orders (MS-RDPBCGR 2.2.9.1.2.1.2)', () => {
    const a = encodeScrBltOrder({ left: 1, top: 2, width: 3, height: 4, srcX: 5, srcY: 6 });
    const b = encodeScrBltOrder({ left: 7, top: 8, width: 9, height: 10, srcX: 11, srcY: 12 });
    expect(encodeOrdersUpdateData([a, b])).toEqual(Buffer.concat([hex('0200'), a, b]));
    expect(encodeOrdersUpdateData([])).toEqual(hex('0000'));
  });
});

describe('Order capability set and ScrBlt support', () => {
  it("puts the server's supported orders in orderSupport (2.2.7.1.3)", () => {
    const set = encodeOrderCapability([OrderSupportIndex.SCRBLT]);
    expect(set.data.length).toBe(84);
    const orderSupport = set.data.subarray(16 + 4 + 2 + 2 + 2 + 2 + 2 + 2, 16 + 4 + 2 + 2 + 2 + 2 + 2 + 2 + 32);
    expect([...orderSupport]).toEqual([0, 0, 1, ...Array<number>(29).fill(0)]);
    expect(() => encodeOrderCapability([32])).toThrow(RangeError);
    const sets = buildServerCapabilitySets({ desktopWidth: 800, desktopHeight: 600, orderSupport: [OrderSupportIndex.SCRBLT] });
    const caps = summarizeClientCapabilities(sets);
    expect(sets.find((s) => s.type === CapabilitySetType.ORDER)?.data).toEqual(set.data);
    expect(supportsOrder(caps.order, OrderSupportIndex.SCRBLT)).toBe(true);
    expect(supportsOrder(caps.order, OrderSupportIndex.PATBLT)).toBe(false);
  });

  it('needs orderSupport[TS_NEG_SCRBLT_INDEX] and NEGOTIATEORDERSUPPORT', () => {
    const orderSupport = Buffer.alloc(32);
    orderSupport[2] = 1;
    expect(supportsOrder({ orderFlags: OrderFlags.NEGOTIATEORDERSUPPORT, orderSupport }, OrderSupportIndex.SCRBLT)).toBe(true);
    expect(supportsOrder({ orderFlags: 0, orderSupport }, OrderSupportIndex.SCRBLT)).toBe(false);
    expect(supportsOrder({ orderFlags: OrderFlags.NEGOTIATEORDERSUPPORT, orderSupport: Buffer.alloc(32) }, OrderSupportIndex.SCRBLT)).toBe(false);
    expect(supportsOrder(undefined, OrderSupportIndex.SCRBLT)).toBe(false);
  });
});

describe('OpaqueRect', () => {
  it('is 14 bytes: flags, TS_ENC_OPAQUERECT_ORDER, fieldFlags 0x7F, four coordinates, red, green, blue', () => {
    const order = encodeOpaqueRectOrder({ left: 1, top: 2, width: 3, height: 4, red: 0x11, green: 0x22, blue: 0x33 });
    expect(order).toEqual(Buffer.from([0x09, 0x0a, 0x7f, 1, 0, 2, 0, 3, 0, 4, 0, 0x11, 0x22, 0x33]));
    expect(() => encodeOpaqueRectOrder({ left: 0, top: 0, width: 1, height: 1, red: 256, green: 0, blue: 0 })).toThrow(RangeError);
    expect(() => encodeOpaqueRectOrder({ left: 0, top: 0, width: 0, height: 1, red: 0, green: 0, blue: 0 })).toThrow(RangeError);
  });
});

describe('BitmapUpdateEncoder with drawing orders', () => {
  /**
   * The fast-path updates of frames: [updateCode, data], fragments joined (MS-RDPBCGR 2.2.9.1.2.1:
   * fragmentation in bits 4–5 of updateHeader, 0 single, 1 last, 2 first, 3 next); no compression here.
   */
  function updatesOf(...frames: Buffer[]): Array<[number, Buffer]> {
    const out: Array<[number, Buffer]> = [];
    let parts: Buffer[] = [];
    for (const frame of frames) {
      let pos = frame[1]! & 0x80 ? 3 : 2;
      while (pos < frame.length) {
        const code = frame[pos]! & 0x0f;
        const fragmentation = (frame[pos]! >> 4) & 3;
        const size = frame.readUInt16LE(pos + 1);
        parts.push(frame.subarray(pos + 3, pos + 3 + size));
        if (fragmentation <= 1) {
          out.push([code, Buffer.concat(parts)]);
          parts = [];
        }
        pos += 3 + size;
      }
    }
    return out;
  }

  it('sends the orders given first, in the same fast-path frame as the bitmaps', () => {
    const fb = Object.assign(new Framebuffer(), { width: 64, height: 32, data: Buffer.alloc(64 * 32 * 4) });
    const encoder = new BitmapUpdateEncoder({ bpp: 32, compression: false }, 0x3f80);
    const scrBlt = encodeScrBltOrder({ left: 0, top: 0, width: 64, height: 16, srcX: 0, srcY: 16 });
    const frames = encoder.encode(fb, [{ x: 0, y: 16, w: 8, h: 8 }], undefined, [scrBlt]);
    expect(frames.length).toBe(1);
    const updates = updatesOf(frames[0]!);
    expect(updates.map(([code]) => code)).toEqual([FastPathUpdateCode.ORDERS, FastPathUpdateCode.BITMAP]);
    expect(updates[0]![1]).toEqual(encodeOrdersUpdateData([scrBlt]));
    // A copy alone is a frame of its own.
    expect(encoder.encode(fb, [], undefined, [scrBlt]).length).toBe(1);
    expect(encoder.encode(fb, [])).toEqual([]);
  });

  it('fills tiles of one colour with OpaqueRect orders, joined across and down, and sends bitmaps for the rest', () => {
    const width = 192;
    const height = 128;
    const data = Buffer.alloc(width * height * 4);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        // B, G, R, X: blue on the left 128 columns, a gradient on the right.
        data.writeUInt32LE(x < 128 ? 0x000000ff : (x * 7 + y * 13) & 0xffffff, (y * width + x) * 4);
      }
    }
    const fb = Object.assign(new Framebuffer(), { width, height, data });
    const all = [{ x: 0, y: 0, w: width, h: height }];
    const filled = updatesOf(new BitmapUpdateEncoder({ bpp: 32, compression: true }, 0x800000, false, true).encode(fb, all)[0]!);
    expect(filled[0]![0]).toBe(FastPathUpdateCode.ORDERS);
    expect(filled[0]![1]).toEqual(encodeOrdersUpdateData([encodeOpaqueRectOrder({ left: 0, top: 0, width: 128, height: 128, red: 0, green: 0, blue: 0xff })]));
    // The two gradient tiles remain bitmaps.
    const bitmaps = filled.filter(([code]) => code === FastPathUpdateCode.BITMAP);
    expect(bitmaps.reduce((n, [, d]) => n + d.readUInt16LE(2), 0)).toBe(2);
    // Without the client's OpaqueRect, or at 16 bpp, every tile is a bitmap (joined along rows).
    for (const encoder of [new BitmapUpdateEncoder({ bpp: 32, compression: true }, 0x800000), new BitmapUpdateEncoder({ bpp: 16, compression: true }, 0x800000, false, true)]) {
      const updates = encoder.encode(fb, all).flatMap((f) => updatesOf(f));
      expect(updates.length).toBeGreaterThan(0);
      expect(updates.every(([code]) => code === FastPathUpdateCode.BITMAP)).toBe(true);
    }
  });

  it('joins the tiles of a row into bitmaps up to 256 pixels wide, which decode to the frame', () => {
    const width = 600;
    const height = 100;
    const data = Buffer.alloc(width * height * 4);
    // A gradient with a few lines of text-like dots: small enough for one unfragmented frame.
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) data.writeUInt32LE(y % 10 < 8 && (x * y) % 7 === 0 ? 0x202020 : (x * 7 + y * 13) & 0xffffff, (y * width + x) * 4);
    }
    const fb = Object.assign(new Framebuffer(), { width, height, data });
    for (const [session, decode] of [
      [{ bpp: 32, compression: true }, (d: Buffer, w: number, h: number, bpp: number) => (bpp === 32 ? decodePlanar(d, w, h).pixels : decodeInterleaved(d, w, h, bpp).pixels)],
      [{ bpp: 24, compression: true }, (d: Buffer, w: number, h: number, bpp: number, compressed: boolean) => (compressed ? decodeInterleaved(d, w, h, bpp).pixels : decodeUncompressed(d, w, h, bpp))],
    ] as const) {
      const frames = new BitmapUpdateEncoder(session, 0x800000).encode(fb, [{ x: 0, y: 0, w: width, h: height }]);
      const rects: Array<[number, number, number, number]> = [];
      for (const [, update] of updatesOf(...frames)) {
        // TS_UPDATE_BITMAP_DATA (MS-RDPBCGR 2.2.9.1.1.3.1.2.1): updateType, numberRectangles, TS_BITMAP_DATA each.
        let pos = 4;
        for (let n = update.readUInt16LE(2); n > 0; n--) {
          const [left, top, right, bottom, w, h, bpp, flags, length] = Array.from({ length: 9 }, (_, k) => update.readUInt16LE(pos + 2 * k));
          const pixels = decode(update.subarray(pos + 18, pos + 18 + length), w, h, bpp, (flags & 1) === 1);
          // The decoders give rows top-down, pixels as 0xRRGGBB (the frame's B, G, R, X read as a u32).
          for (let y = top; y <= bottom; y++) {
            for (let x = left; x <= right; x++) expect(pixels[(y - top) * w + (x - left)]! & 0xffffff).toBe(data.readUInt32LE((y * width + x) * 4) & 0xffffff);
          }
          rects.push([left, top, right - left + 1, bottom - top + 1]);
          pos += 18 + length;
        }
      }
      // Rows of 256 + 256 + 88 pixels, 64 and 36 high.
      expect(rects).toEqual([0, 64].flatMap((y) => [0, 256, 512].map((x): [number, number, number, number] => [x, y, x === 512 ? 88 : 256, y ? 36 : 64])));
    }
  });
});
