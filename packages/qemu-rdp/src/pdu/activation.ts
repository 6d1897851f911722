// Capabilities exchange, connection finalization and the other slow-path share PDUs a server
// exchanges outside graphics (MS-RDPBCGR): Demand Active (2.2.1.13.1), Confirm Active
// (2.2.1.13.2), Synchronize (2.2.1.14, 2.2.1.19), Control (2.2.1.15-16, 2.2.1.20-21), Font List
// (2.2.1.18) and Font Map (2.2.1.22), Shutdown Request/Denied (2.2.2.1-2), Deactivate All
// (2.2.3.1), Save Session Info (2.2.10.1), Set Error Info (2.2.5.1), Set Keyboard Indicators
// (2.2.8.2.1), Refresh Rect (2.2.11.2) and Suppress Output (2.2.11.3).
// Encoders return complete share PDUs (the MCS Send Data userData on the I/O channel); decoders
// take the body that share.ts split off.
import {
  type ClientCapabilities,
  type RawCapabilitySet,
  decodeCapabilitySets,
  encodeCapabilitySet,
  summarizeClientCapabilities,
} from './capabilities.js';
import { ReadCursor, WriteCursor } from './cursor.js';
import { RdpProtocolError } from './errors.js';
import { type InputEvent, SyncFlags, decodeSlowPathInput } from './input.js';
import { PduType, PduType2, SERVER_CHANNEL_ID, StreamId, encodeShareControl, encodeShareData } from './share.js';

/** A rectangle whose right and bottom edges are inclusive (TS_RECTANGLE16). */
export interface InclusiveRect {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

export const ControlAction = { REQUEST_CONTROL: 1, GRANTED_CONTROL: 2, DETACH: 3, COOPERATE: 4 } as const;

const SYNCMSGTYPE_SYNC = 1;
const FONTMAP_FIRST_AND_LAST = 0x0003;
const INFOTYPE_LOGON_PLAINNOTIFY = 2;
/** The longest sourceDescriptor accepted from a client ("MSTSC\0" in practice). */
const MAX_SOURCE_DESCRIPTOR = 256;

// --- Capabilities exchange -------------------------------------------------------------------

/** Server Demand Active PDU. sourceDescriptor is sent NUL-terminated ("RDP\0"). */
export function encodeDemandActive(p: {
  shareId: number;
  capabilitySets: RawCapabilitySet[];
  sourceDescriptor?: string;
  sessionId?: number;
  pduSource?: number;
}): Buffer {
  const source = Buffer.from(`${p.sourceDescriptor ?? 'RDP'}\0`, 'latin1');
  const sets = Buffer.concat(p.capabilitySets.map(encodeCapabilitySet));
  const body = new WriteCursor(16 + source.length + sets.length)
    .u32le(p.shareId)
    .u16le(source.length) // lengthSourceDescriptor
    .u16le(4 + sets.length) // lengthCombinedCapabilities: numberCapabilities, pad2Octets, sets
    .bytes(source)
    .u16le(p.capabilitySets.length)
    .u16le(0) // pad2Octets
    .bytes(sets)
    .u32le(p.sessionId ?? 0)
    .toBuffer();
  return encodeShareControl(PduType.DEMAND_ACTIVE, p.pduSource ?? SERVER_CHANNEL_ID, body);
}

export interface ConfirmActive {
  shareId: number;
  /** Should be the server channel (0x03EA); mstsc copies the Demand Active's pduSource. */
  originatorId: number;
  sourceDescriptor: string;
  capabilities: ClientCapabilities;
}

/** The body of a Client Confirm Active PDU (SharePdu kind 'confirmActive'). */
export function decodeConfirmActive(body: Buffer): ConfirmActive {
  const c = new ReadCursor(body, 'confirm active PDU');
  const shareId = c.u32le();
  const originatorId = c.u16le();
  const lengthSourceDescriptor = c.u16le();
  const lengthCombinedCapabilities = c.u16le();
  if (lengthSourceDescriptor > MAX_SOURCE_DESCRIPTOR) {
    throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `confirm active PDU: lengthSourceDescriptor ${lengthSourceDescriptor} exceeds ${MAX_SOURCE_DESCRIPTOR}`);
  }
  const source = c.bytes(lengthSourceDescriptor).toString('latin1');
  if (lengthCombinedCapabilities < 4) {
    throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `confirm active PDU: lengthCombinedCapabilities ${lengthCombinedCapabilities} is below 4`);
  }
  // Tolerate a combined length that overstates what follows, as FreeRDP does.
  const combined = c.sub(Math.min(lengthCombinedCapabilities, c.remaining), 'confirm active capability sets');
  const numberCapabilities = combined.u16le();
  combined.skip(2); // pad2Octets
  const sets = decodeCapabilitySets(combined, numberCapabilities);
  const nul = source.indexOf('\0');
  return {
    shareId,
    originatorId,
    sourceDescriptor: nul < 0 ? source : source.slice(0, nul),
    capabilities: summarizeClientCapabilities(sets),
  };
}

