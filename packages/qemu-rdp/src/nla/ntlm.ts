// The acceptor (server) side of NTLM v2 (MS-NLMP): NEGOTIATE_MESSAGE in (2.2.1.1), CHALLENGE_MESSAGE
// out (2.2.1.2, with the AV pairs of 2.2.2.1), AUTHENTICATE_MESSAGE in (2.2.1.3), checked as in
// 3.2.5.1.2 (NTOWFv2 and NTProofStr, 3.3.2; the MIC; KXKEY and key exchange, 3.4.5.1), then session
// security with extended session security: SIGNKEY/SEALKEY (3.4.5.2–3), SEAL/MAC (3.4.3, 3.4.4.2)
// as EncryptMessage/DecryptMessage use them. NTLMv1, LM and anonymous logons are refused.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ReadCursor, WriteCursor } from '../pdu/cursor.js';
import { RdpProtocolError } from '../pdu/errors.js';
import { md4 } from './md4.js';
import { Rc4, rc4Once } from './rc4.js';

// ---- NegotiateFlags (2.2.2.5) ----
export const NTLMSSP_NEGOTIATE_UNICODE = 0x00000001;
export const NTLMSSP_NEGOTIATE_OEM = 0x00000002;
export const NTLMSSP_REQUEST_TARGET = 0x00000004;
export const NTLMSSP_NEGOTIATE_SIGN = 0x00000010;
export const NTLMSSP_NEGOTIATE_SEAL = 0x00000020;
export const NTLMSSP_NEGOTIATE_LM_KEY = 0x00000080;
export const NTLMSSP_NEGOTIATE_NTLM = 0x00000200;
export const NTLMSSP_NEGOTIATE_ANONYMOUS = 0x00000800;
export const NTLMSSP_NEGOTIATE_ALWAYS_SIGN = 0x00008000;
export const NTLMSSP_TARGET_TYPE_DOMAIN = 0x00010000;
export const NTLMSSP_TARGET_TYPE_SERVER = 0x00020000;
export const NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY = 0x00080000;
export const NTLMSSP_NEGOTIATE_IDENTIFY = 0x00100000;
export const NTLMSSP_NEGOTIATE_TARGET_INFO = 0x00800000;
export const NTLMSSP_NEGOTIATE_VERSION = 0x02000000;
export const NTLMSSP_NEGOTIATE_128 = 0x20000000;
export const NTLMSSP_NEGOTIATE_KEY_EXCH = 0x40000000;
export const NTLMSSP_NEGOTIATE_56 = 0x80000000;

// ---- AV_PAIR AvId (2.2.2.1) ----
export const MSV_AV_EOL = 0;
export const MSV_AV_NB_COMPUTER_NAME = 1;
export const MSV_AV_NB_DOMAIN_NAME = 2;
export const MSV_AV_DNS_COMPUTER_NAME = 3;
export const MSV_AV_DNS_DOMAIN_NAME = 4;
export const MSV_AV_FLAGS = 6;
export const MSV_AV_TIMESTAMP = 7;
/** MsvAvFlags bit: the AUTHENTICATE_MESSAGE carries a MIC. */
export const MSV_AV_FLAG_MIC_PRESENT = 0x00000002;

export const NTLM_NEGOTIATE = 1;
export const NTLM_CHALLENGE = 2;
export const NTLM_AUTHENTICATE = 3;
const NTLMSSP_SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');
/** AUTHENTICATE_MESSAGE: the MIC follows the fixed fields and the Version (2.2.1.3). */
const MIC_OFFSET = 72;
const MIC_LENGTH = 16;
const CHALLENGE_HEADER_LENGTH = 56;
/** NTLMv2_CLIENT_CHALLENGE (2.2.2.7): the AV pairs start after 28 fixed bytes. */
const CLIENT_CHALLENGE_AV_PAIRS_OFFSET = 28;
/** NTLMSSP_MESSAGE_SIGNATURE (2.2.2.9.1) is 16 bytes: version 1, checksum, sequence number. */
export const NTLM_SIGNATURE_LENGTH = 16;
/** Windows 10 / Server 2019, NTLMSSP_REVISION_W2K3 (2.2.2.10). */
const SERVER_VERSION = Buffer.from([10, 0, 0x63, 0x45, 0, 0, 0, 0x0f]);
/** 100-ns intervals between 1601-01-01 (FILETIME) and 1970-01-01. */
const FILETIME_UNIX_EPOCH = 116444736000000000n;

