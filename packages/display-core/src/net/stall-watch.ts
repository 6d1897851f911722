// Notices a client that has stopped reading: its socket keeps output waiting and takes none of
// it for `timeoutMs`. The servers never queue more than about one update per client (they stop
// encoding while output waits), so such a client costs no memory — but it holds a session,
// a damage subscription and a socket forever; after the timeout the server drops it.

/** How long a client may leave its output unread before the servers drop it. */
export const DEFAULT_STALL_TIMEOUT_MS = 30_000;

/** How often waiting output is looked at. */
const CHECK_INTERVAL_MS = 1000;

export class StallWatch {
  private interval: NodeJS.Timeout | undefined;
  private lastLength = 0;
  private lastProgress = 0;

  constructor(
    /** Bytes written but not yet taken by the peer: the stream's `writableLength`. */
    private readonly pendingBytes: () => number,
    /** 0 or less: never. */
    private readonly timeoutMs: number,
    private readonly onStall: (stalledMs: number) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Call after writing to the stream: starts watching while output waits. */
  wrote(): void {
    if (this.interval || this.timeoutMs <= 0 || this.pendingBytes() === 0) return;
    this.lastLength = this.pendingBytes();
    this.lastProgress = this.now();
    this.interval = setInterval(() => this.check(), Math.min(CHECK_INTERVAL_MS, this.timeoutMs));
    this.interval.unref();
  }

  /** Looks at the stream now (the interval calls this; tests may too). */
  check(): void {
    if (!this.interval) return;
    const length = this.pendingBytes();
    if (length === 0) return this.stop();
    const now = this.now();
    if (length < this.lastLength) this.lastProgress = now;
    this.lastLength = length;
    if (now - this.lastProgress >= this.timeoutMs) {
      this.stop();
      this.onStall(now - this.lastProgress);
    }
  }

  stop(): void {
    clearInterval(this.interval);
    this.interval = undefined;
  }
}
