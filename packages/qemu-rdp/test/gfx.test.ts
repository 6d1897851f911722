// The graphics pipeline (MS-RDPEGFX): PDU codecs, the RDP_SEGMENTED_DATA wrapping, capability
// choice, and GfxOutput's frames, surfaces and flow control; the channel as drdynvc serves it.
// Reference bodies marked "IronRDP" are the test vectors of IronRDP's ironrdp-testsuite-core
// (graphics_messages.rs, captured from Windows), with the RDPGFX_HEADER added here.
import { describe, expect, it } from 'vitest';
import type { ClipboardPeer, QemuDisplay } from '@vdi-sidecar/display-core';
import { createDrdynvcChannel } from '../src/channels/drdynvc.js';
import { gfxChannel } from '../src/channels/gfx/index.js';
import {
  decodeClientGfxPdu,
  encodeCacheImportReply,
  encodeCapsConfirm,
  encodeCreateSurface,
  encodeDeleteSurface,
  encodeEndFrame,
  encodeMapSurfaceToOutput,
  encodeResetGraphics,
  encodeSolidFill,
  encodeStartFrame,
  encodeSurfaceToSurface,
  encodeWireToSurface1,
  GfxCapVersion,
  GfxCmd,
  GfxCodec,
  gfxTimestamp,
  RESET_GRAPHICS_PDU_LENGTH,
  splitGfxPdus,
  SUSPEND_FRAME_ACKNOWLEDGEMENT,
} from '../src/channels/gfx/pdu.js';
import { decodeSegmented, encodeSegmented, MAX_SEGMENT_LENGTH, PACKET_COMPRESSED } from '../src/channels/gfx/segment.js';
import { ZgfxCompressor, ZgfxDecompressor } from '../src/bulk/zgfx.js';
import { decodeClientDvcPdu, encodeDvcData } from '../src/pdu/drdynvc.js';
import { RdpProtocolError } from '../src/pdu/errors.js';
import { chooseCapSet, GfxOutput, GfxPipelineSlot, MAX_UNACKED_FRAMES, type GfxFrameSource } from '../src/server/gfx-output.js';
import { decodePlanar } from './bitmap-decoders.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+|\/\/[^\n]*/g, ''), 'hex');

/** An RDPGFX_HEADER for `cmdId` around `body`. */
function withHeader(cmdId: number, body: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16LE(cmdId, 0);
  h.writeUInt32LE(8 + body.length, 4);
  return Buffer.concat([h, body]);
}

/** IronRDP's CAPABILITIES_ADVERTISE body: nine sets, 8 to 10.6. */
const IRONRDP_CAPS_ADVERTISE = Buffer.from([
  0x9, 0x0, 0x4, 0x0, 0x8, 0x0, 0x4, 0x0, 0x0, 0x0, 0x1, 0x0, 0x0, 0x0, 0x5, 0x1, 0x8, 0x0, 0x4, 0x0, 0x0, 0x0, 0x1, 0x0, 0x0, 0x0, 0x2, 0x0, 0xa, 0x0, 0x4,
  0x0, 0x0, 0x0, 0x20, 0x0, 0x0, 0x0, 0x0, 0x1, 0xa, 0x0, 0x10, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0, 0x0,
  0x0, 0x0, 0x2, 0xa, 0x0, 0x4, 0x0, 0x0, 0x0, 0x20, 0x0, 0x0, 0x0, 0x1, 0x3, 0xa, 0x0, 0x4, 0x0, 0x0, 0x0, 0x20, 0x0, 0x0, 0x0, 0x0, 0x4, 0xa, 0x0, 0x4,
  0x0, 0x0, 0x0, 0x20, 0x0, 0x0, 0x0, 0x2, 0x5, 0xa, 0x0, 0x4, 0x0, 0x0, 0x0, 0x20, 0x0, 0x0, 0x0, 0x0, 0x6, 0xa, 0x0, 0x4, 0x0, 0x0, 0x0, 0x20, 0x0, 0x0,
  0x0,
]);

