// display-core against real QEMU (7.2 inline frames, 10.x shared memory): the mirrored
// picture equals QMP screendump, typed text and mouse input reach the guest, and the
// display follows the VM across reboots and QEMU restarts.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MouseButton, type QemuDisplay } from '@vdi-sidecar/display-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectPictureConverges } from '../src/converge.js';
import { framebufferImage, openDisplay, runQemuDisplay } from '../src/display.js';
import { loadPng, patternColor, pixelAt, QEMU_VERSIONS, startRig, waitFor, type Rig } from '../src/index.js';

interface InputEvent {
  device: string;
  type: number;
  code: number;
  value: number;
}

const EV_KEY = 1;
const EV_REL = 2;
const EV_ABS = 3;
const REL_X = 0;
const REL_Y = 1;
const REL_WHEEL = 8;
const BTN_LEFT = 0x110;
const BTN_RIGHT = 0x111;
const BTN_MIDDLE = 0x112;

async function guestEvents(rig: Rig): Promise<InputEvent[]> {
  const out = await rig.guest.check('vdi-events dump');
  return out
    .split('\n')
    .filter((l) => l.startsWith('EVENT '))
    .map((l) => {
      const [, device, type, code, value] = l.split(' ');
      return { device, type: Number(type), code: Number(code), value: Number(value) };
    });
}

/**
 * Starts the guest's event recorder and returns once it is really reading (its readers
 * start in the background): `nudge` is repeated until an event shows up. Returns how many
 * events the nudging produced, to be skipped.
 */
async function startRecording(rig: Rig, nudge: () => void): Promise<number> {
  await rig.guest.check('vdi-events start');
  return waitFor(
    async () => {
      nudge();
      const n = (await guestEvents(rig)).length;
      return n > 0 ? n : undefined;
    },
    { message: 'the guest event recorder to see a first event', timeoutMs: 15_000, intervalMs: 200 },
  );
}

