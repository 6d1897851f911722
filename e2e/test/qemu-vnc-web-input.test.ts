// qemu-vnc's web console (--http) passes the mouse and the clipboard: a real mouse in
// Chromium, over the page's canvas scaled to the window, moves and clicks the guest's PS/2
// mouse (relative motion: the guest moves by the framebuffer pixels the pointer crossed)
// and its USB tablet (absolute: the pixel under the pointer); text copied in the guest
// (vdi-vdagent on QEMU's qemu-vdagent chardev) shows in the page's Clipboard panel and on
// the browser's clipboard, and text pasted into the panel reaches the guest's clipboard.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureQemuVncBuilt, startQemuVnc, WebConsoleBrowser, type QemuVnc } from '../src/clients/index.js';
import { QEMU_VERSIONS, startRig, waitFor, type Rig } from '../src/index.js';

const EV_KEY = 1;
const EV_REL = 2;
const EV_ABS = 3;
const REL_X = 0;
const REL_Y = 1;
const ABS_X = 0;
const ABS_Y = 1;
const BTN_LEFT = 0x110;
const BTN_RIGHT = 0x111;
/** The USB tablet's (and QEMU's) absolute range: 0..0x7fff over the screen. */
const ABS_MAX = 0x7fff;

interface InputEvent {
  device: string;
  type: number;
  code: number;
  value: number;
}

