// Connection sequence PDUs (MS-RDPBCGR 1.3.1.1) against the annotated examples of MS-RDPBCGR
// section 4.1, written out field by field, plus round trips and error cases for every codec.
import { describe, expect, it } from 'vitest';
import { BerReader, BerWriter } from '../src/pdu/ber.js';
import { decodeClientInfoPdu, INFO_UNICODE } from '../src/pdu/client-info.js';
import { ReadCursor } from '../src/pdu/cursor.js';
import { RdpProtocolError, type RdpErrorCode } from '../src/pdu/errors.js';
import {
  CS_CORE,
  CS_MCS_MSGCHANNEL,
  CS_MONITOR,
  CS_MONITOR_EX,
  CS_NET,
  decodeClientDataBlocks,
  decodeConferenceCreateRequest,
  encodeConferenceCreateResponse,
  RDP_VERSION_5_PLUS,
} from '../src/pdu/gcc.js';
import { encodeLicenseValidClient } from '../src/pdu/licensing.js';
import {
  decodeConnectInitial,
  decodeDomainPdu,
  encodeAttachUserConfirm,
  encodeChannelJoinConfirm,
  encodeConnectResponse,
  encodeDisconnectProviderUltimatum,
  encodeSendDataIndication,
  MCS_IO_CHANNEL_ID,
  MCS_REASON_USER_REQUESTED,
  MCS_SERVER_CHANNEL_ID,
  negotiateDomainParameters,
  SERVER_DOMAIN_PARAMETERS,
} from '../src/pdu/mcs.js';
import { PerReader, PerWriter } from '../src/pdu/per.js';
import { decodeSecurityHeader, encodeSecurityHeader, SEC_INFO_PKT, SEC_LICENSE_PKT } from '../src/pdu/security-header.js';
import { encodeTpkt, fastPathFrameLength, frameLength, isFastPath, tpktFrameLength } from '../src/pdu/tpkt.js';
import {
  decodeConnectionRequest,
  decodeX224Data,
  encodeConnectionConfirm,
  encodeNegotiationFailure,
  encodeX224Data,
  EXTENDED_CLIENT_DATA_SUPPORTED,
  PROTOCOL_HYBRID,
  PROTOCOL_RDP,
  PROTOCOL_SSL,
  SSL_REQUIRED_BY_SERVER,
} from '../src/pdu/x224.js';

/** Hex fields, each a string of hex byte pairs (spaces ignored). */
const hex = (...fields: string[]): Buffer => Buffer.from(fields.join('').replace(/\s+/g, ''), 'hex');
const zeros = (n: number): Buffer => Buffer.alloc(n);
/** UTF-16LE text padded with zeros to `size` bytes. */
const utf16Fixed = (text: string, size: number): Buffer => {
  const out = Buffer.alloc(size);
  out.write(text, 'utf16le');
  return out;
};
const utf16z = (text: string): Buffer => Buffer.from(`${text}\0`, 'utf16le');

function expectCode(fn: () => unknown, code: RdpErrorCode): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(RdpProtocolError);
  expect((caught as RdpProtocolError).code).toBe(code);
}

function x224Payload(frame: Buffer): Buffer {
  const result = decodeX224Data(frame);
  if (result.kind !== 'data') throw new Error('expected a Data TPDU');
  return result.payload;
}

// MS-RDPBCGR 4.1.1 Client X.224 Connection Request PDU.
const SPEC_CONNECTION_REQUEST = hex(
  '03 00 00 2c', // TPKT: version 3, reserved, length 44
  '27', // X.224: length indicator 39
  'e0', // X.224: CR TPDU, credit 0
  '00 00', // X.224: destination reference
  '00 00', // X.224: source reference
  '00', // X.224: class and options
  Buffer.from('Cookie: mstshash=eltons').toString('hex'), // cookie
  '0d 0a', // cookie terminator
  '01', // RDP_NEG_REQ::type (TYPE_RDP_NEG_REQ)
  '00', // RDP_NEG_REQ::flags
  '08 00', // RDP_NEG_REQ::length
  '00 00 00 00', // RDP_NEG_REQ::requestedProtocols (PROTOCOL_RDP)
);

