// Screen output through the graphics pipeline (MS-RDPEGFX) for one client: capability
// negotiation, one XRGB surface the size of the guest's screen mapped to the output at 0,0, and
// per update a frame (START_FRAME, SOLIDFILL for single-colour tiles, WIRE_TO_SURFACE_1 with
// planar for the others, END_FRAME). Frames are paced by the client's acknowledgements: no more
// than MAX_UNACKED_FRAMES run ahead, and damage coalesces in the session meanwhile. A guest mode
// change deletes the surface, resets the graphics to the new size and creates a new surface —
// no deactivation-reactivation. Pure: messages go out through `send`, no socket here.
import type { Rect } from '@vdi-sidecar/display-core';
import { encodePlanar } from '../codec/planar.js';
import { bgrxWords } from '../codec/uncompressed.js';
import {
  capSetFlags,
  encodeCacheImportReply,
  encodeCapsConfirm,
  encodeCreateSurface,
  encodeDeleteSurface,
  encodeEndFrame,
  encodeMapSurfaceToOutput,
  encodeResetGraphics,
  encodeSolidFill,
  encodeStartFrame,
  encodeWireToSurface1,
  GfxCapVersion,
  GfxCodec,
  GfxPixelFormat,
  gfxTimestamp,
  SUSPEND_FRAME_ACKNOWLEDGEMENT,
  type ClientGfxPdu,
  type GfxCapSet,
  type GfxRect,
} from '../channels/gfx/pdu.js';
import { RdpProtocolError } from '../pdu/errors.js';

/** Frames sent and not yet acknowledged, at most (then damage waits). */
export const MAX_UNACKED_FRAMES = 3;
/** Tiles the damage is cut into: each is one solid fill rectangle or one planar bitmap. */
export const GFX_TILE_SIZE = 64;
/** A frame's PDUs are sent in messages of about this size (each one RDP_SEGMENTED_DATA). */
const MESSAGE_TARGET = 256 * 1024;

/** Capability versions this server confirms, most preferred first (all take planar without AVC). */
export const SUPPORTED_CAP_VERSIONS: readonly number[] = [
  GfxCapVersion.V107,
  GfxCapVersion.V106,
  GfxCapVersion.V105,
  GfxCapVersion.V104,
  GfxCapVersion.V103,
  GfxCapVersion.V102,
  GfxCapVersion.V101,
  GfxCapVersion.V10,
  GfxCapVersion.V81,
  GfxCapVersion.V8,
];

/** The client's capability set this server confirms: the first of SUPPORTED_CAP_VERSIONS it offers. */
export function chooseCapSet(offered: readonly GfxCapSet[]): GfxCapSet | undefined {
  for (const version of SUPPORTED_CAP_VERSIONS) {
    const set = offered.find((s) => s.version === version);
    if (set) return set;
  }
  return undefined;
}

/** What a frame is drawn from: B,G,R,X rows of `stride` bytes (display-core's Framebuffer). */
export interface GfxFrameSource {
  readonly width: number;
  readonly height: number;
  readonly stride: number;
  readonly data: Buffer;
}

export type GfxBitmapCodec = 'planar' | 'uncompressed';

export interface GfxOutputOptions {
  /** Sends one message (a batch of whole PDUs) on the channel; the channel wraps it in RDP_SEGMENTED_DATA. */
  send(message: Buffer): void;
  log(level: 'debug' | 'info' | 'warn', message: string): void;
  /** Called when the output can take a frame again (an acknowledgement arrived). */
  wake(): void;
  /** Codec for tiles that are not one colour (default planar). */
  codec?: GfxBitmapCodec;
  now?: () => Date;
}

export interface GfxFrameStats {
  frameId: number;
  bytes: number;
  solidTiles: number;
  bitmapTiles: number;
}

export class GfxOutput {
  /** The capability set confirmed; undefined until the client advertised its capabilities. */
  private capSet: GfxCapSet | undefined;
  private surface: { id: number; width: number; height: number } | undefined;
  private nextSurfaceId = 1;
  private nextFrameId = 1;
  /** Frame ids sent and not yet acknowledged, oldest first. */
  private readonly unacked: number[] = [];
  /** The client said it stops acknowledging (queueDepth SUSPEND_FRAME_ACKNOWLEDGEMENT). */
  private acksSuspended = false;
  readonly codec: GfxBitmapCodec;
  private readonly now: () => Date;
  /** Frames the client reported decoded (its last FRAME_ACKNOWLEDGE). */
  framesDecoded = 0;

