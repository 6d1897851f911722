// CredSSP (MS-CSSP) for the server: TSRequest, TSCredentials and TSPasswordCreds in DER (2.2.1),
// the acceptor's exchange (3.1.5) over NTLM v2, raw or inside SPNEGO (MS-SPNG), with the public-key
// binding of versions 2–4 (the key itself, +1 on the way back) and 5–6 (SHA-256 binding hashes with
// the client's nonce), errorCode for version 3 and later; and HYBRID_EX's Early User Authorization
// Result PDU (MS-RDPBCGR 2.2.10.2). Pure: bytes in, bytes out, time and randomness injectable.
import { createHash, X509Certificate } from 'node:crypto';
import { RdpProtocolError } from '../pdu/errors.js';
import {
  contextTag,
  DER_TAG_INTEGER,
  DER_TAG_OCTET_STRING,
  DER_TAG_SEQUENCE,
  decodeInteger,
  derContext,
  derElementLength,
  derInteger,
  derOctetString,
  derSequence,
  DerReader,
} from './der.js';
import { NTLM_SIGNATURE_LENGTH, NtlmAcceptor, type NtlmAcceptorOptions, type NtlmSessionSecurity, sameName } from './ntlm.js';
import {
  decodeNegTokenResp,
  decodeSpnegoInitialToken,
  encodeNegTokenResp,
  isSpnegoToken,
  NEG_STATE_ACCEPT_COMPLETED,
  NEG_STATE_ACCEPT_INCOMPLETE,
  NEG_STATE_REJECT,
  NEG_STATE_REQUEST_MIC,
  OID_NTLM,
} from './spnego.js';

/** The highest CredSSP version this server speaks. */
export const CREDSSP_SERVER_VERSION = 6;
/** Version 5 introduced the clientNonce and the SHA-256 binding hashes (MS-CSSP 3.1.5). */
const FIRST_HASHED_BINDING_VERSION = 5;
/** Version 3 introduced errorCode. */
const FIRST_ERROR_CODE_VERSION = 3;
/** NTSTATUS STATUS_LOGON_FAILURE (MS-ERREF 2.3.1), as the signed 32-bit value DER carries. */
export const STATUS_LOGON_FAILURE = 0xc000006d | 0;
/** TSCredentials credType (2.2.1.2): TSPasswordCreds. */
export const CREDSSP_CRED_TYPE_PASSWORD = 1;
const CLIENT_SERVER_HASH_MAGIC = Buffer.from('CredSSP Client-To-Server Binding Hash\0', 'latin1');
const SERVER_CLIENT_HASH_MAGIC = Buffer.from('CredSSP Server-To-Client Binding Hash\0', 'latin1');
/** The clientNonce is 32 bytes (2.2.1). */
const CLIENT_NONCE_LENGTH = 32;
/** Largest TSRequest accepted (a few KiB in practice). */
export const MAX_TS_REQUEST_LENGTH = 0x10000;

// ---- TSRequest (2.2.1) ----

export interface TsRequest {
  version: number;
  negoTokens?: Buffer[];
  authInfo?: Buffer;
  pubKeyAuth?: Buffer;
  errorCode?: number;
  clientNonce?: Buffer;
}

export function encodeTsRequest(req: TsRequest): Buffer {
  const fields = [derContext(0, derInteger(req.version))];
  if (req.negoTokens) fields.push(derContext(1, derSequence(...req.negoTokens.map((t) => derSequence(derContext(0, derOctetString(t)))))));
  if (req.authInfo) fields.push(derContext(2, derOctetString(req.authInfo)));
  if (req.pubKeyAuth) fields.push(derContext(3, derOctetString(req.pubKeyAuth)));
  if (req.errorCode !== undefined) fields.push(derContext(4, derInteger(req.errorCode | 0)));
  if (req.clientNonce) fields.push(derContext(5, derOctetString(req.clientNonce)));
  return derSequence(...fields);
}

