// A unix stream socket that reads into memory its reader owns and receives file descriptors
// (native/unix_link.c). Node's net.Socket can do the first but drops fds; usocket receives
// fds but allocates a fresh buffer per read, which at 1920×1080 and 30 frames/s made V8 run
// a full collection every ~100 ms.
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { constants } from 'node:os';

interface UnixLinkAddon {
  recv(fd: number, buffer: Uint8Array, fdsOut: Int32Array): number;
  send(fd: number, buffer: Uint8Array): number;
  setSendBuffer(fd: number, bytes: number): number;
  pollOpen(fd: number, callback: (status: number, events: number) => void): object;
  pollStart(handle: object, events: number): void;
  pollClose(handle: object): void;
}
const addon = createRequire(import.meta.url)('../../build/Release/unix_link.node') as UnixLinkAddon;

const READABLE = 1;
const WRITABLE = 2;
const EAGAIN = constants.errno.EAGAIN;
/** Reads per readiness callback, so one busy link cannot starve the event loop. */
const READS_PER_WAKEUP = 32;

/**
 * Lets the writer on `fd` have up to `bytes` in flight before it waits for the reader
 * (SO_SNDBUF; the kernel caps it at net.core.wmem_max and doubles it for its bookkeeping).
 */
export function setSendBuffer(fd: number, bytes: number): void {
  const result = addon.setSendBuffer(fd, bytes);
  if (result < 0) throw errnoError(-result, 'setsockopt(SO_SNDBUF)');
}

/** Where a UnixSocket puts what it reads. */
export interface UnixSocketReader {
  /** The memory the next read goes into. */
  buffer(): Buffer;
  /**
   * `n` bytes were read into `buffer`, with `fds` (usually none). The kernel ends a read
   * after the bytes that carried fds, so they belong with the message that holds the last
   * byte read. The fds are the reader's to close.
   */
  received(buffer: Buffer, n: number, fds: readonly number[]): void;
}

function errnoError(errno: number, op: string): Error {
  const name = Object.entries(constants.errno).find(([, value]) => value === errno)?.[0] ?? `errno ${errno}`;
  return Object.assign(new Error(`${op} failed: ${name}`), { code: name });
}

/**
 * Owns `fd` (closed by `destroy`). Emits 'end' when the peer closes, 'error' when a read or
 * write fails or the reader throws, and 'close' once, last.
 */
export class UnixSocket extends EventEmitter {
  private readonly poll: object;
  private readonly fdsOut = new Int32Array(254);
  private readonly unsent: Buffer[] = [];
  private destroyed = false;
  private watchingWritable = false;

  constructor(
    private readonly fd: number,
    private readonly reader: UnixSocketReader,
  ) {
    super();
    this.poll = addon.pollOpen(fd, (status, events) => this.onReady(status, events));
    addon.pollStart(this.poll, READABLE);
  }

  get writable(): boolean {
    return !this.destroyed;
  }

  write(data: Buffer): void {
    if (this.destroyed) return;
    this.unsent.push(data);
    if (this.unsent.length === 1) this.flush();
  }

  /** Closes the link; with `error`, reports it first. */
  destroy(error?: Error): void {
    if (this.destroyed) return;
    this.destroyed = true;
    addon.pollClose(this.poll);
    this.unsent.length = 0;
    if (error) this.emit('error', error);
    this.emit('close');
  }

  private onReady(status: number, events: number): void {
    if (this.destroyed) return;
    if (status < 0) return this.destroy(errnoError(-status, 'poll'));
    if (events & WRITABLE) this.flush();
    if (events & READABLE) this.read();
  }

  private read(): void {
    for (let i = 0; i < READS_PER_WAKEUP && !this.destroyed; i++) {
      const buffer = this.reader.buffer();
      const n = addon.recv(this.fd, buffer, this.fdsOut);
      if (n === -EAGAIN) return;
      if (n < 0) return this.destroy(errnoError(-n, 'recvmsg'));
      if (n === 0) {
        this.emit('end');
        return this.destroy();
      }
      const count = this.fdsOut[0];
      const fds = count ? Array.from(this.fdsOut.subarray(1, 1 + count)) : NO_FDS;
      try {
        this.reader.received(buffer, n, fds);
      } catch (e) {
        return this.destroy(e instanceof Error ? e : new Error(String(e)));
      }
    }
  }

  private flush(): void {
    while (this.unsent.length && !this.destroyed) {
      const n = addon.send(this.fd, this.unsent[0]);
      if (n === -EAGAIN) break;
      if (n < 0) return this.destroy(errnoError(-n, 'send'));
      if (n < this.unsent[0].length) this.unsent[0] = this.unsent[0].subarray(n);
      else this.unsent.shift();
    }
    const blocked = this.unsent.length > 0;
    if (this.destroyed || blocked === this.watchingWritable) return;
    this.watchingWritable = blocked;
    addon.pollStart(this.poll, blocked ? READABLE | WRITABLE : READABLE);
  }
}

const NO_FDS: readonly number[] = Object.freeze([]);
