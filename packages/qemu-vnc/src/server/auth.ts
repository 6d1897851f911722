// Authentication settings of the server and the per-address limit on failures.
import type { SecureContext } from 'node:tls';

export interface VncSecurity {
  /** VNC Authentication password (first 8 bytes count, RFC 6143 §7.2.2); none: no password. */
  password?: string;
  /** Certificate and key for VeNCrypt X509* subtypes. */
  tls?: SecureContext;
  /** Allow the None security type even though a password is set (never by default). */
  allowNone?: boolean;
}
