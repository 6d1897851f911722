// One RFB client: the handshake (RFC 6143 §7.1–7.3, VeNCrypt), then its messages and the
// updates it is sent. Updates are driven by damage and paced by the client: a request only
// marks "update wanted", damage accumulates in this client's own region, and nothing is
// encoded while the socket still holds more than a frame's worth of unsent bytes — a slow
// client gets coalesced updates, never a queue (QEMU's fix for CVE-2017-15124).
import type { Duplex } from 'node:stream';
import { TLSSocket, type SecureContext } from 'node:tls';
import {
  acquireSharedAudioOut,
  decodeLockModifiers,
  diffButtons,
  keysymToQnum,
  PIXEL_FORMAT_BGRX,
  StallWatch,
  QNUM,
  validatePixelFormat,
  PcmConverter,
  convertiblePcm,
  type AudioLease,
  type ClipboardPeer,
  type AuthRateLimiter,
  type PcmFormat,
  type DamageConsumer,
  type PixelFormat,
  type ProtocolMetrics,
  type QemuDisplay,
  type Rect,
} from '@vdi-sidecar/display-core';
import {
  decodeClipboardText,
  decodeExtendedClipboardProvide,
  parseClientInit,
  parseClientMessage,
  parseProtocolVersion,
  PROTOCOL_VERSION_LENGTH,
  type ClientMessage,
  type RfbVersion,
} from '../rfb/client-messages.js';
import {
  ClipboardAction,
  ClipboardFormat,
  FenceFlag,
  PseudoEncoding,
  QemuAudioSampleFormat,
  SecurityType,
  VeNCryptSubtype,
  DesktopSizeReason,
  DesktopSizeStatus,
  Encoding,
} from '../rfb/constants.js';
import { encodeCopyRect, EncoderSet, encodingName, negotiateEncodings, type EncodingPreferences } from '../rfb/encoders/index.js';
import { RfbProtocolError } from '../rfb/errors.js';
import {
  encodeAckRect,
  encodeCursorRect,
  encodeDesktopSizeRect,
  encodeEndOfContinuousUpdates,
  encodeExtendedClipboardCaps,
  encodeExtendedClipboardNotify,
  encodeExtendedClipboardProvideText,
  encodeExtendedClipboardRequest,
  encodeExtendedDesktopSizeRect,
  encodeFramebufferUpdateHeader,
  encodeLedStateRect,
  encodeProtocolVersion,
  encodeQemuAudioBegin,
  encodeQemuAudioData,
  encodeQemuAudioEnd,
  encodeSecurityFailure,
  encodeSecurityResult,
  encodeSecurityTypes,
  encodeSecurityTypeV33,
  encodeServerCutText,
  encodeServerFence,
  encodeServerInit,
  encodeVeNCryptSubtypeAccepted,
  encodeVeNCryptSubtypes,
  encodeVeNCryptVersion,
  encodeVeNCryptVersionRefused,
} from '../rfb/server-messages.js';
import { createVncAuthChallenge, verifyVncAuthResponse } from '../rfb/vnc-auth.js';
import type { VncSecurity } from './auth.js';
import { ByteQueue } from './byte-queue.js';

export type SharePolicy = 'allow' | 'disconnect' | 'refuse';

/** How a client reached the server: plain TCP, the --websocket port, or the web console's. */
export type VncTransport = 'tcp' | 'websocket' | 'web-console';

export interface VncSessionOptions {
  transport: VncTransport;
  /**
   * Confirm the QEMU Extended Key Event pseudo-encoding when the client asks for it, so its
   * keys arrive as scancodes (the physical key: every keyboard layout works, the guest's
   * layout decides the character). Only for clients known to send real scancodes — noVNC
   * in a browser takes them from KeyboardEvent.code; see schedule() for why not others.
   */
  qemuKeyEvents: boolean;
}

/** What a session needs from the server that owns it. */
export interface SessionHost {
  readonly display: QemuDisplay;
  readonly clipboard: ClipboardPeer | undefined;
  readonly security: VncSecurity;
  readonly limiter: AuthRateLimiter;
  readonly metrics: ProtocolMetrics | undefined;
  /** Drop a client whose socket has taken none of its waiting output for this long (0: never). */
  readonly stallTimeoutMs: number;
  /** Anonymous-DH TLS context for the TLSNone/TLSVnc VeNCrypt subtypes. */
  readonly anonymousTls: SecureContext;
  desktopName(): string;
  /** Share policy check at ClientInit; a string is the reason to refuse this client. */
  admit(session: VncSession, shared: boolean): string | undefined;
  closed(session: VncSession): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
}

type Phase =
  | { name: 'version' }
  | { name: 'security-type' }
  | { name: 'vnc-auth'; challenge: Buffer }
  | { name: 'vencrypt-version' }
  | { name: 'vencrypt-subtype'; offered: number[] }
  | { name: 'tls-handshake' }
  | { name: 'client-init' }
  | { name: 'normal' }
  | { name: 'closed' };

/** Unsent bytes above which no new update is encoded (QEMU: one framebuffer, floor 1 MiB). */
const MIN_CONGESTION_LIMIT = 1 << 20;

