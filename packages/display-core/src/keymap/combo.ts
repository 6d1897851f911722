/**
 * Key combinations by name ("ctrl+alt+delete") and text typed as keystrokes,
 * for operator actions (send Ctrl+Alt+Del, paste text as typing) on a US
 * layout guest.
 */
import { QNUM, isValidQnum } from './qnum.js';
import { keysymToQnum, type KeyStroke } from './x11-keysym.js';

const MODIFIER_NAMES: ReadonlyArray<readonly [number, readonly string[]]> = [
  [QNUM.CTRL_L, ['ctrl', 'control', 'lctrl', 'ctrll', 'controll', 'leftctrl']],
  [QNUM.CTRL_R, ['rctrl', 'ctrlr', 'controlr', 'rightctrl']],
  [QNUM.SHIFT_L, ['shift', 'lshift', 'shiftl', 'leftshift']],
  [QNUM.SHIFT_R, ['rshift', 'shiftr', 'rightshift']],
  [QNUM.ALT_L, ['alt', 'lalt', 'altl', 'leftalt']],
  [QNUM.ALT_R, ['altgr', 'ralt', 'altr', 'rightalt']],
  [QNUM.SUPER_L, ['super', 'meta', 'win', 'windows', 'cmd', 'lsuper', 'superl', 'metal', 'lwin', 'leftmeta']],
  [QNUM.SUPER_R, ['rsuper', 'superr', 'metar', 'rwin', 'rightmeta']],
];

const KEY_NAMES: ReadonlyArray<readonly [number, readonly string[]]> = [
  [QNUM.ESC, ['esc', 'escape']],
  [QNUM.ENTER, ['enter', 'return', 'ret']],
  [QNUM.TAB, ['tab']],
  [QNUM.SPACE, ['space', 'spc']],
  [QNUM.BACKSPACE, ['backspace', 'bksp', 'bs']],
  [QNUM.DELETE, ['delete', 'del']],
  [QNUM.INSERT, ['insert', 'ins']],
  [QNUM.HOME, ['home']],
  [QNUM.END, ['end']],
  [QNUM.PAGE_UP, ['pgup', 'pageup', 'prior']],
  [QNUM.PAGE_DOWN, ['pgdn', 'pagedown', 'next']],
  [QNUM.UP, ['up', 'arrowup']],
  [QNUM.DOWN, ['down', 'arrowdown']],
  [QNUM.LEFT, ['left', 'arrowleft']],
  [QNUM.RIGHT, ['right', 'arrowright']],
  [QNUM.PRINT, ['print', 'printscreen', 'prtsc', 'prtscr']],
  [QNUM.SYSRQ, ['sysrq']],
  [QNUM.PAUSE, ['pause', 'break']],
  [QNUM.MENU, ['menu', 'apps', 'compose', 'contextmenu']],
  [QNUM.CAPS_LOCK, ['capslock', 'caps']],
  [QNUM.NUM_LOCK, ['numlock']],
  [QNUM.SCROLL_LOCK, ['scrolllock']],
  [QNUM.MINUS, ['minus']],
  [QNUM.EQUAL, ['equal', 'equals']],
  [QNUM.BRACKET_LEFT, ['bracketleft']],
  [QNUM.BRACKET_RIGHT, ['bracketright']],
  [QNUM.SEMICOLON, ['semicolon']],
  [QNUM.APOSTROPHE, ['apostrophe', 'quote']],
  [QNUM.GRAVE, ['grave', 'graveaccent', 'backquote']],
  [QNUM.BACKSLASH, ['backslash']],
  [QNUM.COMMA, ['comma']],
  [QNUM.PERIOD, ['period', 'dot']],
  [QNUM.SLASH, ['slash']],
  [QNUM.LESS, ['less', 'intlbackslash', '102nd']],
  [QNUM.KP_ENTER, ['kpenter']],
  [QNUM.KP_ADD, ['kpadd', 'kpplus']],
  [QNUM.KP_SUBTRACT, ['kpsubtract', 'kpminus']],
  [QNUM.KP_MULTIPLY, ['kpmultiply', 'kpasterisk', 'asterisk']],
  [QNUM.KP_DIVIDE, ['kpdivide', 'kpslash']],
  [QNUM.KP_DECIMAL, ['kpdecimal', 'kpdot']],
  [QNUM.KP_EQUALS, ['kpequals', 'kpequal']],
  [QNUM.AUDIO_MUTE, ['mute', 'audiomute']],
  [QNUM.VOLUME_UP, ['volumeup']],
  [QNUM.VOLUME_DOWN, ['volumedown']],
  [QNUM.POWER, ['power']],
  [QNUM.SLEEP, ['sleep']],
  [QNUM.WAKE, ['wake', 'wakeup']],
];

