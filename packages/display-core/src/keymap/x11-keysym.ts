/**
 * X11 keysym → qnum for a guest using the US keyboard layout.
 *
 * A plain RFB KeyEvent (RFC 6143 §7.5.4) carries an X11 keysym — the *symbol*
 * the client's layout produced, not the physical key. To press a key in the
 * guest the server must pick the physical key that yields that symbol on the
 * guest's layout and decide whether Shift has to be held (or faked, or
 * released) for it: `A` is the `a` key with Shift, `!` is the `1` key with
 * Shift. The answer depends on the guest's layout; this table assumes US.
 * Clients that support RFB's QEMU Extended Key Event send the qnum directly
 * and need none of this.
 *
 * Keysym values are from X11's keysymdef.h and XF86keysym.h; the keys they sit
 * on are from QEMU's keycodemapdb (`data/keymaps.csv`) and the US layout.
 */
import { QNUM } from './qnum.js';

export interface KeyStroke {
  /** The physical key, as a QEMU qnum. */
  qnum: number;
  /** The symbol needs Shift held on the US layout (`A`, `!`, `?`). */
  shift: boolean;
  /** The symbol needs AltGr (right Alt) held; never true for the US layout, kept for other layouts. */
  altgr?: boolean;
  /** A letter: Caps Lock inverts what Shift does, so the server must take the guest's Caps Lock into account. */
  caps?: boolean;
  /**
   * Keypad keys whose meaning depends on Num Lock: true when the keysym is the
   * Num Lock *on* meaning (KP_1), false for the *off* meaning (KP_End, on the
   * same key). Undefined for keys that do not care.
   */
  numLock?: boolean;
}

/** Keysyms outside ASCII that name keys (keysymdef.h values). */
export const XK = {
  BackSpace: 0xff08,
  Tab: 0xff09,
  Linefeed: 0xff0a,
  Clear: 0xff0b,
  Return: 0xff0d,
  Pause: 0xff13,
  Scroll_Lock: 0xff14,
  Sys_Req: 0xff15,
  Escape: 0xff1b,
  Home: 0xff50,
  Left: 0xff51,
  Up: 0xff52,
  Right: 0xff53,
  Down: 0xff54,
  Page_Up: 0xff55,
  Page_Down: 0xff56,
  End: 0xff57,
  Begin: 0xff58,
  Print: 0xff61,
  Insert: 0xff63,
  Menu: 0xff67,
  Break: 0xff6b,
  Mode_switch: 0xff7e,
  Num_Lock: 0xff7f,
  KP_Space: 0xff80,
  KP_Tab: 0xff89,
  KP_Enter: 0xff8d,
  KP_Home: 0xff95,
  KP_Left: 0xff96,
  KP_Up: 0xff97,
  KP_Right: 0xff98,
  KP_Down: 0xff99,
  KP_Page_Up: 0xff9a,
  KP_Page_Down: 0xff9b,
  KP_End: 0xff9c,
  KP_Begin: 0xff9d,
  KP_Insert: 0xff9e,
  KP_Delete: 0xff9f,
  KP_Multiply: 0xffaa,
  KP_Add: 0xffab,
  KP_Separator: 0xffac,
  KP_Subtract: 0xffad,
  KP_Decimal: 0xffae,
  KP_Divide: 0xffaf,
  KP_0: 0xffb0,
  KP_9: 0xffb9,
  KP_Equal: 0xffbd,
  F1: 0xffbe,
  F24: 0xffd5,
  Shift_L: 0xffe1,
  Shift_R: 0xffe2,
  Control_L: 0xffe3,
  Control_R: 0xffe4,
  Caps_Lock: 0xffe5,
  Meta_L: 0xffe7,
  Meta_R: 0xffe8,
  Alt_L: 0xffe9,
  Alt_R: 0xffea,
  Super_L: 0xffeb,
  Super_R: 0xffec,
  Hyper_L: 0xffed,
  Hyper_R: 0xffee,
  ISO_Level3_Shift: 0xfe03,
  ISO_Left_Tab: 0xfe20,
  Delete: 0xffff,
  XF86AudioLowerVolume: 0x1008ff11,
  XF86AudioMute: 0x1008ff12,
  XF86AudioRaiseVolume: 0x1008ff13,
  XF86AudioPlay: 0x1008ff14,
  XF86AudioStop: 0x1008ff15,
  XF86AudioPrev: 0x1008ff16,
  XF86AudioNext: 0x1008ff17,
  XF86HomePage: 0x1008ff18,
  XF86Mail: 0x1008ff19,
  XF86Search: 0x1008ff1b,
  XF86Calculator: 0x1008ff1d,
  XF86Back: 0x1008ff26,
  XF86Forward: 0x1008ff27,
  XF86Stop: 0x1008ff28,
  XF86Refresh: 0x1008ff29,
  XF86PowerOff: 0x1008ff2a,
  XF86WakeUp: 0x1008ff2b,
  XF86Sleep: 0x1008ff2f,
  XF86Favorites: 0x1008ff30,
  XF86AudioPause: 0x1008ff31,
  XF86AudioMedia: 0x1008ff32,
  XF86MyComputer: 0x1008ff33,
} as const;

