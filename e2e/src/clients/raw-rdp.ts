// A raw TCP/TLS peer that speaks RDP byte by byte, for the tests that play a hostile or broken
// client (truncated frames, garbage at one layer, lying lengths, a client that stops reading).
// It walks the real connection sequence of MS-RDPBCGR 1.3.1.1 one step at a time, so a test can
// stop anywhere and send bad bytes instead of the next PDU. Deliberately minimal: TLS security
// only (PROTOCOL_SSL), no virtual channels, no input beyond what a test writes itself.
// Self-contained: the client-side encodings are written here (not taken from packages/qemu-rdp),
// each byte layout with a comment per field (MS-RDPBCGR section numbers in brackets).
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** Wall clock in µs (the clock of QEMU's `-msg timestamp=on`). */
const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;

/** One complete bitmap update (or surface commands frame) as a benchmark sees it. */
export interface UpdateRecord {
  /** When its last fast-path frame arrived (µs, wall clock). */
  us: number;
  /** Bytes of the fast-path frames that carried it (and anything since the previous update). */
  bytes: number;
  rects: number;
  /** Pixels its rectangles cover. */
  pixels: number;
}

// ---- Constants ---------------------------------------------------------------------------------

/** RDP_NEG_REQ / RDP_NEG_RSP protocols [2.2.1.1.1]. */
export const PROTOCOL_RDP = 0x0;
export const PROTOCOL_SSL = 0x1;
/** RDP_NEG_* structure types [2.2.1.1.1, 2.2.1.2.1, 2.2.1.2.2]. */
export const TYPE_RDP_NEG_REQ = 0x01;
export const TYPE_RDP_NEG_RSP = 0x02;
export const TYPE_RDP_NEG_FAILURE = 0x03;
export const SSL_REQUIRED_BY_SERVER = 0x01;

/** MCS: user ids are sent as offsets from 1001; 1003 is the I/O channel [T.125, 2.2.1.3]. */
export const MCS_USER_ID_BASE = 1001;
export const MCS_IO_CHANNEL_ID = 1003;
/** DomainMCSPDU CHOICE indexes (top 6 bits of the first byte) [T.125 §7 part 10]. */
export const DomainPdu = {
  ERECT_DOMAIN_REQUEST: 1,
  DISCONNECT_PROVIDER_ULTIMATUM: 8,
  ATTACH_USER_REQUEST: 10,
  ATTACH_USER_CONFIRM: 11,
  CHANNEL_JOIN_REQUEST: 14,
  CHANNEL_JOIN_CONFIRM: 15,
  SEND_DATA_REQUEST: 25,
  SEND_DATA_INDICATION: 26,
} as const;

/** Basic security header flags [2.2.8.1.1.2.1]. */
export const SEC_ENCRYPT = 0x0008;
export const SEC_INFO_PKT = 0x0040;
export const SEC_LICENSE_PKT = 0x0080;
/** TS_INFO_PACKET flags [2.2.1.11.1.1]. */
export const INFO_MOUSE = 0x0001;
export const INFO_DISABLECTRLALTDEL = 0x0002;
export const INFO_UNICODE = 0x0010;
export const INFO_COMPRESSION = 0x0080;
/** CompressionTypeMask [2.2.1.11.1.1]: the highest bulk compression type, bits 9–12. */
export const COMPRESSION_TYPE_SHIFT = 9;
/** Bulk compression types [3.1.8.2.1]: MPPC 8K (RDP 4.0), 64K (RDP 5.0), RDP 6.0, RDP 6.1. */
export const PACKET_COMPR_TYPE_8K = 0;
export const PACKET_COMPR_TYPE_64K = 1;
export const PACKET_COMPR_TYPE_RDP6 = 2;
export const PACKET_COMPR_TYPE_RDP61 = 3;
/** Bulk compression flags [3.1.8.2.1]. */
export const PACKET_COMPRESSED = 0x20;
export const PACKET_AT_FRONT = 0x40;
export const PACKET_FLUSHED = 0x80;

/** Share Control Header pduType (low 4 bits) and Share Data Header pduType2 [2.2.8.1.1.1]. */
export const PDUTYPE_DEMANDACTIVEPDU = 0x1;
export const PDUTYPE_CONFIRMACTIVEPDU = 0x3;
export const PDUTYPE_DATAPDU = 0x7;
export const PduType2 = { CONTROL: 20, SYNCHRONIZE: 31, FONTLIST: 39, FONTMAP: 40 } as const;
/** The server's channel id, pduSource/originatorId of what the server sends [2.2.1.13.1]. */
export const SERVER_CHANNEL_ID = 0x03ea;
/** TS_PROTOCOL_VERSION in the high bits of pduType. */
const TS_PROTOCOL_VERSION = 0x10;

/** Fast-path updateCode values counted here [2.2.9.1.2.1]: orders, bitmap, surface commands. */
export const FASTPATH_UPDATETYPE_ORDERS = 0x0;
export const FASTPATH_UPDATETYPE_BITMAP = 0x1;
export const FASTPATH_UPDATETYPE_SURFCMDS = 0x4;
/** Surface command cmdType values [2.2.9.1.2.1.10.1]. */
export const CMDTYPE_SET_SURFACE_BITS = 0x0001;
export const CMDTYPE_FRAME_MARKER = 0x0004;
export const CMDTYPE_STREAM_SURFACE_BITS = 0x0006;
/** TS_FRAME_MARKER frameAction [2.2.9.2.3]. */
export const SURFACECMD_FRAMEACTION_BEGIN = 0x0000;
export const SURFACECMD_FRAMEACTION_END = 0x0001;
/** Surface Commands capability cmdFlags [2.2.7.2.9]. */
export const SURFCMDS_SET_SURFACE_BITS = 0x02;
export const SURFCMDS_FRAME_MARKER = 0x10;
export const SURFCMDS_STREAM_SURFACE_BITS = 0x40;
/**
 * CODEC_GUID_REMOTEFX {76772F12-BD72-4463-AFB3-B73C9C6F7886} [MS-RDPRFX 2.2.1] as a GUID is
 * sent: Data1 (32 bits), Data2, Data3 (16 bits) little-endian, then Data4's 8 bytes as written.
 */
export const CODEC_GUID_REMOTEFX = Buffer.from([0x12, 0x2f, 0x77, 0x76, 0x72, 0xbd, 0x63, 0x44, 0xaf, 0xb3, 0xb7, 0x3c, 0x9c, 0x6f, 0x78, 0x86]);
/** The codecID this client gives RemoteFX in its Bitmap Codecs set (any non-zero byte; FreeRDP's 3). */
export const REMOTEFX_CODEC_ID = 3;
/** TS_RFX_REGION's blockType [MS-RDPRFX 2.2.2.3.3]. */
const WBT_REGION = 0xccc6;

// ---- Small byte builders -------------------------------------------------------------------------

const u8 = (v: number): Buffer => Buffer.from([v]);
const u16le = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
};
const u16be = (v: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return b;
};
const u32le = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};
const zeros = (n: number): Buffer => Buffer.alloc(n);
const cat = (...parts: Buffer[]): Buffer => Buffer.concat(parts);
/** `text` in UTF-16LE, padded with NULs (or cut) to `bytes`. */
const utf16Fixed = (text: string, bytes: number): Buffer => {
  const b = Buffer.alloc(bytes);
  b.write(text, 'utf16le');
  b.fill(0, Math.min(bytes - 2, text.length * 2)); // always NUL-terminated
  return b;
};

/** TPKT header [T.123 §8]: version 3, reserved 0, big-endian length counting these 4 bytes. */
export function tpkt(payload: Buffer): Buffer {
  return cat(u8(3), u8(0), u16be(4 + payload.length), payload);
}

/** X.224 Data TPDU [X.224 §13.7]: LI 2, code DT (0xF0), EOT (0x80); then the MCS PDU. In TPKT. */
export function x224Data(payload: Buffer): Buffer {
  return tpkt(cat(Buffer.from([0x02, 0xf0, 0x80]), payload));
}

/**
 * X.224 Connection Request [2.2.1.1] in TPKT: a cookie line and, unless `negotiation` is false,
 * an RDP_NEG_REQ asking for `protocols` (default TLS).
 */
