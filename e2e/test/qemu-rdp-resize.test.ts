// An RDP client's window size through qemu-rdp's Display Control channel (MS-RDPEDISP) to
// QEMU and the guest: xfreerdp with /dynamic-resolution sends a monitor layout when its window
// is resized (X ConfigureNotify; no window manager needed), qemu-rdp turns the layout's
// primary monitor into org.qemu.Display1.Console.SetUIInfo, virtio-vga passes the size to the
// guest's virtio_gpu driver, which makes it its connector's preferred mode. When the guest
// then shows that mode, the new size comes back to the client by deactivation-reactivation:
// its window ends up at the size it asked for, showing what the guest shows.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XFreeRdp, Xvfb, ensureQemuRdpBuilt, plainPasswordFile, startQemuRdp, type QemuRdp } from '../src/clients/index.js';
import { expectPictureConverges } from '../src/converge.js';
import { QEMU_VERSIONS, startRig, waitFor, type Rig } from '../src/index.js';

const USER = 'alice';
const PASSWORD = 'correct horse';

/** The guest's virtio GPU connector: status and modes, preferred first (`vdi-drm-modes`). */
async function drmModes(rig: Rig): Promise<{ status: string; modes: string[] }> {
  const out = await rig.guest.check('vdi-drm-modes');
  const status = /^CONNECTOR (\S+)$/m.exec(out)?.[1] ?? '';
  const modes = [...out.matchAll(/^MODE (\S+)$/gm)].map((m) => m[1]!);
  return { status, modes };
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

describe.each(QEMU_VERSIONS)('qemu-rdp Display Control with xfreerdp /dynamic-resolution on QEMU %s', (qemu) => {
  let rig: Rig;
  let rdp: QemuRdp;
  let x: Xvfb;
  const log = () => join(rig.artifactsDir, 'clients.log');

  beforeAll(async () => {
    ensureQemuRdpBuilt();
    // No kernel `video=` mode: the rig's default (800x600, for bochs) would also be taken by
    // virtio_gpu's console over the connector's preferred mode, the size asked for here.
    rig = await startRig({ qemu, vga: 'virtio', videoMode: '', name: `qemu-rdp-resize-${qemu}` });
    for (const file of ['qemu-rdp.log', 'clients.log']) writeFileSync(join(rig.artifactsDir, file), '');
    const passwordFile = await plainPasswordFile(rig.artifactsDir, 'rdp-password', PASSWORD);
    rdp = await startQemuRdp({
      busAddress: rig.busAddress,
      args: ['--username', USER, '--password-file', passwordFile],
      env: { QEMU_RDP_VERBOSE: '1' },
      log: join(rig.artifactsDir, 'qemu-rdp.log'),
    });
    x = await Xvfb.start({ log: log() });
  });

  afterAll(async () => {
    await x?.stop();
    const result = await rdp?.stop();
    await rig?.stop();
    // SIGTERM is a clean shutdown (exit code 0, see qemu-rdp --help).
    expect(result?.code).toBe(0);
  });

  it("resizing xfreerdp's window becomes the guest's preferred mode; once shown, window and picture follow", async () => {
    // The boot-time vesafb (virtio-vga is VGA compatible): 1024x768.
    expect(await rig.guest.check('vdi-fbinfo')).toMatch(/^FB 1024 768 /);
    await rig.guest.check('vdi-pattern 60');
    const mark = rdp.mark();
    const client = XFreeRdp.start(x, {
      server: `${rdp.host}:${rdp.port}`,
      username: USER,
      password: PASSWORD,
      args: ['/bpp:32', '/dynamic-resolution'],
      log: log(),
    });
    try {
      const win = await client.waitForWindow();
      expect({ width: win.width, height: win.height }).toEqual({ width: 1024, height: 768 });
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), 'xfreerdp-resize-before');
      // xfreerdp sends layouts once it has the server's capabilities.
      await rdp.waitForLog(/Microsoft::Windows::RDS::DisplayControl: open: capabilities sent \(1 monitor/, mark);

      // 1) Before the guest's virtio_gpu driver runs: the size waits in QEMU's virtio-vga,
      // and the driver's console starts in it.
      await x.xdotool(['windowsize', '--sync', win.id, '1280', '720']);
      await rdp.waitForLog(/asking the guest for 1280x720/, mark);
      await rig.guest.check('vdi-virtio-gpu');
      await expectPreferredMode(rig, '1280x720');
      expect(await rig.guest.check('vdi-fbinfo')).toMatch(/^FB 1280 720 32 /);
      await rig.guest.check('vdi-pattern 61');
      await rdp.waitForLog(/desktop resized to 1280x720/, mark);
      await client.waitForSize(1280, 720);
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), 'xfreerdp-resize-1280x720');

      // 2) With the driver running: a new size is a hotplug event; the connector's preferred
      // mode changes, and the console takes it as it fits in the framebuffer it has (1280x720).
      await x.xdotool(['windowsize', '--sync', win.id, '1024', '576']);
      await rdp.waitForLog(/asking the guest for 1024x576/, mark);
      await expectPreferredMode(rig, '1024x576');
      await rdp.waitForLog(/desktop resized to 1024x576/, mark);
      await rig.guest.check('vdi-pattern 62');
      await client.waitForSize(1024, 576);
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), 'xfreerdp-resize-1024x576');

      // Every layout was asked for once: xfreerdp's and the server's debouncing leave no extras.
      expect(rdp.logSince(mark).filter((l) => /asking the guest for/.test(l))).toHaveLength(2);
      expect(rdp.logSince(mark).some((l) => /layout ignored|protocol error|did not take/.test(l))).toBe(false);
      expect(client.proc.exitResult, client.output).toBeUndefined();
    } finally {
      await client.stop();
    }
    expect(rdp.alive).toBe(true);
  });
});