// MS-RDPBCGR 4.1.3 Client MCS Connect Initial PDU with GCC Conference Create Request.
const SPEC_CLIENT_CORE_DATA = hex(
  '01 c0 d8 00', // TS_UD_HEADER: CS_CORE, length 216
  '04 00 08 00', // version 0x00080004 (RDP 5.0+)
  '00 05', // desktopWidth 1280
  '00 04', // desktopHeight 1024
  '01 ca', // colorDepth RNS_UD_COLOR_8BPP
  '03 aa', // SASSequence RNS_UD_SAS_DEL
  '09 04 00 00', // keyboardLayout 0x409 (US)
  'ce 0e 00 00', // clientBuild 3790
  utf16Fixed('ELTONS-DEV2', 32).toString('hex'), // clientName
  '04 00 00 00', // keyboardType 4 (IBM enhanced)
  '00 00 00 00', // keyboardSubType
  '0c 00 00 00', // keyboardFunctionKey 12
  zeros(64).toString('hex'), // imeFileName
  '01 ca', // postBeta2ColorDepth RNS_UD_COLOR_8BPP
  '01 00', // clientProductId
  '00 00 00 00', // serialNumber
  '18 00', // highColorDepth 24
  '07 00', // supportedColorDepths 24 | 16 | 15 bpp
  '01 00', // earlyCapabilityFlags RNS_UD_CS_SUPPORT_ERRINFO_PDU
  utf16Fixed('69712-783-0357974-42714', 64).toString('hex'), // clientDigProductId
  '00', // connectionType
  '00', // pad1octet
  '00 00 00 00', // serverSelectedProtocol
);
const SPEC_CLIENT_DATA_BLOCKS = Buffer.concat([
  SPEC_CLIENT_CORE_DATA,
  hex(
    '04 c0 0c 00', // TS_UD_HEADER: CS_CLUSTER, length 12
    '0d 00 00 00', // flags: REDIRECTION_SUPPORTED, redirection version 4
    '00 00 00 00', // redirectedSessionID
    '02 c0 0c 00', // TS_UD_HEADER: CS_SECURITY, length 12
    '1b 00 00 00', // encryptionMethods: 40 | 128 | 56-bit | FIPS
    '00 00 00 00', // extEncryptionMethods
    '03 c0 2c 00', // TS_UD_HEADER: CS_NET, length 44
    '03 00 00 00', // channelCount 3
    '72 64 70 64 72 00 00 00', // "rdpdr"
    '00 00 80 80', // options: INITIALIZED | COMPRESS_RDP
    '63 6c 69 70 72 64 72 00', // "cliprdr"
    '00 00 a0 c0', // options: INITIALIZED | ENCRYPT_RDP | COMPRESS_RDP | SHOW_PROTOCOL
    '72 64 70 73 6e 64 00 00', // "rdpsnd"
    '00 00 00 c0', // options: INITIALIZED | ENCRYPT_RDP
  ),
]);
const SPEC_GCC_CONFERENCE_CREATE_REQUEST = Buffer.concat([
  hex(
    '00', // ConnectData::t124Identifier: Key, choice object
    '05 00 14 7c 00 01', // OBJECT IDENTIFIER {0 0 20 124 0 1}, 5 octets
    '81 2a', // connectPDU length 298
    '00', // ConnectGCCPDU: conferenceCreateRequest; sequence extension bit; first optional bits
    '08', // optional bits: only userData present; ConferenceName: no extension, no text
    '00', // conferenceName numeric length 1 (as length − 1)
    '10', // conferenceName "1"
    '00', // lockedConference, listedConference, conductibleConference, terminationMethod: false, automatic
    '01', // UserData: one set
    'c0', // value present, key h221NonStandard
    '00', // h221NonStandard length 4 (as length − 4)
    '44 75 63 61', // "Duca"
    '81 1c', // value length 284
  ),
  SPEC_CLIENT_DATA_BLOCKS,
]);
const SPEC_CONNECT_INITIAL = Buffer.concat([
  hex(
    '03 00 01 a0', // TPKT: length 416
    '02 f0 80', // X.224 Data TPDU
    '7f 65 82 01 94', // Connect-Initial [APPLICATION 101], length 404
    '04 01 01', // callingDomainSelector
    '04 01 01', // calledDomainSelector
    '01 01 ff', // upwardFlag TRUE
    '30 19', // targetParameters
    '02 01 22', // maxChannelIds 34
    '02 01 02', // maxUserIds 2
    '02 01 00', // maxTokenIds 0
    '02 01 01', // numPriorities 1
    '02 01 00', // minThroughput 0
    '02 01 01', // maxHeight 1
    '02 02 ff ff', // maxMCSPDUsize 65535
    '02 01 02', // protocolVersion 2
    '30 19', // minimumParameters
    '02 01 01', // maxChannelIds 1
    '02 01 01', // maxUserIds 1
    '02 01 01', // maxTokenIds 1
    '02 01 01', // numPriorities 1
    '02 01 00', // minThroughput 0
    '02 01 01', // maxHeight 1
    '02 02 04 20', // maxMCSPDUsize 1056
    '02 01 02', // protocolVersion 2
    '30 1c', // maximumParameters
    '02 02 ff ff', // maxChannelIds 65535
    '02 02 fc 17', // maxUserIds 64535
    '02 02 ff ff', // maxTokenIds 65535
    '02 01 01', // numPriorities 1
    '02 01 00', // minThroughput 0
    '02 01 01', // maxHeight 1
    '02 02 ff ff', // maxMCSPDUsize 65535
    '02 01 02', // protocolVersion 2
    '04 82 01 33', // userData OCTET STRING, 307 bytes
  ),
  SPEC_GCC_CONFERENCE_CREATE_REQUEST,
]);

// The TS_INFO_PACKET of MS-RDPBCGR 4.1.10 (the example sends it encrypted; these are its plain fields).
const timeZone = Buffer.concat([
  hex('e0 01 00 00'), // Bias 480
  utf16Fixed('Pacific Standard Time', 64), // StandardName
  hex('00 00 0a 00 00 00 05 00 02 00 00 00 00 00 00 00'), // StandardDate: October, last Sunday, 2:00
  hex('00 00 00 00'), // StandardBias 0
  utf16Fixed('Pacific Daylight Time', 64), // DaylightName
  hex('00 00 04 00 00 00 01 00 02 00 00 00 00 00 00 00'), // DaylightDate: April, first Sunday, 2:00
  hex('c4 ff ff ff'), // DaylightBias −60
]);
const clientDir = 'C:\\depots\\w2k3_1\\termsrv\\newclient\\lib\\win32\\obj\\i386\\mstscax.dll';
const SPEC_CLIENT_INFO = Buffer.concat([
  hex(
    '40 00', // TS_SECURITY_HEADER::flags SEC_INFO_PKT
    '00 00', // TS_SECURITY_HEADER::flagsHi
    '09 04 09 04', // CodePage
    'b3 43 00 00', // flags: MOUSE | DISABLECTRLALTDEL | UNICODE | MAXIMIZESHELL | COMPRESSION | ENABLEWINDOWSKEY | FORCE_ENCRYPTED_CS_PDU
    '0a 00', // cbDomain 10
    '0c 00', // cbUserName 12
    '00 00', // cbPassword
    '00 00', // cbAlternateShell
    '00 00', // cbWorkingDir
  ),
  utf16z('NTDEV'), // Domain
  utf16z('eltons'), // UserName
  utf16z(''), // Password
  utf16z(''), // AlternateShell
  utf16z(''), // WorkingDir
  hex('02 00'), // clientAddressFamily AF_INET
  hex('1e 00'), // cbClientAddress 30
  utf16z('157.59.242.156'), // clientAddress
  hex('84 00'), // cbClientDir 132
  utf16z(clientDir), // clientDir
  timeZone, // clientTimeZone
  hex('00 00 00 00'), // clientSessionId
  hex('01 00 00 00'), // performanceFlags PERF_DISABLE_WALLPAPER
]);

