// qemu-rdp sends what the guest scrolled as copies, to FreeRDP's xfreerdp against real QEMU:
// display-core finds the area that moved, and the session draws it on the client as a ScrBlt
// primary drawing order (fast-path output, MS-RDPEGDI 2.2.2.2.1.1.2.7) or, with /gfx, as an
// RDPGFX_SURFACE_TO_SURFACE_PDU (MS-RDPEGFX 2.2.2.5), before the bitmaps of the same update.
// With text scrolling on the guest's console the picture in xfreerdp's window must still equal
// QMP's screendump exactly, and /metrics must show that copies were sent. Areas of one colour
// go as OpaqueRect orders (MS-RDPEGDI 2.2.2.2.1.1.2.5) on the fast path: a console cleared to
// blue must look blue, not red.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XFreeRdp, Xvfb, ensureQemuRdpBuilt, metricSample, plainPasswordFile, startQemuRdp, type QemuRdp } from '../src/clients/index.js';
import { expectPictureConverges } from '../src/converge.js';
import { QEMU_VERSIONS, startRig, type Rig } from '../src/index.js';

const USER = 'alice';
const PASSWORD = 'correct horse';

/** The two outputs and how each counts its copies in /metrics (vdi_encode_seconds_count's encoding). */
const variants = [
  { name: 'fast-path output: ScrBlt orders', tag: 'fastpath', args: ['/bpp:32'], encoding: 'scrblt', pattern: 3 },
  { name: 'graphics pipeline (/gfx): SURFACE_TO_SURFACE', tag: 'gfx', args: ['/bpp:32', '/gfx'], encoding: 'gfx-surface-to-surface', pattern: 4 },
];

describe.each(QEMU_VERSIONS)('qemu-rdp sends scrolled areas as copies to xfreerdp on QEMU %s', (qemu) => {
  let rig: Rig;
  let rdp: QemuRdp;
  let x: Xvfb;
  const log = () => join(rig.artifactsDir, 'clients.log');

  beforeAll(async () => {
    ensureQemuRdpBuilt();
    rig = await startRig({ qemu, name: `qemu-rdp-copy-${qemu}` });
    for (const file of ['qemu-rdp.log', 'clients.log']) writeFileSync(join(rig.artifactsDir, file), '');
    const passwordFile = await plainPasswordFile(rig.artifactsDir, 'rdp-password', PASSWORD);
    rdp = await startQemuRdp({
      busAddress: rig.busAddress,
      args: ['--username', USER, '--password-file', passwordFile],
      http: '127.0.0.1:0', // /metrics: the copies sent
      env: { QEMU_RDP_VERBOSE: '1' },
      log: join(rig.artifactsDir, 'qemu-rdp.log'),
    });
    x = await Xvfb.start({ log: log() });
  });

  afterAll(async () => {
    await x?.stop();
    const result = await rdp?.stop();
    await rig?.stop();
    expect(result?.code).toBe(0);
  });

  /** Copies or fills the server sent so far with this encoding (0 while the series does not exist). */
  const copiesSent = (encoding: string): Promise<number> => metricSample(rdp.httpUrl, `vdi_encode_seconds_count{protocol="rdp",encoding="${encoding}"}`);

  it.each(variants)('$name: text scrolling on the console reaches xfreerdp exactly, partly as copies', async ({ tag, args, encoding, pattern }) => {
    await rig.guest.check(`vdi-pattern ${pattern} >/dev/null`);
    const mark = rdp.mark();
    const client = XFreeRdp.start(x, { server: `${rdp.host}:${rdp.port}`, username: USER, password: PASSWORD, args, log: log() });
    try {
      await rdp.waitForLog(/active: 1024x768, 32 bpp/, mark);
      if (args.includes('/gfx')) await rdp.waitForLog(/screen output through the graphics pipeline/, mark);
      else await rdp.waitForLog(/capabilities: 32 bpp, compressed bitmaps, ScrBlt/, mark);
      const win = await client.waitForWindow();
      expect({ width: win.width, height: win.height }).toEqual({ width: 1024, height: 768 });
      // The whole screen first: the client's picture is the guest's before anything scrolls.
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), `xfreerdp-copy-${tag}-start`);
      const before = await copiesSent(encoding);

      await rig.guest.check('(clear; seq 1 400) >/dev/tty1');
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), `xfreerdp-copy-${tag}-scrolled`);
      // Then line by line, each scroll on its own: most of them should go as copies.
      await rig.guest.check('(for i in $(seq 401 440); do echo $i; sleep 0.05; done) >/dev/tty1');
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), `xfreerdp-copy-${tag}-scrolled-slowly`);

      const after = await copiesSent(encoding);
      expect(after, `copies sent (${encoding}) before the scrolling: ${before}, after: ${after}`).toBeGreaterThan(before);
      const logged = rdp.logSince(mark);
      expect(logged.some((l) => /protocol error|internal error/.test(l))).toBe(false);
      expect(client.proc.exitResult, client.output).toBeUndefined();
    } finally {
      await client.stop();
    }
  });

  it('fast-path output: a console cleared to one colour reaches xfreerdp exactly, as OpaqueRect fills', async () => {
    await rig.guest.check('vdi-pattern 5 >/dev/null');
    const mark = rdp.mark();
    const client = XFreeRdp.start(x, { server: `${rdp.host}:${rdp.port}`, username: USER, password: PASSWORD, args: ['/bpp:32'], log: log() });
    try {
      await rdp.waitForLog(/capabilities: 32 bpp, compressed bitmaps, ScrBlt, OpaqueRect/, mark);
      await client.waitForWindow();
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), 'xfreerdp-fill-start');
      const before = await copiesSent('opaquerect');
      // Blue background, then erase the display: the console fills the screen with blue.
      await rig.guest.check("printf '\\033[44m\\033[2J' >/dev/tty1");
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), 'xfreerdp-fill-blue');
      expect(await copiesSent('opaquerect')).toBeGreaterThan(before);
      expect(client.proc.exitResult, client.output).toBeUndefined();
    } finally {
      await rig.guest.check("printf '\\033[0m\\033[2J' >/dev/tty1");
      await client.stop();
    }
  });
});
