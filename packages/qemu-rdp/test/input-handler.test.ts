// RdpInputHandler turns decoded RDP input into QEMU keyboard/mouse calls. A recording stand-in
// for QemuDisplay (only the input methods and the state they read) shows what QEMU would get.
import { describe, expect, it } from 'vitest';
import { MouseButton, QEMU_LED_CAPS, QNUM, type QemuDisplay } from '@vdi-sidecar/display-core';
import { RdpInputHandler } from '../src/server/input-handler.js';

function recorder(modifiers = 0) {
  const calls: string[] = [];
  const display = {
    modifiers,
    framebuffer: { width: 1024, height: 768 },
    key: (q: number, down: boolean) => calls.push(`key ${q.toString(16)} ${down ? 'down' : 'up'}`),
    mouseButton: (b: number, down: boolean) => calls.push(`button ${b} ${down ? 'down' : 'up'}`),
    pointerTo: (x: number, y: number) => calls.push(`to ${x},${y}`),
    relativeMotion: (dx: number, dy: number) => calls.push(`by ${dx},${dy}`),
  };
  return { calls, handler: new RdpInputHandler(display as unknown as QemuDisplay) };
}

const scancode = (code: number, release = false, extended = false, extended1 = false) =>
  ({ kind: 'scancode', code, release, extended, extended1 }) as const;

describe('RdpInputHandler', () => {
  it('sends scancodes as qnums: E0-extended keys get 0x80, the Pause sequence becomes one key', () => {
    const { calls, handler } = recorder();
    handler.handle(scancode(0x1e)); // A
    handler.handle(scancode(0x1e, true));
    handler.handle(scancode(0x1d, false, true)); // right Ctrl
    handler.handle(scancode(0x1c, false, true)); // keypad Enter
    handler.handle(scancode(0x1d, false, false, true)); // Pause: E1 1D, then 45 (swallowed)
    handler.handle(scancode(0x45));
    expect(calls).toEqual(['key 1e down', 'key 1e up', 'key 9d down', 'key 9c down', `key ${QNUM.PAUSE.toString(16)} down`]);
  });

  it('types a Unicode key event on the US layout when pressed, nothing on release', () => {
    const { calls, handler } = recorder();
    handler.handle({ kind: 'unicode', codeUnit: 0x41, release: false }); // 'A'
    handler.handle({ kind: 'unicode', codeUnit: 0x41, release: true });
    expect(calls).toEqual(['key 2a down', 'key 1e down', 'key 1e up', 'key 2a up']);
  });

  it('inverts Shift for letters while the guest has Caps Lock on, and ignores characters it cannot type', () => {
    const { calls, handler } = recorder(QEMU_LED_CAPS);
    handler.handle({ kind: 'unicode', codeUnit: 0x61, release: false }); // 'a' with Caps Lock on
    handler.handle({ kind: 'unicode', codeUnit: 0xd83d, release: false }); // a surrogate pair (emoji)
    handler.handle({ kind: 'unicode', codeUnit: 0xde00, release: false });
    expect(calls).toEqual(['key 2a down', 'key 1e down', 'key 1e up', 'key 2a up']);
  });

  it('moves before pressing, maps buttons 1–5 (left, right, middle, back, forward) and clamps to the screen', () => {
    const { calls, handler } = recorder();
    handler.handle({ kind: 'mouse', x: 5000, y: -3, move: false, buttons: [{ index: 1, down: true }, { index: 2, down: true }] });
    handler.handle({ kind: 'mouse', x: 10, y: 20, move: false, buttons: [{ index: 3, down: true }, { index: 4, down: false }, { index: 5, down: true }] });
    expect(calls).toEqual([
      'to 1023,0',
      `button ${MouseButton.Left} down`,
      `button ${MouseButton.Right} down`,
      'to 10,20',
      `button ${MouseButton.Middle} down`,
      `button ${MouseButton.Side} up`,
      `button ${MouseButton.Extra} down`,
    ]);
  });

  it('turns wheel rotation into notches (120 units each, remainders kept), both wheels and both ways', () => {
    const { calls, handler } = recorder();
    handler.handle({ kind: 'mouse', x: 0, y: 0, move: false, buttons: [], wheel: { vertical: true, delta: 240 } });
    handler.handle({ kind: 'mouse', x: 0, y: 0, move: false, buttons: [], wheel: { vertical: true, delta: -60 } });
    handler.handle({ kind: 'mouse', x: 0, y: 0, move: false, buttons: [], wheel: { vertical: true, delta: -60 } });
    handler.handle({ kind: 'mouse', x: 0, y: 0, move: false, buttons: [], wheel: { vertical: false, delta: 120 } });
    handler.handle({ kind: 'mouse', x: 0, y: 0, move: false, buttons: [], wheel: { vertical: false, delta: -120 } });
    const { WheelUp, WheelDown, WheelRight, WheelLeft } = MouseButton;
    expect(calls).toEqual(
      [WheelUp, WheelUp, WheelDown, WheelRight, WheelLeft].flatMap((b) => [`button ${b} down`, `button ${b} up`]),
    );
  });

  it('passes relative motion on, and presses the lock keys whose state differs at a sync event', () => {
    const { calls, handler } = recorder(QEMU_LED_CAPS);
    handler.handle({ kind: 'relativeMouse', dx: -4, dy: 7, move: true, buttons: [] });
    handler.handle({ kind: 'sync', capsLock: false, numLock: true, scrollLock: false, kanaLock: false });
    expect(calls).toEqual([
      'by -4,7',
      `key ${QNUM.CAPS_LOCK.toString(16)} down`,
      `key ${QNUM.CAPS_LOCK.toString(16)} up`,
      `key ${QNUM.NUM_LOCK.toString(16)} down`,
      `key ${QNUM.NUM_LOCK.toString(16)} up`,
    ]);
  });
});
