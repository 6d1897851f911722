import { createCipheriv, getCiphers, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Des } from '../src/rfb/des.js';
import {
  computeVncAuthResponse,
  createVncAuthChallenge,
  verifyVncAuthResponse,
  vncAuthKey,
} from '../src/rfb/vnc-auth.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('DES (FIPS 46-3)', () => {
  it.each([
    // The worked example used in most DES texts (key 133457799BBCDFF1).
    ['133457799BBCDFF1', '0123456789ABCDEF', '85E813540F0AB405'],
    // NBS/NIST validation vectors (SP 800-17 variable-plaintext and sample tables).
    ['0101010101010101', '8000000000000000', '95F8A5E5DD31D900'],
    ['0101010101010101', '0000000000000001', '166B40B44ABA4BD6'],
    ['8001010101010101', '0000000000000000', '95A8D72813DAA94D'],
    ['0E329232EA6D0D73', '8787878787878787', '0000000000000000'],
    ['7CA110454A1A6E57', '01A1D6D039776742', '690F5B0D9A26939B'],
  ])('key %s encrypts %s to %s and back', (key, plain, cipher) => {
    const des = new Des(hex(key));
    expect(des.encryptBlock(hex(plain)).toString('hex').toUpperCase()).toBe(cipher);
    expect(des.decryptBlock(hex(cipher)).toString('hex').toUpperCase()).toBe(plain);
  });

  it('ignores the parity bit of each key byte', () => {
    const plain = hex('0123456789ABCDEF');
    expect(new Des(hex('133457799BBCDFF1')).encryptBlock(plain)).toEqual(
      new Des(hex('123456789ABCDEF0')).encryptBlock(plain),
    );
  });

  // Two-key triple DES with both keys equal is single DES: E(k) D(k) E(k) = E(k). OpenSSL
  // still offers that by default, so it cross-checks the tables on random data.
  it.runIf(getCiphers().includes('des-ede-ecb'))('agrees with OpenSSL on random keys and blocks', () => {
    for (let i = 0; i < 64; i++) {
      const key = randomBytes(8);
      const plain = randomBytes(16);
      const cipher = createCipheriv('des-ede-ecb', Buffer.concat([key, key]), null).setAutoPadding(false);
      const expected = Buffer.concat([cipher.update(plain), cipher.final()]);
      expect(new Des(key).encryptEcb(plain)).toEqual(expected);
    }
  });

  it('rejects keys and blocks of the wrong size', () => {
    expect(() => new Des(Buffer.alloc(7))).toThrow(RangeError);
    expect(() => new Des(Buffer.alloc(8)).encryptBlock(Buffer.alloc(9))).toThrow(RangeError);
    expect(() => new Des(Buffer.alloc(8)).encryptEcb(Buffer.alloc(12))).toThrow(RangeError);
  });
});

describe('VNC Authentication (RFC 6143 §7.2.2)', () => {
  it('bit-reverses each password byte into the key, zero-padded to 8 bytes', () => {
    // "pass" = 70 61 73 73 → 0E 86 CE CE
    expect(vncAuthKey('pass')).toEqual(hex('0E86CECE 00000000'));
    // Only the first 8 bytes count.
    expect(vncAuthKey('abcdefghXYZ')).toEqual(vncAuthKey('abcdefgh'));
  });

  it('answers a known challenge as other VNC implementations do', () => {
    // Password "password": key bytes 70 61 73 73 77 6F 72 64 reversed → 0E 86 CE CE EE F6 4E 26.
    // The response was computed independently with noVNC's VNC DES and with OpenSSL
    // (des-ede-ecb, key ‖ key, on the reversed key).
    const challenge = hex('00112233445566778899AABBCCDDEEFF');
    expect(vncAuthKey('password')).toEqual(hex('0E86CECEEEF64E26'));
    expect(computeVncAuthResponse('password', challenge)).toEqual(hex('B7B9C87777661A7A 2299733209BFDFCE'));
  });

  it('round-trips: the right password verifies, others do not', () => {
    const challenge = createVncAuthChallenge();
    expect(challenge).toHaveLength(16);
    const response = computeVncAuthResponse('s3cret', challenge);
    expect(verifyVncAuthResponse('s3cret', challenge, response)).toBe(true);
    expect(verifyVncAuthResponse('s3creT', challenge, response)).toBe(false);
    expect(verifyVncAuthResponse('s3cret', createVncAuthChallenge(), response)).toBe(false);
    expect(verifyVncAuthResponse('s3cret', challenge, response.subarray(0, 15))).toBe(false);
    // Passwords longer than 8 bytes are truncated, as every VNC client does.
    expect(verifyVncAuthResponse('s3cret!!-and-more', challenge, computeVncAuthResponse('s3cret!!', challenge))).toBe(true);
  });

  it('accepts the empty password (all-zero key)', () => {
    const challenge = Buffer.alloc(16, 0x5a);
    expect(verifyVncAuthResponse('', challenge, new Des(Buffer.alloc(8)).encryptEcb(challenge))).toBe(true);
  });
});
