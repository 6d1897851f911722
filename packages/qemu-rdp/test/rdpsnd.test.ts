// RDPSND (MS-RDPEA): the PDUs against the spec's section 4 examples, and the
// channel's initialization sequence, data transfer and flow control against a stand-in audio source.
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AudioEvents, AudioLease, AudioSource, ClipboardPeer, PcmFormat, QemuDisplay } from '@vdi-sidecar/display-core';
import { createRdpsndChannel, offeredFormats } from '../src/channels/rdpsnd.js';
import { RdpProtocolError } from '../src/pdu/errors.js';
import {
  decodeClientRdpsndPdu,
  encodeServerAudioFormats,
  encodeTraining,
  encodeVolume,
  encodeWave2,
  encodeWaveInfoAndWave,
  pcmFormat,
  SndMsgType,
  TSSNDCAPS_ALIVE,
  TSSNDCAPS_VOLUME,
  WAVE_FORMAT_PCM,
  type AudioFormat,
} from '../src/pdu/rdpsnd.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** The five formats of the examples in MS-RDPEA 4.1.1 and 4.1.2 (PCM, A-law, mu-law, MS ADPCM, IMA ADPCM). */
const EXAMPLE_FORMATS: AudioFormat[] = [
  { formatTag: 0x01, channels: 2, samplesPerSec: 22050, avgBytesPerSec: 88200, blockAlign: 4, bitsPerSample: 16, data: Buffer.alloc(0) },
  { formatTag: 0x06, channels: 2, samplesPerSec: 22050, avgBytesPerSec: 44100, blockAlign: 2, bitsPerSample: 8, data: Buffer.alloc(0) },
  { formatTag: 0x07, channels: 2, samplesPerSec: 22050, avgBytesPerSec: 44100, blockAlign: 2, bitsPerSample: 8, data: Buffer.alloc(0) },
  {
    formatTag: 0x02, channels: 2, samplesPerSec: 22050, avgBytesPerSec: 22311, blockAlign: 1024, bitsPerSample: 4,
    data: hex('f4 03 07 00 00 01 00 00 00 02 00 ff 00 00 00 00 c0 00 40 00 f0 00 00 00 cc 01 30 ff 88 01 18 ff'),
  },
  { formatTag: 0x11, channels: 2, samplesPerSec: 22050, avgBytesPerSec: 22201, blockAlign: 1024, bitsPerSample: 4, data: hex('f903') },
];

/** MS-RDPEA 4.1.1, Server Audio Formats and Version PDU. */
const SPEC_SERVER_FORMATS = hex(`
  07 2b 90 00 08 fb 8b 00 e0 f1 09 00 70 27 1f 77
  00 00 05 00 ff 05 00 00 01 00 02 00 22 56 00 00
  88 58 01 00 04 00 10 00 00 00 06 00 02 00 22 56
  00 00 44 ac 00 00 02 00 08 00 00 00 07 00 02 00
  22 56 00 00 44 ac 00 00 02 00 08 00 00 00 02 00
  02 00 22 56 00 00 27 57 00 00 00 04 04 00 20 00
  f4 03 07 00 00 01 00 00 00 02 00 ff 00 00 00 00
  c0 00 40 00 f0 00 00 00 cc 01 30 ff 88 01 18 ff
  11 00 02 00 22 56 00 00 b9 56 00 00 00 04 04 00
  02 00 f9 03`);

/** MS-RDPEA 4.1.2, Client Audio Formats and Version PDU: version 5, ALIVE|VOLUME, full volume, the same formats. */
const SPEC_CLIENT_FORMATS = Buffer.concat([
  hex('07 00 90 00 03 00 00 00 ff ff ff ff 00 f7 f9 00 00 00 05 00 00 05 00 00'),
  SPEC_SERVER_FORMATS.subarray(24),
]);

