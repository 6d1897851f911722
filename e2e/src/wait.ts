import { createConnection, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface WaitForOptions {
  /** Give up after this long; default 10 s. */
  timeoutMs?: number;
  /** Pause between attempts; default 100 ms. */
  intervalMs?: number;
  /** What is awaited, for the timeout message ("guest ready", …) — or a function giving it. */
  message: string | (() => string);
}

/** Value returned by a poll function that means "not yet". */
type NotYet = undefined | null | false;

/**
 * Calls `fn` until it returns something other than undefined, null or false, and returns
 * that. A throw counts as "not yet" (the last error is quoted if time runs out), so `fn`
 * may use expect(). Throws `Timed out after N ms waiting for <message>` on timeout.
 */
export async function waitFor<T>(fn: () => T | NotYet | Promise<T | NotYet>, options: WaitForOptions): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const intervalMs = options.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== null && value !== false) return value as T;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const what = typeof options.message === 'function' ? options.message() : options.message;
      const last =
        lastError === undefined ? '' : `; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
      throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${last}`);
    }
    await sleep(Math.min(intervalMs, Math.max(0, deadline - Date.now())));
  }
}

/**
 * Connects to a unix socket, retrying while it does not exist yet or refuses (a process
 * that is still starting). `abort` is checked between attempts: a string it returns (e.g.
 * "QEMU exited: …") ends the wait at once with that reason.
 */
export async function connectUnix(
  path: string,
  options: { timeoutMs?: number; what: string; abort?: () => string | undefined },
): Promise<Socket> {
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  let lastError = '';
  for (;;) {
    const reason = options.abort?.();
    if (reason) throw new Error(`cannot connect to ${options.what}: ${reason}`);
    const result = await new Promise<Socket | Error>((resolve) => {
      const socket = createConnection(path);
      socket.once('connect', () => {
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (err) => resolve(err));
    });
    if (!(result instanceof Error)) return result;
    lastError = result.message;
    if (Date.now() >= deadline) {
      const ms = options.timeoutMs ?? 30_000;
      throw new Error(`Timed out after ${ms} ms connecting to ${options.what} (${path}): ${lastError}`);
    }
    await sleep(50);
  }
}
