// Errors raised while decoding what a client sent. Each carries a stable code, in the style
// of the ws library (WS_ERR_…), so a server can log, count and test them without matching
// message text. Any such error means the byte stream can no longer be trusted: drop the client.

export type RfbErrorCode =
  /** A message type (or QEMU submessage / audio operation) this server does not know. */
  | 'RFB_ERR_UNKNOWN_MESSAGE'
  /** A length field beyond the configured limit (cut text, clipboard data, decompressed size). */
  | 'RFB_ERR_TOO_LONG'
  /** SetEncodings with more entries than the configured limit. */
  | 'RFB_ERR_TOO_MANY_ENCODINGS'
  /** SetDesktopSize with more screens than the configured limit. */
  | 'RFB_ERR_TOO_MANY_SCREENS'
  /** SetPixelFormat with a format no server can produce. */
  | 'RFB_ERR_BAD_PIXEL_FORMAT'
  /** A ProtocolVersion message that is not "RFB xxx.yyy\n" with major version 3. */
  | 'RFB_ERR_BAD_VERSION'
  /** A Fence payload over 64 bytes. */
  | 'RFB_ERR_BAD_FENCE'
  /** QEMU Audio SetFormat with an unknown sample format or channel count. */
  | 'RFB_ERR_BAD_AUDIO_FORMAT'
  /** A malformed Extended Clipboard message or payload. */
  | 'RFB_ERR_BAD_CLIPBOARD';

export class RfbProtocolError extends Error {
  readonly code: RfbErrorCode;

  constructor(code: RfbErrorCode, message: string) {
    super(message);
    this.name = 'RfbProtocolError';
    this.code = code;
  }
}