const EXTENDED_CLIPBOARD_MAX = 1 << 20;

/** QEMU Audio SetFormat's sample rate, at most (QEMU refuses rates above INT_MAX; this is a sane bound). */
const MAX_AUDIO_FREQUENCY = 384_000;

/** The client's QEMU Audio format (rfbproto "QEMU Audio Client Message", SetFormat). */
interface AudioClientFormat {
  sampleFormat: number;
  channels: number;
  frequency: number;
}

/** A QEMU Audio stream to this client: the shared audio out, and a converter per guest voice. */
interface AudioStream {
  lease: AudioLease | undefined;
  readonly converters: Map<bigint, PcmConverter | undefined>;
  dropped: number;
}

/** Time a client has from connecting to ClientInit (QEMU's VNC server has none; TigerVNC 2 min). */
export const HANDSHAKE_TIMEOUT_MS = 30_000;

export class VncSession {
  readonly id: number;
  shared = true;
  private phase: Phase = { name: 'version' };
  private version: RfbVersion = '3.8';
  private stream: Duplex;
  private readonly input = new ByteQueue();
  private pixelFormat: PixelFormat = { ...PIXEL_FORMAT_BGRX };
  private prefs: EncodingPreferences = negotiateEncodings([]);
  private readonly encoders = new EncoderSet();
  private damage: DamageConsumer | undefined;
  private updateWanted = false;
  private continuous = false;
  private encoding = false;
  private clientWidth = 0;
  private clientHeight = 0;
  private pendingCursor = false;
  private pendingLeds = false;
  private pendingDesktopSize: { reason: number; status: number } | undefined;
  private buttons = 0;
  private readonly heldModifiers = new Set<number>();
  private extendedMouseButtons = false;
  private extendedClipboard = false;
  private pendingGuestText: string | undefined;
  private refuseAtVersion: string | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private readonly stall: StallWatch;
  private qemuKeyEventsConfirmed = false;
  private readonly unsubscribe: Array<() => void> = [];
  /** QEMU's default until the client sets one: S16, stereo, 44.1 kHz (ui/vnc.c). */
  private audioFormat: AudioClientFormat = { sampleFormat: QemuAudioSampleFormat.S16, channels: 2, frequency: 44100 };
  private audio: AudioStream | undefined;
  /** Bytes and FramebufferUpdates sent, for metrics and tests. */
  readonly stats = { bytes: 0, updates: 0, rects: 0 };
  /** When the client got past the handshake (ClientInit), for /api/vm. */
  connectedAt: Date | undefined;

  constructor(
    id: number,
    stream: Duplex,
    readonly remoteAddress: string,
    private readonly host: SessionHost,
    readonly options: VncSessionOptions = { transport: 'tcp', qemuKeyEvents: false },
  ) {
    this.id = id;
    this.stream = stream;
    this.stall = new StallWatch(
      () => this.stream.writableLength,
      host.stallTimeoutMs,
      (ms) => this.close(`not reading its updates (nothing taken for ${Math.round(ms / 1000)} s), dropped`, 'warn'),
    );
    this.attach(stream);
    // Over the failure limit: the refusal is sent once the client's version is known.
    if (host.limiter.blocked(remoteAddress)) {
      this.refuseAtVersion = 'too many authentication failures from this address; try again later';
    }
    this.write(encodeProtocolVersion('3.8'));
    // A connection that never finishes the handshake would hold its socket for ever.
    this.handshakeTimer = setTimeout(() => {
      if (this.phase.name !== 'normal') this.close(`handshake not completed within ${HANDSHAKE_TIMEOUT_MS / 1000} s`, 'warn');
    }, HANDSHAKE_TIMEOUT_MS);
    this.handshakeTimer.unref();
  }

  get isActive(): boolean {
    return this.phase.name === 'normal';
  }

  /** Closes the connection with a log line saying why. */
  close(reason: string, level: 'info' | 'warn' = 'info'): void {
    if (this.phase.name === 'closed') return;
    if (this.phase.name === 'normal') this.host.metrics?.clientDisconnected();
    this.phase = { name: 'closed' };
    clearTimeout(this.handshakeTimer);
    this.stall.stop();
    this.host.log(level, `client ${this.id} (${this.remoteAddress}): ${reason}`);
    this.stopAudio(!this.stream.destroyed && this.stream.writable);
    for (const off of this.unsubscribe.splice(0)) off();
    this.damage?.close();
    this.encoders.close();
    this.stream.end();
    // A client that stopped reading never lets 'end' flush: do not wait for it.
    setTimeout(() => this.stream.destroy(), 2000).unref();
    this.host.closed(this);
  }

  // ---- transport -------------------------------------------------------------------

  private attach(stream: Duplex): void {
    stream.on('data', this.onData);
    stream.on('error', (err: Error) => this.close(`connection error: ${err.message}`));
    stream.on('close', () => this.close('disconnected'));
    // The peer's end of the stream is the end of the session. A TCP socket follows 'end'
    // with 'close' by itself, but ws's createWebSocketStream does not (it emits 'close' only
    // once destroyed, and destroys only when our side has ended too): without this, a
    // noVNC tab that went away stayed a session — damage subscription, encoders and all —
    // until the next update failed to write.
    stream.on('end', this.onEnd);
    stream.on('drain', () => this.schedule());
  }

