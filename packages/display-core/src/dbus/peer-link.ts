// A D-Bus connection over one end of a socketpair handed to QEMU (RegisterListener,
// RegisterOutListener, …). QEMU runs GDBus *server* authentication on its end, so we are
// the auth client, and there is no bus daemon: the Hello and AddMatch calls that
// dbus-next's MessageBus makes on construction are answered here instead of being sent.
// Messages are read in place with the fds they carry (UnixSocket, MessageFramer).
import { EventEmitter } from 'node:events';
import { closeSync } from 'node:fs';
import { Message, type MessageBus } from 'dbus-next';
import { marshallMessage, messageToJsFmt } from 'dbus-next/lib/marshall-compat.js';
import MessageBusClass from 'dbus-next/lib/bus.js';
import { MessageFramer } from './message-framer.js';
import { UnixSocket } from './unix-socket.js';

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
  constructor(private readonly socket: UnixSocket) {
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
    this.socket.destroy();
    return this;
  }

  private write(msg: Message): void {
    const [data, fds] = marshallMessage(msg);
    // Nothing we send on a peer link carries fds (replies, GetAll, signals).
    if (fds.length) throw new Error('a peer link sends no file descriptors');
    this.socket.write(data);
  }

  private answerBusDriverLocally(msg: Message): void {
    const reply = msg.member === 'Hello'
      ? Message.newMethodReturn(msg, 's', [':peer'])
      : Message.newMethodReturn(msg, '', []);
    queueMicrotask(() => this.emit('message', reply));
  }
}

/** The authentication lines a client sends and the reply each must get (D-Bus specification, "Authentication Protocol"). */
function authLines(): Array<{ send: string; expect: RegExp }> {
  const uid = Buffer.from(String(process.getuid?.() ?? 0)).toString('hex');
  return [
    { send: `\0AUTH EXTERNAL ${uid}\r\n`, expect: /^OK [0-9a-f]+$/ },
    { send: 'NEGOTIATE_UNIX_FD\r\n', expect: /^(AGREE_UNIX_FD|ERROR.*)$/ },
  ];
}

/** A link to QEMU on `fd`, which it owns: closed when the link closes. */
export function openPeerLink(fd: number): PeerLink {
  const framer = new MessageFramer();
  let authenticated = false;
  let onAuthenticated: (err?: Error) => void = () => undefined;
  const steps = authLines();
  let text = '';
  const deliver = (raw: Record<string, unknown>) => conn.emit('message', new Message(messageToJsFmt(raw) as never));

  const onAuthBytes = (bytes: Buffer) => {
    text += bytes.toString('latin1');
    for (let end = text.indexOf('\r\n'); end >= 0 && !authenticated; end = text.indexOf('\r\n')) {
      const line = text.slice(0, end);
      text = text.slice(end + 2);
      const step = steps.shift();
      if (!step || !step.expect.test(line)) {
        onAuthenticated(new Error(`unexpected reply ${JSON.stringify(line.slice(0, 80))}`));
        return;
      }
      if (steps.length) socket.write(Buffer.from(steps[0].send, 'latin1'));
      else {
        socket.write(Buffer.from('BEGIN\r\n', 'latin1'));
        authenticated = true;
        onAuthenticated();
      }
    }
    if (authenticated && text) {
      // QEMU speaks only after our BEGIN, but bytes read past the last line are messages.
      const rest = Buffer.from(text, 'latin1');
      text = '';
      const target = framer.readBuffer();
      rest.copy(target);
      framer.received(target, rest.length, deliver);
    } else if (text.length > 4096) onAuthenticated(new Error('authentication reply too long'));
  };

  const socket = new UnixSocket(fd, {
    buffer: () => framer.readBuffer(),
    received: (buffer, n, fds) => {
      if (authenticated) framer.received(buffer, n, deliver, fds);
      else {
        for (const received of fds) closeSync(received);
        onAuthBytes(buffer.subarray(0, n));
      }
    },
  });
  const conn = new PeerConnection(socket);
  const bus = new MessageBusClass(conn);
  // MessageBus re-emits connection errors; a closed link is reported through `closed`.
  bus.on('error', () => undefined);
  const closed = new Promise<Error | undefined>((resolve) => {
    socket.on('error', (err: Error) => resolve(err));
    socket.on('close', () => resolve(undefined));
  });

  const start = () =>
    new Promise<void>((resolve, reject) => {
      onAuthenticated = (err) => {
        onAuthenticated = () => undefined;
        if (err) {
          reject(new Error(`D-Bus peer authentication failed: ${err.message}`));
          socket.destroy();
          return;
        }
        conn.markConnected();
        resolve();
      };
      socket.once('close', () => onAuthenticated(new Error('the link closed')));
      socket.write(Buffer.from(steps[0].send, 'latin1'));
    });
  return { bus, start, closed, close: () => socket.destroy() };
}
