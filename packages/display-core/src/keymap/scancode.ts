/**
 * RDP keyboard scancodes ↔ qnum.
 *
 * RDP sends XT set-1 make codes (MS-RDPBCGR 2.2.8.1.1.3.1.1.1 TS_KEYBOARD_EVENT,
 * and 2.2.8.1.2.2.1 for fast-path), with the `E0` prefix carried as a flag:
 * KBDFLAGS_EXTENDED (slow path) / FASTPATH_INPUT_KBDFLAGS_EXTENDED. A qnum
 * folds that prefix into bit 7, so the mapping is `extended ? 0x80|code : code`.
 *
 * The one exception is Pause. A real keyboard sends `E1 1D 45` for it, and RDP
 * clients forward that as two events: scancode 0x1D (Ctrl) with
 * KBDFLAGS_EXTENDED1 (the `E1` prefix), then scancode 0x45 (Num Lock) without
 * flags — both on press and again on release. Taken literally that would press
 * Ctrl and toggle Num Lock in the guest; `RdpKeyDecoder` turns the pair into
 * one Pause (qnum 0xc6).
 */
import { QNUM } from './qnum.js';

/** TS_KEYBOARD_EVENT keyboardFlags (MS-RDPBCGR 2.2.8.1.1.3.1.1.1). */
export const KBDFLAGS_EXTENDED = 0x0100;
export const KBDFLAGS_EXTENDED1 = 0x0200;
export const KBDFLAGS_DOWN = 0x4000;
export const KBDFLAGS_RELEASE = 0x8000;

/** TS_FP_KEYBOARD_EVENT eventFlags (MS-RDPBCGR 2.2.8.1.2.2.1). */
export const FASTPATH_INPUT_KBDFLAGS_RELEASE = 0x01;
export const FASTPATH_INPUT_KBDFLAGS_EXTENDED = 0x02;
export const FASTPATH_INPUT_KBDFLAGS_PREFIX_E1 = 0x04;

/** The scancode flags that matter for the key, from either path. */
export interface RdpKeyFlags {
  /** `E0` prefix. */
  extended: boolean;
  /** `E1` prefix (only Pause uses it). */
  extended1: boolean;
  /** Key up. */
  release: boolean;
}

export function decodeSlowPathKeyboardFlags(keyboardFlags: number): RdpKeyFlags {
  return {
    extended: (keyboardFlags & KBDFLAGS_EXTENDED) !== 0,
    extended1: (keyboardFlags & KBDFLAGS_EXTENDED1) !== 0,
    release: (keyboardFlags & KBDFLAGS_RELEASE) !== 0,
  };
}

export function decodeFastPathKeyboardFlags(eventFlags: number): RdpKeyFlags {
  return {
    extended: (eventFlags & FASTPATH_INPUT_KBDFLAGS_EXTENDED) !== 0,
    extended1: (eventFlags & FASTPATH_INPUT_KBDFLAGS_PREFIX_E1) !== 0,
    release: (eventFlags & FASTPATH_INPUT_KBDFLAGS_RELEASE) !== 0,
  };
}

/**
 * The qnum of an XT make code, `extended` meaning it came with the `E0`
 * prefix. Undefined for codes that are not make codes (0, or ≥ 0x80 which
 * would be break codes) — the key-up state travels in the flags, not in bit 7.
 */
export function scancodeToQnum(scancode: number, extended: boolean): number | undefined {
  if (!Number.isInteger(scancode) || scancode <= 0 || scancode > 0x7f) return undefined;
  return extended ? 0x80 | scancode : scancode;
}

/**
 * The XT make code and `E0` flag of a qnum. The inverse of `scancodeToQnum`;
 * note Pause gives `{scancode: 0x46, extended: true}` (`E0 46`, Ctrl+Break),
 * which is how the qnum is defined — an RDP client would send the `E1`
 * sequence instead (see `PAUSE_SEQUENCE`).
 */
export function qnumToScancode(qnum: number): { scancode: number; extended: boolean } | undefined {
  if (!Number.isInteger(qnum) || qnum <= 0 || qnum > 0xff || qnum === 0x80) return undefined;
  return { scancode: qnum & 0x7f, extended: (qnum & 0x80) !== 0 };
}

/** What RDP clients send for Pause, on press and again on release. */
export const PAUSE_SEQUENCE: ReadonlyArray<{ scancode: number; extended1: boolean }> = [
  { scancode: 0x1d, extended1: true },
  { scancode: 0x45, extended1: false },
];

/** True when (first, second) is RDP's two-event Pause sequence (both press or both release). */
export function isPauseSequence(
  first: { scancode: number; flags: RdpKeyFlags },
  second: { scancode: number; flags: RdpKeyFlags },
): boolean {
  return (
    first.scancode === 0x1d &&
    first.flags.extended1 &&
    second.scancode === 0x45 &&
    !second.flags.extended &&
    !second.flags.extended1 &&
    first.flags.release === second.flags.release
  );
}

/** One key event for QEMU's Keyboard.Press (down) / Release (!down). */
export interface QnumKeyEvent {
  qnum: number;
  down: boolean;
}

/**
 * Turns RDP keyboard events into qnum key events, one at a time, folding the
 * Pause sequence into a single Pause press or release.
 *
 * `E1 1D` alone already means Pause (nothing else uses the `E1` prefix), so it
 * is reported at once and the Num Lock event that follows it is swallowed.
 * If the next event is something else, nothing is swallowed.
 */
export class RdpKeyDecoder {
  /** Direction of a Pause whose trailing Num Lock event is still expected. */
  private pendingPause: 'down' | 'up' | undefined;

  /** The key event to forward to QEMU, or undefined when the event is swallowed or invalid. */
  decode(scancode: number, flags: RdpKeyFlags): QnumKeyEvent | undefined {
    const down = !flags.release;
    const pending = this.pendingPause;
    this.pendingPause = undefined;
    if (flags.extended1) {
      if (scancode !== 0x1d) return undefined;
      this.pendingPause = down ? 'down' : 'up';
      return { qnum: QNUM.PAUSE, down };
    }
    if (
      pending !== undefined &&
      scancode === 0x45 &&
      !flags.extended &&
      (pending === 'down') === down
    ) {
      return undefined;
    }
    const qnum = scancodeToQnum(scancode, flags.extended);
    return qnum === undefined ? undefined : { qnum, down };
  }

  /** Forget a half-seen Pause sequence (e.g. on focus loss or reconnect). */
  reset(): void {
    this.pendingPause = undefined;
  }
}