describe('RDPGFX server PDUs', () => {
  it('encodes CAPS_CONFIRM (IronRDP: version 10.5, AVC disabled)', () => {
    expect(encodeCapsConfirm({ version: GfxCapVersion.V105, data: hex('20000000') })).toEqual(
      hex(`
        1300 0000 14000000 // RDPGFX_HEADER: CAPSCONFIRM, flags 0, pduLength 20
        02050a00           // version RDPGFX_CAPVERSION_105
        04000000           // capsDataLength 4
        20000000           // flags RDPGFX_CAPS_FLAG_AVC_DISABLED
      `),
    );
  });

  it('encodes RESET_GRAPHICS padded to 340 bytes (IronRDP: 1024x768, one primary monitor)', () => {
    const pdu = encodeResetGraphics(1024, 768, [{ left: 0, top: 0, right: 1023, bottom: 767, primary: true }]);
    expect(pdu.length).toBe(RESET_GRAPHICS_PDU_LENGTH);
    const body = hex(`
      00040000 00030000 // width 1024, height 768
      01000000          // monitorCount 1
      00000000 00000000 ff030000 ff020000 01000000 // TS_MONITOR_DEF 0,0-1023,767, TS_MONITOR_PRIMARY
    `);
    expect(pdu.subarray(0, 8)).toEqual(hex('0e00 0000 54010000')); // RESETGRAPHICS, pduLength 340
    expect(pdu.subarray(8, 8 + body.length)).toEqual(body);
    expect(pdu.subarray(8 + body.length).every((b) => b === 0)).toBe(true);
    expect(() => encodeResetGraphics(1, 1, Array.from({ length: 17 }, () => ({ left: 0, top: 0, right: 0, bottom: 0, primary: false })))).toThrow(RangeError);
  });

  it('encodes the surface PDUs (IronRDP bodies for CREATE_SURFACE and MAP_SURFACE_TO_OUTPUT)', () => {
    expect(encodeCreateSurface(0, 1024, 768, 0x21)).toEqual(withHeader(GfxCmd.CREATE_SURFACE, Buffer.from([0x00, 0x00, 0x00, 0x04, 0x00, 0x03, 0x21])));
    expect(encodeMapSurfaceToOutput(0, 1, 2)).toEqual(withHeader(GfxCmd.MAP_SURFACE_TO_OUTPUT, Buffer.from([0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0])));
    expect(encodeDeleteSurface(7)).toEqual(hex('0a00 0000 0a000000 0700')); // DELETESURFACE, surfaceId 7
  });

  it('encodes SURFACE_TO_SURFACE (2.2.2.5): source and destination surface, RECT16 with exclusive right/bottom, the points', () => {
    expect(encodeSurfaceToSurface(1, 2, { left: 0, top: 16, right: 1024, bottom: 768 }, [{ x: 0, y: 0 }, { x: 8, y: 300 }])).toEqual(
      hex(`
        0500 0000 1e000000 // RDPGFX_HEADER: SURFACETOSURFACE, flags 0, pduLength 30
        0100 0200          // surfaceIdSrc 1, surfaceIdDest 2
        0000 1000 0004 0003 // rectSrc: left 0, top 16, right 1024, bottom 768
        0200               // destPtsCount 2
        0000 0000 0800 2c01 // destPts (0, 0), (8, 300)
      `),
    );
  });

  it('encodes START_FRAME and END_FRAME (IronRDP: timestamp 0x059be8f7, frame 5)', () => {
    expect(encodeStartFrame(5, 0x059be8f7)).toEqual(withHeader(GfxCmd.START_FRAME, Buffer.from([0xf7, 0xe8, 0x9b, 0x05, 0x05, 0, 0, 0])));
    expect(encodeEndFrame(1)).toEqual(withHeader(GfxCmd.END_FRAME, Buffer.from([1, 0, 0, 0])));
    // 13:45:07.123 UTC: hours in bits 22–31, minutes 16–21, seconds 10–15, milliseconds 0–9.
    expect(gfxTimestamp(new Date(Date.UTC(2026, 0, 1, 13, 45, 7, 123)))).toBe((13 << 22) | (45 << 16) | (7 << 10) | 123);
  });

  it('encodes SOLIDFILL with RDPGFX_COLOR32 as B, G, R, XA and exclusive rectangles', () => {
    expect(encodeSolidFill(0, 0x112233, [{ left: 0, top: 0, right: 64, bottom: 64 }])).toEqual(
      hex(`
        0400 0000 18000000 // SOLIDFILL, pduLength 24
        0000               // surfaceId 0
        332211ff           // fillPixel B, G, R, XA
        0100               // fillRectCount 1
        0000 0000 4000 4000 // RDPGFX_RECT16 0,0-64,64
      `),
    );
  });

  it('encodes WIRE_TO_SURFACE_1 and CACHE_IMPORT_REPLY', () => {
    expect(encodeWireToSurface1(1, GfxCodec.PLANAR, 0x20, { left: 64, top: 0, right: 66, bottom: 1 }, Buffer.from([0xaa, 0xbb]))).toEqual(
      hex(`
        0100 0000 1b000000 // WIRETOSURFACE_1, pduLength 27
        0100 0a00 20       // surfaceId 1, codecId PLANAR, pixelFormat XRGB_8888
        4000 0000 4200 0100 // destRect 64,0-66,1
        02000000 aabb      // bitmapDataLength 2, bitmapData
      `),
    );
    expect(encodeCacheImportReply([])).toEqual(hex('1100 0000 0a000000 0000')); // no entries imported
    expect(encodeCacheImportReply([1, 2])).toEqual(hex('1100 0000 0e000000 0200 0100 0200'));
  });
});