describe('TPKT and fast-path framing (RFC 1006, MS-RDPBCGR 2.2.8.1.2)', () => {
  it('reads TPKT lengths and fast-path lengths in both forms', () => {
    expect(tpktFrameLength(SPEC_CONNECTION_REQUEST)).toBe(44);
    expect(frameLength(SPEC_CONNECT_INITIAL)).toBe(416);
    expect(frameLength(hex('03 00'))).toBeUndefined();
    expect(frameLength(Buffer.alloc(0))).toBeUndefined();
    expect(isFastPath(0x44)).toBe(true);
    expect(isFastPath(0x03)).toBe(false);
    expect(fastPathFrameLength(hex('44'))).toBeUndefined();
    expect(fastPathFrameLength(hex('44 09'))).toBe(9);
    expect(fastPathFrameLength(hex('44 81'))).toBeUndefined();
    expect(frameLength(hex('44 81 2c'))).toBe(0x12c);
  });

  it('refuses bad headers', () => {
    expectCode(() => tpktFrameLength(hex('02 00 00 10')), 'RDP_ERR_UNEXPECTED');
    expectCode(() => tpktFrameLength(hex('03 00 00 06')), 'RDP_ERR_BAD_LENGTH');
    expectCode(() => tpktFrameLength(hex('03 00 ff ff')), 'RDP_ERR_BAD_LENGTH');
    expect(tpktFrameLength(hex('03 00 ff ff'), 0xffff)).toBe(0xffff);
    expectCode(() => tpktFrameLength(hex('03 00')), 'RDP_ERR_TRUNCATED');
    expectCode(() => frameLength(hex('01 00 00 00')), 'RDP_ERR_UNEXPECTED');
    expectCode(() => fastPathFrameLength(hex('44 01')), 'RDP_ERR_BAD_LENGTH');
    expectCode(() => fastPathFrameLength(hex('44 80 02')), 'RDP_ERR_BAD_LENGTH');
  });

  it('wraps payloads', () => {
    expect(encodeTpkt(hex('02 f0 80 28'))).toEqual(hex('03 00 00 08', '02 f0 80 28'));
  });
});

describe('X.224 (MS-RDPBCGR 2.2.1.1, 2.2.1.2, 4.1.1, 4.1.2)', () => {
  it('parses the 4.1.1 Connection Request', () => {
    expect(decodeConnectionRequest(SPEC_CONNECTION_REQUEST)).toEqual({
      cookie: 'eltons',
      hasNegotiationRequest: true,
      requestedProtocols: PROTOCOL_RDP,
      negFlags: 0,
    });
  });

  it('parses requests without cookie, with a routing token, and with correlation info', () => {
    const bare = hex('03 00 00 13', '0e e0 00 00 00 00 00', '01 00 08 00 03 00 00 00');
    expect(decodeConnectionRequest(bare)).toEqual({ hasNegotiationRequest: true, requestedProtocols: PROTOCOL_SSL | PROTOCOL_HYBRID, negFlags: 0 });

    const token = Buffer.from('Cookie: msts=3640205228.15629.0000\r\n', 'latin1');
    const routed = encodeTpkt(Buffer.concat([Buffer.from([6 + token.length, 0xe0, 0, 0, 0, 0, 0]), token]));
    expect(decodeConnectionRequest(routed)).toEqual({
      routingToken: '3640205228.15629.0000',
      hasNegotiationRequest: false,
      requestedProtocols: PROTOCOL_RDP,
      negFlags: 0,
    });

    const correlationId = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
    const body = Buffer.concat([
      hex('e0 00 00 00 00 00'),
      hex('01 08 08 00 01 00 00 00'), // RDP_NEG_REQ with CORRELATION_INFO_PRESENT, PROTOCOL_SSL
      hex('06 00 24 00'), // RDP_CORRELATION_INFO: type, flags, length 36
      correlationId,
      zeros(16), // reserved
    ]);
    const withCorrelation = encodeTpkt(Buffer.concat([Buffer.from([body.length]), body]));
    expect(decodeConnectionRequest(withCorrelation)).toEqual({
      hasNegotiationRequest: true,
      requestedProtocols: PROTOCOL_SSL,
      negFlags: 0x08,
      correlationId,
    });
  });

  it('refuses malformed requests', () => {
    // Length indicator disagreeing with the TPKT length.
    expectCode(() => decodeConnectionRequest(hex('03 00 00 13', '0f e0 00 00 00 00 00', '01 00 08 00 03 00 00 00')), 'RDP_ERR_BAD_LENGTH');
    // A Data TPDU where a CR belongs.
    expectCode(() => decodeConnectionRequest(hex('03 00 00 0b', '06 f0 00 00 00 00 00')), 'RDP_ERR_UNEXPECTED');
    // A cookie without CR LF.
    const noCrlf = Buffer.from('Cookie: mstshash=x', 'latin1');
    expectCode(() => decodeConnectionRequest(encodeTpkt(Buffer.concat([Buffer.from([6 + noCrlf.length, 0xe0, 0, 0, 0, 0, 0]), noCrlf]))), 'RDP_ERR_BAD_ENCODING');
    // RDP_NEG_REQ with a wrong length.
    expectCode(() => decodeConnectionRequest(hex('03 00 00 13', '0e e0 00 00 00 00 00', '01 00 09 00 03 00 00 00')), 'RDP_ERR_BAD_LENGTH');
    // TPKT length disagreeing with the frame.
    expectCode(() => decodeConnectionRequest(SPEC_CONNECTION_REQUEST.subarray(0, 40)), 'RDP_ERR_BAD_LENGTH');
  });

  it('encodes the 4.1.2 Connection Confirm and a negotiation failure', () => {
    expect(encodeConnectionConfirm(PROTOCOL_SSL)).toEqual(
      hex(
        '03 00 00 13', // TPKT: length 19
        '0e', // X.224: length indicator 14
        'd0', // X.224: CC TPDU
        '00 00', // destination reference
        '12 34', // source reference
        '00', // class 0
        '02', // RDP_NEG_RSP::type
        '00', // RDP_NEG_RSP::flags
        '08 00', // RDP_NEG_RSP::length
        '01 00 00 00', // RDP_NEG_RSP::selectedProtocol PROTOCOL_SSL
      ),
    );
    expect(encodeConnectionConfirm(PROTOCOL_SSL, EXTENDED_CLIENT_DATA_SUPPORTED).subarray(11, 13)).toEqual(hex('02 01'));
    expect(encodeNegotiationFailure(SSL_REQUIRED_BY_SERVER)).toEqual(
      hex('03 00 00 13', '0e d0 00 00 12 34 00', '03', '00', '08 00', '01 00 00 00'), // RDP_NEG_FAILURE, SSL_REQUIRED_BY_SERVER
    );
  });

  it('unwraps Data TPDUs, recognises Disconnect Requests, refuses the rest', () => {
    expect(decodeX224Data(hex('03 00 00 08', '02 f0 80', '28'))).toEqual({ kind: 'data', payload: hex('28') });
    expect(decodeX224Data(hex('03 00 00 0b', '06 80 00 00 00 00 00'))).toEqual({ kind: 'disconnect' });
    expect(encodeX224Data(hex('28'))).toEqual(hex('03 00 00 08 02 f0 80 28'));
    expectCode(() => decodeX224Data(hex('03 00 00 08', '02 f0 00', '28')), 'RDP_ERR_UNEXPECTED');
    expectCode(() => decodeX224Data(hex('03 00 00 08', '03 f0 80', '28')), 'RDP_ERR_BAD_LENGTH');
    expectCode(() => decodeX224Data(SPEC_CONNECTION_REQUEST), 'RDP_ERR_UNEXPECTED');
    expectCode(() => decodeX224Data(hex('03 00 00 07', '02 f0')), 'RDP_ERR_BAD_LENGTH');
  });
});

