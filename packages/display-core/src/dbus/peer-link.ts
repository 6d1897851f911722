// A D-Bus connection over one end of a socketpair handed to QEMU (RegisterListener,
// RegisterOutListener, …). QEMU runs GDBus *server* authentication on its end, so we are
// the auth client, and there is no bus daemon: the Hello and AddMatch calls that
// dbus-next's MessageBus makes on construction are answered here instead of being sent.
//
// Two transports: usocket, which receives file descriptors (ScanoutMap's memfd), and, for a
// link on which QEMU sends none, a plain net.Socket reading into memory we own: QEMU < 9.2
// sends every frame inline, and usocket's fresh buffer per read made V8 collect garbage
// every few frames (a full mark-compact each ~100 ms at 1920×1080, 30 frames/s).
import { EventEmitter } from 'node:events';
import { Socket, type OnReadOpts, type SocketConstructorOpts } from 'node:net';
import type { Duplex } from 'node:stream';
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

/** How a PeerConnection puts its bytes on the wire. */
interface Transport {
  readonly writable: boolean;
  write(data: Buffer, fds: number[]): void;
  end(): void;
}

class PeerConnection extends EventEmitter {
  private connected = false;
  private readonly pending: Message[] = [];
  constructor(readonly stream: Transport) {
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
    this.stream.write(data, fds);
  }

  private answerBusDriverLocally(msg: Message): void {
    const reply = msg.member === 'Hello'
      ? Message.newMethodReturn(msg, 's', [':peer'])
      : Message.newMethodReturn(msg, '', []);
    queueMicrotask(() => this.emit('message', reply));
  }
}

/**
 * What both transports share: the bus object on a PeerConnection, and `closed`, settled when
 * the stream fails, closes or ends (QEMU went away: our end is closed too).
 */
function peerLink(stream: Duplex, transport: Transport, start: (conn: PeerConnection) => Promise<void>): PeerLink {
  const conn = new PeerConnection(transport);
  const bus = new MessageBusClass(conn);
  // MessageBus re-emits connection errors; a closed link is reported through `closed`.
  bus.on('error', () => undefined);
  const closed = new Promise<Error | undefined>((resolve) => {
    stream.on('error', (err: Error) => resolve(err));
    stream.on('close', () => resolve(undefined));
    stream.on('end', () => {
      resolve(undefined);
      stream.destroy();
    });
  });
  return { bus, start: () => start(conn), closed, close: () => stream.destroy() };
}

/**
 * A link to QEMU on `fd`. `receivesFds` (default true): QEMU may send file descriptors on
 * it; without them the link reads into reused memory (see the top of this file).
 */
export function openPeerLink(fd: number, opts: { receivesFds?: boolean } = {}): PeerLink {
  return opts.receivesFds === false ? openSocketLink(fd) : openUSocketLink(fd);
}

function openUSocketLink(fd: number): PeerLink {
  const stream = new USocket({ fd });
  stream.supportsUnixFd = true;
  const framer = new MessageFramer();
  // File descriptors come with the first byte of the message that carries them. usocket
  // queues them without positions, and dbus-next's reader hands a message every fd queued
  // so far — a ScanoutMap arriving just behind another message would lose its memfd. So
  // we note where in the byte stream each batch arrived and frame messages ourselves.
  stream.on('fds', (fds: number[]) => {
    framer.pushFds(fds, stream.readableLength);
    (stream as unknown as { _wrap?: { fds: number[] } })._wrap!.fds = [];
  });
  const transport: Transport = {
    get writable() {
      return stream.writable;
    },
    write: (data, fds) => stream.write({ data, fds }),
    end: () => stream.end(),
  };
  const start = (conn: PeerConnection) =>
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
  return peerLink(stream, transport, start);
}

/** The authentication lines a client sends and the reply each must get (D-Bus specification, "Authentication Protocol"). */
function authLines(): Array<{ send: string; expect: RegExp }> {
  const uid = Buffer.from(String(process.getuid?.() ?? 0)).toString('hex');
  return [
    { send: `\0AUTH EXTERNAL ${uid}\r\n`, expect: /^OK [0-9a-f]+$/ },
    // Agreed so that QEMU still sends calls that carry fds (a DMABUF scanout); the kernel
    // drops those fds on this reader, and the call gets its refusal.
    { send: 'NEGOTIATE_UNIX_FD\r\n', expect: /^(AGREE_UNIX_FD|ERROR.*)$/ },
  ];
}

function openSocketLink(fd: number): PeerLink {
  const framer = new MessageFramer({ receivesFds: false });
  let conn: PeerConnection | undefined;
  let authenticated = false;
  let onAuthenticated: (err?: Error) => void = () => undefined;
  const steps = authLines();
  let text = '';

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
      if (steps.length) socket.write(steps[0].send);
      else {
        socket.write('BEGIN\r\n');
        authenticated = true;
        onAuthenticated();
      }
    }
    if (authenticated && text) {
      // QEMU speaks only after our BEGIN, but bytes read past the last line are messages.
      const target = framer.readBuffer();
      const rest = Buffer.from(text, 'latin1');
      text = '';
      rest.copy(target);
      framer.received(target, rest.length, deliver);
    } else if (text.length > 4096) onAuthenticated(new Error('authentication reply too long'));
  };
  const deliver = (raw: Record<string, unknown>) => conn?.emit('message', new Message(messageToJsFmt(raw) as never));

  // net.Socket takes `onread` as net.connect does (Node ≥ 12), though its types list it only there.
  const socket = new Socket({
    fd,
    readable: true,
    writable: true,
    onread: {
      buffer: () => framer.readBuffer(),
      callback: (n: number, buffer: Uint8Array) => {
        const bytes = buffer as Buffer;
        try {
          if (!authenticated) onAuthBytes(bytes.subarray(0, n));
          else framer.received(bytes, n, deliver);
        } catch (e) {
          socket.destroy(e as Error);
        }
        return true;
      },
    },
  } as SocketConstructorOpts & { onread: OnReadOpts });
  const transport: Transport = {
    get writable() {
      return socket.writable;
    },
    write: (data, fds) => {
      if (fds.length) throw new Error('this link cannot send file descriptors');
      socket.write(data);
    },
    end: () => socket.end(),
  };
  const start = (c: PeerConnection) =>
    new Promise<void>((resolve, reject) => {
      conn = c;
      onAuthenticated = (err) => {
        onAuthenticated = () => undefined;
        if (err) {
          reject(new Error(`D-Bus peer authentication failed: ${err.message}`));
          socket.destroy();
          return;
        }
        c.markConnected();
        resolve();
      };
      socket.once('close', () => onAuthenticated(new Error('the link closed')));
      socket.write(steps[0].send);
    });
  return peerLink(socket, transport, start);
}
