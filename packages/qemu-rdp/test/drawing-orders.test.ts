// Primary drawing orders (MS-RDPEGDI 2.2.2.2.1.1): ScrBlt, the fast-path Orders update that
// carries it (MS-RDPBCGR 2.2.9.1.2.1.2), the Order capability set that announces it, and the
// bitmap update encoder sending it before the bitmaps of the same update.
import { describe, expect, it } from 'vitest';
import { Framebuffer } from '@vdi-sidecar/display-core';
import { buildServerCapabilitySets, CapabilitySetType, encodeOrderCapability, OrderFlags, summarizeClientCapabilities } from '../src/pdu/capabilities.js';
import { encodeOrdersUpdateData, encodeScrBltOrder, OrderSupportIndex, SCRBLT_ORDER_LENGTH, supportsOrder } from '../src/pdu/drawing-orders.js';
import { FastPathUpdateCode } from '../src/pdu/fast-path.js';
import { BitmapUpdateEncoder } from '../src/server/bitmap-updates.js';

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

describe('BitmapUpdateEncoder with leading updates', () => {
  it('sends the Orders update first, in the same fast-path frame as the bitmaps', () => {
    const fb = Object.assign(new Framebuffer(), { width: 64, height: 32, data: Buffer.alloc(64 * 32 * 4) });
    const encoder = new BitmapUpdateEncoder({ bpp: 32, compression: false }, 0x3f80);
    const orders = encodeOrdersUpdateData([encodeScrBltOrder({ left: 0, top: 0, width: 64, height: 16, srcX: 0, srcY: 16 })]);
    const frames = encoder.encode(fb, [{ x: 0, y: 16, w: 8, h: 8 }], undefined, [{ updateCode: FastPathUpdateCode.ORDERS, data: orders }]);
    expect(frames.length).toBe(1);
    const frame = frames[0]!;
    const headerSize = frame[1]! & 0x80 ? 3 : 2;
    // First update: updateHeader FASTPATH_UPDATETYPE_ORDERS, FASTPATH_FRAGMENT_SINGLE, size, the orders.
    expect(frame[headerSize]).toBe(FastPathUpdateCode.ORDERS);
    expect(frame.readUInt16LE(headerSize + 1)).toBe(orders.length);
    expect(frame.subarray(headerSize + 3, headerSize + 3 + orders.length)).toEqual(orders);
    expect(frame[headerSize + 3 + orders.length]).toBe(FastPathUpdateCode.BITMAP);
    // A copy alone is a frame of its own.
    expect(encoder.encode(fb, [], undefined, [{ updateCode: FastPathUpdateCode.ORDERS, data: orders }]).length).toBe(1);
    expect(encoder.encode(fb, [])).toEqual([]);
  });
});
