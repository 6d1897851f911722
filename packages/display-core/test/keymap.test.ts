import { describe, expect, it } from 'vitest';
import {
  FASTPATH_INPUT_KBDFLAGS_EXTENDED,
  FASTPATH_INPUT_KBDFLAGS_PREFIX_E1,
  FASTPATH_INPUT_KBDFLAGS_RELEASE,
  KBDFLAGS_DOWN,
  KBDFLAGS_EXTENDED,
  KBDFLAGS_EXTENDED1,
  KBDFLAGS_RELEASE,
  MouseButton,
  PAUSE_SEQUENCE,
  QNUM,
  RdpKeyDecoder,
  XK,
  combineRfbButtonMask,
  decodeFastPathKeyboardFlags,
  decodeLockModifiers,
  decodeRdpToggleFlags,
  decodeRfbLedState,
  decodeSlowPathKeyboardFlags,
  diffButtons,
  encodeLockModifiers,
  encodeRdpToggleFlags,
  encodeRfbLedState,
  isModifierQnum,
  isPauseSequence,
  isValidQnum,
  keysymToQnum,
  lockKeysToToggle,
  parseKeyCombo,
  qnumName,
  qnumToScancode,
  rfbButtonMaskToQemu,
  scancodeToQnum,
  textToKeystrokes,
  type RdpKeyFlags,
} from '../src/keymap/index.js';

describe('QNUM constants (keycodemapdb AT set 1, E0 xx → 0x80|xx)', () => {
  it.each([
    ['ESC', 0x01],
    ['BACKSPACE', 0x0e],
    ['ENTER', 0x1c],
    ['CTRL_L', 0x1d],
    ['A', 0x1e],
    ['SHIFT_L', 0x2a],
    ['BACKSLASH', 0x2b],
    ['Z', 0x2c],
    ['SHIFT_R', 0x36],
    ['KP_MULTIPLY', 0x37],
    ['ALT_L', 0x38],
    ['SPACE', 0x39],
    ['CAPS_LOCK', 0x3a],
    ['F1', 0x3b],
    ['F10', 0x44],
    ['NUM_LOCK', 0x45],
    ['SCROLL_LOCK', 0x46],
    ['KP_7', 0x47],
    ['KP_0', 0x52],
    ['KP_DECIMAL', 0x53],
    ['SYSRQ', 0x54],
    ['LESS', 0x56],
    ['F11', 0x57],
    ['F12', 0x58],
    ['F13', 0x5d],
    ['F16', 0x55],
    ['F17', 0x83],
    ['F18', 0xf7],
    ['F22', 0xf9],
    ['F24', 0x6f],
    ['KP_ENTER', 0x9c],
    ['CTRL_R', 0x9d],
    ['KP_DIVIDE', 0xb5],
    ['PRINT', 0xb7],
    ['ALT_R', 0xb8],
    ['PAUSE', 0xc6],
    ['HOME', 0xc7],
    ['UP', 0xc8],
    ['PAGE_UP', 0xc9],
    ['LEFT', 0xcb],
    ['RIGHT', 0xcd],
    ['END', 0xcf],
    ['DOWN', 0xd0],
    ['PAGE_DOWN', 0xd1],
    ['INSERT', 0xd2],
    ['DELETE', 0xd3],
    ['SUPER_L', 0xdb],
    ['SUPER_R', 0xdc],
    ['MENU', 0xdd],
    ['AUDIO_MUTE', 0xa0],
    ['VOLUME_DOWN', 0xae],
    ['VOLUME_UP', 0xb0],
  ] as const)('%s = %i', (name, value) => {
    expect(QNUM[name]).toBe(value);
  });

  it('has one name per value', () => {
    const values = Object.values(QNUM);
    expect(new Set(values).size).toBe(values.length);
    expect(values.every(isValidQnum)).toBe(true);
  });

  it('names qnums back', () => {
    expect(qnumName(0x9d)).toBe('CTRL_R');
    expect(qnumName(0x56)).toBe('LESS');
    expect(qnumName(0x80)).toBeUndefined();
  });

  it('covers a 105-key ISO keyboard', () => {
    // 105 keys: 104 of the US ANSI layout + the ISO key between left Shift and Z.
    const fullSize = [
      'ESC', 'F1', 'F2', 'F3', 'F4', 'F5', 'F6', 'F7', 'F8', 'F9', 'F10', 'F11', 'F12', 'PRINT', 'SCROLL_LOCK', 'PAUSE',
      'GRAVE', 'DIGIT_1', 'DIGIT_2', 'DIGIT_3', 'DIGIT_4', 'DIGIT_5', 'DIGIT_6', 'DIGIT_7', 'DIGIT_8', 'DIGIT_9', 'DIGIT_0', 'MINUS', 'EQUAL', 'BACKSPACE',
      'INSERT', 'HOME', 'PAGE_UP', 'NUM_LOCK', 'KP_DIVIDE', 'KP_MULTIPLY', 'KP_SUBTRACT',
      'TAB', 'Q', 'W', 'E', 'R', 'T', 'Y', 'U', 'I', 'O', 'P', 'BRACKET_LEFT', 'BRACKET_RIGHT', 'BACKSLASH',
      'DELETE', 'END', 'PAGE_DOWN', 'KP_7', 'KP_8', 'KP_9', 'KP_ADD',
      'CAPS_LOCK', 'A', 'S', 'D', 'F', 'G', 'H', 'J', 'K', 'L', 'SEMICOLON', 'APOSTROPHE', 'ENTER', 'KP_4', 'KP_5', 'KP_6',
      'SHIFT_L', 'LESS', 'Z', 'X', 'C', 'V', 'B', 'N', 'M', 'COMMA', 'PERIOD', 'SLASH', 'SHIFT_R', 'UP', 'KP_1', 'KP_2', 'KP_3', 'KP_ENTER',
      'CTRL_L', 'SUPER_L', 'ALT_L', 'SPACE', 'ALT_R', 'SUPER_R', 'MENU', 'CTRL_R', 'LEFT', 'DOWN', 'RIGHT', 'KP_0', 'KP_DECIMAL',
    ] as const;
    expect(fullSize).toHaveLength(105);
    expect(new Set(fullSize.map((k) => QNUM[k])).size).toBe(105);
  });
});