describe('MCS Connect Initial and GCC Conference Create Request (MS-RDPBCGR 4.1.3)', () => {
  it('parses the domain parameters and hands over the GCC user data', () => {
    const ci = decodeConnectInitial(x224Payload(SPEC_CONNECT_INITIAL));
    expect(ci.targetParameters).toEqual({
      maxChannelIds: 34, maxUserIds: 2, maxTokenIds: 0, numPriorities: 1, minThroughput: 0, maxHeight: 1, maxMCSPDUsize: 65535, protocolVersion: 2,
    });
    expect(ci.minimumParameters.maxMCSPDUsize).toBe(1056);
    expect(ci.maximumParameters.maxUserIds).toBe(64535);
    expect(ci.userData).toEqual(SPEC_GCC_CONFERENCE_CREATE_REQUEST);
    expect(negotiateDomainParameters(ci)).toEqual({ ...SERVER_DOMAIN_PARAMETERS, maxTokenIds: 1 });
  });

  it('parses the client settings blocks', () => {
    const gcc = decodeConferenceCreateRequest(decodeConnectInitial(x224Payload(SPEC_CONNECT_INITIAL)).userData);
    expect(gcc.core).toEqual({
      version: RDP_VERSION_5_PLUS,
      desktopWidth: 1280,
      desktopHeight: 1024,
      colorDepth: 0xca01,
      sasSequence: 0xaa03,
      keyboardLayout: 0x409,
      clientBuild: 3790,
      clientName: 'ELTONS-DEV2',
      keyboardType: 4,
      keyboardSubType: 0,
      keyboardFunctionKey: 12,
      imeFileName: '',
      postBeta2ColorDepth: 0xca01,
      clientProductId: 1,
      serialNumber: 0,
      highColorDepth: 24,
      supportedColorDepths: 7,
      earlyCapabilityFlags: 1,
      clientDigProductId: '69712-783-0357974-42714',
      connectionType: 0,
      serverSelectedProtocol: 0,
    });
    expect(gcc.cluster).toEqual({ flags: 0x0d, redirectedSessionId: 0 });
    expect(gcc.security).toEqual({ encryptionMethods: 0x1b, extEncryptionMethods: 0 });
    expect(gcc.channels).toEqual([
      { name: 'rdpdr', options: 0x80800000 },
      { name: 'cliprdr', options: 0xc0a00000 },
      { name: 'rdpsnd', options: 0xc0000000 },
    ]);
    expect(gcc.monitors).toBeUndefined();
    expect(gcc.unknownBlockTypes).toEqual([]);
  });

  it('parses the newer blocks and the full core tail, and skips unknown blocks', () => {
    const block = (type: number, body: Buffer): Buffer => {
      const header = Buffer.alloc(4);
      header.writeUInt16LE(type, 0);
      header.writeUInt16LE(body.length + 4, 2);
      return Buffer.concat([header, body]);
    };
    const core = Buffer.concat([
      SPEC_CLIENT_CORE_DATA.subarray(4),
      hex('88 13 00 00', 'b8 0b 00 00', '5a 00', 'c8 00 00 00', '8c 00 00 00'), // physical 5000 x 3000 mm, orientation 90, scale 200 %, 140 %
    ]);
    const blocks = Buffer.concat([
      block(CS_CORE, core),
      block(CS_MONITOR, hex('00 00 00 00', '02 00 00 00', '00 00 00 00 00 00 00 00 7f 07 00 00 37 04 00 00 01 00 00 00', '00 fb ff ff 00 00 00 00 ff ff ff ff ff 03 00 00 00 00 00 00')),
      block(0xc0ff, hex('de ad')),
      block(CS_MCS_MSGCHANNEL, hex('00 00 00 00')),
      block(CS_MONITOR_EX, hex('00 00 00 00', '14 00 00 00', '01 00 00 00', '20 02 00 00 36 01 00 00 00 00 00 00 64 00 00 00 64 00 00 00')),
      block(CS_NET, hex('00 00 00 00')),
    ]);
    const gcc = decodeClientDataBlocks(blocks);
    expect(gcc.core.desktopPhysicalWidth).toBe(5000);
    expect(gcc.core.desktopPhysicalHeight).toBe(3000);
    expect(gcc.core.desktopOrientation).toBe(90);
    expect(gcc.core.desktopScaleFactor).toBe(200);
    expect(gcc.core.deviceScaleFactor).toBe(140);
    expect(gcc.monitors).toEqual({
      flags: 0,
      monitors: [
        { left: 0, top: 0, right: 1919, bottom: 1079, flags: 1 },
        { left: -1280, top: 0, right: -1, bottom: 1023, flags: 0 },
      ],
    });
    expect(gcc.messageChannelFlags).toBe(0);
    expect(gcc.monitorAttributes).toEqual([{ physicalWidth: 544, physicalHeight: 310, orientation: 0, desktopScaleFactor: 100, deviceScaleFactor: 100 }]);
    expect(gcc.channels).toEqual([]);
    expect(gcc.security).toEqual({ encryptionMethods: 0, extEncryptionMethods: 0 });
    expect(gcc.unknownBlockTypes).toEqual([0xc0ff]);
  });

  it('refuses inconsistent Connect Initial and GCC data', () => {
    const payload = x224Payload(SPEC_CONNECT_INITIAL);
    expectCode(() => decodeConnectInitial(payload.subarray(0, 100)), 'RDP_ERR_BAD_LENGTH');
    expectCode(() => decodeConnectInitial(Buffer.concat([payload, hex('00')])), 'RDP_ERR_BAD_LENGTH');
    const wrongTag = Buffer.from(payload);
    wrongTag[1] = 0x66;
    expectCode(() => decodeConnectInitial(wrongTag), 'RDP_ERR_UNEXPECTED');

    const gcc = SPEC_GCC_CONFERENCE_CREATE_REQUEST;
    const wrongKey = Buffer.from(gcc);
    wrongKey.write('Dxca', 16, 'latin1');
    expectCode(() => decodeConferenceCreateRequest(wrongKey), 'RDP_ERR_UNEXPECTED');
    const wrongOid = Buffer.from(gcc);
    wrongOid[3] = 0x7d;
    expectCode(() => decodeConferenceCreateRequest(wrongOid), 'RDP_ERR_UNEXPECTED');
    const withPassword = Buffer.from(gcc);
    withPassword[10] = 0x28; // convenerPassword present too
    expectCode(() => decodeConferenceCreateRequest(withPassword), 'RDP_ERR_UNEXPECTED');
    expectCode(() => decodeConferenceCreateRequest(gcc.subarray(0, 200)), 'RDP_ERR_BAD_LENGTH'); // connectPDU longer than all of it

    const tooManyChannels = Buffer.from(SPEC_CLIENT_DATA_BLOCKS);
    tooManyChannels.writeUInt32LE(32, SPEC_CLIENT_CORE_DATA.length + 24 + 4);
    expectCode(() => decodeClientDataBlocks(tooManyChannels), 'RDP_ERR_BAD_LENGTH');
    const shortBlock = Buffer.from(SPEC_CLIENT_DATA_BLOCKS);
    shortBlock.writeUInt16LE(3, 2);
    expectCode(() => decodeClientDataBlocks(shortBlock), 'RDP_ERR_BAD_LENGTH');
    expectCode(() => decodeClientDataBlocks(SPEC_CLIENT_DATA_BLOCKS.subarray(SPEC_CLIENT_CORE_DATA.length)), 'RDP_ERR_UNEXPECTED');
    expectCode(() => decodeClientDataBlocks(Buffer.concat([SPEC_CLIENT_CORE_DATA, SPEC_CLIENT_CORE_DATA])), 'RDP_ERR_UNEXPECTED');
  });
});

