// Benchmark (not a test; run by hand, never in CI): qemu-vnc against QEMU's built-in VNC
// server (`-vnc`), side by side on the same guest in the same run, each served to the same
// measuring client (bench/rfb-client.ts: RFB 3.8, None, 32 bpp, next incremental request
// sent the moment an update has arrived, framing parsed only). qemu-vnc over TCP, QEMU's
// VNC over its unix socket; both clients connected at the same time.
//
//   BENCH_SECONDS=10 VDI_QEMU_VERSIONS=7.2 npm run bench -- bench/qemu-vnc.bench.ts
//
// Env: BENCH_SECONDS (per workload, default 10), BENCH_SIZES (default 1024x768,1920x1080),
// BENCH_ENCODINGS (zrle, tight; default zrle,tight).
//
// Workloads: full-screen redraw (two pre-drawn frames alternated, ~33 ms apart), scrolling
// text on fbcon (tty1), and an idle console with a clock line rewritten once a second.
// Latency: QEMU timestamps each display update it sends over D-Bus (`-msg timestamp=on
// -trace dbus_update`, wall clock); each such update is matched to the first complete
// FramebufferUpdate a client receives after it (same clock). QEMU's VNC server gets the same
// update from the same graphic_hw_update, so this is guest draw → client for both.
//
// Writes bench/results/qemu-vnc.json; RESULTS.md quotes it.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { it } from 'vitest';
import { QEMU_VERSIONS, REPO_DIR, startRig, type QemuVersion, type Rig } from '../e2e/src/index.js';
import { ensureQemuVncBuilt, freeVncDisplay, startQemuVnc, type QemuVnc } from '../e2e/src/clients/qemu-vnc.js';
import {
  BenchRfbClient,
  ENCODING_TIGHT,
  ENCODING_ZRLE,
  nowUs,
  tightCompression,
  tightQuality,
  type UpdateRecord,
} from './rfb-client.js';

const RUN_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const SIZES = (process.env.BENCH_SIZES ?? '1024x768,1920x1080').split(',').map((s) => s.trim());
const ENCODING_NAMES = (process.env.BENCH_ENCODINGS ?? 'zrle,tight').split(',').map((s) => s.trim());
const TICKS_PER_SECOND = 100; // USER_HZ on Linux/x86

const ENCODINGS: Record<string, { label: string; lossless: boolean; list: number[] }> = {
  zrle: { label: 'ZRLE', lossless: true, list: [ENCODING_ZRLE] },
  // Compression level 6 is what vncviewer/noVNC tend to ask for; quality 9 = least lossy JPEG.
  tight: { label: 'Tight+JPEG q9', lossless: false, list: [ENCODING_TIGHT, tightQuality(9), tightCompression(6)] },
};

const WORKLOADS: Record<string, { start: string; describe: string }> = {
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

interface ServerFigures {
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

interface Figures {
  qemu: QemuVersion;
  size: string;
  encoding: string;
  lossless: boolean;
  workload: string;
  seconds: number;
  qemuDisplayUpdates: number;
  /** dbus_update traces grouped into bursts (< 3 ms apart): what the guest drew per refresh. */
  qemuDisplayFrames: number;
  qemuVnc: ServerFigures & { rssMiB: number; peakRssMiB: number };
  qemuBuiltin: ServerFigures;
  ratios: { updatesPerSecond: number; bytesPerUpdate: number; latencyP50: number };
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); utime and stime are fields 14 and 15.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

function statusKiB(pid: number, key: string): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

/** QEMU's dbus_update trace timestamps (µs) logged since `fromOffset` of qemu.log. */
function traceTimes(rig: Rig, fromOffset: number, startUs: number, endUs: number): number[] {
  return readFileSync(join(rig.artifactsDir, 'qemu.log'), 'utf8')
    .slice(fromOffset)
    .split('\n')
    .map((l) => /^\d+@(\d+)\.(\d{6}):dbus_update /.exec(l))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]) * 1e6 + Number(m[2]))
    .filter((us) => us >= startUs && us <= endUs);
}

function round(x: number, digits = 2): number {
  return Number.isFinite(x) ? Number(x.toFixed(digits)) : NaN;
}

function serverFigures(updates: UpdateRecord[], traces: number[], cpu: number, seconds: number, jpegRects: number): ServerFigures {
  const bytes = updates.reduce((s, u) => s + u.bytes, 0);
  const rects = updates.reduce((s, u) => s + u.rects, 0);
  // QEMU sends one dbus_update per dirty band of a refresh: traces less than 3 ms apart
  // are one guest frame; its latency runs from the first of them.
  const frames = traces.filter((t, i) => i === 0 || t - traces[i - 1] > 3000);
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

async function waitQuiet(clients: BenchRfbClient[], quietMs: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = clients.map((c) => c.received);
  let since = Date.now();
  while (Date.now() < deadline) {
    await sleep(100);
    for (const c of clients) c.check();
    const now = clients.map((c) => c.received);
    if (now.some((v, i) => v !== last[i])) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quietMs) return;
  }
}

/** Connects and handshakes until the server reports the guest's size (it may lag a mode switch). */
async function connectAtSize(
  what: string,
  where: Parameters<typeof BenchRfbClient.connect>[0],
  w: number,
  h: number,
): Promise<BenchRfbClient> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const c = await BenchRfbClient.connect(where);
    const init = await c.handshake();
    if (init.width === w && init.height === h) return c;
    c.close();
    if (Date.now() > deadline) throw new Error(`${what}: desktop is ${init.width}x${init.height}, not ${w}x${h}`);
    await sleep(500);
  }
}

