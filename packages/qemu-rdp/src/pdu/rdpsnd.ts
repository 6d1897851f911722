// Audio output PDUs (MS-RDPEA 2.2), the messages of the static channel "rdpsnd". Every PDU but
// the Wave PDU starts with the RDPSND PDU header (SNDPROLOG, 2.2.1): msgType (1 byte), bPad
// (1 byte, ignored), BodySize (2 bytes, the bytes after the header — except for SNDC_WAVE,
// 2.2.3.3). Only what a server sends PCM audio with over virtual channels is here: no UDP, no
// encryption.
import { ReadCursor, WriteCursor } from './cursor.js';
import { RdpProtocolError } from './errors.js';

export const SndMsgType = {
  CLOSE: 0x01,
  WAVE: 0x02,
  SETVOLUME: 0x03,
  SETPITCH: 0x04,
  WAVECONFIRM: 0x05,
  TRAINING: 0x06,
  FORMATS: 0x07,
  CRYPTKEY: 0x08,
  WAVEENCRYPT: 0x09,
  UDPWAVE: 0x0a,
  UDPWAVELAST: 0x0b,
  QUALITYMODE: 0x0c,
  WAVE2: 0x0d,
} as const;

/** Client Audio Formats dwFlags (2.2.2.2). */
export const TSSNDCAPS_ALIVE = 0x1;
export const TSSNDCAPS_VOLUME = 0x2;
export const TSSNDCAPS_PITCH = 0x4;

/** wFormatTag of uncompressed PCM ([MS-RDPEA] 2.2.2.1.1, RFC 2361). */
export const WAVE_FORMAT_PCM = 0x0001;

/** Protocol versions (wVersion): 6 brings the Quality Mode PDU, 8 the Wave2 PDU. */
export const RDPSND_VERSION_WIN7 = 0x06;
export const RDPSND_VERSION_WIN8 = 0x08;

/** The RDPSND PDU header's length. */
export const SNDPROLOG_LENGTH = 4;
/** A WaveInfo PDU: header, wTimeStamp, wFormatNo, cBlockNo, bPad(3), Data(4). */
export const WAVE_INFO_LENGTH = 16;
/** A Wave2 PDU before its data: header, wTimeStamp, wFormatNo, cBlockNo, bPad(3), dwAudioTimeStamp. */
export const WAVE2_HEADER_LENGTH = 16;
/** The largest audio block a WaveInfo/Wave pair or a Wave2 PDU carries (BodySize is 16 bits). */
export const MAX_WAVE_DATA = 0xffff - 12;

/** AUDIO_FORMAT (2.2.2.1.1), the WAVEFORMATEX of the formats lists. */
export interface AudioFormat {
  formatTag: number;
  channels: number;
  samplesPerSec: number;
  avgBytesPerSec: number;
  blockAlign: number;
  bitsPerSample: number;
  /** Extra format data (cbSize bytes). */
  data: Buffer;
}

/** An uncompressed PCM format with its derived fields filled in. */
export function pcmFormat(samplesPerSec: number, channels: number, bitsPerSample: number): AudioFormat {
  const blockAlign = channels * (bitsPerSample / 8);
  return { formatTag: WAVE_FORMAT_PCM, channels, samplesPerSec, avgBytesPerSec: samplesPerSec * blockAlign, blockAlign, bitsPerSample, data: Buffer.alloc(0) };
}

/** Whether two formats describe the same audio encoding (extra data included). */
export function sameAudioFormat(a: AudioFormat, b: AudioFormat): boolean {
  return (
    a.formatTag === b.formatTag &&
    a.channels === b.channels &&
    a.samplesPerSec === b.samplesPerSec &&
    a.blockAlign === b.blockAlign &&
    a.bitsPerSample === b.bitsPerSample &&
    a.data.equals(b.data)
  );
}

export interface ClientAudioFormats {
  kind: 'formats';
  /** TSSNDCAPS_… */
  flags: number;
  /** Initial volume: low word left, high word right (0xFFFF full), when TSSNDCAPS_VOLUME. */
  volume: number;
  pitch: number;
  /** The client's UDP port (big-endian on the wire); 0: virtual channels only. */
  dgramPort: number;
  lastBlockConfirmed: number;
  version: number;
  /** The subset of the server's formats the client plays, in its order (wFormatNo indexes this). */
  formats: AudioFormat[];
}

export type ClientRdpsndPdu =
  | ClientAudioFormats
  | { kind: 'qualityMode'; qualityMode: number }
  | { kind: 'trainingConfirm'; timeStamp: number; packSize: number }
  | { kind: 'waveConfirm'; timeStamp: number; confirmedBlockNo: number }
  /** A message type a client does not send over virtual channels, or one this server ignores. */
  | { kind: 'unknown'; msgType: number };

function header(w: WriteCursor, msgType: number, bodySize: number): WriteCursor {
  if (bodySize > 0xffff) throw new RangeError(`RDPSND PDU body of ${bodySize} bytes`);
  return w.u8(msgType).u8(0).u16le(bodySize);
}

function writeAudioFormat(w: WriteCursor, f: AudioFormat): void {
  w.u16le(f.formatTag).u16le(f.channels).u32le(f.samplesPerSec).u32le(f.avgBytesPerSec).u16le(f.blockAlign).u16le(f.bitsPerSample).u16le(f.data.length).bytes(f.data);
}

function readAudioFormat(c: ReadCursor): AudioFormat {
  const formatTag = c.u16le();
  const channels = c.u16le();
  const samplesPerSec = c.u32le();
  const avgBytesPerSec = c.u32le();
  const blockAlign = c.u16le();
  const bitsPerSample = c.u16le();
  const cbSize = c.u16le();
  return { formatTag, channels, samplesPerSec, avgBytesPerSec, blockAlign, bitsPerSample, data: Buffer.from(c.bytes(cbSize)) };
}

