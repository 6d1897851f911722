// The graphics pipeline (MS-RDPEGFX) for RawRdpClient, as a benchmark needs it: the static
// channel "drdynvc" (MS-RDPEDYC) with one dynamic channel, "Microsoft::Windows::RDS::Graphics";
// capabilities advertised (10.0 without AVC), every frame acknowledged at its END_FRAME, and
// each frame recorded like a bitmap update (arrival time, bytes, rectangles, pixels). Framing
// is parsed, no pixels decoded. Self-contained like raw-rdp.ts: each layout is written here,
// with the specification's section numbers in brackets; only ZGFX, the segments' bulk
// compression, is qemu-rdp's own decompressor (xfreerdp is the test of its compressor).
import { performance } from 'node:perf_hooks';
import { bulk } from '@vdi-sidecar/qemu-rdp';
import type { RawRdpClient, UpdateRecord } from './raw-rdp.js';

const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;

/** TS_UD_CS_CORE earlyCapabilityFlags: the client takes the graphics pipeline [MS-RDPBCGR 2.2.1.3.2]. */
export const RNS_UD_CS_SUPPORT_DYNVC_GFX_PROTOCOL = 0x0100;
const GFX_CHANNEL = 'Microsoft::Windows::RDS::Graphics';
/** MCS DomainMCSPDU choice of a Send Data Indication. */
const SEND_DATA_INDICATION = 26;

/** RDPGFX_HEADER cmdIds [MS-RDPEGFX 2.2.1.5]. */
const Cmd = { WIRE_TO_SURFACE_1: 0x01, SOLID_FILL: 0x04, SURFACE_TO_CACHE: 0x06, CACHE_TO_SURFACE: 0x07, EVICT_CACHE_ENTRY: 0x08, START_FRAME: 0x0b, END_FRAME: 0x0c, FRAME_ACKNOWLEDGE: 0x0d, RESET_GRAPHICS: 0x0e, CAPS_ADVERTISE: 0x12, CAPS_CONFIRM: 0x13 };

const u16 = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
};
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return b;
};

export class RawGfxReceiver {
  /** One record per GFX frame (END_FRAME), as RawRdpClient records bitmap updates. */
  readonly records: UpdateRecord[] = [];
  /** The capability version the server confirmed, once it did. */
  confirmedVersion: number | undefined;
  /** RESET_GRAPHICS' size. */
  size = { width: 0, height: 0 };
  frames = 0;
  /** The channel's ZGFX history [MS-RDPEGFX 3.1.9.1]. */
  private readonly zgfx = new bulk.ZgfxDecompressor();
  /** Rectangles drawn from the bitmap cache (CACHE_TO_SURFACE destinations), and tiles cached. */
  cacheHits = 0;
  cacheStores = 0;
  /** CACHE_TO_SURFACE PDUs naming a slot this client holds nothing in (a server bug). */
  cacheErrors = 0;
  /** The pixels each filled cache slot holds (SURFACE_TO_CACHE's rectangle), to count what CACHE_TO_SURFACE draws. */
  private readonly cacheSlots = new Map<number, number>();
  /** Bytes of the channel's frames since the last END_FRAME. */
  private bytesSinceFrame = 0;
  private rects = 0;
  private pixels = 0;
  private chunks: Buffer[] = [];
  private dvcPending: { total: number; parts: Buffer[]; received: number } | undefined;
  /** The graphics channel's DVC id, once the server asked to open it. */
  gfxChannelId: number | undefined;

  /**
   * Takes over `client`'s slow-path frames (activated with channels ['drdynvc'] and the GFX
   * flag in its core data); starts its recording mode.
   */
  constructor(
    private readonly client: RawRdpClient,
    /** Index of "drdynvc" in the channels given to activate(). */
    private readonly drdynvcIndex = 0,
  ) {
    client.onSlowPathFrame = (frame) => this.onFrame(frame);
    client.recordUpdates();
  }

