// Static virtual channel framing (MS-RDPBCGR 2.2.6.1, 3.1.5.2): a channel message travels in
// chunks of at most the receiver's VCChunkSize, each after a CHANNEL_PDU_HEADER giving the whole
// message's length and whether the chunk is the first and/or the last.
import { ReadCursor, WriteCursor } from './cursor.js';
import { RdpProtocolError } from './errors.js';

export const CHANNEL_FLAG_FIRST = 0x01;
export const CHANNEL_FLAG_LAST = 0x02;
export const CHANNEL_FLAG_SHOW_PROTOCOL = 0x10;
export const CHANNEL_PACKET_COMPRESSED = 0x00200000;
/** The chunk size both sides use unless a Virtual Channel capability set says otherwise. */
export const CHANNEL_CHUNK_LENGTH = 1600;
const CHANNEL_PDU_HEADER_LENGTH = 8;

/** The chunks (header + data) that carry `message`, each with at most `chunkSize` bytes of data. */
export function encodeChannelChunks(message: Buffer, chunkSize = CHANNEL_CHUNK_LENGTH, extraFlags = 0): Buffer[] {
  const chunks: Buffer[] = [];
  for (let offset = 0; offset < message.length || chunks.length === 0; offset += chunkSize) {
    const part = message.subarray(offset, offset + chunkSize);
    const flags = extraFlags | (offset === 0 ? CHANNEL_FLAG_FIRST : 0) | (offset + chunkSize >= message.length ? CHANNEL_FLAG_LAST : 0);
    chunks.push(new WriteCursor(CHANNEL_PDU_HEADER_LENGTH + part.length).u32le(message.length).u32le(flags).bytes(part).toBuffer());
  }
  return chunks;
}

/** Joins a client's chunks back into messages; refuses lengths over `maxLength`. */
export class ChannelReassembler {
  private parts: Buffer[] = [];
  private expected = 0;
  private received = 0;

  constructor(
    /** The channel's name, for error messages. */
    private readonly name: string,
    private readonly maxLength = 16 << 20,
  ) {}

  /** Takes one chunk (header + data); returns the message once its last chunk is in. */
  push(chunk: Buffer): Buffer | undefined {
    const c = new ReadCursor(chunk, `virtual channel ${this.name}`);
    const length = c.u32le();
    const flags = c.u32le();
    const data = c.bytes(c.remaining);
    if (flags & CHANNEL_PACKET_COMPRESSED) {
      throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `virtual channel ${this.name}: compressed data, but compression was never negotiated`);
    }
    if (length > this.maxLength) throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `virtual channel ${this.name}: message of ${length} bytes (limit ${this.maxLength})`);
    if (flags & CHANNEL_FLAG_FIRST) {
      this.parts = [];
      this.expected = length;
      this.received = 0;
    } else if (this.parts.length === 0) {
      throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `virtual channel ${this.name}: a chunk without CHANNEL_FLAG_FIRST starts a message`);
    }
    this.received += data.length;
    if (this.received > this.expected) {
      throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `virtual channel ${this.name}: chunks carry ${this.received} bytes of a ${this.expected}-byte message`);
    }
    this.parts.push(Buffer.from(data));
    if (!(flags & CHANNEL_FLAG_LAST)) return undefined;
    const message = Buffer.concat(this.parts);
    this.parts = [];
    if (message.length !== this.expected) {
      throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `virtual channel ${this.name}: message of ${message.length} bytes, header said ${this.expected}`);
    }
    return message;
  }
}
