// One RDP client, from X.224 negotiation to disconnection (MS-RDPBCGR 1.3.1.1): the connection
// sequence is a state machine over whole frames (TPKT or fast-path), the PDU layer in ../pdu is
// pure, and this file only decides what to answer and when. Graphics are damage-driven and paced
// by the socket: nothing is queued beyond what the kernel has not taken yet, damage coalesces.
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { copyInside, decodeLockModifiers, StallWatch, type Cursor, type DamageConsumer, type PointerState, type Rect } from '@vdi-sidecar/display-core';
import { CompressionType, MppcCompressor, XcrushCompressor, type BulkCompressor, type BulkPacket } from '../bulk/index.js';
import { isBitmapBpp, type BitmapCodecName } from '../codec/index.js';
import {
  ControlAction,
  decodeClientDataPdu,
  decodeConfirmActive,
  encodeControlCooperate,
  encodeControlGrantedControl,
  encodeDeactivateAll,
  encodeDemandActive,
  encodeFontMap,
  encodeSetKeyboardIndicators,
  encodeShutdownDenied,
  encodeSynchronize,
} from '../pdu/activation.js';
import { buildServerCapabilitySets, clientMaxRequestSize, CodecGuid, SurfaceCommandFlags, type ClientCapabilities } from '../pdu/capabilities.js';
import { RemoteFxEncoder } from '../codec/remotefx/index.js';
import { clientCompressionType, decodeClientInfoPdu } from '../pdu/client-info.js';
import { RdpProtocolError } from '../pdu/errors.js';
import { encodeScrBltOrder, OrderSupportIndex, supportsOrder } from '../pdu/drawing-orders.js';
import { decodeFastPathInput, encodeFastPathUpdates, FastPathUpdateCode, type FastPathUpdate } from '../pdu/fast-path.js';
import { decodeConferenceCreateRequest, encodeConferenceCreateResponse, RDP_VERSION_5_PLUS, RNS_UD_CS_SUPPORT_DYNVC_GFX_PROTOCOL, RNS_UD_CS_WANT_32BPP_SESSION, type ClientGccData } from '../pdu/gcc.js';
import { encodeLicenseValidClient } from '../pdu/licensing.js';
import {
  decodeConnectInitial,
  decodeDomainPdu,
  encodeAttachUserConfirm,
  encodeChannelJoinConfirm,
  encodeConnectResponse,
  encodeDisconnectProviderUltimatum,
  encodeSendDataIndication,
  MCS_IO_CHANNEL_ID,
  MCS_REASON_PROVIDER_INITIATED,
  MCS_RESULT_SUCCESSFUL,
  MCS_RESULT_UNSPECIFIED_FAILURE,
  negotiateDomainParameters,
} from '../pdu/mcs.js';
import { encodePointerImage, HIDDEN_POINTER } from '../pdu/pointer.js';
import { decodeSharePdus } from '../pdu/share.js';
import { frameLength, isFastPath } from '../pdu/tpkt.js';
import {
  decodeConnectionRequest,
  decodeX224Data,
  encodeConnectionConfirm,
  encodeNegotiationFailure,
  encodeX224Data,
  EXTENDED_CLIENT_DATA_SUPPORTED,
  PROTOCOL_HYBRID,
  PROTOCOL_HYBRID_EX,
  PROTOCOL_SSL,
  SSL_REQUIRED_BY_SERVER,
} from '../pdu/x224.js';
import { AUTHZ_SUCCESS, CredSspAcceptor, encodeEarlyUserAuthorizationResult, tsRequestLength } from '../nla/index.js';
import { STATIC_CHANNELS, type StaticChannel } from '../channels/index.js';
import { ChannelReassembler, CHANNEL_CHUNK_LENGTH, encodeChannelChunks } from '../pdu/virtual-channel.js';
import { BitmapUpdateEncoder } from './bitmap-updates.js';
import { RdpInputHandler } from './input-handler.js';
import { GfxPipelineSlot } from './gfx-output.js';
import type { RdpSessionHost } from './rdp-server.js';

/** The connection sequence's phases, named by what the server waits for. */
type Phase =
  | { name: 'x224-request' }
  | { name: 'tls-handshake' }
  /** Network Level Authentication (PROTOCOL_HYBRID[_EX]): TSRequests, DER on the TLS stream. */
  | { name: 'credssp'; acceptor: CredSspAcceptor }
  | { name: 'mcs-connect-initial' }
  /** Erect Domain, Attach User and Channel Joins, until the Client Info PDU. */
  | { name: 'mcs-domain' }
  | { name: 'confirm-active' }
  /** Client Synchronize, Control (cooperate, request), Font List. */
  | { name: 'finalization' }
  | { name: 'active' }
  | { name: 'closed' };

/** Bytes of one client frame we accept before giving up on it (a Connect Initial is a few KiB). */
const MAX_FRAME = 0x8000;
/** Bytes that may wait in the socket's buffer before graphics pause (the client's pace). */
const WRITE_HIGH_WATER = 512 * 1024;
/** The whole connection sequence must finish within this time. */
const HANDSHAKE_TIMEOUT_MS = 30_000;
/** The first user channel id follows the static channels: 1003 I/O, 1004… channels. */
const FIRST_STATIC_CHANNEL_ID = MCS_IO_CHANNEL_ID + 1;

