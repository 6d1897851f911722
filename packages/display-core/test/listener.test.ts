// The listener we serve to QEMU, driven over a real socketpair by a peer that speaks what
// QEMU's GDBus end does: server-side authentication (EXTERNAL, unix fds agreed), then method
// calls carrying file descriptors. QEMU here needs a GPU render node for gl=on, which CI
// machines lack, so the GL scanout is played by this peer.
import { closeSync, openSync, readdirSync, readlinkSync } from 'node:fs';
import { Socket } from 'node:net';
import { Message } from 'dbus-next';
import { marshallMessage, messageToJsFmt } from 'dbus-next/lib/marshall-compat.js';
import { afterEach, describe, expect, it } from 'vitest';
import { DMABUF_REFUSAL, serveListener, type ListenerSink } from '../src/dbus/listener.js';
import { MessageFramer } from '../src/dbus/message-framer.js';
import { IFACE, LISTENER_PATH } from '../src/dbus/names.js';
import { socketpair } from '../src/dbus/socketpair.js';
import { collectGarbage, until, USocket } from './peer-helpers.js';

/** The QEMU end: answers the auth client, then sends calls and collects replies. */
class QemuSide {
  readonly replies: Message[] = [];
  private readonly socket: USocket;
  private text = '';
  private authenticated = false;
  private readonly framer = new MessageFramer();
  private serial = 0;
  private onBegin: () => void = () => undefined;
  /** Resolves once the listener's end has sent BEGIN. */
  readonly ready = new Promise<void>((resolve) => {
    this.onBegin = resolve;
  });

  constructor(fd: number) {
    this.socket = new USocket({ fd });
    this.socket.supportsUnixFd = true;
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }


  call(member: string, signature: string, body: unknown[], fds: number[] = [], flags = 0, iface: string = IFACE.listener): void {
    const msg = new Message({
      serial: ++this.serial,
      flags,
      path: LISTENER_PATH,
      interface: iface,
      member,
      signature,
      body,
    });
    const [data] = marshallMessage(msg);
    this.socket.write({ data, fds });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.authenticated) {
      for (let at = 0; at < chunk.length; ) {
        const target = this.framer.readBuffer();
        const n = Math.min(target.length, chunk.length - at);
        chunk.copy(target, 0, at, at + n);
        at += n;
        this.framer.received(target, n, (raw) => this.replies.push(new Message(messageToJsFmt(raw) as never)));
      }
      return;
    }
    this.text += chunk.toString('latin1');
    for (let end = this.text.indexOf('\r\n'); end >= 0; end = this.text.indexOf('\r\n')) {
      const line = this.text.slice(0, end).replace(/^\0/, '');
      this.text = this.text.slice(end + 2);
      if (line.startsWith('AUTH EXTERNAL')) this.socket.write('OK 0123456789abcdef0123456789abcdef\r\n');
      else if (line === 'NEGOTIATE_UNIX_FD') this.socket.write('AGREE_UNIX_FD\r\n');
      else if (line === 'BEGIN') {
        this.authenticated = true;
        this.onBegin();
      }
    }
  }
}

/** How many of this process's fds are open on `target`. */
function fdsOpenOn(target: string): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === target) count++;
    } catch {
      // readdir's own fd, gone by now
    }
  }
  return count;
}

