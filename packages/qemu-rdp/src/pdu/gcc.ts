// T.124 GCC Conference Create Request / Response as RDP uses them (T.124 §8.7 and §9.5–9.6 in
// ALIGNED PER; MS-RDPBCGR 2.2.1.3 and 2.2.1.4): a ConnectData keyed by the T.124 object identifier
// whose connectPDU holds one UserData set keyed by H.221 "Duca" (client to server) or "McDn"
// (server to client). That user data is the list of RDP settings blocks, each a TS_UD_HEADER
// (type, length including the header) and a body: client core, security, network, cluster,
// monitor, message channel, monitor extended, multitransport (2.2.1.3.2–2.2.1.3.10), and the
// server's core, network, security and message channel blocks (2.2.1.4.2–2.2.1.4.5).
import { ReadCursor, WriteCursor } from './cursor.js';
import { RdpProtocolError } from './errors.js';
import { PerReader, PerWriter } from './per.js';

/** T.124 version 1 identifier {itu-t(0) recommendation(0) t(20) t124(124) version(0) 1}, BER contents. */
const T124_OBJECT_ID = Buffer.from([0x00, 0x14, 0x7c, 0x00, 0x01]);
const H221_CLIENT_KEY = Buffer.from('Duca', 'latin1');
const H221_SERVER_KEY = Buffer.from('McDn', 'latin1');
/** The nodeID and tag Windows answers with (MS-RDPBCGR 4.1.4). */
const RESPONSE_NODE_ID = 0x79f3;
const RESPONSE_TAG = 1;

// ConnectGCCPDU: 8 root alternatives and an extension marker.
const CONNECT_GCC_PDU_CHOICES = 8;
const CONFERENCE_CREATE_REQUEST = 0;
const CONFERENCE_CREATE_RESPONSE = 1;
/** ConferenceCreateRequest has 8 OPTIONAL fields; userData is the last. */
const CREATE_REQUEST_OPTIONALS = 8;
const CREATE_REQUEST_USER_DATA_PRESENT = 0x01;
const MAX_USER_DATA_SETS = 8;

// TS_UD_HEADER types.
export const CS_CORE = 0xc001;
export const CS_SECURITY = 0xc002;
export const CS_NET = 0xc003;
export const CS_CLUSTER = 0xc004;
export const CS_MONITOR = 0xc005;
export const CS_MCS_MSGCHANNEL = 0xc006;
export const CS_MONITOR_EX = 0xc008;
export const CS_MULTITRANSPORT = 0xc00a;
export const SC_CORE = 0x0c01;
export const SC_SECURITY = 0x0c02;
export const SC_NET = 0x0c03;
export const SC_MCS_MSGCHANNEL = 0x0c04;

/** RDP versions for core data blocks. */
export const RDP_VERSION_5_PLUS = 0x00080004;
export const RDP_VERSION_10_7 = 0x0008000c;

/** Client earlyCapabilityFlags (CS_CORE). */
export const RNS_UD_CS_SUPPORT_ERRINFO_PDU = 0x0001;
export const RNS_UD_CS_WANT_32BPP_SESSION = 0x0002;
export const RNS_UD_CS_SUPPORT_STATUSINFO_PDU = 0x0004;
export const RNS_UD_CS_STRONG_ASYMMETRIC_KEYS = 0x0008;
export const RNS_UD_CS_VALID_CONNECTION_TYPE = 0x0020;
export const RNS_UD_CS_SUPPORT_MONITOR_LAYOUT_PDU = 0x0040;
export const RNS_UD_CS_SUPPORT_NETCHAR_AUTODETECT = 0x0080;
export const RNS_UD_CS_SUPPORT_DYNVC_GFX_PROTOCOL = 0x0100;
export const RNS_UD_CS_SUPPORT_DYNAMIC_TIME_ZONE = 0x0200;
export const RNS_UD_CS_SUPPORT_HEARTBEAT_PDU = 0x0400;
export const RNS_UD_CS_SUPPORT_SKIP_CHANNELJOIN = 0x0800;

