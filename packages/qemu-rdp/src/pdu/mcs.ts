// T.125 MCS as RDP uses it (MS-RDPBCGR 2.2.1.3–2.2.1.9, 1.3.1.1):
// - Connect-Initial / Connect-Response (T.125 §7 part 2, BER), whose userData carry T.124 GCC;
// - the PER-encoded DomainMCSPDU (T.125 §7 parts 3–10, CHOICE of 43 alternatives, 6 bits) for
//   erect domain, attach user, channel join, send data and disconnect provider ultimatum.
// User ids on the wire are offsets from 1001 (UserId ::= DynamicChannelId (1001..65535)); every
// function here takes and returns real ids (1007, not 6).
// Every function works on the X.224 Data payload: the bytes decodeX224Data returns, or that
// encodeX224Data wraps.
import { BerReader, BerWriter } from './ber.js';
import { RdpProtocolError } from './errors.js';
import { PerReader, PerWriter } from './per.js';

export const MCS_USER_ID_BASE = 1001;
/** Conventional channel ids: the server's own user channel and the I/O (global) channel. */
export const MCS_SERVER_CHANNEL_ID = 1002;
export const MCS_IO_CHANNEL_ID = 1003;

/** T.125 Result: rt-successful and the failure RDP uses when it gives up. */
export const MCS_RESULT_SUCCESSFUL = 0;
export const MCS_RESULT_UNSPECIFIED_FAILURE = 14;
const MCS_RESULT_COUNT = 16;

/** T.125 Reason (DisconnectProviderUltimatum). */
export const MCS_REASON_DOMAIN_DISCONNECTED = 0;
export const MCS_REASON_PROVIDER_INITIATED = 1;
export const MCS_REASON_TOKEN_PURGED = 2;
export const MCS_REASON_USER_REQUESTED = 3;
export const MCS_REASON_CHANNEL_PURGED = 4;
const MCS_REASON_COUNT = 5;

/** T.125 DataPriority and Segmentation bits. */
export const MCS_PRIORITY_HIGH = 1;
export const MCS_SEGMENTATION_BEGIN_END = 0x3;

const CONNECT_INITIAL_TAG = 101;
const CONNECT_RESPONSE_TAG = 102;
const MAX_DOMAIN_SELECTOR_LENGTH = 64;
const MAX_USER_DATA_LENGTH = 0xffff;

export interface DomainParameters {
  maxChannelIds: number;
  maxUserIds: number;
  maxTokenIds: number;
  numPriorities: number;
  minThroughput: number;
  maxHeight: number;
  maxMCSPDUsize: number;
  protocolVersion: number;
}

const DOMAIN_PARAMETER_NAMES: ReadonlyArray<keyof DomainParameters> = [
  'maxChannelIds', 'maxUserIds', 'maxTokenIds', 'numPriorities', 'minThroughput', 'maxHeight', 'maxMCSPDUsize', 'protocolVersion',
];

/** What this server prefers (as FreeRDP's server and Windows answer). */
export const SERVER_DOMAIN_PARAMETERS: Readonly<DomainParameters> = {
  maxChannelIds: 34,
  maxUserIds: 3,
  maxTokenIds: 0,
  numPriorities: 1,
  minThroughput: 0,
  maxHeight: 1,
  maxMCSPDUsize: 65535,
  protocolVersion: 2,
};

export interface ConnectInitial {
  targetParameters: DomainParameters;
  minimumParameters: DomainParameters;
  maximumParameters: DomainParameters;
  /** The T.124 GCC ConnectData (Conference Create Request): input for decodeConferenceCreateRequest. */
  userData: Buffer;
}

function readDomainParameters(r: BerReader, name: string): DomainParameters {
  const seq = r.sequence(name);
  const params = {} as DomainParameters;
  for (const key of DOMAIN_PARAMETER_NAMES) params[key] = seq.integer(`${name}.${key}`);
  return params;
}

