// qemu-vnc sends what the guest scrolled as CopyRect (RFC 6143 §7.7.2) to clients that list
// it: display-core finds the move in QEMU's updates, and the client copies part of the
// picture it already has instead of receiving those pixels again. The picture must stay
// exact — in TigerVNC's vncviewer, and in a minimal decoder of our own that counts what it
// gets — and a client that does not list CopyRect must never get one.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureQemuVncBuilt, freeVncDisplay, metricSample, startQemuVnc, TigerVncViewer, Xvfb, type QemuVnc } from '../src/clients/index.js';
import { RawRfbClient } from '../src/clients/raw-rfb.js';
import { expectPictureConverges } from '../src/converge.js';
import type { Image } from '../src/images.js';
import { QEMU_VERSIONS, startRig, waitFor, type Rig } from '../src/index.js';

/** Encoding numbers (RFC 6143 §7.7). */
const RAW = 0;
const COPYRECT = 1;

/** Server-to-client message types (RFC 6143 §7.6). */
const FRAMEBUFFER_UPDATE = 0;
const BELL = 2;
const SERVER_CUT_TEXT = 3;

/** Lines scrolled on the guest's console at a pace of a few per display refresh, so each scroll is its own update. */
const PACED_SCROLL = 'i=0; while [ $i -lt 60 ]; do echo "paced scroll line $i"; i=$((i+1)); usleep 40000; done >/dev/tty1';

/**
 * An RFB client that asks for Raw pixels (and CopyRect, when listed) in the server's own
 * pixel format (32 bpp, little-endian B,G,R,X), keeps the picture they make and asks for
 * the next update as soon as one has arrived — a viewer that never falls behind.
 */
class RawPictureViewer {
  readonly picture: Image;
  /** CopyRect rectangles received. */
  copies = 0;
  updates = 0;
  private failure: Error | undefined;
  private stopped = false;
  private readonly loop: Promise<void>;

  private constructor(
    private readonly client: RawRfbClient,
    width: number,
    height: number,
    encodings: number[],
  ) {
    this.picture = { width, height, rgba: Buffer.alloc(width * height * 4, 0xff) };
    client.setEncodings(encodings);
    client.requestUpdate(false, width, height);
    this.loop = this.receive().catch((err: Error) => {
      if (!this.stopped) this.failure = err;
    });
  }

  static async connect(port: number, encodings: number[]): Promise<RawPictureViewer> {
    const client = await RawRfbClient.connect(port);
    const init = await client.handshakeNone();
    if (init.bitsPerPixel !== 32) throw new Error(`server pixel format has ${init.bitsPerPixel} bpp, expected 32`);
    return new RawPictureViewer(client, init.width, init.height, encodings);
  }

  /** The picture so far; throws what went wrong if the connection failed. */
  current(): Image {
    if (this.failure) throw this.failure;
    return this.picture;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.client.destroy();
    await this.loop;
  }

  private async receive(): Promise<void> {
    const { width, height } = this.picture;
    for (;;) {
      const type = (await this.client.read(1, 600_000))[0];
      switch (type) {
        case FRAMEBUFFER_UPDATE: {
          // U8 padding, U16 number-of-rectangles (§7.6.1)
          const count = (await this.client.read(3)).readUInt16BE(1);
          for (let i = 0; i < count; i++) await this.rectangle();
          this.updates++;
          this.client.requestUpdate(true, width, height);
          break;
        }
        case BELL:
          break;
        case SERVER_CUT_TEXT: {
          // 3 bytes padding, U32 length, text (§7.6.4)
          const length = (await this.client.read(7)).readUInt32BE(3);
          await this.client.read(length);
          break;
        }
        default:
          throw new Error(`unexpected server message type ${type}`);
      }
    }
  }

  /** One rectangle: U16 x, y, width, height, S32 encoding-type (§7.6.1), then its data. */
  private async rectangle(): Promise<void> {
    const header = await this.client.read(12);
    const x = header.readUInt16BE(0);
    const y = header.readUInt16BE(2);
    const w = header.readUInt16BE(4);
    const h = header.readUInt16BE(6);
    const encoding = header.readInt32BE(8);
    const { width, height, rgba } = this.picture;
    if (x + w > width || y + h > height) throw new Error(`rectangle ${w}x${h}+${x}+${y} outside the ${width}x${height} desktop`);
    if (encoding === RAW) {
      // §7.7.1: w*h pixels, row by row, here B,G,R,X.
      const pixels = await this.client.read(w * h * 4);
      for (let row = 0; row < h; row++) {
        for (let col = 0; col < w; col++) {
          const from = (row * w + col) * 4;
          const to = ((y + row) * width + x + col) * 4;
          rgba[to] = pixels[from + 2];
          rgba[to + 1] = pixels[from + 1];
          rgba[to + 2] = pixels[from];
          rgba[to + 3] = 0xff;
        }
      }
    } else if (encoding === COPYRECT) {
      // §7.7.2: U16 src-x-position, U16 src-y-position; the source is read before any of the destination is written.
      const source = await this.client.read(4);
      const srcX = source.readUInt16BE(0);
      const srcY = source.readUInt16BE(2);
      if (srcX + w > width || srcY + h > height) throw new Error(`CopyRect source ${w}x${h}+${srcX}+${srcY} outside the desktop`);
      const copied = Buffer.alloc(w * h * 4);
      for (let row = 0; row < h; row++) rgba.copy(copied, row * w * 4, ((srcY + row) * width + srcX) * 4, ((srcY + row) * width + srcX + w) * 4);
      for (let row = 0; row < h; row++) copied.copy(rgba, ((y + row) * width + x) * 4, row * w * 4, (row + 1) * w * 4);
      this.copies++;
    } else {
      throw new Error(`rectangle with encoding ${encoding}, which this client did not list`);
    }
  }
}

