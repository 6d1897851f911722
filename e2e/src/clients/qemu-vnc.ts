// The qemu-vnc command as a user runs it: the built CLI (packages/qemu-vnc/dist/cli.js) as
// a child process, ready once it prints "RFB on HOST:PORT".
import { createServer } from 'node:net';
import { join } from 'node:path';
import { REPO_DIR } from '../paths.js';
import { Background, run, type RunResult } from './process.js';
import { ensurePackagesBuilt, ServerProcess } from './server-process.js';

export const QEMU_VNC_CLI = join(REPO_DIR, 'packages/qemu-vnc/dist/cli.js');

/** True when nothing listens on 127.0.0.1:`port` (and it can be bound). */
function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

const taken = new Set<number>();

/**
 * A VNC display number N (port 5900+N, what gvnccapture's and vncsnapshot's HOST:N mean)
 * whose port is free on loopback and the wildcard address, searched upwards from `from`;
 * never the same number twice in one test process.
 */
export async function freeVncDisplay(from = 60): Promise<number> {
  for (let n = from; n < 100; n++) {
    if (taken.has(n)) continue;
    if ((await portFree(5900 + n)) && (await portFree(5900 + n, '0.0.0.0'))) {
      taken.add(n);
      return n;
    }
  }
  throw new Error(`no free VNC port in 59${from}..5999`);
}

export interface QemuVncOptions {
  busAddress: string;
  /** --listen HOST:PORT */
  listen: string;
  /** --websocket HOST:PORT */
  websocket?: string;
  /** --http HOST:PORT (web console, API, probes, metrics) */
  http?: string;
  /** Further arguments (--password-file, --tls-cert, …). */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Appends the process's output to this file. */
  log?: string;
}

/** A running qemu-vnc. */
export class QemuVnc extends ServerProcess {
  constructor(
    proc: Background,
    readonly host: string,
    readonly port: number,
    readonly wsPort: number | undefined,
    /** http://HOST:PORT/ of --http. */
    readonly httpUrl: string | undefined,
  ) {
    super(proc, 'qemu-vnc');
  }
}

/** Builds display-core and qemu-vnc when their dist/ is older than their sources. */
export function ensureQemuVncBuilt(): void {
  ensurePackagesBuilt(['display-core', 'qemu-vnc']);
}

function cliArgs(options: QemuVncOptions): string[] {
  return [
    QEMU_VNC_CLI,
    '--dbus-address',
    options.busAddress,
    '--listen',
    options.listen,
    ...(options.websocket ? ['--websocket', options.websocket] : []),
    ...(options.http ? ['--http', options.http] : []),
    ...(options.args ?? []),
  ];
}

/** Starts qemu-vnc and waits for its "RFB on HOST:PORT" line (and the WebSocket and web console ones if asked). */
export async function startQemuVnc(options: QemuVncOptions): Promise<QemuVnc> {
  const proc = new Background(process.execPath, cliArgs(options), {
    env: { ...process.env, ...options.env },
    log: options.log,
  });
  try {
    const m = await proc.waitForOutput(/RFB on (\S+):(\d+)\n/, { what: '"RFB on HOST:PORT"' });
    let wsPort: number | undefined;
    if (options.websocket) {
      const ws = await proc.waitForOutput(/RFB over WebSocket on (\S+):(\d+)\n/, { what: '"RFB over WebSocket on HOST:PORT"' });
      wsPort = Number(ws[2]);
    }
    let httpUrl: string | undefined;
    if (options.http) {
      httpUrl = (await proc.waitForOutput(/web console on (http:\/\/\S+\/)\n/, { what: '"web console on http://HOST:PORT/"' }))[1];
    }
    return new QemuVnc(proc, m[1], Number(m[2]), wsPort, httpUrl);
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
}

/** Runs qemu-vnc expecting it to exit by itself (bad usage); kills it after `timeoutMs`. */
export function runQemuVnc(options: QemuVncOptions, timeoutMs = 10_000): Promise<RunResult> {
  return run(process.execPath, cliArgs(options), { env: { ...process.env, ...options.env }, timeoutMs });
}
