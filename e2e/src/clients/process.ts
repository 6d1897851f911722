// Child processes of the client tests (qemu-vnc, Xvfb, VNC viewers): output kept for
// assertions and failure messages, waits on output lines, and no survivors — whatever is
// still running when the test process exits is killed.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { livePids } from '../survivors.js';


export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A program started in the background, its output collected as it comes. */
export class Background {
  stdout = '';
  stderr = '';
  /** Resolves once the process has exited (never rejects). */
  readonly exited: Promise<RunResult>;
  readonly child: ChildProcess;
  private result: RunResult | undefined;

  constructor(
    readonly command: string,
    readonly args: readonly string[],
    options: SpawnOptions & { log?: string; encoding?: BufferEncoding } = {},
  ) {
    const { log, encoding = 'utf8', ...spawnOptions } = options;
    if (log) appendFileSync(log, `\n=== ${new Date().toISOString()} ${command} ${args.join(' ')}\n`);
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...spawnOptions });
    this.child = child;
    if (child.pid !== undefined) livePids.add(child.pid);
    child.stdout?.setEncoding(encoding).on('data', (text: string) => {
      this.stdout += text;
      if (log) appendFileSync(log, text);
    });
    child.stderr?.setEncoding('utf8').on('data', (text: string) => {
      this.stderr += text;
      if (log) appendFileSync(log, text);
    });
    this.exited = new Promise<RunResult>((resolve) => {
      const done = (code: number | null, signal: NodeJS.Signals | null) => {
        if (child.pid !== undefined) livePids.delete(child.pid);
        this.result ??= { code, signal, stdout: this.stdout, stderr: this.stderr };
        resolve(this.result);
      };
      child.once('error', (err) => {
        this.stderr += `\ncannot run ${command}: ${err.message}\n`;
        done(null, null);
      });
      // 'close' (not 'exit'): all output has been read by then.
      child.once('close', done);
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.command} did not start: ${this.stderr}`);
    return this.child.pid;
  }

  /** The exit result, or undefined while it runs. */
  get exitResult(): RunResult | undefined {
    return this.result;
  }

  get output(): string {
    return `${this.stdout}${this.stderr}`;
  }

  /**
   * Waits until stdout+stderr match `pattern` (searched from character `from` on) and
   * returns the match; fails early when the process exits first.
   */
  async waitForOutput(pattern: RegExp, options: { timeoutMs?: number; from?: number; what?: string } = {}): Promise<RegExpMatchArray> {
    const timeoutMs = options.timeoutMs ?? 15_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.output.slice(options.from ?? 0).match(pattern);
      if (m) return m;
      const what = options.what ?? String(pattern);
      if (this.result) {
        throw new Error(`${this.command} exited (code ${this.result.code}, signal ${this.result.signal}) before printing ${what}; output:\n${this.output.slice(-3000)}`);
      }
      if (Date.now() >= deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${this.command} to print ${what}; output:\n${this.output.slice(-3000)}`);
      await sleep(50);
    }
  }

  /** Sends `signal`, then SIGKILL after `graceMs`; resolves once it has exited. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<RunResult> {
    if (!this.result) {
      try {
        this.child.kill(signal);
      } catch {
        // already gone
      }
      const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    return this.exited;
  }
}

/** Runs a program to its end (killed after `timeoutMs`) and returns its exit and output. */
export async function run(
  command: string,
  args: readonly string[],
  options: SpawnOptions & { timeoutMs?: number; log?: string; input?: string | Buffer; encoding?: BufferEncoding } = {},
): Promise<RunResult> {
  const { timeoutMs = 30_000, input, ...rest } = options;
  const proc = new Background(command, args, { ...rest, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  if (input !== undefined) proc.child.stdin?.end(input);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    proc.child.kill('SIGKILL');
  }, timeoutMs);
  const result = await proc.exited;
  clearTimeout(timer);
  if (timedOut) result.stderr += `\n(killed after ${timeoutMs} ms)`;
  return result;
}

/** Like {@link run}, but throws unless the program exits with code 0. */
export async function check(command: string, args: readonly string[], options: Parameters<typeof run>[2] = {}): Promise<RunResult> {
  const result = await run(command, args, options);
  if (result.code !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed (code ${result.code}, signal ${result.signal}):\n${result.stdout}${result.stderr}`);
  }
  return result;
}