describe.each(QEMU_VERSIONS)('qemu-vnc CopyRect on QEMU %s', (qemu) => {
  let rig: Rig;
  let vnc: QemuVnc;
  let display: number;
  let x: Xvfb;
  const log = () => join(rig.artifactsDir, 'clients.log');

  /** CopyRect rectangles the server has sent so far, all clients (its /metrics). */
  const copyRectsSent = (): Promise<number> => metricSample(vnc.httpUrl, 'vdi_encode_seconds_count{protocol="vnc",encoding="copyrect"}');

  /** A full pattern (no text on it), then console text scrolled fast and then line by line. */
  const scrollTheConsole = async (): Promise<void> => {
    await rig.guest.check('vdi-pattern 3 >/dev/null');
    await rig.guest.check('(clear; seq 1 400) >/dev/tty1');
    await rig.guest.check(PACED_SCROLL);
  };

  beforeAll(async () => {
    ensureQemuVncBuilt();
    rig = await startRig({ qemu, name: `qemu-vnc-copyrect-${qemu}` });
    for (const file of ['qemu-vnc.log', 'clients.log']) writeFileSync(join(rig.artifactsDir, file), '');
    display = await freeVncDisplay();
    vnc = await startQemuVnc({
      busAddress: rig.busAddress,
      listen: `127.0.0.1:${5900 + display}`,
      http: '127.0.0.1:0', // /metrics
      log: join(rig.artifactsDir, 'qemu-vnc.log'),
    });
    x = await Xvfb.start({ log: log() });
  });

  afterAll(async () => {
    await x?.stop();
    const result = await vnc?.stop();
    await rig?.stop();
    expect(result?.code).toBe(0);
  });

  it('TigerVNC vncviewer (lists CopyRect) gets scrolled console text as CopyRects and shows it exactly', async () => {
    const before = await copyRectsSent();
    const viewer = TigerVncViewer.start(x, {
      server: `127.0.0.1::${5900 + display}`,
      args: ['-AutoSelect=0', '-FullColor', '-PreferredEncoding=zrle'],
      log: log(),
    });
    try {
      await viewer.waitForWindow();
      await expectPictureConverges(() => viewer.picture(), () => rig.screendump(), 'copyrect-tigervnc-start');
      await scrollTheConsole();
      await expectPictureConverges(() => viewer.picture(), () => rig.screendump(), 'copyrect-tigervnc-scrolled');
      expect(await copyRectsSent()).toBeGreaterThan(before);
      expect(viewer.proc.exitResult, viewer.output).toBeUndefined();
    } finally {
      await viewer.stop();
    }
  });

  it.each([
    { name: 'Raw and CopyRect', encodings: [COPYRECT, RAW], getsCopies: true },
    { name: 'Raw only', encodings: [RAW], getsCopies: false },
  ])('a client listing $name keeps an exact picture while the console scrolls', async ({ name, encodings, getsCopies }) => {
    const before = await copyRectsSent();
    const viewer = await RawPictureViewer.connect(vnc.port, encodings);
    try {
      await expectPictureConverges(() => viewer.current(), () => rig.screendump(), `copyrect-raw-${name}-start`);
      await scrollTheConsole();
      await expectPictureConverges(() => viewer.current(), () => rig.screendump(), `copyrect-raw-${name}-scrolled`);
      if (getsCopies) {
        expect(viewer.copies).toBeGreaterThan(0);
      } else {
        expect(viewer.copies).toBe(0);
      }
      // The only client connected: what the server counted is what this one received (once
      // the last update has arrived).
      await waitFor(async () => ((await copyRectsSent()) - before === viewer.copies ? true : undefined), {
        message: `the server's CopyRect count to equal the ${viewer.copies} the client received`,
        timeoutMs: 5000,
      });
    } finally {
      await viewer.stop();
    }
  });
});