/** Flags this server grants when the client asks for them. */
const NEGOTIABLE_FLAGS =
  NTLMSSP_NEGOTIATE_UNICODE |
  NTLMSSP_REQUEST_TARGET |
  NTLMSSP_NEGOTIATE_SIGN |
  NTLMSSP_NEGOTIATE_SEAL |
  NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY |
  NTLMSSP_NEGOTIATE_IDENTIFY |
  NTLMSSP_NEGOTIATE_128 |
  NTLMSSP_NEGOTIATE_56 |
  NTLMSSP_NEGOTIATE_KEY_EXCH;
/** Flags this server always sets in its CHALLENGE_MESSAGE. */
const SERVER_FLAGS =
  NTLMSSP_NEGOTIATE_NTLM | NTLMSSP_NEGOTIATE_ALWAYS_SIGN | NTLMSSP_TARGET_TYPE_SERVER | NTLMSSP_NEGOTIATE_TARGET_INFO | NTLMSSP_NEGOTIATE_VERSION;

function bad(code: 'RDP_ERR_BAD_ENCODING' | 'RDP_ERR_UNEXPECTED' | 'RDP_ERR_BAD_VALUE' | 'RDP_ERR_BAD_LENGTH', message: string): never {
  throw new RdpProtocolError(code, message);
}

// ---- messages ----

/** The NTLMSSP signature and message type every NTLM message starts with. */
function readHeader(cursor: ReadCursor, expectedType: number): void {
  if (!cursor.bytes(8).equals(NTLMSSP_SIGNATURE)) bad('RDP_ERR_BAD_ENCODING', `${cursor.what}: no NTLMSSP signature`);
  const type = cursor.u32le();
  if (type !== expectedType) bad('RDP_ERR_UNEXPECTED', `${cursor.what}: message type ${type}, expected ${expectedType}`);
}

/** A (Len, MaxLen, BufferOffset) field: the bytes it points at within the whole message. */
function readPayloadField(cursor: ReadCursor, name: string): Buffer {
  const length = cursor.u16le();
  cursor.u16le(); // MaxLen: SHOULD equal Len, ignored on receipt
  const offset = cursor.u32le();
  if (length === 0) return Buffer.alloc(0);
  if (offset + length > cursor.buf.length) bad('RDP_ERR_BAD_LENGTH', `${cursor.what}: ${name} (${length} bytes at ${offset}) beyond the message's ${cursor.buf.length} bytes`);
  return cursor.buf.subarray(offset, offset + length);
}

function decodeText(bytes: Buffer, unicode: boolean, name: string): string {
  if (!unicode) return bytes.toString('latin1');
  if (bytes.length % 2 !== 0) bad('RDP_ERR_BAD_VALUE', `NTLM ${name}: odd length ${bytes.length} for UTF-16`);
  return bytes.toString('utf16le');
}

export interface NtlmNegotiateMessage {
  flags: number;
}

/** NEGOTIATE_MESSAGE (2.2.1.1). The OEM domain and workstation it may carry are not used. */
export function decodeNegotiateMessage(message: Buffer): NtlmNegotiateMessage {
  const cursor = new ReadCursor(message, 'NTLM NEGOTIATE_MESSAGE');
  readHeader(cursor, NTLM_NEGOTIATE);
  return { flags: cursor.u32le() };
}