function explicit(r: DerReader, n: number, innerTag: number, name: string): Buffer | undefined {
  const contents = r.optional(contextTag(n), name);
  if (contents === undefined) return undefined;
  const inner = new DerReader(contents, `${r.what} ${name}`);
  const value = inner.expect(innerTag, name);
  inner.end();
  return value;
}

/** One whole TSRequest; fields must come in order, unknown trailing fields are refused. */
export function decodeTsRequest(buf: Buffer): TsRequest {
  const outer = new DerReader(buf, 'CredSSP TSRequest');
  const r = outer.enter(DER_TAG_SEQUENCE, 'TSRequest');
  outer.end();
  const version = explicit(r, 0, DER_TAG_INTEGER, 'version');
  if (version === undefined) throw new RdpProtocolError('RDP_ERR_BAD_ENCODING', 'CredSSP: TSRequest without version');
  const req: TsRequest = { version: decodeInteger(version, 'TSRequest version') };
  const nego = r.optional(contextTag(1), 'negoTokens');
  if (nego !== undefined) {
    const list = new DerReader(nego, 'CredSSP negoTokens');
    const items = list.enter(DER_TAG_SEQUENCE, 'NegoData');
    list.end();
    req.negoTokens = [];
    while (items.remaining > 0) {
      const item = items.enter(DER_TAG_SEQUENCE, 'NegoDataItem');
      const token = explicit(item, 0, DER_TAG_OCTET_STRING, 'negoToken');
      if (token === undefined) throw new RdpProtocolError('RDP_ERR_BAD_ENCODING', 'CredSSP: NegoDataItem without negoToken');
      item.end();
      req.negoTokens.push(token);
    }
  }
  const authInfo = explicit(r, 2, DER_TAG_OCTET_STRING, 'authInfo');
  if (authInfo) req.authInfo = authInfo;
  const pubKeyAuth = explicit(r, 3, DER_TAG_OCTET_STRING, 'pubKeyAuth');
  if (pubKeyAuth) req.pubKeyAuth = pubKeyAuth;
  const errorCode = explicit(r, 4, DER_TAG_INTEGER, 'errorCode');
  if (errorCode) req.errorCode = decodeInteger(errorCode, 'TSRequest errorCode') | 0;
  const clientNonce = explicit(r, 5, DER_TAG_OCTET_STRING, 'clientNonce');
  if (clientNonce) req.clientNonce = clientNonce;
  r.end();
  return req;
}

/**
 * Bytes of the TSRequest at the start of `buf` (TSRequests travel back to back on the TLS stream,
 * each a whole DER SEQUENCE); undefined until the length octets have arrived.
 */
export function tsRequestLength(buf: Buffer): number | undefined {
  if (buf.length === 0) return undefined;
  if (buf[0] !== DER_TAG_SEQUENCE) throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `CredSSP: TSRequest starts with 0x${buf[0]!.toString(16)}, not a SEQUENCE`);
  const length = derElementLength(buf);
  if (length !== undefined && length > MAX_TS_REQUEST_LENGTH) throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `CredSSP: TSRequest of ${length} bytes`);
  return length;
}

// ---- TSCredentials (2.2.1.2), TSPasswordCreds (2.2.1.2.1) ----

export interface TsCredentials {
  credType: number;
  credentials: Buffer;
}

export interface TsPasswordCreds {
  domainName: string;
  userName: string;
  password: string;
}

export function decodeTsCredentials(buf: Buffer): TsCredentials {
  const outer = new DerReader(buf, 'CredSSP TSCredentials');
  const r = outer.enter(DER_TAG_SEQUENCE, 'TSCredentials');
  outer.end();
  const credType = explicit(r, 0, DER_TAG_INTEGER, 'credType');
  const credentials = explicit(r, 1, DER_TAG_OCTET_STRING, 'credentials');
  if (credType === undefined || credentials === undefined) throw new RdpProtocolError('RDP_ERR_BAD_ENCODING', 'CredSSP: TSCredentials lacks a field');
  r.end();
  return { credType: decodeInteger(credType, 'TSCredentials credType'), credentials };
}

