// noVNC (the @novnc/novnc package's core/rfb.js, unmodified) in Debian's Chromium, headless,
// driven by playwright-core. A tiny page served from 127.0.0.1 loads the library from
// node_modules; nothing comes from the internet. Code that runs in the page lives in that
// page (window.vdi), so the tests only evaluate short expressions on it.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { Image } from '../images.js';
import { waitFor } from '../wait.js';

/** Directory of the installed @novnc/novnc package (its exports name core/rfb.js only). */
export const NOVNC_DIR = dirname(dirname(createRequire(import.meta.url).resolve('@novnc/novnc')));

export const CHROMIUM = '/usr/bin/chromium';

const PAGE = `<!doctype html>
<html>
<head>
<meta charset="utf-8">
<title>vdi noVNC</title>
<style>
  html, body { margin: 0; padding: 0; background: #000; }
  #screen { width: 1200px; height: 900px; }
</style>
</head>
<body>
<div id="screen"></div>
<script type="module">
import RFB from '/novnc/core/rfb.js';

const state = { connected: false, disconnected: null, securityFailure: null, credentialsRequired: false, desktopName: null };
let rfb = null;
const canvas = () => document.querySelector('#screen canvas');

window.vdi = {
  state,
  connect(url, password) {
    rfb = new RFB(document.getElementById('screen'), url, password ? { credentials: { password } } : {});
    rfb.scaleViewport = false;
    rfb.clipViewport = false;
    rfb.resizeSession = false;
    rfb.addEventListener('connect', () => { state.connected = true; });
    rfb.addEventListener('disconnect', (e) => { state.disconnected = { clean: e.detail.clean }; });
    rfb.addEventListener('securityfailure', (e) => { state.securityFailure = e.detail; });
    rfb.addEventListener('credentialsrequired', () => { state.credentialsRequired = true; });
    rfb.addEventListener('desktopname', (e) => { state.desktopName = e.detail.name; });
  },
  focus() { rfb.focus(); },
  // Changing either makes noVNC send SetEncodings again, mid-session.
  setLevels(quality, compression) { rfb.qualityLevel = quality; rfb.compressionLevel = compression; },
  disconnect() { rfb?.disconnect(); },
  size() { const c = canvas(); return c ? { width: c.width, height: c.height } : null; },
  box() { const r = canvas().getBoundingClientRect(); return { x: r.left, y: r.top, width: r.width, height: r.height }; },
  // The canvas's pixels, RGBA, base64 (a few MB cross the DevTools protocol as one string).
  pixels() {
    const c = canvas();
    const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let binary = '';
    for (let i = 0; i < data.length; i += 0x8000) binary += String.fromCharCode.apply(null, data.subarray(i, i + 0x8000));
    return { width: c.width, height: c.height, base64: btoa(binary) };
  },
};
window.vdiReady = true;
</script>
</body>
</html>
`;

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.html': 'text/html', '.json': 'application/json' };

/** Serves the page at / and the noVNC package under /novnc/, on 127.0.0.1. */
async function startPageServer(): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE);
      return;
    }
    const file = normalize(join(NOVNC_DIR, path.replace(/^\/novnc\//, '')));
    if (!path.startsWith('/novnc/') || !file.startsWith(NOVNC_DIR + sep)) {
      res.writeHead(404).end();
      return;
    }
    readFile(file).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/` };
}

/**
 * Debian's Chromium, headless, with a fresh profile (a temporary directory, removed by
 * `dispose`), collecting the page's console messages and errors.
 */
export async function launchChromium(): Promise<{ context: BrowserContext; page: Page; consoleLines: string[]; dispose: () => Promise<void> }> {
  const profile = await mkdtemp(join(tmpdir(), 'vdi-chromium-'));
  let context: BrowserContext | undefined;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 1000 },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
      ],
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const consoleLines: string[] = [];
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
    const launched = context;
    const dispose = async () => {
      await launched.close().catch(() => undefined);
      await rm(profile, { recursive: true, force: true });
    };
    return { context, page, consoleLines, dispose };
  } catch (err) {
    await context?.close().catch(() => undefined);
    await rm(profile, { recursive: true, force: true });
    throw err;
  }
}

/** A headless Chromium showing noVNC connected to a WebSocket URL. */
export class NoVncBrowser {
  private constructor(
    readonly context: BrowserContext,
    readonly page: Page,
    private readonly server: Server,
    private readonly dispose: () => Promise<void>,
    readonly consoleLines: string[],
  ) {}

  /** Launches Chromium (fresh profile), loads the page and connects noVNC to `wsUrl`. */
  static async open(wsUrl: string, options: { password?: string } = {}): Promise<NoVncBrowser> {
    const { server, url } = await startPageServer();
    let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
    try {
      browser = await launchChromium();
      const { context, page, consoleLines, dispose } = browser;
      await page.goto(url);
      await page.waitForFunction('window.vdiReady === true', undefined, { timeout: 15_000 });
      await page.evaluate(`vdi.connect(${JSON.stringify(wsUrl)}, ${JSON.stringify(options.password ?? null)})`);
      return new NoVncBrowser(context, page, server, dispose, consoleLines);
    } catch (err) {
      await browser?.dispose();
      server.close();
      throw err;
    }
  }

  /** noVNC's state: connected, disconnect/security failure details. */
  state(): Promise<{ connected: boolean; disconnected: { clean: boolean } | null; securityFailure: unknown; desktopName: string | null }> {
    return this.page.evaluate('vdi.state');
  }

  async waitConnected(timeoutMs = 20_000): Promise<void> {
    await waitFor(
      async () => {
        const s = await this.state();
        if (s.disconnected) throw new Error(`noVNC disconnected: ${JSON.stringify(s)}; console:\n${this.consoleLines.join('\n')}`);
        return s.connected && (await this.size()) !== null;
      },
      { message: () => `noVNC to connect; console:\n${this.consoleLines.slice(-20).join('\n')}`, timeoutMs },
    );
  }

  size(): Promise<{ width: number; height: number } | null> {
    return this.page.evaluate('vdi.size()');
  }

  /** The canvas's pixels (what noVNC shows), read with getImageData. */
  async picture(): Promise<Image> {
    const p = await this.page.evaluate<{ width: number; height: number; base64: string }>('vdi.pixels()');
    return { width: p.width, height: p.height, rgba: Buffer.from(p.base64, 'base64') };
  }

  /** Sets noVNC's JPEG quality and compression levels (noVNC re-sends SetEncodings). */
  async setLevels(quality: number, compression: number): Promise<void> {
    await this.page.evaluate(`vdi.setLevels(${quality}, ${compression})`);
  }

  /** Focuses noVNC's canvas (keyboard input goes there). */
  async focus(): Promise<void> {
    await this.page.evaluate('vdi.focus()');
  }

  /** Clicks at desktop position (x, y) with the page's mouse. */
  async click(x: number, y: number): Promise<void> {
    const box = await this.page.evaluate<{ x: number; y: number }>('vdi.box()');
    await this.page.mouse.move(box.x + x, box.y + y);
    await this.page.mouse.down();
    await this.page.mouse.up();
  }

  async close(): Promise<void> {
    await this.page.evaluate('vdi.disconnect()').catch(() => undefined);
    await this.dispose();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