/** Parses an MCS Connect-Initial (MS-RDPBCGR 2.2.1.3) from an X.224 Data payload. */
export function decodeConnectInitial(payload: Buffer): ConnectInitial {
  const outer = new BerReader(payload, 'MCS Connect-Initial');
  const length = outer.applicationTag(CONNECT_INITIAL_TAG, 'Connect-Initial');
  if (length !== outer.remaining) {
    throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `MCS Connect-Initial: length ${length}, ${outer.remaining} bytes follow`);
  }
  const r = new BerReader(outer.cursor.bytes(length), 'MCS Connect-Initial');
  r.octetString('callingDomainSelector', MAX_DOMAIN_SELECTOR_LENGTH);
  r.octetString('calledDomainSelector', MAX_DOMAIN_SELECTOR_LENGTH);
  r.boolean('upwardFlag');
  const targetParameters = readDomainParameters(r, 'targetParameters');
  const minimumParameters = readDomainParameters(r, 'minimumParameters');
  const maximumParameters = readDomainParameters(r, 'maximumParameters');
  const userData = r.octetString('userData', MAX_USER_DATA_LENGTH);
  return { targetParameters, minimumParameters, maximumParameters, userData };
}

/**
 * The domain parameters to answer with: each of `preferred` moved into the client's
 * minimum..maximum. Throws RDP_ERR_BAD_VALUE when a minimum exceeds its maximum or the client
 * cannot do MCS protocol version 2.
 */
export function negotiateDomainParameters(
  initial: Pick<ConnectInitial, 'minimumParameters' | 'maximumParameters'>,
  preferred: Readonly<DomainParameters> = SERVER_DOMAIN_PARAMETERS,
): DomainParameters {
  const result = {} as DomainParameters;
  for (const key of DOMAIN_PARAMETER_NAMES) {
    const lo = initial.minimumParameters[key];
    const hi = initial.maximumParameters[key];
    if (lo > hi) throw new RdpProtocolError('RDP_ERR_BAD_VALUE', `MCS domain parameters: ${key} minimum ${lo} above maximum ${hi}`);
    result[key] = Math.min(Math.max(preferred[key], lo), hi);
  }
  if (result.protocolVersion !== 2) {
    throw new RdpProtocolError('RDP_ERR_BAD_VALUE', 'MCS domain parameters: the client cannot do protocol version 2');
  }
  return result;
}

export interface ConnectResponse {
  /** T.125 Result; MCS_RESULT_SUCCESSFUL (0). */
  result: number;
  calledConnectId: number;
  domainParameters: DomainParameters;
  /** The GCC Conference Create Response (encodeConferenceCreateResponse). */
  userData: Buffer;
}

function domainParametersBer(p: DomainParameters): Buffer {
  const w = new BerWriter();
  for (const key of DOMAIN_PARAMETER_NAMES) w.integer(p[key]);
  return w.toBuffer();
}

/** An MCS Connect-Response (MS-RDPBCGR 2.2.1.4) as an X.224 Data payload. */
export function encodeConnectResponse(response: ConnectResponse): Buffer {
  const body = new BerWriter()
    .enumerated(response.result)
    .integer(response.calledConnectId)
    .sequence(domainParametersBer(response.domainParameters))
    .octetString(response.userData)
    .toBuffer();
  return new BerWriter().application(CONNECT_RESPONSE_TAG, body).toBuffer();
}

// DomainMCSPDU CHOICE indexes (T.125 §7 part 10).
const DOMAIN_PDU_CHOICES = 43;
const ERECT_DOMAIN_REQUEST = 1;
const DISCONNECT_PROVIDER_ULTIMATUM = 8;
const ATTACH_USER_REQUEST = 10;
const ATTACH_USER_CONFIRM = 11;
const CHANNEL_JOIN_REQUEST = 14;
const CHANNEL_JOIN_CONFIRM = 15;
const SEND_DATA_REQUEST = 25;
const SEND_DATA_INDICATION = 26;

/** The DomainMCSPDUs a client sends during and after the connection sequence. */
export type McsDomainPdu =
  | { kind: 'erectDomainRequest'; subHeight: number; subInterval: number }
  | { kind: 'attachUserRequest' }
  | { kind: 'channelJoinRequest'; initiator: number; channelId: number }
  | {
      kind: 'sendDataRequest';
      initiator: number;
      channelId: number;
      /** T.125 DataPriority: 0 top, 1 high, 2 medium, 3 low. */
      priority: number;
      /** Bits begin (0x2) and end (0x1). */
      segmentation: number;
      /** The user data, a view into the input. */
      data: Buffer;
    }
  | { kind: 'disconnectProviderUltimatum'; reason: number };

function readUserId(r: PerReader, name: string): number {
  return r.constrainedWholeNumber(MCS_USER_ID_BASE, 0xffff, name);
}

function readChannelId(r: PerReader, name: string): number {
  return r.constrainedWholeNumber(0, 0xffff, name);
}