export function encodeTsCredentials(creds: TsCredentials): Buffer {
  return derSequence(derContext(0, derInteger(creds.credType)), derContext(1, derOctetString(creds.credentials)));
}

function utf16(bytes: Buffer, name: string): string {
  if (bytes.length % 2 !== 0) throw new RdpProtocolError('RDP_ERR_BAD_VALUE', `CredSSP: ${name} has an odd length for UTF-16`);
  return bytes.toString('utf16le');
}

export function decodeTsPasswordCreds(buf: Buffer): TsPasswordCreds {
  const outer = new DerReader(buf, 'CredSSP TSPasswordCreds');
  const r = outer.enter(DER_TAG_SEQUENCE, 'TSPasswordCreds');
  outer.end();
  const domainName = explicit(r, 0, DER_TAG_OCTET_STRING, 'domainName');
  const userName = explicit(r, 1, DER_TAG_OCTET_STRING, 'userName');
  const password = explicit(r, 2, DER_TAG_OCTET_STRING, 'password');
  if (!domainName || !userName || !password) throw new RdpProtocolError('RDP_ERR_BAD_ENCODING', 'CredSSP: TSPasswordCreds lacks a field');
  r.end();
  return { domainName: utf16(domainName, 'domainName'), userName: utf16(userName, 'userName'), password: utf16(password, 'password') };
}

export function encodeTsPasswordCreds(creds: TsPasswordCreds): Buffer {
  return derSequence(
    derContext(0, derOctetString(Buffer.from(creds.domainName, 'utf16le'))),
    derContext(1, derOctetString(Buffer.from(creds.userName, 'utf16le'))),
    derContext(2, derOctetString(Buffer.from(creds.password, 'utf16le'))),
  );
}

// ---- the server's public key ----

/**
 * What pubKeyAuth binds to: the subjectPublicKey BIT STRING of the certificate's
 * SubjectPublicKeyInfo, without its unused-bits octet (for RSA, the DER RSAPublicKey).
 */
export function subjectPublicKeyOf(certificate: string | Buffer | X509Certificate): Buffer {
  const cert = certificate instanceof X509Certificate ? certificate : new X509Certificate(certificate);
  const spki = cert.publicKey.export({ type: 'spki', format: 'der' });
  const outer = new DerReader(spki, 'SubjectPublicKeyInfo');
  const r = outer.enter(DER_TAG_SEQUENCE, 'SubjectPublicKeyInfo');
  r.expect(DER_TAG_SEQUENCE, 'algorithm');
  const bits = r.expect(0x03, 'subjectPublicKey');
  if (bits.length < 1 || bits[0] !== 0) throw new RdpProtocolError('RDP_ERR_BAD_ENCODING', 'subjectPublicKey has unused bits');
  return Buffer.from(bits.subarray(1));
}

/** The value pubKeyAuth carries (before sealing) in each direction, per version (3.1.5). */
export function publicKeyBinding(direction: 'client-to-server' | 'server-to-client', version: number, subjectPublicKey: Buffer, clientNonce: Buffer | undefined): Buffer {
  if (version >= FIRST_HASHED_BINDING_VERSION) {
    if (!clientNonce) throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `CredSSP: version ${version} without clientNonce`);
    const magic = direction === 'client-to-server' ? CLIENT_SERVER_HASH_MAGIC : SERVER_CLIENT_HASH_MAGIC;
    return createHash('sha256').update(magic).update(clientNonce).update(subjectPublicKey).digest();
  }
  if (direction === 'client-to-server') return subjectPublicKey;
  const incremented = Buffer.from(subjectPublicKey);
  incremented[0] = (incremented[0]! + 1) & 0xff;
  return incremented;
}

/** EncryptMessage output as CredSSP carries it: the 16-byte signature, then the sealed data. */
export function sealToken(security: NtlmSessionSecurity, message: Buffer): Buffer {
  const { data, signature } = security.seal(message);
  return Buffer.concat([signature, data]);
}

