// HTTP requests to a console's API carry the console's password: as HTTP Basic
// credentials (RFC 7617; any user name) or as a bearer token (RFC 6750 §2.1).
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The challenge a 401 answer carries (RFC 7235 §4.1). */
export const BASIC_CHALLENGE = 'Basic realm="vdi-sidecar", charset="UTF-8"';

/** The password a request presents, from `Authorization: Basic …` or `Authorization: Bearer …`. */
export function presentedPassword(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const m = /^(\S+)\s+(\S+)$/.exec(header.trim());
  if (!m) return undefined;
  const scheme = m[1].toLowerCase();
  if (scheme === 'bearer') return m[2];
  if (scheme !== 'basic') return undefined;
  const decoded = Buffer.from(m[2], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/** Compares in constant time (over digests, so the length leaks nothing either). */
export function passwordMatches(presented: string | undefined, password: string): boolean {
  if (presented === undefined) return false;
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(presented), digest(password));
}