async function measureSize(qemu: QemuVersion, mode: string): Promise<Figures[]> {
  const rig = await startRig({
    qemu,
    name: `bench-qemu-vnc-${qemu}-${mode}`,
    vnc: true,
    videoMode: mode,
    // lossy=on lets QEMU's VNC use JPEG when a Tight client asks for a quality level
    // (off by default); without it the Tight pass would not be at equal lossiness.
    extraArgs: ['-msg', 'timestamp=on', '-trace', 'dbus_update', '-set', 'vnc.default.lossy=on'],
  });
  let vnc: QemuVnc | undefined;
  const results: Figures[] = [];
  try {
    if (mode !== '1024x768') await rig.guest.check('vdi-mode');
    await rig.guest.check('vdi-pattern 1 && cat /dev/fb0 >/tmp/f1 && vdi-pattern 2 && cat /dev/fb0 >/tmp/f2');
    const display = await freeVncDisplay();
    vnc = await startQemuVnc({
      busAddress: rig.busAddress,
      listen: `127.0.0.1:${5900 + display}`,
      log: join(rig.artifactsDir, 'qemu-vnc.log'),
    });
    const [w, h] = mode.split('x').map(Number);
    const qemuPid = rig.qemuPid;
    if (qemuPid === undefined) throw new Error('no QEMU pid');

    for (const encName of ENCODING_NAMES) {
      const enc = ENCODINGS[encName];
      if (!enc) throw new Error(`unknown encoding ${encName}`);
      for (const [workload, wl] of Object.entries(WORKLOADS)) {
        // Fresh connections per pass: each starts with its full update, then goes quiet.
        const ours = await connectAtSize('qemu-vnc', { port: vnc.port, host: vnc.host }, w, h);
        const theirs = await connectAtSize('QEMU VNC', { path: rig.vncSocketPath! }, w, h);
        try {
          for (const c of [ours, theirs]) c.start(enc.list);
          await rig.guest.check('vdi-pattern 3 >/dev/null');
          await waitQuiet([ours, theirs], 1000, 20_000);

          const logOffset = readFileSync(join(rig.artifactsDir, 'qemu.log'), 'utf8').length;
          const n0 = [ours.updates.length, theirs.updates.length];
          const jpeg0 = [ours.jpegRects, theirs.jpegRects];
          const cpu0 = [cpuSeconds(vnc.pid), cpuSeconds(qemuPid)];
          const startUs = nowUs();
          await rig.guest.check(wl.start);
          await sleep(RUN_SECONDS * 1000);
          // The loop's running child (a short seq/cat/sleep) finishes by itself.
          await rig.guest.check('kill $(cat /tmp/loop.pid)');
          const endUs = nowUs();
          const cpu = [cpuSeconds(vnc.pid) - cpu0[0], cpuSeconds(qemuPid) - cpu0[1]];
          const rssMiB = (statusKiB(vnc.pid, 'VmRSS') * 1024) / 2 ** 20;
          const peakRssMiB = (statusKiB(vnc.pid, 'VmHWM') * 1024) / 2 ** 20;
          await sleep(500);
          ours.check();
          theirs.check();
          const seconds = (endUs - startUs) / 1e6;
          const within = (u: UpdateRecord) => u.us >= startUs && u.us <= endUs + 500_000;
          const traces = traceTimes(rig, logOffset, startUs, endUs);
          const a = serverFigures(ours.updates.slice(n0[0]).filter(within), traces, cpu[0], seconds, ours.jpegRects - jpeg0[0]);
          const b = serverFigures(theirs.updates.slice(n0[1]).filter(within), traces, cpu[1], seconds, theirs.jpegRects - jpeg0[1]);
          const f: Figures = {
            qemu,
            size: mode,
            encoding: enc.label,
            lossless: enc.lossless,
            workload,
            seconds: round(seconds, 1),
            qemuDisplayUpdates: traces.length,
            qemuDisplayFrames: traces.filter((t, i) => i === 0 || t - traces[i - 1] > 3000).length,
            qemuVnc: { ...a, rssMiB: round(rssMiB, 0), peakRssMiB: round(peakRssMiB, 0) },
            qemuBuiltin: b,
            ratios: {
              updatesPerSecond: round(a.updatesPerSecond / b.updatesPerSecond),
              bytesPerUpdate: round(a.bytesPerUpdate / b.bytesPerUpdate),
              latencyP50: round(a.latencyMsP50 / b.latencyMsP50),
            },
          };
          console.log(JSON.stringify(f));
          results.push(f);
          // Let the console settle before the next workload.
          await rig.guest.check('clear >/dev/tty1');
        } finally {
          ours.close();
          theirs.close();
        }
      }
    }
  } finally {
    await vnc?.stop();
    await rig.stop();
  }
  return results;
}

it('qemu-vnc vs QEMU built-in VNC: frames/s, bytes, CPU, memory, latency', async () => {
  ensureQemuVncBuilt();
  const results: Figures[] = [];
  const dir = join(REPO_DIR, 'bench/results');
  mkdirSync(dir, { recursive: true });
  for (const qemu of QEMU_VERSIONS) {
    for (const mode of SIZES) {
      results.push(...(await measureSize(qemu, mode)));
      // Written after each size, so an interrupted run keeps what it measured.
      writeFileSync(join(dir, 'qemu-vnc.json'), `${JSON.stringify(results, null, 2)}\n`);
    }
  }
});
