// What the benchmarks share: the guest workloads, reading a process's CPU time and memory from
// /proc, QEMU's dbus_update trace (when the guest's picture changed), and the figures of one
// server's updates against those traces.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Rig } from '../e2e/src/index.js';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux/x86

/** One update a measuring client received: when (µs, wall clock), its bytes and rectangles. */
export interface UpdateRecord {
  us: number;
  bytes: number;
  rects: number;
}

export const WORKLOADS: Record<string, { start: string; describe: string }> = {
  redraw: {
    describe: 'full-screen redraw, two pre-drawn frames alternated ~33 ms apart',
    start: '(while :; do cat /tmp/f1 >/dev/fb0; usleep 33000; cat /tmp/f2 >/dev/fb0; usleep 33000; done) >/dev/null 2>&1 & echo $! >/tmp/loop.pid',
  },
  scroll: {
    describe: 'scrolling text on fbcon (seq to /dev/tty1, no pause)',
    start: '(clear >/dev/tty1; while :; do seq 1 1000; done) >/dev/tty1 2>&1 & echo $! >/tmp/loop.pid',
  },
  clock: {
    describe: 'idle console, one clock line rewritten once a second',
    start: "(clear >/dev/tty1; while :; do printf '\\r%s ' \"$(date)\"; sleep 1; done) >/dev/tty1 2>&1 & echo $! >/tmp/loop.pid",
  },
};

export interface ServerFigures {
  updates: number;
  updatesPerSecond: number;
  bytesPerUpdate: number;
  mbPerSecond: number;
  rectsPerUpdate: number;
  /** qemu-vnc: its process; QEMU VNC: all of QEMU (guest CPU, TCG, D-Bus display too). */
  cpuSeconds: number;
  cpuMsPerUpdate: number;
  /** QEMU display frames (bursts of dbus_update) matched to an update this client received afterwards. */
  latencySamples: number;
  latencyMsP50: number;
  latencyMsP99: number;
  /** Tight JPEG rectangles received (0 = nothing lossy was sent). */
  jpegRects: number;
}

export function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** utime + stime of a process, in seconds. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

export function statusKiB(pid: number, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** QEMU's dbus_update trace timestamps (µs) logged since `fromOffset` of qemu.log. */
export function traceTimes(rig: Rig, fromOffset: number, startUs: number, endUs: number): number[] {
  return readFileSync(join(rig.artifactsDir, 'qemu.log'), 'utf8')
    .slice(fromOffset)
    .split('\n')
    .map((l) => /^\d+@(\d+)\.(\d{6}):dbus_update /.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]) * 1e6 + Number(m[2]))
    .filter((us) => us >= startUs && us <= endUs);
}

export function round(x: number, digits = 2): number {
  return Number.isFinite(x) ? Number(x.toFixed(digits)) : NaN;
}

export function serverFigures(updates: UpdateRecord[], traces: number[], cpu: number, seconds: number, jpegRects: number): ServerFigures {
  const bytes = updates.reduce((s, u) => s + u.bytes, 0);
  const rects = updates.reduce((s, u) => s + u.rects, 0);
  // QEMU sends one dbus_update per dirty band of a refresh: traces less than 3 ms apart
  // are one guest frame; its latency runs from the first of them.
  const frames = displayFrames(traces);
  const latencies: number[] = [];
  let j = 0;
  for (const t of frames) {
    while (j < updates.length && updates[j].us < t) j++;
    if (j >= updates.length) break;
    latencies.push((updates[j].us - t) / 1000);
  }
  latencies.sort((a, b) => a - b);
  const n = updates.length;
  return {
    updates: n,
    updatesPerSecond: round(n / seconds, 1),
    bytesPerUpdate: Math.round(bytes / Math.max(1, n)),
    mbPerSecond: round(bytes / 1e6 / seconds, 2),
    rectsPerUpdate: round(rects / Math.max(1, n), 1),
    cpuSeconds: round(cpu, 2),
    cpuMsPerUpdate: round((cpu * 1000) / Math.max(1, n), 2),
    latencySamples: latencies.length,
    latencyMsP50: round(percentile(latencies, 50)),
    latencyMsP99: round(percentile(latencies, 99)),
    jpegRects,
  };
}

/** Waits until the byte counts `received()` stop changing for `quietMs` (or `timeoutMs` passes). */
export async function waitQuiet(received: () => number[], quietMs: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = received();
  let since = Date.now();
  while (Date.now() < deadline) {
    await sleep(100);
    const now = received();
    if (now.some((v, i) => v !== last[i])) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
  }
}

/** QEMU display frames: dbus_update traces less than 3 ms apart are one guest refresh. */
export function displayFrames(traces: number[]): number[] {
  return traces.filter((t, i) => i === 0 || t - traces[i - 1] > 3000);
}
