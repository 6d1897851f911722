// The audio out of a QEMU display, shared: QEMU keeps one audio out listener per D-Bus peer
// (audio/dbusaudio.c refuses a second with "already registered"), and all sessions of a display
// share its bus connection, so one AudioListener serves every session of a display (qemu-rdp's
// rdpsnd channels, qemu-vnc's QEMU Audio clients): started by the first, closed shortly after
// the last.
import { EventEmitter } from 'node:events';
import { AudioListener, type AudioEvents, type PcmFormat } from './audio.js';
import type { QemuDisplay } from './display.js';

/** What a session plays: the shared audio out listener, or a stand-in in tests. */
export interface AudioSource extends EventEmitter<AudioEvents> {
  /** The open voices and their formats. */
  readonly formats: ReadonlyMap<bigint, PcmFormat>;
}

export interface AudioLease {
  readonly source: AudioSource;
  release(): void;
}

/** After the last session leaves, the listener stays this long (a reconnecting client reuses it). */
const LINGER_MS = 3000;
const REGISTER_RETRIES = 5;
const REGISTER_RETRY_MS = 300;

class SharedAudioOut extends EventEmitter<AudioEvents> implements AudioSource {
  readonly formats = new Map<bigint, PcmFormat>();
  private listener: AudioListener | undefined;
  private starting: Promise<void> | undefined;
  private users = 0;
  private linger: NodeJS.Timeout | undefined;

  constructor(
    private readonly display: QemuDisplay,
    private readonly forget: () => void,
  ) {
    super();
    display.on('attached', this.onAttached);
    display.on('detached', this.onDetached);
  }

  async acquire(): Promise<AudioLease> {
    this.users++;
    clearTimeout(this.linger);
    this.linger = undefined;
    try {
      await this.ensureStarted();
    } catch (err) {
      this.release();
      throw err;
    }
    let released = false;
    return {
      source: this,
      release: () => {
        if (released) return;
        released = true;
        this.release();
      },
    };
  }

  private release(): void {
    this.users--;
    if (this.users > 0) return;
    clearTimeout(this.linger);
    this.linger = setTimeout(() => {
      if (this.users > 0) return;
      this.stopListener();
      this.display.off('attached', this.onAttached);
      this.display.off('detached', this.onDetached);
      this.forget();
    }, LINGER_MS);
    this.linger.unref();
  }

  private ensureStarted(): Promise<void> {
    if (this.listener) return Promise.resolve();
    this.starting ??= this.start().finally(() => (this.starting = undefined));
    return this.starting;
  }

  private async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const listener = new AudioListener(this.display, 'out');
      listener.on('init', (voice, format) => {
        this.formats.set(voice, format);
        this.emit('init', voice, format);
      });
      listener.on('fini', (voice) => {
        this.formats.delete(voice);
        this.emit('fini', voice);
      });
      listener.on('enabled', (voice, enabled) => this.emit('enabled', voice, enabled));
      listener.on('volume', (voice, mute, volume) => this.emit('volume', voice, mute, volume));
      listener.on('data', (voice, pcm) => this.emit('data', voice, pcm));
      try {
        await listener.start();
      } catch (err) {
        listener.removeAllListeners();
        // QEMU notices a closed listener link asynchronously: a quick restart can find the
        // old registration still there.
        if (attempt < REGISTER_RETRIES && /already registered/.test((err as Error).message)) {
          await new Promise((r) => setTimeout(r, REGISTER_RETRY_MS));
          continue;
        }
        throw err;
      }
      if (this.users === 0) {
        listener.close();
        return;
      }
      this.listener = listener;
      return;
    }
  }

  private stopListener(): void {
    const listener = this.listener;
    this.listener = undefined;
    if (!listener) return;
    listener.removeAllListeners();
    listener.close();
    for (const voice of [...this.formats.keys()]) {
      this.formats.delete(voice);
      this.emit('fini', voice);
    }
  }

  private readonly onAttached = (): void => {
    if (this.users > 0) this.ensureStarted().catch(() => undefined);
  };

  private readonly onDetached = (): void => this.stopListener();
}

const sharedAudio = new WeakMap<QemuDisplay, SharedAudioOut>();

/** The display's audio out listener, shared by all its sessions. */
export function acquireSharedAudioOut(display: QemuDisplay): Promise<AudioLease> {
  let shared = sharedAudio.get(display);
  if (!shared) {
    shared = new SharedAudioOut(display, () => sharedAudio.delete(display));
    sharedAudio.set(display, shared);
  }
  return shared.acquire();
}
