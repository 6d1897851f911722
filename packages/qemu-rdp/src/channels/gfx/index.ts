// The graphics pipeline's dynamic channel (MS-RDPEGFX), "Microsoft::Windows::RDS::Graphics":
// offered only to clients that announced it in their core data (the session's GfxPipelineSlot).
// Client PDUs come unwrapped, server messages go out in RDP_SEGMENTED_DATA (./segment.ts). Once
// the capabilities are confirmed the session sends its screen output through this channel's
// GfxOutput; when the channel closes, fast-path bitmap updates take over again.
import { ZgfxCompressor } from '../../bulk/zgfx.js';
import { GfxOutput, type GfxCodecChoice } from '../../server/gfx-output.js';
import type { DynamicChannel, DynamicChannelContext, DynamicChannelType } from '../drdynvc.js';
import { decodeClientGfxPdu, GFX_CHANNEL_NAME, splitGfxPdus } from './pdu.js';
import { encodeSegmented } from './segment.js';

export interface GfxChannelOptions {
  /** Default: the session's choice (its GfxPipelineSlot's codec). */
  codec?: GfxCodecChoice;
  cache?: boolean;
  /** ZGFX-compress what the channel sends (default on; every client decodes it). */
  compress?: boolean;
}

export function gfxChannel(options: GfxChannelOptions = {}): DynamicChannelType {
  return {
    name: GFX_CHANNEL_NAME,
    available: (context) => context.graphics?.offered === true,
    create: (context) => new GfxChannel(context, options),
  };
}

/** The channel as served to clients. */
export const GFX_CHANNEL: DynamicChannelType = gfxChannel();

class GfxChannel implements DynamicChannel {
  readonly output: GfxOutput;
  private attached = false;
  private readonly zgfx: ZgfxCompressor | undefined;

  constructor(
    private readonly context: DynamicChannelContext,
    options: GfxChannelOptions,
  ) {
    this.zgfx = options.compress === false ? undefined : new ZgfxCompressor();
    this.output = new GfxOutput({
      send: (message) => context.send(encodeSegmented(message, this.zgfx)),
      log: (level, message) => context.log(level, message),
      wake: () => context.graphics?.wake(),
      codec: options.codec ?? context.graphics?.codec,
      cache: options.cache,
    });
  }

  onMessage(message: Buffer): void {
    for (const pdu of splitGfxPdus(message)) {
      this.output.onClientPdu(decodeClientGfxPdu(pdu));
      if (!this.attached && this.output.ready && this.context.graphics) {
        this.attached = true;
        this.context.log('info', `screen output through the graphics pipeline (capability version 0x${this.output.version!.toString(16)})`);
        this.context.graphics.attach(this.output);
      }
    }
  }

  close(): void {
    if (this.attached) this.context.graphics?.detach(this.output);
    this.attached = false;
    if (this.zgfx) {
      const { bytesIn, bytesOut, segments, rawSegments } = this.zgfx.stats;
      const ratio = bytesIn ? ((100 * bytesOut) / bytesIn).toFixed(1) : '-';
      this.context.log('debug', `ZGFX: ${bytesIn} bytes in ${segments} segments → ${bytesOut} bytes (${ratio} %), ${rawSegments} sent raw`);
    }
  }
}
