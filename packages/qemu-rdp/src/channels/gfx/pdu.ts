// Graphics pipeline PDUs (MS-RDPEGFX 2.2), the messages of the dynamic channel
// "Microsoft::Windows::RDS::Graphics" once unwrapped from their RDP_SEGMENTED_DATA (./segment.ts).
// Every PDU starts with RDPGFX_HEADER: cmdId (u16), flags (u16, 0) and pduLength (u32, the
// whole PDU with its header). Client PDUs are decoded strictly; server PDUs are encoded.
import { ReadCursor, WriteCursor } from '../../pdu/cursor.js';
import { RdpProtocolError } from '../../pdu/errors.js';

export const GFX_CHANNEL_NAME = 'Microsoft::Windows::RDS::Graphics';

/** RDPGFX_HEADER.cmdId (2.2.1.5). */
export const GfxCmd = {
  WIRE_TO_SURFACE_1: 0x0001,
  WIRE_TO_SURFACE_2: 0x0002,
  DELETE_ENCODING_CONTEXT: 0x0003,
  SOLID_FILL: 0x0004,
  SURFACE_TO_SURFACE: 0x0005,
  SURFACE_TO_CACHE: 0x0006,
  CACHE_TO_SURFACE: 0x0007,
  EVICT_CACHE_ENTRY: 0x0008,
  CREATE_SURFACE: 0x0009,
  DELETE_SURFACE: 0x000a,
  START_FRAME: 0x000b,
  END_FRAME: 0x000c,
  FRAME_ACKNOWLEDGE: 0x000d,
  RESET_GRAPHICS: 0x000e,
  MAP_SURFACE_TO_OUTPUT: 0x000f,
  CACHE_IMPORT_OFFER: 0x0010,
  CACHE_IMPORT_REPLY: 0x0011,
  CAPS_ADVERTISE: 0x0012,
  CAPS_CONFIRM: 0x0013,
  MAP_SURFACE_TO_WINDOW: 0x0015,
  QOE_FRAME_ACKNOWLEDGE: 0x0016,
  MAP_SURFACE_TO_SCALED_OUTPUT: 0x0017,
  MAP_SURFACE_TO_SCALED_WINDOW: 0x0018,
} as const;

/** RDPGFX_CAPSET.version (2.2.3). */
export const GfxCapVersion = {
  V8: 0x00080004,
  V81: 0x00080105,
  V10: 0x000a0002,
  V101: 0x000a0100,
  V102: 0x000a0200,
  V103: 0x000a0301,
  V104: 0x000a0400,
  V105: 0x000a0502,
  V106: 0x000a0600,
  V106_ERR: 0x000a0601,
  V107: 0x000a0701,
} as const;

/** RDPGFX_CAPSET flags (2.2.3.1–2.2.3.11). */
export const GfxCapsFlag = {
  THINCLIENT: 0x0001,
  SMALL_CACHE: 0x0002,
  AVC420_ENABLED: 0x0010,
  AVC_DISABLED: 0x0020,
  AVC_THINCLIENT: 0x0040,
  SCALEDMAP_DISABLE: 0x0080,
} as const;

/** RDPGFX_CODECID (2.2.1.6). */
export const GfxCodec = {
  UNCOMPRESSED: 0x0000,
  CAVIDEO: 0x0003,
  CLEARCODEC: 0x0008,
  PLANAR: 0x000a,
  AVC420: 0x000b,
  ALPHA: 0x000c,
  AVC444: 0x000e,
  AVC444V2: 0x000f,
} as const;

/** RDPGFX_PIXELFORMAT (2.2.1.4). */
export const GfxPixelFormat = {
  XRGB_8888: 0x20,
  ARGB_8888: 0x21,
} as const;

/** RDPGFX_FRAME_ACKNOWLEDGE_PDU.queueDepth: the client stops acknowledging frames (2.2.2.13). */
export const SUSPEND_FRAME_ACKNOWLEDGEMENT = 0xffffffff;

/** RDPGFX_RESET_GRAPHICS_PDU is always this long, padding included, and has ≤ 16 monitors (2.2.2.14). */
export const RESET_GRAPHICS_PDU_LENGTH = 340;
export const MAX_RESET_GRAPHICS_MONITORS = 16;

/** RDPGFX_CACHE_IMPORT_OFFER_PDU carries at most this many entries (2.2.2.16). */
export const MAX_CACHE_IMPORT_ENTRIES = 5462;

/** Capability sets a client advertises at most (a sanity bound, not in the specification). */
const MAX_CAPS_SETS = 64;

const HEADER_LENGTH = 8;

