// Multi-touch: display-core's touch() reaches a guest's touch screen through QEMU's
// org.qemu.Display1.MultiTouch (QEMU ≥ 8.1, with a virtio-multitouch-pci device); on QEMU 7.2
// the interface does not exist and touch() says so instead of pretending.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QemuDisplay } from '@vdi-sidecar/display-core';
import { openDisplay } from '../src/display.js';
import { QEMU_VERSIONS, startRig, waitFor, type Rig } from '../src/index.js';

const EV_KEY = 1;
const EV_ABS = 3;
const BTN_TOUCH = 0x14a;
const ABS_MT_SLOT = 0x2f;
const ABS_MT_POSITION_X = 0x35;
const ABS_MT_POSITION_Y = 0x36;
const ABS_MT_TRACKING_ID = 0x39;
/** MultiTouch.SendEvent kinds (QEMU's InputMultiTouchType). */
const BEGIN = 0;
const UPDATE = 1;
const END = 2;
/** QEMU scales positions to 0..INPUT_EVENT_ABS_MAX. */
const ABS_MAX = 0x7fff;

describe.each(QEMU_VERSIONS)('display-core multi-touch on QEMU %s', (qemu) => {
  const hasMultiTouch = qemu !== '7.2';
  let rig: Rig;
  let display: QemuDisplay;
  const log: string[] = [];

  beforeAll(async () => {
    rig = await startRig({ qemu, name: `display-core-touch-${qemu}`, extraArgs: hasMultiTouch ? ['-device', 'virtio-multitouch-pci'] : [] });
    display = openDisplay(rig.busAddress, log);
    await display.waitForScreen(30_000);
  });

  afterAll(async () => {
    display?.close();
    await rig?.stop();
  });

  it.runIf(hasMultiTouch)('two fingers reach the guest as multi-touch slots at the right places', async () => {
    expect(display.multiTouch).toBe(true);
    expect(await rig.guest.check('vdi-touch')).toMatch(/^INPUT event\d+ QEMU Virtio MultiTouch/);
    await rig.guest.check('vdi-events start');
    const events = await waitFor(
      async () => {
        display.touch(BEGIN, 0, 512, 384);
        display.touch(BEGIN, 1, 100, 700);
        display.touch(UPDATE, 0, 768, 384);
        display.touch(END, 0, 768, 384);
        display.touch(END, 1, 100, 700);
        const out = await rig.guest.check('vdi-events dump');
        const parsed = out
          .split('\n')
          .filter((l) => l.startsWith('EVENT '))
          .map((l) => l.split(' ').slice(2).map(Number));
        const lifted = parsed.filter(([type, code, value]) => type === EV_ABS && code === ABS_MT_TRACKING_ID && value === -1);
        return lifted.length >= 2 ? parsed : undefined;
      },
      { message: 'both fingers lifted in the guest', timeoutMs: 20_000, intervalMs: 500 },
    );
    await rig.guest.check('vdi-events stop');
    // Follow the slots as a multi-touch (type B) consumer does: positions apply to the last slot named.
    let slot = 0;
    const xs: Record<number, number[]> = { 0: [], 1: [] };
    const ys: Record<number, number[]> = { 0: [], 1: [] };
    const tracked = new Set<number>();
    const lifted: number[] = [];
    for (const [type, code, value] of events) {
      if (type !== EV_ABS) continue;
      if (code === ABS_MT_SLOT) slot = value;
      else if (code === ABS_MT_TRACKING_ID && value >= 0) tracked.add(slot);
      else if (code === ABS_MT_TRACKING_ID && !lifted.includes(slot)) lifted.push(slot);
      else if (code === ABS_MT_POSITION_X) xs[slot]?.push(value / ABS_MAX);
      else if (code === ABS_MT_POSITION_Y) ys[slot]?.push(value / ABS_MAX);
    }
    expect([...tracked].sort()).toEqual([0, 1]);
    expect(lifted).toEqual([0, 1]);
    expect(xs[0]![0]).toBeCloseTo(512 / 1024, 2);
    expect(xs[0]!.at(-1)).toBeCloseTo(768 / 1024, 2);
    expect(ys[0]![0]).toBeCloseTo(384 / 768, 2);
    expect(xs[1]![0]).toBeCloseTo(100 / 1024, 2);
    expect(ys[1]![0]).toBeCloseTo(700 / 768, 2);
    // The first finger down is also a touch for single-touch consumers.
    expect(events.find(([type, code]) => type === EV_KEY && code === BTN_TOUCH)?.[2]).toBe(1);
  });

  it.runIf(!hasMultiTouch)('has no MultiTouch interface, and touch() says nothing was sent', () => {
    expect(display.multiTouch).toBe(false);
    expect(display.touch(BEGIN, 0, 10, 10)).toBe(false);
  });
});
