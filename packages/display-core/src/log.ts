// The processes' log: one line per event on stderr. In a container (stderr not a terminal)
// each line is a JSON object — {"time","level","process","msg"} — that log collectors parse
// without rules; on a terminal the same event reads "qemu-vnc: info: client 1 connected".
// The message text is the same in both, so a human-readable `msg` is never lost.
import type { LogLevel, Logger } from './display.js';

export type LogFormat = 'json' | 'text';

export interface ProcessLogOptions {
  /** Names the process in every line ("qemu-vnc"). */
  process: string;
  /** Debug lines are dropped unless set. */
  verbose?: boolean;
  /**
   * Default: `$VDI_LOG_FORMAT` (`json` or `text`), else JSON unless the stream is a terminal.
   */
  format?: LogFormat;
  /** Where lines go (default process.stderr). */
  stream?: { write(text: string): unknown; isTTY?: boolean };
  /** Clock, for tests. */
  now?: () => Date;
}

/**
 * The format `$VDI_LOG_FORMAT` asks for (`json`, `text`), else the automatic choice for the
 * stream (`auto`, or anything else: a typo must not cost the process its log).
 */
export function chooseLogFormat(env: string | undefined, isTTY: boolean | undefined): LogFormat {
  if (env === 'json' || env === 'text') return env;
  return isTTY ? 'text' : 'json';
}

/** One log line, newline included. */
export function formatLogLine(format: LogFormat, time: Date, level: LogLevel, processName: string, msg: string): string {
  if (format === 'text') return `${processName}: ${level}: ${msg}\n`;
  return `${JSON.stringify({ time: time.toISOString(), level, process: processName, msg })}\n`;
}

/** A Logger (the type display-core's classes take) that writes the process's log lines. */
export function createProcessLogger(opts: ProcessLogOptions): Logger {
  const stream = opts.stream ?? process.stderr;
  const format = opts.format ?? chooseLogFormat(process.env.VDI_LOG_FORMAT, stream.isTTY);
  const now = opts.now ?? (() => new Date());
  return (level, msg) => {
    if (level === 'debug' && !opts.verbose) return;
    stream.write(formatLogLine(format, now(), level, opts.process, msg));
  };
}

/**
 * A promise rejected with no handler is a bug, but not one that should end a console
 * server and drop every client with it (Node's default): log it with its stack and go on.
 * Uncaught exceptions still end the process, which vdi-init then restarts.
 */
export function logUnhandledRejections(log: Logger, target: Pick<NodeJS.Process, 'on'> = process): void {
  target.on('unhandledRejection', (reason: unknown) => {
    const text = reason instanceof Error ? (reason.stack ?? reason.message) : String(reason);
    log('error', `unhandled promise rejection (a bug; going on): ${text}`);
  });
}