export interface NtlmChallengeMessage {
  flags: number;
  serverChallenge: Buffer;
  targetName: Buffer;
  targetInfo: Buffer;
}

/** CHALLENGE_MESSAGE (2.2.1.2) with a Version field. */
export function encodeChallengeMessage(challenge: NtlmChallengeMessage): Buffer {
  const w = new WriteCursor(CHALLENGE_HEADER_LENGTH + challenge.targetName.length + challenge.targetInfo.length);
  const targetNameOffset = CHALLENGE_HEADER_LENGTH;
  const targetInfoOffset = targetNameOffset + challenge.targetName.length;
  w.bytes(NTLMSSP_SIGNATURE).u32le(NTLM_CHALLENGE);
  w.u16le(challenge.targetName.length).u16le(challenge.targetName.length).u32le(targetNameOffset);
  w.u32le(challenge.flags).bytes(challenge.serverChallenge).zeros(8);
  w.u16le(challenge.targetInfo.length).u16le(challenge.targetInfo.length).u32le(targetInfoOffset);
  w.bytes(SERVER_VERSION);
  w.bytes(challenge.targetName).bytes(challenge.targetInfo);
  return w.toBuffer();
}

/** CHALLENGE_MESSAGE (2.2.1.2), for clients and tests. */
export function decodeChallengeMessage(message: Buffer): NtlmChallengeMessage {
  const cursor = new ReadCursor(message, 'NTLM CHALLENGE_MESSAGE');
  readHeader(cursor, NTLM_CHALLENGE);
  const targetName = readPayloadField(cursor, 'TargetName');
  const flags = cursor.u32le();
  const serverChallenge = cursor.bytes(8);
  cursor.skip(8);
  const targetInfo = readPayloadField(cursor, 'TargetInfo');
  return { flags, serverChallenge, targetName, targetInfo };
}

export interface NtlmAuthenticateMessage {
  flags: number;
  lmChallengeResponse: Buffer;
  ntChallengeResponse: Buffer;
  domain: string;
  user: string;
  workstation: string;
  encryptedRandomSessionKey: Buffer;
}

/** AUTHENTICATE_MESSAGE (2.2.1.3). Whether a MIC is present is told by the NT response's AV pairs. */
export function decodeAuthenticateMessage(message: Buffer): NtlmAuthenticateMessage {
  const cursor = new ReadCursor(message, 'NTLM AUTHENTICATE_MESSAGE');
  readHeader(cursor, NTLM_AUTHENTICATE);
  const lmChallengeResponse = readPayloadField(cursor, 'LmChallengeResponse');
  const ntChallengeResponse = readPayloadField(cursor, 'NtChallengeResponse');
  const domainBytes = readPayloadField(cursor, 'DomainName');
  const userBytes = readPayloadField(cursor, 'UserName');
  const workstationBytes = readPayloadField(cursor, 'Workstation');
  const encryptedRandomSessionKey = readPayloadField(cursor, 'EncryptedRandomSessionKey');
  const flags = cursor.u32le();
  const unicode = (flags & NTLMSSP_NEGOTIATE_UNICODE) !== 0;
  return {
    flags,
    lmChallengeResponse,
    ntChallengeResponse,
    domain: decodeText(domainBytes, unicode, 'DomainName'),
    user: decodeText(userBytes, unicode, 'UserName'),
    workstation: decodeText(workstationBytes, unicode, 'Workstation'),
    encryptedRandomSessionKey,
  };
}

// ---- AV pairs (2.2.2.1) ----

export interface AvPair {
  id: number;
  value: Buffer;
}

/** AV pairs up to and including MsvAvEOL, which is added here. */
export function encodeAvPairs(pairs: AvPair[]): Buffer {
  const w = new WriteCursor(128);
  for (const pair of pairs) w.u16le(pair.id).u16le(pair.value.length).bytes(pair.value);
  w.u16le(MSV_AV_EOL).u16le(0);
  return w.toBuffer();
}

