// Errors raised while decoding what an RDP client sent. Each carries a stable code (in the style
// of the ws library's WS_ERR_…) so the server can log, count and test them without matching
// message text. Any such error means the byte stream can no longer be trusted: drop the client.

export type RdpErrorCode =
  /** Fewer bytes than a structure's fixed part or its own length field says. */
  | 'RDP_ERR_TRUNCATED'
  /** A length field that is inconsistent, below its minimum, or beyond the configured limit. */
  | 'RDP_ERR_BAD_LENGTH'
  /** A version, type or tag this server does not know or does not accept at this point. */
  | 'RDP_ERR_UNEXPECTED'
  /** A BER or PER encoding that breaks its rules. */
  | 'RDP_ERR_BAD_ENCODING'
  /** A value outside the range the specification allows. */
  | 'RDP_ERR_BAD_VALUE';

export class RdpProtocolError extends Error {
  readonly code: RdpErrorCode;

  constructor(code: RdpErrorCode, message: string) {
    super(message);
    this.name = 'RdpProtocolError';
    this.code = code;
  }
}