describe('RDPGFX client PDUs', () => {
  it('decodes CAPS_ADVERTISE (IronRDP: nine sets, 10.1 with 16 reserved bytes)', () => {
    const pdu = decodeClientGfxPdu(withHeader(GfxCmd.CAPS_ADVERTISE, IRONRDP_CAPS_ADVERTISE));
    expect(pdu.kind).toBe('capsAdvertise');
    if (pdu.kind !== 'capsAdvertise') return;
    expect(pdu.capsSets.map((s) => s.version)).toEqual([
      GfxCapVersion.V8,
      GfxCapVersion.V81,
      GfxCapVersion.V10,
      GfxCapVersion.V101,
      GfxCapVersion.V102,
      GfxCapVersion.V103,
      GfxCapVersion.V104,
      GfxCapVersion.V105,
      GfxCapVersion.V106,
    ]);
    expect(pdu.capsSets[3]!.data.length).toBe(16);
    expect(pdu.capsSets[0]!.data).toEqual(hex('01000000')); // 8: THINCLIENT
  });

  it('decodes FRAME_ACKNOWLEDGE (IronRDP), CACHE_IMPORT_OFFER and QOE_FRAME_ACKNOWLEDGE', () => {
    expect(decodeClientGfxPdu(withHeader(GfxCmd.FRAME_ACKNOWLEDGE, Buffer.from([0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0])))).toEqual({
      kind: 'frameAcknowledge',
      queueDepth: 0,
      frameId: 1,
      totalFramesDecoded: 1,
    });
    expect(decodeClientGfxPdu(hex('1000 0000 16000000 0100 0807060504030201 00100000'))).toEqual({
      kind: 'cacheImportOffer',
      entries: [{ cacheKey: 0x0102030405060708n, bitmapLength: 4096 }],
    });
    expect(decodeClientGfxPdu(hex('1600 0000 14000000 05000000 e8030000 0200 0300'))).toEqual({
      kind: 'qoeFrameAcknowledge',
      frameId: 5,
      timestamp: 1000,
      timeDiffSE: 2,
      timeDiffEDR: 3,
    });
  });

  it('refuses PDUs that lie about their length, are cut short, too long, or come from the server side', () => {
    const ack = withHeader(GfxCmd.FRAME_ACKNOWLEDGE, Buffer.alloc(12));
    expect(() => decodeClientGfxPdu(ack.subarray(0, 19))).toThrow(RdpProtocolError);
    expect(() => decodeClientGfxPdu(Buffer.concat([ack, Buffer.alloc(1)]))).toThrow(/pduLength 20, 21 bytes/);
    const longer = withHeader(GfxCmd.FRAME_ACKNOWLEDGE, Buffer.alloc(13));
    expect(() => decodeClientGfxPdu(longer)).toThrow(/after its end/);
    expect(() => decodeClientGfxPdu(withHeader(GfxCmd.END_FRAME, Buffer.alloc(4)))).toThrow(/0xc from a client/);
    expect(() => decodeClientGfxPdu(withHeader(GfxCmd.CAPS_ADVERTISE, hex('0000')))).toThrow(/0 capability sets/);
    expect(() => decodeClientGfxPdu(withHeader(GfxCmd.CACHE_IMPORT_OFFER, hex('9715')))).toThrow(/5527 entries/);
  });

  it('splits a message into PDUs by pduLength', () => {
    const a = withHeader(GfxCmd.FRAME_ACKNOWLEDGE, Buffer.alloc(12));
    const b = withHeader(GfxCmd.QOE_FRAME_ACKNOWLEDGE, Buffer.alloc(12));
    expect(splitGfxPdus(Buffer.concat([a, b]))).toEqual([a, b]);
    expect(() => splitGfxPdus(Buffer.concat([a, b.subarray(0, 10)]))).toThrow(RdpProtocolError);
    expect(() => splitGfxPdus(hex('0d00 0000 04000000'))).toThrow(/pduLength 4/);
  });
});