describe('MCS Connect Response and GCC Conference Create Response (MS-RDPBCGR 2.2.1.4, 4.1.4)', () => {
  const gccResponse = encodeConferenceCreateResponse({
    core: { version: RDP_VERSION_5_PLUS, clientRequestedProtocols: PROTOCOL_SSL, earlyCapabilityFlags: 0 },
    network: { ioChannelId: MCS_IO_CHANNEL_ID, channelIds: [1004, 1005, 1006] },
    security: { encryptionMethod: 0, encryptionLevel: 0 },
  });
  const SERVER_DATA_BLOCKS = hex(
    '01 0c 10 00', // TS_UD_HEADER: SC_CORE, length 16
    '04 00 08 00', // version 0x00080004
    '01 00 00 00', // clientRequestedProtocols PROTOCOL_SSL
    '00 00 00 00', // earlyCapabilityFlags
    '03 0c 10 00', // TS_UD_HEADER: SC_NET, length 16
    'eb 03', // MCSChannelId 1003
    '03 00', // channelCount 3
    'ec 03 ed 03 ee 03', // channelIdArray 1004, 1005, 1006
    '00 00', // pad
    '02 0c 0c 00', // TS_UD_HEADER: SC_SECURITY, length 12
    '00 00 00 00', // encryptionMethod ENCRYPTION_METHOD_NONE
    '00 00 00 00', // encryptionLevel ENCRYPTION_LEVEL_NONE
  );
  const GCC_RESPONSE = Buffer.concat([
    hex(
      '00', // Key: object
      '05 00 14 7c 00 01', // T.124 identifier
      '3a', // connectPDU length 58
      '14', // ConnectGCCPDU conferenceCreateResponse; no extension; userData present
      '76 0a', // nodeID 0x79f3 (as offset from 1001)
      '01 01', // tag 1
      '00', // result success
      '01', // one UserData set
      'c0', // value present, key h221NonStandard
      '00', // length 4
      '4d 63 44 6e', // "McDn"
      '2c', // value length 44
    ),
    SERVER_DATA_BLOCKS,
  ]);

  it('encodes the GCC response as Windows lays it out', () => {
    expect(gccResponse).toEqual(GCC_RESPONSE);
  });

  it('encodes the Connect Response around it', () => {
    const response = encodeConnectResponse({ result: 0, calledConnectId: 0, domainParameters: SERVER_DOMAIN_PARAMETERS, userData: gccResponse });
    expect(response).toEqual(
      Buffer.concat([
        hex(
          '7f 66 66', // Connect-Response [APPLICATION 102], length 102
          '0a 01 00', // result rt-successful
          '02 01 00', // calledConnectId 0
          '30 1a', // domainParameters
          '02 01 22', // maxChannelIds 34
          '02 01 03', // maxUserIds 3
          '02 01 00', // maxTokenIds 0
          '02 01 01', // numPriorities 1
          '02 01 00', // minThroughput 0
          '02 01 01', // maxHeight 1
          '02 03 00 ff ff', // maxMCSPDUsize 65535
          '02 01 02', // protocolVersion 2
          '04 42', // userData, 66 bytes
        ),
        GCC_RESPONSE,
      ]),
    );
    // Round trip through the BER reader.
    const r = new BerReader(response);
    expect(r.applicationTag(102, 'Connect-Response')).toBe(102);
    expect(r.enumerated('result')).toBe(0);
    expect(r.integer('calledConnectId')).toBe(0);
    const params = r.sequence('domainParameters');
    const values = Array.from({ length: 8 }, () => params.integer('parameter'));
    expect(values).toEqual([34, 3, 0, 1, 0, 1, 65535, 2]);
    expect(r.octetString('userData', 0xffff)).toEqual(gccResponse);
  });

  it('adds the message channel block when asked, and long BER lengths when needed', () => {
    const withMessageChannel = encodeConferenceCreateResponse({
      core: { version: RDP_VERSION_5_PLUS, clientRequestedProtocols: PROTOCOL_SSL, earlyCapabilityFlags: 0 },
      network: { ioChannelId: MCS_IO_CHANNEL_ID, channelIds: [1004] },
      security: { encryptionMethod: 0, encryptionLevel: 0 },
      messageChannel: { channelId: 1006 },
    });
    expect(withMessageChannel.subarray(-6)).toEqual(hex('04 0c 06 00', 'ee 03')); // SC_MCS_MSGCHANNEL, 1006
    expect(withMessageChannel.subarray(-30, -18)).toEqual(hex('03 0c 0c 00', 'eb 03', '01 00', 'ec 03', '00 00')); // SC_NET, one id, padded

    const big = encodeConnectResponse({ result: 0, calledConnectId: 0, domainParameters: SERVER_DOMAIN_PARAMETERS, userData: zeros(300) });
    expect(big.subarray(0, 5)).toEqual(hex('7f 66 82 01 52')); // 338 bytes follow
  });
});