/** Deactivate All PDU (before a reactivation, e.g. on desktop resize). */
export function encodeDeactivateAll(shareId: number, pduSource = SERVER_CHANNEL_ID): Buffer {
  const body = new WriteCursor(7).u32le(shareId).u16le(1).u8(0).toBuffer(); // sourceDescriptor: one 0x00
  return encodeShareControl(PduType.DEACTIVATE_ALL, pduSource, body);
}

// --- Connection finalization -----------------------------------------------------------------

function serverData(shareId: number, pduType2: number, body: Uint8Array): Buffer {
  return encodeShareData(shareId, SERVER_CHANNEL_ID, pduType2, body, StreamId.MED);
}

/** Client Synchronize PDU body: targetUser (the server channel in practice). */
export function decodeSynchronize(body: Buffer): { messageType: number; targetUser: number } {
  const c = new ReadCursor(body, 'synchronize PDU');
  return { messageType: c.u16le(), targetUser: c.u16le() };
}

/** Server Synchronize PDU; targetUser is the client's MCS user channel ID. */
export function encodeSynchronize(shareId: number, targetUser: number): Buffer {
  return serverData(shareId, PduType2.SYNCHRONIZE, new WriteCursor(4).u16le(SYNCMSGTYPE_SYNC).u16le(targetUser).toBuffer());
}

export interface ControlPdu {
  action: number;
  grantId: number;
  controlId: number;
}

/** Client Control PDU body (Cooperate, then Request Control). */
export function decodeControl(body: Buffer): ControlPdu {
  const c = new ReadCursor(body, 'control PDU');
  const action = c.u16le();
  if (action < ControlAction.REQUEST_CONTROL || action > ControlAction.COOPERATE) {
    throw new RdpProtocolError('RDP_ERR_BAD_VALUE', `control PDU: unknown action ${action}`);
  }
  return { action, grantId: c.u16le(), controlId: c.u32le() };
}

export function encodeControl(shareId: number, action: number, grantId = 0, controlId = 0): Buffer {
  return serverData(shareId, PduType2.CONTROL, new WriteCursor(8).u16le(action).u16le(grantId).u32le(controlId).toBuffer());
}

/** Server Control (Cooperate) PDU. */
export function encodeControlCooperate(shareId: number): Buffer {
  return encodeControl(shareId, ControlAction.COOPERATE);
}

/** Server Control (Granted Control) PDU: grantId is the client's user channel, controlId the server channel. */
export function encodeControlGrantedControl(shareId: number, userChannelId: number): Buffer {
  return encodeControl(shareId, ControlAction.GRANTED_CONTROL, userChannelId, SERVER_CHANNEL_ID);
}

export interface FontList {
  numberFonts: number;
  totalNumFonts: number;
  listFlags: number;
  entrySize: number;
}

/** Client Font List PDU body; its arrival is the cue to send the Font Map. */
export function decodeFontList(body: Buffer): FontList {
  const c = new ReadCursor(body, 'font list PDU');
  return { numberFonts: c.u16le(), totalNumFonts: c.u16le(), listFlags: c.u16le(), entrySize: c.u16le() };
}

/** Server Font Map PDU: no entries, FONTMAP_FIRST | FONTMAP_LAST, entrySize 4. */
export function encodeFontMap(shareId: number): Buffer {
  const body = new WriteCursor(8).u16le(0).u16le(0).u16le(FONTMAP_FIRST_AND_LAST).u16le(4).toBuffer();
  return serverData(shareId, PduType2.FONTMAP, body);
}

// --- Session ---------------------------------------------------------------------------------

/** Shutdown Request Denied PDU: tells the client to ask the user before disconnecting. */
export function encodeShutdownDenied(shareId: number): Buffer {
  return serverData(shareId, PduType2.SHUTDOWN_DENIED, Buffer.alloc(0));
}

/** Set Error Info PDU (errorInfo codes: MS-RDPBCGR 2.2.5.1.1, e.g. 0 none, 1 rpc-initiated disconnect). */
export function encodeSetErrorInfo(shareId: number, errorInfo: number): Buffer {
  return serverData(shareId, PduType2.SET_ERROR_INFO, new WriteCursor(4).u32le(errorInfo).toBuffer());
}

