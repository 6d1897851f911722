// The virtual channels this server serves, by the name a client gives them in its GCC network
// data (static) or opens over drdynvc (dynamic). A channel the client asks for that is not here
// is joined but ignored.
import { createCliprdrChannel } from './cliprdr.js';
import { createDrdynvcChannel, type DynamicChannelType } from './drdynvc.js';
import { DISPLAY_CONTROL_CHANNEL } from './display-control.js';
import { GFX_CHANNEL } from './gfx/index.js';
import { rdpsndChannel } from './rdpsnd.js';
import type { StaticChannelFactory } from './static-channel.js';

/** Dynamic channels offered to clients that have drdynvc. */
export const DYNAMIC_CHANNEL_TYPES: readonly DynamicChannelType[] = [DISPLAY_CONTROL_CHANNEL, GFX_CHANNEL];

export const STATIC_CHANNELS: Readonly<Record<string, StaticChannelFactory>> = {
  drdynvc: createDrdynvcChannel(DYNAMIC_CHANNEL_TYPES),
  cliprdr: createCliprdrChannel,
  rdpsnd: rdpsndChannel,
};

export type { ChannelContext, StaticChannel, StaticChannelFactory } from './static-channel.js';
export type { DynamicChannel, DynamicChannelContext, DynamicChannelType } from './drdynvc.js';
