// Numbers of the RFB protocol: RFC 6143 for the core, the community rfbproto document
// (github.com/rfbproto/rfbproto, rfbproto.rst) for everything registered since.

/** Client → server message types (RFC 6143 §7.5; rfbproto "Client to Server Messages"). */
export const ClientMessageType = {
  SetPixelFormat: 0,
  SetEncodings: 2,
  FramebufferUpdateRequest: 3,
  KeyEvent: 4,
  PointerEvent: 5,
  ClientCutText: 6,
  EnableContinuousUpdates: 150,
  ClientFence: 248,
  SetDesktopSize: 251,
  Qemu: 255,
} as const;

/** Server → client message types (RFC 6143 §7.6; rfbproto "Server to Client Messages"). */
export const ServerMessageType = {
  FramebufferUpdate: 0,
  SetColourMapEntries: 1,
  Bell: 2,
  ServerCutText: 3,
  EndOfContinuousUpdates: 150,
  ServerFence: 248,
  Qemu: 255,
} as const;

/** Submessage types of message 255 (rfbproto "QEMU Client Message", "QEMU Server Message"). */
export const QemuSubmessage = {
  ExtendedKeyEvent: 0,
  Audio: 1,
} as const;

/** Operations of the client's QEMU Audio submessage (rfbproto "QEMU Audio Client Message"). */
export const QemuAudioClientOp = {
  Enable: 0,
  Disable: 1,
  SetFormat: 2,
} as const;

/**
 * Operations of the server's QEMU Audio submessage (rfbproto "QEMU Audio Server Message").
 * Note the order differs from the client's: 0 ends a stream, 1 starts one.
 */
export const QemuAudioServerOp = {
  End: 0,
  Begin: 1,
  Data: 2,
} as const;

/** Sample formats of QEMU Audio SetFormat; the name gives the sample size and sign. */
export const QemuAudioSampleFormat = {
  U8: 0,
  S8: 1,
  U16: 2,
  S16: 3,
  U32: 4,
  S32: 5,
} as const;

/** Encodings of pixel data (RFC 6143 §7.7; rfbproto "Encodings"). */
export const Encoding = {
  Raw: 0,
  CopyRect: 1,
  RRE: 2,
  Hextile: 5,
  Zlib: 6,
  Tight: 7,
  ZRLE: 16,
  TightPNG: -260,
} as const;

/** Pseudo-encodings (RFC 6143 §7.8; rfbproto "Pseudo-encodings"). */
export const PseudoEncoding = {
  /** -32 is quality level 0, -23 is level 9. */
  JpegQualityLevel0: -32,
  JpegQualityLevel9: -23,
  DesktopSize: -223,
  LastRect: -224,
  Cursor: -239,
  /** -256 is compression level 0, -247 is level 9. */
  CompressLevel0: -256,
  CompressLevel9: -247,
  QemuPointerMotionChange: -257,
  QemuExtendedKeyEvent: -258,
  QemuAudio: -259,
  QemuLedState: -261,
  DesktopName: -307,
  ExtendedDesktopSize: -308,
  Fence: -312,
  ContinuousUpdates: -313,
  CursorWithAlpha: -314,
  ExtendedMouseButtons: -316,
  /** 0xC0A1E5CE read as the S32 that SetEncodings carries. */
  ExtendedClipboard: 0xc0a1e5ce | 0,
} as const;

/** The JPEG quality level (0–9) a pseudo-encoding asks for, or undefined. */
export function jpegQualityLevelOf(encoding: number): number | undefined {
  const { JpegQualityLevel0: low, JpegQualityLevel9: high } = PseudoEncoding;
  return encoding >= low && encoding <= high ? encoding - low : undefined;
}

/** The compression level (0–9) a pseudo-encoding asks for, or undefined. */
export function compressLevelOf(encoding: number): number | undefined {
  const { CompressLevel0: low, CompressLevel9: high } = PseudoEncoding;
  return encoding >= low && encoding <= high ? encoding - low : undefined;
}

/** Security types (RFC 6143 §7.1.2; rfbproto "Security"). */
export const SecurityType = {
  Invalid: 0,
  None: 1,
  VncAuthentication: 2,
  VeNCrypt: 19,
} as const;

/** VeNCrypt subtypes, sent as U32 (rfbproto "VeNCrypt"). */
export const VeNCryptSubtype = {
  Plain: 256,
  TLSNone: 257,
  TLSVnc: 258,
  TLSPlain: 259,
  X509None: 260,
  X509Vnc: 261,
  X509Plain: 262,
} as const;

/** SecurityResult status words (RFC 6143 §7.1.3). */
export const SecurityResultStatus = {
  Ok: 0,
  Failed: 1,
  /** Only defined with the Tight security type (rfbproto "SecurityResult"). */
  TooManyAttempts: 2,
} as const;

/** Hextile subencoding mask bits (RFC 6143 §7.7.4). */
export const HextileFlag = {
  Raw: 1,
  BackgroundSpecified: 2,
  ForegroundSpecified: 4,
  AnySubrects: 8,
  SubrectsColoured: 16,
} as const;

/** Fence flag bits (rfbproto "ClientFence"). */
export const FenceFlag = {
  BlockBefore: 1 << 0,
  BlockAfter: 1 << 1,
  SyncNext: 1 << 2,
  Request: 2 ** 31,
} as const;

/** rfbproto "ClientFence": the payload is limited to 64 bytes. */
export const MAX_FENCE_PAYLOAD = 64;

/** Extended Clipboard flag bits (rfbproto "Extended Clipboard Pseudo-Encoding"). */
export const ClipboardFormat = {
  Text: 1 << 0,
  Rtf: 1 << 1,
  Html: 1 << 2,
  Dib: 1 << 3,
  Files: 1 << 4,
} as const;

export const ClipboardAction = {
  Caps: 2 ** 24,
  Request: 2 ** 25,
  Peek: 2 ** 26,
  Notify: 2 ** 27,
  Provide: 2 ** 28,
} as const;

/** Bits 0–15 of Extended Clipboard flags name formats, bits 24–31 actions. */
export const CLIPBOARD_FORMAT_MASK = 0x0000ffff;
export const CLIPBOARD_ACTION_MASK = 0xff000000;

/** ExtendedDesktopSize x-position: why the layout changed (rfbproto "ExtendedDesktopSize"). */
export const DesktopSizeReason = {
  Server: 0,
  ThisClient: 1,
  OtherClient: 2,
} as const;

/** ExtendedDesktopSize y-position: the result of a client's request. */
export const DesktopSizeStatus = {
  NoError: 0,
  Prohibited: 1,
  OutOfResources: 2,
  InvalidLayout: 3,
  Forwarded: 4,
} as const;

/** Bits of the QEMU LED State pseudo-rectangle's state byte (rfbproto "QEMU LED State"). */
export const LedState = {
  ScrollLock: 1 << 0,
  NumLock: 1 << 1,
  CapsLock: 1 << 2,
} as const;