/** AV pairs up to MsvAvEOL; what follows it (padding) is ignored. */
export function decodeAvPairs(buf: Buffer, what = 'NTLM AV pairs'): AvPair[] {
  const cursor = new ReadCursor(buf, what);
  const pairs: AvPair[] = [];
  for (;;) {
    const id = cursor.u16le();
    const length = cursor.u16le();
    if (id === MSV_AV_EOL) return pairs;
    pairs.push({ id, value: cursor.bytes(length) });
  }
}

// ---- key derivation (3.3.2, 3.4.5) ----

function hmacMd5(key: Uint8Array, ...data: Uint8Array[]): Buffer {
  const h = createHmac('md5', key);
  for (const d of data) h.update(d);
  return h.digest();
}

/** Upper case per UTF-16 code unit, as Windows does (never changing the length). */
function upcase(text: string): string {
  let out = '';
  for (const ch of text) {
    const upper = ch.toUpperCase();
    out += upper.length === ch.length ? upper : ch;
  }
  return out;
}

/** Case-insensitive equality of account and domain names. */
export function sameName(a: string, b: string): boolean {
  return upcase(a) === upcase(b);
}

/** NTOWFv2 (3.3.2): HMAC_MD5(MD4(UNICODE(password)), UNICODE(Uppercase(user) ‖ domain)). */
export function ntowfV2(password: string, user: string, domain: string): Buffer {
  return hmacMd5(md4(Buffer.from(password, 'utf16le')), Buffer.from(upcase(user) + domain, 'utf16le'));
}

const CLIENT_SIGNING_MAGIC = Buffer.from('session key to client-to-server signing key magic constant\0', 'latin1');
const SERVER_SIGNING_MAGIC = Buffer.from('session key to server-to-client signing key magic constant\0', 'latin1');
const CLIENT_SEALING_MAGIC = Buffer.from('session key to client-to-server sealing key magic constant\0', 'latin1');
const SERVER_SEALING_MAGIC = Buffer.from('session key to server-to-client sealing key magic constant\0', 'latin1');

export type NtlmDirection = 'client-to-server' | 'server-to-client';

/** SIGNKEY (3.4.5.2), extended session security. */
export function signingKey(exportedSessionKey: Buffer, direction: NtlmDirection): Buffer {
  const magic = direction === 'client-to-server' ? CLIENT_SIGNING_MAGIC : SERVER_SIGNING_MAGIC;
  return createHash('md5').update(exportedSessionKey).update(magic).digest();
}

/** SEALKEY (3.4.5.3), extended session security: 128, 56 or 40 bits of the key, then MD5. */
export function sealingKey(exportedSessionKey: Buffer, flags: number, direction: NtlmDirection): Buffer {
  const magic = direction === 'client-to-server' ? CLIENT_SEALING_MAGIC : SERVER_SEALING_MAGIC;
  const bytes = flags & NTLMSSP_NEGOTIATE_128 ? 16 : flags & NTLMSSP_NEGOTIATE_56 ? 7 : 5;
  return createHash('md5').update(exportedSessionKey.subarray(0, bytes)).update(magic).digest();
}

// ---- session security (3.4) ----

/**
 * One side's signing and sealing state with extended session security: a signing key, an RC4
 * handle and a sequence number per direction. Seal/unseal are EncryptMessage/DecryptMessage with
 * one data buffer and a 16-byte signature token; sign/verify are MakeSignature/VerifySignature
 * (SPNEGO's mechListMIC). Both directions count their own sequence numbers from 0.
 */
export class NtlmSessionSecurity {
  private readonly sendSigningKey: Buffer;
  private readonly receiveSigningKey: Buffer;
  private readonly sendSealingKey: Buffer;
  private readonly receiveSealingKey: Buffer;
  private sendHandle: Rc4;
  private receiveHandle: Rc4;
  private sendSequence = 0;
  private receiveSequence = 0;

