// CredSSP acceptor (MS-CSSP 3.1.5) end to end against a small NTLM v2 client written here from
// MS-NLMP 3.1.5 (NEGOTIATE → CHALLENGE → AUTHENTICATE with MIC), raw and inside SPNEGO, for
// versions 2, 3 and 6 with right and wrong passwords; plus a recorded exchange of another
// implementation (wallix/redemption's test_nla.cpp, CredSSP version 2) replayed byte for byte.
import { createHash, createHmac, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  AUTHZ_ACCESS_DENIED,
  AUTHZ_SUCCESS,
  CredSspAcceptor,
  type CredSspAcceptorOptions,
  decodeTsCredentials,
  decodeTsPasswordCreds,
  decodeTsRequest,
  encodeEarlyUserAuthorizationResult,
  encodeTsCredentials,
  encodeTsPasswordCreds,
  encodeTsRequest,
  STATUS_LOGON_FAILURE,
  subjectPublicKeyOf,
  tsRequestLength,
  type TsRequest,
} from '../src/nla/credssp.js';
import { derSequence, derTlv, DER_TAG_OID } from '../src/nla/der.js';
import { RdpProtocolError } from '../src/pdu/errors.js';
import {
  decodeAuthenticateMessage,
  decodeAvPairs,
  decodeChallengeMessage,
  decodeNegotiateMessage,
  encodeAvPairs,
  MSV_AV_FLAGS,
  MSV_AV_TIMESTAMP,
  NtlmSessionSecurity,
  ntowfV2,
} from '../src/nla/ntlm.js';
import { rc4Once } from '../src/nla/rc4.js';
import { decodeNegTokenResp, decodeSpnegoInitialToken, encodeNegTokenResp, encodeSpnegoInitialToken, NEG_STATE_ACCEPT_COMPLETED, NEG_STATE_REQUEST_MIC, OID_NTLM } from '../src/nla/spnego.js';
import { createSelfSignedCertificate } from '../src/server/self-signed.js';
import { seededRandom } from './seeded-random.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const hmacMd5 = (key: Buffer, ...data: Buffer[]): Buffer => {
  const h = createHmac('md5', key);
  for (const d of data) h.update(d);
  return h.digest();
};

/** A deterministic byte source: 0x11, 0x12, … */
function counterRandom(start = 0x11): (n: number) => Buffer {
  let next = start;
  return (n) => Buffer.from(Array.from({ length: n }, () => next++ & 0xff));
}

const CLIENT_FLAGS = 0x62088235; // KEY_EXCH 128 VERSION ESS ALWAYS_SIGN NTLM SEAL SIGN REQUEST_TARGET UNICODE
const CLIENT_VERSION = hex('0a0063450000000f');

/** The initiator side of NTLM v2 (MS-NLMP 3.1.5), enough to drive the acceptor. */
class TestNtlmClient {
  negotiateMessage = Buffer.alloc(0);
  security: NtlmSessionSecurity | undefined;

  constructor(
    private readonly user: string,
    private readonly domain: string,
    private readonly password: string,
    private readonly options: { mic?: 'valid' | 'tampered' | 'absent' } = {},
  ) {}

  negotiate(): Buffer {
    const m = Buffer.alloc(40);
    m.write('NTLMSSP\0', 0, 'latin1');
    m.writeUInt32LE(1, 8);
    m.writeUInt32LE(CLIENT_FLAGS >>> 0, 12);
    m.writeUInt32LE(40, 20); // empty DomainNameFields, offset 40
    m.writeUInt32LE(40, 28); // empty WorkstationFields
    CLIENT_VERSION.copy(m, 32);
    this.negotiateMessage = m;
    return m;
  }

