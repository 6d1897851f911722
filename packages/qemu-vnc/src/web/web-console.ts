// The web console: our page (web/ in this package) on noVNC's core, both served from this
// process — nothing is loaded from the internet — plus its RFB WebSocket endpoint and a small
// HTTP API (/api/vm, /screenshot.png). Mounted on display-core's OpsServer, so the same port
// also answers /healthz, /readyz and /metrics.
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BASIC_CHALLENGE,
  framebufferToPng,
  passwordMatches,
  presentedPassword,
  QemuDisplay,
  sendJson,
  sendText,
  type HttpRoute,
  type ProtocolMetrics,
  type UpgradeRoute,
} from '@vdi-sidecar/display-core';
import type { VncServer } from '../server/vnc-server.js';

/** The page's own files (index.html, console.js, console.css). */
const PAGE_DIR = fileURLToPath(new URL('../../web/', import.meta.url));
/** The installed @novnc/novnc package (its exports name core/rfb.js only). */
const NOVNC_DIR = dirname(dirname(createRequire(import.meta.url).resolve('@novnc/novnc')));
/** What of noVNC the browser may load: its ES modules and their vendored pako. */
const NOVNC_SUBDIRS = ['core', 'vendor'];

/** Where the page's RFB WebSocket is (the page derives it from its own URL). */
export const WEB_CONSOLE_WEBSOCKET_PATH = '/websockify';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

export interface WebConsoleOptions {
  server: VncServer;
  display: QemuDisplay;
  /** Bus and VM of `display`, to picture other consoles of the same VM. */
  busAddress: string;
  vm?: string;
  /** The console's password: also guards /api/vm and /screenshot.png (Basic or Bearer). */
  password?: string;
  metrics?: ProtocolMetrics;
}

export class WebConsole {
  /** HTTP routes for an OpsServer. */
  readonly route: HttpRoute = (req, res, url) => this.handle(req, res, url);
  /** The page's RFB endpoint: scancodes confirmed (a browser's KeyboardEvent.code is real). */
  readonly upgrade: UpgradeRoute;

  constructor(private readonly opts: WebConsoleOptions) {
    this.upgrade = opts.server.webSocketRoute(WEB_CONSOLE_WEBSOCKET_PATH, { transport: 'web-console', qemuKeyEvents: true });
  }

  private async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const path = url.pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    if (path === '/' || path === '/index.html') return this.file(res, join(PAGE_DIR, 'index.html'));
    if (path === '/console.js' || path === '/console.css') return this.file(res, join(PAGE_DIR, path.slice(1)));
    if (path.startsWith('/novnc/')) return this.novnc(res, path);
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return true;
    }
    if (path === '/api/vm') return this.authorized(req, res) && (await this.vmInfo(res));
    if (path === '/screenshot.png') return this.authorized(req, res) && (await this.screenshot(res, url));
    return false;
  }

  private async file(res: ServerResponse, file: string): Promise<boolean> {
    let body: Buffer;
    try {
      body = await readFile(file);
    } catch {
      return false;
    }
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
      // The page talks to its own origin only; noVNC needs blob: for cursors and data: images.
      'content-security-policy':
        "default-src 'self'; img-src 'self' data: blob:; connect-src 'self' ws: wss:; style-src 'self'; frame-ancestors 'none'",
    });
    res.end(body);
    return true;
  }

  private novnc(res: ServerResponse, path: string): Promise<boolean> | boolean {
    const rel = decodeURIComponent(path.slice('/novnc/'.length));
    const file = normalize(join(NOVNC_DIR, rel));
    const allowed = NOVNC_SUBDIRS.some((d) => file.startsWith(join(NOVNC_DIR, d) + sep));
    if (!allowed || extname(file) !== '.js') return false;
    return this.file(res, file);
  }

  /** True when no password is set or the request presents it; else answers 401. */
  private authorized(req: IncomingMessage, res: ServerResponse): boolean {
    const password = this.opts.password;
    if (!password) return true;
    const limiter = this.opts.server.limiter;
    const address = req.socket.remoteAddress ?? 'unknown';
    if (limiter.blocked(address)) {
      sendText(res, 429, 'too many authentication failures from this address; try again later\n', { 'retry-after': '60' });
      return false;
    }
    const presented = presentedPassword(req);
    if (passwordMatches(presented, password)) {
      limiter.succeed(address);
      return true;
    }
    if (presented !== undefined) {
      limiter.fail(address);
      this.opts.metrics?.authFailed();
    }
    sendText(res, 401, 'authentication required: HTTP Basic with the console password, or Authorization: Bearer <password>\n', {
      'www-authenticate': BASIC_CHALLENGE,
    });
    return false;
  }

  private async vmInfo(res: ServerResponse): Promise<boolean> {
    const { display, server } = this.opts;
    const vm = display.vm;
    if (!vm) {
      sendJson(res, 503, { error: 'no VM', state: display.state, clients: server.clients() });
      return true;
    }
    const consoles = (await display.listConsoles()).map((c) => ({ id: c.id, label: c.label, type: c.type, width: c.width, height: c.height, head: c.head }));
    sendJson(res, 200, { name: vm.name, uuid: vm.uuid, console: display.console?.id, consoles, clients: server.clients() });
    return true;
  }

  private async screenshot(res: ServerResponse, url: URL): Promise<boolean> {
    const { display } = this.opts;
    const text = url.searchParams.get('console');
    const id = text === null ? (display.console?.id ?? 0) : Number(text);
    if (!Number.isInteger(id) || id < 0) {
      sendText(res, 400, `console takes a whole number, not "${text}"\n`);
      return true;
    }
    if (!display.vm) {
      sendText(res, 503, 'no VM\n');
      return true;
    }
    if (!display.vm.consoleIds.includes(id)) {
      sendText(res, 404, `the VM has no console ${id} (it has ${display.vm.consoleIds.join(', ')})\n`);
      return true;
    }
    const png = id === display.console?.id ? await framebufferToPng(display.framebuffer) : await this.otherConsole(id);
    res.writeHead(200, { 'content-type': 'image/png', 'cache-control': 'no-store', 'content-length': png.length }).end(png);
    return true;
  }

  /** Another console of the VM: attached once for its picture (its own bus connection). */
  private async otherConsole(id: number): Promise<Buffer> {
    const other = new QemuDisplay({ address: this.opts.busAddress, vm: this.opts.display.vm?.uuid ?? this.opts.vm, console: id }).start();
    try {
      await other.waitForScreen(10_000);
      return await framebufferToPng(other.framebuffer);
    } finally {
      other.close();
    }
  }
}