export class RdpSession {
  private phase: Phase = { name: 'x224-request' };
  private stream: Socket | TLSSocket;
  private input: Buffer = Buffer.alloc(0);
  private requestedProtocols = 0;
  private selectedProtocol = PROTOCOL_SSL;
  /** Who NLA authenticated (then the Client Info's credentials are not checked again). */
  private nlaUser: string | undefined;
  private userChannelId = 0;
  private channelIds: number[] = [];
  /** Static virtual channels with a handler, by MCS channel id (handlers start at activation). */
  private readonly staticChannels = new Map<number, { name: string; reassembler: ChannelReassembler; handler: StaticChannel | undefined }>();
  private readonly shareId = 0x103ea;
  private bpp = 32;
  private caps: ClientCapabilities | undefined;
  private encoder: BitmapUpdateEncoder | undefined;
  /** Set when the client takes RemoteFX surface commands (then used instead of bitmap updates). */
  private remoteFx: RemoteFxEncoder | undefined;
  /** The client's Order capability set announces ScrBlt: scrolled areas go as ScrBlt orders. */
  private scrBlt = false;
  private damage: DamageConsumer | undefined;
  /**
   * Bulk compression of fast-path output, when the client announced it (one history for the
   * connection's server-to-client direction: every compressed update must be sent, in order).
   */
  private bulk: TimedBulkCompressor | undefined;
  private readonly inputHandler: RdpInputHandler;
  private sizeSent = { width: 0, height: 0 };
  private updatesSuppressed = false;
  /** What the pointer update last sent showed, so repeated MouseSet events send nothing. */
  private pointerSent: { cursor: Cursor | undefined; visible: boolean } | undefined;
  private scheduled = false;
  /** The graphics pipeline (MS-RDPEGFX): while its output is attached, screen output goes there. */
  private readonly gfx = new GfxPipelineSlot(
    () => {
      this.damage?.markAll();
      this.schedule();
    },
    () => this.schedule(),
  );
  private readonly cleanups: Array<() => void> = [];
  private readonly handshakeTimer: NodeJS.Timeout;
  private readonly stall: StallWatch;

  constructor(
    readonly id: number,
    socket: Socket,
    readonly remoteAddress: string,
    private readonly host: RdpSessionHost,
  ) {
    this.stream = socket;
    this.stall = new StallWatch(
      () => this.stream.writableLength,
      host.stallTimeoutMs,
      (ms) => this.close(`not reading its updates (nothing taken for ${Math.round(ms / 1000)} s), dropped`, 'warn'),
    );
    this.inputHandler = new RdpInputHandler(host.display);
    this.attach(socket);
    this.handshakeTimer = setTimeout(() => this.close('connection sequence not finished within 30 s', 'warn'), HANDSHAKE_TIMEOUT_MS);
    this.log('info', `connected from ${remoteAddress}`);
  }

  close(reason: string, level: 'debug' | 'info' | 'warn' = 'info'): void {
    if (this.phase.name === 'closed') return;
    const wasConnected = !['x224-request', 'tls-handshake', 'credssp', 'mcs-connect-initial'].includes(this.phase.name);
    this.phase = { name: 'closed' };
    clearTimeout(this.handshakeTimer);
    this.stall.stop();
    for (const c of this.cleanups.splice(0)) c();
    for (const channel of this.staticChannels.values()) channel.handler?.close();
    this.damage?.close();
    this.damage = undefined;
    if (this.bulk) {
      const { bytesIn, bytesOut, packets, plainPackets } = this.bulk.stats;
      const ratio = bytesIn ? ((100 * bytesOut) / bytesIn).toFixed(1) : '-';
      this.log('debug', `bulk compression ${this.bulk.name}: ${bytesIn} bytes in ${packets} packets → ${bytesOut} bytes (${ratio} %), ${plainPackets} sent plain`);
    }
    if (wasConnected && !this.stream.destroyed && this.stream.writable) {
      this.stream.end(encodeX224Data(encodeDisconnectProviderUltimatum(MCS_REASON_PROVIDER_INITIATED)));
      setTimeout(() => this.stream.destroy(), 1000).unref();
    } else {
      this.stream.destroy();
    }
    this.log(level, `closed: ${reason}`);
    this.host.closed(this);
  }

  private log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void {
    this.host.log(level, `client ${this.id}: ${message}`);
  }

  private attach(stream: Socket | TLSSocket): void {
    stream.on('data', this.onData);
    stream.on('error', (err: Error) => this.close(`connection error: ${err.message}`));
    stream.on('close', () => this.close('disconnected'));
    stream.on('drain', () => this.schedule());
  }

