// UnixSocket over a real socketpair, against usocket as the peer (a different
// implementation of fd passing): bytes and fds in order, writes larger than the socket
// buffer, and the end of the link in each way it can end.
import { closeSync, existsSync, openSync, readFileSync, readlinkSync, writeSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { socketpair } from '../src/dbus/socketpair.js';
import { setSendBuffer, UnixSocket, type UnixSocketReader } from '../src/dbus/unix-socket.js';
import { collectGarbage, until, USocket } from './peer-helpers.js';

/** A reader that keeps a copy of everything, and where in the stream fds arrived. */
function recorder(): UnixSocketReader & { bytes: Buffer[]; fdsAt: Array<{ end: number; targets: string[] }>; total: number } {
  const buffer = Buffer.alloc(4096);
  const r = {
    bytes: [] as Buffer[],
    fdsAt: [] as Array<{ end: number; targets: string[] }>,
    total: 0,
    buffer: () => buffer,
    received(b: Buffer, n: number, fds: readonly number[]) {
      r.bytes.push(Buffer.from(b.subarray(0, n)));
      r.total += n;
      if (fds.length) {
        r.fdsAt.push({ end: r.total, targets: fds.map((fd) => readlinkSync(`/proc/self/fd/${fd}`)) });
        for (const fd of fds) closeSync(fd);
      }
    },
  };
  return r;
}

/** What `fd` is open on now ('' when closed): a closed number may be reused by the time we look. */
function openOn(fd: number): string {
  return existsSync(`/proc/self/fd/${fd}`) ? readlinkSync(`/proc/self/fd/${fd}`) : '';
}

describe('UnixSocket', () => {
  const cleanup: Array<() => void> = [];
  afterEach(() => {
    for (const fn of cleanup.splice(0)) fn();
    // Before libuv has closed the peer's handle: the moment that aborts an unguarded usocket.
    collectGarbage({ type: 'minor' });
  });

  function pair(reader: UnixSocketReader): { ours: UnixSocket; fd: number; socket: string; peer: USocket } {
    const [a, b] = socketpair();
    const socket = openOn(a);
    const ours = new UnixSocket(a, reader);
    const peer = new USocket({ fd: b });
    cleanup.push(() => ours.destroy(), () => peer.destroy());
    return { ours, fd: a, socket, peer };
  }

  it('reads the bytes in order, with each fd at the end of the read that carried it', async () => {
    const r = recorder();
    const { peer } = pair(r);
    const first = Buffer.alloc(100_000, 1);
    const file = openSync('/dev/null', 'r');
    peer.write({ data: first, fds: [] });
    peer.write({ data: Buffer.alloc(50, 2), fds: [file] });
    peer.write({ data: Buffer.alloc(10, 3), fds: [] });
    await until(() => r.total === 100_060, 'all 100060 bytes');
    closeSync(file);
    expect(Buffer.concat(r.bytes).equals(Buffer.concat([first, Buffer.alloc(50, 2), Buffer.alloc(10, 3)]))).toBe(true);
    // The kernel ends a read after the bytes the fds came with.
    expect(r.fdsAt).toEqual([{ end: 100_050, targets: ['/dev/null'] }]);
  });

  it('writes everything, also more than the socket buffer holds at once', async () => {
    const { ours, peer } = pair(recorder());
    const got: Buffer[] = [];
    peer.on('data', (chunk: Buffer) => got.push(chunk));
    const big = Buffer.alloc(4_000_000);
    for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(i, i);
    ours.write(big);
    ours.write(Buffer.from('tail'));
    await until(() => got.reduce((n, c) => n + c.length, 0) === big.length + 4, 'all bytes at the peer');
    expect(Buffer.concat(got).equals(Buffer.concat([big, Buffer.from('tail')]))).toBe(true);
  });

  it("reports the peer's close as 'end', then 'close', and closes its fd", async () => {
    const { ours, fd, socket, peer } = pair(recorder());
    const events: string[] = [];
    ours.on('end', () => events.push('end'));
    ours.on('close', () => events.push('close'));
    peer.destroy();
    await until(() => events.length === 2, 'end and close');
    expect(events).toEqual(['end', 'close']);
    expect(ours.writable).toBe(false);
    expect(socket).toMatch(/^socket:/);
    expect(openOn(fd)).not.toBe(socket);
  });

  it("reports a reader that throws as 'error', then 'close'", async () => {
    const reader = { buffer: () => Buffer.alloc(64), received: () => { throw new Error('broken message'); } };
    const { ours, fd, socket, peer } = pair(reader);
    const events: string[] = [];
    ours.on('error', (e: Error) => events.push(`error: ${e.message}`));
    ours.on('close', () => events.push('close'));
    peer.write({ data: Buffer.from('x'), fds: [] });
    await until(() => events.length === 2, 'error and close');
    expect(events).toEqual(['error: broken message', 'close']);
    expect(socket).toMatch(/^socket:/);
    expect(openOn(fd)).not.toBe(socket);
  });

  it('lets the writer have as much in flight as setSendBuffer asks, up to the kernel\'s cap', () => {
    /** Bytes written to a socket whose peer never reads, until the write would block. */
    const inFlight = (fd: number): number => {
      const chunk = Buffer.alloc(65536);
      let total = 0;
      for (;;) {
        try {
          total += writeSync(fd, chunk);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return total;
          throw e;
        }
      }
    };
    const [a, b] = socketpair();
    const [c, d] = socketpair();
    cleanup.push(() => [a, b, c, d].forEach((fd) => closeSync(fd)));
    const cap = Number(readFileSync('/proc/sys/net/core/wmem_max', 'utf8'));
    const asked = 2 << 20;
    setSendBuffer(d, asked);
    const usual = inFlight(b);
    expect(usual).toBeLessThan(400_000);
    expect(inFlight(d)).toBeGreaterThanOrEqual(Math.min(asked, cap));
    expect(() => setSendBuffer(-1, asked)).toThrow(/setsockopt\(SO_SNDBUF\) failed: EBADF/);
  });
});