export function x224ConnectionRequest(o: { cookie?: string; negotiation?: boolean; protocols?: number } = {}): Buffer {
  const variable = cat(
    Buffer.from(`Cookie: mstshash=${o.cookie ?? 'raw-rdp'}\r\n`, 'latin1'), // routingToken/cookie
    o.negotiation === false
      ? zeros(0)
      : cat(
          u8(TYPE_RDP_NEG_REQ), // type
          u8(0), // flags
          u16le(8), // length
          u32le(o.protocols ?? PROTOCOL_SSL), // requestedProtocols
        ),
  );
  const fixed = cat(
    u8(6 + variable.length), // LI: the TPDU's length after this byte
    u8(0xe0), // CR, no credit
    u16be(0), // DST-REF
    u16be(0), // SRC-REF
    u8(0), // class 0, no options
  );
  return tpkt(cat(fixed, variable));
}

/** A BER length [X.690 §8.1.3]: short form below 128, else 0x81/0x82 and 1 or 2 octets. */
function berLength(n: number): Buffer {
  if (n < 0x80) return u8(n);
  if (n <= 0xff) return Buffer.from([0x81, n]);
  return cat(u8(0x82), u16be(n));
}

/** A BER TLV with the given tag octets and a definite length. */
function ber(tag: number[], content: Buffer): Buffer {
  return cat(Buffer.from(tag), berLength(content.length), content);
}