  private readonly onEnd = () => this.close('disconnected');

  private readonly onData = (chunk: Buffer) => {
    if (this.phase.name === 'closed') return;
    this.input.push(chunk);
    try {
      this.process();
    } catch (err) {
      const code = err instanceof RfbProtocolError ? `${err.code}: ` : '';
      this.close(`protocol error, dropped: ${code}${(err as Error).message}`, 'warn');
    }
  };

  private write(data: Buffer, evenIfClosed = false): boolean {
    if (this.phase.name === 'closed' && !evenIfClosed) return false;
    this.stats.bytes += data.length;
    this.host.metrics?.sent(data.length);
    const more = this.stream.write(data);
    this.stall.wrote();
    return more;
  }

  // ---- handshake -------------------------------------------------------------------

  /** Consumes complete messages from the input queue, phase by phase. */
  private process(): void {
    for (;;) {
      const buf = this.input.view();
      const used = this.step(buf);
      if (used === 0) return;
      this.input.consume(used);
    }
  }

  /** Handles what `buf` starts with; returns the bytes used, 0 when more are needed. */
  private step(buf: Buffer): number {
    const phase = this.phase;
    switch (phase.name) {
      case 'version': {
        if (buf.length < PROTOCOL_VERSION_LENGTH) return 0;
        this.version = parseProtocolVersion(buf.subarray(0, PROTOCOL_VERSION_LENGTH)).version;
        if (this.refuseAtVersion) {
          this.write(encodeSecurityFailure(this.version, this.refuseAtVersion));
          this.close(this.refuseAtVersion, 'warn');
          return PROTOCOL_VERSION_LENGTH;
        }
        this.offerSecurity();
        return PROTOCOL_VERSION_LENGTH;
      }
      case 'security-type': {
        if (buf.length < 1) return 0;
        this.chooseSecurity(buf[0]);
        return 1;
      }
      case 'vnc-auth': {
        if (buf.length < 16) return 0;
        this.checkVncAuth(phase.challenge, buf.subarray(0, 16));
        return 16;
      }
      case 'vencrypt-version': {
        if (buf.length < 2) return 0;
        if (buf[0] !== 0 || buf[1] < 2) {
          this.write(encodeVeNCryptVersionRefused());
          this.close(`VeNCrypt version ${buf[0]}.${buf[1]} not supported`, 'warn');
          return 2;
        }
        const offered = this.vencryptSubtypes();
        this.write(encodeVeNCryptSubtypes(offered));
        this.phase = { name: 'vencrypt-subtype', offered };
        return 2;
      }
      case 'vencrypt-subtype': {
        if (buf.length < 4) return 0;
        const subtype = buf.readUInt32BE(0);
        if (!phase.offered.includes(subtype)) {
          this.write(Buffer.from([0]));
          this.close(`VeNCrypt subtype ${subtype} was not offered`, 'warn');
          return 4;
        }
        this.write(encodeVeNCryptSubtypeAccepted());
        this.startTls(subtype, buf.subarray(4));
        return buf.length; // anything after the subtype is TLS, handed over in startTls
      }
      case 'tls-handshake':
        return 0;
      case 'client-init': {
        const init = parseClientInit(buf);
        if ('needBytes' in init) return 0;
        this.initialise(init.shared);
        return init.size;
      }
      case 'normal': {
        const parsed = parseClientMessage(buf, 0, {
          maxCutTextLength: EXTENDED_CLIPBOARD_MAX,
          extendedMouseButtons: this.extendedMouseButtons,
        });
        if ('needBytes' in parsed) return 0;
        this.handle(parsed.message);
        return parsed.size;
      }
      case 'closed':
        return buf.length;
    }
  }

  /** Security types for this server's settings (RFC 6143 §7.1.2). */
  private securityTypes(): number[] {
    const { password, allowNone } = this.host.security;
    const types: number[] = [];
    if (password) types.push(SecurityType.VncAuthentication);
    if (!password || allowNone) types.push(SecurityType.None);
    // Last: clients that take the first type they know (gtk-vnc) use the plain one; those
    // that prefer encryption (TigerVNC) still find VeNCrypt.
    types.push(SecurityType.VeNCrypt);
    return types;
  }

  private vencryptSubtypes(): number[] {
    const { password, tls } = this.host.security;
    if (password) return tls ? [VeNCryptSubtype.X509Vnc, VeNCryptSubtype.TLSVnc] : [VeNCryptSubtype.TLSVnc];
    return tls ? [VeNCryptSubtype.X509None, VeNCryptSubtype.TLSNone] : [VeNCryptSubtype.TLSNone];
  }

  private offerSecurity(): void {
    if (this.version === '3.3') {
      // RFB 3.3: the server decides (§7.1.2); VeNCrypt needs 3.7+.
      const type = this.host.security.password ? SecurityType.VncAuthentication : SecurityType.None;
      this.write(encodeSecurityTypeV33(type));
      this.afterSecurityType(type);
      return;
    }
    this.write(encodeSecurityTypes(this.securityTypes()));
    this.phase = { name: 'security-type' };
  }