  constructor(private readonly options: GfxOutputOptions) {
    this.codec = options.codec ?? 'planar';
    this.now = options.now ?? (() => new Date());
  }

  /** Capabilities are confirmed: frames may be sent. */
  get ready(): boolean {
    return this.capSet !== undefined;
  }

  /** The confirmed capability version. */
  get version(): number | undefined {
    return this.capSet?.version;
  }

  /** A frame may be sent now (capabilities confirmed, not too many frames unacknowledged). */
  get canSend(): boolean {
    return this.ready && (this.acksSuspended || this.unacked.length < MAX_UNACKED_FRAMES);
  }

  get unacknowledged(): number {
    return this.unacked.length;
  }

  /** The surface does not have `src`'s size (the next frame recreates it and paints everything). */
  needsReset(src: GfxFrameSource): boolean {
    return this.surface?.width !== src.width || this.surface.height !== src.height;
  }

  /** A PDU from the client; throws RdpProtocolError when it breaks the protocol. */
  onClientPdu(pdu: ClientGfxPdu): void {
    switch (pdu.kind) {
      case 'capsAdvertise': {
        if (this.capSet) throw new RdpProtocolError('RDP_ERR_UNEXPECTED', 'RDPGFX_CAPS_ADVERTISE a second time');
        const chosen = chooseCapSet(pdu.capsSets);
        const offered = pdu.capsSets.map((s) => `0x${s.version.toString(16)}`).join(' ');
        if (!chosen) {
          // Not an error: the pipeline is just not used, and fast-path output carries on.
          this.options.log('warn', `capabilities: client offers ${offered}, none of which this server knows; staying with bitmap updates`);
          return;
        }
        this.capSet = chosen;
        this.options.send(encodeCapsConfirm(chosen));
        this.options.log('debug', `capabilities: client offers ${offered}; confirmed 0x${chosen.version.toString(16)} flags 0x${capSetFlags(chosen).toString(16)}`);
        this.options.wake();
        return;
      }
      case 'frameAcknowledge': {
        this.framesDecoded = pdu.totalFramesDecoded;
        const wasBlocked = !this.canSend;
        this.acksSuspended = pdu.queueDepth === SUSPEND_FRAME_ACKNOWLEDGEMENT;
        // Frames are acknowledged in order: this one and every earlier one are done.
        const i = this.unacked.indexOf(pdu.frameId);
        if (i >= 0) this.unacked.splice(0, i + 1);
        if (this.acksSuspended) this.unacked.length = 0;
        if (wasBlocked && this.canSend) this.options.wake();
        return;
      }
      case 'cacheImportOffer':
        // This server keeps no bitmap cache: none of the offered entries is imported (3.3.5.16).
        this.options.send(encodeCacheImportReply([]));
        this.options.log('debug', `cache import offer of ${pdu.entries.length} entries: none imported`);
        return;
      case 'qoeFrameAcknowledge':
        return;
    }
  }

  /**
   * Sends one frame that paints `rects` (inside the source) from `src`; first (re)creates the
   * surface when there is none yet or the source's size changed (then everything is painted).
   * Returns what was sent, or undefined when nothing could be (not ready or too far ahead).
   */
  sendFrame(src: GfxFrameSource, rects: readonly Rect[]): GfxFrameStats | undefined {
    if (!this.canSend || src.width === 0 || src.height === 0) return undefined;
    const batch = new MessageBatch(this.options.send);
    if (!this.surface || this.surface.width !== src.width || this.surface.height !== src.height) {
      this.resetSurface(batch, src.width, src.height);
      rects = [{ x: 0, y: 0, w: src.width, h: src.height }];
    }
    const surfaceId = this.surface!.id;
    const frameId = this.nextFrameId;
    this.nextFrameId = (this.nextFrameId + 1) >>> 0;
    batch.add(encodeStartFrame(frameId, gfxTimestamp(this.now())));
    const solids = new Map<number, GfxRect[]>();
    let bitmapTiles = 0;
    let solidTiles = 0;
    const words = bgrxWords(src.data, src.stride);
    for (const r of rects) {
      for (let y = r.y; y < r.y + r.h; y += GFX_TILE_SIZE) {
        for (let x = r.x; x < r.x + r.w; x += GFX_TILE_SIZE) {
          const w = Math.min(GFX_TILE_SIZE, r.x + r.w - x);
          const h = Math.min(GFX_TILE_SIZE, r.y + r.h - y);
          const dest = { left: x, top: y, right: x + w, bottom: y + h };
          const color = words ? solidColor(words, src.stride >> 2, x, y, w, h) : undefined;
          if (color !== undefined) {
            let list = solids.get(color);
            if (!list) solids.set(color, (list = []));
            list.push(dest);
            solidTiles++;
            continue;
          }
          bitmapTiles++;
          batch.add(this.encodeTile(surfaceId, src, x, y, w, h, dest));
        }
      }
    }
    for (const [color, list] of solids) {
      // fillRectCount is a u16.
      for (let i = 0; i < list.length; i += 0xffff) batch.add(encodeSolidFill(surfaceId, color, list.slice(i, i + 0xffff)));
    }
    batch.add(encodeEndFrame(frameId));
    batch.flush();
    if (!this.acksSuspended) this.unacked.push(frameId);
    return { frameId, bytes: batch.bytes, solidTiles, bitmapTiles };
  }

