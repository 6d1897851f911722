// Dynamic virtual channel PDUs (MS-RDPEDYC 2.2), the messages of the static channel "drdynvc".
// Every PDU starts with one byte: cbId (bits 0–1: ChannelId is 1, 2 or 4 bytes), Sp (bits 2–3:
// priority, or for DATA_FIRST the size of its Length field) and Cmd (bits 4–7).
import { ReadCursor, WriteCursor } from './cursor.js';
import { RdpProtocolError } from './errors.js';

export const DvcCommand = {
  CREATE: 0x01,
  DATA_FIRST: 0x02,
  DATA: 0x03,
  CLOSE: 0x04,
  CAPABILITY: 0x05,
  DATA_FIRST_COMPRESSED: 0x06,
  DATA_COMPRESSED: 0x07,
  SOFT_SYNC_REQUEST: 0x08,
  SOFT_SYNC_RESPONSE: 0x09,
} as const;

/** A DVC PDU, header included, is at most this long (2.2.3.1: the static channel chunk size). */
export const MAX_DVC_PDU_LENGTH = 1600;

export type ClientDvcPdu =
  | { kind: 'capabilities'; version: number }
  | { kind: 'createResponse'; channelId: number; creationStatus: number }
  | { kind: 'dataFirst'; channelId: number; totalLength: number; data: Buffer }
  | { kind: 'data'; channelId: number; data: Buffer }
  | { kind: 'close'; channelId: number };

/** cbId for the smallest ChannelId field that holds `id`. */
function idSize(id: number): { cb: number; bytes: number } {
  if (id <= 0xff) return { cb: 0, bytes: 1 };
  if (id <= 0xffff) return { cb: 1, bytes: 2 };
  return { cb: 2, bytes: 4 };
}

function readVar(c: ReadCursor, cb: number): number {
  if (cb === 0) return c.u8();
  if (cb === 1) return c.u16le();
  if (cb === 2) return c.u32le();
  throw new RdpProtocolError('RDP_ERR_BAD_VALUE', `DVC PDU: field size code ${cb}`);
}

function writeVar(w: WriteCursor, value: number, bytes: number): void {
  if (bytes === 1) w.u8(value);
  else if (bytes === 2) w.u16le(value);
  else w.u32le(value);
}

/** Decodes one DVC PDU from the client (a complete drdynvc channel message). */
export function decodeClientDvcPdu(message: Buffer): ClientDvcPdu {
  const c = new ReadCursor(message, 'DVC PDU');
  const header = c.u8();
  const cbId = header & 0x3;
  const sp = (header >> 2) & 0x3;
  const cmd = header >> 4;
  switch (cmd) {
    case DvcCommand.CAPABILITY: {
      c.skip(1); // Pad
      return { kind: 'capabilities', version: c.u16le() };
    }
    case DvcCommand.CREATE: {
      const channelId = readVar(c, cbId);
      return { kind: 'createResponse', channelId, creationStatus: c.remaining >= 4 ? c.buf.readInt32LE(c.pos) : -1 };
    }
    case DvcCommand.DATA_FIRST: {
      const channelId = readVar(c, cbId);
      const totalLength = readVar(c, sp);
      return { kind: 'dataFirst', channelId, totalLength, data: c.bytes(c.remaining) };
    }
    case DvcCommand.DATA:
      return { kind: 'data', channelId: readVar(c, cbId), data: c.bytes(c.remaining) };
    case DvcCommand.CLOSE:
      return { kind: 'close', channelId: readVar(c, cbId) };
    default:
      throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `DVC PDU: command 0x${cmd.toString(16)} is not one this server accepts`);
  }
}

/** DYNVC_CAPS_VERSION1/2/3 request (2.2.1.1): version 3 with all priority charges 0. */
export function encodeDvcCapabilitiesRequest(version = 3): Buffer {
  const w = new WriteCursor(12).u8(DvcCommand.CAPABILITY << 4).u8(0).u16le(version);
  if (version >= 2) w.u16le(0).u16le(0).u16le(0).u16le(0); // PriorityCharge0..3
  return w.toBuffer();
}

/** DYNVC_CREATE_REQ (2.2.2.1): opens the channel `name` as `channelId`. */
export function encodeDvcCreateRequest(channelId: number, name: string): Buffer {
  const { cb, bytes } = idSize(channelId);
  const w = new WriteCursor().u8((DvcCommand.CREATE << 4) | cb);
  writeVar(w, channelId, bytes);
  return w.bytes(Buffer.from(`${name}\0`, 'latin1')).toBuffer();
}

/** DYNVC_CLOSE (2.2.4). */
export function encodeDvcClose(channelId: number): Buffer {
  const { cb, bytes } = idSize(channelId);
  const w = new WriteCursor(5).u8((DvcCommand.CLOSE << 4) | cb);
  writeVar(w, channelId, bytes);
  return w.toBuffer();
}

/**
 * DYNVC_DATA_FIRST + DYNVC_DATA PDUs (2.2.3) carrying `data` on `channelId`, each PDU at most
 * MAX_DVC_PDU_LENGTH bytes; a message that fits one PDU goes as a single DYNVC_DATA.
 */
export function encodeDvcData(channelId: number, data: Buffer): Buffer[] {
  const { cb, bytes } = idSize(channelId);
  const room = MAX_DVC_PDU_LENGTH - 1 - bytes;
  if (data.length <= room) {
    const w = new WriteCursor(1 + bytes + data.length).u8((DvcCommand.DATA << 4) | cb);
    writeVar(w, channelId, bytes);
    return [w.bytes(data).toBuffer()];
  }
  const len = idSize(data.length);
  const first = new WriteCursor(MAX_DVC_PDU_LENGTH).u8((DvcCommand.DATA_FIRST << 4) | (len.cb << 2) | cb);
  writeVar(first, channelId, bytes);
  writeVar(first, data.length, len.bytes);
  const firstRoom = MAX_DVC_PDU_LENGTH - first.pos;
  const pdus = [first.bytes(data.subarray(0, firstRoom)).toBuffer()];
  for (let offset = firstRoom; offset < data.length; offset += room) {
    const w = new WriteCursor(MAX_DVC_PDU_LENGTH).u8((DvcCommand.DATA << 4) | cb);
    writeVar(w, channelId, bytes);
    pdus.push(w.bytes(data.subarray(offset, offset + room)).toBuffer());
  }
  return pdus;
}