  private chooseSecurity(type: number): void {
    if (!this.securityTypes().includes(type)) {
      if (this.version === '3.8') this.write(encodeSecurityResult(this.version, false, `security type ${type} was not offered`));
      this.close(`client chose security type ${type}, which was not offered`, 'warn');
      return;
    }
    this.afterSecurityType(type);
  }

  private afterSecurityType(type: number): void {
    if (type === SecurityType.None) {
      // 3.3 and 3.7 send no SecurityResult after None (§7.1.3).
      if (this.version === '3.8') this.write(encodeSecurityResult(this.version, true));
      this.phase = { name: 'client-init' };
    } else if (type === SecurityType.VncAuthentication) {
      this.sendVncChallenge();
    } else {
      this.write(encodeVeNCryptVersion());
      this.phase = { name: 'vencrypt-version' };
    }
  }

  private sendVncChallenge(): void {
    const challenge = createVncAuthChallenge();
    this.write(challenge);
    this.phase = { name: 'vnc-auth', challenge };
  }

  private checkVncAuth(challenge: Buffer, response: Buffer): void {
    const password = this.host.security.password ?? '';
    if (verifyVncAuthResponse(password, challenge, response)) {
      this.host.limiter.succeed(this.remoteAddress);
      this.write(encodeSecurityResult(this.version, true));
      this.phase = { name: 'client-init' };
      return;
    }
    this.host.limiter.fail(this.remoteAddress);
    this.host.metrics?.authFailed();
    this.write(encodeSecurityResult(this.version, false, 'Authentication failed: wrong password'));
    this.close('authentication failed: wrong password', 'warn');
  }

  private startTls(subtype: number, early: Buffer): void {
    const x509 = subtype === VeNCryptSubtype.X509None || subtype === VeNCryptSubtype.X509Vnc;
    const raw = this.stream;
    raw.off('data', this.onData);
    raw.removeAllListeners('close');
    raw.removeAllListeners('error');
    raw.removeAllListeners('drain');
    raw.off('end', this.onEnd); // only ours: net.Socket has its own 'end' listener
    if (early.length) raw.unshift(early);
    this.input.drain();
    const secureContext = x509 ? this.host.security.tls : this.host.anonymousTls;
    const tls = new TLSSocket(raw as never, { isServer: true, secureContext });
    this.phase = { name: 'tls-handshake' };
    this.stream = tls;
    this.attach(tls);
    tls.once('secure', () => {
      if (this.phase.name !== 'tls-handshake') return;
      if (subtype === VeNCryptSubtype.X509Vnc || subtype === VeNCryptSubtype.TLSVnc) {
        this.sendVncChallenge();
      } else {
        this.write(encodeSecurityResult(this.version, true));
        this.phase = { name: 'client-init' };
      }
      this.process();
    });
    raw.on('error', () => tls.destroy());
  }

  private initialise(shared: boolean): void {
    this.shared = shared;
    const refusal = this.host.admit(this, shared);
    if (refusal) {
      this.close(`refused: ${refusal}`, 'warn');
      return;
    }
    const fb = this.host.display.framebuffer;
    this.clientWidth = fb.width;
    this.clientHeight = fb.height;
    this.write(encodeServerInit(fb.width, fb.height, this.pixelFormat, this.host.desktopName()));
    this.phase = { name: 'normal' };
    this.connectedAt = new Date();
    this.host.metrics?.clientConnected();
    this.damage = fb.damage.subscribe({ onDamage: () => this.schedule(), acceptsCopy: () => this.acceptsCopy() });
    const onCursor = () => {
      this.pendingCursor = true;
      this.schedule();
    };
    const onLeds = () => {
      this.pendingLeds = true;
      this.schedule();
    };
    const onGuestText = (text: string) => this.sendGuestText(text);
    fb.on('cursor', onCursor);
    this.host.display.on('modifiers', onLeds);
    this.host.clipboard?.on('text', onGuestText);
    const releaseClipboard = this.host.clipboard?.hold();
    this.unsubscribe.push(
      () => fb.off('cursor', onCursor),
      () => this.host.display.off('modifiers', onLeds),
      () => this.host.clipboard?.off('text', onGuestText),
      () => releaseClipboard?.(),
    );
    this.host.log('info', `client ${this.id} (${this.remoteAddress}) connected, RFB ${this.version}${shared ? '' : ', exclusive'}`);
  }

  // ---- client messages -------------------------------------------------------------

