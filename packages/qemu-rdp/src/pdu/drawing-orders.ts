// Primary drawing orders (MS-RDPEGDI 2.2.2.2.1.1) for fast-path Orders updates (MS-RDPBCGR
// 2.2.9.1.2.1.2, FASTPATH_UPDATETYPE_ORDERS): this server sends ScrBlt (2.2.2.2.1.1.2.7), a
// screen-to-screen copy, for content the guest scrolled, and OpaqueRect (2.2.2.2.1.1.2.5) for
// areas of one colour. Every order is sent complete — all fields present, TS_TYPE_CHANGE, no
// bounds, no delta coordinates — so nothing depends on the client's order state from earlier
// orders. All integers are little-endian.
import { OrderFlags } from './capabilities.js';
import { WriteCursor } from './cursor.js';

/** controlFlags of a drawing order (MS-RDPEGDI 2.2.2.2.1.1.2). */
export const OrderControlFlags = {
  STANDARD: 0x01,
  SECONDARY: 0x02,
  BOUNDS: 0x04,
  TYPE_CHANGE: 0x08,
  DELTA_COORDINATES: 0x10,
  ZERO_BOUNDS_DELTAS: 0x20,
  ZERO_FIELD_BYTE_BIT0: 0x40,
  ZERO_FIELD_BYTE_BIT1: 0x80,
} as const;

/** orderType of a primary drawing order (MS-RDPEGDI 2.2.2.2.1.1.2). */
export const PrimaryOrderType = { DSTBLT: 0x00, PATBLT: 0x01, SCRBLT: 0x02, OPAQUERECT: 0x0a } as const;

/** Index in the Order Capability Set's orderSupport array (MS-RDPBCGR 2.2.7.1.3). */
export const OrderSupportIndex = { DSTBLT: 0x00, PATBLT: 0x01, SCRBLT: 0x02, OPAQUE_RECT: 0x0a } as const;

/** Ternary raster operation SRCCOPY: the destination becomes the source (MS-RDPEGDI 2.2.2.2.1.1.1.7). */
export const ROP3_SRCCOPY = 0xcc;

/** fieldFlags of a ScrBlt with all seven fields present (one byte: nLeftRect .. nYSrc). */
const SCRBLT_ALL_FIELDS = 0x7f;
export const SCRBLT_ORDER_LENGTH = 16;

/** A screen-to-screen copy: the `width`×`height` rectangle at (srcX, srcY) is drawn at (left, top). */
export interface ScrBlt {
  left: number;
  top: number;
  width: number;
  height: number;
  srcX: number;
  srcY: number;
}

/**
 * One ScrBlt primary drawing order (MS-RDPEGDI 2.2.2.2.1.1.2.7): controlFlags TS_STANDARD |
 * TS_TYPE_CHANGE, orderType TS_ENC_SCRBLT_ORDER, fieldFlags 0x7F, then nLeftRect, nTopRect,
 * nWidth, nHeight (Coord Field, 2.2.2.2.1.1.1.1: 2-byte signed without TS_DELTA_COORDINATES),
 * bRop (SRCCOPY) and nXSrc, nYSrc. 16 bytes.
 */
export function encodeScrBltOrder(o: ScrBlt): Buffer {
  checkCoordinates('ScrBlt', o.left, o.top, o.width, o.height, o.srcX, o.srcY);
  return new WriteCursor(SCRBLT_ORDER_LENGTH)
    .u8(OrderControlFlags.STANDARD | OrderControlFlags.TYPE_CHANGE)
    .u8(PrimaryOrderType.SCRBLT)
    .u8(SCRBLT_ALL_FIELDS)
    .i16le(o.left)
    .i16le(o.top)
    .i16le(o.width)
    .i16le(o.height)
    .u8(ROP3_SRCCOPY)
    .i16le(o.srcX)
    .i16le(o.srcY)
    .toBuffer();
}

/** fieldFlags of an OpaqueRect with all seven fields present (one byte: nLeftRect .. Blue). */
const OPAQUERECT_ALL_FIELDS = 0x7f;
export const OPAQUERECT_ORDER_LENGTH = 14;

/** A rectangle filled with one colour (8 bits per component). */
export interface OpaqueRect {
  left: number;
  top: number;
  width: number;
  height: number;
  red: number;
  green: number;
  blue: number;
}

/**
 * One OpaqueRect primary drawing order (MS-RDPEGDI 2.2.2.2.1.1.2.5): controlFlags TS_STANDARD |
 * TS_TYPE_CHANGE, orderType TS_ENC_OPAQUERECT_ORDER, fieldFlags 0x7F, then nLeftRect, nTopRect,
 * nWidth, nHeight (Coord Fields) and the colour as RedOrPaletteIndex, Green, Blue — components,
 * not a palette index, in sessions of more than 8 bits per pixel. 14 bytes.
 */
export function encodeOpaqueRectOrder(o: OpaqueRect): Buffer {
  checkCoordinates('OpaqueRect', o.left, o.top, o.width, o.height);
  for (const v of [o.red, o.green, o.blue]) {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new RangeError(`OpaqueRect colour component ${v} is not 0..255`);
  }
  return new WriteCursor(OPAQUERECT_ORDER_LENGTH)
    .u8(OrderControlFlags.STANDARD | OrderControlFlags.TYPE_CHANGE)
    .u8(PrimaryOrderType.OPAQUERECT)
    .u8(OPAQUERECT_ALL_FIELDS)
    .i16le(o.left)
    .i16le(o.top)
    .i16le(o.width)
    .i16le(o.height)
    .u8(o.red)
    .u8(o.green)
    .u8(o.blue)
    .toBuffer();
}

function checkCoordinates(order: string, left: number, top: number, width: number, height: number, ...more: number[]): void {
  for (const v of [left, top, ...more]) {
    if (!Number.isInteger(v) || v < -0x8000 || v > 0x7fff) throw new RangeError(`${order} coordinate ${v} is not a 16-bit signed integer`);
  }
  for (const v of [width, height]) {
    if (!Number.isInteger(v) || v < 1 || v > 0x7fff) throw new RangeError(`${order} size ${v} is not 1..32767`);
  }
}

/** The data of a fast-path Orders update (MS-RDPBCGR 2.2.9.1.2.1.2): numberOrders (u16), then the orders. */
export function encodeOrdersUpdateData(orders: readonly Buffer[]): Buffer {
  if (orders.length > 0xffff) throw new RangeError(`orders update: ${orders.length} orders exceed 65535`);
  const size = orders.reduce((n, o) => n + o.length, 2);
  const w = new WriteCursor(size).u16le(orders.length);
  for (const o of orders) w.bytes(o);
  return w.toBuffer();
}

/**
 * Whether an Order Capability Set (MS-RDPBCGR 2.2.7.1.3) announces the order at `index` of
 * orderSupport: its byte is non-zero, and orderFlags has NEGOTIATEORDERSUPPORT (which makes
 * orderSupport meaningful).
 */
export function supportsOrder(order: { orderFlags: number; orderSupport: Buffer } | undefined, index: number): boolean {
  if (!order || (order.orderFlags & OrderFlags.NEGOTIATEORDERSUPPORT) === 0) return false;
  return (order.orderSupport[index] ?? 0) !== 0;
}