/** DecryptMessage of a CredSSP token; undefined when it is too short or its signature is wrong. */
export function unsealToken(security: NtlmSessionSecurity, token: Buffer): Buffer | undefined {
  if (token.length < NTLM_SIGNATURE_LENGTH) return undefined;
  return security.unseal(token.subarray(NTLM_SIGNATURE_LENGTH), token.subarray(0, NTLM_SIGNATURE_LENGTH));
}

// ---- Early User Authorization Result PDU (MS-RDPBCGR 2.2.10.2) ----

export const AUTHZ_SUCCESS = 0x00000000;
export const AUTHZ_ACCESS_DENIED = 0x00000005;

/** Sent on the TLS stream after CredSSP when PROTOCOL_HYBRID_EX was selected. */
export function encodeEarlyUserAuthorizationResult(result: typeof AUTHZ_SUCCESS | typeof AUTHZ_ACCESS_DENIED): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32LE(result);
  return out;
}

// ---- the acceptor (3.1.5) ----

export interface CredSspAcceptorOptions extends NtlmAcceptorOptions {
  /** subjectPublicKeyOf(the TLS certificate). */
  serverPublicKey: Buffer;
}

export type CredSspFailureKind =
  /** Wrong user, domain or password, or an anonymous / NTLMv1 logon: count it, rate-limit. */
  | 'logon-failure'
  /** pubKeyAuth does not match this server's key: a TLS man in the middle, or a broken client. */
  | 'public-key-mismatch'
  /** The delegated credentials are not the authenticated account's, or not a password. */
  | 'credentials-mismatch'
  /** The client offered nothing this server speaks (no NTLM in SPNEGO) or reported an error. */
  | 'unsupported';

export interface CredSspStep {
  /** Bytes to write to the TLS stream (then wait for the next TSRequest unless done/failed). */
  reply?: Buffer;
  /** Authentication finished: the account the client proved it holds the password of. */
  done?: { user: string; domain: string };
  /** Authentication refused; `reply` (a TSRequest with errorCode) is sent before closing, if any. */
  failed?: { kind: CredSspFailureKind; reason: string; reply?: Buffer };
}

type AcceptorPhase = 'negotiate' | 'spnego-negotiate' | 'authenticate' | 'public-key' | 'credentials' | 'finished';

/**
 * The server side of one CredSSP exchange. Feed each whole TSRequest from the client to step();
 * malformed input throws RdpProtocolError (drop the connection), refusals come back as `failed`.
 * Supports NTLM sent raw (FreeRDP 2's default) and inside SPNEGO (mstsc, FreeRDP 3), including the
 * SPNEGO mechListMIC exchange.
 */
export class CredSspAcceptor {
  private phase: AcceptorPhase = 'negotiate';
  private readonly ntlm: NtlmAcceptor;
  private clientVersion = 0;
  private spnego = false;
  private mechTypesDer: Buffer | undefined;
  private clientNonce: Buffer | undefined;
  private security: NtlmSessionSecurity | undefined;
  private identity: { user: string; domain: string } | undefined;

  constructor(private readonly options: CredSspAcceptorOptions) {
    this.ntlm = new NtlmAcceptor(options);
  }

  /** The version both sides use: the lower of theirs and ours. */
  get version(): number {
    return Math.min(this.clientVersion, CREDSSP_SERVER_VERSION);
  }

