// qemu-vnc's web console (--http): its page in Debian's Chromium shows the guest's screen
// scaled to the window, types into the guest with the keyboard and the "Type clipboard"
// button, sends Ctrl+Alt+Del as QEMU's own send-key does, and stays with the VM across a
// guest reboot and a restart of qemu-vnc itself; /screenshot.png and /api/vm tell the truth.
import { mkdirSync } from 'node:fs';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureQemuVncBuilt, startQemuVnc, WebConsoleBrowser, type QemuVnc } from '../src/clients/index.js';
import { expectPictureConverges } from '../src/converge.js';
import { runQemuDisplay } from '../src/display.js';
import { decodeImage, QEMU_VERSIONS, REPO_DIR, startRig, typedLine, waitFor, type Rig } from '../src/index.js';

const EV_KEY = 1;


/** Key presses and releases (code:value) the guest's keyboard reported while `act` ran. */
async function guestKeys(rig: Rig, act: () => Promise<void>, count: number): Promise<string[]> {
  await rig.guest.check('vdi-events start');
  try {
    await act();
    return await waitFor(
      async () => {
        const keys = (await rig.guest.check('vdi-events dump'))
          .split('\n')
          .filter((l) => l.startsWith('EVENT '))
          .map((l) => l.split(' ').map(Number))
          .filter(([, , type]) => type === EV_KEY)
          .map(([, , , code, value]) => `${code}:${value}`);
        return keys.length >= count ? keys : undefined;
      },
      { message: `${count} key events in the guest`, timeoutMs: 15_000, intervalMs: 300 },
    );
  } finally {
    await rig.guest.check('vdi-events stop');
  }
}