  authenticate(challengeMessage: Buffer): Buffer {
    const challenge = decodeChallengeMessage(challengeMessage);
    const flags = challenge.flags & (CLIENT_FLAGS | 0x00800000 | 0x02000000);
    const pairs = decodeAvPairs(challenge.targetInfo);
    const timestamp = pairs.find((p) => p.id === MSV_AV_TIMESTAMP)?.value ?? Buffer.alloc(8);
    const micWanted = this.options.mic !== 'absent';
    const avFlags = Buffer.alloc(4);
    avFlags.writeUInt32LE(micWanted ? 2 : 0);
    const clientPairs = encodeAvPairs([...pairs, { id: MSV_AV_FLAGS, value: avFlags }]);
    const clientChallenge = hex('0102030405060708');
    const temp = Buffer.concat([hex('0101000000000000'), timestamp, clientChallenge, Buffer.alloc(4), clientPairs, Buffer.alloc(4)]);
    const responseKey = ntowfV2(this.password, this.user, this.domain);
    const proof = hmacMd5(responseKey, challenge.serverChallenge, temp);
    const sessionBaseKey = hmacMd5(responseKey, proof);
    const exportedSessionKey = hex('a0a1a2a3a4a5a6a7a8a9aaabacadaeaf');
    const fields: Buffer[] = [
      Buffer.alloc(24), // LmChallengeResponse: Z(24) when the server sent MsvAvTimestamp
      Buffer.concat([proof, temp]),
      Buffer.from(this.domain, 'utf16le'),
      Buffer.from(this.user, 'utf16le'),
      Buffer.from('TESTPC', 'utf16le'),
      rc4Once(sessionBaseKey, exportedSessionKey),
    ];
    const headerLength = 88;
    const message = Buffer.alloc(headerLength + fields.reduce((n, f) => n + f.length, 0));
    message.write('NTLMSSP\0', 0, 'latin1');
    message.writeUInt32LE(3, 8);
    let offset = headerLength;
    fields.forEach((field, i) => {
      message.writeUInt16LE(field.length, 12 + i * 8);
      message.writeUInt16LE(field.length, 14 + i * 8);
      message.writeUInt32LE(offset, 16 + i * 8);
      field.copy(message, offset);
      offset += field.length;
    });
    message.writeUInt32LE(flags >>> 0, 60);
    CLIENT_VERSION.copy(message, 64);
    if (micWanted) {
      const mic = hmacMd5(exportedSessionKey, this.negotiateMessage, challengeMessage, message);
      if (this.options.mic === 'tampered') mic[0]! ^= 1;
      mic.copy(message, 72);
    }
    this.security = new NtlmSessionSecurity(exportedSessionKey, flags, 'client');
    return message;
  }
}

function seal(security: NtlmSessionSecurity, data: Buffer): Buffer {
  const { data: sealed, signature } = security.seal(data);
  return Buffer.concat([signature, sealed]);
}

function unseal(security: NtlmSessionSecurity, token: Buffer): Buffer | undefined {
  return security.unseal(token.subarray(16), token.subarray(0, 16));
}

const serverKey = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'pkcs1', format: 'der' });

interface ExchangeOptions {
  version: number;
  password: string;
  spnego?: 'ntlm-first' | 'ntlm-second';
  mic?: 'valid' | 'tampered' | 'absent';
  acceptor?: Partial<CredSspAcceptorOptions>;
  authInfoPassword?: string;
  user?: string;
  /** Receives every TSRequest the client sends. */
  record?: Buffer[];
}

function newAcceptor(options: Partial<CredSspAcceptorOptions> = {}): CredSspAcceptor {
  return new CredSspAcceptor({ username: 'alice', password: 'secret', serverPublicKey: serverKey, random: counterRandom(), now: () => Date.UTC(2024, 0, 1), ...options });
}

