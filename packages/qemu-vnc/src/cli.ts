#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=1
// qemu-vnc: serve a VM's console (QEMU's D-Bus display) to VNC clients.
//
// The #! line keeps resident memory down (bench/memory.bench.ts, figures in bench/RESULTS.md):
// - --max-semi-space-size=1 (MiB): V8's young generation otherwise grows to 3 × 16 MiB, and
//   this server's garbage is short-lived (per-tile and per-frame objects); V8 reads the flag
//   only at start-up (v8.setFlagsFromString is too late).
// - MALLOC_MMAP_THRESHOLD_=131072: glibc then serves every allocation of 128 KiB or more
//   (frame-sized buffers of several MB) from mmap and returns it to the system when freed;
//   by default the threshold rises to the largest block freed so far, and later frames'
//   buffers come from a heap that never shrinks again.
// In that benchmark neither raised the CPU time per update (an isolated 1920×1080 ZRLE
// replay without QEMU measured the mmap threshold at +5–8 %, within its noise of ±7 %).
// Both apply when the CLI runs as an executable (the image's /usr/local/bin link, npm's bin
// link), not to `node cli.js` (the e2e tests), where NODE_OPTIONS=--max-semi-space-size=1
// and the variable can give them.
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { parseArgs } from 'node:util';
import {
  ClipboardPeer,
  createProcessLogger,
  displayReadiness,
  endpointArg,
  isLoopback,
  logUnhandledRejections,
  OpsServer,
  passwordFileArg,
  QemuDisplay,
  ServerMetrics,
  startMemoryLog,
  UsageError,
  wholeNumberArg,
  type Endpoint,
  type Logger,
} from '@vdi-sidecar/display-core';
import type { SharePolicy } from './server/session.js';
import { VncServer } from './server/vnc-server.js';
import { WebConsole } from './web/web-console.js';

const USAGE = `Usage: qemu-vnc [options]

Serves the console of a QEMU VM started with -display dbus to VNC clients (RFB 3.3–3.8,
Raw/Hextile/Zlib/ZRLE/Tight/TightPNG) over TCP and, optionally, WebSocket (noVNC) and a
web console in the browser.

Options (environment variable in brackets):
  --dbus-address ADDR     D-Bus address of QEMU's display [DBUS_DISPLAY_ADDRESS]
  --listen HOST:PORT      RFB over TCP (default 127.0.0.1:5900) [QEMU_VNC_LISTEN]
  --websocket HOST:PORT   RFB over WebSocket, binary subprotocol (default: off) [QEMU_VNC_WEBSOCKET]
  --http HOST:PORT        web console (page at /, its RFB WebSocket at /websockify),
                          /api/vm, /screenshot.png?console=N, and for Kubernetes and
                          Prometheus /healthz, /readyz, /metrics (default: off) [QEMU_VNC_HTTP]
  --console N             console number (default 0) [QEMU_VNC_CONSOLE]
  --vm NAME|UUID          which VM, when several share the bus [QEMU_VNC_VM]
  --password-file FILE    require VNC Authentication with the password in FILE [QEMU_VNC_PASSWORD_FILE]
  --tls-cert FILE         certificate for VeNCrypt X509 subtypes [QEMU_VNC_TLS_CERT]
  --tls-key FILE          its private key [QEMU_VNC_TLS_KEY]
  --share-policy POLICY   allow (everyone shares), disconnect (an exclusive client
                          disconnects the others) or refuse (exclusive requests are
                          refused while others are connected); default allow [QEMU_VNC_SHARE_POLICY]
  --stall-timeout SECONDS drop a client that takes none of its waiting updates for this long
                          (default 30; 0: never) [QEMU_VNC_STALL_TIMEOUT]
  --insecure              allow listening beyond loopback without password or TLS [QEMU_VNC_INSECURE=1]
  --verbose               log debug messages [QEMU_VNC_VERBOSE=1]
  -h, --help              this text

Without a password, VeNCrypt TLSNone and the None security type are offered; with one,
VNC Authentication (and VeNCrypt TLSVnc/X509Vnc) only. Failed authentications are limited
to 5 per minute per client address. With a password the web console's page asks for it,
and /api/vm and /screenshot.png want it as HTTP Basic credentials (any user name) or as
"Authorization: Bearer PASSWORD"; /healthz, /readyz and /metrics are always open. The
--http port speaks plain HTTP: beyond loopback put it behind a TLS-terminating proxy.

Log: one line per event on stderr, JSON ({"time","level","process","msg"}) unless stderr
is a terminal; VDI_LOG_FORMAT=json|text|auto chooses. VDI_MEMORY_LOG_SECONDS=N logs where
the process's memory goes (rss, V8 heap and its spaces, external buffers) every N seconds.

Exit codes: 0 after SIGTERM/SIGINT, 1 when a listener cannot be opened, 2 bad usage.`;

const SHARE_POLICIES: readonly SharePolicy[] = ['allow', 'disconnect', 'refuse'];

