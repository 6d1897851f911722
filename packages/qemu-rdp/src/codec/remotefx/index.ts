// RemoteFX (MS-RDPRFX) encoder for surface commands: BGRX frames → the body of a fast-path
// SURFCMDS update (FastPathUpdateCode.SURFCMDS) holding
//   TS_FRAME_MARKER (BEGIN, frameId)
//   TS_SURFCMD_STREAM_SURF_BITS  dest (0, 0, width, height), TS_BITMAP_DATA_EX { bpp 32,
//     codecID = the client's RemoteFX codec id, width × height of the desktop, bitmapData = the
//     RemoteFX messages: the header messages on the first frame of the stream, then FRAME_BEGIN,
//     REGION (the damaged rects), TILESET (the 64×64 tiles covering them), FRAME_END }
//   TS_FRAME_MARKER (END, frameId)
//
// What the session must have negotiated: the client's Bitmap Codecs capability set lists
// CodecGuid.REMOTEFX (its codec id goes into `codecId`), and its Surface Commands capability set
// has SurfaceCommandFlags.STREAM_SURFACE_BITS (FRAME_MARKER too for the markers; a server offers
// the same flags in its own Surface Commands set).
import { TILE_SIZE } from './color.js';
import {
  HEADER_MESSAGES_SIZE,
  type RfxRect,
  encodeFrameMessages,
  encodeHeaderMessages,
  frameMessagesSize,
} from './message.js';
import { DEFAULT_QUANT, type QuantValues, checkQuant } from './quantization.js';
import type { RlgrMode } from './rlgr.js';
import {
  FRAME_MARKER_SIZE,
  SURFACECMD_FRAMEACTION_BEGIN,
  SURFACECMD_FRAMEACTION_END,
  SURFACE_BITS_HEADER_SIZE,
  encodeFrameMarker,
  encodeSurfaceBits,
} from './surface-bits.js';
import { type TileQuant, encodeTile } from './tile.js';

export { TILE_PIXELS, TILE_SIZE, bgrxTileToYCbCr } from './color.js';
export { SUBBANDS, forwardDwt, type SubbandName } from './dwt.js';
export * from './message.js';
export {
  DEFAULT_QUANT,
  QUANT_MAX,
  QUANT_MIN,
  QUANT_SET_SIZE,
  checkQuant,
  decodeQuant,
  dequantize,
  encodeQuant,
  quantize,
  type QuantValues,
} from './quantization.js';
export { rlgrDecode, rlgrEncode, type RlgrMode } from './rlgr.js';
export * from './surface-bits.js';
export { CBT_TILE, LL3_OFFSET, TILE_HEADER_SIZE, differentialEncode, encodeTile, encodeTileAt, transformComponent, type TileQuant } from './tile.js';

export interface RemoteFxEncoderOptions {
  /** Desktop size (the RemoteFX channel and the surface). */
  width: number;
  height: number;
  entropy: RlgrMode;
  /** Quant set for Y, Cb and Cr (TS_RFX_CODEC_QUANT order LL3 … HH1); default DEFAULT_QUANT. */
  quant?: QuantValues;
  /** Separate chroma quant set (default: `quant`). */
  chromaQuant?: QuantValues;
  /** The codec id from the client's Bitmap Codecs capability set entry for CodecGuid.REMOTEFX. */
  codecId: number;
  /** RemoteFX image mode (TS_RFX_CONTEXT CODEC_MODE) instead of video mode (default false). */
  imageMode?: boolean;
}

/** The rectangle and tiles of one encodeFrame call, for callers that log or meter. */
export interface EncodedRemoteFxFrame {
  frameId: number;
  rects: RfxRect[];
  tiles: number;
}

/**
 * Encodes damaged parts of a BGRX desktop as RemoteFX surface commands. One instance per
 * connection: the first frame carries the RemoteFX header messages (call reset() after a
 * reactivation or desktop resize to send them again).
 */
export class RemoteFxEncoder {
  readonly width: number;
  readonly height: number;
  readonly entropy: RlgrMode;
  readonly codecId: number;
  readonly imageMode: boolean;
  private readonly quants: QuantValues[];
  private readonly tileQuant: TileQuant;
  private headersSent = false;
  private frameIdx = 0;
  private nextFrameId = 0;
  private readonly cols: number;
  private readonly rows: number;
  private readonly tileMask: Uint8Array;
  /** What the last encodeFrame/encodeFrameUpdates call sent. */
  last: EncodedRemoteFxFrame | undefined;

  constructor(o: RemoteFxEncoderOptions) {
    if (!Number.isInteger(o.width) || !Number.isInteger(o.height) || o.width < 1 || o.height < 1 || o.width > 0x7fff || o.height > 0x7fff) {
      throw new RangeError(`desktop size ${o.width}x${o.height} is out of range`);
    }
    if (!Number.isInteger(o.codecId) || o.codecId < 1 || o.codecId > 0xff) throw new RangeError(`codec id ${o.codecId} is not 1..255`);
    if (o.entropy !== 'rlgr1' && o.entropy !== 'rlgr3') throw new RangeError(`entropy must be 'rlgr1' or 'rlgr3'`);
    this.width = o.width;
    this.height = o.height;
    this.entropy = o.entropy;
    this.codecId = o.codecId;
    this.imageMode = o.imageMode ?? false;
    const luma = Object.freeze([...(o.quant ?? DEFAULT_QUANT)]);
    checkQuant(luma);
    this.quants = [luma];
    let chromaIdx = 0;
    if (o.chromaQuant) {
      const chroma = Object.freeze([...o.chromaQuant]);
      checkQuant(chroma);
      if (chroma.some((v, i) => v !== luma[i])) {
        this.quants.push(chroma);
        chromaIdx = 1;
      }
    }
    const chroma = this.quants[chromaIdx];
    this.tileQuant = { y: luma, cb: chroma, cr: chroma, quantIdxY: 0, quantIdxCb: chromaIdx, quantIdxCr: chromaIdx };
    this.cols = Math.ceil(this.width / TILE_SIZE);
    this.rows = Math.ceil(this.height / TILE_SIZE);
    this.tileMask = new Uint8Array(this.cols * this.rows);
  }