/** Runs the client side against a fresh acceptor; returns the last step and every reply seen. */
function exchange(o: ExchangeOptions) {
  const acceptor = newAcceptor(o.acceptor);
  const user = o.user ?? 'Alice';
  const client = new TestNtlmClient(user, 'WORKGROUP', o.password, { mic: o.mic ?? 'valid' });
  const nonce = o.version >= 5 ? Buffer.alloc(32, 0x4e) : undefined;
  const send = (req: Omit<TsRequest, 'version'>) => {
    const message = encodeTsRequest({ version: o.version, ...req, ...(nonce ? { clientNonce: nonce } : {}) });
    o.record?.push(message);
    return acceptor.step(message);
  };
  const replies: TsRequest[] = [];
  const mechTypes = o.spnego === 'ntlm-second' ? [hex('2a864882f712010202'), OID_NTLM] : [OID_NTLM];
  const mechTypesDer = derSequence(...mechTypes.map((oid) => derTlv(DER_TAG_OID, oid)));

  // 1. NEGOTIATE (or SPNEGO NegTokenInit) → CHALLENGE
  let step;
  if (o.spnego === 'ntlm-second') {
    step = send({ negoTokens: [encodeSpnegoInitialToken(mechTypes, hex('6082deadbeef'))] });
    const resp = decodeNegTokenResp(decodeTsRequest(step.reply!).negoTokens![0]!);
    expect(resp).toMatchObject({ negState: NEG_STATE_REQUEST_MIC });
    expect(resp.supportedMech?.equals(OID_NTLM)).toBe(true);
    step = send({ negoTokens: [encodeNegTokenResp({ responseToken: client.negotiate() })] });
  } else if (o.spnego === 'ntlm-first') {
    step = send({ negoTokens: [encodeSpnegoInitialToken(mechTypes, client.negotiate())] });
  } else {
    step = send({ negoTokens: [client.negotiate()] });
  }
  expect(step.reply).toBeDefined();
  const challengeReq = decodeTsRequest(step.reply!);
  replies.push(challengeReq);
  let challenge = challengeReq.negoTokens![0]!;
  if (o.spnego) challenge = decodeNegTokenResp(challenge).responseToken!;

  // 2. AUTHENTICATE + pubKeyAuth (+ SPNEGO mechListMIC) → pubKeyAuth
  let authToken = client.authenticate(challenge);
  const security = client.security!;
  if (o.spnego) {
    const mechListMIC = security.sign(mechTypesDer);
    security.resetRc4('send');
    authToken = encodeNegTokenResp({ responseToken: authToken, mechListMIC });
  }
  const binding = nonce
    ? createHash('sha256').update('CredSSP Client-To-Server Binding Hash\0', 'latin1').update(nonce).update(serverKey).digest()
    : serverKey;
  step = send({ negoTokens: [authToken], pubKeyAuth: seal(security, binding) });
  if (!step.reply || step.failed) return { step, replies };
  const pubKeyReq = decodeTsRequest(step.reply);
  replies.push(pubKeyReq);
  if (o.spnego) {
    const resp = decodeNegTokenResp(pubKeyReq.negoTokens![0]!);
    expect(resp.negState).toBe(NEG_STATE_ACCEPT_COMPLETED);
    expect(security.verify(mechTypesDer, resp.mechListMIC!)).toBe(true);
    security.resetRc4('receive');
  }
  const serverBinding = unseal(security, pubKeyReq.pubKeyAuth!);
  const expected = nonce
    ? createHash('sha256').update('CredSSP Server-To-Client Binding Hash\0', 'latin1').update(nonce).update(serverKey).digest()
    : Buffer.concat([Buffer.from([serverKey[0]! + 1]), serverKey.subarray(1)]);
  expect(serverBinding?.equals(expected)).toBe(true);

  // 3. authInfo → done
  const creds = encodeTsCredentials({ credType: 1, credentials: encodeTsPasswordCreds({ domainName: 'WORKGROUP', userName: user, password: o.authInfoPassword ?? o.password }) });
  step = send({ authInfo: seal(security, creds) });
  return { step, replies };
}

