import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { connectUnix } from './wait.js';

/** An asynchronous QMP event, e.g. `{ event: 'RESUME', data: {…}, timestamp }`. */
export interface QmpEvent {
  event: string;
  data?: Record<string, unknown>;
  timestamp?: { seconds: number; microseconds: number };
}

/** The QMP greeting's version block. */
export interface QmpVersion {
  qemu: { major: number; minor: number; micro: number };
  package: string;
}

/** An error reply from QEMU: `class` is QMP's error class (e.g. `GenericError`). */
export class QmpError extends Error {
  override name = 'QmpError';
  constructor(
    readonly command: string,
    readonly errorClass: string,
    readonly desc: string,
  ) {
    super(`QMP ${command} failed: ${errorClass}: ${desc}`);
  }
}

interface Pending {
  command: string;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

type QmpMessage =
  | { QMP: { version: QmpVersion; capabilities: unknown[] } }
  | { return: unknown; id?: number }
  | { error: { class: string; desc: string }; id?: number }
  | QmpEvent;

/**
 * Minimal QMP client over a unix socket: greeting and capability negotiation on
 * connect, commands matched to replies by id, events kept in `events` and emitted as
 * 'event'. Emits 'close' when QEMU goes away; pending commands then reject.
 */
export class QmpClient extends EventEmitter<{ event: [QmpEvent]; close: [] }> {
  /** Every event received so far, oldest first. */
  readonly events: QmpEvent[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private buffer = '';
  private closed = false;
  private greeting: ((version: QmpVersion) => void) | undefined;

  private constructor(private readonly socket: Socket) {
    super();
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', () => {
      // 'close' follows and reports it.
    });
    socket.on('close', () => this.onClose());
  }

  /** QEMU's version from the greeting. */
  version!: QmpVersion;

  /**
   * Connects (retrying until the socket accepts), reads the greeting and enters command
   * mode. `abort` is polled while connecting, see {@link connectUnix}.
   */
  static async connect(
    path: string,
    options: { timeoutMs?: number; abort?: () => string | undefined } = {},
  ): Promise<QmpClient> {
    const socket = await connectUnix(path, { what: 'QMP', ...options });
    const client = new QmpClient(socket);
    client.version = await new Promise<QmpVersion>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no QMP greeting within 10 s')), 10_000);
      client.greeting = (v) => {
        clearTimeout(timer);
        resolve(v);
      };
      client.once('close', () => {
        clearTimeout(timer);
        reject(new Error('QMP connection closed before the greeting'));
      });
    });
    await client.execute('qmp_capabilities');
    return client;
  }

  /** Runs a command and returns its `return` value; rejects with {@link QmpError}. */
  execute<T = unknown>(command: string, args?: Record<string, unknown>): Promise<T> {
    if (this.closed) return Promise.reject(new Error(`QMP ${command}: connection closed`));
    const id = this.nextId++;
    const message = JSON.stringify(
      args === undefined ? { execute: command, id } : { execute: command, arguments: args, id },
    );
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { command, resolve: resolve as (value: unknown) => void, reject });
      this.socket.write(`${message}\n`);
    });
  }

  /**
   * Resolves with the first event named `name` (that also satisfies `match`) received
   * after `since` events (default: from now on, i.e. `events.length`).
   */
  waitEvent(
    name: string,
    options: { timeoutMs?: number; since?: number; match?: (e: QmpEvent) => boolean } = {},
  ): Promise<QmpEvent> {
    const ok = (e: QmpEvent) => e.event === name && (options.match?.(e) ?? true);
    const earlier = this.events.slice(options.since ?? this.events.length).find(ok);
    if (earlier) return Promise.resolve(earlier);
    const timeoutMs = options.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const onEvent = (e: QmpEvent) => {
        if (!ok(e)) return;
        cleanup();
        resolve(e);
      };
      const onClose = () => {
        cleanup();
        reject(new Error(`QMP closed while waiting for event ${name}`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for QMP event ${name}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.off('event', onEvent);
        this.off('close', onClose);
      };
      this.on('event', onEvent);
      this.on('close', onClose);
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (line) this.onMessage(JSON.parse(line) as QmpMessage);
    }
  }

  private onMessage(message: QmpMessage): void {
    if ('QMP' in message) {
      this.greeting?.(message.QMP.version);
      return;
    }
    if ('event' in message) {
      this.events.push(message);
      this.emit('event', message);
      return;
    }
    const pending = message.id === undefined ? undefined : this.pending.get(message.id);
    if (!pending || message.id === undefined) return;
    this.pending.delete(message.id);
    if ('error' in message) pending.reject(new QmpError(pending.command, message.error.class, message.error.desc));
    else pending.resolve(message.return);
  }

  private onClose(): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) p.reject(new Error(`QMP ${p.command}: connection closed`));
    this.pending.clear();
    this.emit('close');
  }
}
