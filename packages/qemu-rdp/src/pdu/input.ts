// Client input events (MS-RDPBCGR 2.2.8.1.1.3 slow-path TS_INPUT_PDU_DATA, 2.2.8.1.2.2 fast-path)
// decoded into one InputEvent union that a server can act on directly: key scancodes, Unicode
// code units, absolute mouse (buttons 1-5 and wheels), relative mouse, lock-key sync and QoE
// timestamps. This file has the slow-path decoder and the flag interpretation both paths share;
// fast-path.ts has decodeFastPathInput.
import { ReadCursor } from './cursor.js';
import { RdpProtocolError } from './errors.js';

/** Button 1 left, 2 right, 3 middle, 4 back (X1), 5 forward (X2). */
export interface MouseButtonChange {
  index: 1 | 2 | 3 | 4 | 5;
  down: boolean;
}

/** A wheel rotation in wheel units (120 per notch). Vertical: positive is away from the user
 * (scroll up). Horizontal: positive is to the right. */
export interface WheelRotation {
  vertical: boolean;
  delta: number;
}

export type InputEvent =
  /** `code` is the scancode; `extended` is the E0 prefix, `extended1` the E1 prefix (Pause). */
  | { kind: 'scancode'; code: number; release: boolean; extended: boolean; extended1: boolean }
  /** One UTF-16 code unit; a character outside the BMP comes as two events (a surrogate pair). */
  | { kind: 'unicode'; codeUnit: number; release: boolean }
  /**
   * Absolute pointer. `move` is PTRFLAGS_MOVE; button changes carry the position they happened
   * at, so servers usually move to (x, y) first. For a wheel event the spec leaves x/y
   * unspecified and there are no buttons.
   */
  | { kind: 'mouse'; x: number; y: number; move: boolean; buttons: MouseButtonChange[]; wheel?: WheelRotation }
  /** Relative pointer motion (TS_FP_RELPOINTER_EVENT), deltas in pixels. */
  | { kind: 'relativeMouse'; dx: number; dy: number; move: boolean; buttons: MouseButtonChange[] }
  /** The client's lock-key state (sent on focus and at connection). */
  | { kind: 'sync'; scrollLock: boolean; numLock: boolean; capsLock: boolean; kanaLock: boolean }
  /** Quality-of-experience timestamp (TS_FP_QOETIMESTAMP_EVENT): safe to ignore. */
  | { kind: 'qoeTimestamp'; timestampMs: number };

/** pointerFlags of TS_POINTER_EVENT / TS_FP_POINTER_EVENT (2.2.8.1.1.3.1.1.3). */
export const PointerFlags = {
  WHEEL_ROTATION_MASK: 0x01ff,
  WHEEL_NEGATIVE: 0x0100,
  WHEEL: 0x0200,
  HWHEEL: 0x0400,
  MOVE: 0x0800,
  BUTTON1: 0x1000,
  BUTTON2: 0x2000,
  BUTTON3: 0x4000,
  DOWN: 0x8000,
} as const;

/** pointerFlags of TS_POINTERX_EVENT (2.2.8.1.1.3.1.1.4). */
export const PointerXFlags = { BUTTON1: 0x0001, BUTTON2: 0x0002, DOWN: 0x8000 } as const;

/** Lock-key flags of the synchronize events (TS_SYNC_EVENT toggleFlags, fast-path eventFlags). */
export const SyncFlags = { SCROLL_LOCK: 0x01, NUM_LOCK: 0x02, CAPS_LOCK: 0x04, KANA_LOCK: 0x08 } as const;

/** Slow-path keyboardFlags (TS_KEYBOARD_EVENT, TS_UNICODE_KEYBOARD_EVENT). */
const KBDFLAGS_EXTENDED = 0x0100;
const KBDFLAGS_EXTENDED1 = 0x0200;
const KBDFLAGS_RELEASE = 0x8000;

/** Slow-path messageType values (TS_INPUT_EVENT). */
const SlowPathEventType = {
  SYNC: 0x0000,
  UNUSED: 0x0002,
  SCANCODE: 0x0004,
  UNICODE: 0x0005,
  MOUSE: 0x8001,
  MOUSEX: 0x8002,
  MOUSEREL: 0x8004,
} as const;

const SLOW_PATH_EVENT_SIZE = 12; // eventTime (4) + messageType (2) + 6 bytes of event data
/** At most this many events are accepted in one slow-path Input Event PDU. */
export const MAX_SLOW_PATH_INPUT_EVENTS = 2048;

function pointerButtons(flags: number): MouseButtonChange[] {
  const down = (flags & PointerFlags.DOWN) !== 0;
  const buttons: MouseButtonChange[] = [];
  if (flags & PointerFlags.BUTTON1) buttons.push({ index: 1, down });
  if (flags & PointerFlags.BUTTON2) buttons.push({ index: 2, down });
  if (flags & PointerFlags.BUTTON3) buttons.push({ index: 3, down });
  return buttons;
}

