// Screen output through the graphics pipeline (MS-RDPEGFX) for one client: capability
// negotiation, one XRGB surface the size of the guest's screen mapped to the output at 0,0, and
// per update a frame (START_FRAME, SOLIDFILL for single-colour tiles, CACHE_TO_SURFACE for tiles
// whose pixels the client's bitmap cache holds, WIRE_TO_SURFACE_1 with planar — or RemoteFX as
// CAVIDEO, per the codec choice — for the others, each followed by SURFACE_TO_CACHE, END_FRAME). Frames are paced by the client's acknowledgements: no more
// than MAX_UNACKED_FRAMES run ahead, and damage coalesces in the session meanwhile. A guest mode
// change deletes the surface, resets the graphics to the new size and creates a new surface —
// no deactivation-reactivation. Pure: messages go out through `send`, no socket here.
import { createHash } from 'node:crypto';
import { copyInside, solidColor, type CopyRect, type Rect } from '@vdi-sidecar/display-core';
import { encodePlanar } from '../codec/planar.js';
import { DEFAULT_QUANT, encodeFrameMessages, encodeHeaderMessages, encodeTileAt, type TileQuant } from '../codec/remotefx/index.js';
import {
  capSetFlags,
  encodeCacheImportReply,
  encodeCacheToSurface,
  encodeEvictCacheEntry,
  encodeSurfaceToCache,
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
  GFX_CACHE_BYTES,
  GFX_CACHE_SLOTS,
  GFX_SMALL_CACHE_BYTES,
  GFX_SMALL_CACHE_SLOTS,
  GfxCapsFlag,
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

export type GfxBitmapCodec = 'planar' | 'uncompressed' | 'remotefx';
/**
 * The codec option: a bitmap codec, or 'auto' — chosen per client once its capabilities are
 * confirmed: RemoteFX, unless the client calls itself a thin client (RDPGFX_CAPS_FLAG_THINCLIENT),
 * which gets planar (cheaper to decode, lossless).
 */
export type GfxCodecChoice = GfxBitmapCodec | 'auto';
export const GFX_CODEC_CHOICES: readonly GfxCodecChoice[] = ['planar', 'remotefx', 'auto'];

export interface GfxOutputOptions {
  /** Sends one message (a batch of whole PDUs) on the channel; the channel wraps it in RDP_SEGMENTED_DATA. */
  send(message: Buffer): void;
  log(level: 'debug' | 'info' | 'warn', message: string): void;
  /** Called when the output can take a frame again (an acknowledgement arrived). */
  wake(): void;
  /** Codec for tiles that are not one colour (default planar). */
  codec?: GfxCodecChoice;
  /** Use the client's bitmap cache (SURFACE_TO_CACHE / CACHE_TO_SURFACE; default true). */
  cache?: boolean;
  /** At most this many cache entries, whatever the client's cache holds (tests). */
  cacheLimit?: number;
  now?: () => Date;
}

export interface GfxFrameStats {
  frameId: number;
  bytes: number;
  solidTiles: number;
  bitmapTiles: number;
  /** Tiles drawn from the client's cache (CACHE_TO_SURFACE). */
  cacheHits: number;
  /** Tiles copied into the client's cache (SURFACE_TO_CACHE). */
  cacheStores: number;
  /** Screen areas moved on the surface (SURFACE_TO_SURFACE). */
  surfaceCopies: number;
}

/** Running totals of a GfxOutput's tiles. */
export interface GfxTotals {
  solidTiles: number;
  planarTiles: number;
  uncompressedTiles: number;
  remotefxTiles: number;
  cacheHits: number;
  cacheStores: number;
  cacheEvictions: number;
  surfaceCopies: number;
}

/** Bytes one full tile takes in the client's cache (32 bpp). */
const TILE_CACHE_BYTES = GFX_TILE_SIZE * GFX_TILE_SIZE * 4;

/**
 * The cache entries this server uses for a client with these capability flags: slots 1..n, n
 * within both the client's slot count (less one: FreeRDP releases before 2.1 took slots as
 * 0-based, later ones as 1-based, so neither 0 nor the last is used) and its cache's bytes
 * (100 MB, or 16 MB with RDPGFX_CAPS_FLAG_SMALL_CACHE) in full 64×64 tiles.
 */
export function cacheCapacity(flags: number): number {
  const small = (flags & GfxCapsFlag.SMALL_CACHE) !== 0;
  const slots = (small ? GFX_SMALL_CACHE_SLOTS : GFX_CACHE_SLOTS) - 1;
  return Math.min(slots, Math.floor((small ? GFX_SMALL_CACHE_BYTES : GFX_CACHE_BYTES) / TILE_CACHE_BYTES));
}

/**
 * The server's picture of the client's bitmap cache: which tile (by a hash of its pixels) is in
 * which slot, least recently used first. Bounded by `capacity` entries; a full cache gives up
 * its least recently used slot (the caller sends EVICT_CACHE_ENTRY for it).
 */
export class GfxTileCache {
  /** key → slot, in use order (a hit moves the key to the end). */
  private readonly slots = new Map<string, number>();
  private nextFresh = 1;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 0xfffe) throw new RangeError(`cache capacity ${capacity} is not 1..65534`);
  }

  get size(): number {
    return this.slots.size;
  }

  /** The slot holding `key`, now the most recently used; undefined when not cached. */
  lookup(key: string): number | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) return undefined;
    this.slots.delete(key);
    this.slots.set(key, slot);
    return slot;
  }

  /** A slot for `key` (not cached yet): a fresh one, or the least recently used one's, evicted. */
  insert(key: string): { slot: number; evicted: boolean } {
    if (this.slots.has(key)) throw new Error('GfxTileCache.insert: key already cached');
    let slot: number;
    let evicted = false;
    if (this.nextFresh <= this.capacity) {
      slot = this.nextFresh++;
    } else {
      const [oldKey, oldSlot] = this.slots.entries().next().value as [string, number];
      this.slots.delete(oldKey);
      slot = oldSlot;
      evicted = true;
    }
    this.slots.set(key, slot);
    return { slot, evicted };
  }

  /** Forgets every entry (all slots fresh again); returns the slots that were in use. */
  clear(): number[] {
    const used = [...this.slots.values()];
    this.slots.clear();
    this.nextFresh = 1;
    return used;
  }
}