  private onFrame(frame: Buffer): void {
    // TPKT 4, X.224 Data 3, then MCS: choice, initiator (2), channelId (2), flags, PER length.
    const mcs = frame.subarray(7);
    if (mcs[0] >> 2 !== SEND_DATA_INDICATION) return;
    const channelId = mcs.readUInt16BE(3);
    if (channelId !== this.client.staticChannelIds[this.drdynvcIndex]) return;
    this.bytesSinceFrame += frame.length;
    const long = (mcs[6] & 0x80) !== 0;
    const start = long ? 8 : 7;
    const length = long ? mcs.readUInt16BE(6) & 0x7fff : mcs[6];
    const chunk = mcs.subarray(start, start + length);
    // CHANNEL_PDU_HEADER [MS-RDPBCGR 2.2.6.1.1]: length (whole message), flags FIRST 1 / LAST 2.
    const flags = chunk.readUInt32LE(4);
    if (flags & 1) this.chunks = [];
    this.chunks.push(chunk.subarray(8));
    if (flags & 2) this.onDvcPdu(Buffer.concat(this.chunks));
  }

  /** One DVC PDU [MS-RDPEDYC 2.2]: cbId (bits 0–1), Sp (2–3), Cmd (4–7). */
  private onDvcPdu(pdu: Buffer): void {
    const cbId = pdu[0] & 3;
    const sp = (pdu[0] >> 2) & 3;
    const cmd = pdu[0] >> 4;
    const readVar = (at: number, code: number): [number, number] =>
      code === 0 ? [pdu[at], at + 1] : code === 1 ? [pdu.readUInt16LE(at), at + 2] : [pdu.readUInt32LE(at), at + 4];
    if (cmd === 5) {
      // Capabilities Request: answer with version 3 (DYNVC_CAPS_RSP: header, pad, version).
      this.sendDvc(Buffer.from([0x50, 0x00, 0x03, 0x00]));
      return;
    }
    const [channelId, pos] = readVar(1, cbId);
    if (cmd === 1) {
      // Create Request: ChannelName NUL-terminated. Accept the graphics channel only.
      const name = pdu.subarray(pos, pdu.indexOf(0, pos)).toString('latin1');
      const ok = name === GFX_CHANNEL;
      // DYNVC_CREATE_RSP: header (Cmd 1, cbId 2: a 4-byte id), ChannelId, CreationStatus.
      this.sendDvc(Buffer.concat([Buffer.from([0x12]), u32(channelId), u32(ok ? 0 : 0xc0000001)]));
      if (!ok) return;
      this.gfxChannelId = channelId;
      // RDPGFX_CAPS_ADVERTISE_PDU: one set, RDPGFX_CAPVERSION_10 with AVC_DISABLED.
      this.sendGfx(Buffer.concat([u16(Cmd.CAPS_ADVERTISE), u16(0), u32(22), u16(1), u32(0x000a0002), u32(4), u32(0x20)]));
      return;
    }
    if (channelId !== this.gfxChannelId) return;
    if (cmd === 2) {
      // DATA_FIRST: Length (its size in Sp), then the first part.
      const [total, at] = readVar(pos, sp);
      this.dvcPending = { total, parts: [pdu.subarray(at)], received: pdu.length - at };
    } else if (cmd === 3) {
      if (!this.dvcPending) return this.onGfxMessage(pdu.subarray(pos));
      this.dvcPending.parts.push(pdu.subarray(pos));
      this.dvcPending.received += pdu.length - pos;
    } else return;
    if (this.dvcPending && this.dvcPending.received >= this.dvcPending.total) {
      const whole = Buffer.concat(this.dvcPending.parts);
      this.dvcPending = undefined;
      this.onGfxMessage(whole);
    }
  }

