// The RDP server: accepts TCP clients and hands each connection to an RdpSession that
// speaks for one VM console. TLS is always on (PROTOCOL_SSL): the session upgrades the
// socket after X.224 negotiation, with this server's certificate.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import { AuthRateLimiter, DEFAULT_STALL_TIMEOUT_MS, type ClipboardPeer, type Endpoint, type ProtocolMetrics, type Logger, type QemuDisplay } from '@vdi-sidecar/display-core';
import { subjectPublicKeyOf } from '../nla/index.js';
import { RdpSession } from './session.js';
import type { GfxCodecChoice } from './gfx-output.js';

export type LogFn = Logger;

export type BulkCompressionChoice = 'xcrush' | 'mppc' | 'off';

export interface RdpCredentials {
  /** Empty: any user name (only the password is checked). */
  username: string;
  password: string;
}

export interface RdpServerOptions {
  display: QemuDisplay;
  /** The VM's clipboard, for the clipboard channel (none: no clipboard sharing). */
  clipboard?: ClipboardPeer;
  /** PEM certificate and key for TLS. */
  tls: { cert: string; key: string };
  /** Without: any user name and password are accepted. */
  credentials?: RdpCredentials;
  /** Send planar / interleaved RLE bitmaps (default true); false: uncompressed only. */
  bitmapCompression?: boolean;
  /**
   * Bulk compression of fast-path output for clients that announce compression in their Client
   * Info: 'xcrush' (default) — RDP 6.1 (XCRUSH) to clients that take it, else MPPC (64K or 8K);
   * 'mppc' — MPPC only; 'off' — never.
   */
  bulkCompression?: BulkCompressionChoice;
  /** Prometheus counters for protocol "rdp" (display-core's ServerMetrics). */
  metrics?: ProtocolMetrics;
  /** Drop a client that takes none of its waiting output for this long (default 30 s; 0: never). */
  stallTimeoutMs?: number;
  /** Send RemoteFX (lossy) to clients that offer it (default true); false: bitmaps only. */
  remoteFx?: boolean;
  /** Offer the graphics pipeline (MS-RDPEGFX) to clients that announce it (default true). */
  graphicsPipeline?: boolean;
  /** The pipeline's codec for tiles that are neither solid nor cached (default 'planar'). */
  gfxCodec?: GfxCodecChoice;
  log?: LogFn;
}

/** What a session needs from its server. */
export interface RdpSessionHost {
  readonly display: QemuDisplay;
  readonly clipboard: ClipboardPeer | undefined;
  readonly secureContext: SecureContext;
  readonly credentials: RdpCredentials | undefined;
  readonly limiter: AuthRateLimiter;
  readonly bitmapCompression: boolean;
  readonly bulkCompression: BulkCompressionChoice;
  /** The TLS certificate's public key, which NLA binds its exchange to. */
  readonly serverPublicKey: Buffer;
  readonly metrics: ProtocolMetrics | undefined;
  readonly stallTimeoutMs: number;
  readonly remoteFx: boolean;
  /** Offer the graphics pipeline (default when absent: yes). */
  readonly graphicsPipeline?: boolean;
  readonly gfxCodec?: GfxCodecChoice;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void;
  closed(session: RdpSession): void;
}

export class RdpServer implements RdpSessionHost {
  readonly display: QemuDisplay;
  readonly clipboard: ClipboardPeer | undefined;
  readonly secureContext: SecureContext;
  readonly credentials: RdpCredentials | undefined;
  readonly bitmapCompression: boolean;
  readonly bulkCompression: BulkCompressionChoice;
  readonly serverPublicKey: Buffer;
  readonly metrics: ProtocolMetrics | undefined;
  readonly stallTimeoutMs: number;
  readonly remoteFx: boolean;
  readonly graphicsPipeline: boolean;
  readonly gfxCodec: GfxCodecChoice;
  readonly limiter = new AuthRateLimiter();
  readonly sessions = new Set<RdpSession>();
  private readonly logFn: LogFn;
  private readonly servers: Server[] = [];
  private nextId = 1;

  constructor(opts: RdpServerOptions) {
    this.display = opts.display;
    this.clipboard = opts.clipboard;
    this.secureContext = createSecureContext({ cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.2' });
    this.credentials = opts.credentials;
    this.bitmapCompression = opts.bitmapCompression ?? true;
    this.bulkCompression = opts.bulkCompression ?? 'xcrush';
    this.serverPublicKey = subjectPublicKeyOf(opts.tls.cert);
    this.metrics = opts.metrics;
    this.stallTimeoutMs = opts.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    this.remoteFx = opts.remoteFx ?? true;
    this.graphicsPipeline = opts.graphicsPipeline ?? true;
    this.gfxCodec = opts.gfxCodec ?? 'planar';
    this.logFn = opts.log ?? (() => undefined);
  }

  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void {
    this.logFn(level, message);
  }

  /** Listens for RDP over TCP; resolves with the bound address (port 0 picks one). */
  listen(endpoint: Endpoint): Promise<Endpoint> {
    const server = createServer((socket: Socket) => {
      socket.setNoDelay(true);
      const session = new RdpSession(this.nextId++, socket, socket.remoteAddress ?? 'unknown', this);
      this.sessions.add(session);
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(endpoint.port, endpoint.host, () => {
        server.off('error', reject);
        server.on('error', (err) => this.log('error', `listener: ${err.message}`));
        this.servers.push(server);
        const addr = server.address() as AddressInfo;
        resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  closed(session: RdpSession): void {
    this.sessions.delete(session);
  }

  async close(): Promise<void> {
    for (const s of [...this.sessions]) s.close('server shutting down');
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}