/** Server earlyCapabilityFlags (SC_CORE). */
export const RNS_UD_SC_EDGE_ACTIONS_SUPPORTED_V1 = 0x0001;
export const RNS_UD_SC_DYNAMIC_DST_SUPPORTED = 0x0002;
export const RNS_UD_SC_EDGE_ACTIONS_SUPPORTED_V2 = 0x0004;
export const RNS_UD_SC_SKIP_CHANNELJOIN_SUPPORTED = 0x0008;

/** Static virtual channels a client may request (MS-RDPBCGR 2.2.1.3.4). */
export const MAX_STATIC_CHANNELS = 31;
/** Monitors a client may describe (2.2.1.3.6, 2.2.1.3.9). */
export const MAX_MONITORS = 16;
const MAX_CLIENT_DATA_BLOCKS = 32;
const MONITOR_DEF_LENGTH = 20;
const MONITOR_ATTRIBUTES_LENGTH = 20;

/** TS_UD_CS_CORE. Fields after imeFileName are present only if the client sent them. */
export interface ClientCoreData {
  version: number;
  desktopWidth: number;
  desktopHeight: number;
  colorDepth: number;
  sasSequence: number;
  keyboardLayout: number;
  clientBuild: number;
  clientName: string;
  keyboardType: number;
  keyboardSubType: number;
  keyboardFunctionKey: number;
  imeFileName: string;
  postBeta2ColorDepth?: number;
  clientProductId?: number;
  serialNumber?: number;
  highColorDepth?: number;
  supportedColorDepths?: number;
  earlyCapabilityFlags?: number;
  clientDigProductId?: string;
  connectionType?: number;
  serverSelectedProtocol?: number;
  desktopPhysicalWidth?: number;
  desktopPhysicalHeight?: number;
  desktopOrientation?: number;
  desktopScaleFactor?: number;
  deviceScaleFactor?: number;
}

export interface ChannelDef {
  /** Up to 7 ASCII characters. */
  name: string;
  options: number;
}

export interface MonitorDef {
  left: number;
  top: number;
  right: number;
  bottom: number;
  flags: number;
}

export interface MonitorAttributes {
  physicalWidth: number;
  physicalHeight: number;
  orientation: number;
  desktopScaleFactor: number;
  deviceScaleFactor: number;
}

export interface ClientGccData {
  core: ClientCoreData;
  /** CS_SECURITY; encryption methods 0 if the block was missing. */
  security: { encryptionMethods: number; extEncryptionMethods: number };
  /** CS_NET channel definitions, in order (the server gives them ids in the same order). */
  channels: ChannelDef[];
  cluster?: { flags: number; redirectedSessionId: number };
  monitors?: { flags: number; monitors: MonitorDef[] };
  monitorAttributes?: MonitorAttributes[];
  /** CS_MCS_MSGCHANNEL flags, if the client supports the message channel. */
  messageChannelFlags?: number;
  multitransportFlags?: number;
  /** Types of blocks this parser skipped. */
  unknownBlockTypes: number[];
}

/** Decodes UTF-16LE up to the first NUL code unit. */
function utf16z(buf: Buffer): string {
  let end = 0;
  while (end + 1 < buf.length && (buf[end] !== 0 || buf[end + 1] !== 0)) end += 2;
  return buf.toString('utf16le', 0, end);
}

function asciiz(buf: Buffer): string {
  const nul = buf.indexOf(0);
  return buf.toString('latin1', 0, nul < 0 ? buf.length : nul);
}

/**
 * Parses the MCS Connect-Initial userData: a T.124 ConnectData with a ConferenceCreateRequest,
 * then the client settings blocks (MS-RDPBCGR 2.2.1.3).
 */
export function decodeConferenceCreateRequest(userData: Buffer): ClientGccData {
  return decodeClientDataBlocks(readConferenceCreateRequestUserData(userData));
}