  constructor(
    readonly exportedSessionKey: Buffer,
    readonly flags: number,
    role: 'server' | 'client',
  ) {
    const send: NtlmDirection = role === 'server' ? 'server-to-client' : 'client-to-server';
    const receive: NtlmDirection = role === 'server' ? 'client-to-server' : 'server-to-client';
    this.sendSigningKey = signingKey(exportedSessionKey, send);
    this.receiveSigningKey = signingKey(exportedSessionKey, receive);
    this.sendSealingKey = sealingKey(exportedSessionKey, flags, send);
    this.receiveSealingKey = sealingKey(exportedSessionKey, flags, receive);
    this.sendHandle = new Rc4(this.sendSealingKey);
    this.receiveHandle = new Rc4(this.receiveSealingKey);
  }

  /** MAC (3.4.4.2): version 1, HMAC_MD5(key, seq ‖ message)[0..7] (RC4'd with KEY_EXCH), seq. */
  private mac(signingKey: Buffer, handle: Rc4, sequence: number, message: Uint8Array): Buffer {
    const seq = Buffer.alloc(4);
    seq.writeUInt32LE(sequence >>> 0);
    let checksum = hmacMd5(signingKey, seq, message).subarray(0, 8);
    if (this.flags & NTLMSSP_NEGOTIATE_KEY_EXCH) checksum = handle.update(checksum);
    const signature = Buffer.alloc(NTLM_SIGNATURE_LENGTH);
    signature.writeUInt32LE(1, 0);
    checksum.copy(signature, 4);
    seq.copy(signature, 12);
    return signature;
  }

  /** SEAL (3.4.3): the message RC4'd with the send handle, and its signature. */
  seal(message: Uint8Array): { data: Buffer; signature: Buffer } {
    const data = this.sendHandle.update(message);
    const signature = this.mac(this.sendSigningKey, this.sendHandle, this.sendSequence++, message);
    return { data, signature };
  }

  /** The peer's sealed message decrypted, or undefined when its signature does not verify. */
  unseal(data: Uint8Array, signature: Uint8Array): Buffer | undefined {
    const message = this.receiveHandle.update(data);
    const expected = this.mac(this.receiveSigningKey, this.receiveHandle, this.receiveSequence++, message);
    return signature.length === NTLM_SIGNATURE_LENGTH && timingSafeEqual(expected, signature) ? message : undefined;
  }

  /** MakeSignature / GSS_GetMIC: the signature alone. */
  sign(message: Uint8Array): Buffer {
    return this.mac(this.sendSigningKey, this.sendHandle, this.sendSequence++, message);
  }

  /** VerifySignature / GSS_VerifyMIC. */
  verify(message: Uint8Array, signature: Uint8Array): boolean {
    const expected = this.mac(this.receiveSigningKey, this.receiveHandle, this.receiveSequence++, message);
    return signature.length === NTLM_SIGNATURE_LENGTH && timingSafeEqual(expected, signature);
  }

  /**
   * Restarts a direction's RC4 handle (not its sequence number): what SPNEGO does after the
   * mechListMIC so that the first application message sees the same key state (MS-SPNG 3.3.5.1).
   */
  resetRc4(direction: 'send' | 'receive'): void {
    if (direction === 'send') this.sendHandle = new Rc4(this.sendSealingKey);
    else this.receiveHandle = new Rc4(this.receiveSealingKey);
  }
}

// ---- the acceptor ----