describe('MCS domain PDUs (MS-RDPBCGR 4.1.5–4.1.9)', () => {
  it('parses the client requests', () => {
    // 4.1.5 Erect Domain Request: choice 1, subHeight 0, subInterval 0.
    expect(decodeDomainPdu(x224Payload(hex('03 00 00 0c 02 f0 80', '04', '01 00', '01 00')))).toEqual({ kind: 'erectDomainRequest', subHeight: 0, subInterval: 0 });
    // 4.1.6 Attach User Request: choice 10.
    expect(decodeDomainPdu(x224Payload(hex('03 00 00 08 02 f0 80', '28')))).toEqual({ kind: 'attachUserRequest' });
    // 4.1.8.1.1 Channel Join Request: choice 14, initiator 6 + 1001, channelId 1007.
    expect(decodeDomainPdu(x224Payload(hex('03 00 00 0c 02 f0 80', '38', '00 06', '03 ef')))).toEqual({ kind: 'channelJoinRequest', initiator: 1007, channelId: 1007 });
    expect(decodeDomainPdu(hex('38 00 06 03 eb'))).toEqual({ kind: 'channelJoinRequest', initiator: 1007, channelId: 1003 });
    // Disconnect Provider Ultimatum: choice 8, reason rn-user-requested.
    expect(decodeDomainPdu(hex('21 80'))).toEqual({ kind: 'disconnectProviderUltimatum', reason: MCS_REASON_USER_REQUESTED });
  });

  it('parses a Send Data Request (4.1.10 headers)', () => {
    const pdu = decodeDomainPdu(
      Buffer.concat([
        hex(
          '64', // choice 25: sendDataRequest
          '00 06', // initiator 1007
          '03 eb', // channelId 1003
          '70', // dataPriority high, segmentation begin | end
          '81 92', // userData length 402
        ),
        SPEC_CLIENT_INFO,
      ]),
    );
    expect(pdu).toEqual({ kind: 'sendDataRequest', initiator: 1007, channelId: 1003, priority: 1, segmentation: 3, data: SPEC_CLIENT_INFO });
  });

  it('encodes the server confirms and indications', () => {
    // 4.1.7 Attach User Confirm: choice 11, initiator present, rt-successful, initiator 1007.
    expect(encodeX224Data(encodeAttachUserConfirm(0, 1007))).toEqual(hex('03 00 00 0b 02 f0 80', '2e', '00', '00 06'));
    expect(encodeAttachUserConfirm(14)).toEqual(hex('2d c0')); // rt-unspecified-failure, no initiator
    // 4.1.8.1.2 Channel Join Confirm: choice 15, channelId present, rt-successful, 1007, 1007, 1007.
    expect(encodeX224Data(encodeChannelJoinConfirm(0, 1007, 1007, 1007))).toEqual(hex('03 00 00 0f 02 f0 80', '3e', '00', '00 06', '03 ef', '03 ef'));
    expect(encodeDisconnectProviderUltimatum(MCS_REASON_USER_REQUESTED)).toEqual(hex('21 80'));
    // 4.1.11 Send Data Indication headers: choice 26, initiator 1002, channel 1003, high, begin | end.
    const license = encodeLicenseValidClient();
    expect(encodeX224Data(encodeSendDataIndication(MCS_SERVER_CHANNEL_ID, MCS_IO_CHANNEL_ID, license))).toEqual(
      Buffer.concat([hex('03 00 00 22 02 f0 80', '68', '00 01', '03 eb', '70', '14'), license]),
    );
    const big = encodeSendDataIndication(MCS_SERVER_CHANNEL_ID, MCS_IO_CHANNEL_ID, zeros(0x1234));
    expect(big.subarray(0, 8)).toEqual(hex('68 00 01 03 eb 70 92 34'));
  });

  it('refuses PDUs a client has no business sending and malformed ones', () => {
    expectCode(() => decodeDomainPdu(hex('2e 00 00 06')), 'RDP_ERR_UNEXPECTED'); // Attach User Confirm
    expectCode(() => decodeDomainPdu(hex('fc')), 'RDP_ERR_BAD_VALUE'); // choice 63 of 43
    expectCode(() => decodeDomainPdu(hex('38 00 06 03')), 'RDP_ERR_TRUNCATED');
    expectCode(() => decodeDomainPdu(hex('38 fc 17 03 ef')), 'RDP_ERR_BAD_VALUE'); // initiator 64535 + 1001
    expectCode(() => decodeDomainPdu(hex('28 00')), 'RDP_ERR_BAD_LENGTH'); // trailing byte
    expectCode(() => decodeDomainPdu(hex('64 00 06 03 eb 70 05 01 02')), 'RDP_ERR_TRUNCATED');
    expectCode(() => decodeDomainPdu(hex('04 05 00 00 00 00 00 01 00')), 'RDP_ERR_BAD_ENCODING'); // 5-octet subHeight
    expectCode(() => decodeDomainPdu(hex('23 80')), 'RDP_ERR_BAD_VALUE'); // reason 7 of 5
    expectCode(() => decodeDomainPdu(Buffer.alloc(0)), 'RDP_ERR_TRUNCATED');
  });
});