describe.each(QEMU_VERSIONS)('display-core on QEMU %s', (qemu) => {
  let rig: Rig;
  let display: QemuDisplay;
  const log: string[] = [];
  const screen = () => framebufferImage(display.framebuffer);

  beforeAll(async () => {
    rig = await startRig({ qemu, name: `display-core-${qemu}` });
    display = openDisplay(rig.busAddress, log);
    display.on('state', (state) => log.push(`state: ${state}`));
    display.framebuffer.on('resize', (w, h) => log.push(`resize: ${w}x${h} (${display.framebuffer.transport})`));
    await display.waitForScreen(30_000);
  });

  afterAll(async () => {
    display?.close();
    if (rig) writeFileSync(join(rig.artifactsDir, 'display.log'), `${log.join('\n')}\n`);
    await rig?.stop();
  });

  it('uses shared memory on QEMU ≥ 9.2 and inline frames on 7.2', () => {
    expect(display.framebuffer.transport).toBe(qemu === '7.2' ? 'inline' : 'shared-memory');
  });

  it('reports the VM and its console (qemu-display info)', async () => {
    const res = await runQemuDisplay(['info', '--dbus-address', rig.busAddress]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`name: ${rig.vmName}`);
    expect(res.stdout).toContain(`uuid: ${rig.uuid}`);
    expect(res.stdout).toMatch(/console 0: label "[^"]*", type Graphic, 1024x768/);
    expect(res.stdout).toContain(`screen transport: ${qemu === '7.2' ? 'inline' : 'shared-memory'}`);
  });

  it('mirrors a full-screen pattern, then text, pixel for pixel', async () => {
    await rig.guest.check('vdi-pattern 3');
    const dump = await rig.screendump();
    // The guest really drew the pattern (so the comparison below is not of two blank screens).
    expect(pixelAt(dump, 100, 50)).toEqual(patternColor(3, 100, 50));
    await expectPictureConverges(screen, () => rig.screendump(), 'pattern');

    await rig.guest.check('vdi-text hello from the guest');
    await expectPictureConverges(screen, () => rig.screendump(), 'text');
  });

  it('qemu-display screenshot writes the screendump picture as PNG', async () => {
    await rig.guest.check('vdi-pattern 5');
    const file = join(mkdtempSync(join(tmpdir(), 'vdi-shot-')), 'screen.png');
    await expectPictureConverges(
      async () => {
        const res = await runQemuDisplay(['screenshot', '--output', file], { DBUS_DISPLAY_ADDRESS: rig.busAddress });
        expect(res.code, res.stderr).toBe(0);
        return loadPng(file);
      },
      () => rig.screendump(),
      'cli-screenshot',
    );
  });

  it('qemu-display watch reports the updates and bytes while the guest draws', async () => {
    // Two pictures alternated five times a second for the whole watch, so every second of it
    // sees changes however long the CLI takes to attach.
    await rig.guest.check('vdi-pattern 6 && cat /dev/fb0 >/tmp/w1 && vdi-pattern 7 && cat /dev/fb0 >/tmp/w2');
    await rig.guest.check(
      '(while :; do cat /tmp/w1 >/dev/fb0; usleep 200000; cat /tmp/w2 >/dev/fb0; usleep 200000; done) >/dev/null 2>&1 & echo $! >/tmp/watch-loop.pid',
    );
    try {
      const res = await runQemuDisplay(['watch', '--duration', '3', '--dbus-address', rig.busAddress]);
      expect(res.code, res.stderr).toBe(0);
      const lines = res.stdout.trim().split('\n');
      expect(lines.length).toBeGreaterThanOrEqual(2);
      for (const line of lines) expect(line).toMatch(/^\d+x\d+ (inline|shared-memory): \d+ updates\/s, [\d.]+ MB\/s, [\d.]+ Mpx\/s changed$/);
      expect(lines.some((l) => !/ 0\.00 Mpx/.test(l))).toBe(true);
    } finally {
      await rig.guest.check('kill $(cat /tmp/watch-loop.pid)');
    }
  });

  it('types text with shifted characters and punctuation into the guest shell', async () => {
    const line = `echo Typed-OK_1 'A!@#$%^&*()+{}|:"<>?~' [x]=\\;,./\``;
    const res = await runQemuDisplay(['type', `${line}\n`, '--dbus-address', rig.busAddress]);
    expect(res.code, res.stderr).toBe(0);
    const typed = await waitFor(async () => (await rig.guest.check('vdi-typed')).trim() || undefined, {
      message: 'the typed line in the guest shell history',
    });
    expect(typed).toBe(line);
  });

  it('presses key combinations (qemu-display key)', async () => {
    // Typing "true" then ctrl+u (kill line) and "echo combo-ok" + Enter: only the last line runs.
    await runQemuDisplay(['type', 'true', '--dbus-address', rig.busAddress]);
    const res = await runQemuDisplay(['key', 'ctrl+u', '--dbus-address', rig.busAddress]);
    expect(res.code, res.stderr).toBe(0);
    await runQemuDisplay(['type', 'echo combo-ok\n', '--dbus-address', rig.busAddress]);
    await waitFor(async () => (await rig.guest.check('vdi-typed')).trim() === 'echo combo-ok', {
      message: 'ctrl+u to clear the line before "echo combo-ok"',
    });
  });

  it('follows a guest mode change', async () => {
    const info = await rig.guest.check('vdi-mode');
    expect(info).toMatch(/^FB 800 600 /);
    await waitFor(() => display.framebuffer.width === 800 && display.framebuffer.height === 600, {
      message: () => `an 800x600 framebuffer (have ${display.framebuffer.width}x${display.framebuffer.height})`,
    });
    await rig.guest.check('vdi-pattern 7');
    await expectPictureConverges(screen, () => rig.screendump(), 'after-mode-change');
  });

  it('sends relative mouse motion, every button and the wheel to a PS/2 mouse', async () => {
    await rig.guest.check('vdi-psmouse');
    expect(display.isAbsolute).toBe(false);
    const skip = await startRecording(rig, () => display.relativeMotion(0, 1));
    await new Promise((r) => setTimeout(r, 300)); // let the last nudge arrive before counting
    const before = (await guestEvents(rig)).length;
    expect(before).toBeGreaterThanOrEqual(skip);
    // Paced like a person's clicks: a PS/2 mouse reports state, not every transition.
    const pause = () => new Promise((r) => setTimeout(r, 50));
    display.relativeMotion(10, 5);
    for (const button of [MouseButton.Left, MouseButton.Right, MouseButton.Middle, MouseButton.WheelUp, MouseButton.WheelDown]) {
      await pause();
      display.mouseButton(button, true);
      await pause();
      display.mouseButton(button, false);
    }
    let seen: InputEvent[] = [];
    const events = await waitFor(
      async () => {
        const ev = (await guestEvents(rig)).slice(before).filter((e) => e.type === EV_REL || e.type === EV_KEY);
        seen = ev;
        return ev.filter((e) => e.type === EV_REL && e.code === REL_WHEEL).length >= 2 ? ev : undefined;
      },
      { message: () => `mouse events in the guest (so far: ${JSON.stringify(seen)})`, timeoutMs: 15_000 },
    );
    const rel = (code: number) => events.filter((e) => e.type === EV_REL && e.code === code).reduce((s, e) => s + e.value, 0);
    expect(rel(REL_X)).toBeGreaterThan(0);
    expect(rel(REL_Y)).not.toBe(0);
    const presses = events.filter((e) => e.type === EV_KEY).map((e) => `${e.code}:${e.value}`);
    expect(presses).toEqual([`${BTN_LEFT}:1`, `${BTN_LEFT}:0`, `${BTN_RIGHT}:1`, `${BTN_RIGHT}:0`, `${BTN_MIDDLE}:1`, `${BTN_MIDDLE}:0`]);
    expect(events.filter((e) => e.type === EV_REL && e.code === REL_WHEEL).map((e) => e.value)).toEqual([1, -1]);
    await rig.guest.check('vdi-events stop');
  });

  it('follows a guest reboot (system_reset) without reconnecting by hand', async () => {
    const boots = rig.guest.readyCount;
    await rig.qmp.execute('system_reset');
    await rig.guest.waitReady(60_000, boots + 1);
    expect(display.state).toBe('attached');
    await rig.guest.check('vdi-pattern 2');
    await expectPictureConverges(screen, () => rig.screendump(), 'after-reboot');
  });

  it('follows QEMU exiting and starting again on the same bus', async () => {
    const detached = new Promise<string>((resolve) => display.once('detached', resolve));
    await rig.stopQemu('SIGKILL');
    expect(await detached).toMatch(/QEMU|listener/);
    await rig.startQemu();
    await display.waitForScreen(60_000);
    expect(display.state).toBe('attached');
    await rig.guest.check('vdi-pattern 4');
    await expectPictureConverges(screen, () => rig.screendump(), 'after-restart');
    expect(display.framebuffer.transport).toBe(qemu === '7.2' ? 'inline' : 'shared-memory');
  });
});