/** The "Duca" user data of a ConferenceCreateRequest: the concatenated client settings blocks. */
export function readConferenceCreateRequestUserData(userData: Buffer): Buffer {
  const r = new PerReader(userData, 'GCC ConnectData');
  if (r.index(2, false, 'Key') !== 0) throw new RdpProtocolError('RDP_ERR_UNEXPECTED', 'GCC ConnectData: key is not an object identifier');
  if (!r.objectIdentifier('t124Identifier').equals(T124_OBJECT_ID)) {
    throw new RdpProtocolError('RDP_ERR_UNEXPECTED', 'GCC ConnectData: not the T.124 identifier');
  }
  const p = new PerReader(r.octetString('connectPDU', userData.length), 'GCC ConferenceCreateRequest');
  if (p.index(CONNECT_GCC_PDU_CHOICES, true, 'ConnectGCCPDU') !== CONFERENCE_CREATE_REQUEST) {
    throw new RdpProtocolError('RDP_ERR_UNEXPECTED', 'GCC: not a ConferenceCreateRequest');
  }
  p.bits(1); // extension bit: additions would follow the root fields, which is all we read
  const optionals = p.bits(CREATE_REQUEST_OPTIONALS);
  if (optionals !== CREATE_REQUEST_USER_DATA_PRESENT) {
    throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `GCC ConferenceCreateRequest: optional fields 0x${optionals.toString(16)}, expected userData only`);
  }
  // conferenceName: SEQUENCE { numeric, text OPTIONAL, ..., unicodeText }
  if (p.bool()) throw new RdpProtocolError('RDP_ERR_UNEXPECTED', 'GCC ConferenceName: extension additions');
  const hasText = p.bool();
  p.numericString(1, 255, 'conferenceName');
  if (hasText) {
    const chars = p.constrainedWholeNumber(0, 255, 'conferenceName text length');
    p.octets(chars * 2);
  }
  p.bits(3); // lockedConference, listedConference, conductibleConference
  p.index(2, true, 'terminationMethod');

  const sets = p.lengthDeterminant();
  if (sets < 1 || sets > MAX_USER_DATA_SETS) {
    throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `GCC UserData: ${sets} sets`);
  }
  let clientData: Buffer | undefined;
  for (let i = 0; i < sets; i++) {
    const hasValue = p.bool();
    const keyIsH221 = p.index(2, false, 'UserData key') === 1;
    const key = keyIsH221 ? p.octetString('h221NonStandard', 255, 4, 255) : p.objectIdentifier('UserData key');
    const value = hasValue ? p.octetString('UserData value', userData.length) : undefined;
    if (keyIsH221 && key.equals(H221_CLIENT_KEY) && value && !clientData) clientData = value;
  }
  if (!clientData) throw new RdpProtocolError('RDP_ERR_UNEXPECTED', 'GCC ConferenceCreateRequest: no "Duca" user data');
  return clientData;
}

/** Parses concatenated client settings blocks (MS-RDPBCGR 2.2.1.3.1–2.2.1.3.10). */
export function decodeClientDataBlocks(blocks: Buffer): ClientGccData {
  const r = new ReadCursor(blocks, 'GCC client data');
  let core: ClientCoreData | undefined;
  const data: Omit<ClientGccData, 'core'> = {
    security: { encryptionMethods: 0, extEncryptionMethods: 0 },
    channels: [],
    unknownBlockTypes: [],
  };
  const seen = new Set<number>();
  for (let count = 0; r.remaining > 0; count++) {
    if (count === MAX_CLIENT_DATA_BLOCKS) throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', 'GCC client data: too many blocks');
    const type = r.u16le();
    const length = r.u16le();
    if (length < 4) throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `GCC client data block 0x${type.toString(16)}: length ${length}`);
    const body = r.sub(length - 4, `GCC client data block 0x${type.toString(16)}`);
    if (seen.has(type)) throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `GCC client data: block 0x${type.toString(16)} twice`);
    seen.add(type);
    switch (type) {
      case CS_CORE:
        core = readClientCore(body);
        break;
      case CS_SECURITY:
        data.security = { encryptionMethods: body.u32le(), extEncryptionMethods: body.u32le() };
        break;
      case CS_NET:
        data.channels = readClientNetwork(body);
        break;
      case CS_CLUSTER:
        data.cluster = { flags: body.u32le(), redirectedSessionId: body.u32le() };
        break;
      case CS_MONITOR:
        data.monitors = readClientMonitors(body);
        break;
      case CS_MCS_MSGCHANNEL:
        data.messageChannelFlags = body.u32le();
        break;
      case CS_MONITOR_EX:
        data.monitorAttributes = readClientMonitorAttributes(body);
        break;
      case CS_MULTITRANSPORT:
        data.multitransportFlags = body.u32le();
        break;
      default:
        data.unknownBlockTypes.push(type);
    }
  }
  if (!core) throw new RdpProtocolError('RDP_ERR_UNEXPECTED', 'GCC client data: no core data block');
  return { core, ...data };
}