  private handle(msg: ClientMessage): void {
    const display = this.host.display;
    switch (msg.type) {
      case 'SetPixelFormat': {
        const problem = validatePixelFormat(msg.pixelFormat);
        if (problem) throw new RfbProtocolError('RFB_ERR_BAD_PIXEL_FORMAT', `unsupported pixel format: ${problem}`);
        this.pixelFormat = msg.pixelFormat;
        this.damage?.markAll();
        this.pendingCursor = true;
        break;
      }
      case 'SetEncodings':
        this.setEncodings(msg.encodings);
        break;
      case 'FramebufferUpdateRequest':
        if (!msg.incremental) {
          this.damage?.markAll();
          // rfbproto "ExtendedDesktopSize": a non-incremental request is answered with the
          // screen layout. Clients learn from it that SetDesktopSize works (TigerVNC's
          // -RemoteResize and noVNC's resizeSession send nothing before they have seen one).
          if (this.prefs.requested.has(PseudoEncoding.ExtendedDesktopSize)) {
            this.pendingDesktopSize ??= { reason: DesktopSizeReason.Server, status: DesktopSizeStatus.NoError };
          }
        }
        this.updateWanted = true;
        this.schedule();
        break;
      case 'KeyEvent':
        this.keysym(msg.keysym, msg.down);
        break;
      case 'QemuExtendedKeyEvent':
        if (msg.keycode) display.key(msg.keycode, msg.down);
        else this.keysym(msg.keysym, msg.down);
        break;
      case 'PointerEvent':
        this.pointer(msg.buttons, msg.x, msg.y);
        break;
      case 'ClientCutText':
        void this.host.clipboard?.setText(msg.text).catch(() => undefined);
        break;
      case 'ExtendedClipboardCaps':
        break;
      case 'ExtendedClipboardNotify':
        if (msg.formats & ClipboardFormat.Text) this.write(encodeExtendedClipboardRequest(ClipboardFormat.Text));
        break;
      case 'ExtendedClipboardRequest':
      case 'ExtendedClipboardPeek':
        if (this.pendingGuestText !== undefined) this.write(encodeExtendedClipboardProvideText(this.pendingGuestText));
        break;
      case 'ExtendedClipboardProvide': {
        const text = decodeExtendedClipboardProvide(msg.formats, msg.compressed, EXTENDED_CLIPBOARD_MAX).get(ClipboardFormat.Text);
        if (text) void this.host.clipboard?.setText(decodeClipboardText(text)).catch(() => undefined);
        break;
      }
      case 'EnableContinuousUpdates':
        this.continuous = msg.enable;
        if (!msg.enable) this.write(encodeEndOfContinuousUpdates());
        this.schedule();
        break;
      case 'ClientFence':
        // Answer requests with the flags we honour (we process messages in order anyway).
        if (msg.flags & FenceFlag.Request) {
          this.write(encodeServerFence(msg.flags & (FenceFlag.BlockBefore | FenceFlag.BlockAfter | FenceFlag.SyncNext), msg.payload));
        }
        break;
      case 'SetDesktopSize':
        this.requestDesktopSize(msg.width, msg.height);
        break;
      case 'QemuAudioEnable':
        this.startAudio();
        break;
      case 'QemuAudioDisable':
        this.stopAudio(true);
        break;
      case 'QemuAudioSetFormat':
        if (msg.frequency < 1 || msg.frequency > MAX_AUDIO_FREQUENCY) {
          throw new RfbProtocolError('RFB_ERR_BAD_AUDIO_FORMAT', `QEMU audio frequency ${msg.frequency} Hz`);
        }
        this.audioFormat = { sampleFormat: msg.sampleFormat, channels: msg.channels, frequency: msg.frequency };
        this.audio?.converters.clear();
        break;
    }
  }

  // ---- QEMU Audio (rfbproto "QEMU Audio Pseudo-encoding") ---------------------------

  /**
   * Enable: the guest's audio out (display-core's listener, shared with every other client of
   * the display) goes to this client as Begin, then Data in the format it set.
   */
  private startAudio(): void {
    if (!this.prefs.requested.has(PseudoEncoding.QemuAudio)) {
      this.host.log('debug', `client ${this.id}: QEMU Audio enable without the -259 pseudo-encoding, ignored`);
      return;
    }
    if (this.audio) return;
    const stream: AudioStream = { lease: undefined, converters: new Map(), dropped: 0 };
    this.audio = stream;
    acquireSharedAudioOut(this.host.display).then(
      (lease) => {
        if (this.audio !== stream || this.phase.name !== 'normal') {
          lease.release();
          return;
        }
        stream.lease = lease;
        lease.source.on('data', this.onAudioData);
        lease.source.on('init', this.onAudioVoice);
        lease.source.on('fini', this.onAudioVoice);
        this.write(encodeQemuAudioBegin());
        this.host.log('info', `client ${this.id}: audio on (${describeAudioFormat(this.audioFormat)})`);
      },
      (err: Error) => {
        if (this.audio === stream) this.audio = undefined;
        this.host.log('info', `client ${this.id}: no audio: ${err.message}`);
      },
    );
  }

  /** Disable or close: End (when the stream had begun and `sendEnd`), and the source let go. */
  private stopAudio(sendEnd: boolean): void {
    const stream = this.audio;
    if (!stream) return;
    this.audio = undefined;
    const lease = stream.lease;
    if (!lease) return; // still acquiring: released when it arrives
    lease.source.off('data', this.onAudioData);
    lease.source.off('init', this.onAudioVoice);
    lease.source.off('fini', this.onAudioVoice);
    lease.release();
    if (sendEnd) this.write(encodeQemuAudioEnd(), true);
    if (stream.dropped) this.host.log('debug', `client ${this.id}: dropped ${stream.dropped} audio bytes (congested)`);
  }

