// A VNC client's resize request (RFB SetDesktopSize) through qemu-vnc to QEMU and the guest:
// qemu-vnc turns it into org.qemu.Display1.Console.SetUIInfo; virtio-vga passes the size on
// to the guest's virtio_gpu driver, which makes it its connector's preferred mode. The
// client is the raw RFB peer (e2e/src/clients/raw-rfb.ts), so every byte of the answer (the
// ExtendedDesktopSize rectangle's reason and status) is checked; then TigerVNC's vncviewer
// with -RemoteResize does the same when its window is resized. With the std VGA, which takes
// no size requests, the same request is refused instead.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TigerVncViewer, Xvfb, ensureQemuVncBuilt, startQemuVnc, type QemuVnc } from '../src/clients/index.js';
import { RawRfbClient } from '../src/clients/raw-rfb.js';
import { QEMU_VERSIONS, startRig, waitFor, type Rig } from '../src/index.js';

const RAW = 0;
const EXTENDED_DESKTOP_SIZE = -308;
const SET_DESKTOP_SIZE = 251;
const REASON_SERVER = 0;
const REASON_THIS_CLIENT = 1;
const STATUS_NO_ERROR = 0;
const STATUS_PROHIBITED = 1;
const STATUS_INVALID_LAYOUT = 3;

interface DesktopSizeRect {
  reason: number;
  status: number;
  width: number;
  height: number;
  screens: Array<{ id: number; x: number; y: number; width: number; height: number }>;
}

/**
 * Reads the server's messages in the background (raw encoding and ExtendedDesktopSize only
 * were asked for), asks for the next update after each one, and records every
 * ExtendedDesktopSize rectangle.
 */
class ResizeClient {
  readonly desktopSizes: DesktopSizeRect[] = [];
  width = 0;
  height = 0;
  private bytesPerPixel = 4;
  private pump: Promise<void> | undefined;
  private failure: Error | undefined;
  private stopping = false;

  private constructor(readonly rfb: RawRfbClient) {}

  static async connect(port: number): Promise<ResizeClient> {
    const client = new ResizeClient(await RawRfbClient.connect(port));
    const init = await client.rfb.handshakeNone();
    client.width = init.width;
    client.height = init.height;
    client.bytesPerPixel = init.bitsPerPixel / 8;
    client.rfb.setEncodings([RAW, EXTENDED_DESKTOP_SIZE]);
    client.rfb.requestUpdate(false, client.width, client.height);
    client.pump = client.readMessages();
    return client;
  }

  /** SetDesktopSize (rfbproto "SetDesktopSize"): one screen, id 0, covering the desktop. */
  setDesktopSize(width: number, height: number): void {
    const msg = Buffer.alloc(8 + 16);
    msg[0] = SET_DESKTOP_SIZE;
    msg.writeUInt16BE(width, 2);
    msg.writeUInt16BE(height, 4);
    msg[6] = 1; // number-of-screens
    msg.writeUInt32BE(0, 8); // id
    msg.writeUInt16BE(width, 16);
    msg.writeUInt16BE(height, 18);
    this.rfb.write(msg);
  }

  /** The first ExtendedDesktopSize rectangle from index `from` on that `match` accepts. */
  async waitDesktopSize(from: number, match: (r: DesktopSizeRect) => boolean, what: string, timeoutMs = 15_000): Promise<DesktopSizeRect> {
    return waitFor(
      () => {
        if (this.failure) throw this.failure;
        return this.desktopSizes.slice(from).find(match);
      },
      { message: () => `${what}; ExtendedDesktopSize seen: ${JSON.stringify(this.desktopSizes)}${this.failure ? `; ${this.failure.message}` : ''}`, timeoutMs, intervalMs: 50 },
    );
  }

  async close(): Promise<void> {
    this.stopping = true;
    this.rfb.destroy();
    await this.pump;
  }