describe('keysymToQnum (X11 keysymdef.h values, US layout)', () => {
  it.each([
    // keysym, qnum, shift
    [0x61, 0x1e, false], // XK_a
    [0x41, 0x1e, true], // XK_A
    [0x7a, 0x2c, false], // XK_z
    [0x5a, 0x2c, true], // XK_Z
    [0x31, 0x02, false], // XK_1
    [0x21, 0x02, true], // XK_exclam
    [0x40, 0x03, true], // XK_at
    [0x23, 0x04, true], // XK_numbersign
    [0x24, 0x05, true], // XK_dollar
    [0x25, 0x06, true], // XK_percent
    [0x5e, 0x07, true], // XK_asciicircum
    [0x26, 0x08, true], // XK_ampersand
    [0x2a, 0x09, true], // XK_asterisk
    [0x28, 0x0a, true], // XK_parenleft
    [0x29, 0x0b, true], // XK_parenright
    [0x30, 0x0b, false], // XK_0
    [0x2d, 0x0c, false], // XK_minus
    [0x5f, 0x0c, true], // XK_underscore
    [0x3d, 0x0d, false], // XK_equal
    [0x2b, 0x0d, true], // XK_plus
    [0x5b, 0x1a, false], // XK_bracketleft
    [0x7b, 0x1a, true], // XK_braceleft
    [0x5d, 0x1b, false], // XK_bracketright
    [0x7d, 0x1b, true], // XK_braceright
    [0x3b, 0x27, false], // XK_semicolon
    [0x3a, 0x27, true], // XK_colon
    [0x27, 0x28, false], // XK_apostrophe
    [0x22, 0x28, true], // XK_quotedbl
    [0x60, 0x29, false], // XK_grave
    [0x7e, 0x29, true], // XK_asciitilde
    [0x5c, 0x2b, false], // XK_backslash
    [0x7c, 0x2b, true], // XK_bar
    [0x2c, 0x33, false], // XK_comma
    [0x3c, 0x33, true], // XK_less (US: Shift+comma, not the ISO key)
    [0x2e, 0x34, false], // XK_period
    [0x3e, 0x34, true], // XK_greater
    [0x2f, 0x35, false], // XK_slash
    [0x3f, 0x35, true], // XK_question
    [0x20, 0x39, false], // XK_space
  ])('keysym %i → qnum %i, shift %s', (keysym, qnum, shift) => {
    const got = keysymToQnum(keysym);
    expect(got?.qnum).toBe(qnum);
    expect(got?.shift).toBe(shift);
    expect(got?.altgr).toBeUndefined();
  });

  it('maps every printable ASCII character', () => {
    for (let cp = 0x20; cp <= 0x7e; cp++) expect(keysymToQnum(cp), `U+${cp.toString(16)}`).toBeDefined();
    expect(keysymToQnum(0x7f)).toBeUndefined();
    expect(keysymToQnum(0x1f)).toBeUndefined();
  });

  it('marks letters as Caps Lock sensitive and nothing else', () => {
    expect(keysymToQnum(0x61)).toEqual({ qnum: 0x1e, shift: false, caps: true });
    expect(keysymToQnum(0x41)).toEqual({ qnum: 0x1e, shift: true, caps: true });
    expect(keysymToQnum(0x31)).toEqual({ qnum: 0x02, shift: false });
  });

  it.each([
    [0xff08, 0x0e], // XK_BackSpace
    [0xff09, 0x0f], // XK_Tab
    [0xff0d, 0x1c], // XK_Return
    [0xff13, 0xc6], // XK_Pause
    [0xff14, 0x46], // XK_Scroll_Lock
    [0xff15, 0x54], // XK_Sys_Req
    [0xff1b, 0x01], // XK_Escape
    [0xff50, 0xc7], // XK_Home
    [0xff51, 0xcb], // XK_Left
    [0xff52, 0xc8], // XK_Up
    [0xff53, 0xcd], // XK_Right
    [0xff54, 0xd0], // XK_Down
    [0xff55, 0xc9], // XK_Page_Up
    [0xff56, 0xd1], // XK_Page_Down
    [0xff57, 0xcf], // XK_End
    [0xff61, 0xb7], // XK_Print
    [0xff63, 0xd2], // XK_Insert
    [0xff67, 0xdd], // XK_Menu
    [0xff6b, 0xc6], // XK_Break
    [0xff7f, 0x45], // XK_Num_Lock
    [0xff8d, 0x9c], // XK_KP_Enter
    [0xffaa, 0x37], // XK_KP_Multiply
    [0xffab, 0x4e], // XK_KP_Add
    [0xffad, 0x4a], // XK_KP_Subtract
    [0xffaf, 0xb5], // XK_KP_Divide
    [0xffbd, 0x59], // XK_KP_Equal
    [0xffbe, 0x3b], // XK_F1
    [0xffc7, 0x44], // XK_F10
    [0xffc8, 0x57], // XK_F11
    [0xffc9, 0x58], // XK_F12
    [0xffca, 0x5d], // XK_F13
    [0xffcd, 0x55], // XK_F16
    [0xffce, 0x83], // XK_F17
    [0xffcf, 0xf7], // XK_F18
    [0xffd5, 0x6f], // XK_F24
    [0xffe1, 0x2a], // XK_Shift_L
    [0xffe2, 0x36], // XK_Shift_R
    [0xffe3, 0x1d], // XK_Control_L
    [0xffe4, 0x9d], // XK_Control_R
    [0xffe5, 0x3a], // XK_Caps_Lock
    [0xffe7, 0xdb], // XK_Meta_L
    [0xffe8, 0xdc], // XK_Meta_R
    [0xffe9, 0x38], // XK_Alt_L
    [0xffea, 0xb8], // XK_Alt_R
    [0xffeb, 0xdb], // XK_Super_L
    [0xffec, 0xdc], // XK_Super_R
    [0xfe03, 0xb8], // XK_ISO_Level3_Shift (AltGr)
    [0xffff, 0xd3], // XK_Delete
    [0x1008ff12, 0xa0], // XF86XK_AudioMute
    [0x1008ff11, 0xae], // XF86XK_AudioLowerVolume
    [0x1008ff13, 0xb0], // XF86XK_AudioRaiseVolume
  ])('function keysym %i → qnum %i', (keysym, qnum) => {
    expect(keysymToQnum(keysym)).toEqual({ qnum, shift: false });
  });

  it('maps ISO_Left_Tab (Shift+Tab) to Tab with shift', () => {
    expect(keysymToQnum(0xfe20)).toEqual({ qnum: 0x0f, shift: true });
  });

  it('maps F1..F24 one to one', () => {
    const f = [0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41, 0x42, 0x43, 0x44, 0x57, 0x58, 0x5d, 0x5e, 0x5f, 0x55, 0x83, 0xf7, 0x84, 0x5a, 0x74, 0xf9, 0x6d, 0x6f];
    f.forEach((qnum, i) => expect(keysymToQnum(XK.F1 + i)?.qnum).toBe(qnum));
  });

  it('gives the keypad Num Lock meaning', () => {
    const kp = [0x52, 0x4f, 0x50, 0x51, 0x4b, 0x4c, 0x4d, 0x47, 0x48, 0x49];
    kp.forEach((qnum, i) => expect(keysymToQnum(0xffb0 + i)).toEqual({ qnum, shift: false, numLock: true }));
    expect(keysymToQnum(0xffae)).toEqual({ qnum: 0x53, shift: false, numLock: true }); // XK_KP_Decimal
    // Num Lock off: same physical keys, navigation keysyms.
    expect(keysymToQnum(0xff95)).toEqual({ qnum: 0x47, shift: false, numLock: false }); // XK_KP_Home
    expect(keysymToQnum(0xff97)).toEqual({ qnum: 0x48, shift: false, numLock: false }); // XK_KP_Up
    expect(keysymToQnum(0xff9c)).toEqual({ qnum: 0x4f, shift: false, numLock: false }); // XK_KP_End
    expect(keysymToQnum(0xff9e)).toEqual({ qnum: 0x52, shift: false, numLock: false }); // XK_KP_Insert
    expect(keysymToQnum(0xff9f)).toEqual({ qnum: 0x53, shift: false, numLock: false }); // XK_KP_Delete
    expect(keysymToQnum(0xff9d)).toEqual({ qnum: 0x4c, shift: false, numLock: false }); // XK_KP_Begin
  });

  it('accepts Unicode keysyms for ASCII', () => {
    expect(keysymToQnum(0x01000041)).toEqual({ qnum: 0x1e, shift: true, caps: true });
  });

  it('has no key for characters the US layout lacks', () => {
    expect(keysymToQnum(0xe9)).toBeUndefined(); // XK_eacute
    expect(keysymToQnum(0xa3)).toBeUndefined(); // XK_sterling
    expect(keysymToQnum(0x010020ac)).toBeUndefined(); // € as Unicode keysym
    expect(keysymToQnum(0)).toBeUndefined();
    expect(keysymToQnum(0xffffff)).toBeUndefined(); // XK_VoidSymbol
  });

  it('returns a fresh object each time', () => {
    const a = keysymToQnum(0x61);
    if (a) a.shift = true;
    expect(keysymToQnum(0x61)?.shift).toBe(false);
  });
});