export interface NtlmAcceptorOptions {
  /** The accepted account name (case-insensitive); empty: any account name, with `password`. */
  username: string;
  password: string;
  /** When given, the client's domain must equal it (case-insensitive); otherwise it is ignored. */
  domain?: string;
  /** NetBIOS names and DNS names announced in the target info; default "QEMU-RDP" / "WORKGROUP". */
  nbComputerName?: string;
  nbDomainName?: string;
  dnsComputerName?: string;
  dnsDomainName?: string;
  /** Milliseconds since 1970 (MsvAvTimestamp); default Date.now. */
  now?: () => number;
  /** Random bytes (the server challenge); default crypto.randomBytes. */
  random?: (size: number) => Buffer;
}

export type NtlmAcceptResult =
  | { ok: true; user: string; domain: string; workstation: string; security: NtlmSessionSecurity }
  | { ok: false; reason: string };

/**
 * One NTLM v2 authentication as the server (3.2.5): acceptNegotiate answers the client's
 * NEGOTIATE_MESSAGE with a CHALLENGE_MESSAGE, acceptAuthenticate checks the AUTHENTICATE_MESSAGE.
 * Malformed messages throw RdpProtocolError; wrong credentials are a result, not an exception.
 */
export class NtlmAcceptor {
  private negotiateMessage: Buffer | undefined;
  private challengeMessage: Buffer | undefined;
  private serverChallenge: Buffer | undefined;
  private challengeFlags = 0;

  constructor(private readonly options: NtlmAcceptorOptions) {}

  acceptNegotiate(message: Buffer): Buffer {
    if (this.negotiateMessage) bad('RDP_ERR_UNEXPECTED', 'NTLM: a second NEGOTIATE_MESSAGE');
    const negotiate = decodeNegotiateMessage(message);
    if (!(negotiate.flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY)) {
      bad('RDP_ERR_UNEXPECTED', 'NTLM: the client does not offer extended session security (NTLMv1-era client)');
    }
    let flags = (negotiate.flags & NEGOTIABLE_FLAGS) | SERVER_FLAGS;
    if (!(flags & NTLMSSP_NEGOTIATE_UNICODE) && negotiate.flags & NTLMSSP_NEGOTIATE_OEM) flags |= NTLMSSP_NEGOTIATE_OEM;
    const unicode = (flags & NTLMSSP_NEGOTIATE_UNICODE) !== 0;
    const random = this.options.random ?? randomBytes;
    this.serverChallenge = Buffer.from(random(8));
    if (this.serverChallenge.length !== 8) throw new RangeError('random(8) must return 8 bytes');
    const nbComputer = this.options.nbComputerName ?? 'QEMU-RDP';
    const nbDomain = this.options.nbDomainName ?? 'WORKGROUP';
    const timestamp = Buffer.alloc(8);
    timestamp.writeBigUInt64LE(BigInt(Math.floor((this.options.now ?? Date.now)())) * 10000n + FILETIME_UNIX_EPOCH);
    const utf16 = (s: string): Buffer => Buffer.from(s, 'utf16le');
    const targetInfo = encodeAvPairs([
      { id: MSV_AV_NB_DOMAIN_NAME, value: utf16(nbDomain) },
      { id: MSV_AV_NB_COMPUTER_NAME, value: utf16(nbComputer) },
      { id: MSV_AV_DNS_DOMAIN_NAME, value: utf16(this.options.dnsDomainName ?? nbDomain.toLowerCase()) },
      { id: MSV_AV_DNS_COMPUTER_NAME, value: utf16(this.options.dnsComputerName ?? nbComputer.toLowerCase()) },
      { id: MSV_AV_TIMESTAMP, value: timestamp },
    ]);
    this.negotiateMessage = Buffer.from(message);
    this.challengeFlags = flags;
    this.challengeMessage = encodeChallengeMessage({
      flags,
      serverChallenge: this.serverChallenge,
      targetName: unicode ? utf16(nbComputer) : Buffer.from(nbComputer, 'latin1'),
      targetInfo,
    });
    return this.challengeMessage;
  }