  private async readMessages(): Promise<void> {
    const forever = 24 * 3600_000;
    try {
      for (;;) {
        const type = (await this.rfb.read(1, forever))[0];
        if (type === 0) {
          const count = (await this.rfb.read(3, forever)).readUInt16BE(1);
          for (let i = 0; i < count; i++) await this.readRect();
          this.rfb.requestUpdate(true, this.width, this.height);
        } else if (type === 2) {
          // Bell: nothing more.
        } else if (type === 3) {
          const length = (await this.rfb.read(7, forever)).readUInt32BE(3);
          await this.rfb.read(length, forever);
        } else {
          throw new Error(`unexpected server message type ${type}`);
        }
      }
    } catch (err) {
      if (!this.stopping) this.failure = err instanceof Error ? err : new Error(String(err));
    }
  }

  private async readRect(): Promise<void> {
    const forever = 24 * 3600_000;
    const header = await this.rfb.read(12, forever);
    const [x, y, w, h] = [0, 2, 4, 6].map((at) => header.readUInt16BE(at));
    const encoding = header.readInt32BE(8);
    if (encoding === RAW) {
      await this.rfb.read(w * h * this.bytesPerPixel, forever);
    } else if (encoding === EXTENDED_DESKTOP_SIZE) {
      const count = (await this.rfb.read(4, forever))[0];
      const data = await this.rfb.read(16 * count, forever);
      const screens = Array.from({ length: count }, (_, i) => ({
        id: data.readUInt32BE(16 * i),
        x: data.readUInt16BE(16 * i + 4),
        y: data.readUInt16BE(16 * i + 6),
        width: data.readUInt16BE(16 * i + 8),
        height: data.readUInt16BE(16 * i + 10),
      }));
      // x is the reason, y the status; the size is the desktop's (new or unchanged).
      this.desktopSizes.push({ reason: x, status: y, width: w, height: h, screens });
      this.width = w;
      this.height = h;
    } else {
      throw new Error(`unexpected rectangle encoding ${encoding}`);
    }
  }
}

/** The guest's virtio GPU connector: status and modes, preferred first (`vdi-drm-modes`). */
async function drmModes(rig: Rig): Promise<{ status: string; modes: string[] }> {
  const out = await rig.guest.check('vdi-drm-modes');
  const status = /^CONNECTOR (\S+)$/m.exec(out)?.[1] ?? '';
  const modes = [...out.matchAll(/^MODE (\S+)$/gm)].map((m) => m[1]);
  return { status, modes };
}

