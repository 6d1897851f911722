// MD4 (RFC 1320 A.5), RC4 (RFC 6229) and the NTLMv2 example of MS-NLMP 4.2.4: the published
// messages, keys and the sealed "Plaintext", checked through the acceptor.
import { describe, expect, it } from 'vitest';
import { md4 } from '../src/nla/md4.js';
import {
  decodeAuthenticateMessage,
  decodeChallengeMessage,
  NtlmAcceptor,
  NtlmSessionSecurity,
  ntowfV2,
  sealingKey,
  signingKey,
} from '../src/nla/ntlm.js';
import { Rc4, rc4Once } from '../src/nla/rc4.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('MD4 (RFC 1320 appendix A.5)', () => {
  it.each([
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
    ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', 'e33b4ddc9c38f2199c3e7b164fcc0536'],
  ])('MD4(%j)', (input, digest) => {
    expect(md4(Buffer.from(input, 'latin1')).toString('hex')).toBe(digest);
  });

  it('pads correctly around the 56-byte boundary', () => {
    // Inputs of 55, 56 and 64 bytes take one, two and two blocks; all must differ and be stable.
    const digests = [55, 56, 63, 64, 65].map((n) => md4(Buffer.alloc(n, 0x61)).toString('hex'));
    expect(new Set(digests).size).toBe(5);
  });
});

describe('RC4 (RFC 6229)', () => {
  const keystream = (key: Buffer, offset: number, length: number): string =>
    new Rc4(key).update(Buffer.alloc(offset + length)).subarray(offset).toString('hex');

  it('40-bit key 0102030405', () => {
    expect(keystream(hex('0102030405'), 0, 32)).toBe('b2396305f03dc027ccc3524a0a1118a86982944f18fc82d589c403a47a0d0919');
  });

  it('128-bit key 0102…10, offsets 0, 16, 768 and 1024', () => {
    const key = hex('0102030405060708090a0b0c0d0e0f10');
    expect(keystream(key, 0, 32)).toBe('9ac7cc9a609d1ef7b2932899cde41b975248c4959014126a6e8a84f11d1a9e1c');
    expect(keystream(key, 768, 16)).toBe('eccbe13de1fcc91c11a0b26c0bc8fa4d');
    expect(keystream(key, 1024, 16)).toBe('bdf0324e6083dcc6d3cedd3ca8c53c16');
  });

  it('continues its keystream across update calls', () => {
    const key = hex('0102030405');
    const cipher = new Rc4(key);
    const parts = Buffer.concat([cipher.update(Buffer.alloc(7)), cipher.update(Buffer.alloc(25))]);
    expect(parts.equals(rc4Once(key, Buffer.alloc(32)))).toBe(true);
  });
});

describe('NTLMv2 (MS-NLMP 4.2.4)', () => {
  const serverChallenge = hex('0123456789abcdef');
  const randomSessionKey = Buffer.alloc(16, 0x55);
  // 4.2.4.3: the CHALLENGE_MESSAGE and AUTHENTICATE_MESSAGE of the example.
  const challengeMessage = hex(
    '4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef00000000000000002400240044000000' +
      '060070170000000f53006500720076006500720002000c0044006f006d00610069006e0001000c00530065007200760065' +
      '00720000000000',
  );
  const authenticateMessage = hex(
    '4e544c4d5353500003000000180018006c00000054005400840000000c000c00480000000800080054000000100010005c' +
      '00000010001000d8000000358288e20501280a0000000f44006f006d00610069006e00550073006500720043004f004d00' +
      '5000550054004500520086c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa68cd0ab851e51c96aabc927bebef6a' +
      '1c01010000000000000000000000000000aaaaaaaaaaaaaaaa0000000002000c0044006f006d00610069006e0001000c00' +
      '5300650072007600650072000000000000000000c5dad2544fc9799094ce1ce90bc9d03e',
  );

  it('NTOWFv2 and the keys of 4.2.4.1–4.2.4.2', () => {
    expect(md4(Buffer.from('Password', 'utf16le')).toString('hex')).toBe('a4f49c406510bdcab6824ee7c30fd852');
    expect(ntowfV2('Password', 'User', 'Domain').toString('hex')).toBe('0c868a403bfd7a93a3001ef22ef02e3f');
    expect(rc4Once(hex('8de40ccadbc14a82f15cb0ad0de95ca3'), randomSessionKey).toString('hex')).toBe('c5dad2544fc9799094ce1ce90bc9d03e');
    const flags = decodeChallengeMessage(challengeMessage).flags;
    expect(flags >>> 0).toBe(0xe28a8233);
    expect(sealingKey(randomSessionKey, flags, 'client-to-server').toString('hex')).toBe('59f600973cc4960a25480a7c196e4c58');
    expect(signingKey(randomSessionKey, 'client-to-server').toString('hex')).toBe('4788dc861b4782f35d43fd98fe1a2d39');
  });

  it('decodes the example AUTHENTICATE_MESSAGE', () => {
    const auth = decodeAuthenticateMessage(authenticateMessage);
    expect(auth).toMatchObject({ user: 'User', domain: 'Domain', workstation: 'COMPUTER' });
    expect(auth.ntChallengeResponse.subarray(0, 16).toString('hex')).toBe('68cd0ab851e51c96aabc927bebef6a1c');
    expect(auth.lmChallengeResponse.toString('hex')).toBe('86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa');
  });

  function acceptExample(password: string) {
    const acceptor = new NtlmAcceptor({ username: 'user', password, random: () => Buffer.from(serverChallenge), now: () => 0 });
    const negotiate = hex('4e544c4d5353500001000000978208e2000000000000000000000000000000000a0063450000000f');
    const challenge = decodeChallengeMessage(acceptor.acceptNegotiate(negotiate));
    expect(challenge.serverChallenge.equals(serverChallenge)).toBe(true);
    return acceptor.acceptAuthenticate(authenticateMessage);
  }

  it('accepts the example with password "Password" and unseals the client\'s "Plaintext" (4.2.4.4)', () => {
    const result = acceptExample('Password');
    if (!result.ok) throw new Error(result.reason);
    expect(result.user).toBe('User');
    expect(result.security.exportedSessionKey.equals(randomSessionKey)).toBe(true);
    const plain = result.security.unseal(hex('54e50165bf1936dc996020c1811b0f06fb5f'), hex('010000007fb38ec5c55d497600000000'));
    expect(plain?.toString('utf16le')).toBe('Plaintext');
  });

  it('seals "Plaintext" as the client would (the same vector from the client role)', () => {
    const flags = decodeChallengeMessage(challengeMessage).flags;
    const client = new NtlmSessionSecurity(randomSessionKey, flags, 'client');
    const { data, signature } = client.seal(Buffer.from('Plaintext', 'utf16le'));
    expect(data.toString('hex')).toBe('54e50165bf1936dc996020c1811b0f06fb5f');
    expect(signature.toString('hex')).toBe('010000007fb38ec5c55d497600000000');
  });

  it('refuses the example with another password, and a tampered signature', () => {
    const refused = acceptExample('password');
    expect(refused.ok).toBe(false);
    const result = acceptExample('Password');
    if (!result.ok) throw new Error(result.reason);
    expect(result.security.unseal(hex('54e50165bf1936dc996020c1811b0f06fb5f'), hex('010000007fb38ec5c55d497601000000'))).toBeUndefined();
  });
});