/**
 * Printable ASCII on the US layout: for each code point 0x20..0x7e, the key
 * and whether it is the shifted symbol of that key. Keysyms 0x20..0x7e equal
 * their ASCII code points (keysymdef.h, Latin-1 block).
 */
const US_ASCII: ReadonlyMap<number, KeyStroke> = (() => {
  const m = new Map<number, KeyStroke>();
  const put = (ch: string, qnum: number, shift: boolean): void => {
    m.set(ch.charCodeAt(0), { qnum, shift });
  };
  // Each row: the key's unshifted symbol, its shifted symbol, its qnum.
  const pairs: ReadonlyArray<readonly [string, string, number]> = [
    ['1', '!', QNUM.DIGIT_1],
    ['2', '@', QNUM.DIGIT_2],
    ['3', '#', QNUM.DIGIT_3],
    ['4', '$', QNUM.DIGIT_4],
    ['5', '%', QNUM.DIGIT_5],
    ['6', '^', QNUM.DIGIT_6],
    ['7', '&', QNUM.DIGIT_7],
    ['8', '*', QNUM.DIGIT_8],
    ['9', '(', QNUM.DIGIT_9],
    ['0', ')', QNUM.DIGIT_0],
    ['-', '_', QNUM.MINUS],
    ['=', '+', QNUM.EQUAL],
    ['[', '{', QNUM.BRACKET_LEFT],
    [']', '}', QNUM.BRACKET_RIGHT],
    [';', ':', QNUM.SEMICOLON],
    ["'", '"', QNUM.APOSTROPHE],
    ['`', '~', QNUM.GRAVE],
    ['\\', '|', QNUM.BACKSLASH],
    [',', '<', QNUM.COMMA],
    ['.', '>', QNUM.PERIOD],
    ['/', '?', QNUM.SLASH],
  ];
  for (const [plain, shifted, qnum] of pairs) {
    put(plain, qnum, false);
    put(shifted, qnum, true);
  }
  put(' ', QNUM.SPACE, false);
  const letterKeys = 'qwertyuiopasdfghjklzxcvbnm';
  for (const ch of letterKeys) {
    const qnum = QNUM[ch.toUpperCase() as keyof typeof QNUM];
    m.set(ch.charCodeAt(0), { qnum, shift: false, caps: true });
    m.set(ch.toUpperCase().charCodeAt(0), { qnum, shift: true, caps: true });
  }
  return m;
})();