describe.each(QEMU_VERSIONS)('qemu-vnc web console on QEMU %s', (qemu) => {
  let rig: Rig;
  let vnc: QemuVnc;
  let browser: WebConsoleBrowser;
  let httpPort: number;
  const start = (http: string) =>
    startQemuVnc({ busAddress: rig.busAddress, listen: '127.0.0.1:0', http, env: { QEMU_VNC_VERBOSE: '1' }, log: join(rig.artifactsDir, 'qemu-vnc.log') });

  beforeAll(async () => {
    ensureQemuVncBuilt();
    rig = await startRig({ qemu, name: `qemu-vnc-web-${qemu}` });
    writeFileSync(join(rig.artifactsDir, 'qemu-vnc.log'), '');
    vnc = await start('127.0.0.1:0');
    httpPort = Number(new URL(vnc.httpUrl!).port);
    browser = await WebConsoleBrowser.open(vnc.httpUrl!);
  });

  afterAll(async () => {
    await browser?.close();
    const result = await vnc?.stop();
    await rig?.stop();
    expect(result?.code).toBe(0);
  });

  it('shows the VM, scaled to the window, loading nothing from anywhere else', async () => {
    await browser.waitStatus('connected');
    expect(await browser.status()).toEqual({ state: 'connected', text: 'Connected' });
    expect(await browser.vmName()).toBe(rig.vmName);
    await rig.guest.check('vdi-pattern 3');
    await expectPictureConverges(() => browser.picture(), () => rig.screendump(), 'web-console-pattern');
    // Scaled to the window, keeping the aspect ratio, both when it is larger and smaller.
    for (const viewport of [{ width: 1280, height: 1000 }, { width: 700, height: 600 }]) {
      await browser.page.setViewportSize(viewport);
      await waitFor(async () => {
        const box = await browser.canvasBox();
        return Math.abs(box.shownWidth / box.shownHeight - 1024 / 768) < 0.01 && box.shownWidth <= viewport.width && box.shownWidth >= viewport.width - 2;
      }, { message: `the screen scaled to a ${viewport.width}x${viewport.height} window` });
    }
    await browser.page.setViewportSize({ width: 1280, height: 1000 });
    const origin = new URL(vnc.httpUrl!).origin;
    expect(browser.requests.filter((u) => !u.startsWith(origin))).toEqual([]);
    expect(browser.requests).toContain(`${origin}/novnc/core/rfb.js`);
  });

  it('typing on the keyboard reaches the guest shell', async () => {
    await browser.clickScreen();
    await browser.typeKeys('echo Web-Console_OK 42: "quoted"\n');
    expect(await typedLine(rig, 'echo Web-Console_OK 42: "quoted"')).toBe('echo Web-Console_OK 42: "quoted"');
    await rig.guest.check('vdi-text the web console typed the line above');
    await expectPictureConverges(() => browser.picture(), () => rig.screendump(), 'web-console-typed');
    if (process.env.VDI_UPDATE_DOCS === '1' && qemu === QEMU_VERSIONS[0]) {
      // The picture in docs/web-console.md: the page as a user sees it.
      mkdirSync(join(REPO_DIR, 'docs/images'), { recursive: true });
      await browser.page.screenshot({ path: join(REPO_DIR, 'docs/images/web-console.png') });
    }
  });

  it('"Type clipboard" types the clipboard\'s text into the guest', async () => {
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(vnc.httpUrl!).origin });
    await browser.page.evaluate(`navigator.clipboard.writeText('echo From The Clipboard, #1!\\n')`);
    await browser.clickButton('Type clipboard');
    expect(await typedLine(rig, 'echo From The Clipboard, #1!')).toBe('echo From The Clipboard, #1!');
  });

  it('the Ctrl+Alt+Del button presses what QMP send-key ctrl-alt-delete presses', async () => {
    const keys = [
      { type: 'qcode', data: 'ctrl' },
      { type: 'qcode', data: 'alt' },
      { type: 'qcode', data: 'delete' },
    ];
    const fromQemu = await guestKeys(rig, () => rig.qmp.execute('send-key', { keys }).then(() => undefined), 6);
    // KEY_LEFTCTRL 29, KEY_LEFTALT 56, KEY_DELETE 111: down in order, up in reverse.
    expect(fromQemu).toEqual(['29:1', '56:1', '111:1', '111:0', '56:0', '29:0']);
    const fromPage = await guestKeys(rig, () => browser.clickButton('Ctrl+Alt+Del'), 6);
    expect(fromPage).toEqual(fromQemu);
  });

  it('after QMP system_reset the page shows the rebooted guest without a reload', async () => {
    const boots = rig.guest.readyCount;
    await rig.qmp.execute('system_reset');
    await rig.guest.waitReady(60_000, boots + 1);
    await rig.guest.check('vdi-pattern 6');
    await expectPictureConverges(() => browser.picture(), () => rig.screendump(), 'web-console-after-reboot', { timeoutMs: 20_000 });
    expect((await browser.status()).state).toBe('connected');
  });

  it('after qemu-vnc restarts the page reconnects by itself', async () => {
    expect((await vnc.stop()).code).toBe(0);
    await browser.waitStatus('reconnecting', 10_000);
    expect((await browser.status()).text).toMatch(/^Disconnected — reconnecting in \d+ s$/);
    vnc = await start(`127.0.0.1:${httpPort}`);
    await browser.waitStatus('connected', 30_000);
    await rig.guest.check('vdi-pattern 8');
    await expectPictureConverges(() => browser.picture(), () => rig.screendump(), 'web-console-after-restart');
  });

  it('/screenshot.png equals the QMP screendump; /api/vm reports what qemu-display info reports', async () => {
    await rig.guest.check('vdi-pattern 9');
    await expectPictureConverges(
      async () => decodeImage(Buffer.from(await (await fetch(`${vnc.httpUrl}screenshot.png?console=0`)).arrayBuffer())),
      () => rig.screendump(),
      'web-console-screenshot',
    );
    const shot = await fetch(`${vnc.httpUrl}screenshot.png`);
    expect(shot.headers.get('content-type')).toBe('image/png');
    expect((await fetch(`${vnc.httpUrl}screenshot.png?console=7`)).status).toBe(404);

    const info = await runQemuDisplay(['info', '--dbus-address', rig.busAddress]);
    expect(info.code, info.stderr).toBe(0);
    const field = (name: string) => new RegExp(`^${name}: (.*)$`, 'm').exec(info.stdout)?.[1];
    const consoles = [...info.stdout.matchAll(/^console (\d+): label "([^"]*)", type (\S+), (\d+)x(\d+), head (\d+)/gm)].map((m) => ({
      id: Number(m[1]),
      label: m[2],
      type: m[3],
      width: Number(m[4]),
      height: Number(m[5]),
      head: Number(m[6]),
    }));
    expect(consoles.length).toBeGreaterThan(0);
    const api = (await (await fetch(`${vnc.httpUrl}api/vm`)).json()) as Record<string, unknown>;
    expect(api).toMatchObject({ name: field('name'), uuid: field('uuid'), console: 0, consoles });
    expect(api.uuid).toBe(rig.uuid);
    expect(api.clients).toEqual([
      { id: expect.any(Number), protocol: 'vnc', transport: 'web-console', address: '127.0.0.1', shared: true, connectedAt: expect.any(String) },
    ]);
  });
});