describe('CredSSP acceptor with the test NTLM client', () => {
  for (const version of [2, 3, 6]) {
    for (const spnego of [undefined, 'ntlm-first', 'ntlm-second'] as const) {
      it(`version ${version}, ${spnego ?? 'raw NTLM'}: the right password succeeds`, () => {
        const { step, replies } = exchange({ version, password: 'secret', spnego });
        expect(step).toEqual({ done: { user: 'Alice', domain: 'WORKGROUP' } });
        for (const r of replies) expect(r.version).toBe(version);
      });

      it(`version ${version}, ${spnego ?? 'raw NTLM'}: a wrong password fails${version >= 3 ? ' with STATUS_LOGON_FAILURE' : ''}`, () => {
        const { step } = exchange({ version, password: 'Secret', spnego });
        expect(step.failed?.kind).toBe('logon-failure');
        if (version >= 3) {
          expect(decodeTsRequest(step.failed!.reply!)).toEqual({ version, errorCode: STATUS_LOGON_FAILURE });
          expect(step.failed!.reply!.subarray(-6).toString('hex')).toBe('0204c000006d');
        } else {
          expect(step.failed?.reply).toBeUndefined();
        }
      });
    }
  }

  it('accepts any user name when none is configured, and checks a configured domain', () => {
    expect(exchange({ version: 6, password: 'pw', user: 'bob', acceptor: { username: '', password: 'pw' } }).step.done).toEqual({ user: 'bob', domain: 'WORKGROUP' });
    expect(exchange({ version: 6, password: 'secret', user: 'bob' }).step.failed?.kind).toBe('logon-failure');
    expect(exchange({ version: 6, password: 'secret', acceptor: { domain: 'workgroup' } }).step.done).toBeDefined();
    expect(exchange({ version: 6, password: 'secret', acceptor: { domain: 'CORP' } }).step.failed?.kind).toBe('logon-failure');
  });

  it('refuses a tampered MIC and accepts a client that sends none', () => {
    expect(exchange({ version: 6, password: 'secret', mic: 'tampered' }).step.failed?.reason).toMatch(/MIC/);
    expect(exchange({ version: 6, password: 'secret', mic: 'absent' }).step.done).toBeDefined();
  });

  it('refuses a public key that is not the server\'s (TLS interception)', () => {
    const acceptorKey = Buffer.from(serverKey);
    acceptorKey[acceptorKey.length - 1]! ^= 1;
    const { step } = exchange({ version: 6, password: 'secret', acceptor: { serverPublicKey: acceptorKey } });
    expect(step.failed?.kind).toBe('public-key-mismatch');
  });

  it('refuses delegated credentials that differ from the authenticated ones', () => {
    expect(exchange({ version: 6, password: 'secret', authInfoPassword: 'other' }).step.failed?.kind).toBe('credentials-mismatch');
  });
});