/** Normalised name → qnum. Names are compared lower-case, without `_`, `-` and spaces. */
const NAME_TO_QNUM: ReadonlyMap<string, number> = (() => {
  const m = new Map<string, number>();
  for (const [qnum, names] of [...MODIFIER_NAMES, ...KEY_NAMES]) {
    for (const name of names) m.set(name, qnum);
  }
  for (const letter of 'abcdefghijklmnopqrstuvwxyz') {
    m.set(letter, QNUM[letter.toUpperCase() as keyof typeof QNUM]);
  }
  const digits = [QNUM.DIGIT_0, QNUM.DIGIT_1, QNUM.DIGIT_2, QNUM.DIGIT_3, QNUM.DIGIT_4, QNUM.DIGIT_5, QNUM.DIGIT_6, QNUM.DIGIT_7, QNUM.DIGIT_8, QNUM.DIGIT_9];
  const kp = [QNUM.KP_0, QNUM.KP_1, QNUM.KP_2, QNUM.KP_3, QNUM.KP_4, QNUM.KP_5, QNUM.KP_6, QNUM.KP_7, QNUM.KP_8, QNUM.KP_9];
  for (let i = 0; i <= 9; i++) {
    m.set(String(i), digits[i]);
    m.set(`kp${i}`, kp[i]);
  }
  for (let i = 1; i <= 24; i++) m.set(`f${i}`, QNUM[`F${i}` as keyof typeof QNUM]);
  return m;
})();

const MODIFIERS: ReadonlySet<number> = new Set(MODIFIER_NAMES.map(([qnum]) => qnum));

/** True for Ctrl, Shift, Alt, AltGr and Super keys (left or right). */
export function isModifierQnum(qnum: number): boolean {
  return MODIFIERS.has(qnum);
}

function lookupPart(part: string, combo: string): number {
  // A single character names the key that types it unshifted: "ctrl+-", "alt+1".
  if (part.length === 1) {
    const stroke = keysymToQnum(part.toLowerCase().charCodeAt(0));
    if (stroke && !stroke.shift) return stroke.qnum;
    if (stroke) {
      throw new Error(`key combo "${combo}": "${part}" needs Shift on the US layout; write the key and shift explicitly`);
    }
  }
  const hex = /^0x([0-9a-f]{1,2})$/i.exec(part);
  if (hex) {
    const qnum = parseInt(hex[1], 16);
    if (isValidQnum(qnum)) return qnum;
  }
  const qnum = NAME_TO_QNUM.get(part.toLowerCase().replace(/[\s_-]/g, ''));
  if (qnum === undefined) throw new Error(`key combo "${combo}": unknown key name "${part}"`);
  return qnum;
}

/**
 * The keys of a combination such as "ctrl+alt+delete" or "Shift+F10", as
 * qnums with the modifiers first (in the order given) and then the other keys
 * (in the order given). Press them in this order and release in reverse.
 *
 * Names are case-insensitive and may contain `_`/`-` ("page_up", "kp-0");
 * besides the names above, a single unshifted character ("ctrl+c", "alt+1")
 * and a raw qnum in hex ("0x54") are accepted. Throws an Error naming the bad
 * part for an unknown name, an empty part or a key given twice.
 */
export function parseKeyCombo(combo: string): number[] {
  const parts = combo.split('+').map((p) => p.trim());
  const modifiers: number[] = [];
  const keys: number[] = [];
  const seen = new Set<number>();
  for (const part of parts) {
    if (part === '') throw new Error(`key combo "${combo}": empty key name`);
    const qnum = lookupPart(part, combo);
    if (seen.has(qnum)) throw new Error(`key combo "${combo}": key "${part}" given twice`);
    seen.add(qnum);
    (MODIFIERS.has(qnum) ? modifiers : keys).push(qnum);
  }
  return [...modifiers, ...keys];
}

/**
 * The keystrokes that type `text` on a US layout guest: `\n` (and `\r\n`,
 * `\r`) → Enter, `\t` → Tab, printable ASCII → its key with or without Shift.
 * Throws an Error naming the first character the layout cannot type and its
 * code point.
 */
export function textToKeystrokes(text: string): KeyStroke[] {
  const out: KeyStroke[] = [];
  let index = 0;
  let afterCr = false;
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    const wasAfterCr = afterCr;
    afterCr = cp === 0x0d;
    if (cp === 0x0a && wasAfterCr) {
      index += ch.length;
      continue;
    }
    let stroke: KeyStroke | undefined;
    if (cp === 0x0a || cp === 0x0d) stroke = { qnum: QNUM.ENTER, shift: false };
    else if (cp === 0x09) stroke = { qnum: QNUM.TAB, shift: false };
    else if (cp >= 0x20 && cp <= 0x7e) stroke = keysymToQnum(cp);
    if (!stroke) {
      const hex = cp.toString(16).toUpperCase().padStart(4, '0');
      throw new Error(
        `cannot type ${JSON.stringify(ch)} (U+${hex}) at index ${index}: the US keyboard layout has no key for it`,
      );
    }
    out.push(stroke);
    index += ch.length;
  }
  return out;
}