  private readonly onAudioVoice = (voice: bigint): void => {
    this.audio?.converters.delete(voice);
  };

  private readonly onAudioData = (voice: bigint, pcm: Buffer): void => {
    const stream = this.audio;
    if (!stream?.lease || this.phase.name !== 'normal') return;
    const converter = this.audioConverter(stream, voice);
    if (!converter) return;
    const out = converter.convert(pcm);
    if (out.length === 0) return;
    // Audio is not queued behind a slow client: while the socket holds more than the
    // congestion limit, it is dropped (the client hears a gap, never a growing delay).
    if (this.stream.writableLength > this.congestionLimit()) {
      stream.dropped += out.length;
      return;
    }
    this.write(encodeQemuAudioData(out));
  };

  private audioConverter(stream: AudioStream, voice: bigint): PcmConverter | undefined {
    if (stream.converters.has(voice)) return stream.converters.get(voice);
    const format: PcmFormat | undefined = stream.lease?.source.formats.get(voice);
    if (!format) return undefined;
    const f = this.audioFormat;
    let converter: PcmConverter | undefined;
    if (convertiblePcm(format)) {
      // Sample formats: U8 S8 U16 S16 U32 S32 — the size doubles every two, odd ones are signed.
      const bits = (8 << (f.sampleFormat >> 1)) as 8 | 16 | 32;
      converter = new PcmConverter(format, { frequency: f.frequency, channels: f.channels, bits, signed: (f.sampleFormat & 1) === 1 });
    } else {
      this.host.log('warn', `client ${this.id}: voice ${voice}: cannot convert ${format.bits}-bit${format.float ? ' float' : ''} PCM`);
    }
    stream.converters.set(voice, converter);
    return converter;
  }

  private setEncodings(encodings: number[]): void {
    const before = this.prefs.requested;
    this.prefs = negotiateEncodings(encodings);
    // No encoder reset here: a client keeps its ZRLE and Zlib inflaters for the whole
    // connection (rfbproto; QEMU and TigerVNC never restart those streams either), so a
    // fresh deflate stream after a second SetEncodings — noVNC sends one whenever its quality
    // or compression level changes, TigerVNC when its options change — would start with a
    // zlib header in the middle of the client's stream and break its decoder. Level changes
    // need no reset (ZlibStream switches levels in place).
    const now = this.prefs.requested;
    const newly = (e: number) => now.has(e) && !before.has(e);
    // Extensions the server confirms once they are announced (rfbproto).
    if (newly(PseudoEncoding.ContinuousUpdates)) this.write(encodeEndOfContinuousUpdates());
    if (newly(PseudoEncoding.Fence)) this.write(encodeServerFence(FenceFlag.Request));
    if (newly(PseudoEncoding.ExtendedClipboard)) {
      this.extendedClipboard = true;
      this.write(
        encodeExtendedClipboardCaps(
          ClipboardFormat.Text | ClipboardAction.Request | ClipboardAction.Peek | ClipboardAction.Notify | ClipboardAction.Provide,
          new Map([[ClipboardFormat.Text, EXTENDED_CLIPBOARD_MAX]]),
        ),
      );
    }
    this.pendingCursor = true;
    this.pendingLeds = now.has(PseudoEncoding.QemuLedState);
  }

  /**
   * A plain KeyEvent names a keysym; the guest needs a physical key (qnum). The keysym
   * tells which key and whether it needs Shift: when the client's own Shift state differs,
   * Shift is released or pressed around the key so the guest types the same character.
   */
  private keysym(keysym: number, down: boolean): void {
    const stroke = keysymToQnum(keysym);
    if (!stroke) {
      this.host.log('debug', `client ${this.id}: no key for keysym 0x${keysym.toString(16)}`);
      return;
    }
    const display = this.host.display;
    const q = stroke.qnum;
    if (q === QNUM.SHIFT_L || q === QNUM.SHIFT_R || q === QNUM.CTRL_L || q === QNUM.CTRL_R || q === QNUM.ALT_L || q === QNUM.ALT_R) {
      if (down) this.heldModifiers.add(q);
      else this.heldModifiers.delete(q);
      display.key(q, down);
      return;
    }
    const shiftHeld = this.heldModifiers.has(QNUM.SHIFT_L) || this.heldModifiers.has(QNUM.SHIFT_R);
    const capsOn = decodeLockModifiers(display.modifiers).capsLock;
    const wantShift = stroke.caps && capsOn ? !stroke.shift : stroke.shift;
    const ctrlOrAlt = [QNUM.CTRL_L, QNUM.CTRL_R, QNUM.ALT_L, QNUM.ALT_R].some((m) => this.heldModifiers.has(m));
    if (!down || ctrlOrAlt || wantShift === shiftHeld || !isCharacterKeysym(keysym)) {
      display.key(q, down);
      return;
    }
    const shifts = shiftHeld ? [...this.heldModifiers].filter((m) => m === QNUM.SHIFT_L || m === QNUM.SHIFT_R) : [QNUM.SHIFT_L];
    for (const s of shifts) display.key(s, !shiftHeld);
    display.key(q, true);
    for (const s of shifts) display.key(s, shiftHeld);
  }