  private readonly onData = (chunk: Buffer): void => {
    if (this.phase.name === 'closed') return;
    this.input = this.input.length ? Buffer.concat([this.input, chunk]) : chunk;
    try {
      for (;;) {
        // Handling a frame may have started TLS or closed the session.
        const phase = this.phase.name as Phase['name'];
        if (phase === 'tls-handshake' || phase === 'closed') return;
        if (this.phase.name === 'credssp') {
          const tsLength = tsRequestLength(this.input);
          if (tsLength === undefined || this.input.length < tsLength) return;
          const message = this.input.subarray(0, tsLength);
          this.input = this.input.subarray(tsLength);
          this.onTsRequest(this.phase.acceptor, message);
          continue;
        }
        const length = frameLength(this.input, MAX_FRAME);
        if (length === undefined || this.input.length < length) return;
        const frame = this.input.subarray(0, length);
        this.input = this.input.subarray(length);
        this.handleFrame(frame);
      }
    } catch (err) {
      if (err instanceof RdpProtocolError) this.close(`protocol error ${err.code}: ${err.message}`, 'warn');
      else this.close(`internal error: ${(err as Error).stack ?? String(err)}`, 'warn');
    }
  };

  private write(data: Buffer): void {
    if (this.phase.name === 'closed') return;
    this.stream.write(data);
    this.stall.wrote();
    this.host.metrics?.sent(data.length);
  }

  /** MCS Send Data Indication from the server channel to the user, on `channelId`. */
  private sendOnChannel(data: Buffer, channelId = MCS_IO_CHANNEL_ID): void {
    this.write(encodeX224Data(encodeSendDataIndication(this.userChannelId, channelId, data)));
  }