function extendedButtons(flags: number): MouseButtonChange[] {
  const down = (flags & PointerXFlags.DOWN) !== 0;
  const buttons: MouseButtonChange[] = [];
  if (flags & PointerXFlags.BUTTON1) buttons.push({ index: 4, down });
  if (flags & PointerXFlags.BUTTON2) buttons.push({ index: 5, down });
  return buttons;
}

/** The wheel rotation: a 9-bit two's complement number (WheelRotationMask incl. the sign bit). */
export function wheelDelta(pointerFlags: number): number {
  const rotation = pointerFlags & PointerFlags.WHEEL_ROTATION_MASK;
  return pointerFlags & PointerFlags.WHEEL_NEGATIVE ? rotation - 0x200 : rotation;
}

/** TS_POINTER_EVENT / TS_FP_POINTER_EVENT. */
export function mouseEvent(pointerFlags: number, x: number, y: number): InputEvent {
  if (pointerFlags & (PointerFlags.WHEEL | PointerFlags.HWHEEL)) {
    // Only the rotation counts in a wheel event: other flags are to be ignored.
    const vertical = (pointerFlags & PointerFlags.WHEEL) !== 0;
    return { kind: 'mouse', x, y, move: false, buttons: [], wheel: { vertical, delta: wheelDelta(pointerFlags) } };
  }
  return { kind: 'mouse', x, y, move: (pointerFlags & PointerFlags.MOVE) !== 0, buttons: pointerButtons(pointerFlags) };
}

/** TS_POINTERX_EVENT / TS_FP_POINTERX_EVENT: buttons 4 and 5. */
export function extendedMouseEvent(pointerFlags: number, x: number, y: number): InputEvent {
  return { kind: 'mouse', x, y, move: false, buttons: extendedButtons(pointerFlags) };
}

/** TS_POINTER_REL_EVENT / TS_FP_RELPOINTER_EVENT: flags may hold buttons 1-3 and X buttons. */
export function relativeMouseEvent(pointerFlags: number, dx: number, dy: number): InputEvent {
  // PTRFLAGS_DOWN and PTRXFLAGS_DOWN are the same bit, so one DOWN serves both kinds of button.
  const buttons = [...pointerButtons(pointerFlags), ...extendedButtons(pointerFlags)];
  return { kind: 'relativeMouse', dx, dy, move: (pointerFlags & PointerFlags.MOVE) !== 0, buttons };
}

export function syncEvent(toggleFlags: number): InputEvent {
  return {
    kind: 'sync',
    scrollLock: (toggleFlags & SyncFlags.SCROLL_LOCK) !== 0,
    numLock: (toggleFlags & SyncFlags.NUM_LOCK) !== 0,
    capsLock: (toggleFlags & SyncFlags.CAPS_LOCK) !== 0,
    kanaLock: (toggleFlags & SyncFlags.KANA_LOCK) !== 0,
  };
}

/**
 * The body of a slow-path Input Event PDU (pduType2 INPUT, what follows the Share Data Header):
 * numEvents (u16), pad (u16), then 12-byte TS_INPUT_EVENTs. Unused and unknown event types are
 * skipped (every event has the same size).
 */
export function decodeSlowPathInput(body: Buffer): InputEvent[] {
  const c = new ReadCursor(body, 'slow-path input PDU');
  const numEvents = c.u16le();
  c.skip(2); // pad2Octets
  if (numEvents > MAX_SLOW_PATH_INPUT_EVENTS) {
    throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `slow-path input PDU: ${numEvents} events, at most ${MAX_SLOW_PATH_INPUT_EVENTS} accepted`);
  }
  c.need(numEvents * SLOW_PATH_EVENT_SIZE);
  const events: InputEvent[] = [];
  for (let i = 0; i < numEvents; i++) {
    c.skip(4); // eventTime: ignored by servers
    const event = decodeSlowPathEvent(c.u16le(), c.sub(6, 'slow-path input event'));
    if (event) events.push(event);
  }
  return events;
}

function decodeSlowPathEvent(messageType: number, e: ReadCursor): InputEvent | undefined {
  switch (messageType) {
    case SlowPathEventType.SYNC:
      e.skip(2); // pad2Octets
      return syncEvent(e.u32le());
    case SlowPathEventType.SCANCODE: {
      const flags = e.u16le();
      return {
        kind: 'scancode',
        code: e.u16le(),
        release: (flags & KBDFLAGS_RELEASE) !== 0,
        extended: (flags & KBDFLAGS_EXTENDED) !== 0,
        extended1: (flags & KBDFLAGS_EXTENDED1) !== 0,
      };
    }
    case SlowPathEventType.UNICODE: {
      const flags = e.u16le();
      return { kind: 'unicode', codeUnit: e.u16le(), release: (flags & KBDFLAGS_RELEASE) !== 0 };
    }
    case SlowPathEventType.MOUSE:
      return mouseEvent(e.u16le(), e.u16le(), e.u16le());
    case SlowPathEventType.MOUSEX:
      return extendedMouseEvent(e.u16le(), e.u16le(), e.u16le());
    case SlowPathEventType.MOUSEREL:
      return relativeMouseEvent(e.u16le(), e.i16le(), e.i16le());
    default:
      return undefined; // INPUT_EVENT_UNUSED and unknown types
  }
}
