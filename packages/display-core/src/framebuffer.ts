// The mirror of one console's screen: a B,G,R,X buffer kept equal to QEMU's surface,
// plus damage that each consumer pulls at its own pace (see damage.ts). QEMU has no
// flow control, so every message is applied at once and only coalesced damage is kept.
import { EventEmitter } from 'node:events';
import { closeSync, readSync } from 'node:fs';
import { compareRect, DamageTracker, type Rect } from './damage.js';
import { findVerticalScroll } from './scroll.js';
import { copyToBgrx, isPixmanFormatSupported, PIXMAN_A8R8G8B8 } from './pixman-format.js';
import { PIXMAN_x8r8g8b8 } from './pixel-format.js';
import { DMABUF_REFUSAL, type ListenerSink } from './dbus/listener.js';

export interface Cursor {
  width: number;
  height: number;
  hotX: number;
  hotY: number;
  /** width×height pixels, B,G,R,A bytes (QEMU's cursor is premultiplied-free ARGB32). */
  data: Buffer;
}

export interface PointerState {
  x: number;
  y: number;
  visible: boolean;
}

export type FrameTransport = 'none' | 'inline' | 'shared-memory';

export interface FramebufferEvents {
  /** QEMU announced a (new) surface: every Scanout/ScanoutMap, resized or not, once applied. */
  scanout: [width: number, height: number, transport: FrameTransport];
  resize: [width: number, height: number];
  cursor: [cursor: Cursor];
  pointer: [pointer: PointerState];
  disable: [];
  error: [message: string];
}

const BYTES_PER_PIXEL = 4;

export class Framebuffer extends EventEmitter<FramebufferEvents> implements ListenerSink {
  width = 0;
  height = 0;
  /** B,G,R,X, rows of width*4 bytes. */
  data: Buffer = Buffer.alloc(0);
  readonly damage = new DamageTracker();
  cursor: Cursor | undefined;
  pointer: PointerState = { x: 0, y: 0, visible: true };
  /** How the pixels of the last scanout arrived: asserted by tests of QEMU ≥ 9.2. */
  transport: FrameTransport = 'none';
  /** Messages and bytes received from QEMU, for `watch` and benchmarks. */
  readonly stats = { messages: 0, bytes: 0, damagedPixels: 0, copies: 0 };

  private mapFd: number | undefined;
  private mapOffset = 0;
  private mapStride = 0;
  private mapFormat = PIXMAN_x8r8g8b8;
  private scratch: Buffer = Buffer.alloc(0);

  get stride(): number {
    return this.width * BYTES_PER_PIXEL;
  }

  /** Whether a screen has been received since the console was attached. */
  get hasFrame(): boolean {
    return this.transport !== 'none' && this.width > 0;
  }

  scanout(width: number, height: number, stride: number, format: number, data: Buffer): void {
    this.closeMap();
    this.transport = 'inline';
    this.stats.messages++;
    this.stats.bytes += data.length;
    if (!this.checkFormat(format) || !this.checkSize(width, height, stride, format, data.length)) return;
    if (this.resizeIfNeeded(width, height)) copyToBgrx(format, data, stride, width, height, this.data, 0, this.stride);
    else this.applyCompared(0, 0, width, height, format, data, stride);
    this.emit('scanout', width, height, this.transport);
  }

  update(x: number, y: number, width: number, height: number, stride: number, format: number, data: Buffer): void {
    this.stats.messages++;
    this.stats.bytes += data.length;
    if (!this.checkFormat(format)) return;
    const r = this.clip(x, y, width, height);
    if (!r || data.length < (height - 1) * stride + width * bytesPerPixelOf(format)) return;
    // The update's own rows start at its top-left corner; skip what clipping removed.
    const skip = (r.y - y) * stride + (r.x - x) * bytesPerPixelOf(format);
    this.applyCompared(r.x, r.y, r.w, r.h, format, data.subarray(skip), stride);
  }

  scanoutMap(fd: number, offset: number, width: number, height: number, stride: number, format: number): void {
    this.closeMap();
    this.mapFd = fd;
    this.mapOffset = offset;
    this.mapStride = stride;
    this.mapFormat = format;
    this.transport = 'shared-memory';
    this.stats.messages++;
    if (!this.checkFormat(format) || !this.checkSize(width, height, stride, format, Infinity)) return;
    const resized = this.resizeIfNeeded(width, height);
    this.readMapped(0, 0, width, height, resized);
    this.emit('scanout', width, height, this.transport);
  }

  updateMap(x: number, y: number, width: number, height: number): void {
    this.stats.messages++;
    const r = this.clip(x, y, width, height);
    if (r && this.mapFd !== undefined) this.readMapped(r.x, r.y, r.w, r.h, false);
  }

  disable(): void {
    this.emit('disable');
  }

  cursorDefine(width: number, height: number, hotX: number, hotY: number, data: Buffer): void {
    if (width <= 0 || height <= 0 || width > 512 || height > 512 || data.length < width * height * 4) return;
    this.cursor = { width, height, hotX, hotY, data: Buffer.from(data.subarray(0, width * height * 4)) };
    this.emit('cursor', this.cursor);
  }

  mouseSet(x: number, y: number, visible: boolean): void {
    this.pointer = { x, y, visible };
    this.emit('pointer', this.pointer);
  }