const FUNCTION_KEYS: ReadonlyMap<number, KeyStroke> = (() => {
  const m = new Map<number, KeyStroke>();
  const key = (keysym: number, qnum: number, extra?: Partial<KeyStroke>): void => {
    m.set(keysym, { qnum, shift: false, ...extra });
  };
  key(XK.BackSpace, QNUM.BACKSPACE);
  key(XK.Tab, QNUM.TAB);
  // Shift+Tab arrives as ISO_Left_Tab from XKB clients.
  key(XK.ISO_Left_Tab, QNUM.TAB, { shift: true });
  key(XK.Linefeed, QNUM.ENTER);
  key(XK.Return, QNUM.ENTER);
  key(XK.Pause, QNUM.PAUSE);
  // Ctrl+Pause gives Break on X11; the client already holds Ctrl.
  key(XK.Break, QNUM.PAUSE);
  key(XK.Scroll_Lock, QNUM.SCROLL_LOCK);
  key(XK.Sys_Req, QNUM.SYSRQ);
  key(XK.Escape, QNUM.ESC);
  key(XK.Home, QNUM.HOME);
  key(XK.Left, QNUM.LEFT);
  key(XK.Up, QNUM.UP);
  key(XK.Right, QNUM.RIGHT);
  key(XK.Down, QNUM.DOWN);
  key(XK.Page_Up, QNUM.PAGE_UP);
  key(XK.Page_Down, QNUM.PAGE_DOWN);
  key(XK.End, QNUM.END);
  key(XK.Print, QNUM.PRINT);
  key(XK.Insert, QNUM.INSERT);
  key(XK.Delete, QNUM.DELETE);
  key(XK.Menu, QNUM.MENU);
  key(XK.Num_Lock, QNUM.NUM_LOCK);
  key(XK.Caps_Lock, QNUM.CAPS_LOCK);

  key(XK.Shift_L, QNUM.SHIFT_L);
  key(XK.Shift_R, QNUM.SHIFT_R);
  key(XK.Control_L, QNUM.CTRL_L);
  key(XK.Control_R, QNUM.CTRL_R);
  key(XK.Alt_L, QNUM.ALT_L);
  key(XK.Alt_R, QNUM.ALT_R);
  // keycodemapdb pairs Meta_L/R with KEY_LEFTMETA/RIGHTMETA, the Windows keys.
  key(XK.Meta_L, QNUM.SUPER_L);
  key(XK.Meta_R, QNUM.SUPER_R);
  key(XK.Super_L, QNUM.SUPER_L);
  key(XK.Super_R, QNUM.SUPER_R);
  key(XK.Hyper_L, QNUM.SUPER_L);
  key(XK.Hyper_R, QNUM.SUPER_R);
  // AltGr: what the right Alt key produces on international layouts.
  key(XK.ISO_Level3_Shift, QNUM.ALT_R);
  key(XK.Mode_switch, QNUM.ALT_R);

  // Keypad, Num Lock independent keys.
  key(XK.KP_Enter, QNUM.KP_ENTER);
  key(XK.KP_Multiply, QNUM.KP_MULTIPLY);
  key(XK.KP_Add, QNUM.KP_ADD);
  key(XK.KP_Subtract, QNUM.KP_SUBTRACT);
  key(XK.KP_Divide, QNUM.KP_DIVIDE);
  key(XK.KP_Equal, QNUM.KP_EQUALS);
  key(XK.KP_Space, QNUM.SPACE);
  key(XK.KP_Tab, QNUM.TAB);
  // Keypad with Num Lock on: digits and the decimal separator. KP_Separator
  // is what comma-decimal layouts put on the keypad's decimal key.
  const kpDigits = [QNUM.KP_0, QNUM.KP_1, QNUM.KP_2, QNUM.KP_3, QNUM.KP_4, QNUM.KP_5, QNUM.KP_6, QNUM.KP_7, QNUM.KP_8, QNUM.KP_9];
  kpDigits.forEach((qnum, i) => key(XK.KP_0 + i, qnum, { numLock: true }));
  key(XK.KP_Decimal, QNUM.KP_DECIMAL, { numLock: true });
  key(XK.KP_Separator, QNUM.KP_DECIMAL, { numLock: true });
  // Keypad with Num Lock off: the navigation meanings of the same keys.
  key(XK.KP_Home, QNUM.KP_7, { numLock: false });
  key(XK.KP_Up, QNUM.KP_8, { numLock: false });
  key(XK.KP_Page_Up, QNUM.KP_9, { numLock: false });
  key(XK.KP_Left, QNUM.KP_4, { numLock: false });
  key(XK.KP_Begin, QNUM.KP_5, { numLock: false });
  key(XK.KP_Right, QNUM.KP_6, { numLock: false });
  key(XK.KP_End, QNUM.KP_1, { numLock: false });
  key(XK.KP_Down, QNUM.KP_2, { numLock: false });
  key(XK.KP_Page_Down, QNUM.KP_3, { numLock: false });
  key(XK.KP_Insert, QNUM.KP_0, { numLock: false });
  key(XK.KP_Delete, QNUM.KP_DECIMAL, { numLock: false });

  const fKeys = [
    QNUM.F1, QNUM.F2, QNUM.F3, QNUM.F4, QNUM.F5, QNUM.F6, QNUM.F7, QNUM.F8,
    QNUM.F9, QNUM.F10, QNUM.F11, QNUM.F12, QNUM.F13, QNUM.F14, QNUM.F15, QNUM.F16,
    QNUM.F17, QNUM.F18, QNUM.F19, QNUM.F20, QNUM.F21, QNUM.F22, QNUM.F23, QNUM.F24,
  ];
  fKeys.forEach((qnum, i) => key(XK.F1 + i, qnum));

  key(XK.XF86AudioLowerVolume, QNUM.VOLUME_DOWN);
  key(XK.XF86AudioMute, QNUM.AUDIO_MUTE);
  key(XK.XF86AudioRaiseVolume, QNUM.VOLUME_UP);
  key(XK.XF86AudioPlay, QNUM.AUDIO_PLAY);
  key(XK.XF86AudioPause, QNUM.AUDIO_PLAY);
  key(XK.XF86AudioStop, QNUM.AUDIO_STOP);
  key(XK.XF86AudioPrev, QNUM.AUDIO_PREV);
  key(XK.XF86AudioNext, QNUM.AUDIO_NEXT);
  key(XK.XF86HomePage, QNUM.AC_HOME);
  key(XK.XF86Mail, QNUM.MAIL);
  key(XK.XF86Search, QNUM.AC_SEARCH);
  key(XK.XF86Calculator, QNUM.CALCULATOR);
  key(XK.XF86Back, QNUM.AC_BACK);
  key(XK.XF86Forward, QNUM.AC_FORWARD);
  key(XK.XF86Stop, QNUM.AC_STOP);
  key(XK.XF86Refresh, QNUM.AC_REFRESH);
  key(XK.XF86PowerOff, QNUM.POWER);
  key(XK.XF86WakeUp, QNUM.WAKE);
  key(XK.XF86Sleep, QNUM.SLEEP);
  key(XK.XF86Favorites, QNUM.AC_BOOKMARKS);
  key(XK.XF86AudioMedia, QNUM.MEDIA_SELECT);
  key(XK.XF86MyComputer, QNUM.COMPUTER);
  return m;
})();