describe('listener', () => {
  const cleanup: Array<() => void> = [];
  afterEach(() => {
    for (const fn of cleanup.splice(0)) fn();
    // Before libuv has closed the peer's handle: the moment that aborts an unguarded usocket.
    collectGarbage({ type: 'minor' });
  });

  for (const sharedMemory of [true, false]) {
    const link = sharedMemory ? 'shared memory offered' : 'QEMU < 9.2, no shared memory';
    it(`refuses a DMABUF scanout with an error that points at gl=off, and closes the buffer it was given (${link})`, async () => {
      const offered: string[] = [];
      const sink = { dmabufOffered: () => offered.push('dmabuf') } as unknown as ListenerSink;
      const qemu = await connect(sink, sharedMemory);

      // Any file will do as the buffer: what matters is the fd that travels with the call.
      const dmabuf = openSync('/dev/null', 'r');
      const before = fdsOpenOn('/dev/null');
      qemu.call('ScanoutDMABUF', 'huuuutb', [0, 1024, 768, 4096, 0x34325258, 0n, true], [dmabuf]);
      await until(() => qemu.replies.length === 1, 'the reply to ScanoutDMABUF');
      closeSync(dmabuf);

      const reply = qemu.replies[0];
      expect(reply.type).toBe(3); // ERROR
      expect(reply.errorName).toBe('org.qemu.Display1.Error.Failed');
      expect(reply.body).toEqual([DMABUF_REFUSAL]);
      expect(DMABUF_REFUSAL).toContain('gl=off');
      expect(offered).toEqual(['dmabuf']);
      // The copy of the fd that arrived with the call is closed again, as is ours.
      expect(fdsOpenOn('/dev/null')).toBe(before - 1);

      qemu.call('UpdateDMABUF', 'iiii', [0, 0, 1024, 768]);
      await until(() => qemu.replies.length === 2, 'the reply to UpdateDMABUF');
      expect(qemu.replies[1].type).toBe(3);
      expect(qemu.replies[1].body).toEqual([DMABUF_REFUSAL]);
    });

    it(`applies frames larger than a socket read, and answers only calls that expect a reply (${link})`, async () => {
      const updates: Array<{ x: number; pixels: Buffer }> = [];
      const sink = {
        update: (x: number, _y: number, _w: number, _h: number, _stride: number, _format: number, data: Buffer) =>
          updates.push({ x, pixels: Buffer.from(data) }),
      } as unknown as ListenerSink;
      const qemu = await connect(sink, sharedMemory);
      const frame = Buffer.alloc(1024 * 768 * 4);
      for (let i = 0; i < frame.length; i += 4) frame.writeUInt32LE((i * 2654435761) >>> 0, i);
      // QEMU sends its updates flagged NO_REPLY_EXPECTED (GDBus, no callback given).
      qemu.call('Update', 'iiiiuuay', [1, 0, 1024, 768, 4096, 0x20020888, frame], [], 1);
      qemu.call('Update', 'iiiiuuay', [2, 0, 1, 1, 4, 0x20020888, frame.subarray(0, 4)]);
      await until(() => updates.length === 2 && qemu.replies.length === 1, 'both updates and one reply');
      expect(updates[0].x).toBe(1);
      expect(updates[0].pixels.equals(frame)).toBe(true);
      expect(updates[1].pixels.equals(frame.subarray(0, 4))).toBe(true);
      await new Promise((r) => setTimeout(r, 100));
      // The one reply answers the second call.
      expect(qemu.replies).toHaveLength(1);
      expect(qemu.replies[0].type).toBe(2); // METHOD_RETURN
      expect(qemu.replies[0].replySerial).toBe(2);
    });
  }

  it('gives a ScanoutMap its memfd when it arrives right behind a frame sent inline', async () => {
    const maps: Array<{ fd: number; target: string; width: number }> = [];
    const updates: number[] = [];
    const sink = {
      update: (x: number) => updates.push(x),
      scanoutMap: (fd: number, _offset: number, width: number) => {
        maps.push({ fd, target: readlinkSync(`/proc/self/fd/${fd}`), width });
        closeSync(fd);
      },
    } as unknown as ListenerSink;
    const qemu = await connect(sink, true);
    // QEMU 10 sends a VGA-memory surface inline, then the next mode's surface as a memfd.
    const frame = Buffer.alloc(1024 * 768 * 4, 0x11);
    const memfd = openSync('/dev/zero', 'r');
    qemu.call('Update', 'iiiiuuay', [7, 0, 1024, 768, 4096, 0x20020888, frame], [], 1);
    qemu.call('ScanoutMap', 'huuuuu', [0, 0, 640, 480, 2560, 0x20020888], [memfd], 1, IFACE.listenerUnixMap);
    qemu.call('Update', 'iiiiuuay', [8, 0, 1, 1, 4, 0x20020888, frame.subarray(0, 4)], [], 1);
    await until(() => updates.length === 2 && maps.length === 1, 'two updates and the ScanoutMap');
    closeSync(memfd);
    expect(updates).toEqual([7, 8]);
    expect(maps[0].target).toBe('/dev/zero');
    expect(maps[0].width).toBe(640);
  });

  it('reports an authentication QEMU refuses, and closes the link', async () => {
    const [ours, theirs] = socketpair();
    const { link, ready } = serveListener(ours, {} as ListenerSink, { sharedMemory: false });
    const peer = new Socket({ fd: theirs, readable: true, writable: true });
    cleanup.push(() => link.close(), () => peer.destroy());
    peer.on('data', () => peer.write('REJECTED EXTERNAL\r\n'));
    await expect(ready).rejects.toThrow(/D-Bus peer authentication failed: unexpected reply "REJECTED EXTERNAL"/);
    await link.closed;
  });

  it('takes messages that arrive in the same read as the last authentication reply', async () => {
    const updates: number[] = [];
    const sink = { update: (x: number) => updates.push(x) } as unknown as ListenerSink;
    const [ours, theirs] = socketpair();
    const { link, ready } = serveListener(ours, sink, { sharedMemory: false });
    const peer = new Socket({ fd: theirs, readable: true, writable: true });
    cleanup.push(() => link.close(), () => peer.destroy());
    const update = new Message({ serial: 1, flags: 1, path: LISTENER_PATH, interface: IFACE.listener, member: 'Update', signature: 'iiiiuuay', body: [5, 0, 1, 1, 4, 0x20020888, Buffer.alloc(4)] });
    // Everything at once, as soon as the client has spoken.
    peer.once('data', () => peer.write(Buffer.concat([Buffer.from('OK 0123456789abcdef0123456789abcdef\r\nAGREE_UNIX_FD\r\n'), marshallMessage(update)[0]])));
    await ready;
    await until(() => updates.length === 1, 'the update sent with the authentication replies');
    expect(updates).toEqual([5]);
  });

  async function connect(sink: ListenerSink, sharedMemory: boolean): Promise<QemuSide> {
    const [ours, theirs] = socketpair();
    const { link, ready } = serveListener(ours, sink, { sharedMemory });
    const qemu = new QemuSide(theirs);
    cleanup.push(() => link.close(), () => qemu.close());
    await ready;
    await qemu.ready;
    return qemu;
  }
});