  /** RDP_SEGMENTED_DATA [MS-RDPEGFX 2.2.5]: SINGLE 0xE0 or MULTIPART 0xE1 of RDP8_BULK_ENCODED_DATA segments. */
  private onGfxMessage(message: Buffer): void {
    const segment = (s: Buffer): Buffer => this.zgfx.decompress(s[0], s.subarray(1));
    let data: Buffer;
    if (message[0] === 0xe0) data = segment(message.subarray(1));
    else if (message[0] === 0xe1) {
      const count = message.readUInt16LE(1);
      const parts: Buffer[] = [];
      let pos = 7;
      for (let i = 0; i < count; i++) {
        const size = message.readUInt32LE(pos);
        parts.push(segment(message.subarray(pos + 4, pos + 4 + size)));
        pos += 4 + size;
      }
      data = Buffer.concat(parts);
    } else throw new Error(`RDP_SEGMENTED_DATA descriptor 0x${message[0].toString(16)}`);
    for (let pos = 0; pos < data.length; ) {
      const cmdId = data.readUInt16LE(pos);
      const length = data.readUInt32LE(pos + 4);
      this.onGfxPdu(cmdId, data.subarray(pos, pos + length));
      pos += length;
    }
  }

  private onGfxPdu(cmdId: number, pdu: Buffer): void {
    switch (cmdId) {
      case Cmd.CAPS_CONFIRM:
        this.confirmedVersion = pdu.readUInt32LE(8);
        return;
      case Cmd.RESET_GRAPHICS:
        this.size = { width: pdu.readUInt32LE(8), height: pdu.readUInt32LE(12) };
        return;
      case Cmd.WIRE_TO_SURFACE_1: {
        // surfaceId, codecId, pixelFormat, destRect (left, top, right, bottom: exclusive).
        const [l, t, r, b] = [13, 15, 17, 19].map((o) => pdu.readUInt16LE(o));
        this.rects++;
        this.pixels += (r - l) * (b - t);
        return;
      }
      case Cmd.SOLID_FILL: {
        const count = pdu.readUInt16LE(14);
        for (let i = 0; i < count; i++) {
          const [l, t, r, b] = [0, 2, 4, 6].map((o) => pdu.readUInt16LE(16 + 8 * i + o));
          this.rects++;
          this.pixels += (r - l) * (b - t);
        }
        return;
      }
      case Cmd.SURFACE_TO_CACHE: {
        // surfaceId u16, cacheKey u64, cacheSlot u16, rectSrc (left, top, right, bottom).
        const [l, t, r, b] = [20, 22, 24, 26].map((o) => pdu.readUInt16LE(o));
        this.cacheSlots.set(pdu.readUInt16LE(18), (r - l) * (b - t));
        this.cacheStores++;
        return;
      }
      case Cmd.CACHE_TO_SURFACE: {
        // cacheSlot u16, surfaceId u16, destPtsCount u16, destPts.
        const size = this.cacheSlots.get(pdu.readUInt16LE(8));
        if (size === undefined) {
          this.cacheErrors++;
          return;
        }
        const count = pdu.readUInt16LE(12);
        this.cacheHits += count;
        this.rects += count;
        this.pixels += size * count;
        return;
      }
      case Cmd.EVICT_CACHE_ENTRY:
        this.cacheSlots.delete(pdu.readUInt16LE(8));
        return;
      case Cmd.END_FRAME: {
        const frameId = pdu.readUInt32LE(8);
        this.frames++;
        this.records.push({ us: nowUs(), bytes: this.bytesSinceFrame, rects: this.rects, pixels: this.pixels });
        this.bytesSinceFrame = 0;
        this.rects = 0;
        this.pixels = 0;
        // RDPGFX_FRAME_ACKNOWLEDGE_PDU: queueDepth 0, frameId, totalFramesDecoded.
        this.sendGfx(Buffer.concat([u16(Cmd.FRAME_ACKNOWLEDGE), u16(0), u32(20), u32(0), u32(frameId), u32(this.frames)]));
        return;
      }
      default:
        return;
    }
  }

  /** A client GFX PDU as DVC data (cbId 2: a 4-byte channel id), unwrapped (client PDUs are not segmented). */
  private sendGfx(pdu: Buffer): void {
    this.sendDvc(Buffer.concat([Buffer.from([0x32]), u32(this.gfxChannelId!), pdu]));
  }

  private sendDvc(pdu: Buffer): void {
    this.client.sendOnStaticChannel(this.drdynvcIndex, pdu);
  }
}
