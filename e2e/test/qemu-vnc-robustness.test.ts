// qemu-vnc against broken and hostile peers (raw sockets speaking bad bytes, a client that
// stops reading) while real clients keep working, one stream detail real clients rely on,
// and qemu-vnc started before the VM.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { constants as zlibConstants, inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TigerVncViewer,
  Xvfb,
  ensureQemuVncBuilt,
  freeVncDisplay,
  gvnccapture,
  startQemuVnc,
  type QemuVnc,
} from '../src/clients/index.js';
import { RawRfbClient } from '../src/clients/raw-rfb.js';
import { expectPictureConverges } from '../src/converge.js';
import { QEMU_VERSIONS, pixelAt, startRig, waitFor, type Rig } from '../src/index.js';

const RAW = 0;
const ZRLE = 16;
const CONTINUOUS_UPDATES = -313;
const MiB = 1 << 20;
const STALL_TIMEOUT_S = 6;

/** qemu-vnc's log lines about one client ("client N (…)…" and "client N: …"). */
function linesAbout(vnc: QemuVnc, mark: number, id: number): string[] {
  return vnc.logSince(mark).filter((l) => new RegExp(`client ${id}\\b`).test(l));
}

/** The id qemu-vnc gave the first client that connected after `mark`. */
function clientIdsSince(vnc: QemuVnc, mark: number): number[] {
  const ids = vnc.logSince(mark).map((l) => /client (\d+)\b/.exec(l)?.[1]);
  return [...new Set(ids.filter((x): x is string => x !== undefined).map(Number))];
}

