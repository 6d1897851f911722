// The qemu-vnc command as a user runs it: the built CLI (packages/qemu-vnc/dist/cli.js) as
// a child process, ready once it prints "RFB on HOST:PORT".
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { REPO_DIR } from '../paths.js';
import { Background, run, type RunResult } from './process.js';

export const QEMU_VNC_CLI = join(REPO_DIR, 'packages/qemu-vnc/dist/cli.js');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Builds display-core and qemu-vnc (tsc -p tsconfig.lib.json) when a dist/ is missing or
 * older than its sources, so the tests never run a stale CLI.
 */
export function ensureQemuVncBuilt(): void {
  for (const name of ['display-core', 'qemu-vnc']) {
    const pkg = join(REPO_DIR, 'packages', name);
    const dist = join(pkg, 'dist');
    if (existsSync(dist) && newestMtime(dist) >= newestMtime(join(pkg, 'src'))) continue;
    execFileSync(process.execPath, [join(REPO_DIR, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.lib.json'], {
      cwd: pkg,
      stdio: 'inherit',
    });
  }
}

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
  /** Further arguments (--password-file, --tls-cert, …). */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** Appends the process's output to this file. */
  log?: string;
}

/** A running qemu-vnc. */
export class QemuVnc {
  constructor(
    readonly proc: Background,
    readonly host: string,
    readonly port: number,
    readonly wsPort: number | undefined,
  ) {}

  get pid(): number {
    return this.proc.pid;
  }

  /** Everything qemu-vnc wrote to stderr (its log) so far. */
  get stderr(): string {
    return this.proc.stderr;
  }

  /** A position in the log, to look only at what comes after it. */
  mark(): number {
    return this.proc.stderr.length;
  }

  /** Log lines written since `mark` (see {@link mark}). */
  logSince(mark: number): string[] {
    return this.proc.stderr
      .slice(mark)
      .split('\n')
      .filter((l) => l.length > 0);
  }

  /** Waits for a log line matching `pattern` after `mark`. */
  async waitForLog(pattern: RegExp, mark = 0, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.logSince(mark).find((l) => pattern.test(l));
      if (line) return line;
      if (this.proc.exitResult) throw new Error(`qemu-vnc exited (code ${this.proc.exitResult.code}) before logging ${pattern}:\n${this.stderr.slice(-3000)}`);
      if (Date.now() >= deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for qemu-vnc to log ${pattern}; log since mark:\n${this.logSince(mark).join('\n')}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** True while the process runs. */
  get alive(): boolean {
    return this.proc.exitResult === undefined;
  }

  /** Resident memory (VmRSS) in bytes. */
  rssBytes(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(status);
    if (!m) throw new Error(`no VmRSS in /proc/${this.pid}/status`);
    return Number(m[1]) * 1024;
  }

  stop(): Promise<RunResult> {
    return this.proc.stop('SIGTERM');
  }
}

function cliArgs(options: QemuVncOptions): string[] {
  return [
    QEMU_VNC_CLI,
    '--dbus-address',
    options.busAddress,
    '--listen',
    options.listen,
    ...(options.websocket ? ['--websocket', options.websocket] : []),
    ...(options.args ?? []),
  ];
}

/** Starts qemu-vnc and waits for its "RFB on HOST:PORT" line (and the WebSocket one if asked). */
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
    return new QemuVnc(proc, m[1], Number(m[2]), wsPort);
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
}

/** Runs qemu-vnc expecting it to exit by itself (bad usage); kills it after `timeoutMs`. */
export function runQemuVnc(options: QemuVncOptions, timeoutMs = 10_000): Promise<RunResult> {
  return run(process.execPath, cliArgs(options), { env: { ...process.env, ...options.env }, timeoutMs });
}