async function guestEvents(rig: Rig): Promise<InputEvent[]> {
  return (await rig.guest.check('vdi-events dump'))
    .split('\n')
    .filter((l) => l.startsWith('EVENT '))
    .map((l) => {
      const [, device, type, code, value] = l.split(' ');
      return { device, type: Number(type), code: Number(code), value: Number(value) };
    });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One word for `sh -c`: single-quoted, with embedded single quotes spliced in. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

describe.each(QEMU_VERSIONS)('qemu-vnc web console: mouse and clipboard on QEMU %s', (qemu) => {
  let rig: Rig;
  let vnc: QemuVnc;
  let browser: WebConsoleBrowser;
  let origin: string;

  beforeAll(async () => {
    ensureQemuVncBuilt();
    rig = await startRig({ qemu, tablet: true, clipboard: true, name: `qemu-vnc-web-input-${qemu}` });
    writeFileSync(join(rig.artifactsDir, 'qemu-vnc.log'), '');
    vnc = await startQemuVnc({
      busAddress: rig.busAddress,
      listen: '127.0.0.1:0',
      http: '127.0.0.1:0',
      env: { QEMU_VNC_VERBOSE: '1' },
      log: join(rig.artifactsDir, 'qemu-vnc.log'),
    });
    // qemu-vnc's clipboard peer registers once attached, and QEMU then resets the agent's
    // link; starting the agent after that keeps its first grab from falling into the reset.
    await vnc.waitForLog(/attached to VM/, 0, 30_000);
    expect((await rig.guest.check('vdi-clipboard-agent')).trim()).toMatch(/^CLIPBOARD-AGENT \/dev\/vport\d+p\d+$/);
    origin = new URL(vnc.httpUrl!).origin;
    browser = await WebConsoleBrowser.open(vnc.httpUrl!);
    await browser.waitStatus('connected');
    // A window narrower than the guest's 1024x768: the canvas is scaled down to 3/4, where
    // every 4th framebuffer pixel has a page pixel of its own (the targets below).
    await browser.page.setViewportSize({ width: 768, height: 700 });
    let box: Awaited<ReturnType<WebConsoleBrowser['canvasBox']>> | undefined;
    await waitFor(
      async () => {
        box = await browser.canvasBox();
        return box.width === 1024 && box.height === 768 && box.shownWidth === 768 && box.shownHeight === 576;
      },
      { message: () => `the 1024x768 screen scaled to 768x576 in a 768x700 window (it is ${JSON.stringify(box)})` },
    );
  });

  afterAll(async () => {
    await browser?.close();
    const result = await vnc?.stop();
    await rig?.stop();
    expect(result?.code).toBe(0);
  });

  /** What the agent and qemu-vnc logged, for failure messages. */
  async function logs(): Promise<string> {
    let agent: string;
    try {
      agent = (await rig.guest.run('cat /tmp/vdi-vdagent.state /tmp/vdi-vdagent.log', 5_000)).output;
    } catch (err) {
      agent = `(no agent log: ${String(err)})`;
    }
    return `agent:\n${agent}\nqemu-vnc:\n${vnc.stderr.slice(-3000)}\npage console:\n${browser.consoleLines.slice(-20).join('\n')}`;
  }

  /**
   * Starts the guest's event recorder on every input device and returns once it really
   * reads `device` (its readers start in the background): the mouse is wiggled over the
   * canvas until that device reports, ending at framebuffer pixel `rest`. Returns how many
   * events there were by then, to be skipped.
   */
  async function startRecording(device: string, rest: { x: number; y: number }): Promise<number> {
    await rig.guest.check('vdi-events start');
    await waitFor(
      async () => {
        await browser.mouseTo(rest.x + 8, rest.y + 8);
        await sleep(50);
        await browser.mouseTo(rest.x, rest.y);
        return (await guestEvents(rig)).some((e) => e.device === device && e.type !== 0);
      },
      { message: `the guest's ${device} to report the mouse wiggled over the page`, timeoutMs: 20_000, intervalMs: 300 },
    );
    await sleep(500); // the last wiggle's events arrive before counting
    return (await guestEvents(rig)).length;
  }

  /** The recorded events from `device` after the first `skip`, once `done` holds for them. */
  async function eventsUntil(device: string, skip: number, done: (ev: InputEvent[]) => boolean, what: string): Promise<InputEvent[]> {
    let seen: InputEvent[] = [];
    return waitFor(
      async () => {
        seen = (await guestEvents(rig)).slice(skip).filter((e) => e.device === device && e.type !== 0);
        return done(seen) ? seen : undefined;
      },
      { message: () => `${what} in the guest (so far: ${JSON.stringify(seen.slice(-40))})`, timeoutMs: 20_000, intervalMs: 300 },
    );
  }

  const buttons = (ev: InputEvent[]) => ev.filter((e) => e.type === EV_KEY).map((e) => `${e.code === BTN_LEFT ? 'left' : e.code === BTN_RIGHT ? 'right' : e.code}:${e.value}`);

  it('mouse motion and clicks on the scaled canvas move and click the guest\'s PS/2 mouse by the pixels crossed', async () => {
    const line = await rig.guest.check('vdi-psmouse');
    expect(line).toMatch(/^INPUT (event\d+) .*PS\/2/);
    const device = /^INPUT (event\d+)/.exec(line)![1];
    const from = { x: 200, y: 152 };
    const to = { x: 700, y: 520 };
    const skip = await startRecording(device, from);
    try {
      await browser.mouseTo(to.x, to.y, 12);
      await sleep(200);
      await browser.mouseClick('left');
      await sleep(200);
      await browser.mouseClick('right');
      const events = await eventsUntil(device, skip, (ev) => buttons(ev).includes('right:0'), 'left and right clicks');
      expect(buttons(events)).toEqual(['left:1', 'left:0', 'right:1', 'right:0']);
      // PS/2 motion is relative: the guest moved by the framebuffer pixels between the two
      // points (the page's pixels divided by the canvas's scale), down positive.
      const rel = (code: number) => events.filter((e) => e.type === EV_REL && e.code === code).reduce((s, e) => s + e.value, 0);
      expect({ dx: rel(REL_X), dy: rel(REL_Y) }).toEqual({ dx: to.x - from.x, dy: to.y - from.y });
      // In several motion reports (the pointer travelled), all before the first press.
      const firstPress = events.findIndex((e) => e.type === EV_KEY);
      expect(events.slice(0, firstPress).filter((e) => e.type === EV_REL && e.code === REL_X).length).toBeGreaterThan(1);
      expect(events.slice(firstPress).filter((e) => e.type === EV_REL)).toEqual([]);
    } finally {
      await rig.guest.check('vdi-events stop');
    }
  });

  it('with a USB tablet, a click lands on the framebuffer pixel under the pointer', async () => {
    const line = await rig.guest.check('vdi-tablet');
    expect(line).toMatch(/^INPUT (event\d+) QEMU QEMU USB Tablet\n$/);
    const device = /^INPUT (event\d+)/.exec(line)![1];
    const skip = await startRecording(device, { x: 40, y: 40 });
    const targets = [
      { x: 512, y: 384 },
      { x: 900, y: 100 },
      { x: 152, y: 700 },
    ];
    try {
      for (const t of targets) {
        await browser.mouseTo(t.x, t.y, 5);
        await sleep(150);
        await browser.mouseClick('left', 100);
        await sleep(150);
      }
      const events = await eventsUntil(device, skip, (ev) => buttons(ev).filter((b) => b === 'left:0').length >= targets.length, `${targets.length} clicks`);
      expect(buttons(events)).toEqual(targets.flatMap(() => ['left:1', 'left:0']));
      // Where the pointer was at each press: the last absolute X and Y before it, mapped
      // back from the tablet's 0..0x7fff to 1024x768 pixels.
      const at: { x: number; y: number }[] = [];
      let x = NaN;
      let y = NaN;
      for (const e of events) {
        if (e.type === EV_ABS && e.code === ABS_X) x = e.value;
        if (e.type === EV_ABS && e.code === ABS_Y) y = e.value;
        if (e.type === EV_KEY && e.code === BTN_LEFT && e.value === 1) at.push({ x: (x * 1024) / ABS_MAX, y: (y * 768) / ABS_MAX });
      }
      expect(at).toHaveLength(targets.length);
      at.forEach((p, i) => {
        expect(Math.abs(p.x - targets[i].x), `x of click ${i} (${p.x} for ${targets[i].x})`).toBeLessThan(1);
        expect(Math.abs(p.y - targets[i].y), `y of click ${i} (${p.y} for ${targets[i].y})`).toBeLessThan(1);
      });
    } finally {
      await rig.guest.check('vdi-events stop');
    }
  });

  it('text copied in the guest shows in the Clipboard panel and on the browser\'s clipboard', async () => {
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    await browser.openClipboardPanel();
    expect(await browser.page.getAttribute('#clipboard-toggle', 'aria-expanded')).toBe('true');
    const first = `from the guest: café ☃ 日本語 'quoted' "double" $HOME`;
    const copies = [
      { word: shellQuote(first), text: first },
      // Several lines (a guest command line cannot hold a newline; the guest's printf makes them).
      { word: `"$(printf 'a second copy\\nover two lines: Grüße €')"`, text: 'a second copy\nover two lines: Grüße €' },
    ];
    for (const { word, text } of copies) {
      const grab = await rig.guest.check(`vdi-clipboard-set ${word}`);
      expect(grab.trim()).toMatch(/^CLIPBOARD-GRAB \d+$/);
      let panel = '';
      try {
        await waitFor(
          async () => {
            panel = await browser.clipboardPanelText();
            return panel === text;
          },
          { message: () => `the Clipboard panel to show the guest's copy (it shows ${JSON.stringify(panel)})`, timeoutMs: 20_000, intervalMs: 250 },
        );
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${await logs()}`);
      }
      expect(await browser.systemClipboard()).toBe(text);
    }
  });

  it('text pasted into the Clipboard panel reaches the guest\'s clipboard', async () => {
    await browser.openClipboardPanel();
    for (const text of ['from the browser: naïve ☃ 𝄞 🎉', Array.from({ length: 20 }, (_, i) => `panel line ${i}: ünïcödé ✓`).join('\n') + '\n']) {
      await browser.pasteIntoClipboardPanel(text);
      let last = '';
      try {
        await waitFor(
          async () => {
            last = await rig.guest.check('vdi-clipboard-get');
            return last === text;
          },
          { message: () => `the guest's clipboard to hold the panel's text (it holds ${JSON.stringify(last.slice(0, 200))})`, timeoutMs: 20_000, intervalMs: 250 },
        );
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${await logs()}`);
      }
    }
  });

  it('text copied elsewhere reaches the guest\'s clipboard when the console takes the focus back', async () => {
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
    await browser.openClipboardPanel();
    await browser.page.click('#clipboard-text'); // the focus leaves the console
    const text = `copied in another application: ${Date.now()} ½ ☃`;
    // Another application's copy: the system clipboard changes under the page.
    await browser.page.evaluate(`navigator.clipboard.writeText(${JSON.stringify(text)})`);
    await sleep(500);
    expect(await rig.guest.check('vdi-clipboard-get')).not.toBe(text);
    await browser.clickScreen();
    let last = '';
    try {
      await waitFor(
        async () => {
          last = await rig.guest.check('vdi-clipboard-get');
          return last === text;
        },
        { message: () => `the guest's clipboard to hold the system clipboard's text (it holds ${JSON.stringify(last.slice(0, 200))})`, timeoutMs: 20_000, intervalMs: 250 },
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await logs()}`);
    }
    expect(await browser.clipboardPanelText()).toBe(text);
  });
});
