/**
 * Lock-key (LED) state in the three encodings we meet, and the keys to press
 * to bring the guest's locks to a wanted state.
 *
 * All three happen to use the same bits (Scroll 1, Num 2, Caps 4):
 * - QEMU D-Bus `org.qemu.Display1.Keyboard.Modifiers` (u): "Scroll = 1 << 0,
 *   Num = 1 << 1, Caps = 1 << 2" (doc comment in the interface XML; QEMU
 *   fills it from the guest's keyboard LED state).
 * - RFB LED State pseudo-encoding (-261; rfbproto "QEMU LED State" and QEMU's
 *   docs/interop/vnc-ledstate-pseudo-encoding.rst): one u8 whose three low
 *   bits are, from high to low, Caps, Num, Scroll (0b100 = Caps Lock only).
 * - RDP TS_SYNC_EVENT toggleFlags (MS-RDPBCGR 2.2.8.1.1.3.1.1.5) and the Set
 *   Keyboard Indicators PDU's ledFlags (2.2.8.2.1.1): TS_SYNC_SCROLL_LOCK 0x1,
 *   TS_SYNC_NUM_LOCK 0x2, TS_SYNC_CAPS_LOCK 0x4, TS_SYNC_KANA_LOCK 0x8.
 * They are still kept apart so each call site says which wire format it means.
 */
import { QNUM } from './qnum.js';

export interface LockState {
  scrollLock: boolean;
  numLock: boolean;
  capsLock: boolean;
  /** Only RDP carries Kana Lock; QEMU neither reports nor needs it for a PC keyboard. */
  kanaLock?: boolean;
}

export const QEMU_LED_SCROLL = 1 << 0;
export const QEMU_LED_NUM = 1 << 1;
export const QEMU_LED_CAPS = 1 << 2;

export const TS_SYNC_SCROLL_LOCK = 0x1;
export const TS_SYNC_NUM_LOCK = 0x2;
export const TS_SYNC_CAPS_LOCK = 0x4;
export const TS_SYNC_KANA_LOCK = 0x8;

/** Decode QEMU's D-Bus `Keyboard.Modifiers` property. */
export function decodeLockModifiers(modifiers: number): LockState {
  return {
    scrollLock: (modifiers & QEMU_LED_SCROLL) !== 0,
    numLock: (modifiers & QEMU_LED_NUM) !== 0,
    capsLock: (modifiers & QEMU_LED_CAPS) !== 0,
  };
}

/** Encode as QEMU's D-Bus `Keyboard.Modifiers` (for tests and fakes of QEMU). */
export function encodeLockModifiers(state: LockState): number {
  return (state.scrollLock ? QEMU_LED_SCROLL : 0) | (state.numLock ? QEMU_LED_NUM : 0) | (state.capsLock ? QEMU_LED_CAPS : 0);
}

/** The u8 of an RFB QEMU LED State pseudo-rectangle (encoding -261). */
export function encodeRfbLedState(state: LockState): number {
  return (state.scrollLock ? 1 : 0) | (state.numLock ? 2 : 0) | (state.capsLock ? 4 : 0);
}

export function decodeRfbLedState(byte: number): LockState {
  return { scrollLock: (byte & 1) !== 0, numLock: (byte & 2) !== 0, capsLock: (byte & 4) !== 0 };
}

/** Decode a TS_SYNC_EVENT's toggleFlags (the client's lock state at focus-in). */
export function decodeRdpToggleFlags(flags: number): LockState {
  return {
    scrollLock: (flags & TS_SYNC_SCROLL_LOCK) !== 0,
    numLock: (flags & TS_SYNC_NUM_LOCK) !== 0,
    capsLock: (flags & TS_SYNC_CAPS_LOCK) !== 0,
    kanaLock: (flags & TS_SYNC_KANA_LOCK) !== 0,
  };
}

/** Encode as TS_SYNC_* flags, e.g. the ledFlags of a Set Keyboard Indicators PDU. */
export function encodeRdpToggleFlags(state: LockState): number {
  return (
    (state.scrollLock ? TS_SYNC_SCROLL_LOCK : 0) |
    (state.numLock ? TS_SYNC_NUM_LOCK : 0) |
    (state.capsLock ? TS_SYNC_CAPS_LOCK : 0) |
    (state.kanaLock ? TS_SYNC_KANA_LOCK : 0)
  );
}

/**
 * The lock keys to press and release, in this order, to take the guest from
 * `current` to `wanted` (Caps, Num, Scroll). A lock left undefined in
 * `wanted` is not touched; Kana is ignored (no such key on a PC keyboard).
 */
export function lockKeysToToggle(current: LockState, wanted: Partial<LockState>): number[] {
  const keys: number[] = [];
  if (wanted.capsLock !== undefined && wanted.capsLock !== current.capsLock) keys.push(QNUM.CAPS_LOCK);
  if (wanted.numLock !== undefined && wanted.numLock !== current.numLock) keys.push(QNUM.NUM_LOCK);
  if (wanted.scrollLock !== undefined && wanted.scrollLock !== current.scrollLock) keys.push(QNUM.SCROLL_LOCK);
  return keys;
}
