// The graphics pipeline's dynamic channel (MS-RDPEGFX), "Microsoft::Windows::RDS::Graphics":
// offered only to clients that announced it in their core data (the session's GfxPipelineSlot).
// Client PDUs come unwrapped, server messages go out in RDP_SEGMENTED_DATA (./segment.ts). Once
// the capabilities are confirmed the session sends its screen output through this channel's
// GfxOutput; when the channel closes, fast-path bitmap updates take over again.
import { GfxOutput, type GfxCodecChoice } from '../../server/gfx-output.js';
import type { DynamicChannel, DynamicChannelContext, DynamicChannelType } from '../drdynvc.js';
import { decodeClientGfxPdu, GFX_CHANNEL_NAME, splitGfxPdus } from './pdu.js';
import { encodeSegmented } from './segment.js';

export interface GfxChannelOptions {
  /** Default: the session's choice (its GfxPipelineSlot's codec). */
  codec?: GfxCodecChoice;
  cache?: boolean;
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

  constructor(
    private readonly context: DynamicChannelContext,
    options: GfxChannelOptions,
  ) {
    this.output = new GfxOutput({
      send: (message) => context.send(encodeSegmented(message)),
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
  }
}