describe('scancodes (MS-RDPBCGR 2.2.8.1.1.3.1.1.1)', () => {
  it('maps plain and E0 scancodes', () => {
    expect(scancodeToQnum(0x1e, false)).toBe(0x1e); // A
    expect(scancodeToQnum(0x1d, false)).toBe(0x1d); // left Ctrl
    expect(scancodeToQnum(0x1d, true)).toBe(0x9d); // right Ctrl
    expect(scancodeToQnum(0x38, true)).toBe(0xb8); // right Alt
    expect(scancodeToQnum(0x1c, true)).toBe(0x9c); // keypad Enter
    expect(scancodeToQnum(0x53, true)).toBe(0xd3); // Delete
    expect(scancodeToQnum(0x37, true)).toBe(0xb7); // Print Screen
    expect(scancodeToQnum(0x5b, true)).toBe(0xdb); // left Windows
    expect(scancodeToQnum(0x56, false)).toBe(0x56); // ISO 102nd key
  });

  it('rejects codes that are not make codes', () => {
    expect(scancodeToQnum(0, false)).toBeUndefined();
    expect(scancodeToQnum(0x80, false)).toBeUndefined();
    expect(scancodeToQnum(0x9d, true)).toBeUndefined();
    expect(scancodeToQnum(1.5, false)).toBeUndefined();
  });

  it('inverts qnums', () => {
    expect(qnumToScancode(0x9d)).toEqual({ scancode: 0x1d, extended: true });
    expect(qnumToScancode(0x1e)).toEqual({ scancode: 0x1e, extended: false });
    expect(qnumToScancode(0xc6)).toEqual({ scancode: 0x46, extended: true });
    expect(qnumToScancode(0)).toBeUndefined();
    expect(qnumToScancode(0x80)).toBeUndefined();
    expect(qnumToScancode(0x100)).toBeUndefined();
    for (let q = 1; q <= 0xff; q++) {
      if (q === 0x80) continue;
      const s = qnumToScancode(q);
      expect(s && scancodeToQnum(s.scancode, s.extended)).toBe(q);
    }
  });

  it('decodes slow-path and fast-path keyboard flags', () => {
    expect(KBDFLAGS_EXTENDED).toBe(0x0100);
    expect(KBDFLAGS_EXTENDED1).toBe(0x0200);
    expect(KBDFLAGS_DOWN).toBe(0x4000);
    expect(KBDFLAGS_RELEASE).toBe(0x8000);
    expect(decodeSlowPathKeyboardFlags(0x8100)).toEqual({ extended: true, extended1: false, release: true });
    expect(decodeSlowPathKeyboardFlags(0x0200)).toEqual({ extended: false, extended1: true, release: false });
    expect(decodeSlowPathKeyboardFlags(KBDFLAGS_DOWN)).toEqual({ extended: false, extended1: false, release: false });
    expect(FASTPATH_INPUT_KBDFLAGS_RELEASE).toBe(0x01);
    expect(FASTPATH_INPUT_KBDFLAGS_EXTENDED).toBe(0x02);
    expect(FASTPATH_INPUT_KBDFLAGS_PREFIX_E1).toBe(0x04);
    expect(decodeFastPathKeyboardFlags(0x03)).toEqual({ extended: true, extended1: false, release: true });
    expect(decodeFastPathKeyboardFlags(0x04)).toEqual({ extended: false, extended1: true, release: false });
  });

  const flags = (f: Partial<RdpKeyFlags> = {}): RdpKeyFlags => ({ extended: false, extended1: false, release: false, ...f });

  it('recognises the Pause sequence', () => {
    expect(PAUSE_SEQUENCE).toEqual([
      { scancode: 0x1d, extended1: true },
      { scancode: 0x45, extended1: false },
    ]);
    expect(isPauseSequence({ scancode: 0x1d, flags: flags({ extended1: true }) }, { scancode: 0x45, flags: flags() })).toBe(true);
    expect(
      isPauseSequence(
        { scancode: 0x1d, flags: flags({ extended1: true, release: true }) },
        { scancode: 0x45, flags: flags({ release: true }) },
      ),
    ).toBe(true);
    expect(isPauseSequence({ scancode: 0x1d, flags: flags() }, { scancode: 0x45, flags: flags() })).toBe(false);
    expect(isPauseSequence({ scancode: 0x1d, flags: flags({ extended1: true }) }, { scancode: 0x45, flags: flags({ release: true }) })).toBe(false);
  });

  it('decodes a Pause press and release into one Pause each', () => {
    const d = new RdpKeyDecoder();
    expect(d.decode(0x1d, flags({ extended1: true }))).toEqual({ qnum: 0xc6, down: true });
    expect(d.decode(0x45, flags())).toBeUndefined();
    expect(d.decode(0x1d, flags({ extended1: true, release: true }))).toEqual({ qnum: 0xc6, down: false });
    expect(d.decode(0x45, flags({ release: true }))).toBeUndefined();
    // A Num Lock on its own is Num Lock.
    expect(d.decode(0x45, flags())).toEqual({ qnum: 0x45, down: true });
    expect(d.decode(0x45, flags({ release: true }))).toEqual({ qnum: 0x45, down: false });
  });

  it('does not swallow a key that does not complete the Pause sequence', () => {
    const d = new RdpKeyDecoder();
    expect(d.decode(0x1d, flags({ extended1: true }))).toEqual({ qnum: 0xc6, down: true });
    expect(d.decode(0x1e, flags())).toEqual({ qnum: 0x1e, down: true });
    expect(d.decode(0x45, flags())).toEqual({ qnum: 0x45, down: true });
    // A Num Lock release after a Pause press is not part of the sequence.
    d.decode(0x1d, flags({ extended1: true }));
    expect(d.decode(0x45, flags({ release: true }))).toEqual({ qnum: 0x45, down: false });
    d.decode(0x1d, flags({ extended1: true }));
    d.reset();
    expect(d.decode(0x45, flags())).toEqual({ qnum: 0x45, down: true });
  });

  it('decodes ordinary and extended keys', () => {
    const d = new RdpKeyDecoder();
    expect(d.decode(0x1d, flags({ extended: true }))).toEqual({ qnum: 0x9d, down: true });
    expect(d.decode(0x1d, flags({ extended: true, release: true }))).toEqual({ qnum: 0x9d, down: false });
    expect(d.decode(0x00, flags())).toBeUndefined();
    expect(d.decode(0x2a, flags({ extended1: true }))).toBeUndefined();
  });
});

