// Keystroke sequences on top of QemuDisplay's raw key presses: typing text and
// pressing combinations, as the CLI and servers' "type clipboard"/Ctrl+Alt+Del need.
import type { QemuDisplay } from './display.js';
import { decodeLockModifiers, parseKeyCombo, QNUM, textToKeystrokes, type KeyStroke } from './keymap/index.js';

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Presses every key of `combo` (e.g. "ctrl+alt+delete") in order, then releases them in reverse. */
export async function pressCombo(display: QemuDisplay, combo: string, holdMs = 20): Promise<void> {
  const keys = parseKeyCombo(combo);
  for (const k of keys) display.key(k, true);
  await delay(holdMs);
  for (const k of [...keys].reverse()) display.key(k, false);
}

/**
 * Types `text` on the US layout, faking Shift/AltGr where a character needs it (and
 * inverting Shift for letters while the guest's Caps Lock is on).
 * `gapMs` paces the keys: a PS/2 guest drops keys that come faster than it polls.
 */
export async function typeText(display: QemuDisplay, text: string, gapMs = 10): Promise<void> {
  for (const stroke of textToKeystrokes(text)) {
    pressKeystroke(display, stroke);
    await delay(gapMs);
  }
}

/**
 * Presses and releases one keystroke's key with the Shift/AltGr it needs (Shift inverted
 * for letters while the guest's Caps Lock is on).
 */
export function pressKeystroke(display: QemuDisplay, stroke: KeyStroke): void {
  const shift = stroke.caps && decodeLockModifiers(display.modifiers).capsLock ? !stroke.shift : stroke.shift;
  if (shift) display.key(QNUM.SHIFT_L, true);
  if (stroke.altgr) display.key(QNUM.ALT_R, true);
  display.key(stroke.qnum, true);
  display.key(stroke.qnum, false);
  if (stroke.altgr) display.key(QNUM.ALT_R, false);
  if (shift) display.key(QNUM.SHIFT_L, false);
}