  acceptAuthenticate(message: Buffer): NtlmAcceptResult {
    if (!this.negotiateMessage || !this.challengeMessage || !this.serverChallenge) {
      bad('RDP_ERR_UNEXPECTED', 'NTLM: AUTHENTICATE_MESSAGE before NEGOTIATE_MESSAGE');
    }
    const auth = decodeAuthenticateMessage(message);
    const nt = auth.ntChallengeResponse;
    if (auth.user === '' && nt.length === 0) return { ok: false, reason: 'anonymous logon refused' };
    if (nt.length <= 24) return { ok: false, reason: 'NTLMv1 response refused' };
    if (nt.length < 16 + CLIENT_CHALLENGE_AV_PAIRS_OFFSET) bad('RDP_ERR_BAD_LENGTH', `NTLM: NTLMv2 response of ${nt.length} bytes`);
    const ntProofStr = nt.subarray(0, 16);
    const clientChallenge = nt.subarray(16);
    const avPairs = decodeAvPairs(clientChallenge.subarray(CLIENT_CHALLENGE_AV_PAIRS_OFFSET), 'NTLMv2 client challenge AV pairs');
    const avFlags = avPairs.find((p) => p.id === MSV_AV_FLAGS);
    const micPresent = avFlags !== undefined && avFlags.value.length >= 4 && (avFlags.value.readUInt32LE(0) & MSV_AV_FLAG_MIC_PRESENT) !== 0;
    if (micPresent && message.length < MIC_OFFSET + MIC_LENGTH) bad('RDP_ERR_BAD_LENGTH', 'NTLM: AUTHENTICATE_MESSAGE too short for its MIC');

    const { username, password, domain } = this.options;
    if (username !== '' && !sameName(auth.user, username)) return { ok: false, reason: `unknown user "${auth.user}"` };
    if (domain !== undefined && domain !== '' && !sameName(auth.domain, domain)) return { ok: false, reason: `unknown domain "${auth.domain}"` };

    const responseKeyNt = ntowfV2(password, auth.user, auth.domain);
    const expectedProof = hmacMd5(responseKeyNt, this.serverChallenge, clientChallenge);
    if (!timingSafeEqual(expectedProof, ntProofStr)) return { ok: false, reason: `wrong password for "${auth.user}"` };

    // KXKEY for NTLMv2 is the session base key (3.4.5.1).
    const flags = auth.flags & this.challengeFlags;
    if (!(flags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY)) bad('RDP_ERR_UNEXPECTED', 'NTLM: AUTHENTICATE_MESSAGE without extended session security');
    const keyExchangeKey = hmacMd5(responseKeyNt, ntProofStr);
    let exportedSessionKey = keyExchangeKey;
    if (flags & NTLMSSP_NEGOTIATE_KEY_EXCH && flags & (NTLMSSP_NEGOTIATE_SIGN | NTLMSSP_NEGOTIATE_SEAL)) {
      if (auth.encryptedRandomSessionKey.length !== 16) bad('RDP_ERR_BAD_LENGTH', `NTLM: EncryptedRandomSessionKey of ${auth.encryptedRandomSessionKey.length} bytes`);
      exportedSessionKey = rc4Once(keyExchangeKey, auth.encryptedRandomSessionKey);
    }
    if (micPresent) {
      const zeroed = Buffer.from(message);
      zeroed.fill(0, MIC_OFFSET, MIC_OFFSET + MIC_LENGTH);
      const mic = hmacMd5(exportedSessionKey, this.negotiateMessage, this.challengeMessage, zeroed);
      if (!timingSafeEqual(mic, message.subarray(MIC_OFFSET, MIC_OFFSET + MIC_LENGTH))) {
        return { ok: false, reason: 'NTLM MIC mismatch (messages altered in transit)' };
      }
    }
    return {
      ok: true,
      user: auth.user,
      domain: auth.domain,
      workstation: auth.workstation,
      security: new NtlmSessionSecurity(exportedSessionKey, flags, 'server'),
    };
  }
}