describe('Client Info PDU (MS-RDPBCGR 2.2.1.11, 4.1.10)', () => {
  it('parses the Unicode example', () => {
    expect(decodeClientInfoPdu(SPEC_CLIENT_INFO)).toEqual({
      codePage: 0x04090409,
      flags: 0x43b3,
      domain: 'NTDEV',
      userName: 'eltons',
      password: '',
      alternateShell: '',
      workingDir: '',
      extended: {
        clientAddressFamily: 2,
        clientAddress: '157.59.242.156',
        clientDir,
        clientTimeZone: { bias: 480, standardName: 'Pacific Standard Time', standardBias: 0, daylightName: 'Pacific Daylight Time', daylightBias: -60 },
        clientSessionId: 0,
        performanceFlags: 1,
      },
    });
  });

  it('parses ANSI strings, a missing extended part and a full extended part', () => {
    const ansi = Buffer.concat([
      hex('40 00 00 00', '09 04 09 04', 'a3 43 00 00'), // flags without INFO_UNICODE
      hex('05 00', '06 00', '03 00', '00 00', '00 00'), // cbDomain, cbUserName, cbPassword, cbAlternateShell, cbWorkingDir
      Buffer.from('NTDEV\0eltons\0pw!\0\0\0', 'latin1'),
    ]);
    const info = decodeClientInfoPdu(ansi);
    expect(info.flags & INFO_UNICODE).toBe(0);
    expect([info.domain, info.userName, info.password, info.extended]).toEqual(['NTDEV', 'eltons', 'pw!', undefined]);

    const full = Buffer.concat([
      SPEC_CLIENT_INFO,
      hex('1c 00'), // cbAutoReconnectCookie 28
      Buffer.alloc(28, 0xab), // autoReconnectCookie
      hex('00 00', '00 00'), // reserved1, reserved2
      hex('0a 00'), // cbDynamicDSTTimeZoneKeyName 10
      utf16z('Pac.'), // dynamicDSTTimeZoneKeyName
      hex('01 00'), // dynamicDaylightTimeDisabled
    ]);
    const ext = decodeClientInfoPdu(full).extended!;
    expect(ext.autoReconnectCookie).toEqual(Buffer.alloc(28, 0xab));
    expect(ext.dynamicDstTimeZoneKeyName).toBe('Pac.');
    expect(ext.dynamicDaylightTimeDisabled).toBe(true);
  });

  it('refuses bad Client Info PDUs', () => {
    const encrypted = Buffer.from(SPEC_CLIENT_INFO);
    encrypted.writeUInt16LE(0x0048, 0); // SEC_INFO_PKT | SEC_ENCRYPT
    expectCode(() => decodeClientInfoPdu(encrypted), 'RDP_ERR_UNEXPECTED');
    const license = Buffer.from(SPEC_CLIENT_INFO);
    license.writeUInt16LE(SEC_LICENSE_PKT, 0);
    expectCode(() => decodeClientInfoPdu(license), 'RDP_ERR_UNEXPECTED');
    const hugeDomain = Buffer.from(SPEC_CLIENT_INFO);
    hugeDomain.writeUInt16LE(0x2000, 12);
    expectCode(() => decodeClientInfoPdu(hugeDomain), 'RDP_ERR_BAD_LENGTH');
    const oddDomain = Buffer.from(SPEC_CLIENT_INFO);
    oddDomain.writeUInt16LE(9, 12);
    expectCode(() => decodeClientInfoPdu(oddDomain), 'RDP_ERR_BAD_LENGTH');
    expectCode(() => decodeClientInfoPdu(SPEC_CLIENT_INFO.subarray(0, 300)), 'RDP_ERR_TRUNCATED');
    expectCode(() => decodeClientInfoPdu(SPEC_CLIENT_INFO.subarray(0, 20)), 'RDP_ERR_TRUNCATED');
  });
});

