// Client input (slow-path or fast-path, already decoded into InputEvents) → QEMU's keyboard
// and mouse through display-core: scancodes → qnum (Pause folded), Unicode → US-layout
// keystrokes, absolute pointer (display-core feeds a relative-only guest deltas), buttons
// 1–5 and both wheels, and the lock-key sync.
import {
  MouseButton,
  RdpKeyDecoder,
  decodeLockModifiers,
  lockKeysToToggle,
  pressKeystroke,
  textToKeystrokes,
  type QemuDisplay,
} from '@vdi-sidecar/display-core';
import type { InputEvent, MouseButtonChange, WheelRotation } from '../pdu/input.js';

/** RDP button index (1 left, 2 right, 3 middle, 4 back, 5 forward) → QEMU button. */
const BUTTONS: Record<MouseButtonChange['index'], MouseButton> = {
  1: MouseButton.Left,
  2: MouseButton.Right,
  3: MouseButton.Middle,
  4: MouseButton.Side,
  5: MouseButton.Extra,
};

/** One wheel notch is 120 units (WHEEL_DELTA); smaller rotations add up until a notch is due. */
const WHEEL_NOTCH = 120;

export class RdpInputHandler {
  private readonly keys = new RdpKeyDecoder();
  private highSurrogate: number | undefined;
  private readonly wheelRest = { vertical: 0, horizontal: 0 };

  constructor(private readonly display: QemuDisplay) {}

  handle(event: InputEvent): void {
    const display = this.display;
    switch (event.kind) {
      case 'scancode': {
        const key = this.keys.decode(event.code, { release: event.release, extended: event.extended, extended1: event.extended1 });
        if (key) display.key(key.qnum, key.down);
        return;
      }
      case 'unicode':
        this.unicode(event.codeUnit, event.release);
        return;
      case 'mouse':
        if (event.move || event.buttons.length) this.pointerTo(event.x, event.y);
        for (const b of event.buttons) display.mouseButton(BUTTONS[b.index], b.down);
        if (event.wheel) this.wheel(event.wheel);
        return;
      case 'relativeMouse':
        if (event.dx || event.dy) display.relativeMotion(event.dx, event.dy);
        for (const b of event.buttons) display.mouseButton(BUTTONS[b.index], b.down);
        return;
      case 'sync': {
        // The client's lock state at focus-in: make the guest's match (press the lock keys that differ).
        for (const q of lockKeysToToggle(decodeLockModifiers(display.modifiers), event)) {
          display.key(q, true);
          display.key(q, false);
        }
        this.keys.reset();
        return;
      }
      case 'qoeTimestamp':
        return;
    }
  }

  private pointerTo(x: number, y: number): void {
    const fb = this.display.framebuffer;
    this.display.pointerTo(Math.min(Math.max(0, x), Math.max(0, fb.width - 1)), Math.min(Math.max(0, y), Math.max(0, fb.height - 1)));
  }

  private wheel(w: WheelRotation): void {
    const axis = w.vertical ? 'vertical' : 'horizontal';
    let total = this.wheelRest[axis] + w.delta;
    // Positive is up (vertical) or right (horizontal), MS-RDPBCGR 2.2.8.1.1.3.1.1.3.
    const button = w.vertical ? (total > 0 ? MouseButton.WheelUp : MouseButton.WheelDown) : total > 0 ? MouseButton.WheelRight : MouseButton.WheelLeft;
    while (Math.abs(total) >= WHEEL_NOTCH) {
      this.display.mouseButton(button, true);
      this.display.mouseButton(button, false);
      total -= Math.sign(total) * WHEEL_NOTCH;
    }
    this.wheelRest[axis] = total;
  }

  /** A Unicode key event types its character on the guest's (US) layout when pressed. */
  private unicode(codeUnit: number, release: boolean): void {
    if (codeUnit >= 0xd800 && codeUnit <= 0xdbff) {
      if (!release) this.highSurrogate = codeUnit;
      return;
    }
    if (release) return;
    const high = this.highSurrogate;
    this.highSurrogate = undefined;
    const text = high !== undefined && codeUnit >= 0xdc00 && codeUnit <= 0xdfff ? String.fromCharCode(high, codeUnit) : String.fromCharCode(codeUnit);
    let strokes;
    try {
      strokes = textToKeystrokes(text);
    } catch {
      return; // no key for it on a US layout: nothing to press
    }
    for (const s of strokes) pressKeystroke(this.display, s);
  }
}
