// The qemu-rdp command as a user runs it: the built CLI (packages/qemu-rdp/dist/cli.js) as a
// child process, ready once it prints "RDP on HOST:PORT".
import { join } from 'node:path';
import { REPO_DIR } from '../paths.js';
import { Background, run, type RunResult } from './process.js';
import { ensurePackagesBuilt, ServerProcess } from './server-process.js';

export const QEMU_RDP_CLI = join(REPO_DIR, 'packages/qemu-rdp/dist/cli.js');

/** Builds display-core and qemu-rdp when their dist/ is older than their sources. */
export function ensureQemuRdpBuilt(): void {
  ensurePackagesBuilt(['display-core', 'qemu-rdp']);
}

export interface QemuRdpOptions {
  busAddress: string;
  /** --listen HOST:PORT (default 127.0.0.1:0: a free port). */
  listen?: string;
  /** --http HOST:PORT: probes and metrics. */
  http?: string;
  /** Further arguments (--username, --password-file, --cert, …). */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Appends the process's output to this file. */
  log?: string;
}

/** A running qemu-rdp. */
export class QemuRdp extends ServerProcess {
  constructor(
    proc: Background,
    readonly host: string,
    readonly port: number,
    /** `http://HOST:PORT/` of --http, when given. */
    readonly httpUrl: string | undefined,
  ) {
    super(proc, 'qemu-rdp');
  }
}

function cliArgs(options: QemuRdpOptions): string[] {
  return [
    QEMU_RDP_CLI,
    '--dbus-address',
    options.busAddress,
    '--listen',
    options.listen ?? '127.0.0.1:0',
    ...(options.http ? ['--http', options.http] : []),
    ...(options.args ?? []),
  ];
}

/** Starts qemu-rdp and waits for its "RDP on HOST:PORT" line. */
export async function startQemuRdp(options: QemuRdpOptions): Promise<QemuRdp> {
  const proc = new Background(process.execPath, cliArgs(options), { env: { ...process.env, ...options.env }, log: options.log });
  try {
    const m = await proc.waitForOutput(/RDP on (\S+):(\d+)\n/, { what: '"RDP on HOST:PORT"' });
    const http = options.http
      ? (await proc.waitForOutput(/probes and metrics on (http:\/\/\S+\/)\n/, { what: '"probes and metrics on http://HOST:PORT/"' }))[1]
      : undefined;
    return new QemuRdp(proc, m[1], Number(m[2]), http);
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
}

/** Runs qemu-rdp expecting it to exit by itself (bad usage); kills it after `timeoutMs`. */
export function runQemuRdp(options: QemuRdpOptions, timeoutMs = 10_000): Promise<RunResult> {
  return run(process.execPath, cliArgs(options), { env: { ...process.env, ...options.env }, timeoutMs });
}