  /** Sends the header messages again with the next frame (new connection or reactivation). */
  reset(): void {
    this.headersSent = false;
  }

  /**
   * The SURFCMDS update body for the tiles covering `rects` of `src` (B,G,R,X, `stride` bytes a
   * row, the desktop's size): frame marker BEGIN, one STREAM_SURF_BITS, frame marker END.
   * Throws a RangeError when no rect touches the desktop.
   */
  encodeFrame(src: Uint8Array, stride: number, rects: readonly RfxRect[]): Buffer {
    const updates = this.encodeFrameUpdates(src, stride, rects, Infinity);
    return updates[0];
  }

  /**
   * Like encodeFrame, but split so that each update body stays within `maxUpdateSize` bytes (the
   * client's maxRequestSize less nothing: fast-path fragmentation is the caller's). The tiles are
   * spread over several RemoteFX frames, each with the whole region, in separate
   * STREAM_SURF_BITS commands; the first update starts with the BEGIN marker and the last ends
   * with END, all with one frameId. A single tile larger than the budget gets an update of its own.
   */
  encodeFrameUpdates(src: Uint8Array, stride: number, rects: readonly RfxRect[], maxUpdateSize: number): Buffer[] {
    if (!Number.isInteger(stride) || stride < this.width * 4) throw new RangeError(`stride ${stride} is below ${this.width * 4}`);
    if (src.length < (this.height - 1) * stride + this.width * 4) {
      throw new RangeError(`frame of ${src.length} bytes is too short for ${this.width}x${this.height} at stride ${stride}`);
    }
    const clipped = this.clip(rects);
    if (clipped.length === 0) throw new RangeError('no damaged rectangle lies within the desktop');
    const tiles = this.tilesFor(clipped).map((t) =>
      encodeTile(src, stride, this.width, this.height, t % this.cols, Math.floor(t / this.cols), this.tileQuant, this.entropy),
    );

    const fixed =
      FRAME_MARKER_SIZE * 2 + SURFACE_BITS_HEADER_SIZE + frameMessagesSize(clipped.length, this.quants.length, 0) + (this.headersSent ? 0 : HEADER_MESSAGES_SIZE);
    const groups: Buffer[][] = [];
    let group: Buffer[] = [];
    let size = fixed;
    for (const t of tiles) {
      if (group.length > 0 && size + t.length > maxUpdateSize) {
        groups.push(group);
        group = [];
        size = fixed;
      }
      group.push(t);
      size += t.length;
    }
    groups.push(group);

    const frameId = this.nextFrameId;
    this.nextFrameId = (this.nextFrameId + 1) >>> 0;
    const updates = groups.map((g, i) => {
      const parts: Buffer[] = [];
      if (i === 0) parts.push(encodeFrameMarker(SURFACECMD_FRAMEACTION_BEGIN, frameId));
      const messages: Buffer[] = [];
      if (!this.headersSent) {
        messages.push(encodeHeaderMessages(this));
        this.headersSent = true;
      }
      messages.push(
        encodeFrameMessages({
          frameIdx: this.frameIdx,
          rects: clipped,
          quants: this.quants,
          tiles: g,
          entropy: this.entropy,
          imageMode: this.imageMode,
        }),
      );
      this.frameIdx = (this.frameIdx + 1) >>> 0;
      parts.push(
        encodeSurfaceBits({
          destLeft: 0,
          destTop: 0,
          destRight: this.width,
          destBottom: this.height,
          codecId: this.codecId,
          width: this.width,
          height: this.height,
          data: Buffer.concat(messages),
        }),
      );
      if (i === groups.length - 1) parts.push(encodeFrameMarker(SURFACECMD_FRAMEACTION_END, frameId));
      return Buffer.concat(parts);
    });
    this.last = { frameId, rects: clipped, tiles: tiles.length };
    return updates;
  }

  /** The rects clipped to the desktop, empty ones dropped. */
  private clip(rects: readonly RfxRect[]): RfxRect[] {
    const out: RfxRect[] = [];
    for (const r of rects) {
      const x0 = Math.max(0, Math.floor(r.x));
      const y0 = Math.max(0, Math.floor(r.y));
      const x1 = Math.min(this.width, Math.floor(r.x + r.width));
      const y1 = Math.min(this.height, Math.floor(r.y + r.height));
      if (x1 > x0 && y1 > y0) out.push({ x: x0, y: y0, width: x1 - x0, height: y1 - y0 });
    }
    return out;
  }

  /** Indices (row-major) of the tiles the rects touch, each once, in order. */
  private tilesFor(rects: readonly RfxRect[]): number[] {
    const mask = this.tileMask;
    mask.fill(0);
    for (const r of rects) {
      const tx1 = Math.floor((r.x + r.width - 1) / TILE_SIZE);
      const ty1 = Math.floor((r.y + r.height - 1) / TILE_SIZE);
      for (let ty = Math.floor(r.y / TILE_SIZE); ty <= ty1; ty++) {
        mask.fill(1, ty * this.cols + Math.floor(r.x / TILE_SIZE), ty * this.cols + tx1 + 1);
      }
    }
    const out: number[] = [];
    for (let i = 0; i < mask.length; i++) if (mask[i]) out.push(i);
    return out;
  }
}