/**
 * Parses a PER-encoded DomainMCSPDU from an X.224 Data payload. Alternatives a client has no
 * business sending (confirms, indications, tokens…) throw RDP_ERR_UNEXPECTED; bytes after the
 * PDU throw RDP_ERR_BAD_LENGTH.
 */
export function decodeDomainPdu(payload: Buffer): McsDomainPdu {
  const r = new PerReader(payload, 'MCS domain PDU');
  const choice = r.index(DOMAIN_PDU_CHOICES, false, 'DomainMCSPDU');
  let pdu: McsDomainPdu;
  switch (choice) {
    case ERECT_DOMAIN_REQUEST:
      pdu = {
        kind: 'erectDomainRequest',
        subHeight: r.semiConstrainedInteger(0, 'subHeight'),
        subInterval: r.semiConstrainedInteger(0, 'subInterval'),
      };
      break;
    case ATTACH_USER_REQUEST:
      pdu = { kind: 'attachUserRequest' };
      break;
    case CHANNEL_JOIN_REQUEST:
      pdu = { kind: 'channelJoinRequest', initiator: readUserId(r, 'initiator'), channelId: readChannelId(r, 'channelId') };
      break;
    case SEND_DATA_REQUEST: {
      const initiator = readUserId(r, 'initiator');
      const channelId = readChannelId(r, 'channelId');
      const priority = r.index(4, false, 'dataPriority');
      const segmentation = r.bits(2);
      const data = r.octetString('userData', payload.length);
      pdu = { kind: 'sendDataRequest', initiator, channelId, priority, segmentation, data };
      break;
    }
    case DISCONNECT_PROVIDER_ULTIMATUM:
      pdu = { kind: 'disconnectProviderUltimatum', reason: r.index(MCS_REASON_COUNT, false, 'reason') };
      break;
    default:
      throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `MCS domain PDU: choice ${choice} is not one a client sends`);
  }
  if (r.remainingBytes !== 0) {
    throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `MCS domain PDU: ${r.remainingBytes} bytes after ${pdu.kind}`);
  }
  return pdu;
}

function domainPdu(choice: number): PerWriter {
  return new PerWriter().index(choice, DOMAIN_PDU_CHOICES, false);
}

/** Attach User Confirm (MS-RDPBCGR 2.2.1.7); `initiator` is the user id given to the client. */
export function encodeAttachUserConfirm(result: number, initiator?: number): Buffer {
  const w = domainPdu(ATTACH_USER_CONFIRM).bool(initiator !== undefined).index(result, MCS_RESULT_COUNT, false);
  if (initiator !== undefined) w.constrainedWholeNumber(initiator, MCS_USER_ID_BASE, 0xffff);
  return w.toBuffer();
}

/** Channel Join Confirm (MS-RDPBCGR 2.2.1.9); `channelId` is left out when the join failed. */
export function encodeChannelJoinConfirm(result: number, initiator: number, requestedChannelId: number, channelId?: number): Buffer {
  const w = domainPdu(CHANNEL_JOIN_CONFIRM)
    .bool(channelId !== undefined)
    .index(result, MCS_RESULT_COUNT, false)
    .constrainedWholeNumber(initiator, MCS_USER_ID_BASE, 0xffff)
    .constrainedWholeNumber(requestedChannelId, 0, 0xffff);
  if (channelId !== undefined) w.constrainedWholeNumber(channelId, 0, 0xffff);
  return w.toBuffer();
}

/**
 * Send Data Indication carrying `data` (at most 32767 bytes) on `channelId`, sent by `initiator`
 * (MCS_SERVER_CHANNEL_ID for the server's own PDUs), high priority, begin and end.
 */
export function encodeSendDataIndication(initiator: number, channelId: number, data: Buffer): Buffer {
  return domainPdu(SEND_DATA_INDICATION)
    .constrainedWholeNumber(initiator, MCS_USER_ID_BASE, 0xffff)
    .constrainedWholeNumber(channelId, 0, 0xffff)
    .index(MCS_PRIORITY_HIGH, 4, false)
    .bits(MCS_SEGMENTATION_BEGIN_END, 2)
    .octetString(data)
    .toBuffer();
}

/** Disconnect Provider Ultimatum (MS-RDPBCGR 2.2.2.3) with an MCS_REASON_*. */
export function encodeDisconnectProviderUltimatum(reason: number): Buffer {
  return domainPdu(DISCONNECT_PROVIDER_ULTIMATUM).index(reason, MCS_REASON_COUNT, false).toBuffer();
}