describe('parseKeyCombo', () => {
  it('parses Ctrl+Alt+Delete', () => {
    expect(parseKeyCombo('ctrl+alt+delete')).toEqual([0x1d, 0x38, 0xd3]);
    expect(parseKeyCombo('Ctrl + Alt + Del')).toEqual([0x1d, 0x38, 0xd3]);
    expect(parseKeyCombo('CONTROL+ALT+DELETE')).toEqual([0x1d, 0x38, 0xd3]);
  });

  it('puts modifiers first, in the given order', () => {
    expect(parseKeyCombo('delete+alt+ctrl')).toEqual([0x38, 0x1d, 0xd3]);
    expect(parseKeyCombo('f10+shift')).toEqual([0x2a, 0x44]);
  });

  it.each([
    ['altgr', 0xb8],
    ['super', 0xdb],
    ['meta', 0xdb],
    ['win', 0xdb],
    ['ctrl_r', 0x9d],
    ['shift', 0x2a],
    ['rshift', 0x36],
    ['enter', 0x1c],
    ['return', 0x1c],
    ['esc', 0x01],
    ['tab', 0x0f],
    ['space', 0x39],
    ['backspace', 0x0e],
    ['up', 0xc8],
    ['down', 0xd0],
    ['left', 0xcb],
    ['right', 0xcd],
    ['home', 0xc7],
    ['end', 0xcf],
    ['pgup', 0xc9],
    ['pageup', 0xc9],
    ['page_up', 0xc9],
    ['pgdn', 0xd1],
    ['pagedown', 0xd1],
    ['insert', 0xd2],
    ['print', 0xb7],
    ['sysrq', 0x54],
    ['pause', 0xc6],
    ['f1', 0x3b],
    ['F12', 0x58],
    ['f13', 0x5d],
    ['f24', 0x6f],
    ['a', 0x1e],
    ['Z', 0x2c],
    ['0', 0x0b],
    ['9', 0x0a],
    ['kp_0', 0x52],
    ['kp_9', 0x49],
    ['kp_enter', 0x9c],
    ['kp-add', 0x4e],
    ['kp_divide', 0xb5],
    ['menu', 0xdd],
    ['less', 0x56],
    ['capslock', 0x3a],
    ['num_lock', 0x45],
    ['-', 0x0c],
    ['/', 0x35],
    ['0x54', 0x54],
  ])('knows %s', (name, qnum) => {
    expect(parseKeyCombo(name)).toEqual([qnum]);
  });

  it('throws naming the bad part', () => {
    expect(() => parseKeyCombo('ctrl+alt+dleete')).toThrow(/"dleete"/);
    expect(() => parseKeyCombo('ctrl+')).toThrow(/empty/);
    expect(() => parseKeyCombo('')).toThrow(/empty/);
    expect(() => parseKeyCombo('ctrl+control+c')).toThrow(/"control" given twice/);
    expect(() => parseKeyCombo('ctrl+!')).toThrow(/"!" needs Shift/);
    expect(() => parseKeyCombo('f25')).toThrow(/"f25"/);
    expect(() => parseKeyCombo('0x0')).toThrow(/"0x0"/);
  });

  it('classifies modifiers', () => {
    expect([0x1d, 0x9d, 0x2a, 0x36, 0x38, 0xb8, 0xdb, 0xdc].every(isModifierQnum)).toBe(true);
    expect(isModifierQnum(0x1e)).toBe(false);
    expect(isModifierQnum(0x3a)).toBe(false); // Caps Lock is a lock, not a modifier
  });
});