describe('a recorded CredSSP v2 exchange (wallix/redemption tests/core/RDP/nla/test_nla.cpp)', () => {
  // Client "Ulysse" / "Ithaque" / "Pénélope", server challenge b86cdaa6f0f6308d, public key
  // "1245789652325415". The first TSRequest's version is set to 2 (it says 6 in the recording,
  // whose server answered 2); nothing signs that field.
  const negotiate = hex(`
    3037a003020102a130302e302ca02a04284e544c4d5353500001000000b78208e2000000002800000000000000280000
    000601b11d0000000f`);
  const authenticate = hex(`
    30820159a003020102a182012c3082012830820124a08201200482011c4e544c4d535350000300000018001800580000
    0070007000700000000e000e00e00000000c000c00ee00000012001200fa000000100010000c01000035a288e20601b1
    1d0000000f2e5be21f572079a85c702d3db646819a34beb56eceec0a502d29637fcc5ee718b86cdaa6f0f6308da641cc
    7a528e7ab3067d0be000d5f613010100000000000067950e5a4e5676d6b86cdaa6f0f6308d0000000001000800570049
    004e00370002000800570049004e00370003000800770069006e00370004000800770069006e0037000700080067950e
    5a4e5676d60000000000000000490074006800610071007500650055006c0079007300730065005400e9006c00e9006d
    00610071007500650044bc4d7a133f6b81db1d2b7bbf1e180fa32204200100000089e2da481729b50800000000205927
    3f08d0c2e4756610497bbd8df7`);
  const authInfo = hex(`
    305ca003020102a255045301000000afad462a6a9df78801000000d54fc8d0bd8960e07160317accecc5bf234be5f9a5
    8c2166a678dad1bdefa4fd47a6f156a5d9527292fa41a5b49d94fb0ee261bafcd5f3a7b533d5628d931854398ae7`);
  const serverPubKeyAuth = '01000000a2e05b50978e992700000000dca70bfe37453d1b0515ce560a54a1f1';

  it('authenticates, answers the same pubKeyAuth bytes as the recorded server, and reads authInfo', () => {
    const acceptor = new CredSspAcceptor({
      username: 'ulysse',
      password: 'Pénélope',
      serverPublicKey: Buffer.from('1245789652325415', 'latin1'),
      random: () => hex('b86cdaa6f0f6308d'),
    });
    expect(tsRequestLength(negotiate)).toBe(negotiate.length);
    expect(tsRequestLength(authenticate)).toBe(authenticate.length);
    expect(acceptor.step(negotiate).reply).toBeDefined();
    const step = acceptor.step(authenticate);
    expect(step.failed).toBeUndefined();
    const reply = decodeTsRequest(step.reply!);
    expect(reply.version).toBe(2);
    expect(reply.pubKeyAuth!.toString('hex')).toBe(serverPubKeyAuth);
    expect(acceptor.step(authInfo)).toEqual({ done: { user: 'Ulysse', domain: 'Ithaque' } });
  });

  it('refuses it with another password', () => {
    const acceptor = new CredSspAcceptor({ username: '', password: 'Penelope', serverPublicKey: Buffer.from('1245789652325415', 'latin1'), random: () => hex('b86cdaa6f0f6308d') });
    acceptor.step(negotiate);
    expect(acceptor.step(authenticate).failed).toMatchObject({ kind: 'logon-failure' });
  });
});

describe('TSRequest, TSCredentials and helpers', () => {
  it('round-trips a TSRequest with every field', () => {
    const req: TsRequest = {
      version: 6,
      negoTokens: [Buffer.from('NTLMSSP\0token'), Buffer.alloc(300, 7)],
      authInfo: Buffer.alloc(200, 1),
      pubKeyAuth: Buffer.alloc(48, 2),
      errorCode: STATUS_LOGON_FAILURE,
      clientNonce: Buffer.alloc(32, 3),
    };
    const encoded = encodeTsRequest(req);
    expect(decodeTsRequest(encoded)).toEqual(req);
    expect(tsRequestLength(encoded.subarray(0, 4))).toBe(encoded.length);
    expect(tsRequestLength(encoded.subarray(0, 3))).toBeUndefined();
    expect(tsRequestLength(encoded.subarray(0, 1))).toBeUndefined();
  });

  it('encodes the version-6 NEGOTIATE TSRequest as recorded from a real client', () => {
    const ntlm = hex('4e544c4d5353500001000000b78208e2000000002800000000000000280000000601b11d0000000f');
    expect(encodeTsRequest({ version: 6, negoTokens: [ntlm] }).toString('hex')).toBe(`3037a003020106a130302e302ca02a0428${ntlm.toString('hex')}`);
  });

  it('reads errorCode written as five unsigned octets (FreeRDP) as the same NTSTATUS', () => {
    expect(decodeTsRequest(hex('300ea003020103a407020500c000006d')).errorCode).toBe(STATUS_LOGON_FAILURE);
  });

  it('round-trips TSCredentials / TSPasswordCreds', () => {
    const creds = { domainName: 'D', userName: 'Ülrich', password: 'p@ss' };
    const decoded = decodeTsCredentials(encodeTsCredentials({ credType: 1, credentials: encodeTsPasswordCreds(creds) }));
    expect(decoded.credType).toBe(1);
    expect(decodeTsPasswordCreds(decoded.credentials)).toEqual(creds);
  });

  it('takes the subjectPublicKey (RSAPublicKey) out of a certificate', () => {
    const cert = createSelfSignedCertificate('test');
    const spk = subjectPublicKeyOf(cert.certPem);
    expect(spk[0]).toBe(0x30);
    expect(spk.equals(createPublicKey(cert.keyPem).export({ type: 'pkcs1', format: 'der' }))).toBe(true);
  });

  it('encodes the Early User Authorization Result PDU', () => {
    expect(encodeEarlyUserAuthorizationResult(AUTHZ_SUCCESS).toString('hex')).toBe('00000000');
    expect(encodeEarlyUserAuthorizationResult(AUTHZ_ACCESS_DENIED).toString('hex')).toBe('05000000');
  });
});

