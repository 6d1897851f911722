/**
 * QEMU "qnum" key numbers — what `org.qemu.Display1.Keyboard.Press/Release` take.
 *
 * A qnum is the XT (PC AT scan code set 1) make code of a key, with the
 * two-byte `E0 xx` codes folded into one byte as `0x80 | xx`. Source of the
 * values: QEMU's keycodemapdb (`data/keymaps.csv`, column "AT set1 keycode",
 * converted by `tools/keymap-gen` exactly this way). Special cases from there:
 *
 * - Pause is `E1 1D 45` on a real keyboard; its qnum is 0xc6 (`E0 46`, the
 *   code a PS/2 keyboard sends for Ctrl+Break), which keycodemapdb assigns it.
 * - Print Screen: keycodemapdb prefers 0x54 (the SysRq code, Alt+PrtSc) but
 *   QEMU also accepts 0xb7 (`E0 37`, the code of the key pressed alone) and maps
 *   both to the same key. We use 0xb7, which is what RDP clients and noVNC send.
 * - Hanja/Hangeul (AT 0xf1/0xf2, keys without break codes) are 0x71/0x72.
 *
 * The same numbers are the keycodes of RFB's QEMU Extended Key Event message
 * and RDP's scancodes (+0x80 when KBDFLAGS_EXTENDED is set), so those need no
 * translation; plain RFB KeyEvents carry X11 keysyms (see x11-keysym.ts).
 */
export const QNUM = {
  ESC: 0x01,
  DIGIT_1: 0x02,
  DIGIT_2: 0x03,
  DIGIT_3: 0x04,
  DIGIT_4: 0x05,
  DIGIT_5: 0x06,
  DIGIT_6: 0x07,
  DIGIT_7: 0x08,
  DIGIT_8: 0x09,
  DIGIT_9: 0x0a,
  DIGIT_0: 0x0b,
  MINUS: 0x0c,
  EQUAL: 0x0d,
  BACKSPACE: 0x0e,
  TAB: 0x0f,
  Q: 0x10,
  W: 0x11,
  E: 0x12,
  R: 0x13,
  T: 0x14,
  Y: 0x15,
  U: 0x16,
  I: 0x17,
  O: 0x18,
  P: 0x19,
  BRACKET_LEFT: 0x1a,
  BRACKET_RIGHT: 0x1b,
  ENTER: 0x1c,
  CTRL_L: 0x1d,
  A: 0x1e,
  S: 0x1f,
  D: 0x20,
  F: 0x21,
  G: 0x22,
  H: 0x23,
  J: 0x24,
  K: 0x25,
  L: 0x26,
  SEMICOLON: 0x27,
  APOSTROPHE: 0x28,
  GRAVE: 0x29,
  SHIFT_L: 0x2a,
  BACKSLASH: 0x2b,
  Z: 0x2c,
  X: 0x2d,
  C: 0x2e,
  V: 0x2f,
  B: 0x30,
  N: 0x31,
  M: 0x32,
  COMMA: 0x33,
  PERIOD: 0x34,
  SLASH: 0x35,
  SHIFT_R: 0x36,
  KP_MULTIPLY: 0x37,
  ALT_L: 0x38,
  SPACE: 0x39,
  CAPS_LOCK: 0x3a,
  F1: 0x3b,
  F2: 0x3c,
  F3: 0x3d,
  F4: 0x3e,
  F5: 0x3f,
  F6: 0x40,
  F7: 0x41,
  F8: 0x42,
  F9: 0x43,
  F10: 0x44,
  NUM_LOCK: 0x45,
  SCROLL_LOCK: 0x46,
  KP_7: 0x47,
  KP_8: 0x48,
  KP_9: 0x49,
  KP_SUBTRACT: 0x4a,
  KP_4: 0x4b,
  KP_5: 0x4c,
  KP_6: 0x4d,
  KP_ADD: 0x4e,
  KP_1: 0x4f,
  KP_2: 0x50,
  KP_3: 0x51,
  KP_0: 0x52,
  KP_DECIMAL: 0x53,
  /** SysRq (Alt+Print Screen); QEMU's preferred code for the Print key too. */
  SYSRQ: 0x54,
  F16: 0x55,
  /** The 105th key of ISO keyboards, between left Shift and Z (`<>|` on many layouts). */
  LESS: 0x56,
  F11: 0x57,
  F12: 0x58,
  KP_EQUALS: 0x59,
  F20: 0x5a,
  F13: 0x5d,
  F14: 0x5e,
  F15: 0x5f,
  F23: 0x6d,
  F24: 0x6f,
  KATAKANAHIRAGANA: 0x70,
  HANJA: 0x71,
  HANGEUL: 0x72,
  RO: 0x73,
  F21: 0x74,
  HENKAN: 0x79,
  MUHENKAN: 0x7b,
  YEN: 0x7d,
  KP_COMMA: 0x7e,
  F17: 0x83,
  F19: 0x84,
  AUDIO_PREV: 0x90,
  AUDIO_NEXT: 0x99,
  KP_ENTER: 0x9c,
  CTRL_R: 0x9d,
  AUDIO_MUTE: 0xa0,
  CALCULATOR: 0xa1,
  AUDIO_PLAY: 0xa2,
  AUDIO_STOP: 0xa4,
  VOLUME_DOWN: 0xae,
  VOLUME_UP: 0xb0,
  AC_HOME: 0xb2,
  KP_DIVIDE: 0xb5,
  /** Print Screen pressed alone (`E0 37`); see the note above about 0x54. */
  PRINT: 0xb7,
  /** Right Alt; AltGr on international layouts. */
  ALT_R: 0xb8,
  PAUSE: 0xc6,
  HOME: 0xc7,
  UP: 0xc8,
  PAGE_UP: 0xc9,
  LEFT: 0xcb,
  RIGHT: 0xcd,
  END: 0xcf,
  DOWN: 0xd0,
  PAGE_DOWN: 0xd1,
  INSERT: 0xd2,
  DELETE: 0xd3,
  /** Left Windows/Super key (Linux KEY_LEFTMETA). */
  SUPER_L: 0xdb,
  /** Right Windows/Super key (Linux KEY_RIGHTMETA). */
  SUPER_R: 0xdc,
  /** Context-menu key (Linux KEY_COMPOSE, QEMU qcode "compose"). */
  MENU: 0xdd,
  POWER: 0xde,
  SLEEP: 0xdf,
  WAKE: 0xe3,
  AC_SEARCH: 0xe5,
  AC_BOOKMARKS: 0xe6,
  AC_REFRESH: 0xe7,
  AC_STOP: 0xe8,
  AC_FORWARD: 0xe9,
  AC_BACK: 0xea,
  COMPUTER: 0xeb,
  MAIL: 0xec,
  MEDIA_SELECT: 0xed,
  F18: 0xf7,
  F22: 0xf9,
} as const;

export type QnumName = keyof typeof QNUM;

const NAME_BY_QNUM: ReadonlyMap<number, QnumName> = new Map(
  (Object.keys(QNUM) as QnumName[]).map((name) => [QNUM[name], name] as const),
);

/** The constant name of a qnum (for logs), or undefined when it is not one we name. */
export function qnumName(qnum: number): QnumName | undefined {
  return NAME_BY_QNUM.get(qnum);
}

/** True for a number QEMU can take as a key: one byte, not 0 (which means "no key"). */
export function isValidQnum(qnum: number): boolean {
  return Number.isInteger(qnum) && qnum > 0 && qnum <= 0xff;
}
