// What a static virtual channel handler (cliprdr, rdpsnd, drdynvc…) gets from the session and
// offers it. The session joins the channels the client asked for in its GCC network data and
// that have a handler in ./index.ts; it reassembles chunks and hands whole messages over.
import type { ClipboardPeer, QemuDisplay } from '@vdi-sidecar/display-core';
import type { GfxPipelineSlot } from '../server/gfx-output.js';

export type ChannelLogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface ChannelContext {
  readonly display: QemuDisplay;
  /** The VM's clipboard, when clipboard sharing is on. */
  readonly clipboard: ClipboardPeer | undefined;
  /** The session's screen output for the graphics pipeline channel (MS-RDPEGFX), when it has one. */
  readonly graphics?: GfxPipelineSlot;
  log(level: ChannelLogLevel, message: string): void;
  /** Sends one whole message on this channel (the session chunks it). */
  send(message: Buffer): void;
}

export interface StaticChannel {
  /** A whole message from the client. Throw RdpProtocolError for malformed input: the client is dropped. */
  onMessage(message: Buffer): void;
  /** The session became active (called again after each reactivation). */
  onActive?(): void;
  /** The session ends. */
  close(): void;
}

export type StaticChannelFactory = (context: ChannelContext) => StaticChannel;