describe('RDP_SEGMENTED_DATA', () => {
  it('wraps up to 65,535 bytes as SINGLE with an uncompressed RDP8 header', () => {
    expect(encodeSegmented(Buffer.from([1, 2, 3]))).toEqual(hex('e0 04 010203')); // SINGLE, RDP8 uncompressed, data
    const max = Buffer.alloc(MAX_SEGMENT_LENGTH, 9);
    const single = encodeSegmented(max);
    expect(single.subarray(0, 2)).toEqual(hex('e004'));
    expect(decodeSegmented(single)).toEqual(max);
  });

  it('wraps more as MULTIPART segments of at most 65,535 bytes', () => {
    const data = Buffer.from(Array.from({ length: 2 * MAX_SEGMENT_LENGTH + 10 }, (_, i) => (i * 13) & 0xff));
    const out = encodeSegmented(data);
    expect(out[0]).toBe(0xe1); // MULTIPART
    expect(out.readUInt16LE(1)).toBe(3); // segmentCount
    expect(out.readUInt32LE(3)).toBe(data.length); // uncompressedSize
    expect(out.readUInt32LE(7)).toBe(1 + MAX_SEGMENT_LENGTH); // first RDP_DATA_SEGMENT size: header + data
    expect(out[11]).toBe(0x04); // its RDP8_BULK_ENCODED_DATA header
    expect(out.length).toBe(7 + 3 * 5 + data.length);
    expect(decodeSegmented(out)).toEqual(data);
  });

  it('compresses segments with the channel ZGFX compressor, which the decompressor undoes in order', () => {
    const zgfx = new ZgfxCompressor();
    const unzgfx = new ZgfxDecompressor();
    const frame = Buffer.from(Array.from({ length: 2 * MAX_SEGMENT_LENGTH + 10 }, (_, i) => (i % 1000 < 500 ? 7 : (i * 13) & 0xff)));
    for (const data of [Buffer.from('a small PDU, a small PDU'), frame, frame]) {
      const out = encodeSegmented(data, zgfx);
      expect(out.length).toBeLessThan(data.length);
      expect(decodeSegmented(out, undefined, unzgfx)).toEqual(data);
    }
    // The same frame again is mostly references into the history.
    expect(encodeSegmented(frame, zgfx).length).toBeLessThan(frame.length / 50);
  });

  it('refuses descriptors, compression types and sizes it does not know', () => {
    expect(() => decodeSegmented(hex('e2 04 00'))).toThrow(RdpProtocolError);
    expect(() => decodeSegmented(hex('e0 24 00'))).toThrow(/ZGFX/);
    expect(() => decodeSegmented(hex('e0 01 00'))).toThrow(/compression type 1/);
    expect(() => decodeSegmented(hex('e1 0100 05000000 02000000 04 00'))).toThrow(RdpProtocolError);
  });
});

