// The VNC server: accepts RFB clients over TCP and WebSocket, applies the share policy,
// and hands each connection to a VncSession that speaks for one VM console.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createSecureContext, type SecureContext } from 'node:tls';
import { AuthRateLimiter, DEFAULT_STALL_TIMEOUT_MS, type ClipboardPeer, type Endpoint, type ProtocolMetrics, type QemuDisplay, type UpgradeRoute } from '@vdi-sidecar/display-core';
import { createRequire } from 'node:module';
import type { WebSocket, WebSocketServer } from 'ws';
import type { VncSecurity } from './auth.js';
import { VncSession, type SessionHost, type SharePolicy, type VncSessionOptions, type VncTransport } from './session.js';

export type LogFn = (level: 'debug' | 'info' | 'warn' | 'error', message: string) => void;

export interface VncServerOptions {
  display: QemuDisplay;
  clipboard?: ClipboardPeer;
  security: VncSecurity;
  sharePolicy?: SharePolicy;
  metrics?: ProtocolMetrics;
  /** Drop a client that takes none of its waiting output for this long (default 30 s; 0: never). */
  stallTimeoutMs?: number;
  log?: LogFn;
}

/** A connected client, as /api/vm lists it. */
export interface VncClientInfo {
  id: number;
  protocol: 'vnc';
  transport: VncTransport;
  address: string;
  shared: boolean;
  connectedAt: string;
}

/**
 * The ws module, loaded when the first WebSocket listener or route is made: a server without
 * --websocket and --http never needs it (and saves the ~4 MiB resident it costs to load).
 */
function loadWs(): typeof import('ws') {
  return createRequire(import.meta.url)('ws') as typeof import('ws');
}

/** WebSocket messages up to this size; RFB client messages are small (clipboard ≤ 1 MiB). */
const WS_MAX_PAYLOAD = 4 << 20;

export class VncServer implements SessionHost {
  readonly display: QemuDisplay;
  readonly clipboard: ClipboardPeer | undefined;
  readonly security: VncSecurity;
  readonly limiter = new AuthRateLimiter();
  readonly metrics: ProtocolMetrics | undefined;
  readonly stallTimeoutMs: number;
  /** TLSNone/TLSVnc: anonymous Diffie-Hellman, as gtk-vnc and TigerVNC implement them. */
  readonly anonymousTls: SecureContext = createSecureContext({
    ciphers: 'ADH:AECDH:@SECLEVEL=0',
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.2',
    dhparam: 'auto',
  });
  readonly sessions = new Set<VncSession>();
  private readonly sharePolicy: SharePolicy;
  private readonly logFn: LogFn;
  private readonly servers: Array<Server | HttpServer> = [];
  private readonly webSocketServers: WebSocketServer[] = [];
  private nextId = 1;

  constructor(opts: VncServerOptions) {
    this.display = opts.display;
    this.clipboard = opts.clipboard;
    this.security = opts.security;
    this.sharePolicy = opts.sharePolicy ?? 'allow';
    this.metrics = opts.metrics;
    this.stallTimeoutMs = opts.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS;
    this.logFn = opts.log ?? (() => undefined);
  }

  log(level: 'debug' | 'info' | 'warn' | 'error', message: string): void {
    this.logFn(level, message);
  }

  desktopName(): string {
    return this.display.vm?.name || 'QEMU (no VM yet)';
  }

  /** Listens for RFB over TCP; resolves with the bound address (port 0 picks one). */
  listen(endpoint: Endpoint): Promise<Endpoint> {
    const server = createServer((socket: Socket) => {
      socket.setNoDelay(true);
      this.accept(socket, socket.remoteAddress ?? 'unknown');
    });
    return this.bind(server, endpoint);
  }

  /** Listens for RFB inside WebSocket binary messages (noVNC, websockify's framing). */
  listenWebSocket(endpoint: Endpoint): Promise<Endpoint> {
    const http = createHttpServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('This port speaks RFB over WebSocket.\n');
    });
    const wss = this.webSocketServer({ server: http }, { transport: 'websocket', qemuKeyEvents: false });
    this.webSocketServers.push(wss);
    return this.bind(http, endpoint);
  }

  /**
   * RFB over WebSocket at `path` of another HTTP server (the web console's), for mounting
   * on an OpsServer. Its clients get `options` (the console's page sends real scancodes).
   */
  webSocketRoute(path: string, options: VncSessionOptions): UpgradeRoute {
    const wss = this.webSocketServer({ noServer: true }, options);
    this.webSocketServers.push(wss);
    return (req, socket, head, url) => {
      if (url.pathname !== path) return false;
      wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
      return true;
    };
  }

  /** Clients past the handshake. */
  clients(): VncClientInfo[] {
    return [...this.sessions]
      .filter((s) => s.isActive)
      .map((s) => ({
        id: s.id,
        protocol: 'vnc',
        transport: s.options.transport,
        address: s.remoteAddress,
        shared: s.shared,
        connectedAt: (s.connectedAt ?? new Date()).toISOString(),
      }));
  }

  private webSocketServer(where: { server: HttpServer } | { noServer: true }, options: VncSessionOptions): WebSocketServer {
    const { WebSocketServer: Server, createWebSocketStream } = loadWs();
    const wss = new Server({
      ...where,
      maxPayload: WS_MAX_PAYLOAD,
      handleProtocols: (protocols) => (protocols.has('binary') ? 'binary' : false),
    });
    wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
      const stream = createWebSocketStream(ws);
      this.accept(stream, req.socket.remoteAddress ?? 'unknown', options);
    });
    return wss;
  }

  admit(session: VncSession, shared: boolean): string | undefined {
    const others = [...this.sessions].filter((s) => s !== session && s.isActive);
    if (this.sharePolicy === 'allow') return undefined;
    if (others.some((s) => !s.shared)) {
      if (this.sharePolicy === 'refuse') return 'another client has the console exclusively';
    }
    if (!shared && others.length) {
      if (this.sharePolicy === 'refuse') return 'other clients are connected and this one asked for exclusive access';
      for (const s of others) s.close(`disconnected: client ${session.id} asked for exclusive access`);
    }
    return undefined;
  }

  closed(session: VncSession): void {
    this.sessions.delete(session);
  }

  async close(): Promise<void> {
    for (const s of [...this.sessions]) s.close('server shutting down');
    for (const wss of this.webSocketServers) wss.close();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private accept(stream: Duplex, remoteAddress: string, options: VncSessionOptions = { transport: 'tcp', qemuKeyEvents: false }): void {
    const session = new VncSession(this.nextId++, stream, remoteAddress, this, options);
    this.sessions.add(session);
  }

  private bind(server: Server | HttpServer, endpoint: Endpoint): Promise<Endpoint> {
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
}