describe('textToKeystrokes', () => {
  it('types mixed text with Shift where needed', () => {
    expect(textToKeystrokes('aB!\n\t ~')).toEqual([
      { qnum: 0x1e, shift: false, caps: true },
      { qnum: 0x30, shift: true, caps: true },
      { qnum: 0x02, shift: true },
      { qnum: 0x1c, shift: false },
      { qnum: 0x0f, shift: false },
      { qnum: 0x39, shift: false },
      { qnum: 0x29, shift: true },
    ]);
  });

  it('treats CR LF and lone CR as one Enter each', () => {
    expect(textToKeystrokes('a\r\nb\rc\n\nd').map((s) => s.qnum)).toEqual([0x1e, 0x1c, 0x30, 0x1c, 0x2e, 0x1c, 0x1c, 0x20]);
  });

  it('types every printable ASCII character', () => {
    let all = '';
    for (let cp = 0x20; cp <= 0x7e; cp++) all += String.fromCharCode(cp);
    expect(textToKeystrokes(all)).toHaveLength(95);
  });

  it('throws naming the character and its code point', () => {
    expect(() => textToKeystrokes('abcé')).toThrow('cannot type "é" (U+00E9) at index 3');
    expect(() => textToKeystrokes('x😀')).toThrow(/U\+1F600/);
    expect(() => textToKeystrokes('\u0007')).toThrow(/U\+0007/);
  });

  it('returns nothing for nothing', () => {
    expect(textToKeystrokes('')).toEqual([]);
  });
});