  step(message: Buffer): CredSspStep {
    if (this.phase === 'finished') throw new RdpProtocolError('RDP_ERR_UNEXPECTED', 'CredSSP: TSRequest after the exchange ended');
    const req = decodeTsRequest(message);
    if (this.clientVersion === 0) {
      if (req.version < 1) throw new RdpProtocolError('RDP_ERR_BAD_VALUE', `CredSSP: version ${req.version}`);
      this.clientVersion = req.version;
    }
    if (req.clientNonce) {
      if (req.clientNonce.length !== CLIENT_NONCE_LENGTH) throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `CredSSP: clientNonce of ${req.clientNonce.length} bytes`);
      this.clientNonce = Buffer.from(req.clientNonce);
    }
    if (req.errorCode !== undefined) return this.fail('unsupported', `client reported error 0x${(req.errorCode >>> 0).toString(16)}`, false);
    switch (this.phase) {
      case 'negotiate':
        return this.onFirstToken(this.singleToken(req));
      case 'spnego-negotiate':
        return this.onSpnegoNegotiate(this.singleToken(req));
      case 'authenticate':
        return this.onAuthenticate(this.singleToken(req), req);
      case 'public-key':
        return this.onPublicKey(req);
      case 'credentials':
        return this.onCredentials(req);
    }
  }

  private singleToken(req: TsRequest): Buffer {
    const token = req.negoTokens?.[0];
    if (!token || req.negoTokens!.length !== 1) throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `CredSSP: expected one negoToken in phase ${this.phase}`);
    return token;
  }

  private reply(fields: Omit<TsRequest, 'version'>): Buffer {
    return encodeTsRequest({ version: this.version, ...fields });
  }

  private fail(kind: CredSspFailureKind, reason: string, sendErrorCode: boolean): CredSspStep {
    this.phase = 'finished';
    const reply = sendErrorCode && this.version >= FIRST_ERROR_CODE_VERSION ? this.reply({ errorCode: STATUS_LOGON_FAILURE }) : undefined;
    return { failed: { kind, reason, ...(reply ? { reply } : {}) } };
  }

  private onFirstToken(token: Buffer): CredSspStep {
    if (!isSpnegoToken(token)) {
      this.phase = 'authenticate';
      return { reply: this.reply({ negoTokens: [this.ntlm.acceptNegotiate(token)] }) };
    }
    this.spnego = true;
    const init = decodeSpnegoInitialToken(token);
    this.mechTypesDer = init.mechTypesDer;
    const ntlmIndex = init.mechTypes.findIndex((oid) => oid.equals(OID_NTLM));
    if (ntlmIndex < 0) {
      this.phase = 'finished';
      return { failed: { kind: 'unsupported', reason: 'SPNEGO offers no NTLM', reply: this.reply({ negoTokens: [encodeNegTokenResp({ negState: NEG_STATE_REJECT })] }) } };
    }
    if (ntlmIndex === 0 && init.mechToken) {
      this.phase = 'authenticate';
      const challenge = this.ntlm.acceptNegotiate(init.mechToken);
      return { reply: this.reply({ negoTokens: [encodeNegTokenResp({ negState: NEG_STATE_ACCEPT_INCOMPLETE, supportedMech: OID_NTLM, responseToken: challenge })] }) };
    }
    // NTLM is not the client's first choice (its optimistic token is for another mechanism):
    // select NTLM, ask for the MIC that protects the mechanism list, and wait for its first token.
    this.phase = 'spnego-negotiate';
    return { reply: this.reply({ negoTokens: [encodeNegTokenResp({ negState: NEG_STATE_REQUEST_MIC, supportedMech: OID_NTLM })] }) };
  }

  private onSpnegoNegotiate(token: Buffer): CredSspStep {
    const resp = decodeNegTokenResp(token);
    if (!resp.responseToken) throw new RdpProtocolError('RDP_ERR_UNEXPECTED', 'SPNEGO: no NTLM NEGOTIATE_MESSAGE');
    this.phase = 'authenticate';
    const challenge = this.ntlm.acceptNegotiate(resp.responseToken);
    return { reply: this.reply({ negoTokens: [encodeNegTokenResp({ negState: NEG_STATE_ACCEPT_INCOMPLETE, responseToken: challenge })] }) };
  }

  private onAuthenticate(token: Buffer, req: TsRequest): CredSspStep {
    let authenticate = token;
    let clientMic: Buffer | undefined;
    if (this.spnego) {
      const resp = decodeNegTokenResp(token);
      if (!resp.responseToken) throw new RdpProtocolError('RDP_ERR_UNEXPECTED', 'SPNEGO: no NTLM AUTHENTICATE_MESSAGE');
      authenticate = resp.responseToken;
      clientMic = resp.mechListMIC;
    }
    const result = this.ntlm.acceptAuthenticate(authenticate);
    if (!result.ok) return this.fail('logon-failure', result.reason, true);
    this.security = result.security;
    this.identity = { user: result.user, domain: result.domain };

    let spnegoReply: Buffer | undefined;
    if (this.spnego) {
      // MS-SPNG 3.3.5.1: each mechListMIC uses the next sequence number, then the RC4 handle restarts.
      let serverMic: Buffer | undefined;
      if (clientMic) {
        if (!this.security.verify(this.mechTypesDer!, clientMic)) return this.fail('logon-failure', 'SPNEGO mechListMIC mismatch', true);
        this.security.resetRc4('receive');
        serverMic = this.security.sign(this.mechTypesDer!);
        this.security.resetRc4('send');
      }
      spnegoReply = encodeNegTokenResp({ negState: NEG_STATE_ACCEPT_COMPLETED, ...(serverMic ? { mechListMIC: serverMic } : {}) });
    }
    if (!req.pubKeyAuth) {
      // SPNEGO may finish its own exchange first; raw NTLM has nothing left to say without it.
      if (!spnegoReply) throw new RdpProtocolError('RDP_ERR_UNEXPECTED', 'CredSSP: AUTHENTICATE_MESSAGE without pubKeyAuth');
      this.phase = 'public-key';
      return { reply: this.reply({ negoTokens: [spnegoReply] }) };
    }
    return this.verifyPublicKey(req.pubKeyAuth, spnegoReply);
  }

  private onPublicKey(req: TsRequest): CredSspStep {
    if (!req.pubKeyAuth) throw new RdpProtocolError('RDP_ERR_UNEXPECTED', 'CredSSP: expected pubKeyAuth');
    return this.verifyPublicKey(req.pubKeyAuth, undefined);
  }

  private verifyPublicKey(pubKeyAuth: Buffer, spnegoReply: Buffer | undefined): CredSspStep {
    const security = this.security!;
    const version = this.version;
    if (version >= FIRST_HASHED_BINDING_VERSION && !this.clientNonce) {
      throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `CredSSP: version ${version} pubKeyAuth without clientNonce`);
    }
    const expected = publicKeyBinding('client-to-server', version, this.options.serverPublicKey, this.clientNonce);
    const received = unsealToken(security, pubKeyAuth);
    if (!received || !received.equals(expected)) {
      return this.fail('public-key-mismatch', received ? "pubKeyAuth does not match this server's public key" : 'pubKeyAuth does not decrypt', false);
    }
    this.phase = 'credentials';
    const binding = publicKeyBinding('server-to-client', version, this.options.serverPublicKey, this.clientNonce);
    return { reply: this.reply({ ...(spnegoReply ? { negoTokens: [spnegoReply] } : {}), pubKeyAuth: sealToken(security, binding) }) };
  }

  private onCredentials(req: TsRequest): CredSspStep {
    if (!req.authInfo) throw new RdpProtocolError('RDP_ERR_UNEXPECTED', 'CredSSP: expected authInfo');
    const plain = unsealToken(this.security!, req.authInfo);
    if (!plain) return this.fail('credentials-mismatch', 'authInfo does not decrypt', false);
    const creds = decodeTsCredentials(plain);
    if (creds.credType !== CREDSSP_CRED_TYPE_PASSWORD) return this.fail('credentials-mismatch', `credType ${creds.credType} is not a password`, false);
    const password = decodeTsPasswordCreds(creds.credentials);
    const identity = this.identity!;
    // All three empty: Restricted Admin mode, nothing delegated; the NTLM logon stands on its own.
    const restrictedAdmin = password.userName === '' && password.domainName === '' && password.password === '';
    if (!restrictedAdmin) {
      if (!sameName(password.userName, identity.user)) return this.fail('credentials-mismatch', `authInfo names "${password.userName}", NTLM authenticated "${identity.user}"`, false);
      if (password.password !== this.options.password) return this.fail('credentials-mismatch', 'authInfo password differs from the authenticated one', false);
    }
    this.phase = 'finished';
    return { done: { ...identity } };
  }
}