export interface GfxCapSet {
  version: number;
  /** capsData (for every version but 10.1 one u32 of flags). */
  data: Buffer;
}

/** capsData's flags, when it is one (versions other than 10.1, whose 16 bytes are reserved). */
export function capSetFlags(set: GfxCapSet): number {
  return set.version !== GfxCapVersion.V101 && set.data.length >= 4 ? set.data.readUInt32LE(0) : 0;
}

export type ClientGfxPdu =
  | { kind: 'capsAdvertise'; capsSets: GfxCapSet[] }
  | { kind: 'frameAcknowledge'; queueDepth: number; frameId: number; totalFramesDecoded: number }
  | { kind: 'cacheImportOffer'; entries: Array<{ cacheKey: bigint; bitmapLength: number }> }
  | { kind: 'qoeFrameAcknowledge'; frameId: number; timestamp: number; timeDiffSE: number; timeDiffEDR: number };

/** Splits a message into whole PDUs by their pduLength (a message may hold several, 3.1.5.1). */
export function splitGfxPdus(message: Buffer): Buffer[] {
  const pdus: Buffer[] = [];
  let pos = 0;
  while (pos < message.length) {
    if (message.length - pos < HEADER_LENGTH) {
      throw new RdpProtocolError('RDP_ERR_TRUNCATED', `RDPGFX_HEADER: ${message.length - pos} bytes left, needs ${HEADER_LENGTH}`);
    }
    const length = message.readUInt32LE(pos + 4);
    if (length < HEADER_LENGTH || length > message.length - pos) {
      throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `RDPGFX_HEADER: pduLength ${length} with ${message.length - pos} bytes left`);
    }
    pdus.push(message.subarray(pos, pos + length));
    pos += length;
  }
  return pdus;
}

/** Decodes one client-to-server PDU (exactly pduLength bytes, see splitGfxPdus). */
export function decodeClientGfxPdu(pdu: Buffer): ClientGfxPdu {
  const c = new ReadCursor(pdu, 'RDPGFX PDU');
  const cmdId = c.u16le();
  c.u16le(); // flags: unused
  const length = c.u32le();
  if (length !== pdu.length) throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `RDPGFX PDU 0x${cmdId.toString(16)}: pduLength ${length}, ${pdu.length} bytes`);
  switch (cmdId) {
    case GfxCmd.CAPS_ADVERTISE: {
      const count = c.u16le();
      if (count === 0 || count > MAX_CAPS_SETS) throw new RdpProtocolError('RDP_ERR_BAD_VALUE', `RDPGFX_CAPS_ADVERTISE: ${count} capability sets`);
      const capsSets: GfxCapSet[] = [];
      for (let i = 0; i < count; i++) {
        const version = c.u32le();
        const dataLength = c.u32le();
        capsSets.push({ version, data: Buffer.from(c.bytes(dataLength)) });
      }
      end(c, 'RDPGFX_CAPS_ADVERTISE');
      return { kind: 'capsAdvertise', capsSets };
    }
    case GfxCmd.FRAME_ACKNOWLEDGE: {
      const queueDepth = c.u32le();
      const frameId = c.u32le();
      const totalFramesDecoded = c.u32le();
      end(c, 'RDPGFX_FRAME_ACKNOWLEDGE');
      return { kind: 'frameAcknowledge', queueDepth, frameId, totalFramesDecoded };
    }
    case GfxCmd.CACHE_IMPORT_OFFER: {
      const count = c.u16le();
      if (count > MAX_CACHE_IMPORT_ENTRIES) throw new RdpProtocolError('RDP_ERR_BAD_VALUE', `RDPGFX_CACHE_IMPORT_OFFER: ${count} entries`);
      const entries: Array<{ cacheKey: bigint; bitmapLength: number }> = [];
      for (let i = 0; i < count; i++) {
        const cacheKey = c.bytes(8).readBigUInt64LE(0);
        entries.push({ cacheKey, bitmapLength: c.u32le() });
      }
      end(c, 'RDPGFX_CACHE_IMPORT_OFFER');
      return { kind: 'cacheImportOffer', entries };
    }
    case GfxCmd.QOE_FRAME_ACKNOWLEDGE: {
      const frameId = c.u32le();
      const timestamp = c.u32le();
      const timeDiffSE = c.u16le();
      const timeDiffEDR = c.u16le();
      end(c, 'RDPGFX_QOE_FRAME_ACKNOWLEDGE');
      return { kind: 'qoeFrameAcknowledge', frameId, timestamp, timeDiffSE, timeDiffEDR };
    }
    default:
      throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `RDPGFX PDU 0x${cmdId.toString(16)} from a client`);
  }
}