  private handleFrame(frame: Buffer): void {
    if (isFastPath(frame[0]!)) {
      // Input is legal once the client is active, and stays so while it is being reactivated
      // (keys it sent before it saw Deactivate All must not be lost).
      if (this.damage === undefined && this.phase.name !== 'finalization') {
        throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `fast-path input during ${this.phase.name}`);
      }
      for (const ev of decodeFastPathInput(frame)) this.inputHandler.handle(ev);
      return;
    }
    switch (this.phase.name) {
      case 'x224-request':
        return this.onConnectionRequest(frame);
      case 'mcs-connect-initial': {
        const x = decodeX224Data(frame);
        if (x.kind === 'disconnect') return this.close('client disconnected (X.224)');
        return this.onConnectInitial(x.payload);
      }
      default: {
        const x = decodeX224Data(frame);
        if (x.kind === 'disconnect') return this.close('client disconnected (X.224)');
        return this.onDomainPdu(x.payload);
      }
    }
  }

  // ---- X.224 negotiation and TLS (MS-RDPBCGR 2.2.1.1–2) -----------------------------------

  private onConnectionRequest(frame: Buffer): void {
    const request = decodeConnectionRequest(frame);
    this.requestedProtocols = request.requestedProtocols;
    const offered = request.hasNegotiationRequest ? request.requestedProtocols : 0;
    // NLA when the client offers it and there is a password to check it against; else TLS
    // with the credentials of the Client Info PDU. Standard RDP security is never offered.
    const nla = this.host.credentials !== undefined;
    if (nla && offered & PROTOCOL_HYBRID_EX) this.selectedProtocol = PROTOCOL_HYBRID_EX;
    else if (nla && offered & PROTOCOL_HYBRID) this.selectedProtocol = PROTOCOL_HYBRID;
    else if (offered & PROTOCOL_SSL) this.selectedProtocol = PROTOCOL_SSL;
    else {
      this.write(encodeNegotiationFailure(SSL_REQUIRED_BY_SERVER));
      this.stream.end();
      const why = offered ? 'offers only NLA, and no password is configured to check it' : 'does not offer TLS security';
      this.close(`refused: the client ${why} (requested protocols 0x${request.requestedProtocols.toString(16)})`, 'warn');
      return;
    }
    this.write(encodeConnectionConfirm(this.selectedProtocol, EXTENDED_CLIENT_DATA_SUPPORTED));
    this.upgradeToTls();
  }

  // ---- Network Level Authentication (MS-CSSP, MS-RDPBCGR 5.4.2.1) ---------------------------

  private startCredSsp(): void {
    const credentials = this.host.credentials!;
    if (this.host.limiter.blocked(this.remoteAddress)) {
      this.close(`refused: too many failed logins from ${this.remoteAddress}`, 'warn');
      return;
    }
    const acceptor = new CredSspAcceptor({ username: credentials.username, password: credentials.password, serverPublicKey: this.host.serverPublicKey });
    this.phase = { name: 'credssp', acceptor };
  }

  private onTsRequest(acceptor: CredSspAcceptor, message: Buffer): void {
    const step = acceptor.step(message);
    if (step.reply) this.write(step.reply);
    if (step.failed) {
      if (step.failed.kind === 'logon-failure') {
        this.host.limiter.fail(this.remoteAddress);
        this.host.metrics?.authFailed();
      }
      this.stream.end();
      this.close(`authentication failed (NLA): ${step.failed.reason}`, 'warn');
      return;
    }
    if (step.done) {
      this.host.limiter.succeed(this.remoteAddress);
      this.nlaUser = step.done.user;
      // HYBRID_EX: the Early User Authorization Result PDU comes before MCS (2.2.10.2).
      if (this.selectedProtocol === PROTOCOL_HYBRID_EX) this.write(encodeEarlyUserAuthorizationResult(AUTHZ_SUCCESS));
      this.log('info', `NLA: authenticated user "${step.done.user}"${step.done.domain ? ` (domain "${step.done.domain}")` : ''}`);
      this.phase = { name: 'mcs-connect-initial' };
    }
  }

  private upgradeToTls(): void {
    const raw = this.stream as Socket;
    raw.off('data', this.onData);
    raw.removeAllListeners('close');
    raw.removeAllListeners('drain');
    const tls = new TLSSocket(raw, { isServer: true, secureContext: this.host.secureContext });
    this.phase = { name: 'tls-handshake' };
    this.stream = tls;
    this.attach(tls);
    tls.once('secure', () => {
      if (this.phase.name !== 'tls-handshake') return;
      this.log('debug', `TLS ${tls.getProtocol() ?? ''} ${tls.getCipher().name}`);
      if (this.selectedProtocol === PROTOCOL_SSL) this.phase = { name: 'mcs-connect-initial' };
      else this.startCredSsp();
      if (this.input.length) this.onData(Buffer.alloc(0));
    });
    raw.on('error', () => tls.destroy());
  }

  // ---- MCS Connect and GCC (2.2.1.3–4) ------------------------------------------------------

  private onConnectInitial(payload: Buffer): void {
    const initial = decodeConnectInitial(payload);
    const gcc = decodeConferenceCreateRequest(initial.userData);
    if (gcc.core.serverSelectedProtocol !== undefined && gcc.core.serverSelectedProtocol !== this.selectedProtocol) {
      throw new RdpProtocolError('RDP_ERR_BAD_VALUE', `client core data: serverSelectedProtocol ${gcc.core.serverSelectedProtocol}, but ${this.selectedProtocol} was selected`);
    }
    this.bpp = sessionColorDepth(gcc);
    this.gfx.codec = this.host.gfxCodec ?? 'planar';
    this.gfx.offered = this.host.graphicsPipeline !== false && ((gcc.core.earlyCapabilityFlags ?? 0) & RNS_UD_CS_SUPPORT_DYNVC_GFX_PROTOCOL) !== 0;
    this.channelIds = gcc.channels.map((_, i) => FIRST_STATIC_CHANNEL_ID + i);
    gcc.channels.forEach((channel, i) => {
      if (STATIC_CHANNELS[channel.name]) {
        this.staticChannels.set(this.channelIds[i]!, { name: channel.name, reassembler: new ChannelReassembler(channel.name), handler: undefined });
      }
    });
    this.userChannelId = FIRST_STATIC_CHANNEL_ID + gcc.channels.length;
    const userData = encodeConferenceCreateResponse({
      core: { version: RDP_VERSION_5_PLUS, clientRequestedProtocols: this.requestedProtocols, earlyCapabilityFlags: 0 },
      network: { ioChannelId: MCS_IO_CHANNEL_ID, channelIds: this.channelIds },
      security: { encryptionMethod: 0, encryptionLevel: 0 },
    });
    this.write(
      encodeX224Data(encodeConnectResponse({ result: MCS_RESULT_SUCCESSFUL, calledConnectId: 0, domainParameters: negotiateDomainParameters(initial), userData })),
    );
    this.log(
      'debug',
      `client "${gcc.core.clientName}" build ${gcc.core.clientBuild}, ${gcc.core.desktopWidth}x${gcc.core.desktopHeight}, ${this.bpp} bpp, channels [${gcc.channels.map((c) => c.name).join(', ')}]`,
    );
    this.phase = { name: 'mcs-domain' };
  }

  // ---- MCS domain: attach, joins, then Send Data on the I/O channel ------------------------

  private onDomainPdu(payload: Buffer): void {
    const pdu = decodeDomainPdu(payload);
    switch (pdu.kind) {
      case 'erectDomainRequest':
        return;
      case 'attachUserRequest':
        this.write(encodeX224Data(encodeAttachUserConfirm(MCS_RESULT_SUCCESSFUL, this.userChannelId)));
        return;
      case 'channelJoinRequest': {
        const known = pdu.channelId === this.userChannelId || pdu.channelId === MCS_IO_CHANNEL_ID || this.channelIds.includes(pdu.channelId);
        this.write(
          encodeX224Data(encodeChannelJoinConfirm(known ? MCS_RESULT_SUCCESSFUL : MCS_RESULT_UNSPECIFIED_FAILURE, this.userChannelId, pdu.channelId, known ? pdu.channelId : undefined)),
        );
        return;
      }
      case 'disconnectProviderUltimatum':
        this.close('client disconnected');
        return;
      case 'sendDataRequest':
        if (pdu.channelId !== MCS_IO_CHANNEL_ID) return this.onChannelData(pdu.channelId, pdu.data);
        if (this.phase.name === 'mcs-domain') return this.onClientInfo(pdu.data);
        return this.onSharePdus(pdu.data);
    }
  }

  // ---- Static virtual channels (2.2.6.1) ---------------------------------------------------

  private onChannelData(channelId: number, chunk: Buffer): void {
    const channel = this.staticChannels.get(channelId);
    if (!channel) return; // a channel the client asked for that this server does not serve
    const message = channel.reassembler.push(chunk);
    if (!message) return;
    if (!channel.handler) {
      this.log('debug', `${channel.name}: message before the session was active, ignored`);
      return;
    }
    channel.handler.onMessage(message);
  }

  /** Starts the channel handlers at the first activation; tells them about every activation. */
  private activateChannels(): void {
    const chunkSize = this.caps?.virtualChannel?.chunkSize || CHANNEL_CHUNK_LENGTH;
    for (const [channelId, channel] of this.staticChannels) {
      channel.handler ??= STATIC_CHANNELS[channel.name]!({
        display: this.host.display,
        clipboard: this.host.clipboard,
        graphics: this.gfx,
        log: (level, message) => this.log(level, `${channel.name}: ${message}`),
        send: (message) => {
          for (const chunk of encodeChannelChunks(message, chunkSize)) this.sendOnChannel(chunk, channelId);
        },
      });
      channel.handler.onActive?.();
    }
  }

  // ---- Client Info, credentials, licensing (2.2.1.11–12) ------------------------------------

  private onClientInfo(data: Buffer): void {
    const info = decodeClientInfoPdu(data);
    const who = `user "${info.userName}"${info.domain ? ` (domain "${info.domain}")` : ''}`;
    const expected = this.host.credentials;
    if (this.nlaUser !== undefined) {
      // NLA proved the password already; the Client Info must not switch to another user.
      if (info.userName && info.userName.toLowerCase() !== this.nlaUser.toLowerCase()) {
        this.close(`refused: the Client Info names ${who}, NLA authenticated "${this.nlaUser}"`, 'warn');
        return;
      }
    } else if (expected) {
      if (this.host.limiter.blocked(this.remoteAddress)) {
        this.close(`refused: too many failed logins from ${this.remoteAddress}`, 'warn');
        return;
      }
      const userOk = expected.username === '' || sameSecret(expected.username, info.userName);
      if (!userOk || !sameSecret(expected.password, info.password)) {
        this.host.limiter.fail(this.remoteAddress);
        this.host.metrics?.authFailed();
        this.close(`authentication failed for ${who}`, 'warn');
        return;
      }
      this.host.limiter.succeed(this.remoteAddress);
    }
    this.log('info', `logged in as ${who}`);
    // Bulk compression (3.1.8): the server picks a type up to the client's. XCRUSH (RDP 6.1) for
    // clients that take it, unless the operator said MPPC; else MPPC 64K for every client that
    // offers 64K or more (RDP 6.0 clients too: NCRUSH is not implemented), MPPC 8K below.
    const offered = clientCompressionType(info.flags);
    const choice = this.host.bulkCompression;
    if (offered !== undefined && choice !== 'off') {
      const compressor =
        choice === 'xcrush' && offered >= CompressionType.RDP61
          ? new XcrushCompressor()
          : new MppcCompressor(offered >= CompressionType.MPPC_64K ? CompressionType.MPPC_64K : CompressionType.MPPC_8K);
      this.bulk = new TimedBulkCompressor(compressor);
      this.log('debug', `bulk compression: ${this.bulk.name} (the client takes up to type ${offered})`);
    } else {
      this.log('debug', `bulk compression: none (${offered === undefined ? 'the client announces none' : 'turned off'})`);
    }
    this.sendOnChannel(encodeLicenseValidClient());
    this.sendDemandActive();
  }

  // ---- Capabilities exchange and finalization (2.2.1.13–22) ---------------------------------

  private sendDemandActive(): void {
    const fb = this.host.display.framebuffer;
    if (fb.width === 0 || fb.height === 0) {
      // No picture yet (not even the placeholder): the desktop size is still unknown.
      const retry = () => this.phase.name !== 'closed' && this.sendDemandActive();
      fb.once('scanout', retry);
      this.cleanups.push(() => fb.off('scanout', retry));
      return;
    }
    this.sizeSent = { width: fb.width, height: fb.height };
    const sets = buildServerCapabilitySets({
      desktopWidth: fb.width,
      desktopHeight: fb.height,
      preferredBitsPerPixel: this.bpp,
      surfaceCommandFlags: this.host.remoteFx ? SurfaceCommandFlags.STREAM_SURFACE_BITS | SurfaceCommandFlags.FRAME_MARKER : undefined,
      // FreeRDP clients drop the orders the server's set does not list.
      orderSupport: [OrderSupportIndex.SCRBLT, OrderSupportIndex.OPAQUE_RECT],
    });
    this.sendOnChannel(encodeDemandActive({ shareId: this.shareId, capabilitySets: sets }));
    this.phase = { name: 'confirm-active' };
  }

  private onSharePdus(data: Buffer): void {
    for (const pdu of decodeSharePdus(data)) {
      if (this.phase.name === 'closed') return;
      switch (pdu.kind) {
        case 'confirmActive':
          this.onConfirmActive(pdu.body);
          break;
        case 'data':
          this.onDataPdu(pdu.pduType2, pdu.body);
          break;
        default:
          break; // flow control and others: nothing to do (2.2.8.1.1.1.1)
      }
    }
  }

  private onConfirmActive(body: Buffer): void {
    if (this.phase.name !== 'confirm-active') throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `Confirm Active during ${this.phase.name}`);
    const confirm = decodeConfirmActive(body);
    const caps = confirm.capabilities;
    this.caps = caps;
    if (!caps.general?.fastPathOutput) {
      throw new RdpProtocolError('RDP_ERR_UNEXPECTED', 'the client does not take fast-path output (General capability set), which this server needs');
    }
    const bpp = caps.bitmap?.preferredBitsPerPixel;
    if (bpp !== undefined && isBitmapBpp(bpp)) this.bpp = bpp;
    // Compressed bitmaps unless the operator turned them off: every client takes them
    // (bitmapCompressionFlag MUST be TRUE, 2.2.7.1.2), so it is the server's choice.
    const compression = this.host.bitmapCompression;
    const maxRequestSize = clientMaxRequestSize(caps);
    // Areas of one colour as OpaqueRect orders, when the client draws them.
    const solidFills = supportsOrder(caps.order, OrderSupportIndex.OPAQUE_RECT);
    this.encoder = new BitmapUpdateEncoder({ bpp: this.bpp, compression }, maxRequestSize, !caps.general.noBitmapCompressionHeader, solidFills);
    // RemoteFX (lossy) when the operator allows it and the client offers it with surface commands, at 32 bpp.
    const rfxCodecId = caps.bitmapCodecs?.codecs.find((c) => c.guid === CodecGuid.REMOTEFX)?.id;
    const surfaceBits = ((caps.surfaceCommands?.cmdFlags ?? 0) & SurfaceCommandFlags.STREAM_SURFACE_BITS) !== 0;
    const fb = this.host.display.framebuffer;
    this.remoteFx =
      this.host.remoteFx && rfxCodecId && surfaceBits && this.bpp === 32
        ? new RemoteFxEncoder({ width: fb.width, height: fb.height, entropy: 'rlgr3', codecId: rfxCodecId })
        : undefined;
    this.scrBlt = supportsOrder(caps.order, OrderSupportIndex.SCRBLT);
    const graphics =
      (this.remoteFx ? 'RemoteFX surface commands' : `${compression ? 'compressed' : 'uncompressed'} bitmaps`) + (this.scrBlt && !this.remoteFx ? ', ScrBlt' : '') + (solidFills && !this.remoteFx ? ', OpaqueRect' : '');
    const codecs = caps.bitmapCodecs?.codecs.map((c) => `${c.guid}=${c.id}`).join(' ') ?? 'none';
    this.log('debug', `capabilities: ${this.bpp} bpp, ${graphics}, max request ${maxRequestSize}; client codecs ${codecs}, surface commands 0x${(caps.surfaceCommands?.cmdFlags ?? 0).toString(16)}`);
    this.phase = { name: 'finalization' };
  }

  private onDataPdu(pduType2: number, body: Buffer): void {
    const pdu = decodeClientDataPdu(pduType2, body);
    switch (pdu.kind) {
      case 'synchronize':
        this.sendOnChannel(encodeSynchronize(this.shareId, this.userChannelId));
        return;
      case 'control':
        if (pdu.action === ControlAction.COOPERATE) this.sendOnChannel(encodeControlCooperate(this.shareId));
        else if (pdu.action === ControlAction.REQUEST_CONTROL) this.sendOnChannel(encodeControlGrantedControl(this.shareId, this.userChannelId));
        return;
      case 'fontList':
        this.sendOnChannel(encodeFontMap(this.shareId));
        if (this.phase.name === 'finalization') this.activate();
        return;
      case 'input':
        for (const ev of pdu.events) this.inputHandler.handle(ev);
        return;
      case 'refreshRect':
        // Rare (after the client's window was hidden): repainting everything is simplest.
        this.damage?.markAll();
        this.schedule();
        return;
      case 'suppressOutput':
        this.updatesSuppressed = !pdu.allowDisplayUpdates;
        if (!this.updatesSuppressed) this.damage?.markAll();
        this.schedule();
        return;
      case 'shutdownRequest':
        // The session lives on without the client (it is the VM's console): deny, and the client
        // then disconnects by itself (2.2.2.2).
        this.sendOnChannel(encodeShutdownDenied(this.shareId));
        return;
      case 'unknown':
        this.log('debug', `ignored data PDU type ${pdu.pduType2}`);
        return;
    }
  }

  // ---- Active: graphics, pointer, LEDs -----------------------------------------------------

  private activate(): void {
    const first = this.damage === undefined;
    this.phase = { name: 'active' };
    clearTimeout(this.handshakeTimer);
    this.activateChannels();
    if (!first) {
      // A reactivated client has forgotten the pointer and the LEDs too.
      this.pointerSent = undefined;
      this.sendPointer(this.host.display.framebuffer.cursor, this.host.display.framebuffer.pointer);
      this.sendLeds(this.host.display.modifiers);
      this.damage?.markAll();
      this.schedule();
      return;
    }
    const display = this.host.display;
    const fb = display.framebuffer;
    this.host.metrics?.clientConnected();
    this.cleanups.push(() => this.host.metrics?.clientDisconnected());
    this.damage = fb.damage.subscribe({ onDamage: () => this.schedule(), acceptsCopy: () => this.acceptsCopy() });
    const onResize = () => this.schedule();
    const onLeds = (mask: number) => this.sendLeds(mask);
    const onCursor = (cursor: Cursor) => this.sendPointer(cursor, fb.pointer);
    const onPointer = (pointer: PointerState) => this.sendPointer(fb.cursor, pointer);
    fb.on('resize', onResize);
    fb.on('cursor', onCursor);
    fb.on('pointer', onPointer);
    display.on('modifiers', onLeds);
    this.cleanups.push(
      () => fb.off('resize', onResize),
      () => fb.off('cursor', onCursor),
      () => fb.off('pointer', onPointer),
      () => display.off('modifiers', onLeds),
    );
    this.sendLeds(display.modifiers);
    this.sendPointer(fb.cursor, fb.pointer);
    this.log('info', `active: ${fb.width}x${fb.height}, ${this.bpp} bpp`);
    this.schedule();
  }

  private sendLeds(mask: number): void {
    if (this.phase.name !== 'active') return;
    this.sendOnChannel(encodeSetKeyboardIndicators(this.shareId, decodeLockModifiers(mask)));
  }

  /**
   * The guest's cursor image (CursorDefine) as a pointer shape, or the pointer hidden when QEMU
   * says so (MouseSet visible=false; 2.2.9.1.1.4). Without a shape yet the client keeps its own.
   */
  private sendPointer(cursor: Cursor | undefined, pointer: PointerState): void {
    if (this.phase.name !== 'active' || !this.caps) return;
    const sent = this.pointerSent;
    if (sent && sent.cursor === cursor && sent.visible === pointer.visible) return;
    let update: FastPathUpdate | undefined;
    if (!pointer.visible) update = HIDDEN_POINTER;
    else if (cursor) {
      update = encodePointerImage(cursor, {
        largePointerFlags: this.caps.largePointer?.flags ?? 0,
        colorOnly: this.caps.pointer?.pointerCacheSize === undefined,
        maxRequestSize: clientMaxRequestSize(this.caps),
      });
    }
    if (!update) return;
    this.pointerSent = { cursor, visible: pointer.visible };
    for (const frame of encodeFastPathUpdates([update], clientMaxRequestSize(this.caps), this.bulk)) this.write(frame);
    this.reportBulkTime();
  }

  private schedule(): void {
    if (this.scheduled || this.phase.name !== 'active') return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      try {
        this.sendUpdates();
      } catch (err) {
        this.close(`internal error while sending updates: ${(err as Error).stack ?? String(err)}`, 'warn');
      }
    });
  }

  /**
   * Whether a copy (an area the guest scrolled) can be sent as one now: encoding takes and
   * sends in the same tick, so the client's picture, once what is in flight arrives, is the
   * framebuffer; only the output must be able to draw copies — the graphics pipeline always
   * (SURFACE_TO_SURFACE), fast-path output with ScrBlt orders when the client takes them
   * (RemoteFX surface commands do not).
   */
  private acceptsCopy(): boolean {
    if (this.phase.name !== 'active' || this.updatesSuppressed) return false;
    if (this.gfx.output) return this.gfx.output.ready;
    return this.scrBlt && !this.remoteFx;
  }

  private sendUpdates(): void {
    if (this.phase.name !== 'active' || !this.damage || !this.encoder) return;
    const fb = this.host.display.framebuffer;
    // The graphics pipeline follows a mode change itself (its surface is recreated).
    const gfx = this.gfx.output;
    if (!gfx && (fb.width !== this.sizeSent.width || fb.height !== this.sizeSent.height)) {
      this.reactivate();
      return;
    }
    if (this.updatesSuppressed || this.stream.writableLength > WRITE_HIGH_WATER) return;
    if (fb.width === 0 || fb.height === 0) return;
    if (gfx) return this.sendGfxFrame(gfx);
    // The copy first, as a ScrBlt order: the rectangles may overlap its source or destination.
    // (With RemoteFX none is taken: take() turns it into damage.)
    const copy = this.remoteFx ? undefined : this.damage.takeCopy();
    const rects: Rect[] = this.damage.take();
    const orders: Buffer[] = [];
    if (copy && copyInside(copy, this.sizeSent.width, this.sizeSent.height)) {
      orders.push(encodeScrBltOrder({ left: copy.x, top: copy.y, width: copy.w, height: copy.h, srcX: copy.srcX, srcY: copy.srcY }));
      this.host.metrics?.encoded('scrblt', 0);
    } else if (copy) {
      // Cannot happen while the desktop is the framebuffer's size; repaint rather than lose it.
      rects.push({ x: 0, y: 0, w: this.sizeSent.width, h: this.sizeSent.height });
    }
    if (rects.length === 0 && orders.length === 0) return;
    const started = process.hrtime.bigint();
    // RemoteFX is entropy-coded already: bulk compression would only spend time.
    const opaqueRects = this.encoder.opaqueRects;
    const bitmaps = { ...this.encoder.bitmapsByCodec };
    const frames = this.remoteFx ? this.encodeRemoteFx(this.remoteFx, rects) : this.encoder.encode(fb, rects, this.bulk, orders);
    if (this.encoder.opaqueRects > opaqueRects) this.host.metrics?.encoded('opaquerect', 0);
    // The time goes to the session's codec; others the update used (interleaved tiles in a planar
    // session, uncompressed ones where RLE would not be smaller) are counted beside it.
    for (const codec of Object.keys(bitmaps) as BitmapCodecName[]) {
      if (codec !== this.encoder.codecName && this.encoder.bitmapsByCodec[codec] > bitmaps[codec]) this.host.metrics?.encoded(codec, 0);
    }
    const bulkSeconds = this.reportBulkTime();
    this.host.metrics?.encoded(this.remoteFx ? 'remotefx' : this.encoder.codecName, Number(process.hrtime.bigint() - started) / 1e9 - bulkSeconds);
    for (const frame of frames) this.write(frame);
    this.host.metrics?.frameSent();
    if (this.damage.hasDamage()) this.schedule();
  }

  /** One graphics pipeline frame of the damage, unless the client is too many frames behind. */
  private sendGfxFrame(gfx: NonNullable<GfxPipelineSlot['output']>): void {
    if (!gfx.canSend || !this.damage) return;
    const fb = this.host.display.framebuffer;
    // The copy first: the frame draws it before the tiles, which may overlap it.
    const copy = this.damage.takeCopy();
    const rects: Rect[] = this.damage.take();
    if (rects.length === 0 && !copy && !gfx.needsReset(fb)) return;
    const started = process.hrtime.bigint();
    // A frame leaves as many small channel chunks: corked, they reach the socket in one write.
    this.stream.cork();
    let stats: ReturnType<typeof gfx.sendFrame>;
    try {
      stats = gfx.sendFrame(fb, rects, copy);
    } finally {
      this.stream.uncork();
    }
    if (stats?.surfaceCopies) this.host.metrics?.encoded('gfx-surface-to-surface', 0);
    if (rects.length > 0 || !stats?.surfaceCopies) this.host.metrics?.encoded(`gfx-${gfx.codec}`, Number(process.hrtime.bigint() - started) / 1e9);
    this.host.metrics?.frameSent();
    if (this.damage.hasDamage()) this.schedule();
  }

  /** Reports the time bulk compression took since the last report (as its own encoding); returns it. */
  private reportBulkTime(): number {
    if (!this.bulk || this.bulk.seconds === 0) return 0;
    const seconds = this.bulk.seconds;
    this.bulk.seconds = 0;
    this.host.metrics?.encoded(this.bulk.name, seconds);
    return seconds;
  }

  /** Surface bits with RemoteFX tiles (MS-RDPBCGR 2.2.9.2.2), each update within the client's reassembly size. */
  private encodeRemoteFx(rfx: RemoteFxEncoder, rects: Rect[]): Buffer[] {
    const maxRequestSize = clientMaxRequestSize(this.caps!);
    const fb = this.host.display.framebuffer;
    const parts = rfx.encodeFrameUpdates(fb.data, fb.stride, rects.map((r) => ({ x: r.x, y: r.y, width: r.w, height: r.h })), maxRequestSize - 64);
    return encodeFastPathUpdates(parts.map((data) => ({ updateCode: FastPathUpdateCode.SURFCMDS, data })), maxRequestSize);
  }

  /**
   * The guest changed mode: Deactivate All, then a new Demand Active with the new size; the
   * client answers with Confirm Active and finalization again (deactivation-reactivation, 1.3.1.3).
   */
  private reactivate(): void {
    if (!this.caps?.bitmap?.desktopResizeFlag) {
      this.close(`the guest's screen is now ${this.host.display.framebuffer.width}x${this.host.display.framebuffer.height} and the client cannot resize`, 'warn');
      return;
    }
    this.sendOnChannel(encodeDeactivateAll(this.shareId));
    this.sendDemandActive();
    this.log('info', `desktop resized to ${this.sizeSent.width}x${this.sizeSent.height}`);
  }
}