  private encodeTile(surfaceId: number, src: GfxFrameSource, x: number, y: number, w: number, h: number, dest: GfxRect): Buffer {
    if (this.codec === 'planar') {
      const data = encodePlanar(src.data, src.stride, { x, y, width: w, height: h }, { layout: 'gfx' });
      return encodeWireToSurface1(surfaceId, GfxCodec.PLANAR, GfxPixelFormat.XRGB_8888, dest, data);
    }
    // Uncompressed: the surface's own format, B,G,R,X top-down, w*4 bytes a row.
    const data = Buffer.allocUnsafe(w * h * 4);
    for (let row = 0; row < h; row++) {
      const from = (y + row) * src.stride + x * 4;
      src.data.copy(data, row * w * 4, from, from + w * 4);
    }
    return encodeWireToSurface1(surfaceId, GfxCodec.UNCOMPRESSED, GfxPixelFormat.XRGB_8888, dest, data);
  }

  /** Deletes the surface (if any), resets the graphics to `width`×`height` and maps a new surface. */
  private resetSurface(batch: MessageBatch, width: number, height: number): void {
    const old = this.surface;
    if (old) batch.add(encodeDeleteSurface(old.id));
    const id = this.nextSurfaceId;
    this.nextSurfaceId = (this.nextSurfaceId % 0xffff) + 1;
    batch.add(encodeResetGraphics(width, height, [{ left: 0, top: 0, right: width - 1, bottom: height - 1, primary: true }]));
    batch.add(encodeCreateSurface(id, width, height, GfxPixelFormat.XRGB_8888));
    batch.add(encodeMapSurfaceToOutput(id, 0, 0));
    this.surface = { id, width, height };
    this.options.log(old ? 'info' : 'debug', `surface ${id}: ${width}x${height}${old ? ` (was ${old.width}x${old.height})` : ''}`);
  }
}

/** PDUs gathered into messages of about MESSAGE_TARGET bytes. */
class MessageBatch {
  private parts: Buffer[] = [];
  private length = 0;
  bytes = 0;

  constructor(private readonly send: (message: Buffer) => void) {}

  add(pdu: Buffer): void {
    this.parts.push(pdu);
    this.length += pdu.length;
    if (this.length >= MESSAGE_TARGET) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0) return;
    const message = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.length);
    this.parts = [];
    this.length = 0;
    this.bytes += message.length;
    this.send(message);
  }
}

/** The tile's colour as 0xRRGGBB when all its pixels have it (the X byte ignored), else undefined. */
export function solidColor(words: Uint32Array, stride32: number, x: number, y: number, w: number, h: number): number | undefined {
  const first = words[y * stride32 + x]! & 0xffffff;
  for (let row = y; row < y + h; row++) {
    let i = row * stride32 + x;
    for (const end = i + w; i < end; i++) if ((words[i]! & 0xffffff) !== first) return undefined;
  }
  return first;
}

/**
 * The session's side of the graphics pipeline: whether the client may get it, and the output
 * once its channel confirmed capabilities. While `output` is set, screen output goes there
 * instead of fast-path bitmap updates (pointer updates stay on fast-path).
 */
export class GfxPipelineSlot {
  /** The client set RNS_UD_CS_SUPPORT_DYNVC_GFX_PROTOCOL (and the server offers the pipeline). */
  offered = false;
  output: GfxOutput | undefined;

  constructor(
    /** The output changed (attached or detached): everything must be painted again. */
    private readonly onChange: (output: GfxOutput | undefined) => void,
    /** The output can take a frame again. */
    readonly wake: () => void,
  ) {}

  attach(output: GfxOutput): void {
    this.output = output;
    this.onChange(output);
  }

  detach(output: GfxOutput): void {
    if (this.output !== output) return;
    this.output = undefined;
    this.onChange(undefined);
  }
}