function end(c: ReadCursor, what: string): void {
  if (c.remaining !== 0) throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `${what}: ${c.remaining} bytes after its end`);
}

// ---- Server to client ------------------------------------------------------------------------

/** A PDU with its RDPGFX_HEADER around what `body` writes. */
function pdu(cmdId: number, body: (w: WriteCursor) => void, sizeHint = 64): Buffer {
  const w = new WriteCursor(sizeHint);
  w.u16le(cmdId).u16le(0).u32le(0);
  body(w);
  w.patchU32le(4, w.pos);
  return w.toBuffer();
}

/** Left, top, right and bottom (exclusive), each u16: RDPGFX_RECT16 (2.2.1.2). */
export interface GfxRect {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

function rect16(w: WriteCursor, r: GfxRect): void {
  w.u16le(r.left).u16le(r.top).u16le(r.right).u16le(r.bottom);
}

export function encodeCapsConfirm(set: GfxCapSet): Buffer {
  return pdu(GfxCmd.CAPS_CONFIRM, (w) => w.u32le(set.version).u32le(set.data.length).bytes(set.data));
}

export interface GfxMonitor {
  left: number;
  top: number;
  /** Inclusive, as TS_MONITOR_DEF. */
  right: number;
  bottom: number;
  primary: boolean;
}

/** RDPGFX_RESET_GRAPHICS_PDU (2.2.2.14): always 340 bytes. */
export function encodeResetGraphics(width: number, height: number, monitors: readonly GfxMonitor[]): Buffer {
  if (monitors.length > MAX_RESET_GRAPHICS_MONITORS) throw new RangeError(`RDPGFX_RESET_GRAPHICS: ${monitors.length} monitors, at most 16`);
  return pdu(
    GfxCmd.RESET_GRAPHICS,
    (w) => {
      w.u32le(width).u32le(height).u32le(monitors.length);
      for (const m of monitors) w.u32le(m.left).u32le(m.top).u32le(m.right).u32le(m.bottom).u32le(m.primary ? 1 : 0); // TS_MONITOR_DEF, flags TS_MONITOR_PRIMARY
      w.zeros(RESET_GRAPHICS_PDU_LENGTH - w.pos);
    },
    RESET_GRAPHICS_PDU_LENGTH,
  );
}

export function encodeCreateSurface(surfaceId: number, width: number, height: number, pixelFormat: number = GfxPixelFormat.XRGB_8888): Buffer {
  return pdu(GfxCmd.CREATE_SURFACE, (w) => w.u16le(surfaceId).u16le(width).u16le(height).u8(pixelFormat));
}

export function encodeDeleteSurface(surfaceId: number): Buffer {
  return pdu(GfxCmd.DELETE_SURFACE, (w) => w.u16le(surfaceId));
}

export function encodeMapSurfaceToOutput(surfaceId: number, originX: number, originY: number): Buffer {
  return pdu(GfxCmd.MAP_SURFACE_TO_OUTPUT, (w) => w.u16le(surfaceId).u16le(0).u32le(originX).u32le(originY));
}

export function encodeStartFrame(frameId: number, timestamp: number): Buffer {
  return pdu(GfxCmd.START_FRAME, (w) => w.u32le(timestamp).u32le(frameId));
}

export function encodeEndFrame(frameId: number): Buffer {
  return pdu(GfxCmd.END_FRAME, (w) => w.u32le(frameId));
}

/**
 * RDPGFX_START_FRAME_PDU.timestamp (2.2.2.11), the UTC time of day: hours (bits 22–31), minutes
 * (16–21), seconds (10–15) and milliseconds (0–9).
 */
export function gfxTimestamp(date: Date): number {
  return ((date.getUTCHours() << 22) | (date.getUTCMinutes() << 16) | (date.getUTCSeconds() << 10) | date.getUTCMilliseconds()) >>> 0;
}

export function encodeWireToSurface1(surfaceId: number, codecId: number, pixelFormat: number, dest: GfxRect, data: Uint8Array): Buffer {
  return pdu(
    GfxCmd.WIRE_TO_SURFACE_1,
    (w) => {
      w.u16le(surfaceId).u16le(codecId).u8(pixelFormat);
      rect16(w, dest);
      w.u32le(data.length).bytes(data);
    },
    25 + data.length,
  );
}

/** RDPGFX_SOLIDFILL_PDU (2.2.2.4): `color` is 0xRRGGBB, written as RDPGFX_COLOR32 B, G, R, XA. */
export function encodeSolidFill(surfaceId: number, color: number, rects: readonly GfxRect[]): Buffer {
  return pdu(
    GfxCmd.SOLID_FILL,
    (w) => {
      w.u16le(surfaceId).u8(color & 0xff).u8((color >> 8) & 0xff).u8((color >> 16) & 0xff).u8(0xff);
      w.u16le(rects.length);
      for (const r of rects) rect16(w, r);
    },
    16 + 8 * rects.length,
  );
}

/** RDPGFX_CACHE_IMPORT_REPLY_PDU (2.2.2.17): the cache slots given to the offered entries. */
export function encodeCacheImportReply(cacheSlots: readonly number[]): Buffer {
  return pdu(GfxCmd.CACHE_IMPORT_REPLY, (w) => {
    w.u16le(cacheSlots.length);
    for (const slot of cacheSlots) w.u16le(slot);
  });
}

// ---- Bitmap cache (MS-RDPEGFX 2.2.2.6–2.2.2.8) -----------------------------------------------

/** Cache slots a client has: 4096 with RDPGFX_CAPS_FLAG_SMALL_CACHE, else 25600 (3.2.1.4, as FreeRDP). */
export const GFX_CACHE_SLOTS = 25600;
export const GFX_SMALL_CACHE_SLOTS = 4096;
/** The bytes a client's cache holds at most: 100 MB, or 16 MB with RDPGFX_CAPS_FLAG_SMALL_CACHE. */
export const GFX_CACHE_BYTES = 100 * 1024 * 1024;
export const GFX_SMALL_CACHE_BYTES = 16 * 1024 * 1024;

/** RDPGFX_POINT16 (2.2.1.1). */
export interface GfxPoint {
  x: number;
  y: number;
}

/**
 * RDPGFX_SURFACE_TO_CACHE_PDU (2.2.2.6): the client copies `rect` of the surface, as it is now,
 * into cache slot `cacheSlot` (1-based); `cacheKey` is the 64-bit key of the bitmap.
 */
export function encodeSurfaceToCache(surfaceId: number, cacheKey: bigint, cacheSlot: number, rect: GfxRect): Buffer {
  return pdu(
    GfxCmd.SURFACE_TO_CACHE,
    (w) => {
      w.u16le(surfaceId);
      const key = Buffer.allocUnsafe(8);
      key.writeBigUInt64LE(BigInt.asUintN(64, cacheKey));
      w.bytes(key);
      w.u16le(cacheSlot);
      rect16(w, rect);
    },
    28,
  );
}

/** RDPGFX_CACHE_TO_SURFACE_PDU (2.2.2.7): the bitmap in `cacheSlot` drawn at each of `points`. */
export function encodeCacheToSurface(cacheSlot: number, surfaceId: number, points: readonly GfxPoint[]): Buffer {
  if (points.length > 0xffff) throw new RangeError(`RDPGFX_CACHE_TO_SURFACE: ${points.length} points, at most 65535`);
  return pdu(
    GfxCmd.CACHE_TO_SURFACE,
    (w) => {
      w.u16le(cacheSlot).u16le(surfaceId).u16le(points.length);
      for (const p of points) w.u16le(p.x).u16le(p.y);
    },
    14 + 4 * points.length,
  );
}

/** RDPGFX_EVICT_CACHE_ENTRY_PDU (2.2.2.8): the client frees `cacheSlot`. */
export function encodeEvictCacheEntry(cacheSlot: number): Buffer {
  return pdu(GfxCmd.EVICT_CACHE_ENTRY, (w) => w.u16le(cacheSlot), 10);
}

// ---- Surface to surface (MS-RDPEGFX 2.2.2.5) --------------------------------------------------

/**
 * RDPGFX_SURFACE_TO_SURFACE_PDU (2.2.2.5): the client copies `rectSrc` (RDPGFX_RECT16, right and
 * bottom exclusive) of surface `surfaceIdSrc` to each of `destPts` (RDPGFX_POINT16, the top-left
 * corner) on surface `surfaceIdDest`, as the source is before the copy.
 */
export function encodeSurfaceToSurface(surfaceIdSrc: number, surfaceIdDest: number, rectSrc: GfxRect, destPts: readonly GfxPoint[]): Buffer {
  if (destPts.length > 0xffff) throw new RangeError(`RDPGFX_SURFACE_TO_SURFACE: ${destPts.length} points, at most 65535`);
  return pdu(
    GfxCmd.SURFACE_TO_SURFACE,
    (w) => {
      w.u16le(surfaceIdSrc).u16le(surfaceIdDest);
      rect16(w, rectSrc);
      w.u16le(destPts.length);
      for (const p of destPts) w.u16le(p.x).u16le(p.y);
    },
    22 + 4 * destPts.length,
  );
}