/** A bulk compressor that adds up the time it spends. */
class TimedBulkCompressor implements BulkCompressor {
  seconds = 0;
  constructor(private readonly inner: BulkCompressor) {}
  get type(): number {
    return this.inner.type;
  }
  get name(): string {
    return this.inner.name;
  }
  get maxPacketSize(): number {
    return this.inner.maxPacketSize;
  }
  get stats(): BulkCompressor['stats'] {
    return this.inner.stats;
  }
  compress(data: Buffer): BulkPacket {
    const started = process.hrtime.bigint();
    const packet = this.inner.compress(data);
    this.seconds += Number(process.hrtime.bigint() - started) / 1e9;
    return packet;
  }
}

/** The session's colour depth from the client core data (2.2.1.3.2): 32 if wanted and offered. */
function sessionColorDepth(gcc: ClientGccData): number {
  const core = gcc.core;
  if ((core.earlyCapabilityFlags ?? 0) & RNS_UD_CS_WANT_32BPP_SESSION && (core.supportedColorDepths ?? 0) & 0x0008) return 32;
  const high = core.highColorDepth;
  if (high === 24 || high === 16 || high === 15) return high;
  return 16;
}

/** Compares secrets in constant time (their SHA-256, so lengths do not leak either). */
function sameSecret(expected: string, given: string): boolean {
  const a = createHash('sha256').update(expected).digest();
  const b = createHash('sha256').update(given).digest();
  return timingSafeEqual(a, b);
}