  private pointer(buttons: number, x: number, y: number): void {
    const display = this.host.display;
    const fb = display.framebuffer;
    display.pointerTo(Math.min(Math.max(0, x), Math.max(0, fb.width - 1)), Math.min(Math.max(0, y), Math.max(0, fb.height - 1)));
    const { press, release } = diffButtons(this.buttons, buttons);
    for (const b of press) display.mouseButton(b, true);
    for (const b of release) display.mouseButton(b, false);
    this.buttons = buttons;
  }

  private requestDesktopSize(width: number, height: number): void {
    const display = this.host.display;
    if (!display.vm || width < 1 || height < 1 || width > 8192 || height > 8192) {
      this.pendingDesktopSize = { reason: DesktopSizeReason.ThisClient, status: display.vm ? DesktopSizeStatus.InvalidLayout : DesktopSizeStatus.Prohibited };
      this.schedule();
      return;
    }
    // The guest decides; its new mode arrives later as a server-initiated size change.
    display.setUIInfo(width, height).then(
      () => {
        this.pendingDesktopSize = { reason: DesktopSizeReason.ThisClient, status: DesktopSizeStatus.NoError };
        this.schedule();
      },
      (err: Error) => {
        this.host.log('warn', `client ${this.id}: resize to ${width}x${height} failed: ${err.message}`);
        this.pendingDesktopSize = { reason: DesktopSizeReason.ThisClient, status: DesktopSizeStatus.Prohibited };
        this.schedule();
      },
    );
  }

  private sendGuestText(text: string): void {
    this.pendingGuestText = text;
    if (this.extendedClipboard) this.write(encodeExtendedClipboardNotify(ClipboardFormat.Text));
    else this.write(encodeServerCutText(text));
  }

  // ---- updates ---------------------------------------------------------------------

  private congestionLimit(): number {
    const fb = this.host.display.framebuffer;
    return Math.max(MIN_CONGESTION_LIMIT, fb.width * fb.height * 4);
  }

  private schedule(): void {
    if (this.phase.name !== 'normal' || this.encoding) return;
    if (!this.updateWanted && !this.continuous) return;
    if (this.stream.writableLength > this.congestionLimit()) return; // 'drain' schedules again
    const fb = this.host.display.framebuffer;
    const sizeChanged = fb.width !== this.clientWidth || fb.height !== this.clientHeight;
    // QEMU Extended Key Events are confirmed (rfbproto: an empty rectangle of that
    // encoding) only where options.qemuKeyEvents says so: other clients send keysyms,
    // mapped to the guest's US layout here. With scancodes, synthetic input (xdotool's "\n"
    // on a scratch keycode, browsers' key events typed without Shift) reaches the guest as
    // the wrong keys; the web console's page is a real browser's real keyboard.
    if (!sizeChanged && !this.extendedMouseButtonsWanted() && !this.qemuKeyEventsWanted() && !this.pendingCursor && !this.pendingLeds && !this.pendingDesktopSize && !this.damage?.hasDamage()) return;
    this.encoding = true;
    setImmediate(() => {
      this.sendUpdate().then(
        () => {
          this.encoding = false;
          this.schedule();
        },
        (err: Error) => {
          this.encoding = false;
          this.close(`encoding an update failed: ${err.message}`, 'warn');
        },
      );
    });
  }