describe('capability choice', () => {
  const set = (version: number, flags = 0) => ({ version, data: Buffer.from([flags, 0, 0, 0]) });

  it('confirms the newest version this server knows, with the client flags', () => {
    const offered = [set(GfxCapVersion.V8, 1), set(GfxCapVersion.V81, 0x10), set(GfxCapVersion.V10, 0x20), set(GfxCapVersion.V107, 0x22)];
    expect(chooseCapSet(offered)).toEqual(set(GfxCapVersion.V107, 0x22));
    expect(chooseCapSet([set(GfxCapVersion.V81, 0x12), set(GfxCapVersion.V8)])).toEqual(set(GfxCapVersion.V81, 0x12));
    expect(chooseCapSet([set(0x000b0000), set(GfxCapVersion.V106_ERR)])).toBeUndefined();
  });
});

/** A BGRX frame whose pixel (x, y) is `f(x, y)` (0xRRGGBB). */
function frame(width: number, height: number, f: (x: number, y: number) => number): GfxFrameSource {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.writeUInt32LE(((f(x, y) & 0xffffff) | 0xff000000) >>> 0, (y * width + x) * 4);
  return { width, height, stride: width * 4, data };
}

interface Sent {
  cmdId: number;
  pdu: Buffer;
}

function harness(codec?: 'planar' | 'uncompressed') {
  const messages: Buffer[] = [];
  let wakes = 0;
  // Without the bitmap cache: these tests are about frames and surfaces (gfx-cache.test.ts has the cache).
  const output = new GfxOutput({ send: (m) => messages.push(m), log: () => undefined, wake: () => wakes++, codec, cache: false, now: () => new Date(0) });
  const take = (): Sent[] => messages.splice(0).flatMap((m) => splitGfxPdus(m).map((pdu) => ({ cmdId: pdu.readUInt16LE(0), pdu })));
  const advertise = (...versions: number[]) => {
    const body = Buffer.alloc(2 + 12 * versions.length);
    body.writeUInt16LE(versions.length, 0);
    versions.forEach((v, i) => {
      body.writeUInt32LE(v, 2 + 12 * i);
      body.writeUInt32LE(4, 6 + 12 * i);
    });
    output.onClientPdu(decodeClientGfxPdu(withHeader(GfxCmd.CAPS_ADVERTISE, body)));
  };
  const ack = (frameId: number, queueDepth = 0) => output.onClientPdu({ kind: 'frameAcknowledge', queueDepth, frameId, totalFramesDecoded: frameId });
  return { output, take, advertise, ack, wakes: () => wakes };
}

/** What the surface shows after the PDUs (a minimal client: planar, uncompressed and solid fill). */
function paint(surface: Uint32Array, width: number, pdus: Sent[]): void {
  for (const { cmdId, pdu } of pdus) {
    if (cmdId === GfxCmd.SURFACE_TO_SURFACE) {
      // One surface here: the source as it is before the copy goes to every destination point.
      const [l, t, r, b] = [12, 14, 16, 18].map((o) => pdu.readUInt16LE(o));
      const w = r! - l!;
      const before = surface.slice();
      for (let i = 0; i < pdu.readUInt16LE(20); i++) {
        const [dx, dy] = [22 + 4 * i, 24 + 4 * i].map((o) => pdu.readUInt16LE(o));
        for (let y = 0; y < b! - t!; y++) surface.set(before.subarray((t! + y) * width + l!, (t! + y) * width + l! + w), (dy! + y) * width + dx!);
      }
    } else if (cmdId === GfxCmd.SOLID_FILL) {
      const color = pdu.readUIntLE(10, 3);
      const count = pdu.readUInt16LE(14);
      for (let i = 0; i < count; i++) {
        const [l, t, r, b] = [0, 2, 4, 6].map((o) => pdu.readUInt16LE(16 + 8 * i + o));
        for (let y = t!; y < b!; y++) surface.fill(color, y * width + l!, y * width + r!);
      }
    } else if (cmdId === GfxCmd.WIRE_TO_SURFACE_1) {
      const codec = pdu.readUInt16LE(10);
      const [l, t, r, b] = [13, 15, 17, 19].map((o) => pdu.readUInt16LE(o));
      const w = r! - l!;
      const h = b! - t!;
      const data = pdu.subarray(25, 25 + pdu.readUInt32LE(21));
      let pixels: Uint32Array;
      if (codec === GfxCodec.PLANAR) {
        // The test decoder reads rows bottom-up (bitmap updates); GFX planar is top-down.
        const flipped = decodePlanar(data, w, h).pixels;
        pixels = new Uint32Array(w * h);
        for (let y = 0; y < h; y++) pixels.set(flipped.subarray((h - 1 - y) * w, (h - y) * w), y * w);
      } else {
        expect(codec).toBe(GfxCodec.UNCOMPRESSED);
        expect(data.length).toBe(w * h * 4);
        pixels = new Uint32Array(w * h);
        for (let i = 0; i < w * h; i++) pixels[i] = data.readUInt32LE(4 * i) & 0xffffff;
      }
      for (let y = 0; y < h; y++) surface.set(pixels.subarray(y * w, (y + 1) * w), (t! + y) * width + l!);
    }
  }
}

