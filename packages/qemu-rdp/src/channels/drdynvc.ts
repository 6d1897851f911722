// The "drdynvc" static channel: the server side of dynamic virtual channels (MS-RDPEDYC 1.3).
// Once the session is active the server announces its DVC version, then asks the client to
// open every dynamic channel it has a handler for (./index.ts); data is reassembled per channel
// and handed to that channel's handler.
import { RdpProtocolError } from '../pdu/errors.js';
import { decodeClientDvcPdu, encodeDvcCapabilitiesRequest, encodeDvcCreateRequest, encodeDvcData } from '../pdu/drdynvc.js';
import type { ChannelContext, ChannelLogLevel, StaticChannel } from './static-channel.js';

export interface DynamicChannelContext {
  readonly display: ChannelContext['display'];
  readonly clipboard: ChannelContext['clipboard'];
  readonly graphics?: ChannelContext['graphics'];
  log(level: ChannelLogLevel, message: string): void;
  /** Sends one whole message on this dynamic channel. */
  send(message: Buffer): void;
}

export interface DynamicChannel {
  /** The channel is open (the client accepted it). */
  onOpen?(): void;
  /** A whole message from the client. */
  onMessage(message: Buffer): void;
  close(): void;
}

export interface DynamicChannelType {
  /** The name the client knows it by, e.g. "Microsoft::Windows::RDS::DisplayControl". */
  readonly name: string;
  /** Whether to ask this client to open the channel (default: always). */
  available?(context: ChannelContext): boolean;
  create(context: DynamicChannelContext): DynamicChannel;
}

/** Largest reassembled dynamic channel message accepted from a client. */
const MAX_DVC_MESSAGE = 8 << 20;

interface OpenChannel {
  readonly type: DynamicChannelType;
  handler: DynamicChannel | undefined;
  /** A message being reassembled from DATA_FIRST + DATA. */
  pending: { total: number; parts: Buffer[]; received: number } | undefined;
}

export function createDrdynvcChannel(types: readonly DynamicChannelType[]): (context: ChannelContext) => StaticChannel {
  return (context) => new DrdynvcChannel(context, types);
}

class DrdynvcChannel implements StaticChannel {
  private readonly channels = new Map<number, OpenChannel>();
  private started = false;

  constructor(
    private readonly context: ChannelContext,
    private readonly types: readonly DynamicChannelType[],
  ) {}

  onActive(): void {
    if (this.started) return;
    this.started = true;
    this.context.send(encodeDvcCapabilitiesRequest(3));
  }

  onMessage(message: Buffer): void {
    const pdu = decodeClientDvcPdu(message);
    switch (pdu.kind) {
      case 'capabilities': {
        this.context.log('debug', `drdynvc: client speaks version ${pdu.version}`);
        this.types.forEach((type, i) => {
          if (type.available && !type.available(this.context)) return;
          const channelId = i + 1;
          this.channels.set(channelId, { type, handler: undefined, pending: undefined });
          this.context.send(encodeDvcCreateRequest(channelId, type.name));
        });
        return;
      }
      case 'createResponse': {
        const channel = this.channels.get(pdu.channelId);
        if (!channel) throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `drdynvc: create response for unknown channel ${pdu.channelId}`);
        if (pdu.creationStatus < 0) {
          this.context.log('info', `drdynvc: the client did not open ${channel.type.name} (status 0x${(pdu.creationStatus >>> 0).toString(16)})`);
          this.channels.delete(pdu.channelId);
          return;
        }
        channel.handler = channel.type.create({
          display: this.context.display,
          clipboard: this.context.clipboard,
          graphics: this.context.graphics,
          log: (level, text) => this.context.log(level, `${channel.type.name}: ${text}`),
          send: (data) => {
            if (this.channels.get(pdu.channelId) !== channel) return;
            for (const part of encodeDvcData(pdu.channelId, data)) this.context.send(part);
          },
        });
        channel.handler.onOpen?.();
        return;
      }
      case 'dataFirst': {
        const channel = this.openChannel(pdu.channelId);
        if (pdu.totalLength > MAX_DVC_MESSAGE || pdu.data.length > pdu.totalLength) {
          throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `drdynvc: message of ${pdu.totalLength} bytes on ${channel.type.name}`);
        }
        channel.pending = { total: pdu.totalLength, parts: [Buffer.from(pdu.data)], received: pdu.data.length };
        this.completeIfWhole(channel);
        return;
      }
      case 'data': {
        const channel = this.openChannel(pdu.channelId);
        if (!channel.pending) {
          channel.handler!.onMessage(pdu.data);
          return;
        }
        channel.pending.parts.push(Buffer.from(pdu.data));
        channel.pending.received += pdu.data.length;
        if (channel.pending.received > channel.pending.total) {
          throw new RdpProtocolError('RDP_ERR_BAD_LENGTH', `drdynvc: ${channel.pending.received} bytes of a ${channel.pending.total}-byte message on ${channel.type.name}`);
        }
        this.completeIfWhole(channel);
        return;
      }
      case 'close': {
        const channel = this.channels.get(pdu.channelId);
        channel?.handler?.close();
        this.channels.delete(pdu.channelId);
        return;
      }
    }
  }

  close(): void {
    for (const channel of this.channels.values()) channel.handler?.close();
    this.channels.clear();
  }

  private openChannel(channelId: number): OpenChannel & { handler: DynamicChannel } {
    const channel = this.channels.get(channelId);
    if (!channel?.handler) throw new RdpProtocolError('RDP_ERR_UNEXPECTED', `drdynvc: data on channel ${channelId}, which is not open`);
    return channel as OpenChannel & { handler: DynamicChannel };
  }

  private completeIfWhole(channel: OpenChannel): void {
    const pending = channel.pending;
    if (!pending || pending.received < pending.total) return;
    channel.pending = undefined;
    channel.handler!.onMessage(Buffer.concat(pending.parts));
  }
}
