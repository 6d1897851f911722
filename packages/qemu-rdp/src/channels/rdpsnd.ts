// The "rdpsnd" static channel: audio output (MS-RDPEA), server side, PCM over virtual channels.
// At activation the server offers PCM in the format QEMU's audio voice has (display-core's
// AudioListener, Init), the client answers with the formats it plays, a Training round trip
// follows, then what the guest plays goes out as WaveInfo+Wave (or Wave2 for version 8
// clients) in blocks of ~40 ms. Flow control: at most MAX_UNCONFIRMED blocks wait for the
// client's Wave Confirm; beyond that PCM waits in a short buffer whose oldest audio is dropped,
// so a slow client hears gaps, never a growing delay.
// The audio comes from display-core's shared audio out source (one QEMU listener per display).
import { performance } from 'node:perf_hooks';
import {
  acquireSharedAudioOut,
  convertiblePcm,
  PcmConverter,
  type AudioLease,
  type AudioSource,
  type PcmFormat,
  type QemuDisplay,
} from '@vdi-sidecar/display-core';
import {
  decodeClientRdpsndPdu,
  encodeServerAudioFormats,
  encodeTraining,
  encodeVolume,
  encodeWave2,
  encodeWaveInfoAndWave,
  pcmFormat,
  RDPSND_VERSION_WIN7,
  RDPSND_VERSION_WIN8,
  sameAudioFormat,
  TSSNDCAPS_ALIVE,
  TSSNDCAPS_VOLUME,
  WAVE_FORMAT_PCM,
  type AudioFormat,
  type ClientAudioFormats,
} from '../pdu/rdpsnd.js';
import type { ChannelContext, StaticChannel, StaticChannelFactory } from './static-channel.js';

export interface RdpsndOptions {
  /** Gets the display's audio (default: the shared AudioListener of the display). */
  acquire?: (display: QemuDisplay) => Promise<AudioLease>;
  /** Milliseconds, monotonic (default performance.now). */
  now?: () => number;
  /** Audio per Wave PDU. */
  blockMs?: number;
  /** Blocks sent and not yet confirmed, at most. */
  maxUnconfirmed?: number;
  /** Audio waiting for the client beyond the unconfirmed blocks, at most (older audio is dropped). */
  maxPendingMs?: number;
  /** How long to wait at activation for QEMU to announce its voice's format. */
  formatWaitMs?: number;
}

const DEFAULTS = { blockMs: 40, maxUnconfirmed: 10, maxPendingMs: 200, formatWaitMs: 1000 };
/** Without new PCM for this long, what is buffered goes out as a short block (the tail). */
const FLUSH_MS = 25;
/** Blocks unconfirmed for this long are taken as lost: flow control stops waiting for them. */
const CONFIRM_TIMEOUT_MS = 2000;
/** When the stream clock is this far behind real time (a pause, dropped audio), it restarts at now. */
const REANCHOR_MS = 100;
/** cLastBlockConfirmed of the Server Audio Formats PDU: the first block is this plus one. */
const INITIAL_BLOCK_NO = 0;
/** The version this server announces. */
const SERVER_VERSION = RDPSND_VERSION_WIN7;
/** The format offered when QEMU announced none in time: QEMU's default mixing format. */
const FALLBACK_FORMAT = { frequency: 44100, channels: 2 };

// ---- The channel ---------------------------------------------------------------------------

type State =
  | 'inactive'
  /** Getting the audio source and QEMU's format. */
  | 'starting'
  /** Server Audio Formats sent; waiting for the client's. */
  | 'formats-sent'
  | 'training'
  | 'streaming'
  /** No audio for this client (none in the VM, or nothing the client plays). */
  | 'off'
  | 'closed';

interface SentBlock {
  blockNo: number;
  sentAt: number;
}

export function createRdpsndChannel(options: RdpsndOptions = {}): StaticChannelFactory {
  return (context) => new RdpsndChannel(context, options);
}