function pixelsOf(src: GfxFrameSource): Uint32Array {
  const out = new Uint32Array(src.width * src.height);
  for (let i = 0; i < out.length; i++) out[i] = src.data.readUInt32LE(4 * i) & 0xffffff;
  return out;
}

describe('GfxOutput', () => {
  it('sends nothing before capabilities, then creates and maps a surface and paints the whole screen', () => {
    const h = harness();
    const src = frame(150, 70, (x, y) => (x < 64 && y < 64 ? 0x336699 : (x * 3) ^ (y << 9) ^ (x * y)));
    expect(h.output.sendFrame(src, [{ x: 0, y: 0, w: 1, h: 1 }])).toBeUndefined();
    h.advertise(GfxCapVersion.V8, GfxCapVersion.V10);
    expect(h.take().map((p) => p.cmdId)).toEqual([GfxCmd.CAPS_CONFIRM]);
    expect(h.output.version).toBe(GfxCapVersion.V10);
    expect(h.wakes()).toBe(1);
    const stats = h.output.sendFrame(src, [{ x: 0, y: 0, w: 1, h: 1 }]);
    expect(stats).toMatchObject({ frameId: 1, solidTiles: 1, bitmapTiles: 5 });
    const pdus = h.take();
    expect(pdus.map((p) => p.cmdId)).toEqual([
      GfxCmd.RESET_GRAPHICS,
      GfxCmd.CREATE_SURFACE,
      GfxCmd.MAP_SURFACE_TO_OUTPUT,
      GfxCmd.START_FRAME,
      ...Array<number>(5).fill(GfxCmd.WIRE_TO_SURFACE_1),
      GfxCmd.SOLID_FILL,
      GfxCmd.END_FRAME,
    ]);
    expect(pdus[1]!.pdu).toEqual(encodeCreateSurface(1, 150, 70, 0x20));
    const surface = new Uint32Array(150 * 70);
    paint(surface, 150, pdus);
    expect(surface).toEqual(pixelsOf(src));
  });

  it('moves a scrolled area with SURFACE_TO_SURFACE after START_FRAME, before the tiles, and drops it when the surface is recreated', () => {
    const h = harness();
    h.advertise(GfxCapVersion.V10);
    const lines = (first: number) => frame(128, 96, (x, y) => ((y + first) * 7919) ^ (x * 31));
    const src = lines(0);
    // A copy on the first frame (the surface is created then): dropped, everything is painted.
    expect(h.output.sendFrame(src, [], { x: 0, y: 0, w: 128, h: 80, srcX: 0, srcY: 16 })).toMatchObject({ surfaceCopies: 0 });
    const surface = new Uint32Array(128 * 96);
    const first = h.take();
    expect(first.some((p) => p.cmdId === GfxCmd.SURFACE_TO_SURFACE)).toBe(false);
    paint(surface, 128, first);
    // The guest scrolls 16 rows up: rows 16..95 move to 0..79, rows 80..95 are new.
    const scrolled = lines(16);
    const stats = h.output.sendFrame(scrolled, [{ x: 0, y: 80, w: 128, h: 16 }], { x: 0, y: 0, w: 128, h: 80, srcX: 0, srcY: 16 });
    expect(stats).toMatchObject({ frameId: 2, surfaceCopies: 1, bitmapTiles: 2 });
    expect(h.output.totals.surfaceCopies).toBe(1);
    const pdus = h.take();
    expect(pdus.map((p) => p.cmdId)).toEqual([GfxCmd.START_FRAME, GfxCmd.SURFACE_TO_SURFACE, GfxCmd.WIRE_TO_SURFACE_1, GfxCmd.WIRE_TO_SURFACE_1, GfxCmd.END_FRAME]);
    expect(pdus[1]!.pdu).toEqual(encodeSurfaceToSurface(1, 1, { left: 0, top: 16, right: 128, bottom: 96 }, [{ x: 0, y: 0 }]));
    paint(surface, 128, pdus);
    expect(surface).toEqual(pixelsOf(scrolled));
    // A copy alone is a frame too.
    h.ack(2);
    expect(h.output.sendFrame(scrolled, [], { x: 8, y: 8, w: 8, h: 8, srcX: 0, srcY: 0 })).toMatchObject({ surfaceCopies: 1, bitmapTiles: 0, solidTiles: 0 });
    expect(h.take().map((p) => p.cmdId)).toEqual([GfxCmd.START_FRAME, GfxCmd.SURFACE_TO_SURFACE, GfxCmd.END_FRAME]);
  });

  it('paints the whole surface for a copy that does not lie inside it', () => {
    const h = harness();
    h.advertise(GfxCapVersion.V10);
    const src = frame(64, 64, (x, y) => x * 64 + y);
    h.output.sendFrame(src, []);
    h.take();
    const stats = h.output.sendFrame(src, [], { x: 32, y: 0, w: 64, h: 8, srcX: 0, srcY: 0 });
    expect(stats).toMatchObject({ surfaceCopies: 0, bitmapTiles: 1 });
  });

  it('paints with uncompressed bitmaps when asked to', () => {
    const h = harness('uncompressed');
    h.advertise(GfxCapVersion.V81);
    const src = frame(70, 10, (x, y) => x * 1000 + y);
    h.output.sendFrame(src, []);
    const surface = new Uint32Array(70 * 10);
    paint(surface, 70, h.take());
    expect(surface).toEqual(pixelsOf(src));
  });

  it('runs at most MAX_UNACKED_FRAMES frames ahead of the acknowledgements', () => {
    const h = harness();
    h.advertise(GfxCapVersion.V10);
    const src = frame(64, 64, () => 0);
    for (let i = 0; i < MAX_UNACKED_FRAMES; i++) expect(h.output.sendFrame(src, [{ x: 0, y: 0, w: 8, h: 8 }])).toBeDefined();
    expect(h.output.canSend).toBe(false);
    expect(h.output.sendFrame(src, [{ x: 0, y: 0, w: 8, h: 8 }])).toBeUndefined();
    const wakes = h.wakes();
    h.ack(99); // unknown frame: changes nothing
    expect(h.output.canSend).toBe(false);
    h.ack(2); // frames 1 and 2 are done
    expect(h.output.unacknowledged).toBe(1);
    expect(h.output.canSend).toBe(true);
    expect(h.wakes()).toBe(wakes + 1);
    h.ack(3, SUSPEND_FRAME_ACKNOWLEDGEMENT);
    for (let i = 0; i < 10; i++) expect(h.output.sendFrame(src, [{ x: 0, y: 0, w: 8, h: 8 }])).toBeDefined();
  });

  it('recreates the surface at a new size: delete, reset, create, map, whole screen', () => {
    const h = harness();
    h.advertise(GfxCapVersion.V10);
    h.output.sendFrame(frame(64, 64, () => 0x010203), []);
    h.ack(1);
    h.take();
    const big = frame(100, 80, (x) => x);
    expect(h.output.needsReset(big)).toBe(true);
    h.output.sendFrame(big, [{ x: 0, y: 0, w: 1, h: 1 }]);
    const pdus = h.take();
    expect(pdus.slice(0, 5).map((p) => p.cmdId)).toEqual([GfxCmd.DELETE_SURFACE, GfxCmd.RESET_GRAPHICS, GfxCmd.CREATE_SURFACE, GfxCmd.MAP_SURFACE_TO_OUTPUT, GfxCmd.START_FRAME]);
    expect(pdus[0]!.pdu).toEqual(encodeDeleteSurface(1));
    expect(pdus[1]!.pdu.readUInt32LE(8)).toBe(100);
    expect(pdus[2]!.pdu).toEqual(encodeCreateSurface(2, 100, 80, 0x20));
    const surface = new Uint32Array(100 * 80);
    paint(surface, 100, pdus);
    expect(surface).toEqual(pixelsOf(big));
  });

  it('answers a cache import offer with an empty reply, refuses a second capability advertisement, ignores unknown versions', () => {
    const h = harness();
    h.output.onClientPdu({ kind: 'cacheImportOffer', entries: [{ cacheKey: 1n, bitmapLength: 10 }] });
    expect(h.take().map((p) => p.pdu)).toEqual([encodeCacheImportReply([])]);
    h.advertise(GfxCapVersion.V8);
    expect(() => h.advertise(GfxCapVersion.V8)).toThrow(RdpProtocolError);
    const unknown = harness();
    unknown.advertise(0x00070000);
    expect(unknown.take()).toEqual([]);
    expect(unknown.output.ready).toBe(false);
  });
});