/** Server Audio Formats and Version PDU (2.2.2.1). dwFlags, dwVolume, dwPitch and wDGramPort are unused: 0. */
export function encodeServerAudioFormats(options: { formats: readonly AudioFormat[]; version: number; lastBlockConfirmed: number }): Buffer {
  const body = new WriteCursor(64);
  body.u32le(0).u32le(0).u32le(0).u16le(0);
  body.u16le(options.formats.length).u8(options.lastBlockConfirmed).u16le(options.version).u8(0);
  for (const f of options.formats) writeAudioFormat(body, f);
  const b = body.toBuffer();
  return header(new WriteCursor(4 + b.length), SndMsgType.FORMATS, b.length).bytes(b).toBuffer();
}

/** Training PDU (2.2.3.1) without data: wPackSize 0. */
export function encodeTraining(timeStamp: number): Buffer {
  return header(new WriteCursor(8), SndMsgType.TRAINING, 4).u16le(timeStamp).u16le(0).toBuffer();
}

export interface WaveBlock {
  /** wTimeStamp: when the block was built, in ms (mod 2^16). */
  timeStamp: number;
  /** wFormatNo: index into the client's formats list. */
  formatNo: number;
  /** cBlockNo (mod 256). */
  blockNo: number;
  /** Encoded audio, at least 4 bytes. */
  data: Buffer;
}

/**
 * WaveInfo PDU (2.2.3.3) and Wave PDU (2.2.3.4): two channel messages. The WaveInfo carries
 * the first four bytes of audio; the Wave PDU carries four zero bytes in their place and the
 * rest. BodySize is the WaveInfo's body without its data field plus all the audio (8 + n).
 */
export function encodeWaveInfoAndWave(block: WaveBlock): [waveInfo: Buffer, wave: Buffer] {
  const { data } = block;
  if (data.length < 4 || data.length > MAX_WAVE_DATA) throw new RangeError(`Wave PDU with ${data.length} bytes of audio`);
  const info = header(new WriteCursor(WAVE_INFO_LENGTH), SndMsgType.WAVE, 8 + data.length)
    .u16le(block.timeStamp)
    .u16le(block.formatNo)
    .u8(block.blockNo)
    .zeros(3)
    .bytes(data.subarray(0, 4))
    .toBuffer();
  const wave = Buffer.allocUnsafe(data.length);
  wave.writeUInt32LE(0, 0);
  data.copy(wave, 4, 4);
  return [info, wave];
}

/** Wave2 PDU (2.2.3.10), for clients of version 8 and later: one message. */
export function encodeWave2(block: WaveBlock & { audioTimeStamp: number }): Buffer {
  const { data } = block;
  if (data.length > MAX_WAVE_DATA) throw new RangeError(`Wave2 PDU with ${data.length} bytes of audio`);
  return header(new WriteCursor(WAVE2_HEADER_LENGTH + data.length), SndMsgType.WAVE2, 12 + data.length)
    .u16le(block.timeStamp)
    .u16le(block.formatNo)
    .u8(block.blockNo)
    .zeros(3)
    .u32le(block.audioTimeStamp)
    .bytes(data)
    .toBuffer();
}

/** Volume PDU (2.2.4.1): low word left, high word right, 0xFFFF full. */
export function encodeVolume(left: number, right: number): Buffer {
  return header(new WriteCursor(8), SndMsgType.SETVOLUME, 4).u16le(left).u16le(right).toBuffer();
}

/** Close PDU (2.2.3.9). */
export function encodeClose(): Buffer {
  return header(new WriteCursor(4), SndMsgType.CLOSE, 0).toBuffer();
}

/** Decodes one message the client sent on "rdpsnd". */
export function decodeClientRdpsndPdu(message: Buffer): ClientRdpsndPdu {
  const c = new ReadCursor(message, 'RDPSND PDU');
  const msgType = c.u8();
  c.skip(1); // bPad
  const bodySize = c.u16le();
  // Bytes beyond BodySize (padding some clients add) are ignored.
  const body = c.sub(bodySize, `RDPSND PDU type ${msgType}`);
  switch (msgType) {
    case SndMsgType.FORMATS: {
      const flags = body.u32le();
      const volume = body.u32le();
      const pitch = body.u32le();
      const dgramPort = body.u16be();
      const count = body.u16le();
      const lastBlockConfirmed = body.u8();
      const version = body.u16le();
      body.skip(1); // bPad
      // Each AUDIO_FORMAT has 18 fixed bytes: a count the body cannot hold is a lie.
      if (count * 18 > body.remaining) {
        throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `Client Audio Formats: ${count} formats in ${body.remaining} bytes`);
      }
      const formats: AudioFormat[] = [];
      for (let i = 0; i < count; i++) formats.push(readAudioFormat(body));
      return { kind: 'formats', flags, volume, pitch, dgramPort, lastBlockConfirmed, version, formats };
    }
    case SndMsgType.QUALITYMODE: {
      const qualityMode = body.u16le();
      return { kind: 'qualityMode', qualityMode };
    }
    case SndMsgType.TRAINING: {
      const timeStamp = body.u16le();
      const packSize = body.u16le();
      return { kind: 'trainingConfirm', timeStamp, packSize };
    }
    case SndMsgType.WAVECONFIRM: {
      const timeStamp = body.u16le();
      const confirmedBlockNo = body.u8();
      return { kind: 'waveConfirm', timeStamp, confirmedBlockNo };
    }
    default:
      return { kind: 'unknown', msgType };
  }
}
