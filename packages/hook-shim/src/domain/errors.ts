/** Stable codes for what can be wrong with a domain XML handed to the mutation. */
export type DomainXmlErrorCode =
  /** Not well-formed XML (or empty). */
  | 'DOMAIN_XML_MALFORMED'
  /** Well-formed, but not a libvirt domain (another root element). */
  | 'DOMAIN_XML_NOT_A_DOMAIN';

/** The domain XML cannot be rewritten; the message says why, in one line. */
export class DomainXmlError extends Error {
  override readonly name = 'DomainXmlError';
  readonly code: DomainXmlErrorCode;

  constructor(code: DomainXmlErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