function readClientCore(r: ReadCursor): ClientCoreData {
  const core: ClientCoreData = {
    version: r.u32le(),
    desktopWidth: r.u16le(),
    desktopHeight: r.u16le(),
    colorDepth: r.u16le(),
    sasSequence: r.u16le(),
    keyboardLayout: r.u32le(),
    clientBuild: r.u32le(),
    clientName: utf16z(r.bytes(32)),
    keyboardType: r.u32le(),
    keyboardSubType: r.u32le(),
    keyboardFunctionKey: r.u32le(),
    imeFileName: utf16z(r.bytes(64)),
  };
  // The optional tail: each field is there only if the block is long enough for it.
  if (r.remaining >= 2) core.postBeta2ColorDepth = r.u16le();
  if (r.remaining >= 2) core.clientProductId = r.u16le();
  if (r.remaining >= 4) core.serialNumber = r.u32le();
  if (r.remaining >= 2) core.highColorDepth = r.u16le();
  if (r.remaining >= 2) core.supportedColorDepths = r.u16le();
  if (r.remaining >= 2) core.earlyCapabilityFlags = r.u16le();
  if (r.remaining >= 64) core.clientDigProductId = utf16z(r.bytes(64));
  if (r.remaining >= 1) core.connectionType = r.u8();
  if (r.remaining >= 1) r.skip(1); // pad1octet
  if (r.remaining >= 4) core.serverSelectedProtocol = r.u32le();
  if (r.remaining >= 4) core.desktopPhysicalWidth = r.u32le();
  if (r.remaining >= 4) core.desktopPhysicalHeight = r.u32le();
  if (r.remaining >= 2) core.desktopOrientation = r.u16le();
  if (r.remaining >= 4) core.desktopScaleFactor = r.u32le();
  if (r.remaining >= 4) core.deviceScaleFactor = r.u32le();
  return core;
}

function readClientNetwork(r: ReadCursor): ChannelDef[] {
  const count = r.u32le();
  if (count > MAX_STATIC_CHANNELS) throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `GCC client network data: ${count} channels`);
  const channels: ChannelDef[] = [];
  for (let i = 0; i < count; i++) channels.push({ name: asciiz(r.bytes(8)), options: r.u32le() });
  return channels;
}

function readClientMonitors(r: ReadCursor): { flags: number; monitors: MonitorDef[] } {
  const flags = r.u32le();
  const count = r.u32le();
  if (count > MAX_MONITORS) throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `GCC client monitor data: ${count} monitors`);
  const monitors: MonitorDef[] = [];
  for (let i = 0; i < count; i++) {
    const m = r.sub(MONITOR_DEF_LENGTH);
    monitors.push({ left: m.u32le() | 0, top: m.u32le() | 0, right: m.u32le() | 0, bottom: m.u32le() | 0, flags: m.u32le() });
  }
  return { flags, monitors };
}

