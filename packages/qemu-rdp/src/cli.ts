#!/usr/bin/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=1
// qemu-rdp: serve a VM's console (QEMU's D-Bus display) to RDP clients.
//
// The #! line keeps resident memory down as qemu-vnc's does (see the comment there; figures in
// bench/RESULTS.md): here it took one 1920×1080 client from 110–116 to 86–93 MiB, at the cost of
// more CPU per update in that run (10 → 13 ms), still well under qemu-vnc's.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  ClipboardPeer,
  OpsServer,
  QemuDisplay,
  ServerMetrics,
  createProcessLogger,
  displayReadiness,
  endpointArg,
  isLoopback,
  logUnhandledRejections,
  passwordFileArg,
  startMemoryLog,
  UsageError,
  wholeNumberArg,
  type Endpoint,
  type Logger,
} from '@vdi-sidecar/display-core';
import { RdpServer, type BulkCompressionChoice } from './server/rdp-server.js';
import { GFX_CODEC_CHOICES, type GfxCodecChoice } from './server/gfx-output.js';
import { createSelfSignedCertificate, certificateFingerprint } from './server/self-signed.js';

const USAGE = `Usage: qemu-rdp [options]

Serves the console of a QEMU VM started with -display dbus to RDP clients (FreeRDP, Remmina,
Windows' Remote Desktop Connection): Network Level Authentication (CredSSP with NTLMv2) when a
password is set, else TLS security; bitmap updates (uncompressed, interleaved RLE, planar) at
16, 24 or 32 bits per pixel; clipboard text both ways (the "cliprdr" channel; the guest side
needs QEMU's qemu-vdagent chardev and an agent in the guest).

Options (environment variable in brackets):
  --dbus-address ADDR     D-Bus address of QEMU's display [DBUS_DISPLAY_ADDRESS]
  --listen HOST:PORT      where to accept clients (default 127.0.0.1:3389) [QEMU_RDP_LISTEN]
  --console N             console number (default 0) [QEMU_RDP_CONSOLE]
  --vm NAME|UUID          which VM, when several share the bus [QEMU_RDP_VM]
  --cert FILE             TLS certificate (PEM) [QEMU_RDP_CERT]
  --key FILE              its private key (PEM) [QEMU_RDP_KEY]
                          without both, a self-signed certificate is made at start and its
                          SHA-256 fingerprint logged
  --username USER         the user name clients must give [QEMU_RDP_USERNAME]
  --password-file FILE    the password they must give, read from FILE [QEMU_RDP_PASSWORD_FILE]
  --no-bitmap-compression send uncompressed bitmaps only (more bandwidth, less CPU)
                          [QEMU_RDP_BITMAP_COMPRESSION=0]
  --bulk-compression WHICH
                          bulk compression of the output, for clients that announce it:
                          xcrush (default: RDP 6.1 to clients that take it, else MPPC 64K or
                          8K), mppc (MPPC only) or off [QEMU_RDP_BULK_COMPRESSION]
  --no-bulk-compression   the same as --bulk-compression off
  --no-clipboard          do not share the clipboard with clients [QEMU_RDP_CLIPBOARD=0]
  --no-remotefx           never send RemoteFX (lossy), even to clients that offer it [QEMU_RDP_REMOTEFX=0]
  --no-gfx                do not offer the graphics pipeline (MS-RDPEGFX, xfreerdp /gfx): bitmap
                          updates only [QEMU_RDP_GFX=0]
  --gfx-codec WHICH       the pipeline's codec for tiles neither one colour nor cached: planar
                          (default, lossless), remotefx (RemoteFX as CAVIDEO, lossy) or auto
                          (RemoteFX unless the client calls itself a thin client) [QEMU_RDP_GFX_CODEC]
  --stall-timeout SECONDS drop a client that takes none of its waiting updates for this long
                          (default 30; 0: never) [QEMU_RDP_STALL_TIMEOUT]
  --http HOST:PORT        Kubernetes probes /healthz (the process works) and /readyz (bus
                          connected, VM present), Prometheus /metrics (default: off) [QEMU_RDP_HTTP]
  --insecure              allow listening beyond loopback without credentials [QEMU_RDP_INSECURE=1]
  --verbose               log debug messages [QEMU_RDP_VERBOSE=1]
  -h, --help              this text

With --password-file clients authenticate with NLA (or, if they offer only TLS security,
with the credentials of their Client Info PDU, over TLS). Without it any user name and
password are accepted (loopback only, unless --insecure) and NLA is not offered. Failed
logins are limited to 5 per minute per client address.

Logs go to stderr: JSON lines unless it is a terminal (VDI_LOG_FORMAT=json|text overrides).

Exit codes: 0 after SIGTERM/SIGINT, 1 when a listener cannot be opened, 2 bad usage.`;

