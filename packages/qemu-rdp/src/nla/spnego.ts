// SPNEGO (RFC 4178, with Microsoft's behaviour from MS-SPNG) as far as an NTLM-only acceptor needs
// it: the client's first token, the GSS-API InitialContextToken (RFC 2743 3.1) around NegTokenInit,
// later NegTokenResp tokens both ways, and the mechanism OIDs. OIDs are kept as their DER contents.
import { RdpProtocolError } from '../pdu/errors.js';
import {
  contextTag,
  DER_TAG_APPLICATION_0,
  DER_TAG_ENUMERATED,
  DER_TAG_OCTET_STRING,
  DER_TAG_OID,
  DER_TAG_SEQUENCE,
  decodeInteger,
  derContext,
  derInteger,
  derOctetString,
  derSequence,
  derTlv,
  DerReader,
} from './der.js';

/** 1.3.6.1.5.5.2, SPNEGO itself. */
export const OID_SPNEGO = Buffer.from([0x2b, 0x06, 0x01, 0x05, 0x05, 0x02]);
/** 1.3.6.1.4.1.311.2.2.10, NTLMSSP. */
export const OID_NTLM = Buffer.from([0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a]);

/** NegTokenResp negState (RFC 4178 4.2.2). */
export const NEG_STATE_ACCEPT_COMPLETED = 0;
export const NEG_STATE_ACCEPT_INCOMPLETE = 1;
export const NEG_STATE_REJECT = 2;
export const NEG_STATE_REQUEST_MIC = 3;

export interface NegTokenInit {
  /** The offered mechanisms, most preferred first (OID contents). */
  mechTypes: Buffer[];
  /** The MechTypeList exactly as sent (its whole DER SEQUENCE): what mechListMIC signs. */
  mechTypesDer: Buffer;
  mechToken?: Buffer;
  mechListMIC?: Buffer;
}

export interface NegTokenResp {
  negState?: number;
  supportedMech?: Buffer;
  responseToken?: Buffer;
  mechListMIC?: Buffer;
}

/** Whether a CredSSP negoToken is SPNEGO (InitialContextToken or NegTokenResp) rather than raw NTLMSSP. */
export function isSpnegoToken(token: Buffer): boolean {
  return token[0] === DER_TAG_APPLICATION_0 || token[0] === contextTag(1);
}

/** The initiator's first token: [APPLICATION 0] { SPNEGO OID, [0] NegTokenInit }. */
export function decodeSpnegoInitialToken(token: Buffer): NegTokenInit {
  const outer = new DerReader(token, 'SPNEGO InitialContextToken');
  const body = outer.enter(DER_TAG_APPLICATION_0, 'InitialContextToken');
  outer.end();
  const mech = body.expect(DER_TAG_OID, 'thisMech');
  if (!mech.equals(OID_SPNEGO)) throw new RdpProtocolError('RDP_ERR_UNEXPECTED', 'SPNEGO: InitialContextToken is not for SPNEGO');
  const init = body.enter(contextTag(0), 'negTokenInit').enter(DER_TAG_SEQUENCE, 'NegTokenInit');
  const mechTypesDer = init.expect(contextTag(0), 'mechTypes');
  const list = new DerReader(mechTypesDer, 'SPNEGO mechTypes');
  const mechTypesReader = list.enter(DER_TAG_SEQUENCE, 'MechTypeList');
  list.end();
  const mechTypes: Buffer[] = [];
  while (mechTypesReader.remaining > 0) mechTypes.push(mechTypesReader.expect(DER_TAG_OID, 'MechType'));
  if (mechTypes.length === 0) throw new RdpProtocolError('RDP_ERR_BAD_VALUE', 'SPNEGO: empty mechTypes');
  const result: NegTokenInit = { mechTypes, mechTypesDer };
  // reqFlags [1] is ignored; Microsoft's NegTokenInit2 puts negHints at [3] and the MIC at [4].
  while (init.remaining > 0) {
    const { tag, contents } = init.element();
    if (tag === contextTag(2)) result.mechToken = octetString(contents, 'mechToken');
    else if (tag === contextTag(3) && contents[0] === DER_TAG_OCTET_STRING) result.mechListMIC = octetString(contents, 'mechListMIC');
    else if (tag === contextTag(4)) result.mechListMIC = octetString(contents, 'mechListMIC');
  }
  return result;
}

function octetString(explicitContents: Buffer, name: string): Buffer {
  const r = new DerReader(explicitContents, `SPNEGO ${name}`);
  const value = r.expect(DER_TAG_OCTET_STRING, name);
  r.end();
  return value;
}

/** NegTokenResp: [1] SEQUENCE { negState [0], supportedMech [1], responseToken [2], mechListMIC [3] }. */
export function decodeNegTokenResp(token: Buffer): NegTokenResp {
  const outer = new DerReader(token, 'SPNEGO NegTokenResp');
  const seq = outer.enter(contextTag(1), 'negTokenResp').enter(DER_TAG_SEQUENCE, 'NegTokenResp');
  outer.end();
  const result: NegTokenResp = {};
  while (seq.remaining > 0) {
    const { tag, contents } = seq.element();
    const field = new DerReader(contents, 'SPNEGO NegTokenResp field');
    if (tag === contextTag(0)) result.negState = decodeInteger(field.expect(DER_TAG_ENUMERATED, 'negState'), 'SPNEGO negState');
    else if (tag === contextTag(1)) result.supportedMech = field.expect(DER_TAG_OID, 'supportedMech');
    else if (tag === contextTag(2)) result.responseToken = field.expect(DER_TAG_OCTET_STRING, 'responseToken');
    else if (tag === contextTag(3)) result.mechListMIC = field.expect(DER_TAG_OCTET_STRING, 'mechListMIC');
    else throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `SPNEGO: NegTokenResp field tag 0x${tag.toString(16)}`);
    field.end();
  }
  return result;
}

export function encodeNegTokenResp(resp: NegTokenResp): Buffer {
  const fields: Buffer[] = [];
  if (resp.negState !== undefined) fields.push(derContext(0, derInteger(resp.negState, DER_TAG_ENUMERATED)));
  if (resp.supportedMech) fields.push(derContext(1, derTlv(DER_TAG_OID, resp.supportedMech)));
  if (resp.responseToken) fields.push(derContext(2, derOctetString(resp.responseToken)));
  if (resp.mechListMIC) fields.push(derContext(3, derOctetString(resp.mechListMIC)));
  return derContext(1, derSequence(...fields));
}

/** The initiator's first token (for clients and tests). */
export function encodeSpnegoInitialToken(mechTypes: Buffer[], mechToken?: Buffer): Buffer {
  const fields = [derContext(0, derSequence(...mechTypes.map((oid) => derTlv(DER_TAG_OID, oid))))];
  if (mechToken) fields.push(derContext(2, derOctetString(mechToken)));
  return derTlv(DER_TAG_APPLICATION_0, derTlv(DER_TAG_OID, OID_SPNEGO), derContext(0, derSequence(...fields)));
}