describe('fuzzing the decoders and the acceptor (seeded)', () => {
  function mutate(input: Buffer, rand: () => number): Buffer {
    const out = Buffer.from(input);
    const int = (n: number): number => Math.floor(rand() * n);
    const edits = 1 + int(4);
    let buf = out;
    for (let e = 0; e < edits && buf.length > 0; e++) {
      switch (int(6)) {
        case 0:
          buf[int(buf.length)]! ^= 1 << int(8);
          break;
        case 1:
          buf[int(buf.length)] = [0x00, 0xff, 0x7f, 0x80, 0x81, 0x82, 0x84][int(7)]!;
          break;
        case 2:
          buf = buf.subarray(0, int(buf.length));
          break;
        case 3:
          buf = Buffer.concat([buf, Buffer.from(Array.from({ length: 1 + int(16) }, () => int(256)))]);
          break;
        case 4: {
          const at = int(buf.length);
          buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + 1 + int(8))]);
          break;
        }
        default:
          buf[int(buf.length)] = int(256);
      }
    }
    return buf;
  }

  /** Every TSRequest a client sends in a successful exchange, per scenario. */
  const scenarios: Buffer[][] = [];
  for (const version of [2, 6]) {
    for (const spnego of [undefined, 'ntlm-first', 'ntlm-second'] as const) {
      const record: Buffer[] = [];
      expect(exchange({ version, password: 'secret', spnego, record }).step.done).toBeDefined();
      scenarios.push(record);
    }
  }

  const allowed = (run: () => unknown): void => {
    try {
      run();
    } catch (err) {
      if (!(err instanceof RdpProtocolError)) throw err;
    }
  };

  it('only ever throws RdpProtocolError, 10 000 mutated inputs', () => {
    const rand = seededRandom(0x5eed);
    for (let i = 0; i < 10_000; i++) {
      const scenario = scenarios[Math.floor(rand() * scenarios.length)]!;
      const index = Math.floor(rand() * scenario.length);
      const mutated = mutate(scenario[index]!, rand);
      // The acceptor, brought to the state where this message is expected.
      allowed(() => {
        const acceptor = newAcceptor();
        for (let k = 0; k < index; k++) acceptor.step(scenario[k]!);
        acceptor.step(mutated);
      });
      // The decoders alone, on the mutated TSRequest and on mutated inner tokens.
      allowed(() => tsRequestLength(mutated));
      allowed(() => decodeTsRequest(mutated));
      const token = decodeTsRequest(scenario[index]!).negoTokens?.[0];
      if (token) {
        const t = mutate(token, rand);
        allowed(() => decodeSpnegoInitialToken(t));
        allowed(() => decodeNegTokenResp(t));
        allowed(() => decodeNegotiateMessage(t));
        allowed(() => decodeChallengeMessage(t));
        allowed(() => decodeAuthenticateMessage(t));
        allowed(() => decodeAvPairs(t));
      }
      const creds = mutate(encodeTsCredentials({ credType: 1, credentials: encodeTsPasswordCreds({ domainName: 'D', userName: 'u', password: 'p' }) }), rand);
      allowed(() => decodeTsPasswordCreds(decodeTsCredentials(creds).credentials));
      allowed(() => decodeTsPasswordCreds(creds));
    }
  });
});
