// dbus-next ships no typings for its internal modules; the peer link reuses them
// (message parsing, marshalling, the bus object) instead of re-implementing the wire format.
declare module 'dbus-next/lib/marshall-compat.js' {
  import type { Message } from 'dbus-next';
  export function messageToJsFmt(raw: Record<string, unknown>): Record<string, unknown>;
  export function marshallMessage(msg: Message): [Buffer, number[]];
}
declare module 'dbus-next/lib/bus.js' {
  import type { MessageBus } from 'dbus-next';
  const MessageBusClass: new (conn: unknown) => MessageBus;
  export default MessageBusClass;
}
declare module 'usocket' {
  import { Duplex } from 'node:stream';
  export class USocket extends Duplex {
    constructor(opts?: { fd?: number; path?: string });
    supportsUnixFd?: boolean;
    fd?: number;
  }
}