class RdpsndChannel implements StaticChannel {
  private state: State = 'inactive';
  private readonly acquire: (display: QemuDisplay) => Promise<AudioLease>;
  private readonly now: () => number;
  private readonly blockMs: number;
  private readonly maxUnconfirmed: number;
  private readonly maxPendingMs: number;
  private readonly formatWaitMs: number;
  private lease: AudioLease | undefined;
  private offered: AudioFormat[] = [];
  /** The format audio goes out in, and its index in the client's list (wFormatNo). */
  private chosen: { format: AudioFormat; formatNo: number } | undefined;
  private clientVersion = 0;
  private clientFlags = 0;
  private readonly converters = new Map<bigint, PcmConverter | undefined>();
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private outstanding: SentBlock[] = [];
  private nextBlockNo = (INITIAL_BLOCK_NO + 1) & 0xff;
  /** The stream clock: when the next block's first frame plays, in `now()` milliseconds. */
  private clock: number | undefined;
  private lastDataAt = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private volume: { mute: boolean; volume: Buffer } | undefined;
  private droppedBytes = 0;
  private sentBlocks = 0;
  private warnedStale = false;

  constructor(
    private readonly context: ChannelContext,
    options: RdpsndOptions,
  ) {
    this.acquire = options.acquire ?? acquireSharedAudioOut;
    this.now = options.now ?? (() => performance.now());
    this.blockMs = options.blockMs ?? DEFAULTS.blockMs;
    this.maxUnconfirmed = options.maxUnconfirmed ?? DEFAULTS.maxUnconfirmed;
    this.maxPendingMs = options.maxPendingMs ?? DEFAULTS.maxPendingMs;
    this.formatWaitMs = options.formatWaitMs ?? DEFAULTS.formatWaitMs;
  }

  onActive(): void {
    // The channel lives across reactivations: only the first activation starts it.
    if (this.state !== 'inactive') return;
    this.state = 'starting';
    this.start().catch((err: unknown) => {
      if (this.state === 'closed') return;
      this.context.log('warn', `audio not started: ${(err as Error).message}`);
      this.state = 'off';
    });
  }

