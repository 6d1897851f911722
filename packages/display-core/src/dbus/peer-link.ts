// A D-Bus connection over one end of a socketpair handed to QEMU (RegisterListener,
// RegisterOutListener, …). QEMU runs GDBus *server* authentication on its end, so we are
// the auth client, and there is no bus daemon: the Hello and AddMatch calls that
// dbus-next's MessageBus makes on construction are answered here instead of being sent.
import { EventEmitter } from 'node:events';
import { Message, type MessageBus } from 'dbus-next';
import clientHandshake from 'dbus-next/lib/handshake.js';
import { marshallMessage, messageToJsFmt } from 'dbus-next/lib/marshall-compat.js';
import { MessageFramer } from './message-framer.js';
import MessageBusClass from 'dbus-next/lib/bus.js';
import { USocket } from 'usocket';
import './usocket-close-guard.js';

const BUS_DRIVER = 'org.freedesktop.DBus';

export interface PeerLink {
  /** dbus-next bus object: export handlers with addMethodHandler before `start()`. */
  readonly bus: MessageBus;
  /** Runs the authentication; resolves once QEMU accepted us. */
  start(): Promise<void>;
  /** Resolves when the peer closes the link or it fails. */
  readonly closed: Promise<Error | undefined>;
  close(): void;
}

class PeerConnection extends EventEmitter {
  private connected = false;
  private readonly pending: Message[] = [];
  constructor(readonly stream: USocket) {
    super();
  }

  /** Called by MessageBus for every outgoing message. */
  message(msg: Message): void {
    if (msg.destination === BUS_DRIVER) {
      this.answerBusDriverLocally(msg);
    } else if (!this.connected) {
      this.pending.push(msg);
    } else {
      this.write(msg);
    }
  }

  markConnected(): void {
    this.connected = true;
    for (const msg of this.pending.splice(0)) this.write(msg);
  }

  end(): this {
    this.stream.end();
    return this;
  }

  private write(msg: Message): void {
    if (!this.stream.writable) return;
    const [data, fds] = marshallMessage(msg);
    this.stream.write({ data, fds });
  }

  private answerBusDriverLocally(msg: Message): void {
    const reply = msg.member === 'Hello'
      ? Message.newMethodReturn(msg, 's', [':peer'])
      : Message.newMethodReturn(msg, '', []);
    queueMicrotask(() => this.emit('message', reply));
  }
}

export function openPeerLink(fd: number): PeerLink {
  const stream = new USocket({ fd });
  stream.supportsUnixFd = true;
  const conn = new PeerConnection(stream);
  const framer = new MessageFramer();
  // File descriptors come with the first byte of the message that carries them. usocket
  // queues them without positions, and dbus-next's reader hands a message every fd queued
  // so far — a ScanoutMap arriving just behind another message would lose its memfd. So
  // we note where in the byte stream each batch arrived and frame messages ourselves.
  stream.on('fds', (fds: number[]) => {
    framer.pushFds(fds, stream.readableLength);
    (stream as unknown as { _wrap?: { fds: number[] } })._wrap!.fds = [];
  });
  const bus = new MessageBusClass(conn);
  // MessageBus re-emits connection errors; a closed link is reported through `closed`.
  bus.on('error', () => undefined);

  let settleClosed: (err: Error | undefined) => void = () => undefined;
  const closed = new Promise<Error | undefined>((resolve) => {
    settleClosed = resolve;
  });
  stream.on('error', (err: Error) => settleClosed(err));
  stream.on('close', () => settleClosed(undefined));
  stream.on('end', () => {
    settleClosed(undefined);
    stream.destroy();
  });

  const start = () =>
    new Promise<void>((resolve, reject) => {
      clientHandshake(stream, { authMethods: ['EXTERNAL'] }, (err) => {
        if (err) {
          reject(new Error(`D-Bus peer authentication failed: ${String(err)}`));
          return;
        }
        stream.on('data', (chunk: Buffer) => {
          try {
            framer.push(chunk, (raw) => conn.emit('message', new Message(messageToJsFmt(raw) as never)));
          } catch (e) {
            stream.destroy(e as Error);
          }
        });
        // The handshake read in paused mode; a 'data' listener alone does not resume then.
        stream.resume();
        conn.markConnected();
        resolve();
      });
    });

  return {
    bus,
    start,
    closed,
    close: () => {
      stream.destroy();
    },
  };
}