describe('RDPSND PDUs (MS-RDPEA 2.2, examples of section 4)', () => {
  it('encodes the Server Audio Formats and Version PDU of 4.1.1 (unused fields zero)', () => {
    const expected = Buffer.from(SPEC_SERVER_FORMATS);
    expected[1] = 0; // bPad
    expected.fill(0, 4, 16); // dwFlags, dwVolume, dwPitch: arbitrary, ignored on receipt
    expect(EXAMPLE_FORMATS[3]!.data.length).toBe(32);
    expect(encodeServerAudioFormats({ formats: EXAMPLE_FORMATS, version: 5, lastBlockConfirmed: 255 })).toEqual(expected);
  });

  it('decodes the Client Audio Formats and Version PDU of 4.1.2', () => {
    expect(decodeClientRdpsndPdu(SPEC_CLIENT_FORMATS)).toEqual({
      kind: 'formats',
      flags: TSSNDCAPS_ALIVE | TSSNDCAPS_VOLUME,
      volume: 0xffffffff,
      pitch: 0x00f9f700,
      dgramPort: 0,
      lastBlockConfirmed: 0,
      version: 5,
      formats: EXAMPLE_FORMATS,
    });
  });

  it('encodes a Training PDU and decodes the Training Confirm PDU of 4.1.4', () => {
    expect(encodeTraining(0x89da)).toEqual(hex('06 00 04 00 da 89 00 00'));
    expect(decodeClientRdpsndPdu(hex('06 55 04 00 da 89 00 04'))).toEqual({ kind: 'trainingConfirm', timeStamp: 0x89da, packSize: 0x400 });
  });

  it('splits audio into a WaveInfo PDU (first 4 bytes) and a Wave PDU (4 zero bytes, the rest), as in 4.2.1–4.2.2', () => {
    const data = Buffer.from([1, 2, 3, 4, 5, 6, 7, 8]);
    const [info, wave] = encodeWaveInfoAndWave({ timeStamp: 0xadd7, formatNo: 15, blockNo: 8, data });
    // BodySize: the WaveInfo body without its Data field (8) plus all the audio.
    expect(info).toEqual(hex('02 00 10 00 d7 ad 0f 00 08 00 00 00 01 02 03 04'));
    expect(wave).toEqual(hex('00 00 00 00 05 06 07 08'));
    expect(() => encodeWaveInfoAndWave({ timeStamp: 0, formatNo: 0, blockNo: 0, data: Buffer.alloc(3) })).toThrow(RangeError);
  });

  it('decodes the Wave Confirm PDU of 4.2.3', () => {
    expect(decodeClientRdpsndPdu(hex('05 00 04 00 b7 5a 08 00'))).toEqual({ kind: 'waveConfirm', timeStamp: 0x5ab7, confirmedBlockNo: 8 });
  });

  it('encodes the Wave2 PDU header of 4.2.4', () => {
    const pdu = encodeWave2({ timeStamp: 0xa116, formatNo: 3, blockNo: 2, audioTimeStamp: 0x0dacb8c2, data: Buffer.alloc(248, 0x27) });
    expect(pdu.subarray(0, 16)).toEqual(hex('0d 00 04 01 16 a1 03 00 02 00 00 00 c2 b8 ac 0d'));
    expect(pdu.length).toBe(16 + 248);
  });

  it('encodes Volume (2.2.4.1), and decodes Quality Mode (2.2.2.3)', () => {
    expect(encodeVolume(0xffff, 0x8000)).toEqual(hex('03 00 04 00 ff ff 00 80'));
    expect(decodeClientRdpsndPdu(hex('0c 00 04 00 02 00 00 00'))).toEqual({ kind: 'qualityMode', qualityMode: 2 });
    expect(decodeClientRdpsndPdu(hex('08 00 00 00'))).toEqual({ kind: 'unknown', msgType: SndMsgType.CRYPTKEY });
  });

  it('refuses truncated PDUs and lying lengths with RdpProtocolError', () => {
    for (const bad of ['05 00', '05 00 04 00 b7 5a', '05 00 ff ff 00', '07 00 16 00' + '00'.repeat(20)]) {
      expect(() => decodeClientRdpsndPdu(hex(bad))).toThrow(RdpProtocolError);
    }
    // 200 formats announced, none there.
    const lying = Buffer.from(SPEC_CLIENT_FORMATS.subarray(0, 24));
    lying.writeUInt16LE(20, 2);
    lying.writeUInt16LE(200, 18);
    expect(() => decodeClientRdpsndPdu(lying)).toThrow(/200 formats/);
  });
});

const S16_STEREO_44K: PcmFormat = { bits: 16, signed: true, float: false, frequency: 44100, channels: 2, bytesPerFrame: 4, bytesPerSecond: 176400, bigEndian: false };

// ---- The channel -------------------------------------------------------------------------------

class FakeSource extends EventEmitter<AudioEvents> implements AudioSource {
  readonly formats = new Map<bigint, PcmFormat>();
}

function harness(options: { noAudio?: boolean; format?: PcmFormat | undefined } = {}) {
  const source = new FakeSource();
  const sent: Buffer[] = [];
  const logs: string[] = [];
  let released = 0;
  let clock = 1000;
  if (options.format !== undefined || !('format' in options)) source.formats.set(1n, options.format ?? S16_STEREO_44K);
  const channel = createRdpsndChannel({
    acquire: async (): Promise<AudioLease> => {
      if (options.noAudio) throw new Error('no D-Bus audio');
      return { source, release: () => released++ };
    },
    now: () => clock,
    formatWaitMs: 50,
  })({
    display: {} as QemuDisplay,
    clipboard: undefined as ClipboardPeer | undefined,
    log: (_level, message) => logs.push(message),
    send: (m) => sent.push(m),
  });
  return {
    source,
    sent,
    logs,
    channel,
    released: () => released,
    advance: (ms: number) => (clock += ms),
    /** A Client Audio Formats PDU listing `formats`. */
    clientFormats: (formats: AudioFormat[], version = 8, flags = TSSNDCAPS_ALIVE) => {
      const server = encodeServerAudioFormats({ formats, version, lastBlockConfirmed: 0 });
      const pdu = Buffer.from(server);
      pdu.writeUInt32LE(flags, 4);
      return pdu;
    },
  };
}

