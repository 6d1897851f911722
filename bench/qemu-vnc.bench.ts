// Benchmark (not a test; run by hand, never in CI): qemu-vnc against QEMU's built-in VNC
// server (`-vnc`), side by side on the same guest in the same run, each served to the same
// measuring client (bench/rfb-client.ts: RFB 3.8, None, 32 bpp, next incremental request
// sent the moment an update has arrived, framing parsed only). qemu-vnc over TCP, QEMU's
// VNC over its unix socket; both clients connected at the same time.
//
//   BENCH_SECONDS=10 VDI_QEMU_VERSIONS=7.2 npm run bench -- bench/qemu-vnc.bench.ts
//
// Env: BENCH_SECONDS (per workload, default 10), BENCH_SIZES (default 1024x768,1920x1080),
// BENCH_ENCODINGS (zrle, tight; default zrle,tight), BENCH_WORKLOADS (redraw, scroll, clock;
// default all).
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
import { QEMU_VERSIONS, REPO_DIR, startRig, type QemuVersion } from '../e2e/src/index.js';
import { ensureQemuVncBuilt, freeVncDisplay, startQemuVnc, type QemuVnc } from '../e2e/src/clients/qemu-vnc.js';
import {
  BenchRfbClient,
  ENCODING_COPYRECT,
  ENCODING_TIGHT,
  ENCODING_ZRLE,
  nowUs,
  tightCompression,
  tightQuality,
} from './rfb-client.js';
import { cpuSeconds, displayFrames, round, serverFigures, statusKiB, traceTimes, waitQuiet, WORKLOADS, type ServerFigures, type UpdateRecord } from './measure.js';

const RUN_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const SIZES = (process.env.BENCH_SIZES ?? '1024x768,1920x1080').split(',').map((s) => s.trim());
const ENCODING_NAMES = (process.env.BENCH_ENCODINGS ?? 'zrle,tight').split(',').map((s) => s.trim());
const WORKLOAD_NAMES = (process.env.BENCH_WORKLOADS ?? Object.keys(WORKLOADS).join(',')).split(',').map((s) => s.trim());
for (const name of WORKLOAD_NAMES) if (!WORKLOADS[name]) throw new Error(`unknown workload ${name}`);

// CopyRect is in every list, as vncviewer and noVNC have it (QEMU's server never sends it).
const ENCODINGS: Record<string, { label: string; lossless: boolean; list: number[] }> = {
  zrle: { label: 'ZRLE', lossless: true, list: [ENCODING_ZRLE, ENCODING_COPYRECT] },
  // Compression level 6 is what vncviewer/noVNC tend to ask for; quality 9 = least lossy JPEG.
  tight: { label: 'Tight+JPEG q9', lossless: false, list: [ENCODING_TIGHT, ENCODING_COPYRECT, tightQuality(9), tightCompression(6)] },
};

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
    // lossy=on lets QEMU's VNC use JPEG when a Tight client asks for a quality level
    // (off by default); without it the Tight pass would not be at equal lossiness.
    vnc: 'lossy=on',
    videoMode: mode,
    extraArgs: ['-msg', 'timestamp=on', '-trace', 'dbus_update'],
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
      for (const workload of WORKLOAD_NAMES) {
        const wl = WORKLOADS[workload];
        // Fresh connections per pass: each starts with its full update, then goes quiet.
        const ours = await connectAtSize('qemu-vnc', { port: vnc.port, host: vnc.host }, w, h);
        const theirs = await connectAtSize('QEMU VNC', { path: rig.vncSocketPath! }, w, h);
        try {
          for (const c of [ours, theirs]) c.start(enc.list);
          await rig.guest.check('vdi-pattern 3 >/dev/null');
          await waitQuiet(() => [ours, theirs].map((c) => (c.check(), c.received)), 1000, 20_000);

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
            qemuDisplayFrames: displayFrames(traces).length,
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
