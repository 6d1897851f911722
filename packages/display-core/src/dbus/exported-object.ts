// Serves one object on a dbus-next connection from plain method handlers: the
// standard Properties, Introspectable and Peer interfaces plus the object's own
// methods. QEMU blocks its main loop on some of these calls (Properties.GetAll right
// after a listener's authentication, ScanoutMap), so every reply is sent at once.
import { Message, Variant, type MessageBus } from 'dbus-next';
import { IFACE } from './names.js';

const NO_REPLY_EXPECTED = 0x1;

export interface MethodReply {
  signature: string;
  body: unknown[];
}

export type MethodHandler = (body: unknown[], msg: Message) => MethodReply | void;

export interface ObjectSpec {
  path: string;
  /** interface name → property name → [D-Bus signature, value] */
  properties: Record<string, Record<string, [string, unknown]>>;
  /** interface name → member → handler */
  methods: Record<string, Record<string, MethodHandler>>;
  introspectionXml: string;
}

export function exportObject(bus: MessageBus, spec: ObjectSpec): () => void {
  // A call flagged NO_REPLY_EXPECTED gets none (D-Bus specification, "Message Format"): QEMU
  // sends each Update that way, and a reply per frame cost both sides a message.
  const wantsReply = (msg: Message) => (msg.flags & NO_REPLY_EXPECTED) === 0;
  const reply = (msg: Message, r: MethodReply | void) => {
    if (wantsReply(msg)) bus.send(Message.newMethodReturn(msg, r?.signature ?? '', r?.body ?? []));
  };
  const fail = (msg: Message, name: string, text: string) => {
    if (wantsReply(msg)) bus.send(Message.newError(msg as never, name, text));
  };

  const propertiesOf = (iface: string) => {
    const props = spec.properties[iface] ?? {};
    const dict: Record<string, Variant> = {};
    for (const [name, [sig, value]] of Object.entries(props)) dict[name] = new Variant(sig, value);
    return dict;
  };

  const handler = (msg: Message): boolean => {
    if (msg.path !== spec.path) return false;
    const body = (msg.body ?? []) as unknown[];
    switch (msg.interface) {
      case IFACE.properties:
        if (msg.member === 'GetAll') {
          reply(msg, { signature: 'a{sv}', body: [propertiesOf(String(body[0]))] });
        } else if (msg.member === 'Get') {
          const value = propertiesOf(String(body[0]))[String(body[1])];
          if (value) reply(msg, { signature: 'v', body: [value] });
          else fail(msg, 'org.freedesktop.DBus.Error.UnknownProperty', `no property ${String(body[1])}`);
        } else {
          fail(msg, 'org.freedesktop.DBus.Error.PropertyReadOnly', 'properties are read-only');
        }
        return true;
      case IFACE.introspectable:
        reply(msg, { signature: 's', body: [spec.introspectionXml] });
        return true;
      case IFACE.peer:
        reply(msg, msg.member === 'GetMachineId' ? { signature: 's', body: ['0'.repeat(32)] } : undefined);
        return true;
    }
    const method = msg.interface ? spec.methods[msg.interface]?.[msg.member ?? ''] : findByMember(msg.member);
    if (!method) return false;
    try {
      reply(msg, method(body, msg));
    } catch (err) {
      fail(msg, 'org.qemu.Display1.Error.Failed', (err as Error).message);
    }
    return true;
  };

  // A call may omit the interface (D-Bus spec: "Message Types"); look the member up in any.
  function findByMember(member: string | undefined): MethodHandler | undefined {
    for (const methods of Object.values(spec.methods)) if (member && methods[member]) return methods[member];
    return undefined;
  }

  bus.addMethodHandler(handler);
  return () => bus.removeMethodHandler(handler);
}