describe.each(QEMU_VERSIONS)('absolute pointer on QEMU %s (USB tablet)', (qemu) => {
  let rig: Rig;
  let display: QemuDisplay;
  const log: string[] = [];

  beforeAll(async () => {
    rig = await startRig({ qemu, tablet: true, name: `display-core-tablet-${qemu}` });
    display = openDisplay(rig.busAddress, log);
    await display.waitForScreen(30_000);
  });

  afterAll(async () => {
    display?.close();
    await rig?.stop();
  });

  it('positions the pointer absolutely and clicks', async () => {
    await rig.guest.check('vdi-tablet');
    await waitFor(() => display.isAbsolute, { message: 'Mouse.IsAbsolute to become true', timeoutMs: 20_000 });
    const skip = await startRecording(rig, () => display.pointerTo(1, 1));
    await new Promise((r) => setTimeout(r, 300));
    const before = Math.max(skip, (await guestEvents(rig)).length);
    display.pointerTo(512, 384);
    display.mouseButton(MouseButton.Left, true);
    display.mouseButton(MouseButton.Left, false);
    display.pointerTo(100, 700);
    const events = await waitFor(
      async () => {
        const ev = (await guestEvents(rig)).slice(before);
        const abs = ev.filter((e) => e.type === EV_ABS);
        return abs.some((e) => e.code === 1 && e.value > 0x7fff * 0.85) ? ev : undefined;
      },
      { message: 'absolute events in the guest', timeoutMs: 15_000 },
    );
    const absX = events.filter((e) => e.type === EV_ABS && e.code === 0).map((e) => e.value);
    const absY = events.filter((e) => e.type === EV_ABS && e.code === 1).map((e) => e.value);
    // QEMU scales pixels to the tablet's 0..0x7fff range.
    expect(absX[0] / 0x7fff).toBeCloseTo(512 / 1024, 1);
    expect(absY[0] / 0x7fff).toBeCloseTo(384 / 768, 1);
    expect(absX.at(-1)! / 0x7fff).toBeCloseTo(100 / 1024, 1);
    expect(absY.at(-1)! / 0x7fff).toBeCloseTo(700 / 768, 1);
    const clicks = events.filter((e) => e.type === EV_KEY && e.code === BTN_LEFT).map((e) => e.value);
    expect(clicks).toEqual([1, 0]);
  });
});
