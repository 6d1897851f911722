/**
 * Mouse buttons: QEMU D-Bus button numbers and RFB PointerEvent button masks.
 *
 * QEMU's `org.qemu.Display1.Mouse.Press/Release` take QEMU's InputButton
 * values (the interface XML lists 0–6; 7 and 8, horizontal wheel, exist in
 * QEMU's InputButton enum too). A wheel step is a press and release of a
 * wheel "button", as in RFB.
 */
export const MouseButton = {
  Left: 0,
  Middle: 1,
  Right: 2,
  WheelUp: 3,
  WheelDown: 4,
  /** Side button (Linux BTN_SIDE): "back" in browsers. */
  Side: 5,
  /** Extra button (Linux BTN_EXTRA): "forward" in browsers. */
  Extra: 6,
  WheelLeft: 7,
  WheelRight: 8,
} as const;

export type MouseButton = (typeof MouseButton)[keyof typeof MouseButton];

/**
 * QEMU button for each bit of an RFB button mask (RFC 6143 §7.5.5: buttons 1–8
 * are bits 0–7; 1/2/3 left/middle/right, 4/5 wheel up/down). Bits 5 and 6 are
 * X11 buttons 6/7, the horizontal wheel. Bits 7 and 8 are X11 buttons 8/9,
 * back/forward: button 8 fits in the plain mask's top bit; both need the
 * ExtendedMouseButtons pseudo-encoding (-316) to arrive together — see
 * `combineRfbButtonMask`.
 */
const RFB_BIT_TO_QEMU: readonly MouseButton[] = [
  MouseButton.Left,
  MouseButton.Middle,
  MouseButton.Right,
  MouseButton.WheelUp,
  MouseButton.WheelDown,
  MouseButton.WheelLeft,
  MouseButton.WheelRight,
  MouseButton.Side,
  MouseButton.Extra,
];

/** Bits of the combined (up to 9-bit) RFB button mask that we understand. */
export const RFB_BUTTON_MASK_BITS = 0x1ff;

/**
 * The full button mask of a PointerEvent. Without ExtendedMouseButtons the
 * message's u8 is the mask (bit 7 = button 8, back). With it, a set bit 7 is
 * a marker that one more u8 follows whose bits 0 and 1 are buttons 8 and 9
 * (back, forward); pass that byte as `extraByte`, or undefined when the
 * message had none.
 */
export function combineRfbButtonMask(buttonMask: number, extraByte?: number): number {
  if (extraByte === undefined) return buttonMask & 0xff;
  return (buttonMask & 0x7f) | ((extraByte & 0x03) << 7);
}

/** The QEMU buttons held down in an RFB button mask, in bit order. */
export function rfbButtonMaskToQemu(mask: number): MouseButton[] {
  const out: MouseButton[] = [];
  for (let bit = 0; bit < RFB_BIT_TO_QEMU.length; bit++) {
    if (mask & (1 << bit)) out.push(RFB_BIT_TO_QEMU[bit]);
  }
  return out;
}

/**
 * The presses and releases that take QEMU from `prevMask` to `newMask` (both
 * RFB button masks). Send the releases first, so that a swap of buttons in
 * one event never shows the guest two buttons held at once. A wheel step (the wheel bit set then cleared in the
 * next event) comes out as a press then a release, which is what QEMU wants.
 */
export function diffButtons(prevMask: number, newMask: number): { press: MouseButton[]; release: MouseButton[] } {
  const changed = (prevMask ^ newMask) & RFB_BUTTON_MASK_BITS;
  return {
    press: rfbButtonMaskToQemu(changed & newMask),
    release: rfbButtonMaskToQemu(changed & prevMask),
  };
}