describe('graphics channel over drdynvc', () => {
  const display = {} as QemuDisplay;
  const clipboard = undefined as ClipboardPeer | undefined;

  function serve(offered: boolean) {
    const sent: Buffer[] = [];
    const changes: Array<GfxOutput | undefined> = [];
    const slot = new GfxPipelineSlot((o) => changes.push(o), () => undefined);
    slot.offered = offered;
    const drdynvc = createDrdynvcChannel([gfxChannel()])({ display, clipboard, graphics: slot, log: () => undefined, send: (m) => sent.push(m) });
    drdynvc.onActive?.();
    drdynvc.onMessage(Buffer.from([0x50, 0x00, 0x03, 0x00])); // capabilities response, version 3
    return { sent, slot, changes, drdynvc };
  }

  it('is not offered to a client without RNS_UD_CS_SUPPORT_DYNVC_GFX_PROTOCOL', () => {
    const { sent } = serve(false);
    expect(sent.length).toBe(1); // the capabilities request only
  });

  it('attaches the output once capabilities are confirmed, and detaches it when the channel closes', () => {
    const { sent, slot, changes, drdynvc } = serve(true);
    expect(decodeClientDvcPdu(sent[1]!)).toBeDefined();
    expect(sent[1]!.subarray(2, 2 + 33).toString('latin1')).toBe('Microsoft::Windows::RDS::Graphics');
    drdynvc.onMessage(Buffer.from([0x10, 0x01, 0, 0, 0, 0])); // create response: channel 1 open
    const advertise = withHeader(GfxCmd.CAPS_ADVERTISE, IRONRDP_CAPS_ADVERTISE);
    for (const part of encodeDvcData(1, advertise)) drdynvc.onMessage(part);
    expect(slot.output?.version).toBe(GfxCapVersion.V106);
    expect(changes).toEqual([slot.output]);
    // The confirm went out as DVC data (0x30, channel 1) in RDP_SEGMENTED_DATA, ZGFX-compressed.
    const reply = sent[sent.length - 1]!;
    expect(reply.subarray(0, 2)).toEqual(Buffer.from([0x30, 0x01]));
    expect(reply[3]! & PACKET_COMPRESSED).toBe(PACKET_COMPRESSED);
    expect(decodeSegmented(reply.subarray(2), undefined, new ZgfxDecompressor())).toEqual(encodeCapsConfirm(chooseCapSet(decodeCaps(advertise))!));
    drdynvc.onMessage(Buffer.from([0x40, 0x01])); // close
    expect(slot.output).toBeUndefined();
    expect(changes).toEqual([expect.any(GfxOutput), undefined]);
  });

  it('throws RdpProtocolError (the session drops the client) for a malformed PDU', () => {
    const { drdynvc } = serve(true);
    drdynvc.onMessage(Buffer.from([0x10, 0x01, 0, 0, 0, 0]));
    expect(() => drdynvc.onMessage(Buffer.from([0x30, 0x01, 0x12, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x00]))).toThrow(RdpProtocolError);
  });
});

function decodeCaps(pdu: Buffer) {
  const decoded = decodeClientGfxPdu(pdu);
  if (decoded.kind !== 'capsAdvertise') throw new Error('not caps');
  return decoded.capsSets;
}