describe('lock state', () => {
  it('decodes QEMU Keyboard.Modifiers (Scroll 1<<0, Num 1<<1, Caps 1<<2)', () => {
    expect(decodeLockModifiers(0)).toEqual({ scrollLock: false, numLock: false, capsLock: false });
    expect(decodeLockModifiers(1)).toEqual({ scrollLock: true, numLock: false, capsLock: false });
    expect(decodeLockModifiers(2)).toEqual({ scrollLock: false, numLock: true, capsLock: false });
    expect(decodeLockModifiers(4)).toEqual({ scrollLock: false, numLock: false, capsLock: true });
    expect(decodeLockModifiers(7)).toEqual({ scrollLock: true, numLock: true, capsLock: true });
    expect(encodeLockModifiers({ scrollLock: false, numLock: true, capsLock: true })).toBe(6);
  });

  it('encodes the RFB LED state byte (0b100 = Caps only)', () => {
    expect(encodeRfbLedState({ scrollLock: false, numLock: false, capsLock: true })).toBe(0b100);
    expect(encodeRfbLedState({ scrollLock: false, numLock: true, capsLock: false })).toBe(0b010);
    expect(encodeRfbLedState({ scrollLock: true, numLock: true, capsLock: true })).toBe(0b111);
    expect(decodeRfbLedState(0b001)).toEqual({ scrollLock: true, numLock: false, capsLock: false });
  });

  it('decodes and encodes RDP TS_SYNC flags', () => {
    expect(decodeRdpToggleFlags(0x0f)).toEqual({ scrollLock: true, numLock: true, capsLock: true, kanaLock: true });
    expect(decodeRdpToggleFlags(0x02)).toEqual({ scrollLock: false, numLock: true, capsLock: false, kanaLock: false });
    expect(encodeRdpToggleFlags({ scrollLock: true, numLock: false, capsLock: true })).toBe(0x05);
    expect(encodeRdpToggleFlags({ scrollLock: false, numLock: false, capsLock: false, kanaLock: true })).toBe(0x08);
  });

  it('lists the lock keys to toggle', () => {
    const off = { scrollLock: false, numLock: false, capsLock: false };
    expect(lockKeysToToggle(off, { capsLock: true, numLock: true, scrollLock: true })).toEqual([0x3a, 0x45, 0x46]);
    expect(lockKeysToToggle({ scrollLock: true, numLock: true, capsLock: false }, { numLock: true, capsLock: false })).toEqual([]);
    expect(lockKeysToToggle({ scrollLock: true, numLock: true, capsLock: true }, decodeRdpToggleFlags(0x2))).toEqual([0x3a, 0x46]);
    expect(lockKeysToToggle(off, {})).toEqual([]);
  });
});