function main(argv: string[]): Promise<number> | number {
  const { values } = parseArgs({
    args: argv,
    options: {
      'dbus-address': { type: 'string' },
      listen: { type: 'string' },
      websocket: { type: 'string' },
      http: { type: 'string' },
      console: { type: 'string' },
      vm: { type: 'string' },
      'password-file': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'share-policy': { type: 'string' },
      'stall-timeout': { type: 'string' },
      insecure: { type: 'boolean' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const env = process.env;
  const address = values['dbus-address'] ?? env.DBUS_DISPLAY_ADDRESS;
  if (!address) throw new UsageError('no bus address: give --dbus-address or set DBUS_DISPLAY_ADDRESS');
  const listen = endpointArg(values.listen ?? env.QEMU_VNC_LISTEN ?? '127.0.0.1:5900', '--listen');
  const wsText = values.websocket ?? env.QEMU_VNC_WEBSOCKET;
  const websocket = wsText ? endpointArg(wsText, '--websocket') : undefined;
  const httpText = values.http ?? env.QEMU_VNC_HTTP;
  const http = httpText ? endpointArg(httpText, '--http') : undefined;
  const consoleId = wholeNumberArg(values.console ?? env.QEMU_VNC_CONSOLE ?? '0', '--console');
  const sharePolicy = (values['share-policy'] ?? env.QEMU_VNC_SHARE_POLICY ?? 'allow') as SharePolicy;
  if (!SHARE_POLICIES.includes(sharePolicy)) throw new UsageError(`--share-policy takes ${SHARE_POLICIES.join(', ')}, not "${sharePolicy}"`);
  const insecure = values.insecure ?? env.QEMU_VNC_INSECURE === '1';
  const verbose = values.verbose ?? env.QEMU_VNC_VERBOSE === '1';

  const passwordFile = values['password-file'] ?? env.QEMU_VNC_PASSWORD_FILE;
  const certFile = values['tls-cert'] ?? env.QEMU_VNC_TLS_CERT;
  const keyFile = values['tls-key'] ?? env.QEMU_VNC_TLS_KEY;
  if (Boolean(certFile) !== Boolean(keyFile)) throw new UsageError('--tls-cert and --tls-key go together');
  const password = passwordFile ? passwordFileArg(passwordFile) : undefined;
  const tls = certFile && keyFile ? createSecureContext({ cert: readFileSync(certFile), key: readFileSync(keyFile) }) : undefined;

  for (const ep of [listen, websocket, http]) {
    if (ep && !isLoopback(ep.host) && !password && !tls && !insecure) {
      throw new UsageError(
        `refusing to listen on ${ep.host}:${ep.port}, beyond loopback, without authentication: give --password-file (and --tls-cert/--tls-key), or --insecure if you really mean it`,
      );
    }
  }

  log = createProcessLogger({ process: 'qemu-vnc', verbose });
  startMemoryLog(log);
  logUnhandledRejections(log);
  const vm = values.vm ?? env.QEMU_VNC_VM;
  const display = new QemuDisplay({ address, console: consoleId, vm, placeholder: true, log }).start();
  // On demand: qemu-rdp beside it may want the VM's clipboard (QEMU serves one peer).
  const clipboard = new ClipboardPeer(display, { onDemand: true });
  clipboard.on('error', (message) => log('warn', message));
  clipboard.on('registered', () => log('debug', 'clipboard: shared with this server\'s clients now'));
  const metrics = new ServerMetrics({ display });
  const vnc = metrics.for('vnc');
  const stallText = values['stall-timeout'] ?? env.QEMU_VNC_STALL_TIMEOUT;
  const stallTimeoutMs = stallText === undefined ? undefined : wholeNumberArg(stallText, '--stall-timeout', 'seconds') * 1000;
  const server = new VncServer({ display, clipboard, security: { password, tls }, sharePolicy, metrics: vnc, stallTimeoutMs, log });
  let ops: OpsServer | undefined;
  if (http) {
    const web = new WebConsole({ server, display, busAddress: address, vm, password, metrics: vnc });
    ops = new OpsServer({ readiness: displayReadiness(display), metrics, routes: [web.route], upgrades: [web.upgrade], log });
  }
  return serve({ server, display, ops, listen, websocket, http });
}

async function serve(p: {
  server: VncServer;
  display: QemuDisplay;
  ops: OpsServer | undefined;
  listen: Endpoint;
  websocket: Endpoint | undefined;
  http: Endpoint | undefined;
}): Promise<number> {
  const { server, display, ops } = p;
  const stop = async () => {
    // Sessions first (they say goodbye on their sockets), then the HTTP side drops the rest.
    const sessions = server.close();
    await ops?.close();
    await sessions;
    display.close();
  };
  try {
    const bound = await server.listen(p.listen);
    process.stdout.write(`qemu-vnc: RFB on ${bound.host}:${bound.port}\n`);
    if (p.websocket) {
      const ws = await server.listenWebSocket(p.websocket);
      process.stdout.write(`qemu-vnc: RFB over WebSocket on ${ws.host}:${ws.port}\n`);
    }
    if (ops && p.http) {
      const h = await ops.listen(p.http);
      process.stdout.write(`qemu-vnc: web console on http://${h.host.includes(':') ? `[${h.host}]` : h.host}:${h.port}/\n`);
    }
  } catch (err) {
    log('error', `cannot listen: ${(err as Error).message}`);
    await stop();
    return 1;
  }
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await stop();
  return 0;
}

/** The process's log; until the options are read, without debug lines. */
let log: Logger = createProcessLogger({ process: 'qemu-vnc' });

Promise.resolve()
  .then(() => main(process.argv.slice(2)))
  .then(
    (code) => process.exit(code),
    (err: unknown) => {
      const usage = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
      log('error', `${(err as Error).message}${usage ? ' (see --help)' : ''}`);
      process.exit(usage ? 2 : 1);
    },
  );