/** A key for the w×h pixels at (x, y): SHA-1 of the size and the B,G,R,X rows. */
export function tileHash(src: GfxFrameSource, x: number, y: number, w: number, h: number): Buffer {
  const hash = createHash('sha1');
  const size = Buffer.allocUnsafe(4);
  size.writeUInt16LE(w, 0);
  size.writeUInt16LE(h, 2);
  hash.update(size);
  for (let row = y; row < y + h; row++) {
    const from = row * src.stride + x * 4;
    hash.update(src.data.subarray(from, from + w * 4));
  }
  return hash.digest();
}

/** The quant sets of the pipeline's RemoteFX tiles: MS-RDPRFX's default set for all three components. */
const RFX_TILE_QUANT: TileQuant = { y: DEFAULT_QUANT, cb: DEFAULT_QUANT, cr: DEFAULT_QUANT, quantIdxY: 0, quantIdxCb: 0, quantIdxCr: 0 };

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
  private readonly codecChoice: GfxCodecChoice;
  private chosenCodec: GfxBitmapCodec | undefined;
  private readonly useCache: boolean;
  /** The client's bitmap cache as this server filled it; undefined until capabilities are confirmed. */
  private cache: GfxTileCache | undefined;
  private rfxFrameIdx = 0;
  readonly totals: GfxTotals = { solidTiles: 0, planarTiles: 0, uncompressedTiles: 0, remotefxTiles: 0, cacheHits: 0, cacheStores: 0, cacheEvictions: 0, surfaceCopies: 0 };
  private readonly now: () => Date;
  /** Frames the client reported decoded (its last FRAME_ACKNOWLEDGE). */
  framesDecoded = 0;

  constructor(private readonly options: GfxOutputOptions) {
    this.codecChoice = options.codec ?? 'planar';
    this.useCache = options.cache ?? true;
    this.now = options.now ?? (() => new Date());
  }

  /** The codec of tiles that are neither solid nor cached ('auto' is planar until capabilities are confirmed). */
  get codec(): GfxBitmapCodec {
    return this.chosenCodec ?? (this.codecChoice === 'auto' ? 'planar' : this.codecChoice);
  }

  /** Slots of the client's cache this server may fill (0: the cache is not used). */
  get cacheCapacity(): number {
    return this.cache?.capacity ?? 0;
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
        const flags = capSetFlags(chosen);
        this.chosenCodec = this.codecChoice === 'auto' ? ((flags & GfxCapsFlag.THINCLIENT) !== 0 ? 'planar' : 'remotefx') : this.codecChoice;
        if (this.useCache) this.cache = new GfxTileCache(Math.min(cacheCapacity(flags), this.options.cacheLimit ?? Infinity));
        this.options.send(encodeCapsConfirm(chosen));
        this.options.log(
          'debug',
          `capabilities: client offers ${offered}; confirmed 0x${chosen.version.toString(16)} flags 0x${flags.toString(16)}; codec ${this.chosenCodec}` +
            (this.cache ? `, bitmap cache of ${this.cache.capacity} tiles` : ', no bitmap cache'),
        );
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
   * With `copy`, the frame first moves that area on the surface (SURFACE_TO_SURFACE, before the
   * tiles: the surface must then show `src` as it was before the copy, everything else being in
   * `rects`); a frame that recreates the surface drops the copy, and one that does not lie inside
   * the surface is painted as the whole surface.
   * Returns what was sent, or undefined when nothing could be (not ready or too far ahead).
   */
  sendFrame(src: GfxFrameSource, rects: readonly Rect[], copy?: CopyRect): GfxFrameStats | undefined {
    if (!this.canSend || src.width === 0 || src.height === 0) return undefined;
    const batch = new MessageBatch(this.options.send);
    if (!this.surface || this.surface.width !== src.width || this.surface.height !== src.height) {
      this.resetSurface(batch, src.width, src.height);
      rects = [{ x: 0, y: 0, w: src.width, h: src.height }];
      copy = undefined;
    }
    const surfaceId = this.surface!.id;
    const frameId = this.nextFrameId;
    this.nextFrameId = (this.nextFrameId + 1) >>> 0;
    batch.add(encodeStartFrame(frameId, gfxTimestamp(this.now())));
    let surfaceCopies = 0;
    if (copy && copyInside(copy, src.width, src.height)) {
      const rectSrc = { left: copy.srcX, top: copy.srcY, right: copy.srcX + copy.w, bottom: copy.srcY + copy.h };
      batch.add(encodeSurfaceToSurface(surfaceId, surfaceId, rectSrc, [{ x: copy.x, y: copy.y }]));
      surfaceCopies++;
    } else if (copy) {
      // Cannot happen while the surface is the source's size; repaint rather than lose it.
      rects = [{ x: 0, y: 0, w: src.width, h: src.height }];
    }
    const solids = new Map<number, GfxRect[]>();
    let bitmapTiles = 0;
    let solidTiles = 0;
    let cacheHits = 0;
    let cacheStores = 0;
    const cache = this.cache;
    // Tiles follow the 64×64 grid of the surface, whatever the rectangle's corner: a picture
    // seen before then falls into the same tiles (cache hits) even when its damage arrives in
    // bands that start elsewhere, e.g. while the guest is still writing it.
    const gridAfter = (v: number) => (Math.floor(v / GFX_TILE_SIZE) + 1) * GFX_TILE_SIZE;
    for (const r of rects) {
      for (let y = r.y; y < r.y + r.h; y = gridAfter(y)) {
        for (let x = r.x; x < r.x + r.w; x = gridAfter(x)) {
          const w = Math.min(gridAfter(x), r.x + r.w) - x;
          const h = Math.min(gridAfter(y), r.y + r.h) - y;
          const dest = { left: x, top: y, right: x + w, bottom: y + h };
          // The X byte of B,G,R,X is no part of the colour (SOLIDFILL's is B, G, R, XA).
          const pixel = solidColor(src.data, src.stride, { x, y, w, h });
          const color = pixel === undefined ? undefined : pixel & 0xffffff;
          if (color !== undefined) {
            let list = solids.get(color);
            if (!list) solids.set(color, (list = []));
            list.push(dest);
            solidTiles++;
            continue;
          }
          let key: string | undefined;
          let digest: Buffer | undefined;
          if (cache) {
            digest = tileHash(src, x, y, w, h);
            key = digest.toString('latin1');
            const slot = cache.lookup(key);
            if (slot !== undefined) {
              batch.add(encodeCacheToSurface(slot, surfaceId, [{ x, y }]));
              cacheHits++;
              continue;
            }
          }
          bitmapTiles++;
          batch.add(this.encodeTile(surfaceId, src, x, y, w, h, dest));
          if (cache && key !== undefined && digest !== undefined) {
            // Right after the tile: the surface there holds just what the tile drew.
            const { slot, evicted } = cache.insert(key);
            if (evicted) {
              batch.add(encodeEvictCacheEntry(slot));
              this.totals.cacheEvictions++;
            }
            batch.add(encodeSurfaceToCache(surfaceId, digest.readBigUInt64LE(0), slot, dest));
            cacheStores++;
          }
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
    this.totals.solidTiles += solidTiles;
    this.totals.cacheHits += cacheHits;
    this.totals.cacheStores += cacheStores;
    this.totals.surfaceCopies += surfaceCopies;
    if (cacheHits > 0 || (this.codec === 'remotefx' && bitmapTiles > 0)) {
      this.options.log('debug', `frame ${frameId}: ${solidTiles} solid, ${bitmapTiles} ${this.codec}, ${cacheHits} from cache, ${cacheStores} cached`);
    }
    return { frameId, bytes: batch.bytes, solidTiles, bitmapTiles, cacheHits, cacheStores, surfaceCopies };
  }

  private encodeTile(surfaceId: number, src: GfxFrameSource, x: number, y: number, w: number, h: number, dest: GfxRect): Buffer {
    if (this.codec === 'remotefx') {
      this.totals.remotefxTiles++;
      return encodeWireToSurface1(surfaceId, GfxCodec.CAVIDEO, GfxPixelFormat.XRGB_8888, dest, this.remoteFxMessage(src, x, y, w, h));
    }
    if (this.codec === 'planar') {
      this.totals.planarTiles++;
      const data = encodePlanar(src.data, src.stride, { x, y, width: w, height: h }, { layout: 'gfx' });
      return encodeWireToSurface1(surfaceId, GfxCodec.PLANAR, GfxPixelFormat.XRGB_8888, dest, data);
    }
    this.totals.uncompressedTiles++;
    // Uncompressed: the surface's own format, B,G,R,X top-down, w*4 bytes a row.
    const data = Buffer.allocUnsafe(w * h * 4);
    for (let row = 0; row < h; row++) {
      const from = (y + row) * src.stride + x * 4;
      src.data.copy(data, row * w * 4, from, from + w * 4);
    }
    return encodeWireToSurface1(surfaceId, GfxCodec.UNCOMPRESSED, GfxPixelFormat.XRGB_8888, dest, data);
  }

  /**
   * The RemoteFX message of one tile for WIRE_TO_SURFACE_1 with CAVIDEO: the header messages
   * (FreeRDP keeps a RemoteFX context per surface and takes repeated headers, so every message
   * is complete by itself), then a frame whose region is the tile's w×h at (0, 0) — relative to
   * the PDU's destination rectangle — and whose tileset is the one tile at index (0, 0).
   */
  private remoteFxMessage(src: GfxFrameSource, x: number, y: number, w: number, h: number): Buffer {
    const stream = { width: this.surface!.width, height: this.surface!.height, entropy: 'rlgr1' as const };
    const tile = encodeTileAt(src.data, src.stride, src.width, src.height, x, y, 0, 0, RFX_TILE_QUANT, 'rlgr1');
    const frame = encodeFrameMessages({ frameIdx: this.rfxFrameIdx, rects: [{ x: 0, y: 0, width: w, height: h }], quants: [DEFAULT_QUANT], tiles: [tile], entropy: 'rlgr1' });
    this.rfxFrameIdx = (this.rfxFrameIdx + 1) >>> 0;
    return Buffer.concat([encodeHeaderMessages(stream), frame]);
  }

  /** Deletes the surface (if any), resets the graphics to `width`×`height` and maps a new surface. */
  private resetSurface(batch: MessageBatch, width: number, height: number): void {
    const old = this.surface;
    // The cache belongs to the connection, not to the surface, but a new mode starts it afresh:
    // every slot in use is evicted first (while surely filled), so none is left behind.
    if (this.cache) {
      for (const slot of this.cache.clear()) batch.add(encodeEvictCacheEntry(slot));
    }
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

/**
 * The session's side of the graphics pipeline: whether the client may get it, and the output
 * once its channel confirmed capabilities. While `output` is set, screen output goes there
 * instead of fast-path bitmap updates (pointer updates stay on fast-path).
 */
export class GfxPipelineSlot {
  /** The client set RNS_UD_CS_SUPPORT_DYNVC_GFX_PROTOCOL (and the server offers the pipeline). */
  offered = false;
  /** The codec option outputs are made with (the server's --gfx-codec). */
  codec: GfxCodecChoice = 'planar';
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