/** Loud PCM: `ms` of a square wave, signed 16-bit stereo at 44.1 kHz. */
function loud(ms: number): Buffer {
  const frames = Math.round((44100 * ms) / 1000);
  const b = Buffer.alloc(frames * 4);
  for (let i = 0; i < frames; i++) {
    b.writeInt16LE(i & 32 ? 12000 : -12000, i * 4);
    b.writeInt16LE(i & 32 ? 12000 : -12000, i * 4 + 2);
  }
  return b;
}

const flushAsync = () => new Promise((r) => setImmediate(r));

describe('rdpsnd channel', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] }));
  afterEach(() => vi.useRealTimers());

  async function streaming(version: number) {
    const h = harness();
    h.channel.onActive?.();
    await flushAsync();
    const formats = h.sent.shift()!;
    expect(formats[0]).toBe(SndMsgType.FORMATS);
    // The client lists an unknown format first, then ours: ours is picked (wFormatNo 1).
    h.channel.onMessage(h.clientFormats([pcmFormat(11025, 1, 8), pcmFormat(44100, 2, 16)], version));
    const training = h.sent.shift()!;
    expect(training.subarray(0, 4)).toEqual(hex('06 00 04 00'));
    h.channel.onMessage(Buffer.concat([training.subarray(0, 4), training.subarray(4, 8)])); // Training Confirm
    return h;
  }

  it('offers PCM in the format QEMU announced first, at version 6, first block number 1', async () => {
    const h = harness({ format: { ...S16_STEREO_44K, frequency: 48000, channels: 1, bytesPerFrame: 2 } });
    h.channel.onActive?.();
    await flushAsync();
    expect(h.sent).toHaveLength(1);
    const pdu = h.sent[0]!;
    expect(pdu.readUInt16LE(18)).toBe(offeredFormats({ ...S16_STEREO_44K, frequency: 48000, channels: 1, bytesPerFrame: 2 }).length);
    expect(pdu[20]).toBe(0); // cLastBlockConfirmed
    expect(pdu.readUInt16LE(21)).toBe(6);
    const first = pdu.subarray(24, 42);
    expect([first.readUInt16LE(0), first.readUInt16LE(2), first.readUInt32LE(4), first.readUInt16LE(14)]).toEqual([WAVE_FORMAT_PCM, 1, 48000, 16]);
  });

  it('waits for QEMU to announce a voice, then falls back to 44.1 kHz stereo', async () => {
    const h = harness({ format: undefined });
    h.source.formats.clear();
    h.channel.onActive?.();
    await flushAsync();
    expect(h.sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(60);
    expect(h.sent).toHaveLength(1);
    expect(h.sent[0]!.subarray(24, 42)).toEqual(encodeServerAudioFormats({ formats: [pcmFormat(44100, 2, 16)], version: 6, lastBlockConfirmed: 0 }).subarray(24, 42));
  });

  it('streams as Wave2 PDUs to version 8 clients, in ~40 ms blocks with monotonic audio timestamps', async () => {
    const h = await streaming(8);
    for (let i = 0; i < 20; i++) {
      h.source.emit('data', 1n, loud(10));
      h.advance(10);
    }
    const waves = h.sent.filter((m) => m[0] === SndMsgType.WAVE2);
    expect(waves.length).toBe(5); // 200 ms of audio, 1764 frames (40 ms) a block
    expect(waves.map((w) => w[8])).toEqual([1, 2, 3, 4, 5]); // cBlockNo
    expect(waves.every((w) => w.readUInt16LE(6) === 1)).toBe(true); // wFormatNo
    expect(waves.every((w) => w.length === 16 + 1764 * 4)).toBe(true);
    const stamps = waves.map((w) => w.readUInt32LE(12));
    expect(stamps.slice(1).map((s, i) => s - stamps[i]!)).toEqual([40, 40, 40, 40]);
    expect(stamps.map((s) => s & 0xffff)).toEqual(waves.map((w) => w.readUInt16LE(4)));
    // The audio arrives untouched.
    expect(Buffer.concat(waves.map((w) => w.subarray(16)))).toEqual(Buffer.concat(new Array(20).fill(loud(10))));
  });

  it('streams as WaveInfo + Wave to older clients, and sends the tail once PCM stops', async () => {
    const h = await streaming(6);
    h.source.emit('data', 1n, loud(50));
    expect(h.sent.map((m) => m.length)).toEqual([16, 1764 * 4]);
    expect(h.sent[0]![8]).toBe(1);
    await vi.advanceTimersByTimeAsync(30);
    expect(h.sent).toHaveLength(4);
    const frames = Math.round(44100 * 0.05) - 1764;
    expect(h.sent[2]!.readUInt16LE(2)).toBe(8 + frames * 4);
    expect(h.sent[3]!.length).toBe(frames * 4);
  });

  it('keeps at most 10 blocks unconfirmed and drops the oldest audio rather than queueing', async () => {
    const h = await streaming(8);
    for (let i = 0; i < 100; i++) {
      h.source.emit('data', 1n, loud(10)); // a second of audio, no confirms
      h.advance(10);
    }
    const waves = () => h.sent.filter((m) => m[0] === SndMsgType.WAVE2);
    expect(waves()).toHaveLength(10);
    // A confirm of the 3rd block confirms the first three: three more go out, from the newest audio.
    h.channel.onMessage(hex('05 00 04 00 00 00 03 00'));
    expect(waves()).toHaveLength(13);
    expect(waves()[12]![8]).toBe(13);
    // A confirm of a block not outstanding changes nothing.
    h.channel.onMessage(hex('05 00 04 00 00 00 03 00'));
    expect(waves()).toHaveLength(13);
    // Audio dropped while waiting: the clock restarted at now, still monotonic.
    const stamps = waves().map((w) => w.readUInt32LE(12));
    expect(stamps.every((s, i) => i === 0 || s >= stamps[i - 1]!)).toBe(true);
    expect(stamps[10]! - stamps[9]!).toBeGreaterThan(40);
  });

  it('stops waiting for confirms that never come', async () => {
    const h = await streaming(8);
    for (let i = 0; i < 50; i++) h.source.emit('data', 1n, loud(10));
    expect(h.sent.filter((m) => m[0] === SndMsgType.WAVE2)).toHaveLength(10);
    h.advance(2500);
    h.source.emit('data', 1n, loud(40));
    expect(h.sent.filter((m) => m[0] === SndMsgType.WAVE2).length).toBeGreaterThan(10);
    expect(h.logs.some((l) => /no Wave Confirm/.test(l))).toBe(true);
  });

  it('forwards QEMU volume changes to clients that take them', async () => {
    const h = harness();
    h.channel.onActive?.();
    await flushAsync();
    h.channel.onMessage(h.clientFormats([pcmFormat(44100, 2, 16)], 6, TSSNDCAPS_ALIVE | TSSNDCAPS_VOLUME));
    h.channel.onMessage(hex('06 00 04 00 00 00 00 00'));
    h.sent.length = 0;
    h.source.emit('volume', 1n, false, Buffer.from([255, 128]));
    h.source.emit('volume', 1n, true, Buffer.from([255, 255]));
    expect(h.sent).toEqual([encodeVolume(0xffff, 0x8080), encodeVolume(0, 0)]);
  });

  it('sends no audio to a client that is not alive or plays none of the formats, and none before training', async () => {
    const notAlive = harness();
    notAlive.channel.onActive?.();
    await flushAsync();
    notAlive.channel.onMessage(notAlive.clientFormats([pcmFormat(44100, 2, 16)], 8, 0));
    notAlive.source.emit('data', 1n, loud(100));
    expect(notAlive.sent).toHaveLength(1);

    const noFormat = harness();
    noFormat.channel.onActive?.();
    await flushAsync();
    noFormat.channel.onMessage(noFormat.clientFormats([pcmFormat(8000, 1, 8)]));
    expect(noFormat.sent).toHaveLength(1);
    expect(noFormat.logs.join('\n')).toMatch(/none of the offered formats/);

    const untrained = harness();
    untrained.channel.onActive?.();
    await flushAsync();
    untrained.channel.onMessage(untrained.clientFormats([pcmFormat(44100, 2, 16)]));
    untrained.source.emit('data', 1n, loud(100));
    expect(untrained.sent.map((m) => m[0])).toEqual([SndMsgType.FORMATS, SndMsgType.TRAINING]);
  });

  it('stays silent without D-Bus audio, and releases the audio source when the session ends', async () => {
    const none = harness({ noAudio: true });
    none.channel.onActive?.();
    await flushAsync();
    expect(none.sent).toHaveLength(0);
    expect(none.logs.join('\n')).toMatch(/no audio: no D-Bus audio/);

    const h = await streaming(8);
    h.channel.onActive?.(); // a reactivation changes nothing
    h.channel.close();
    expect(h.released()).toBe(1);
    expect(h.source.listenerCount('data')).toBe(0);
    h.source.emit('data', 1n, loud(100));
    expect(h.sent.filter((m) => m[0] === SndMsgType.WAVE2)).toHaveLength(0);
  });
});