describe.each(QEMU_VERSIONS)('qemu-vnc robustness on QEMU %s', (qemu) => {
  let rig: Rig;
  let vnc: QemuVnc;
  let display: number;
  let x: Xvfb;
  let watcher: TigerVncViewer;
  const log = () => join(rig.artifactsDir, 'clients.log');

  beforeAll(async () => {
    ensureQemuVncBuilt();
    rig = await startRig({ qemu, name: `qemu-vnc-robustness-${qemu}` });
    for (const file of ['qemu-vnc.log', 'clients.log']) writeFileSync(join(rig.artifactsDir, file), '');
    display = await freeVncDisplay();
    vnc = await startQemuVnc({
      busAddress: rig.busAddress,
      listen: `127.0.0.1:${5900 + display}`,
      websocket: '127.0.0.1:0',
      // Stalled clients are dropped after this long (default 30 s), so the test sees it happen.
      args: ['--stall-timeout', String(STALL_TIMEOUT_S)],
      log: join(rig.artifactsDir, 'qemu-vnc.log'),
    });
    x = await Xvfb.start({ log: log() });
    // A real client stays connected through every attack below.
    watcher = TigerVncViewer.start(x, {
      server: `127.0.0.1::${5900 + display}`,
      args: ['-AutoSelect=0', '-FullColor', '-PreferredEncoding=zrle'],
      log: log(),
    });
    await watcher.waitForWindow();
  });

  afterAll(async () => {
    await watcher?.stop();
    await x?.stop();
    await vnc?.stop();
    await rig?.stop();
  });

  /** qemu-vnc still runs, and both a new gvnccapture and the connected TigerVNC see the guest. */
  async function serverStillServes(name: string): Promise<void> {
    expect(vnc.alive, vnc.stderr.slice(-2000)).toBe(true);
    await expectPictureConverges(() => gvnccapture('127.0.0.1', display), () => rig.screendump(), `${name}-gvnccapture`);
    await expectPictureConverges(() => watcher.picture(), () => rig.screendump(), `${name}-tigervnc`);
    expect(watcher.proc.exitResult, watcher.output).toBeUndefined();
  }

  /**
   * Connects a raw client, lets `attack` do its worst, and expects qemu-vnc to drop it
   * with exactly one log line (besides "connected", when the handshake got that far)
   * matching `why`.
   */
  async function expectDropped(name: string, why: RegExp, attack: (c: RawRfbClient) => Promise<void>): Promise<void> {
    const mark = vnc.mark();
    const client = await RawRfbClient.connect(5900 + display);
    try {
      await attack(client);
      expect(await client.waitClosed(10_000), `qemu-vnc did not close the connection (${name})`).toBe(true);
      // The id is the newest one in the log; the watcher and gvnccapture are not running now.
      const ids = await waitFor(() => {
        const found = clientIdsSince(vnc, mark);
        return found.length > 0 ? found : undefined;
      }, { message: `a log line about the ${name} client` });
      expect(ids).toHaveLength(1);
      await sleep(300); // a second line, if any, would come right after the first
      const lines = linesAbout(vnc, mark, ids[0]).filter((l) => !/ connected, RFB/.test(l));
      expect(lines, `log lines for the ${name} client`).toHaveLength(1);
      expect(lines[0]).toMatch(why);
    } finally {
      client.destroy();
    }
    expect(vnc.alive).toBe(true);
  }

  it('drops a client whose handshake ends half-way', async () => {
    await expectDropped('truncated', /client \d+ \(127\.0\.0\.1\): disconnected/, async (c) => {
      await c.read(12);
      c.write('RFB 003');
      c.socket.end();
    });
  });

  it('drops a client that sends a garbage version string', async () => {
    await expectDropped('garbage-version', /protocol error, dropped: RFB_ERR_BAD_VERSION/, async (c) => {
      await c.read(12);
      c.write('HELLO, WORLD');
    });
  });

  it('drops a client that picks a security type it was not offered', async () => {
    await expectDropped('wrong-security', /chose security type 2, which was not offered/, async (c) => {
      await c.read(12);
      c.write('RFB 003.008\n');
      const n = (await c.read(1))[0];
      expect([...(await c.read(n))]).not.toContain(2); // no password: no VNC Authentication
      c.write(Buffer.from([2]));
      // RFB 3.8: a failed SecurityResult with a reason, then the server closes.
      expect((await c.read(4)).readUInt32BE(0)).toBe(1);
    });
  });

  it('drops a client that sends an unknown message type', async () => {
    await expectDropped('unknown-message', /protocol error, dropped: RFB_ERR_UNKNOWN_MESSAGE/, async (c) => {
      const init = await c.handshakeNone();
      expect(init.name).toBe(rig.vmName);
      c.write(Buffer.from([0xab, 1, 2, 3, 4, 5, 6, 7]));
    });
  });

  it('drops a client announcing a 2 GiB ClientCutText without waiting for it', async () => {
    await expectDropped('cut-text', /protocol error, dropped: RFB_ERR_TOO_LONG: ClientCutText of 2147483647 bytes/, async (c) => {
      await c.handshakeNone();
      const msg = Buffer.alloc(8 + 16);
      msg[0] = 6;
      msg.writeUInt32BE(0x7fffffff, 4);
      msg.write('only the start..', 8);
      c.write(msg);
    });
  });

  it('keeps one ZRLE zlib stream across a second SetEncodings, as clients expect', async () => {
    // Clients keep a ZRLE inflater for the whole connection; noVNC and TigerVNC send
    // SetEncodings again when their settings change. A server that restarted its deflate
    // stream then would send a new zlib header in the middle of the client's stream.
    const c = await RawRfbClient.connect(5900 + display);
    try {
      const { width, height } = await c.handshakeNone();
      /** The ZRLE data of one requested full update (all rectangles must be ZRLE). */
      const fullUpdate = async (): Promise<Buffer[]> => {
        c.requestUpdate(false, width, height);
        const header = await c.read(4);
        expect(header[0]).toBe(0); // FramebufferUpdate
        const datas: Buffer[] = [];
        for (let i = header.readUInt16BE(2); i > 0; i--) {
          const rect = await c.read(12);
          expect(rect.readInt32BE(8)).toBe(ZRLE);
          datas.push(await c.read((await c.read(4)).readUInt32BE(0)));
        }
        return datas;
      };
      c.setEncodings([ZRLE]);
      const first = await fullUpdate();
      expect(first[0][0] & 0x0f).toBe(8); // the stream's zlib header (CM = deflate)…
      c.setEncodings([ZRLE, -260]); // any change will do: here a pseudo-encoding
      const second = await fullUpdate();
      expect(second.length).toBeGreaterThan(0);
      // …appears once: all the data inflates as one stream, continued across both updates.
      const inflated = inflateSync(Buffer.concat([...first, ...second]), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
      // Every 64x64 tile of both updates is there: at least a subencoding byte and a CPIXEL.
      expect(inflated.length).toBeGreaterThanOrEqual(2 * Math.ceil(width / 64) * Math.ceil(height / 64) * 4);
    } finally {
      c.destroy();
    }
  });

  it('still serves a new gvnccapture and the connected TigerVNC after all that', async () => {
    await rig.guest.check('vdi-pattern 2');
    await serverStillServes('after-bad-input');
  });

  it('keeps memory bounded and others served while clients request updates and never read', async () => {
    const mark = vnc.mark();
    // One over TCP, one over WebSocket (its buffers are the ws library's, not the socket's).
    const stallers = [
      await RawRfbClient.connect(5900 + display),
      await RawRfbClient.connectWebSocket(`ws://127.0.0.1:${vnc.wsPort}`),
    ];
    const rss: number[] = [vnc.rssBytes()];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        rss.push(vnc.rssBytes());
        await sleep(250);
      }
    })();
    try {
      let size = { width: 0, height: 0 };
      for (const staller of stallers) {
        size = await staller.handshakeNone();
        // Raw: the most bytes per frame (3 MiB at 1024x768). Continuous updates: the server
        // pushes every change without waiting for requests.
        staller.setEncodings([RAW, CONTINUOUS_UPDATES]);
        staller.socket.pause(); // never read again: the buffers on the way fill up
        const enable = Buffer.alloc(10);
        enable[0] = 150;
        enable[1] = 1;
        enable.writeUInt16BE(size.width, 6);
        enable.writeUInt16BE(size.height, 8);
        staller.write(enable);
        for (let i = 0; i < 50; i++) staller.requestUpdate(false, size.width, size.height);
      }

      // The guest redraws the whole screen over and over (each vdi-pattern is ~3 MiB of damage).
      // At least 6 redraws over at least 10 s (a redraw takes 1–3 s under TCG).
      const started = Date.now();
      let frames = 0;
      while (frames < 6 || Date.now() - started < 10_000) {
        await rig.guest.check(`vdi-pattern ${frames % 8}`);
        frames++;
        for (const staller of stallers) staller.requestUpdate(false, size.width, size.height);
      }
      const peak = Math.max(...rss);
      console.info(
        `QEMU ${qemu}: ${frames} full redraws in ${((Date.now() - started) / 1000).toFixed(0)} s with two stalled clients: qemu-vnc RSS ${(rss[0] / MiB).toFixed(0)} MiB before, peak ${(peak / MiB).toFixed(0)} MiB`,
      );
      expect(peak).toBeLessThan(300 * MiB);
      // Meanwhile the others are served.
      await serverStillServes('with-stalled-clients');
      // A client that takes nothing for --stall-timeout seconds is dropped, with one line that says why.
      const ids = clientIdsSince(vnc, mark).slice(0, 2);
      expect(ids).toHaveLength(2);
      for (const id of ids) {
        await waitFor(() => linesAbout(vnc, mark, id).some((l) => /not reading its updates/.test(l)), {
          message: () => `client ${id} to be dropped as stalled; its lines: ${linesAbout(vnc, mark, id).join(' | ')}`,
          timeoutMs: (STALL_TIMEOUT_S + 20) * 1000,
        });
        const drops = linesAbout(vnc, mark, id).filter((l) => !/ connected, RFB/.test(l));
        expect(drops).toEqual([expect.stringMatching(/not reading its updates \(nothing taken for \d+ s\), dropped/)]);
      }

    } finally {
      sampling = false;
      await sampler;
      for (const staller of stallers) staller.destroy();
    }
    expect(vnc.alive).toBe(true);
  });

  // Last: stops QEMU and starts it again.
  it('shows a placeholder before the VM exists, then the guest once QEMU starts', async () => {
    await rig.stopQemu();
    const early = await startQemuVnc({
      busAddress: rig.busAddress,
      listen: `127.0.0.1:${5900 + (await freeVncDisplay())}`,
      log: join(rig.artifactsDir, 'qemu-vnc.log'),
    });
    const x2 = await Xvfb.start({ log: log() });
    let viewer: TigerVncViewer | undefined;
    try {
      const placeholder = await gvnccapture('127.0.0.1', early.port - 5900);
      expect([placeholder.width, placeholder.height]).toEqual([800, 600]);
      // A dark background (#1d232a) with light text on it, not a black screen.
      expect(pixelAt(placeholder, 0, 0)).toEqual([0x1d, 0x23, 0x2a]);
      let light = 0;
      for (let i = 0; i < placeholder.rgba.length; i += 4) if (placeholder.rgba[i] > 0x80) light++;
      expect(light).toBeGreaterThan(100);

      viewer = TigerVncViewer.start(x2, {
        server: `127.0.0.1::${early.port}`,
        args: ['-AutoSelect=0', '-FullColor', '-PreferredEncoding=zrle'],
        log: log(),
      });
      const win = await viewer.waitForWindow();
      expect([win.width, win.height]).toEqual([800, 600]);

      await rig.startQemu();
      const v = viewer;
      await v.waitForSize(1024, 768, 30_000);
      await rig.guest.check('vdi-pattern 9');
      await expectPictureConverges(() => v.picture(), () => rig.screendump(), 'vm-started-tigervnc');
      expect(v.proc.exitResult, v.output).toBeUndefined();
    } finally {
      await viewer?.stop();
      await x2.stop();
      await early.stop();
    }
  });
});