describe.each(QEMU_VERSIONS)('qemu-vnc resize requests on QEMU %s', (qemu) => {
  let rig: Rig | undefined;
  let vnc: QemuVnc | undefined;
  let client: ResizeClient | undefined;
  let x: Xvfb | undefined;

  beforeAll(() => {
    ensureQemuVncBuilt();
  });

  afterEach(async () => {
    await client?.close();
    client = undefined;
    await x?.stop();
    x = undefined;
    const result = await vnc?.stop();
    vnc = undefined;
    await rig?.stop();
    rig = undefined;
    // SIGTERM is a clean shutdown (exit code 0, see qemu-vnc --help).
    expect(result?.code).toBe(0);
  });

  afterAll(async () => {
    await client?.close();
    await x?.stop();
    await vnc?.stop();
    await rig?.stop();
  });

  /** The first ExtendedDesktopSize: the layout, answering the first (non-incremental) request. */
  async function expectInitialLayout(c: ResizeClient): Promise<void> {
    const layout = await c.waitDesktopSize(0, () => true, 'the layout after the first non-incremental update request');
    expect(layout).toMatchObject({ reason: REASON_SERVER, status: STATUS_NO_ERROR });
    expect(layout.screens).toEqual([{ id: 0, x: 0, y: 0, width: layout.width, height: layout.height }]);
  }

  /** Polls the guest until its connector's preferred mode is `size` (`<w>x<h>`). */
  async function expectPreferredMode(rig: Rig, size: string): Promise<void> {
    let last: { status: string; modes: string[] } | undefined;
    await waitFor(
      async () => {
        last = await drmModes(rig);
        return last.modes[0] === size;
      },
      { message: () => `the guest's preferred mode to become ${size}; last: ${JSON.stringify(last)}`, timeoutMs: 20_000, intervalMs: 250 },
    );
    expect(last?.status).toBe('connected');
  }

  async function start(options: { vga: 'std' | 'virtio'; name: string; waitReady: boolean }): Promise<{ rig: Rig; vnc: QemuVnc }> {
    rig = await startRig({ qemu, vga: options.vga, name: options.name, waitReady: options.waitReady });
    writeFileSync(join(rig.artifactsDir, 'qemu-vnc.log'), '');
    vnc = await startQemuVnc({
      busAddress: rig.busAddress,
      listen: '127.0.0.1:0',
      env: { QEMU_VNC_VERBOSE: '1' },
      log: join(rig.artifactsDir, 'qemu-vnc.log'),
    });
    return { rig, vnc };
  }

  it('with virtio-vga, SetDesktopSize (raw client, then TigerVNC -RemoteResize) becomes the guest connector\'s preferred mode; status 0', async () => {
    const { rig, vnc } = await start({ vga: 'virtio', name: `qemu-vnc-resize-virtio-${qemu}`, waitReady: true });
    // virtio-vga is VGA compatible: the boot-time vesafb (vga=0x318) works as with std VGA.
    expect(await rig.guest.check('vdi-fbinfo')).toBe('FB 1024 768 24 3072 VESA VGA\n');
    const before = await rig.guest.check('vdi-virtio-gpu');
    expect(before).toMatch(/^CONNECTOR connected$/m);
    const initial = (await drmModes(rig)).modes[0];
    expect(initial).toBeDefined();

    client = await ResizeClient.connect(vnc.port);
    await expectInitialLayout(client);
    for (const [width, height] of [
      [900, 700],
      [1152, 864],
    ]) {
      const size = `${width}x${height}`;
      expect(size).not.toBe(initial);
      const from = client.desktopSizes.length;
      client.setDesktopSize(width, height);
      const answer = await client.waitDesktopSize(from, (r) => r.reason === REASON_THIS_CLIENT, `the answer to SetDesktopSize ${size}`);
      expect(answer.status).toBe(STATUS_NO_ERROR);
      // The answer carries the desktop as it is (the guest resizes later, if at all).
      expect(answer.screens).toHaveLength(1);
      expect(answer.screens[0]).toMatchObject({ id: 0, x: 0, y: 0, width: answer.width, height: answer.height });
      await expectPreferredMode(rig, size);
    }
    await client.close();
    client = undefined;

    // TigerVNC asks for its window's size (after 0.5 s without further resizes) once the
    // server has shown, with an ExtendedDesktopSize rectangle, that it takes SetDesktopSize.
    const log = join(rig.artifactsDir, 'clients.log');
    writeFileSync(log, '');
    x = await Xvfb.start({ log });
    const viewer = TigerVncViewer.start(x, { server: `127.0.0.1::${vnc.port}`, args: ['-RemoteResize=1'], log });
    try {
      const win = await viewer.waitForWindow();
      await x.xdotool(['windowsize', '--sync', win.id, '1000', '740']);
      await expectPreferredMode(rig, '1000x740');
      expect(viewer.proc.exitResult, viewer.output).toBeUndefined();
    } finally {
      await viewer.stop();
    }
    expect(vnc.alive).toBe(true);
  });

  it('with the std VGA (no size requests), SetDesktopSize is refused, not left unanswered', async () => {
    // Only QEMU's D-Bus display matters here, not the guest.
    const { vnc } = await start({ vga: 'std', name: `qemu-vnc-resize-std-${qemu}`, waitReady: false });
    client = await ResizeClient.connect(vnc.port);
    await expectInitialLayout(client);
    const from = client.desktopSizes.length;
    client.setDesktopSize(900, 700);
    const answer = await client.waitDesktopSize(from, (r) => r.reason === REASON_THIS_CLIENT, 'the answer to SetDesktopSize 900x700');
    expect([STATUS_PROHIBITED, STATUS_INVALID_LAYOUT]).toContain(answer.status);
    expect(client.desktopSizes.slice(from).every((r) => r.reason === REASON_SERVER || r === answer)).toBe(true);
    expect(vnc.alive).toBe(true);
  });
});