describe('mouse buttons', () => {
  it('uses QEMU D-Bus button numbers', () => {
    expect(MouseButton).toEqual({ Left: 0, Middle: 1, Right: 2, WheelUp: 3, WheelDown: 4, Side: 5, Extra: 6, WheelLeft: 7, WheelRight: 8 });
  });

  it('maps RFB button-mask bits', () => {
    expect(rfbButtonMaskToQemu(0)).toEqual([]);
    expect(rfbButtonMaskToQemu(0b1)).toEqual([0]);
    expect(rfbButtonMaskToQemu(0b10)).toEqual([1]);
    expect(rfbButtonMaskToQemu(0b100)).toEqual([2]);
    expect(rfbButtonMaskToQemu(0b1000)).toEqual([3]);
    expect(rfbButtonMaskToQemu(0b10000)).toEqual([4]);
    expect(rfbButtonMaskToQemu(0b100000)).toEqual([7]);
    expect(rfbButtonMaskToQemu(0b1000000)).toEqual([8]);
    expect(rfbButtonMaskToQemu(0x80)).toEqual([5]);
    expect(rfbButtonMaskToQemu(0x100)).toEqual([6]);
    expect(rfbButtonMaskToQemu(0b101)).toEqual([0, 2]);
    expect(rfbButtonMaskToQemu(0x1ff)).toEqual([0, 1, 2, 3, 4, 7, 8, 5, 6]);
  });

  it('combines the ExtendedMouseButtons extra byte', () => {
    expect(combineRfbButtonMask(0x81)).toBe(0x81); // plain: bit 7 is button 8
    expect(combineRfbButtonMask(0x81, 0x00)).toBe(0x01); // marker only
    expect(combineRfbButtonMask(0x81, 0x01)).toBe(0x81); // back
    expect(combineRfbButtonMask(0x80, 0x02)).toBe(0x100); // forward
    expect(combineRfbButtonMask(0x84, 0xff)).toBe(0x184); // reserved bits ignored
  });

  it('diffs masks into presses and releases', () => {
    expect(diffButtons(0, 1)).toEqual({ press: [0], release: [] });
    expect(diffButtons(1, 0)).toEqual({ press: [], release: [0] });
    expect(diffButtons(0b001, 0b100)).toEqual({ press: [2], release: [0] });
    expect(diffButtons(0b101, 0b101)).toEqual({ press: [], release: [] });
    // A wheel-up step: bit 3 set then cleared.
    expect(diffButtons(0, 0b1000)).toEqual({ press: [3], release: [] });
    expect(diffButtons(0b1000, 0)).toEqual({ press: [], release: [3] });
    expect(diffButtons(0, 0x180)).toEqual({ press: [5, 6], release: [] });
    expect(diffButtons(0, 0x200)).toEqual({ press: [], release: [] });
  });
});
