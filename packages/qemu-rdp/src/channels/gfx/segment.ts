// The RDP8 bulk-compression framing every graphics pipeline message travels in (MS-RDPEGFX
// 2.2.5, MS-RDPEGDI 2.2.5.1): RDP_SEGMENTED_DATA is descriptor SINGLE (0xE0) and one
// RDP8_BULK_ENCODED_DATA, or MULTIPART (0xE1), segmentCount (u16), uncompressedSize (u32) and
// segmentCount RDP_DATA_SEGMENTs (size u32, then an RDP8_BULK_ENCODED_DATA). Each
// RDP8_BULK_ENCODED_DATA is a header byte (compression type RDP8 = 0x04 in the low nibble,
// PACKET_COMPRESSED 0x20 when ZGFX-compressed) and its data, at most 65,535 bytes uncompressed.
// Segments are ZGFX-compressed (../../bulk/zgfx.ts) when a compressor is given, one per channel:
// its history spans the channel's whole stream.
import { ZgfxCompressor, ZgfxDecompressor } from '../../bulk/zgfx.js';
import { ReadCursor, WriteCursor } from '../../pdu/cursor.js';
import { RdpProtocolError } from '../../pdu/errors.js';

export const SEGMENTED_SINGLE = 0xe0;
export const SEGMENTED_MULTIPART = 0xe1;
export const PACKET_COMPR_TYPE_RDP8 = 0x04;
export const PACKET_COMPRESSED = 0x20;
/** Uncompressed bytes in one segment, at most (ZGFX's history-independent limit, 2.2.5.1). */
export const MAX_SEGMENT_LENGTH = 65535;

/** `data` as RDP_SEGMENTED_DATA: segments compressed by `zgfx`, or uncompressed without one. */
export function encodeSegmented(data: Uint8Array, zgfx?: ZgfxCompressor): Buffer {
  const segment = (part: Uint8Array) => (zgfx ? zgfx.compress(part) : { flags: PACKET_COMPR_TYPE_RDP8, data: part });
  if (data.length <= MAX_SEGMENT_LENGTH) {
    const s = segment(data);
    const out = Buffer.allocUnsafe(2 + s.data.length);
    out[0] = SEGMENTED_SINGLE;
    out[1] = s.flags;
    out.set(s.data, 2);
    return out;
  }
  const count = Math.ceil(data.length / MAX_SEGMENT_LENGTH);
  if (count > 0xffff) throw new RangeError(`RDP_SEGMENTED_DATA: ${data.length} bytes need ${count} segments, at most 65535`);
  const parts: Array<{ flags: number; data: Uint8Array }> = [];
  for (let pos = 0; pos < data.length; pos += MAX_SEGMENT_LENGTH) parts.push(segment(data.subarray(pos, Math.min(data.length, pos + MAX_SEGMENT_LENGTH))));
  const w = new WriteCursor(7 + parts.reduce((n, p) => n + 5 + p.data.length, 0));
  w.u8(SEGMENTED_MULTIPART).u16le(count).u32le(data.length);
  for (const part of parts) w.u32le(1 + part.data.length).u8(part.flags).bytes(part.data);
  return w.toBuffer();
}

/**
 * The data of RDP_SEGMENTED_DATA, at most `maxLength` bytes. Compressed segments need `zgfx`, the
 * decompressor of the channel's stream (which must then see every segment, compressed or not).
 */
export function decodeSegmented(message: Buffer, maxLength = 64 << 20, zgfx?: ZgfxDecompressor): Buffer {
  const bulkData = (segment: Buffer) => bulkDataOf(segment, zgfx);
  const c = new ReadCursor(message, 'RDP_SEGMENTED_DATA');
  const descriptor = c.u8();
  if (descriptor === SEGMENTED_SINGLE) return bulkData(c.bytes(c.remaining));
  if (descriptor !== SEGMENTED_MULTIPART) throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `RDP_SEGMENTED_DATA: descriptor 0x${descriptor.toString(16)}`);
  const count = c.u16le();
  const total = c.u32le();
  if (total > maxLength) throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `RDP_SEGMENTED_DATA: ${total} bytes, at most ${maxLength}`);
  const parts: Buffer[] = [];
  let received = 0;
  for (let i = 0; i < count; i++) {
    const size = c.u32le();
    const part = bulkData(c.bytes(size));
    received += part.length;
    if (received > total) throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `RDP_SEGMENTED_DATA: segments exceed uncompressedSize ${total}`);
    parts.push(part);
  }
  if (c.remaining !== 0 || received !== total) {
    throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `RDP_SEGMENTED_DATA: ${received} of ${total} bytes, ${c.remaining} bytes after the segments`);
  }
  return Buffer.concat(parts);
}

function bulkDataOf(segment: Buffer, zgfx: ZgfxDecompressor | undefined): Buffer {
  if (segment.length < 1) throw new RdpProtocolError('RDP_ERR_TRUNCATED', 'RDP8_BULK_ENCODED_DATA: no header');
  const header = segment[0]!;
  if ((header & 0x0f) !== PACKET_COMPR_TYPE_RDP8) throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `RDP8_BULK_ENCODED_DATA: compression type ${header & 0x0f}`);
  if (zgfx) return zgfx.decompress(header, segment.subarray(1));
  if (header & PACKET_COMPRESSED) throw new RdpProtocolError('RDP_ERR_UNEXPECTED', 'RDP8_BULK_ENCODED_DATA: ZGFX-compressed data needs a decompressor');
  if (segment.length - 1 > MAX_SEGMENT_LENGTH) throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `RDP8_BULK_ENCODED_DATA: ${segment.length - 1} bytes`);
  return segment.subarray(1);
}
