import { appendFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** What a guest command printed (stdout and stderr interleaved) and its exit code. */
export interface CommandResult {
  output: string;
  code: number;
}

/** Printed on ttyS0 by the guest's vdi-serve once commands and the tty1 shell are ready. */
export const READY_MARKER = 'VDI-GUEST-READY';

// vdi-serve ends each command's output with "\nVDI-DONE <code> <sequence>\n".
const DONE = Buffer.from('\nVDI-DONE ');

interface Waiter {
  seq: number;
  resolve: (result: CommandResult) => void;
  reject: (err: Error) => void;
}

/**
 * The test guest's two serial lines: ttyS0 (kernel console, ready marker; kept in
 * `console` and appended to a log file) and ttyS1 (the command server, e2e/guest/bin/vdi-serve).
 */
export class Guest {
  private consoleText = '';
  private channelBuffer = Buffer.alloc(0);
  private sent = 0;
  private waiters: Waiter[] = [];
  private queue: Promise<unknown> = Promise.resolve();
  private closedReason: string | undefined;
  private boots = 0;

  constructor(
    private readonly consoleSocket: Socket,
    private readonly channelSocket: Socket,
    private readonly consoleLog?: string,
  ) {
    consoleSocket.on('data', (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      this.consoleText += text;
      if (this.consoleLog) appendFileSync(this.consoleLog, text);
      this.noticeReboot();
    });
    channelSocket.on('data', (chunk: Buffer) => this.onChannelData(chunk));
    for (const s of [consoleSocket, channelSocket]) {
      s.on('error', () => {
        // 'close' follows.
      });
      s.on('close', () => this.fail('guest serial connection closed (QEMU exited?)'));
    }
  }

  /** Everything the guest printed on ttyS0 so far. */
  get console(): string {
    return this.consoleText;
  }

  /** How many times the guest reported {@link READY_MARKER}: 1 after boot, +1 per reboot. */
  get readyCount(): number {
    return this.consoleText.split(READY_MARKER).length - 1;
  }

  /**
   * Waits for {@link READY_MARKER} on ttyS0 (boot takes ~6 s under TCG); after a reboot,
   * pass the count to wait for (`readyCount + 1` taken before resetting).
   */
  async waitReady(timeoutMs = 60_000, count = 1): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.readyCount < count) {
      const tail = () => `; console so far:\n${this.consoleText.slice(-2000)}`;
      if (this.closedReason) throw new Error(`guest never got ready: ${this.closedReason}${tail()}`);
      if (Date.now() >= deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${READY_MARKER}${tail()}`);
      await sleep(50);
    }
  }

  /**
   * Runs one shell command line in the guest (`sh -c`, stdin /dev/null) and returns its
   * output and exit code. Commands run one at a time, in call order. On timeout the
   * command keeps running in the guest; later commands wait behind it and never see its
   * output.
   */
  run(commandLine: string, timeoutMs = 30_000): Promise<CommandResult> {
    if (/[\r\n]/.test(commandLine)) {
      return Promise.reject(new Error('guest command lines cannot contain newlines; join commands with ;'));
    }
    const result = this.queue.then(() => this.send(commandLine, timeoutMs));
    this.queue = result.catch(() => undefined);
    return result;
  }

  /** Like {@link run}, but throws unless the exit code is 0; returns the output. */
  async check(commandLine: string, timeoutMs = 30_000): Promise<string> {
    const { output, code } = await this.run(commandLine, timeoutMs);
    if (code !== 0) throw new Error(`guest command failed (exit code ${code}): ${commandLine}\n${output}`);
    return output;
  }

  close(): void {
    this.consoleSocket.destroy();
    this.channelSocket.destroy();
  }

  private send(commandLine: string, timeoutMs: number): Promise<CommandResult> {
    if (this.closedReason) return Promise.reject(new Error(this.closedReason));
    const seq = ++this.sent;
    return new Promise<CommandResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`guest command timed out after ${timeoutMs} ms: ${commandLine}`));
      }, timeoutMs);
      const waiter: Waiter = {
        seq,
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.waiters.push(waiter);
      this.channelSocket.write(`${commandLine}\n`);
    });
  }

  private onChannelData(chunk: Buffer): void {
    this.channelBuffer = Buffer.concat([this.channelBuffer, chunk]);
    for (;;) {
      const at = this.channelBuffer.indexOf(DONE);
      if (at < 0) return;
      const end = this.channelBuffer.indexOf('\n', at + DONE.length);
      if (end < 0) return;
      const [code, seq] = this.channelBuffer
        .subarray(at + DONE.length, end)
        .toString('latin1')
        .split(' ')
        .map(Number);
      const output = this.channelBuffer.subarray(0, at).toString('utf8');
      this.channelBuffer = this.channelBuffer.subarray(end + 1);
      // Output of a command whose caller timed out has no waiter: dropped.
      const waiter = this.waiters.find((w) => w.seq === seq);
      if (waiter) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve({ output, code });
      }
    }
  }

  /**
   * vdi-serve numbers commands from 1 again after each boot: when a new ready marker shows
   * up, commands sent before it are lost and numbering starts over.
   */
  private noticeReboot(): void {
    const count = this.readyCount;
    if (count <= this.boots) return;
    const rebooted = this.boots > 0;
    this.boots = count;
    if (!rebooted) return;
    for (const w of this.waiters) w.reject(new Error('the guest rebooted before answering'));
    this.waiters = [];
    this.sent = 0;
    this.channelBuffer = Buffer.alloc(0);
  }

  private fail(reason: string): void {
    if (this.closedReason) return;
    this.closedReason = reason;
    for (const w of this.waiters) w.reject(new Error(reason));
    this.waiters = [];
  }
}
