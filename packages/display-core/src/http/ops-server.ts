// The HTTP side every sidecar process can mount: Kubernetes probes (/healthz: the process
// answers; /readyz: it can do its job), Prometheus metrics (/metrics), and whatever routes
// the process adds (qemu-vnc's web console). One server, one port per process.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger, QemuDisplay } from '../display.js';
import type { ServerMetrics } from '../metrics.js';
import type { Endpoint } from '../net/endpoint.js';

/** Answers a request it knows (true) or leaves it to the next route (false). */
export type HttpRoute = (req: IncomingMessage, res: ServerResponse, url: URL) => boolean | Promise<boolean>;

/** Takes a WebSocket upgrade it knows (true) or leaves it (false: the socket is closed). */
export type UpgradeRoute = (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL) => boolean;

/** Whether the process can serve now, and if not why (the /readyz body). */
export type Readiness = () => { ready: true } | { ready: false; reason: string };

export interface OpsServerOptions {
  readiness: Readiness;
  metrics?: ServerMetrics;
  /** Tried in order after the built-in paths. */
  routes?: HttpRoute[];
  upgrades?: UpgradeRoute[];
  log?: Logger;
}

/** Ready while a VM console is attached (the bus is connected and the VM is on it). */
export function displayReadiness(display: QemuDisplay): Readiness {
  return () => {
    switch (display.state) {
      case 'attached':
        return { ready: true };
      case 'waiting-for-vm':
        return { ready: false, reason: 'bus connected, no VM (yet)' };
      case 'no-bus':
        return { ready: false, reason: 'no D-Bus connection' };
      default:
        return { ready: false, reason: display.state };
    }
  };
}

export class OpsServer {
  readonly http: Server;
  private readonly log: Logger;
  /** Upgraded connections: the HTTP server no longer closes those itself. */
  private readonly upgraded = new Set<Duplex>();

  constructor(private readonly opts: OpsServerOptions) {
    this.log = opts.log ?? (() => undefined);
    this.http = createServer((req, res) => void this.handle(req, res));
    this.http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = requestUrl(req);
      if (!(opts.upgrades ?? []).some((route) => route(req, socket, head, url))) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      this.upgraded.add(socket);
      socket.once('close', () => this.upgraded.delete(socket));
    });
  }

  /** Listens; resolves with the bound address (port 0 picks one). */
  listen(endpoint: Endpoint): Promise<Endpoint> {
    return new Promise((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(endpoint.port, endpoint.host, () => {
        this.http.off('error', reject);
        this.http.on('error', (err) => this.log('error', `http listener: ${err.message}`));
        const addr = this.http.address() as AddressInfo;
        resolve({ host: addr.address, port: addr.port });
      });
    });
  }

  /** Stops listening and drops every connection (close the routes' sessions first, politely). */
  close(): Promise<void> {
    this.http.closeAllConnections();
    for (const socket of this.upgraded) socket.destroy();
    return new Promise((resolve) => this.http.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req);
    try {
      if (await this.builtIn(req, res, url)) return;
      for (const route of this.opts.routes ?? []) {
        if (await route(req, res, url)) return;
      }
      sendText(res, 404, 'not found\n');
    } catch (err) {
      this.log('error', `http ${req.method} ${url.pathname}: ${(err as Error).message}`);
      if (!res.headersSent) sendText(res, 500, 'internal error\n');
      else res.destroy();
    }
  }

  private async builtIn(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    switch (url.pathname) {
      case '/healthz':
        sendText(res, 200, 'ok\n');
        return true;
      case '/readyz': {
        const r = this.opts.readiness();
        sendText(res, r.ready ? 200 : 503, r.ready ? 'ready\n' : `not ready: ${r.reason}\n`);
        return true;
      }
      case '/metrics': {
        const metrics = this.opts.metrics;
        if (!metrics) return false;
        const body = await metrics.text();
        res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : body);
        return true;
      }
      default:
        return false;
    }
  }
}

export function requestUrl(req: IncomingMessage): URL {
  return new URL(req.url ?? '/', 'http://localhost');
}

export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...headers }).end(text);
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(`${JSON.stringify(value, null, 2)}\n`);
}