function main(argv: string[]): Promise<number> | number {
  const { values } = parseArgs({
    args: argv,
    options: {
      'dbus-address': { type: 'string' },
      listen: { type: 'string' },
      console: { type: 'string' },
      vm: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      username: { type: 'string' },
      'password-file': { type: 'string' },
      'no-bitmap-compression': { type: 'boolean' },
      'bulk-compression': { type: 'string' },
      'no-bulk-compression': { type: 'boolean' },
      'no-clipboard': { type: 'boolean' },
      'no-remotefx': { type: 'boolean' },
      'no-gfx': { type: 'boolean' },
      'gfx-codec': { type: 'string' },
      'stall-timeout': { type: 'string' },
      http: { type: 'string' },
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
  const listen = endpointArg(values.listen ?? env.QEMU_RDP_LISTEN ?? '127.0.0.1:3389', '--listen');
  const httpText = values.http ?? env.QEMU_RDP_HTTP;
  const http = httpText ? endpointArg(httpText, '--http') : undefined;
  const stallText = values['stall-timeout'] ?? env.QEMU_RDP_STALL_TIMEOUT;
  const stallTimeoutMs = stallText === undefined ? undefined : wholeNumberArg(stallText, '--stall-timeout', 'seconds') * 1000;
  const consoleId = wholeNumberArg(values.console ?? env.QEMU_RDP_CONSOLE ?? '0', '--console');
  const insecure = values.insecure ?? env.QEMU_RDP_INSECURE === '1';
  const bitmapCompression = !(values['no-bitmap-compression'] ?? env.QEMU_RDP_BITMAP_COMPRESSION === '0');
  const bulkText = values['no-bulk-compression'] ? 'off' : (values['bulk-compression'] ?? env.QEMU_RDP_BULK_COMPRESSION ?? 'xcrush');
  if (bulkText !== 'xcrush' && bulkText !== 'mppc' && bulkText !== 'off') {
    throw new UsageError(`--bulk-compression: "${bulkText}" is not xcrush, mppc or off`);
  }
  const bulkCompression: BulkCompressionChoice = bulkText;
  const clipboardSharing = !(values['no-clipboard'] ?? env.QEMU_RDP_CLIPBOARD === '0');
  const remoteFx = !(values['no-remotefx'] ?? env.QEMU_RDP_REMOTEFX === '0');
  const graphicsPipeline = !(values['no-gfx'] ?? env.QEMU_RDP_GFX === '0');
  const gfxCodecText = values['gfx-codec'] ?? env.QEMU_RDP_GFX_CODEC ?? 'planar';
  if (!(GFX_CODEC_CHOICES as readonly string[]).includes(gfxCodecText)) throw new UsageError(`--gfx-codec: "${gfxCodecText}" is not planar, remotefx or auto`);
  const gfxCodec = gfxCodecText as GfxCodecChoice;
  const verbose = values.verbose ?? env.QEMU_RDP_VERBOSE === '1';
  const certFile = values.cert ?? env.QEMU_RDP_CERT;
  const keyFile = values.key ?? env.QEMU_RDP_KEY;
  if (Boolean(certFile) !== Boolean(keyFile)) throw new UsageError('--cert and --key go together');
  const username = values.username ?? env.QEMU_RDP_USERNAME;
  const passwordFile = values['password-file'] ?? env.QEMU_RDP_PASSWORD_FILE;
  if (username && !passwordFile) throw new UsageError('--username needs --password-file');
  const password = passwordFile ? passwordFileArg(passwordFile) : undefined;
  if (!isLoopback(listen.host) && password === undefined && !insecure) {
    throw new UsageError(
      `refusing to listen on ${listen.host}:${listen.port}, beyond loopback, without credentials: give --username and --password-file, or --insecure if you really mean it`,
    );
  }

  const log: Logger = createProcessLogger({ process: 'qemu-rdp', verbose });
  startMemoryLog(log);
  logUnhandledRejections(log);
  let tls: { cert: string; key: string };
  if (certFile && keyFile) {
    try {
      tls = { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
      log('info', `TLS certificate ${certFile}, SHA-256 fingerprint ${certificateFingerprint(tls.cert)}`);
    } catch (err) {
      throw new UsageError(`cannot use the certificate: ${(err as Error).message}`);
    }
  } else {
    const made = createSelfSignedCertificate('qemu-rdp');
    tls = { cert: made.certPem, key: made.keyPem };
    log('info', `self-signed TLS certificate made, SHA-256 fingerprint ${made.fingerprint256}`);
  }
  const display = new QemuDisplay({ address, console: consoleId, vm: values.vm ?? env.QEMU_RDP_VM, placeholder: true, log }).start();
  const metrics = new ServerMetrics({ display });
  let clipboard: ClipboardPeer | undefined;
  if (clipboardSharing) {
    // On demand: qemu-vnc beside it may want the VM's clipboard (QEMU serves one peer).
    clipboard = new ClipboardPeer(display, { onDemand: true });
    clipboard.on('error', (message) => log('warn', message));
    clipboard.on('registered', () => log('debug', 'clipboard: shared with this server\'s clients now'));
  }
  const server = new RdpServer({
    display,
    clipboard,
    tls,
    credentials: password === undefined ? undefined : { username: username ?? '', password },
    bitmapCompression,
    bulkCompression,
    remoteFx,
    graphicsPipeline,
    gfxCodec,
    metrics: metrics.for('rdp'),
    stallTimeoutMs,
    log,
  });
  const ops = http ? new OpsServer({ readiness: displayReadiness(display), metrics, log }) : undefined;
  return serve(server, display, listen, ops && http ? { ops, endpoint: http } : undefined);
}

async function serve(server: RdpServer, display: QemuDisplay, listen: Endpoint, http: { ops: OpsServer; endpoint: Endpoint } | undefined): Promise<number> {
  try {
    const bound = await server.listen(listen);
    process.stdout.write(`qemu-rdp: RDP on ${bound.host}:${bound.port}\n`);
    if (http) {
      const h = await http.ops.listen(http.endpoint);
      process.stdout.write(`qemu-rdp: probes and metrics on http://${h.host.includes(':') ? `[${h.host}]` : h.host}:${h.port}/\n`);
    }
  } catch (err) {
    process.stderr.write(`qemu-rdp: cannot listen: ${(err as Error).message}\n`);
    await server.close();
    await http?.ops.close();
    display.close();
    return 1;
  }
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  await server.close();
  await http?.ops.close();
  display.close();
  return 0;
}

Promise.resolve()
  .then(() => main(process.argv.slice(2)))
  .then(
    (code) => process.exit(code),
    (err: unknown) => {
      const usage = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
      process.stderr.write(`qemu-rdp: ${(err as Error).message}${usage ? ' (see --help)' : ''}\n`);
      process.exit(usage ? 2 : 1);
    },
  );
