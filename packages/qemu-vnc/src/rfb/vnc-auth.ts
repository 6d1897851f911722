// VNC Authentication (RFC 6143 §7.2.2): the server sends 16 random bytes, the client returns
// them DES-encrypted (ECB, two blocks) with the password as key. The password is cut to 8
// bytes or padded with zeros, and — unlike DES everywhere else — each key byte is used with
// its bits in reverse order (rfbproto: "the lowest bit of each byte is considered the first
// bit"), a quirk every VNC implementation shares.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Des } from './des.js';

export const VNC_AUTH_CHALLENGE_LENGTH = 16;

/** A fresh challenge from the system's CSPRNG. */
export function createVncAuthChallenge(): Buffer {
  return randomBytes(VNC_AUTH_CHALLENGE_LENGTH);
}

function reverseBits(byte: number): number {
  let out = 0;
  for (let i = 0; i < 8; i++) out |= ((byte >> i) & 1) << (7 - i);
  return out;
}

/**
 * The DES key for `password`: its first 8 bytes (UTF-8 for a string; classic clients type
 * ASCII), zero-padded, each byte bit-reversed.
 */
export function vncAuthKey(password: string | Buffer): Buffer {
  const bytes = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  const key = Buffer.alloc(8);
  for (let i = 0; i < 8 && i < bytes.length; i++) key[i] = reverseBits(bytes[i]);
  return key;
}

/** What a client answers to `challenge` when it knows `password`. */
export function computeVncAuthResponse(password: string | Buffer, challenge: Buffer): Buffer {
  if (challenge.length !== VNC_AUTH_CHALLENGE_LENGTH) {
    throw new RangeError(`a VNC Authentication challenge is ${VNC_AUTH_CHALLENGE_LENGTH} bytes, got ${challenge.length}`);
  }
  return new Des(vncAuthKey(password)).encryptEcb(challenge);
}

/** True when `response` is the right answer; compared in constant time. */
export function verifyVncAuthResponse(password: string | Buffer, challenge: Buffer, response: Buffer): boolean {
  const expected = computeVncAuthResponse(password, challenge);
  if (response.length !== expected.length) return false;
  return timingSafeEqual(expected, response);
}
