// Our servers' command-line programs as a user runs them: the built CLI (dist/cli.js) as a
// child process, with its log (stderr) to wait on and its memory to read.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_DIR } from '../paths.js';
import type { Background, RunResult } from './process.js';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Builds the named packages (tsc -p tsconfig.lib.json), in order, when a dist/ is missing or
 * older than its sources, so the tests never run a stale CLI.
 */
export function ensurePackagesBuilt(names: readonly string[]): void {
  for (const name of names) {
    const pkg = join(REPO_DIR, 'packages', name);
    const dist = join(pkg, 'dist');
    if (existsSync(dist) && newestMtime(dist) >= newestMtime(join(pkg, 'src'))) continue;
    execFileSync(process.execPath, [join(REPO_DIR, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.lib.json'], {
      cwd: pkg,
      stdio: 'inherit',
    });
    // As the package's nx build does: the bin runs by itself (npx, links on PATH).
    if (existsSync(join(dist, 'cli.js'))) chmodSync(join(dist, 'cli.js'), 0o755);
  }
}

/**
 * A log line as a person reads it: our CLIs write JSON lines when stderr is not a terminal
 * (display-core's log.ts), shown here as "process: level: msg" — the terminal format — so
 * tests match messages the same way in either format. Other lines pass unchanged.
 */
export function readableLogLine(line: string): string {
  if (!line.startsWith('{')) return line;
  try {
    const entry = JSON.parse(line) as { process?: unknown; level?: unknown; msg?: unknown };
    if (typeof entry.msg !== 'string' || typeof entry.level !== 'string') return line;
    return `${String(entry.process)}: ${entry.level}: ${entry.msg}`;
  } catch {
    return line;
  }
}

/** A running server CLI (qemu-vnc, qemu-rdp). */
export class ServerProcess {
  constructor(
    readonly proc: Background,
    /** For messages: "qemu-vnc". */
    readonly name: string,
  ) {}

  get pid(): number {
    return this.proc.pid;
  }

  /** Everything the server wrote to stderr (its log) so far, lines made readable (see readableLogLine). */
  get stderr(): string {
    return this.proc.stderr.split('\n').map(readableLogLine).join('\n');
  }

  /** Exactly what the server wrote to stderr. */
  get rawStderr(): string {
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
      .filter((l) => l.length > 0)
      .map(readableLogLine);
  }

  /** Waits for a log line matching `pattern` after `mark`. */
  async waitForLog(pattern: RegExp, mark = 0, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.logSince(mark).find((l) => pattern.test(l));
      if (line) return line;
      if (this.proc.exitResult) throw new Error(`${this.name} exited (code ${this.proc.exitResult.code}) before logging ${pattern}:\n${this.stderr.slice(-3000)}`);
      if (Date.now() >= deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${this.name} to log ${pattern}; log since mark:\n${this.logSince(mark).join('\n')}`);
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


/**
 * One sample of a server's Prometheus metrics (`sample` as the /metrics text writes it, e.g.
 * `vdi_encode_seconds_count{protocol="rdp",encoding="scrblt"}`) at `httpUrl` (its --http), 0
 * while the series does not exist yet.
 */
export async function metricSample(httpUrl: string | undefined, sample: string): Promise<number> {
  if (!httpUrl) throw new Error(`no --http address to read ${sample} from`);
  const text = await (await fetch(`${httpUrl}metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line ? Number(line.slice(sample.length + 1)) : 0;
}