/** Save Session Info PDU with INFOTYPE_LOGON_PLAINNOTIFY: "the user has logged on". */
export function encodeSaveSessionInfoLogon(shareId: number): Buffer {
  const body = new WriteCursor(580).u32le(INFOTYPE_LOGON_PLAINNOTIFY).zeros(576).toBuffer(); // TS_PLAIN_NOTIFY pad
  return serverData(shareId, PduType2.SAVE_SESSION_INFO, body);
}

export interface LockKeys {
  scrollLock?: boolean;
  numLock?: boolean;
  capsLock?: boolean;
  kanaLock?: boolean;
}

/** Set Keyboard Indicators PDU: the lock-key LEDs the client should show. */
export function encodeSetKeyboardIndicators(shareId: number, leds: LockKeys): Buffer {
  const ledFlags =
    (leds.scrollLock ? SyncFlags.SCROLL_LOCK : 0) |
    (leds.numLock ? SyncFlags.NUM_LOCK : 0) |
    (leds.capsLock ? SyncFlags.CAPS_LOCK : 0) |
    (leds.kanaLock ? SyncFlags.KANA_LOCK : 0);
  return serverData(shareId, PduType2.SET_KEYBOARD_INDICATORS, new WriteCursor(4).u16le(0).u16le(ledFlags).toBuffer());
}

// --- Display control -------------------------------------------------------------------------

function readRect(c: ReadCursor): InclusiveRect {
  return { left: c.u16le(), top: c.u16le(), right: c.u16le(), bottom: c.u16le() };
}

/** Refresh Rect PDU body: the areas to repaint (at most 255); inverted rectangles are dropped. */
export function decodeRefreshRect(body: Buffer): InclusiveRect[] {
  const c = new ReadCursor(body, 'refresh rect PDU');
  const numberOfAreas = c.u8();
  c.skip(3); // pad3Octets
  c.need(numberOfAreas * 8);
  const rects: InclusiveRect[] = [];
  for (let i = 0; i < numberOfAreas; i++) {
    const r = readRect(c);
    if (r.right >= r.left && r.bottom >= r.top) rects.push(r);
  }
  return rects;
}

/** Suppress Output PDU body: false while the client is minimized; `rect` comes with an allow. */
export function decodeSuppressOutput(body: Buffer): { allowDisplayUpdates: boolean; rect?: InclusiveRect } {
  const c = new ReadCursor(body, 'suppress output PDU');
  const allowDisplayUpdates = c.u8() !== 0;
  c.skip(3); // pad3Octets
  if (!allowDisplayUpdates || c.remaining < 8) return { allowDisplayUpdates };
  return { allowDisplayUpdates, rect: readRect(c) };
}

// --- Dispatch --------------------------------------------------------------------------------

export type ClientDataPdu =
  | { kind: 'synchronize'; messageType: number; targetUser: number }
  | ({ kind: 'control' } & ControlPdu)
  | ({ kind: 'fontList' } & FontList)
  | { kind: 'input'; events: InputEvent[] }
  | { kind: 'refreshRect'; rects: InclusiveRect[] }
  | { kind: 'suppressOutput'; allowDisplayUpdates: boolean; rect?: InclusiveRect }
  | { kind: 'shutdownRequest' }
  | { kind: 'unknown'; pduType2: number; body: Buffer };

/** Decodes the body of a client Data PDU by its pduType2 (SharePdu kind 'data'). */
export function decodeClientDataPdu(pduType2: number, body: Buffer): ClientDataPdu {
  switch (pduType2) {
    case PduType2.SYNCHRONIZE:
      return { kind: 'synchronize', ...decodeSynchronize(body) };
    case PduType2.CONTROL:
      return { kind: 'control', ...decodeControl(body) };
    case PduType2.FONTLIST:
      return { kind: 'fontList', ...decodeFontList(body) };
    case PduType2.INPUT:
      return { kind: 'input', events: decodeSlowPathInput(body) };
    case PduType2.REFRESH_RECT:
      return { kind: 'refreshRect', rects: decodeRefreshRect(body) };
    case PduType2.SUPPRESS_OUTPUT:
      return { kind: 'suppressOutput', ...decodeSuppressOutput(body) };
    case PduType2.SHUTDOWN_REQUEST:
      return { kind: 'shutdownRequest' };
    default:
      return { kind: 'unknown', pduType2, body };
  }
}
