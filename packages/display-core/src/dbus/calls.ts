// Thin typed wrappers over raw dbus-next messages. We call QEMU's methods directly
// (no ProxyObject): that avoids an Introspect round trip per object and keeps the
// signatures visible next to the call.
import { Message, Variant, type MessageBus } from 'dbus-next';
import { IFACE } from './names.js';

export interface MethodCall {
  destination: string;
  path: string;
  interface: string;
  member: string;
  signature?: string;
  body?: unknown[];
}

export async function callMethod(bus: MessageBus, call: MethodCall): Promise<unknown[]> {
  const reply = await bus.call(new Message({ ...call, body: call.body ?? [] } as never));
  return (reply?.body as unknown[] | undefined) ?? [];
}

/** Sends a call without waiting for its reply (input events: order matters, latency too). */
export function sendMethod(bus: MessageBus, call: MethodCall): void {
  bus.send(new Message({ ...call, body: call.body ?? [], flags: 1 /* NO_REPLY_EXPECTED */ } as never));
}

export function unwrapVariant(value: unknown): unknown {
  return value instanceof Variant ? unwrapVariant(value.value) : value;
}

export function unwrapDict(dict: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries((dict ?? {}) as Record<string, unknown>)) out[k] = unwrapVariant(v);
  return out;
}

export async function getAllProperties(
  bus: MessageBus,
  destination: string,
  path: string,
  iface: string,
): Promise<Record<string, unknown>> {
  const [dict] = await callMethod(bus, {
    destination,
    path,
    interface: IFACE.properties,
    member: 'GetAll',
    signature: 's',
    body: [iface],
  });
  return unwrapDict(dict);
}

/** A D-Bus error name, when `err` is one (dbus-next's DBusError). */
export function dbusErrorName(err: unknown): string | undefined {
  const type = (err as { type?: unknown } | null)?.type;
  return typeof type === 'string' ? type : undefined;
}