  private async sendUpdate(): Promise<void> {
    if (this.phase.name !== 'normal' || !this.damage) return;
    const fb = this.host.display.framebuffer;
    const requested = this.prefs.requested;
    const out: Buffer[] = [];
    let rects = 0;

    if (fb.width !== this.clientWidth || fb.height !== this.clientHeight) {
      if (requested.has(PseudoEncoding.ExtendedDesktopSize)) {
        out.push(this.extendedDesktopSize(DesktopSizeReason.Server, DesktopSizeStatus.NoError));
        rects++;
        // That was the layout a non-incremental request asked for, if one did.
        if (this.pendingDesktopSize?.reason === DesktopSizeReason.Server) this.pendingDesktopSize = undefined;
      } else if (requested.has(PseudoEncoding.DesktopSize)) {
        out.push(encodeDesktopSizeRect(fb.width, fb.height));
        rects++;
      }
      // A client without either keeps its size; updates are clipped to it below.
      if (rects) {
        this.clientWidth = fb.width;
        this.clientHeight = fb.height;
        this.damage.markAll();
      }
    }
    if (this.pendingDesktopSize && requested.has(PseudoEncoding.ExtendedDesktopSize)) {
      out.push(this.extendedDesktopSize(this.pendingDesktopSize.reason, this.pendingDesktopSize.status));
      rects++;
    }
    this.pendingDesktopSize = undefined;
    if (this.pendingCursor && fb.cursor && requested.has(PseudoEncoding.Cursor)) {
      out.push(encodeCursorRect(fb.cursor, this.pixelFormat));
      rects++;
    }
    this.pendingCursor = false;
    if (this.pendingLeds && requested.has(PseudoEncoding.QemuLedState)) {
      out.push(encodeLedStateRect(this.host.display.modifiers & 7));
      rects++;
    }
    this.pendingLeds = false;
    if (this.extendedMouseButtonsWanted()) {
      this.extendedMouseButtons = true;
      out.push(encodeAckRect(PseudoEncoding.ExtendedMouseButtons));
      rects++;
    }
    if (this.qemuKeyEventsWanted()) {
      this.qemuKeyEventsConfirmed = true;
      out.push(encodeAckRect(PseudoEncoding.QemuExtendedKeyEvent));
      rects++;
    }

    const visible: Rect = { x: 0, y: 0, w: Math.min(fb.width, this.clientWidth), h: Math.min(fb.height, this.clientHeight) };
    // A copy the damage tracker kept for this client (see acceptsCopy) goes first, as a
    // CopyRect (RFC 6143 §7.7.2): the client moves part of the picture it has, then gets the
    // rectangles of this update, which may overlap the copy's source or destination. Only
    // while the client sees the whole frame and still lists CopyRect; otherwise take() below
    // turns the copy into damage.
    if (visible.w === fb.width && visible.h === fb.height && requested.has(Encoding.CopyRect)) {
      const copy = this.damage.takeCopy();
      if (copy) {
        out.push(encodeCopyRect(copy));
        rects++;
        this.host.metrics?.encoded(encodingName(Encoding.CopyRect), 0);
      }
    }
    const damaged = this.damage.take(visible).map((r) => clip(r, visible)).filter((r): r is Rect => r !== undefined);
    if (rects === 0 && damaged.length === 0) return;

    const encoder = this.encoders.get(this.prefs.encoding);
    const opts = { pixelFormat: this.pixelFormat, compressLevel: this.prefs.compressLevel, qualityLevel: this.prefs.qualityLevel };
    if (damaged.length) {
      const started = process.hrtime.bigint();
      for (const r of damaged) rects += await encoder.encode(fb, r, opts, out);
      this.host.metrics?.encoded(encodingName(this.prefs.encoding), Number(process.hrtime.bigint() - started) / 1e9);
    }

    if (this.phase.name !== 'normal') return;
    this.write(Buffer.concat([encodeFramebufferUpdateHeader(rects), ...out]));
    this.host.metrics?.frameSent();
    this.stats.updates++;
    this.stats.rects += rects;
    if (!this.continuous) this.updateWanted = false;
  }

  /**
   * Asked by the damage tracker when the guest moved part of its screen: whether this client
   * can get it as a CopyRect. The client must list CopyRect and see the whole frame at its
   * size, and no update may be under way: an update being built reads the framebuffer later
   * (the encoders are awaited), so after a copy it would send pixels the copy already moved.
   */
  private acceptsCopy(): boolean {
    const fb = this.host.display.framebuffer;
    return (
      this.phase.name === 'normal' &&
      !this.encoding &&
      this.prefs.requested.has(Encoding.CopyRect) &&
      this.clientWidth === fb.width &&
      this.clientHeight === fb.height
    );
  }

  private qemuKeyEventsWanted(): boolean {
    return this.options.qemuKeyEvents && !this.qemuKeyEventsConfirmed && this.prefs.requested.has(PseudoEncoding.QemuExtendedKeyEvent);
  }

  private extendedMouseButtonsWanted(): boolean {
    return !this.extendedMouseButtons && this.prefs.requested.has(PseudoEncoding.ExtendedMouseButtons);
  }

  private extendedDesktopSize(reason: number, status: number): Buffer {
    const fb = this.host.display.framebuffer;
    return encodeExtendedDesktopSizeRect({
      reason,
      status,
      width: fb.width,
      height: fb.height,
      screens: [{ id: 0, x: 0, y: 0, width: fb.width, height: fb.height, flags: 0 }],
    });
  }
}

function describeAudioFormat(f: AudioClientFormat): string {
  const name = Object.entries(QemuAudioSampleFormat).find(([, v]) => v === f.sampleFormat)?.[0] ?? `format ${f.sampleFormat}`;
  return `${name}, ${f.channels} channel${f.channels === 1 ? '' : 's'}, ${f.frequency} Hz`;
}

function clip(r: Rect, to: Rect): Rect | undefined {
  const x0 = Math.max(r.x, to.x);
  const y0 = Math.max(r.y, to.y);
  const x1 = Math.min(r.x + r.w, to.x + to.w);
  const y1 = Math.min(r.y + r.h, to.y + to.h);
  return x1 > x0 && y1 > y0 ? { x: x0, y: y0, w: x1 - x0, h: y1 - y0 } : undefined;
}

/** Printable Latin-1 keysyms: the only ones whose Shift state we adjust. */
function isCharacterKeysym(keysym: number): boolean {
  return (keysym >= 0x20 && keysym <= 0x7e) || (keysym >= 0xa0 && keysym <= 0xff);
}