  onMessage(message: Buffer): void {
    const pdu = decodeClientRdpsndPdu(message);
    switch (pdu.kind) {
      case 'formats':
        return this.onClientFormats(pdu);
      case 'qualityMode':
        this.context.log('debug', `quality mode ${pdu.qualityMode}`);
        return;
      case 'trainingConfirm':
        if (this.state !== 'training' || !this.chosen) return;
        this.state = 'streaming';
        this.context.log(
          'info',
          `playing ${describeFormat(this.chosen.format)} (client version ${this.clientVersion}, ${this.clientVersion >= RDPSND_VERSION_WIN8 ? 'Wave2' : 'WaveInfo+Wave'} PDUs)`,
        );
        this.sendVolume();
        return;
      case 'waveConfirm':
        return this.onWaveConfirm(pdu.confirmedBlockNo);
      case 'unknown':
        this.context.log('debug', `ignored RDPSND PDU type ${pdu.msgType}`);
        return;
    }
  }

  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.flushTimer);
    this.unsubscribe();
    this.lease?.release();
    this.lease = undefined;
    if (this.sentBlocks) this.context.log('debug', `sent ${this.sentBlocks} audio blocks, dropped ${this.droppedBytes} bytes`);
  }

  // ---- Initialization sequence (MS-RDPEA 1.3.2.1) ------------------------------------------

  private async start(): Promise<void> {
    let lease: AudioLease;
    try {
      lease = await this.acquire(this.context.display);
    } catch (err) {
      if (this.state !== 'closed') {
        this.context.log('info', `no audio: ${(err as Error).message}`);
        this.state = 'off';
      }
      return;
    }
    if (this.state === 'closed') {
      lease.release();
      return;
    }
    this.lease = lease;
    const source = lease.source;
    source.on('data', this.onData);
    source.on('volume', this.onVolume);
    source.on('enabled', this.onEnabled);
    source.on('fini', this.onFini);
    const native = await this.waitForFormat(source);
    if (this.state !== 'starting') return;
    this.offered = offeredFormats(native);
    this.context.send(encodeServerAudioFormats({ formats: this.offered, version: SERVER_VERSION, lastBlockConfirmed: INITIAL_BLOCK_NO }));
    this.state = 'formats-sent';
  }

  /** The first voice's format, once QEMU announced one (it does on registration when a voice is open). */
  private waitForFormat(source: AudioSource): Promise<PcmFormat | undefined> {
    const first = () => [...source.formats.values()].find(convertiblePcm);
    const known = first();
    if (known) return Promise.resolve(known);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        source.off('init', onInit);
        resolve(first());
      };
      const onInit = (_voice: bigint, format: PcmFormat) => convertiblePcm(format) && done();
      const timer = setTimeout(done, this.formatWaitMs);
      source.on('init', onInit);
    });
  }

  private onClientFormats(pdu: ClientAudioFormats): void {
    if (this.state === 'closed' || this.state === 'inactive' || this.state === 'starting' || this.offered.length === 0) {
      this.context.log('debug', 'client audio formats before the server offered any: ignored');
      return;
    }
    this.resetStream();
    this.clientVersion = pdu.version;
    this.clientFlags = pdu.flags;
    this.chosen = undefined;
    const index = pdu.formats.findIndex((f) => f.formatTag === WAVE_FORMAT_PCM && this.offered.some((o) => sameAudioFormat(o, f)));
    if (!(pdu.flags & TSSNDCAPS_ALIVE)) {
      this.context.log('info', 'the client plays no audio (TSSNDCAPS_ALIVE not set)');
      this.state = 'off';
      return;
    }
    if (index < 0) {
      this.context.log('info', `the client plays none of the offered formats (it listed ${pdu.formats.length})`);
      this.state = 'off';
      return;
    }
    this.chosen = { format: pdu.formats[index]!, formatNo: index };
    this.context.send(encodeTraining(Math.floor(this.now()) & 0xffff));
    this.state = 'training';
  }

  // ---- Data transfer (1.3.2.2) -------------------------------------------------------------

  private readonly onData = (voice: bigint, pcm: Buffer): void => {
    if (this.state !== 'streaming' || !this.chosen) return;
    const converter = this.converterFor(voice);
    if (!converter) return;
    const out = converter.convert(pcm);
    if (out.length === 0) return;
    this.lastDataAt = this.now();
    this.pending.push(out);
    this.pendingBytes += out.length;
    this.dropBeyondLimit();
    this.pump(false);
    clearTimeout(this.flushTimer);
    this.flushTimer = setTimeout(() => this.pump(true), FLUSH_MS);
    this.flushTimer.unref?.();
  };

  private readonly onEnabled = (_voice: bigint, enabled: boolean): void => {
    if (!enabled) this.pump(true);
  };

  private readonly onFini = (voice: bigint): void => {
    this.converters.delete(voice);
  };

  private readonly onVolume = (_voice: bigint, mute: boolean, volume: Buffer): void => {
    this.volume = { mute, volume };
    this.sendVolume();
  };

  private converterFor(voice: bigint): PcmConverter | undefined {
    if (this.converters.has(voice)) return this.converters.get(voice);
    const format = this.lease?.source.formats.get(voice);
    let converter: PcmConverter | undefined;
    if (format && convertiblePcm(format) && this.chosen) {
      converter = new PcmConverter(format, { frequency: this.chosen.format.samplesPerSec, channels: this.chosen.format.channels });
    } else if (format) {
      this.context.log('warn', `voice ${voice}: cannot convert ${format.bits}-bit${format.float ? ' float' : ''} PCM`);
    }
    if (format) this.converters.set(voice, converter);
    return converter;
  }

  /** Keeps at most maxPendingMs of audio waiting: the oldest goes (whole frames). */
  private dropBeyondLimit(): void {
    const f = this.chosen!.format;
    const limit = Math.max(framesFor(f, this.maxPendingMs), framesFor(f, this.blockMs)) * f.blockAlign;
    let excess = this.pendingBytes - limit;
    if (excess <= 0) return;
    excess = Math.ceil(excess / f.blockAlign) * f.blockAlign;
    this.take(excess);
    this.droppedBytes += excess;
  }

  /** Sends blocks while the client has room: full blocks, or what is left when `flush`. */
  private pump(flush: boolean): void {
    if (this.state !== 'streaming' || !this.chosen) return;
    const f = this.chosen.format;
    const blockBytes = Math.min(framesFor(f, this.blockMs) * f.blockAlign, Math.floor(0xff00 / f.blockAlign) * f.blockAlign);
    this.forgetStaleBlocks();
    while (this.outstanding.length < this.maxUnconfirmed) {
      if (this.pendingBytes >= blockBytes) this.sendBlock(this.take(blockBytes));
      else if (flush && this.pendingBytes >= Math.max(4, f.blockAlign)) {
        const bytes = Math.floor(this.pendingBytes / f.blockAlign) * f.blockAlign;
        const data = this.take(bytes);
        this.sendBlock(data.length >= 4 ? data : Buffer.concat([data, Buffer.alloc(4 - data.length)]));
      } else break;
    }
  }

  private take(bytes: number): Buffer {
    const all = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending);
    const taken = all.subarray(0, bytes);
    const rest = all.subarray(bytes);
    this.pending = rest.length ? [rest] : [];
    this.pendingBytes = rest.length;
    return taken;
  }

  private sendBlock(data: Buffer): void {
    const f = this.chosen!.format;
    const now = this.now();
    // The clock advances by the audio sent, so timestamps follow the audio, not send jitter;
    // after a pause (or dropped audio) it restarts at now. It never goes back.
    if (this.clock === undefined || this.clock < now - REANCHOR_MS) this.clock = Math.max(this.clock ?? now, now);
    const timeMs = Math.floor(this.clock);
    this.clock += ((data.length / f.blockAlign) * 1000) / f.samplesPerSec;
    const block = { timeStamp: timeMs & 0xffff, formatNo: this.chosen!.formatNo, blockNo: this.nextBlockNo, data };
    this.nextBlockNo = (this.nextBlockNo + 1) & 0xff;
    if (this.clientVersion >= RDPSND_VERSION_WIN8) {
      this.context.send(encodeWave2({ ...block, audioTimeStamp: timeMs >>> 0 }));
    } else {
      const [info, wave] = encodeWaveInfoAndWave(block);
      this.context.send(info);
      this.context.send(wave);
    }
    this.outstanding.push({ blockNo: block.blockNo, sentAt: now });
    this.sentBlocks++;
  }

  private onWaveConfirm(blockNo: number): void {
    const i = this.outstanding.findIndex((b) => b.blockNo === blockNo);
    if (i < 0) return; // late, or from before a reset
    // Blocks sent before the confirmed one and still unconfirmed are lost (3.2.5.2.1.1).
    this.outstanding.splice(0, i + 1);
    this.warnedStale = false;
    this.pump(this.now() - this.lastDataAt >= FLUSH_MS);
  }

  private forgetStaleBlocks(): void {
    const oldest = this.outstanding[0];
    if (!oldest || this.now() - oldest.sentAt < CONFIRM_TIMEOUT_MS) return;
    if (!this.warnedStale) this.context.log('warn', `no Wave Confirm for ${this.outstanding.length} audio blocks in ${CONFIRM_TIMEOUT_MS} ms`);
    this.warnedStale = true;
    this.outstanding = [];
  }

  private sendVolume(): void {
    if (this.state !== 'streaming' || !(this.clientFlags & TSSNDCAPS_VOLUME) || !this.volume) return;
    const { mute, volume } = this.volume;
    const level = (v: number | undefined) => (mute || v === undefined ? 0 : Math.round((v * 0xffff) / 255));
    this.context.send(encodeVolume(level(volume[0]), level(volume.length > 1 ? volume[1] : volume[0])));
  }

  private resetStream(): void {
    clearTimeout(this.flushTimer);
    this.pending = [];
    this.pendingBytes = 0;
    this.outstanding = [];
    this.converters.clear();
    this.clock = undefined;
  }

  private unsubscribe(): void {
    const source = this.lease?.source;
    if (!source) return;
    source.off('data', this.onData);
    source.off('volume', this.onVolume);
    source.off('enabled', this.onEnabled);
    source.off('fini', this.onFini);
  }
}

function framesFor(f: AudioFormat, ms: number): number {
  return Math.max(1, Math.round((f.samplesPerSec * ms) / 1000));
}

/**
 * PCM, 16-bit, in QEMU's rate and channels first (no resampling), then common fallbacks the
 * converter produces for clients that cannot play that.
 */
export function offeredFormats(native: PcmFormat | undefined): AudioFormat[] {
  const base = native ?? FALLBACK_FORMAT;
  const candidates = [
    pcmFormat(base.frequency, base.channels, 16),
    pcmFormat(base.frequency, 2, 16),
    pcmFormat(44100, 2, 16),
    pcmFormat(48000, 2, 16),
    pcmFormat(22050, 2, 16),
  ];
  return candidates.filter((f, i) => f.blockAlign <= 0xffff && candidates.findIndex((g) => sameAudioFormat(f, g)) === i);
}

function describeFormat(f: AudioFormat): string {
  return `PCM ${f.samplesPerSec} Hz, ${f.channels} channel${f.channels === 1 ? '' : 's'}, ${f.bitsPerSample}-bit`;
}

/** The rdpsnd channel as the server runs it. */
export const rdpsndChannel: StaticChannelFactory = createRdpsndChannel();