describe('Security header and licensing (MS-RDPBCGR 2.2.8.1.1.2.1, 2.2.1.12)', () => {
  it('reads and writes the basic security header', () => {
    expect(encodeSecurityHeader(SEC_INFO_PKT)).toEqual(hex('40 00 00 00'));
    expect(decodeSecurityHeader(new ReadCursor(hex('80 00 f8 39')))).toEqual({ flags: SEC_LICENSE_PKT, flagsHi: 0x39f8 });
    expectCode(() => decodeSecurityHeader(new ReadCursor(hex('80 00 f8'))), 'RDP_ERR_TRUNCATED');
  });

  it('encodes License Error - Valid Client', () => {
    expect(encodeLicenseValidClient()).toEqual(
      hex(
        '80 00', // TS_SECURITY_HEADER::flags SEC_LICENSE_PKT
        '00 00', // TS_SECURITY_HEADER::flagsHi
        'ff', // LICENSE_PREAMBLE::bMsgType ERROR_ALERT
        '03', // LICENSE_PREAMBLE::flags PREAMBLE_VERSION_3_0
        '10 00', // LICENSE_PREAMBLE::wMsgSize 16
        '07 00 00 00', // dwErrorCode STATUS_VALID_CLIENT
        '02 00 00 00', // dwStateTransition ST_NO_TRANSITION
        '04 00', // bbErrorInfo::wBlobType BB_ERROR_BLOB
        '00 00', // bbErrorInfo::wBlobLen 0
      ),
    );
  });
});

describe('BER and PER primitives', () => {
  it('round-trips BER values', () => {
    const encoded = new BerWriter().integer(0).integer(127).integer(128).integer(65528).integer(0xffffffff).boolean(true).enumerated(14).toBuffer();
    expect(encoded.subarray(0, 10)).toEqual(hex('02 01 00', '02 01 7f', '02 02 00 80'));
    const r = new BerReader(encoded);
    expect([r.integer('a'), r.integer('b'), r.integer('c'), r.integer('d'), r.integer('e'), r.boolean('f'), r.enumerated('g')]).toEqual([0, 127, 128, 65528, 0xffffffff, true, 14]);
    expectCode(() => new BerReader(hex('02 05 01 00 00 00 00')).integer('x'), 'RDP_ERR_BAD_ENCODING');
    expectCode(() => new BerReader(hex('02 80 00')).integer('x'), 'RDP_ERR_BAD_ENCODING');
    expectCode(() => new BerReader(hex('02 83 00 00 01 00')).integer('x'), 'RDP_ERR_BAD_ENCODING');
    expectCode(() => new BerReader(hex('04 82 01 00 00')).octetString('x', 1000), 'RDP_ERR_BAD_LENGTH');
    expectCode(() => new BerReader(hex('04 03 01 02 03')).octetString('x', 2), 'RDP_ERR_BAD_LENGTH');
  });

  it('round-trips PER values', () => {
    const w = new PerWriter()
      .index(2, 4, true)
      .constrainedWholeNumber(1007, 1001, 65535)
      .numericString('0451', 1, 255)
      .semiConstrainedInteger(70000, 0)
      .integer(-2)
      .octetString(Buffer.from('abcd'), 4, 255)
      .octetString(zeros(200));
    const buf = w.toBuffer();
    const r = new PerReader(buf);
    expect(r.index(4, true, 'choice')).toBe(2);
    expect(r.constrainedWholeNumber(1001, 65535, 'user')).toBe(1007);
    expect(r.numericString(1, 255, 'digits')).toBe('0451');
    expect(r.semiConstrainedInteger(0, 'n')).toBe(70000);
    expect(r.integer('i')).toBe(-2);
    expect(r.octetString('key', 255, 4, 255)).toEqual(Buffer.from('abcd'));
    expect(r.octetString('value', 1000)).toEqual(zeros(200));
    expect(r.remainingBytes).toBe(0);
    expectCode(() => new PerReader(hex('80')).index(4, true, 'choice'), 'RDP_ERR_UNEXPECTED');
    expectCode(() => new PerReader(hex('00 af')).numericString(1, 255, 'digits'), 'RDP_ERR_BAD_VALUE');
    expectCode(() => new PerReader(hex('81 00')).octetString('x', 1000), 'RDP_ERR_TRUNCATED');
  });
});