  dmabufOffered(): void {
    this.emit('error', DMABUF_REFUSAL);
  }

  /** Forgets the screen (the VM left); consumers see a resize when the next one arrives. */
  reset(): void {
    this.closeMap();
    this.transport = 'none';
  }

  /**
   * Shows a picture of our own (B,G,R,X, tightly packed) while there is no VM: consumers
   * see it like any screen, and the VM's first scanout replaces it.
   */
  showPlaceholder(data: Buffer, width: number, height: number): void {
    this.reset();
    if (this.resizeIfNeeded(width, height)) data.copy(this.data, 0, 0, width * height * BYTES_PER_PIXEL);
    else this.applyCompared(0, 0, width, height, PIXMAN_x8r8g8b8, data, width * BYTES_PER_PIXEL);
  }

  private readMapped(x: number, y: number, w: number, h: number, fresh: boolean): void {
    const fd = this.mapFd;
    if (fd === undefined) return;
    // One pread of the whole band of rows: a few hundred µs for 8 MB.
    const length = (h - 1) * this.mapStride + this.width * bytesPerPixelOf(this.mapFormat);
    const band = this.scratchOf(length);
    const bandStart = this.mapOffset + y * this.mapStride;
    try {
      readSync(fd, band, 0, length, bandStart);
    } catch (err) {
      this.emit('error', `reading the shared framebuffer failed: ${(err as Error).message}`);
      return;
    }
    this.stats.bytes += length;
    const rowsFromX = band.subarray(x * bytesPerPixelOf(this.mapFormat));
    if (fresh) copyToBgrx(this.mapFormat, rowsFromX, this.mapStride, w, h, this.data, (y * this.width + x) * 4, this.stride);
    else this.applyCompared(x, y, w, h, this.mapFormat, rowsFromX, this.mapStride);
  }

  /**
   * Applies new pixels for the rectangle (x,y,w,h) and reports only the tiles that really
   * changed: guests that redraw everything would otherwise make every consumer re-encode
   * the whole screen 30 times a second.
   */
  private applyCompared(x: number, y: number, w: number, h: number, format: number, src: Buffer, srcStride: number): void {
    let incoming = src;
    let incomingStride = srcStride;
    if (format !== PIXMAN_x8r8g8b8 && format !== PIXMAN_A8R8G8B8) {
      incoming = this.scratchOf(w * h * 4);
      incomingStride = w * 4;
      copyToBgrx(format, src, srcStride, w, h, incoming, 0, incomingStride);
    }
    const changed = compareRect(this.data, this.stride, incoming, incomingStride, { x, y, w, h });
    // Looked for before the new pixels overwrite the rows the band came from.
    const scroll = changed.length && this.damage.wantsCopies ? findVerticalScroll(this.data, this.stride, this.height, incoming, incomingStride, { x, y, w, h }, changed) : undefined;
    for (const r of changed) {
      const from = (r.y - y) * incomingStride + (r.x - x) * 4;
      const rowBytes = r.w * 4;
      for (let row = 0; row < r.h; row++) {
        const s = from + row * incomingStride;
        incoming.copy(this.data, (r.y + row) * this.stride + r.x * 4, s, s + rowBytes);
      }
      this.stats.damagedPixels += r.w * r.h;
    }
    if (scroll) {
      this.stats.copies++;
      this.damage.addCopy(scroll.copy, scroll.rest);
    } else if (changed.length) this.damage.addDamage(changed);
  }

  private resizeIfNeeded(width: number, height: number): boolean {
    if (width === this.width && height === this.height && this.data.length) return false;
    this.width = width;
    this.height = height;
    this.data = Buffer.alloc(width * height * BYTES_PER_PIXEL);
    this.damage.resize(width, height);
    this.emit('resize', width, height);
    return true;
  }

  private clip(x: number, y: number, w: number, h: number): Rect | undefined {
    const x0 = Math.max(0, x);
    const y0 = Math.max(0, y);
    const x1 = Math.min(this.width, x + w);
    const y1 = Math.min(this.height, y + h);
    return x1 > x0 && y1 > y0 ? { x: x0, y: y0, w: x1 - x0, h: y1 - y0 } : undefined;
  }

  private checkFormat(format: number): boolean {
    if (isPixmanFormatSupported(format)) return true;
    this.emit('error', `QEMU sent pixels in pixman format 0x${format.toString(16)}, which is not supported`);
    return false;
  }

  private checkSize(width: number, height: number, stride: number, format: number, available: number): boolean {
    const ok =
      width > 0 && height > 0 && width <= 16384 && height <= 16384 &&
      stride >= width * bytesPerPixelOf(format) && available >= (height - 1) * stride + width * bytesPerPixelOf(format);
    if (!ok) this.emit('error', `QEMU sent an inconsistent scanout ${width}x${height} stride ${stride}`);
    return ok;
  }

  private scratchOf(length: number): Buffer {
    if (this.scratch.length < length) this.scratch = Buffer.allocUnsafe(length);
    return this.scratch;
  }

  private closeMap(): void {
    if (this.mapFd !== undefined) {
      try {
        closeSync(this.mapFd);
      } catch {
        // already closed with the link
      }
      this.mapFd = undefined;
    }
  }
}

function bytesPerPixelOf(format: number): number {
  return (format >>> 24) / 8;
}