function readClientMonitorAttributes(r: ReadCursor): MonitorAttributes[] {
  r.u32le(); // flags, unused
  const size = r.u32le();
  const count = r.u32le();
  if (size !== MONITOR_ATTRIBUTES_LENGTH) throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `GCC client monitor extended data: attribute size ${size}`);
  if (count > MAX_MONITORS) throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `GCC client monitor extended data: ${count} monitors`);
  const attributes: MonitorAttributes[] = [];
  for (let i = 0; i < count; i++) {
    attributes.push({
      physicalWidth: r.u32le(),
      physicalHeight: r.u32le(),
      orientation: r.u32le(),
      desktopScaleFactor: r.u32le(),
      deviceScaleFactor: r.u32le(),
    });
  }
  return attributes;
}

export interface ServerGccData {
  core: {
    /** RDP_VERSION_5_PLUS or a later version. */
    version: number;
    /** The client's requestedProtocols from its X.224 Connection Request. */
    clientRequestedProtocols: number;
    /** RNS_UD_SC_* bits. */
    earlyCapabilityFlags: number;
  };
  network: {
    /** The I/O channel, conventionally MCS_IO_CHANNEL_ID (1003). */
    ioChannelId: number;
    /** One id per requested static channel, in the client's order. */
    channelIds: number[];
  };
  /** With TLS or CredSSP both are 0 and no server random or certificate follows. */
  security: { encryptionMethod: number; encryptionLevel: number };
  /** Send only if the client sent CS_MCS_MSGCHANNEL. */
  messageChannel?: { channelId: number };
}

function writeBlock(w: WriteCursor, type: number, body: (w: WriteCursor) => void): void {
  const start = w.pos;
  w.u16le(type).u16le(0);
  body(w);
  w.patchU16le(start + 2, w.pos - start);
}

/** The server settings blocks (MS-RDPBCGR 2.2.1.4.2–2.2.1.4.5), without the GCC wrapping. */
export function encodeServerDataBlocks(data: ServerGccData): Buffer {
  if (data.security.encryptionMethod !== 0 || data.security.encryptionLevel !== 0) {
    throw new RangeError('GCC: standard RDP security (server random, certificate) is not implemented');
  }
  if (data.network.channelIds.length > MAX_STATIC_CHANNELS) throw new RangeError('GCC: too many channels');
  const w = new WriteCursor();
  writeBlock(w, SC_CORE, (b) => {
    b.u32le(data.core.version).u32le(data.core.clientRequestedProtocols).u32le(data.core.earlyCapabilityFlags);
  });
  writeBlock(w, SC_NET, (b) => {
    b.u16le(data.network.ioChannelId).u16le(data.network.channelIds.length);
    for (const id of data.network.channelIds) b.u16le(id);
    if (data.network.channelIds.length % 2 === 1) b.u16le(0); // pad to a multiple of 4 bytes
  });
  writeBlock(w, SC_SECURITY, (b) => {
    b.u32le(data.security.encryptionMethod).u32le(data.security.encryptionLevel);
  });
  const messageChannel = data.messageChannel;
  if (messageChannel) writeBlock(w, SC_MCS_MSGCHANNEL, (b) => b.u16le(messageChannel.channelId));
  return w.toBuffer();
}

/**
 * The userData of the MCS Connect-Response: a T.124 ConnectData holding a
 * ConferenceCreateResponse whose "McDn" user data are the server settings blocks.
 */
export function encodeConferenceCreateResponse(data: ServerGccData): Buffer {
  const connectPdu = new PerWriter()
    .index(CONFERENCE_CREATE_RESPONSE, CONNECT_GCC_PDU_CHOICES, true)
    .bits(0, 1) // no extension additions
    .bool(true) // userData present
    .constrainedWholeNumber(RESPONSE_NODE_ID, 1001, 0xffff) // nodeID: UserID
    .integer(RESPONSE_TAG)
    .index(0, 5, true) // result: success
    .lengthDeterminant(1) // one UserData set
    .bool(true) // value present
    .index(1, 2, false) // key: h221NonStandard
    .octetString(H221_SERVER_KEY, 4, 255)
    .octetString(encodeServerDataBlocks(data))
    .toBuffer();
  return new PerWriter()
    .index(0, 2, false) // key: object
    .objectIdentifier(T124_OBJECT_ID)
    .octetString(connectPdu)
    .toBuffer();
}