/** A non-negative BER INTEGER in its fewest octets (a leading 0 keeps it positive). */
function berInteger(v: number): Buffer {
  const octets: number[] = [];
  do {
    octets.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if (octets[0] & 0x80) octets.unshift(0);
  return ber([0x02], Buffer.from(octets));
}

/** The eight DomainParameters INTEGERs in a SEQUENCE [T.125 §7 part 2]. */
function domainParameters(p: {
  maxChannelIds: number;
  maxUserIds: number;
  maxTokenIds: number;
  numPriorities: number;
  minThroughput: number;
  maxHeight: number;
  maxMCSPDUsize: number;
  protocolVersion: number;
}): Buffer {
  return ber([0x30], cat(...Object.values(p).map(berInteger)));
}

/** MCS Connect-Initial [2.2.1.3.1, T.125 §7 part 2]: BER [APPLICATION 101] around GCC user data. */
export function mcsConnectInitial(gccUserData: Buffer): Buffer {
  return ber(
    [0x7f, 0x65], // [APPLICATION 101], constructed, long tag form
    cat(
      ber([0x04], u8(1)), // callingDomainSelector OCTET STRING
      ber([0x04], u8(1)), // calledDomainSelector OCTET STRING
      ber([0x01], u8(0xff)), // upwardFlag BOOLEAN TRUE
      // targetParameters, minimumParameters, maximumParameters (what mstsc sends)
      domainParameters({ maxChannelIds: 34, maxUserIds: 2, maxTokenIds: 0, numPriorities: 1, minThroughput: 0, maxHeight: 1, maxMCSPDUsize: 0xffff, protocolVersion: 2 }),
      domainParameters({ maxChannelIds: 1, maxUserIds: 1, maxTokenIds: 1, numPriorities: 1, minThroughput: 0, maxHeight: 1, maxMCSPDUsize: 0x420, protocolVersion: 2 }),
      domainParameters({ maxChannelIds: 0xffff, maxUserIds: 0xfc17, maxTokenIds: 0xffff, numPriorities: 1, minThroughput: 0, maxHeight: 1, maxMCSPDUsize: 0xffff, protocolVersion: 2 }),
      ber([0x04], gccUserData), // userData OCTET STRING
    ),
  );
}

/** An ALIGNED PER length determinant as RDP writes it: 1 octet below 128, else 2 with the top bit. */
function perLength(n: number): Buffer {
  return n < 0x80 ? u8(n) : u16be(0x8000 | n);
}

/**
 * GCC Conference Create Request [2.2.1.3, T.124 §8.7] in a ConnectData, ALIGNED PER, around the
 * client settings blocks (concatenated TS_UD_CS_* blocks).
 */
export function gccConferenceCreateRequest(clientBlocks: Buffer): Buffer {
  const connectPdu = cat(
    // ConnectGCCPDU choice 0 (conferenceCreateRequest, ext bit 0); no extensions; optional-field
    // bitmap 0x01 (userData only); conferenceName: no ext, no text, 1 digit ("1"); locked,
    // listed, conductible FALSE; terminationMethod automatic. (The 8 bytes of MS-RDPBCGR 4.1.3.)
    Buffer.from([0x00, 0x08, 0x00, 0x10, 0x00]),
    u8(1), // one UserData set
    u8(0xc0), // value present, key choice h221NonStandard
    u8(0x00), // H.221 key length 4 (constrained 4..255: offset 0)
    Buffer.from('Duca', 'latin1'), // client-to-server key
    perLength(clientBlocks.length), // value OCTET STRING length
    clientBlocks,
  );
  return cat(
    u8(0x00), // Key choice: object
    u8(5), // OBJECT IDENTIFIER length
    Buffer.from([0x00, 0x14, 0x7c, 0x00, 0x01]), // T.124 version 1 {0 0 20 124 0 1}
    perLength(connectPdu.length), // connectPDU OCTET STRING length
    connectPdu,
  );
}

/** A settings block: TS_UD_HEADER (type, length including the header) and its body. */
function userDataBlock(type: number, body: Buffer): Buffer {
  return cat(u16le(type), u16le(4 + body.length), body);
}

/** TS_UD_CS_CORE [2.2.1.3.2], 216 bytes: 1024x768, highColorDepth 24, wants 32 bpp, TLS selected. */
/** `bpp` 32 asks for a 32 bpp session (RNS_UD_CS_WANT_32BPP_SESSION); 16 or 24 for that depth. */
export function clientCoreData(o: { width?: number; height?: number; name?: string; bpp?: 16 | 24 | 32; earlyCapabilityFlags?: number } = {}): Buffer {
  const bpp = o.bpp ?? 32;
  return userDataBlock(
    0xc001, // CS_CORE
    cat(
      u32le(0x00080004), // version: RDP 5.0+
      u16le(o.width ?? 1024), // desktopWidth
      u16le(o.height ?? 768), // desktopHeight
      u16le(0xca01), // colorDepth: RNS_UD_COLOR_8BPP (superseded below)
      u16le(0xaa03), // SASSequence: RNS_UD_SAS_DEL
      u32le(0x409), // keyboardLayout: US
      u32le(2600), // clientBuild
      utf16Fixed(o.name ?? 'raw-rdp', 32), // clientName
      u32le(4), // keyboardType: IBM enhanced
      u32le(0), // keyboardSubType
      u32le(12), // keyboardFunctionKey
      zeros(64), // imeFileName
      u16le(0xca01), // postBeta2ColorDepth: 8 bpp (superseded below)
      u16le(1), // clientProductId
      u32le(0), // serialNumber
      u16le(bpp === 16 ? 16 : 24), // highColorDepth
      u16le(0x0008 | 0x0001 | 0x0002), // supportedColorDepths: RNS_UD_32BPP_SUPPORT | 24BPP | 16BPP
      u16le((bpp === 32 ? 0x0002 : 0) | (o.earlyCapabilityFlags ?? 0)), // earlyCapabilityFlags: RNS_UD_CS_WANT_32BPP_SESSION, and any asked for
      zeros(64), // clientDigProductId
      u8(0), // connectionType
      u8(0), // pad1octet
      u32le(PROTOCOL_SSL), // serverSelectedProtocol: what the Connection Confirm said
    ),
  );
}

/** TS_UD_CS_SEC [2.2.1.3.3]: no standard RDP encryption (TLS). */
export function clientSecurityData(): Buffer {
  return userDataBlock(0xc002, cat(u32le(0) /* encryptionMethods */, u32le(0) /* extEncryptionMethods */));
}

/**
 * TS_UD_CS_NET [2.2.1.3.4]: `channelCount`, followed by `channels` CHANNEL_DEFs (8-byte name,
 * options). By default no channels; a test may announce more than it sends.
 */
export function clientNetworkData(channelCount = 0, channels: string[] = []): Buffer {
  const defs = channels.map((name) => cat(Buffer.from(name.padEnd(8, '\0').slice(0, 8), 'latin1'), u32le(0x80000000) /* CHANNEL_OPTION_INITIALIZED */));
  return userDataBlock(0xc003, cat(u32le(channelCount), ...defs));
}

/** The usual client settings blocks: core, security, network (no channels). */
export function defaultClientBlocks(bpp: 16 | 24 | 32 = 32, channels: string[] = [], earlyCapabilityFlags = 0): Buffer {
  return cat(clientCoreData({ bpp, earlyCapabilityFlags }), clientSecurityData(), clientNetworkData(channels.length, channels));
}

/** Erect Domain Request [2.2.1.5]: subHeight 0, subInterval 0 (PER INTEGERs: length 1, value 0). */
export function mcsErectDomainRequest(): Buffer {
  return Buffer.from([DomainPdu.ERECT_DOMAIN_REQUEST << 2, 0x01, 0x00, 0x01, 0x00]);
}

/** Attach User Request [2.2.1.6]: the choice alone. */
export function mcsAttachUserRequest(): Buffer {
  return u8(DomainPdu.ATTACH_USER_REQUEST << 2);
}

/** Channel Join Request [2.2.1.8]: initiator (user id − 1001), channelId, both 16-bit. */
export function mcsChannelJoinRequest(userId: number, channelId: number): Buffer {
  return cat(u8(DomainPdu.CHANNEL_JOIN_REQUEST << 2), u16be(userId - MCS_USER_ID_BASE), u16be(channelId));
}

/**
 * Send Data Request [2.2.1.11 and later]: initiator, channelId, priority high + segmentation
 * begin|end, then userData as a PER OCTET STRING (its length: `length`, default the real one).
 */
export function mcsSendDataRequest(userId: number, channelId: number, data: Buffer, length = data.length): Buffer {
  return cat(
    u8(DomainPdu.SEND_DATA_REQUEST << 2),
    u16be(userId - MCS_USER_ID_BASE), // initiator
    u16be(channelId), // channelId
    u8(0x70), // dataPriority high (01), segmentation begin|end (11), 4 padding bits
    perLength(length), // userData length
    data,
  );
}

/**
 * Client Info PDU [2.2.1.11]: basic security header (`securityFlags`, default SEC_INFO_PKT), then
 * TS_INFO_PACKET with Unicode strings (each cb* excludes the 2-byte NUL that follows it).
 */
export function clientInfoPdu(o: { userName: string; password: string; domain?: string; securityFlags?: number; compression?: number }): Buffer {
  const strings = [o.domain ?? '', o.userName, o.password, '', ''].map((s) => Buffer.from(s, 'utf16le'));
  // With `compression`: INFO_COMPRESSION and that type in CompressionTypeMask.
  const compression = o.compression === undefined ? 0 : INFO_COMPRESSION | (o.compression << COMPRESSION_TYPE_SHIFT);
  return cat(
    u16le(o.securityFlags ?? SEC_INFO_PKT), // flags
    u16le(0), // flagsHi
    u32le(0), // CodePage
    u32le(INFO_MOUSE | INFO_DISABLECTRLALTDEL | INFO_UNICODE | compression), // flags
    ...strings.map((s) => u16le(s.length)), // cbDomain, cbUserName, cbPassword, cbAlternateShell, cbWorkingDir
    ...strings.flatMap((s) => [s, zeros(2)]), // Domain, UserName, Password, AlternateShell, WorkingDir
  );
}
/** Offset of cbUserName in a Client Info PDU (security header 4, CodePage 4, flags 4, cbDomain 2). */
export const CLIENT_INFO_CB_USERNAME_OFFSET = 14;

/** Share Control Header [2.2.8.1.1.1.1] around `body`: totalLength, pduType, pduSource. */
export function shareControlPdu(pduType: number, pduSource: number, body: Buffer): Buffer {
  return cat(u16le(6 + body.length), u16le(TS_PROTOCOL_VERSION | pduType), u16le(pduSource), body);
}

/** Share Data Header [2.2.8.1.1.1.2] in a Share Control Header: a complete Data PDU. */
export function shareDataPdu(shareId: number, pduSource: number, pduType2: number, body: Buffer): Buffer {
  return shareControlPdu(
    PDUTYPE_DATAPDU,
    pduSource,
    cat(
      u32le(shareId), // shareId
      u8(0), // pad1
      u8(1), // streamId: STREAM_LOW
      u16le(body.length), // uncompressedLength
      u8(pduType2), // pduType2
      u8(0), // compressedType: not compressed
      u16le(0), // compressedLength
      body,
    ),
  );
}
/** Offset of compressedType in a Data PDU (Share Control 6, shareId 4, pad1, streamId, uncompressedLength 2, pduType2). */
export const SHARE_DATA_COMPRESSED_TYPE_OFFSET = 15;

/** A capability set [2.2.7]: capabilitySetType, lengthCapability (header included), data. */
function capabilitySet(type: number, data: Buffer): Buffer {
  return cat(u16le(type), u16le(4 + data.length), data);
}

/**
 * TS_RFX_CLNT_CAPS_CONTAINER [MS-RDPRFX 2.2.1.1], the codecProperties of RemoteFX in a client's
 * Bitmap Codecs set, laid out as FreeRDP sends it: one TS_RFX_CAPS holding one TS_RFX_CAPSET
 * with two TS_RFX_ICAPs (RLGR1 and RLGR3), 64×64 tiles, ICT colour conversion, DWT 5/3.
 */
function remoteFxClientCapsContainer(): Buffer {
  const icap = (entropyBits: number): Buffer =>
    cat(
      u16le(0x0100), // version: CLW_VERSION_1_0
      u16le(0x0040), // tileSize: CT_TILE_64x64
      u8(0), // flags: no CODEC_MODE (video mode)
      u8(0x01), // colConvBits: CLW_COL_CONV_ICT
      u8(0x01), // transformBits: CLW_XFORM_DWT_53_A
      u8(entropyBits), // entropyBits
    );
  const icaps = [icap(0x01) /* CLW_ENTROPY_RLGR1 */, icap(0x04) /* CLW_ENTROPY_RLGR3 */];
  const capset = cat(
    u16le(0xcbc1), // blockType: CBY_CAPSET
    u32le(13 + 8 * icaps.length), // blockLen
    u8(0x01), // codecId: MUST be 1
    u16le(0xcfc0), // capsetType: CLY_CAPSET
    u16le(icaps.length), // numIcaps
    u16le(8), // icapLen
    ...icaps,
  );
  const caps = cat(
    u16le(0xcbc0), // blockType: CBY_CAPS
    u32le(8), // blockLen
    u16le(1), // numCapsets
    capset,
  );
  return cat(
    u32le(12 + caps.length), // length: the whole container
    u32le(0x01), // captureFlags: CARDP_CAPS_CAPTURE_NON_CAC
    u32le(caps.length), // capsLength
    caps,
  );
}

/**
 * The capability sets that make a server send RemoteFX: Surface Commands [2.2.7.2.9] (Set and
 * Stream Surface Bits, frame markers) and Bitmap Codecs [2.2.7.2.10] offering RemoteFX
 * [MS-RDPRFX 2.2.1] as REMOTEFX_CODEC_ID. (No Frame Acknowledge set: this client never
 * acknowledges frames, so the server must not wait for it to.)
 */
function remoteFxCapabilitySets(): Buffer[] {
  const properties = remoteFxClientCapsContainer();
  return [
    capabilitySet(
      0x1c, // CAPSETTYPE_SURFACE_COMMANDS
      cat(
        u32le(SURFCMDS_SET_SURFACE_BITS | SURFCMDS_FRAME_MARKER | SURFCMDS_STREAM_SURFACE_BITS), // cmdFlags
        u32le(0), // reserved
      ),
    ),
    capabilitySet(
      0x1d, // CAPSETTYPE_BITMAP_CODECS
      cat(
        u8(1), // bitmapCodecCount
        CODEC_GUID_REMOTEFX, // codecGUID
        u8(REMOTEFX_CODEC_ID), // codecID
        u16le(properties.length), // codecPropertiesLength
        properties, // codecProperties
      ),
    ),
  ];
}

/**
 * Order Capability Set [2.2.7.1.3] supporting the ScrBlt and OpaqueRect primary drawing orders
 * (orderSupport[TS_NEG_SCRBLT_INDEX = 0x02], [TS_NEG_OPAQUE_RECT_INDEX = 0x0A]), as xfreerdp
 * does among others: the server may copy scrolled areas and fill areas of one colour. 88 bytes
 * with its header.
 */
function orderCapabilitySet(): Buffer {
  const orderSupport = zeros(32);
  orderSupport[0x02] = 1;
  orderSupport[0x0a] = 1;
  return capabilitySet(
    0x03, // CAPSTYPE_ORDER
    cat(
      zeros(16), // terminalDescriptor
      u32le(0), // pad4octetsA
      u16le(1), // desktopSaveXGranularity
      u16le(20), // desktopSaveYGranularity
      u16le(0), // pad2octetsA
      u16le(1), // maximumOrderLevel: ORD_LEVEL_1_ORDERS
      u16le(0), // numberFonts
      u16le(0x0002 | 0x0008 | 0x0020), // orderFlags: NEGOTIATEORDERSUPPORT | ZEROBOUNDSDELTASSUPPORT | COLORINDEXSUPPORT
      orderSupport,
      u16le(0), // textFlags
      u16le(0), // orderSupportExFlags
      u32le(0), // pad4octetsB
      u32le(230400), // desktopSaveSize
      u16le(0), // pad2octetsC
      u16le(0), // pad2octetsD
      u16le(0), // textANSICodePage
      u16le(0), // pad2octetsE
    ),
  );
}

/**
 * Confirm Active PDU [2.2.1.13.2]: General (fast-path output, no bitmap compression header),
 * Bitmap (32 bpp, desktop resize), Input, Multifragment Update (a large reassembly buffer);
 * with `remoteFx`, also Surface Commands and Bitmap Codecs offering RemoteFX; with `orders`, an
 * Order capability set offering ScrBlt and OpaqueRect.
 */
export function confirmActivePdu(o: { shareId: number; userId: number; width: number; height: number; bpp?: number; remoteFx?: boolean; orders?: boolean }): Buffer {
  const sets = [
    capabilitySet(
      0x01, // CAPSTYPE_GENERAL
      cat(
        u16le(4), // osMajorType: UNIX
        u16le(0), // osMinorType
        u16le(0x0200), // protocolVersion: TS_CAPS_PROTOCOLVERSION
        u16le(0), // pad2octetsA
        u16le(0), // generalCompressionTypes
        u16le(0x0001 | 0x0400), // extraFlags: FASTPATH_OUTPUT_SUPPORTED | NO_BITMAP_COMPRESSION_HDR
        u16le(0), // updateCapabilityFlag
        u16le(0), // remoteUnshareFlag
        u16le(0), // generalCompressionLevel
        u8(1), // refreshRectSupport
        u8(1), // suppressOutputSupport
      ),
    ),
    capabilitySet(
      0x02, // CAPSTYPE_BITMAP
      cat(
        u16le(o.bpp ?? 32), // preferredBitsPerPixel
        u16le(1), // receive1BitPerPixel
        u16le(1), // receive4BitsPerPixel
        u16le(1), // receive8BitsPerPixel
        u16le(o.width), // desktopWidth
        u16le(o.height), // desktopHeight
        u16le(0), // pad2octets
        u16le(1), // desktopResizeFlag
        u16le(1), // bitmapCompressionFlag: MUST be TRUE
        u8(0), // highColorFlags
        u8(0), // drawingFlags
        u16le(1), // multipleRectangleSupport
        u16le(0), // pad2octetsB
      ),
    ),
    capabilitySet(
      0x0d, // CAPSTYPE_INPUT
      cat(
        u16le(0x0001 | 0x0004 | 0x0010 | 0x0020), // inputFlags: SCANCODES | MOUSEX | UNICODE | FASTPATH_INPUT2
        u16le(0), // pad2octetsA
        u32le(0x409), // keyboardLayout
        u32le(4), // keyboardType
        u32le(0), // keyboardSubType
        u32le(12), // keyboardFunctionKey
        zeros(64), // imeFileName
      ),
    ),
    capabilitySet(0x1a /* CAPSETTYPE_MULTIFRAGMENTUPDATE */, u32le(0x800000) /* maxRequestSize: 8 MiB */),
    ...(o.remoteFx ? remoteFxCapabilitySets() : []),
    ...(o.orders ? [orderCapabilitySet()] : []),
  ];
  const source = Buffer.from('MSTSC\0', 'latin1');
  const combined = cat(u16le(sets.length) /* numberCapabilities */, u16le(0) /* pad2Octets */, ...sets);
  return shareControlPdu(
    PDUTYPE_CONFIRMACTIVEPDU,
    o.userId, // pduSource: the client's user channel
    cat(
      u32le(o.shareId), // shareId from the Demand Active
      u16le(SERVER_CHANNEL_ID), // originatorId
      u16le(source.length), // lengthSourceDescriptor
      u16le(combined.length), // lengthCombinedCapabilities
      source,
      combined,
    ),
  );
}

// ---- Reading what the server sends ---------------------------------------------------------------

/** A frame the server sent: TPKT (slow-path) or fast-path output. */
export interface ServerFrame {
  fastPath: boolean;
  data: Buffer;
}

/**
 * The length of the frame at the start of `buf`, or undefined until enough bytes are there:
 * TPKT (first byte 3, big-endian length at 2–3) or fast-path (low 2 bits 0; length in 1 byte,
 * or 2 big-endian when the first has the top bit).
 */
export function serverFrameLength(buf: Buffer): number | undefined {
  if (buf.length < 2) return undefined;
  if (buf[0] === 3) return buf.length < 4 ? undefined : buf.readUInt16BE(2);
  if ((buf[0] & 0x3) !== 0) throw new Error(`server frame starts with 0x${buf[0].toString(16)}: neither TPKT nor fast-path`);
  if (!(buf[1] & 0x80)) return buf[1];
  return buf.length < 3 ? undefined : ((buf[1] & 0x7f) << 8) | buf[2];
}

/** The MCS PDU in a TPKT frame holding an X.224 Data TPDU (after TPKT 4 and X.224 3 bytes). */
function x224Payload(frame: Buffer): Buffer {
  if (frame[0] !== 3) throw new Error('expected a TPKT frame, got fast-path output');
  if (frame[5] !== 0xf0) throw new Error(`server sent X.224 TPDU code 0x${frame[5].toString(16)}, not Data`);
  return frame.subarray(7);
}

/**
 * Pixels covered by TS_UPDATE_BITMAP_DATA: updateType, numberRectangles, then per rectangle
 * destLeft, destTop, destRight, destBottom (inclusive), width, height, bitsPerPixel, flags,
 * bitmapLength (all 16-bit) and bitmapLength bytes of data.
 */
function bitmapUpdatePixels(data: Buffer): number {
  let pixels = 0;
  let pos = 4;
  for (let i = data.readUInt16LE(2); i > 0; i--) {
    const [left, top, right, bottom] = [0, 2, 4, 6].map((o) => data.readUInt16LE(pos + o));
    pixels += (right - left + 1) * (bottom - top + 1);
    pos += 18 + data.readUInt16LE(pos + 16);
  }
  return pixels;
}

/**
 * Rectangles and pixels of the TS_RFX_REGION [MS-RDPRFX 2.2.2.3.3] in RemoteFX bitmapData, or
 * undefined if there is none (header messages only). The stream is a sequence of blocks, each
 * blockType (16 bits) and blockLen (32 bits, the whole block); TS_RFX_REGION: that header,
 * codecId, channelId, regionFlags, numRects (16 bits), then per rectangle x, y, width, height.
 */
function remoteFxRegion(bitmapData: Buffer): { rects: number; pixels: number } | undefined {
  let pos = 0;
  while (pos + 6 <= bitmapData.length) {
    const blockType = bitmapData.readUInt16LE(pos);
    const blockLen = bitmapData.readUInt32LE(pos + 2);
    if (blockLen < 6 || pos + blockLen > bitmapData.length) throw new Error(`RemoteFX block 0x${blockType.toString(16)} with blockLen ${blockLen}`);
    if (blockType === WBT_REGION) {
      const rects = bitmapData.readUInt16LE(pos + 9);
      let pixels = 0;
      for (let i = 0, r = pos + 11; i < rects; i++, r += 8) pixels += bitmapData.readUInt16LE(r + 4) * bitmapData.readUInt16LE(r + 6);
      return { rects, pixels };
    }
    pos += blockLen;
  }
  return undefined;
}

/** Share data PDU type of a share PDU from the server (pduType2), or undefined if not a Data PDU. */
function sharePduType2(pdu: Buffer): number | undefined {
  return (pdu.readUInt16LE(2) & 0xf) === PDUTYPE_DATAPDU ? pdu[14] : undefined;
}

export class RawRdpClient {
  /** The TCP socket, then (after startTls) the TLS socket over it. */
  private stream: Socket | TLSSocket;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private readonly closed: Promise<void>;
  /** Bytes received so far (after TLS: decrypted), including those consumed by reads. */
  received = 0;
  /** Fast-path output frames and their bytes consumed by readFrame and countOutput. */
  fastPathFrames = 0;
  fastPathBytes = 0;
  /** Pixels covered by the bitmap updates among them (a full screen: width × height). */
  bitmapPixels = 0;
  /** The fragments of a fast-path update being reassembled (FIRST, NEXT…, LAST). */
  private fragments: Buffer[] = [];
  /** The bulk decompressor, once activate() announced compression. */
  private mppc: BulkReceiver | undefined;
  /** Fast-path updates (fragments) that came bulk-compressed, and their bytes before and after. */
  bulk = { packets: 0, compressedBytes: 0, decompressedBytes: 0 };
  /**
   * Surface commands received (activate with `remoteFx`): fast-path surface commands updates,
   * surface bits commands in them and their bitmapData bytes, frames (END markers), and the
   * pixels of the frames recorded (RemoteFX regions).
   */
  surface = { updates: 0, commands: 0, bytes: 0, frames: 0, pixels: 0 };
  /** The surface frame being received (between BEGIN and END markers, or within one update). */
  private surfaceFrame: { open: boolean; rects: number; pixels: number; rfxRegion: boolean; bits: number } | undefined;
  /** Learned during the connection sequence. */
  userId = 0;
  shareId = 0;
  desktop = { width: 0, height: 0 };

  private onClose: () => void = () => undefined;
  private readonly markClosed = (): void => {
    this.ended = true;
    this.onClose();
  };
  private readonly onData = (chunk: Buffer): void => {
    this.dataEvents++;
    this.received += chunk.length;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.records) this.drainFrames();
  };
  /** Set by recordUpdates. */
  private records: UpdateRecord[] | undefined;
  /** In recording mode, every TPKT frame (channel data…) is handed here (raw-rdp-gfx.ts). */
  onSlowPathFrame: ((frame: Buffer) => void) | undefined;
  /** Bytes of the fast-path frames since the last complete bitmap update. */
  private bytesSinceUpdate = 0;
  /** Socket reads so far, and the record of the last Orders update with the read it came in. */
  private dataEvents = 0;
  private ordersRecord: { record: UpdateRecord; event: number } | undefined;

  private constructor(readonly socket: Socket) {
    this.stream = socket;
    socket.on('data', this.onData);
    socket.on('error', () => undefined); // 'close' follows
    this.closed = new Promise((resolve) => (this.onClose = resolve));
    socket.once('close', this.markClosed);
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawRdpClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host }, () => {
        socket.off('error', reject);
        socket.setNoDelay(true);
        resolve(new RawRdpClient(socket));
      });
      socket.once('error', reject);
    });
  }

  /** The first `n` buffered bytes as one Buffer (joins chunks as needed), without consuming. */
  private peek(n: number): Buffer {
    if (this.chunks.length > 1 && this.chunks[0].length < n) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]?.subarray(0, n) ?? Buffer.alloc(0);
  }

  private take(n: number): Buffer {
    const out = Buffer.from(this.peek(n)); // a copy: the chunk may be reused for the rest
    const first = this.chunks[0];
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return out;
  }

  /** Writes raw bytes on the current stream (TCP, or TLS after startTls). */
  write(data: Buffer): void {
    this.stream.write(data);
  }

  /** Reads exactly `n` bytes (waiting for them); throws if the server closes first. */
  async read(n: number, timeoutMs = 10_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (this.buffered < n) {
      if (this.ended) throw new Error(`server closed the connection with ${this.buffered} of ${n} bytes read`);
      if (Date.now() > deadline) throw new Error(`Timed out reading ${n} bytes (have ${this.buffered})`);
      await sleep(5);
    }
    return this.take(n);
  }

  /** The next whole frame the server sent (TPKT or fast-path). */
  async readFrame(timeoutMs = 10_000): Promise<ServerFrame> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const length = serverFrameLength(this.peek(4));
      if (length !== undefined && this.buffered >= length) {
        const data = this.take(length);
        const fastPath = data[0] !== 3;
        if (fastPath) this.onFastPathOutput(data);
        return { fastPath, data };
      }
      if (this.ended) throw new Error(`server closed the connection (${this.buffered} bytes of a frame buffered)`);
      if (Date.now() > deadline) throw new Error(`Timed out reading a frame (have ${this.buffered} bytes)`);
      await sleep(5);
    }
  }

  /**
   * Accounts for a fast-path output PDU [2.2.9.1.2]: fpOutputHeader (action 0; no checksum or
   * encryption under TLS), length (1 or 2 bytes), then updates, each updateHeader (updateCode
   * in bits 0–3, fragmentation in 4–5, compression in 6–7: then a compressionFlags byte), size
   * (16 bits) and data. Reassembled bitmap updates [2.2.9.1.1.3.1.2] add up their rectangles;
   * reassembled surface commands updates go to onSurfaceCommands.
   */
  private onFastPathOutput(frame: Buffer): void {
    this.fastPathFrames++;
    this.fastPathBytes += frame.length;
    this.bytesSinceUpdate += frame.length;
    if (frame[0] & 0xc0) throw new Error(`fast-path output header 0x${frame[0].toString(16)}: checksum or encryption flags under TLS`);
    let pos = frame[1] & 0x80 ? 3 : 2;
    while (pos < frame.length) {
      const updateHeader = frame[pos++];
      // FASTPATH_OUTPUT_COMPRESSION_USED (2 in bits 6–7): a compressionFlags byte follows.
      const compressionFlags = updateHeader >> 6 === 2 ? frame[pos++] : 0;
      const size = frame.readUInt16LE(pos);
      pos += 2;
      let chunk = frame.subarray(pos, pos + size);
      pos += size;
      if (compressionFlags) {
        if (!this.mppc) throw new Error(`fast-path update with compressionFlags 0x${compressionFlags.toString(16)}, but no compression was announced`);
        chunk = this.mppc.decompress(chunk, compressionFlags);
        if (compressionFlags & PACKET_COMPRESSED) {
          this.bulk.packets++;
          this.bulk.compressedBytes += size;
          this.bulk.decompressedBytes += chunk.length;
        }
      }
      const fragmentation = (updateHeader >> 4) & 0x3; // 0 single, 1 last, 2 first, 3 next
      if (fragmentation === 2) this.fragments = [];
      if (fragmentation !== 0) this.fragments.push(chunk);
      if (fragmentation > 1) continue;
      const data = fragmentation === 0 ? chunk : Buffer.concat(this.fragments);
      const updateCode = updateHeader & 0x0f;
      if (updateCode === FASTPATH_UPDATETYPE_SURFCMDS) {
        this.onSurfaceCommands(data);
        continue;
      }
      if (updateCode === FASTPATH_UPDATETYPE_ORDERS) {
        // Drawing orders [2.2.9.1.2.1.2] (numberOrders, then orders; not decoded): an update of
        // their own, unless bitmaps follow in the same read (then one update with them).
        const record = { us: nowUs(), bytes: this.bytesSinceUpdate, rects: data.readUInt16LE(0), pixels: 0 };
        this.records?.push(record);
        this.ordersRecord = { record, event: this.dataEvents };
        this.bytesSinceUpdate = 0;
        continue;
      }
      if (updateCode !== FASTPATH_UPDATETYPE_BITMAP) continue; // bitmaps, orders and surface commands only
      const pixels = bitmapUpdatePixels(data);
      this.bitmapPixels += pixels;
      const withOrders = this.ordersRecord?.event === this.dataEvents ? this.ordersRecord.record : undefined;
      this.ordersRecord = undefined;
      if (withOrders) {
        withOrders.us = nowUs();
        withOrders.bytes += this.bytesSinceUpdate;
        withOrders.rects += data.readUInt16LE(2);
        withOrders.pixels += pixels;
      } else {
        this.records?.push({ us: nowUs(), bytes: this.bytesSinceUpdate, rects: data.readUInt16LE(2), pixels });
      }
      this.bytesSinceUpdate = 0;
    }
  }

  /**
   * Accounts for a reassembled surface commands update [2.2.9.1.2.1.10]: a sequence of
   * TS_FRAME_MARKER [2.2.9.2.3] (cmdType, frameAction, frameId) and TS_SURFCMD_SET_SURF_BITS /
   * TS_SURFCMD_STREAM_SURF_BITS [2.2.9.2.1, 2.2.9.2.2] (cmdType, destLeft, destTop, destRight,
   * destBottom — right and bottom exclusive — then TS_BITMAP_DATA_EX [2.2.9.2.1.1]: bpp, flags,
   * reserved, codecID, width, height, bitmapDataLength (32 bits), a 24-byte
   * TS_COMPRESSED_BITMAP_HEADER_EX when flags has EX_COMPRESSED_BITMAP_HEADER_PRESENT, and
   * bitmapData). One update record per frame (BEGIN … END markers, which may span several
   * updates), or per surface commands update that carries surface bits outside a frame. Its
   * rectangles and pixels: RemoteFX's TS_RFX_REGION (read, not decoded; a frame split over
   * several commands repeats the whole region in each, so the first counts), else the
   * destination rectangle of each command.
   */
  private onSurfaceCommands(data: Buffer): void {
    this.surface.updates++;
    let pos = 0;
    while (pos < data.length) {
      const cmdType = data.readUInt16LE(pos);
      if (cmdType === CMDTYPE_FRAME_MARKER) {
        const frameAction = data.readUInt16LE(pos + 2);
        pos += 8;
        if (frameAction === SURFACECMD_FRAMEACTION_BEGIN) {
          if (this.surfaceFrame && !this.surfaceFrame.open) this.recordSurfaceUpdate(this.surfaceFrame); // bits before it, outside a frame
          this.surfaceFrame = { open: true, rects: 0, pixels: 0, rfxRegion: false, bits: 0 };
        } else if (frameAction === SURFACECMD_FRAMEACTION_END) {
          this.surface.frames++;
          const frame = this.surfaceFrame;
          this.surfaceFrame = undefined;
          if (frame && frame.bits > 0) this.recordSurfaceUpdate(frame);
        } else throw new Error(`surface frame marker with frameAction ${frameAction}`);
        continue;
      }
      if (cmdType !== CMDTYPE_SET_SURFACE_BITS && cmdType !== CMDTYPE_STREAM_SURFACE_BITS) {
        throw new Error(`surface command type 0x${cmdType.toString(16)}`);
      }
      const [left, top, right, bottom] = [2, 4, 6, 8].map((o) => data.readUInt16LE(pos + o));
      const flags = data[pos + 11];
      const codecId = data[pos + 13];
      const length = data.readUInt32LE(pos + 18);
      const start = pos + 22 + (flags & 0x01 ? 24 : 0); // EX_COMPRESSED_BITMAP_HEADER_PRESENT
      pos = start + length;
      if (pos > data.length) throw new Error(`surface bits of ${length} bytes run past the end of the update`);
      this.surface.commands++;
      this.surface.bytes += length;
      const region = codecId === REMOTEFX_CODEC_ID ? remoteFxRegion(data.subarray(start, pos)) : undefined;
      const frame = this.surfaceFrame ?? (this.surfaceFrame = { open: false, rects: 0, pixels: 0, rfxRegion: false, bits: 0 });
      frame.bits++;
      if (region) {
        if (frame.rfxRegion) continue; // the same region again (one frame in several commands)
        frame.rfxRegion = true;
        frame.rects += region.rects;
        frame.pixels += region.pixels;
      } else {
        frame.rects++;
        frame.pixels += (right - left) * (bottom - top);
      }
    }
    // Surface bits outside a BEGIN … END frame: this update is the unit.
    if (this.surfaceFrame && !this.surfaceFrame.open) {
      this.recordSurfaceUpdate(this.surfaceFrame);
      this.surfaceFrame = undefined;
    }
  }

  private recordSurfaceUpdate(frame: { rects: number; pixels: number }): void {
    this.surface.pixels += frame.pixels;
    this.records?.push({ us: nowUs(), bytes: this.bytesSinceUpdate, rects: frame.rects, pixels: frame.pixels });
    this.bytesSinceUpdate = 0;
  }

  /**
   * The user data of the next MCS Send Data Indication (on any channel), skipping fast-path
   * output. A Disconnect Provider Ultimatum or anything else is an error.
   */
  async readSendDataIndication(timeoutMs = 10_000): Promise<Buffer> {
    for (;;) {
      const frame = await this.readFrame(timeoutMs);
      if (frame.fastPath) continue;
      const mcs = x224Payload(frame.data);
      const choice = mcs[0] >> 2;
      if (choice !== DomainPdu.SEND_DATA_INDICATION) throw new Error(`expected an MCS Send Data Indication, got DomainMCSPDU choice ${choice}`);
      // initiator (2), channelId (2), priority/segmentation (1), then a PER length determinant.
      const long = (mcs[6] & 0x80) !== 0;
      const length = long ? mcs.readUInt16BE(6) & 0x7fff : mcs[6];
      const start = long ? 8 : 7;
      return mcs.subarray(start, start + length);
    }
  }

  /** Upgrades the connection to TLS (after the Connection Confirm), accepting any certificate. */
  async startTls(): Promise<void> {
    if (this.buffered !== 0) throw new Error(`${this.buffered} bytes unread before TLS`);
    this.socket.off('data', this.onData);
    const tls = await new Promise<TLSSocket>((resolve, reject) => {
      const s = tlsConnect({ socket: this.socket, rejectUnauthorized: false }, () => {
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
    tls.on('data', this.onData);
    tls.on('error', () => undefined); // 'close' follows
    tls.once('close', this.markClosed);
    this.stream = tls;
  }

  // ---- The connection sequence, step by step [1.3.1.1] -----------------------------------------

  /** X.224 Connection Request with RDP_NEG_REQ (TLS); returns the 19-byte Connection Confirm. */
  async requestConnection(): Promise<Buffer> {
    this.write(x224ConnectionRequest());
    const cc = await this.read(19);
    // TPKT 4, LI, CC code, DST-REF, SRC-REF, class (7), then RDP_NEG_RSP: type, flags, length, protocol.
    if (cc[5] !== 0xd0 || cc[11] !== TYPE_RDP_NEG_RSP || cc.readUInt32LE(15) !== PROTOCOL_SSL) {
      throw new Error(`unexpected Connection Confirm ${cc.toString('hex')}`);
    }
    return cc;
  }

  /** Connection Request, Connection Confirm, TLS. */
  async negotiate(): Promise<void> {
    await this.requestConnection();
    await this.startTls();
  }

  /** MCS Connect Initial with `clientBlocks` (default: core, security, network); reads the Connect Response. */
  async connectMcs(clientBlocks = defaultClientBlocks()): Promise<void> {
    this.write(x224Data(mcsConnectInitial(gccConferenceCreateRequest(clientBlocks))));
    const mcs = x224Payload((await this.readFrame()).data);
    if (mcs[0] !== 0x7f || mcs[1] !== 0x66) throw new Error(`expected an MCS Connect-Response, got ${mcs.subarray(0, 8).toString('hex')}`);
  }

  /** Erect Domain, Attach User; reads the Attach User Confirm and returns the user id it gives. */
  async attachUser(): Promise<number> {
    this.write(x224Data(mcsErectDomainRequest()));
    this.write(x224Data(mcsAttachUserRequest()));
    const mcs = x224Payload((await this.readFrame()).data);
    // choice (6 bits), initiator present (1 bit), result (4 bits), padding, initiator (16 bits).
    const result = ((mcs[0] & 0x01) << 3) | (mcs[1] >> 5);
    if (mcs[0] >> 2 !== DomainPdu.ATTACH_USER_CONFIRM || !(mcs[0] & 0x02) || result !== 0) {
      throw new Error(`unexpected Attach User Confirm ${mcs.toString('hex')}`);
    }
    this.userId = MCS_USER_ID_BASE + mcs.readUInt16BE(2);
    return this.userId;
  }

  /** Channel Join Requests for the user channel and the I/O channel; each confirm must succeed. */
  async joinChannels(channels = [this.userId, MCS_IO_CHANNEL_ID]): Promise<void> {
    for (const channel of channels) {
      this.write(x224Data(mcsChannelJoinRequest(this.userId, channel)));
      const mcs = x224Payload((await this.readFrame()).data);
      // choice, channelId present, result (4 bits), padding, initiator, requested, channelId.
      const result = ((mcs[0] & 0x01) << 3) | (mcs[1] >> 5);
      if (mcs[0] >> 2 !== DomainPdu.CHANNEL_JOIN_CONFIRM || result !== 0 || mcs.readUInt16BE(6) !== channel) {
        throw new Error(`channel ${channel}: unexpected Channel Join Confirm ${mcs.toString('hex')}`);
      }
    }
  }

  /** MCS ids of the static channels asked for in activate(), in the same order. */
  staticChannelIds: number[] = [];

  /** One whole message on static channel `index` (of activate's `channels`), in a single chunk
   * (CHANNEL_PDU_HEADER [2.2.6.1.1]: length, flags FIRST|LAST). */
  sendOnStaticChannel(index: number, message: Buffer): void {
    const chunk = cat(u32le(message.length), u32le(0x03), message);
    this.write(x224Data(mcsSendDataRequest(this.userId, this.staticChannelIds[index], chunk)));
  }

  /** `data` in an MCS Send Data Request from this user on the I/O channel. */
  sendOnIoChannel(data: Buffer): void {
    this.write(x224Data(mcsSendDataRequest(this.userId, MCS_IO_CHANNEL_ID, data)));
  }

  /** The Client Info PDU with a user name and password. */
  sendClientInfo(userName = 'raw-rdp', password = 'secret'): void {
    this.sendOnIoChannel(clientInfoPdu({ userName, password }));
  }

  /** Reads the licensing PDU and the Demand Active; learns the share id and the desktop size. */
  async readLicenseAndDemandActive(): Promise<void> {
    const license = await this.readSendDataIndication();
    if (!(license.readUInt16LE(0) & SEC_LICENSE_PKT)) throw new Error(`expected a licensing PDU, got ${license.subarray(0, 8).toString('hex')}`);
    const demand = await this.readSendDataIndication(30_000);
    if ((demand.readUInt16LE(2) & 0xf) !== PDUTYPE_DEMANDACTIVEPDU) throw new Error(`expected a Demand Active, got ${demand.subarray(0, 8).toString('hex')}`);
    // Share Control Header 6, shareId 4, lengthSourceDescriptor 2, lengthCombinedCapabilities 2,
    // sourceDescriptor, numberCapabilities 2, pad2Octets 2, then the sets.
    this.shareId = demand.readUInt32LE(6);
    let pos = 14 + demand.readUInt16LE(10);
    const count = demand.readUInt16LE(pos);
    pos += 4;
    for (let i = 0; i < count; i++) {
      const type = demand.readUInt16LE(pos);
      if (type === 0x02) this.desktop = { width: demand.readUInt16LE(pos + 12), height: demand.readUInt16LE(pos + 14) };
      pos += demand.readUInt16LE(pos + 2);
    }
  }

  /** A Data PDU (Share Data Header) with `body` on the I/O channel. */
  sendShareData(pduType2: number, body: Buffer): void {
    this.sendOnIoChannel(shareDataPdu(this.shareId, this.userId, pduType2, body));
  }

  /** Confirm Active, then Synchronize, Control Cooperate, Control Request Control, Font List; reads up to the Font Map. */
  /** With `remoteFx`, the Confirm Active offers RemoteFX surface commands (see confirmActivePdu). */
  async confirmAndFinalize(bpp = 32, o: { remoteFx?: boolean; orders?: boolean } = {}): Promise<void> {
    this.sendOnIoChannel(confirmActivePdu({ shareId: this.shareId, userId: this.userId, ...this.desktop, bpp, remoteFx: o.remoteFx, orders: o.orders }));
    this.sendShareData(PduType2.SYNCHRONIZE, cat(u16le(1) /* SYNCMSGTYPE_SYNC */, u16le(SERVER_CHANNEL_ID) /* targetUser */));
    const control = (action: number) => cat(u16le(action), u16le(0) /* grantId */, u32le(0) /* controlId */);
    this.sendShareData(PduType2.CONTROL, control(4)); // CTRLACTION_COOPERATE
    this.sendShareData(PduType2.CONTROL, control(1)); // CTRLACTION_REQUEST_CONTROL
    // numberFonts 0, totalNumFonts 0, listFlags FONTLIST_FIRST | FONTLIST_LAST, entrySize 50.
    this.sendShareData(PduType2.FONTLIST, cat(u16le(0), u16le(0), u16le(0x0003), u16le(0x0032)));
    for (;;) {
      const pdu = await this.readSendDataIndication();
      if (sharePduType2(pdu) === PduType2.FONTMAP) return;
    }
  }

  /** The whole connection sequence up to the active session (graphics follow as fast-path output). */
  /**
   * `compression`: announce bulk compression up to that type (PACKET_COMPR_TYPE_*); this client
   * decompresses MPPC (8K, 64K) and RDP 6.1 (XCRUSH), so a server that answers with RDP 6.0
   * (NCRUSH) is an error.
   * `remoteFx`: the Confirm Active also offers RemoteFX (Bitmap Codecs) with surface commands
   * (Surface Commands: set/stream surface bits, frame markers; no Frame Acknowledge); a server
   * that takes it (at 32 bpp) sends surface commands instead of bitmap updates, which the
   * update counting (recordUpdates, `surface`) counts as updates too.
   */
  async activate(
    o: { userName?: string; password?: string; bpp?: 16 | 24 | 32; channels?: string[]; compression?: number; earlyCapabilityFlags?: number; remoteFx?: boolean; orders?: boolean } = {},
  ): Promise<void> {
    const channels = o.channels ?? [];
    await this.negotiate();
    await this.connectMcs(defaultClientBlocks(o.bpp, channels, o.earlyCapabilityFlags));
    await this.attachUser();
    // The server numbers static channels from 1004 in the order the client listed them.
    this.staticChannelIds = channels.map((_, i) => MCS_IO_CHANNEL_ID + 1 + i);
    await this.joinChannels([this.userId, MCS_IO_CHANNEL_ID, ...this.staticChannelIds]);
    if (o.compression !== undefined) this.mppc = new BulkReceiver();
    this.sendOnIoChannel(clientInfoPdu({ userName: o.userName ?? 'raw-rdp', password: o.password ?? 'secret', compression: o.compression }));
    await this.readLicenseAndDemandActive();
    await this.confirmAndFinalize(o.bpp, { remoteFx: o.remoteFx, orders: o.orders });
  }

  /**
   * From now on every frame is read as soon as it arrives (no polling delay), and each complete
   * bitmap update (or surface commands frame, see onSurfaceCommands) is recorded with its
   * arrival time (µs, wall clock: QEMU's `-msg timestamp` clock) — for benchmarks. Frames are no
   * longer available to readFrame.
   */
  recordUpdates(): UpdateRecord[] {
    const records: UpdateRecord[] = [];
    this.records = records;
    this.drainFrames();
    return records;
  }

  private drainFrames(): void {
    for (;;) {
      const length = serverFrameLength(this.peek(4));
      if (length === undefined || this.buffered < length) return;
      const data = this.take(length);
      if (data[0] !== 3) this.onFastPathOutput(data);
      else this.onSlowPathFrame?.(data);
    }
  }

  /** Reads (and drops) frames for `ms`; returns the fast-path output frames, bytes and bitmap pixels among them. */
  async countOutput(ms: number): Promise<{ frames: number; bytes: number; pixels: number }> {
    const before = { frames: this.fastPathFrames, bytes: this.fastPathBytes, pixels: this.bitmapPixels };
    const deadline = Date.now() + ms;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      try {
        await this.readFrame(left);
      } catch (err) {
        if (this.ended) throw err;
        break; // timed out: nothing more came
      }
    }
    return { frames: this.fastPathFrames - before.frames, bytes: this.fastPathBytes - before.bytes, pixels: this.bitmapPixels - before.pixels };
  }

  /** Stops reading from the socket: what the server sends piles up in its buffers and the kernel's. */
  stopReading(): void {
    this.stream.pause();
  }

  /** Resolves true once the server has closed the connection, false after `timeoutMs`. */
  async waitClosed(timeoutMs = 10_000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([
      this.closed.then(() => true),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    return result;
  }

  destroy(): void {
    this.stream.destroy();
    this.socket.destroy();
  }
}

// ---- Bulk decompression (MPPC, [3.1.8]) --------------------------------------------------------

/**
 * The receiving end of MPPC [3.1.8.3, 3.1.8.4]: a 64 KiB history (RDP 5.0; 8 KiB for RDP 4.0,
 * chosen per packet by the type in its flags), literals and copy-tuples read most significant
 * bit first; fewer than 8 bits left at the end are padding. A copy reads from (position −
 * offset) modulo the history size, byte by byte (a replicating copy).
 */
class MppcReceiver {
  private readonly history = Buffer.alloc(65536);
  private pos = 0;

  decompress(data: Buffer, flags: number): Buffer {
    if (flags & PACKET_FLUSHED) {
      this.history.fill(0); // [3.1.8.3]: zero it, back to offset 0, before anything else
      this.pos = 0;
    }
    if (flags & PACKET_AT_FRONT) this.pos = 0;
    if (!(flags & PACKET_COMPRESSED)) return data; // plain data stays outside the history
    const type = flags & 0x0f;
    if (type !== PACKET_COMPR_TYPE_8K && type !== PACKET_COMPR_TYPE_64K) throw new Error(`bulk compression type ${type}: this client decodes MPPC only`);
    const rdp5 = type === PACKET_COMPR_TYPE_64K;
    const size = rdp5 ? 65536 : 8192;
    const h = this.history;
    const start = this.pos;
    let p = start;
    let bit = 0;
    const end = data.length * 8;
    const take = (n: number): number => {
      if (bit + n > end) throw new Error('MPPC: the bit stream ends inside a symbol');
      let v = 0;
      for (let i = 0; i < n; i++, bit++) v = (v << 1) | ((data[bit >> 3] >> (7 - (bit & 7))) & 1);
      return v;
    };
    /** Leading 1 bits (at most `max`); the 0 that ends them is read too. */
    const ones = (max: number): number => {
      let n = 0;
      while (n < max && take(1)) n++;
      return n;
    };
    while (end - bit >= 8) {
      if (p >= size) throw new Error('MPPC: output past the end of the history');
      if (!take(1)) {
        h[p++] = take(7); // 0 + 7 bits: a literal below 0x80
        continue;
      }
      if (!take(1)) {
        h[p++] = 0x80 | take(7); // 10 + 7 bits: a literal from 0x80
        continue;
      }
      // 11…: a copy-offset [3.1.8.4.1.2.1 (8K), 3.1.8.4.2.2.1 (64K)].
      let offset: number;
      if (rdp5) {
        const n = ones(3); // 110, 1110, 11110, 11111
        offset = [() => take(16) + 2368, () => take(11) + 320, () => take(8) + 64, () => take(6)][n]();
      } else {
        const n = ones(2); // 110, 1110, 1111
        offset = [() => take(13) + 320, () => take(8) + 64, () => take(6)][n]();
      }
      // Length-of-match: 0 → 3; otherwise k−1 ones, a zero, k bits: 2^k + those bits.
      const k = ones(rdp5 ? 15 : 12) + 1;
      if (k > (rdp5 ? 15 : 12)) throw new Error('MPPC: bad length-of-match');
      const length = k === 1 ? 3 : (1 << k) + take(k);
      let src = (p - offset) & (size - 1);
      if (p + length > size || src + length > size) throw new Error('MPPC: copy past the end of the history');
      for (let i = 0; i < length; i++) h[p++] = h[src++];
    }
    this.pos = p;
    return Buffer.from(h.subarray(start, p));
  }
}

/** Level1ComprFlags of RDP 6.1 (XCRUSH) [MS-RDPEGDI 2.2.2.4.1]. */
const L1_COMPRESSED = 0x01;
const L1_NO_COMPRESSION = 0x02;
const L1_PACKET_AT_FRONT = 0x04;
/** The level-1 history of RDP 6.1 [MS-RDPEGDI 3.1.8.2.1]. */
const RDP61_HISTORY = 2_000_000;

/**
 * Picks the decompressor by each packet's type: MPPC, or RDP 6.1 [MS-RDPEGDI 3.1.8.2.3] —
 * Level1ComprFlags, Level2ComprFlags, then data that MPPC 64K (a history of its own) inflates
 * when Level2ComprFlags says PACKET_COMPRESSED; the result is level-1 data: literals only
 * (L1_NO_COMPRESSION), or MatchCount, 8-byte RDP61_MATCH_DETAILS (MatchLength,
 * MatchOutputOffset, MatchHistoryOffset) and the literals between the matches.
 */
class BulkReceiver {
  private readonly mppc = new MppcReceiver();
  private readonly level2 = new MppcReceiver();
  private readonly history = Buffer.alloc(RDP61_HISTORY);
  private pos = 0;

  decompress(data: Buffer, flags: number): Buffer {
    if ((flags & 0x0f) !== PACKET_COMPR_TYPE_RDP61) return this.mppc.decompress(data, flags);
    if (flags & PACKET_FLUSHED) {
      this.history.fill(0);
      this.pos = 0;
    }
    if (!(flags & PACKET_COMPRESSED)) return data;
    const l1Flags = data[0];
    const l2Flags = data[1];
    const l1 = l2Flags & PACKET_COMPRESSED ? this.level2.decompress(data.subarray(2), (l2Flags & 0xf0) | PACKET_COMPR_TYPE_64K) : data.subarray(2);
    if (l1Flags & L1_PACKET_AT_FRONT) this.pos = 0;
    const start = this.pos;
    const put = (bytes: Buffer) => {
      if (this.pos + bytes.length >= RDP61_HISTORY) throw new Error('RDP 6.1: past the end of the level-1 history');
      this.pos += bytes.copy(this.history, this.pos);
    };
    if (l1Flags & L1_NO_COMPRESSION) put(l1);
    else if (l1Flags & L1_COMPRESSED) {
      const count = l1.readUInt16LE(0);
      let literals = 2 + 8 * count;
      let done = 0; // output bytes so far
      for (let i = 0; i < count; i++) {
        const length = l1.readUInt16LE(2 + 8 * i);
        const outputOffset = l1.readUInt16LE(4 + 8 * i);
        const historyOffset = l1.readUInt32LE(6 + 8 * i);
        if (outputOffset < done) throw new Error('RDP 6.1: matches out of order');
        put(l1.subarray(literals, literals + outputOffset - done));
        literals += outputOffset - done;
        put(Buffer.from(this.history.subarray(historyOffset, historyOffset + length)));
        done = outputOffset + length;
      }
      put(l1.subarray(literals));
    } else throw new Error(`RDP 6.1: Level1ComprFlags 0x${l1Flags.toString(16)}`);
    return Buffer.from(this.history.subarray(start, this.pos));
  }
}
