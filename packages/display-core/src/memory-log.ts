// A debugging aid for memory: with VDI_MEMORY_LOG_SECONDS=N in its environment a server logs
// where its resident memory goes every N seconds — process.memoryUsage() (rss, V8 heap,
// external and ArrayBuffer memory) and V8's heap spaces — as one info line.
import { getHeapSpaceStatistics } from 'node:v8';
import type { Logger } from './display.js';

const MiB = (bytes: number) => (bytes / 2 ** 20).toFixed(1);

/** One line: rss, heap used/total, external, arrayBuffers, then each V8 space's used/size (MiB). */
export function memoryReport(): string {
  const m = process.memoryUsage();
  const spaces = getHeapSpaceStatistics()
    .filter((s) => s.space_size > 0)
    .map((s) => `${s.space_name.replace(/_space$/, '')} ${MiB(s.space_used_size)}/${MiB(s.space_size)}`)
    .join(', ');
  return `memory MiB: rss ${MiB(m.rss)}, heap ${MiB(m.heapUsed)}/${MiB(m.heapTotal)}, external ${MiB(m.external)}, arrayBuffers ${MiB(m.arrayBuffers)}; V8 spaces used/size: ${spaces}`;
}

/**
 * Logs {@link memoryReport} every `VDI_MEMORY_LOG_SECONDS` seconds when that is set (a
 * positive number); the timer never keeps the process alive. Returns a stop function.
 */
export function startMemoryLog(log: Logger, env: NodeJS.ProcessEnv = process.env): () => void {
  const seconds = Number(env.VDI_MEMORY_LOG_SECONDS);
  if (!(seconds > 0)) return () => undefined;
  const timer = setInterval(() => log('info', memoryReport()), seconds * 1000);
  timer.unref();
  return () => clearInterval(timer);
}