/**
 * Keysyms 0x01000000 + code point are X11's "Unicode keysyms"
 * (keysymdef.h, "Unicode characters"); some clients send them even for ASCII.
 */
const UNICODE_KEYSYM_BASE = 0x01000000;

/**
 * The physical key (qnum) and the Shift state that produce `keysym` on a US
 * layout guest, or undefined when the US layout has no key for it — a server
 * should then ignore the event (or log it) rather than guess.
 *
 * Only ASCII characters are typeable: the plain US layout has no Latin-1
 * characters beyond ASCII (no AltGr level), so e.g. XK_eacute is undefined.
 * The 105th ISO key (`QNUM.LESS`, 0x56) is never chosen: on the US layout `<`
 * and `>` are Shift+comma/period and `\`/`|` are on the backslash key.
 */
export function keysymToQnum(keysym: number): KeyStroke | undefined {
  let sym = keysym >>> 0;
  if (sym >= UNICODE_KEYSYM_BASE + 0x20 && sym <= UNICODE_KEYSYM_BASE + 0x7e) {
    sym -= UNICODE_KEYSYM_BASE;
  }
  const found = sym <= 0x7e ? US_ASCII.get(sym) : FUNCTION_KEYS.get(sym);
  // Copy, so callers may adjust the result without touching the tables.
  return found ? { ...found } : undefined;
}
