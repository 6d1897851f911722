// Benchmark (not a test): how fast display-core makes QEMU's frames available to
// consumers, on QEMU 7.2 (inline Scanout/Update) and 10.x (shared-memory UpdateMap).
//
// The guest redraws its whole screen ~30 times a second, alternating two pictures.
// QEMU timestamps each display update it sends (`-msg timestamp=on -trace dbus_update`,
// wall clock, µs); we timestamp the moment the damage of that update is available to
// consumers (same clock). Latency = the difference, per update.
//
//   npm run bench -- bench/display-core.bench.ts
//
// BENCH_SECONDS sets the run's length, BENCH_MODES one size (e.g. 1920x1080), BENCH_WORKLOAD
// another of bench/measure.ts's workloads (clock: one small update a second, the D-Bus leg of
// qemu-vnc's idle-console latency),
// VDI_QEMU_VERSIONS one QEMU, BENCH_PROFILE a CPU profile (see startProfile).
//
// Writes its figures to bench/results/display-core.json; RESULTS.md quotes them.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Session } from 'node:inspector';
import { setTimeout as sleep } from 'node:timers/promises';
import { it } from 'vitest';
import { openDisplay } from '../e2e/src/display.js';
import { QEMU_VERSIONS, REPO_DIR, startRig, type QemuVersion } from '../e2e/src/index.js';
import { WORKLOADS } from './measure.js';

const RUN_SECONDS = Number(process.env.BENCH_SECONDS ?? 20);
const WORKLOAD = process.env.BENCH_WORKLOAD ?? 'redraw';
const workload = WORKLOADS[WORKLOAD];
if (!workload) throw new Error(`unknown workload ${WORKLOAD}`);
/** BENCH_MODES=1920x1080 measures one size only. */
const MODES = (process.env.BENCH_MODES ?? '1024x768,1920x1080').split(',') as Array<'1024x768' | '1920x1080'>;

interface Figures {
  qemu: QemuVersion;
  size: string;
  workload: string;
  transport: string;
  seconds: number;
  qemuUpdates: number;
  updatesPerSecond: number;
  framesWithDamage: number;
  /** Updates whose damage reached consumers, out of those QEMU sent. */
  deliveredRatio: number;
  latencyMsP50: number;
  latencyMsP90: number;
  latencyMsP99: number;
  latencyMsMax: number;
  mbPerSecondIn: number;
  cpuMsPerUpdate: number;
  rssMiB: number;
}

const nowUs = () => (performance.timeOrigin + performance.now()) * 1000;

/**
 * With BENCH_PROFILE=PREFIX, a CPU profile of this process over the measured run is written
 * to PREFIX-<qemu>-<size>.cpuprofile (Chrome DevTools opens it): where display-core's time goes.
 */
async function startProfile(name: string): Promise<{ stop(): Promise<void> }> {
  const prefix = process.env.BENCH_PROFILE;
  if (!prefix) return { stop: async () => undefined };
  const session = new Session();
  session.connect();
  const post = (method: string) =>
    new Promise<unknown>((resolve, reject) => session.post(method, (err, result) => (err ? reject(err) : resolve(result))));
  await post('Profiler.enable');
  await post('Profiler.start');
  return {
    async stop() {
      const { profile } = (await post('Profiler.stop')) as { profile: object };
      writeFileSync(`${prefix}-${name}.cpuprofile`, JSON.stringify(profile));
      session.disconnect();
    },
  };
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function measure(qemu: QemuVersion, mode: '1024x768' | '1920x1080'): Promise<Figures> {
  const rig = await startRig({
    qemu,
    name: `bench-display-core-${qemu}-${mode}`,
    videoMode: mode,
    extraArgs: ['-msg', 'timestamp=on', '-trace', 'dbus_update'],
  });
  const display = openDisplay(rig.busAddress, []);
  try {
    await display.waitForScreen(30_000);
    if (mode !== '1024x768') await rig.guest.check('vdi-mode');
    await rig.guest.check('vdi-pattern 1 && cat /dev/fb0 >/tmp/f1 && vdi-pattern 2 && cat /dev/fb0 >/tmp/f2');
    const [w] = mode.split('x').map(Number);
    if (display.framebuffer.width !== w) throw new Error(`framebuffer is ${display.framebuffer.width} wide, not ${w}`);

    const damageTimes: number[] = [];
    const consumer = display.framebuffer.damage.subscribe({
      initialFull: false,
      onDamage: () => {
        damageTimes.push(nowUs());
        consumer.take();
      },
    });
    const startUs = nowUs();
    const stats0 = { ...display.framebuffer.stats };
    const cpu0 = process.cpuUsage();
    const profile = await startProfile(`${qemu}-${mode}`);
    await rig.guest.check(workload.start);
    await sleep(RUN_SECONDS * 1000);
    await rig.guest.check('kill $(cat /tmp/loop.pid)');
    const endUs = nowUs();
    await sleep(500);
    const cpu = process.cpuUsage(cpu0);
    await profile.stop();
    const stats = display.framebuffer.stats;
    const rssMiB = process.memoryUsage().rss / 2 ** 20;
    consumer.close();

    // "1234@1700000000.123456:dbus_update x=0, y=0, w=1024, h=768"
    const traces = readFileSync(join(rig.artifactsDir, 'qemu.log'), 'utf8')
      .split('\n')
      .map((l) => /^\d+@(\d+)\.(\d{6}):dbus_update x=(\d+), y=(\d+), w=(\d+), h=(\d+)/.exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ us: Number(m[1]) * 1e6 + Number(m[2]), w: Number(m[5]), h: Number(m[6]) }))
      .filter((t) => t.us >= startUs && t.us <= endUs);
    // Each update's damage is the first damage event after it, unless the next update came
    // first (then the two were applied together and only the later one is counted).
    const latencies: number[] = [];
    let j = 0;
    for (let i = 0; i < traces.length; i++) {
      while (j < damageTimes.length && damageTimes[j] < traces[i].us) j++;
      if (j >= damageTimes.length) break;
      const next = traces[i + 1]?.us ?? Infinity;
      if (damageTimes[j] <= next) latencies.push((damageTimes[j] - traces[i].us) / 1000);
    }
    latencies.sort((a, b) => a - b);
    const seconds = (endUs - startUs) / 1e6;
    return {
      qemu,
      size: mode,
      workload: WORKLOAD,
      transport: display.framebuffer.transport,
      seconds: Number(seconds.toFixed(1)),
      qemuUpdates: traces.length,
      updatesPerSecond: Number((traces.length / seconds).toFixed(1)),
      framesWithDamage: latencies.length,
      deliveredRatio: Number((latencies.length / Math.max(1, traces.length)).toFixed(3)),
      latencyMsP50: Number(percentile(latencies, 50).toFixed(2)),
      latencyMsP90: Number(percentile(latencies, 90).toFixed(2)),
      latencyMsP99: Number(percentile(latencies, 99).toFixed(2)),
      latencyMsMax: Number((latencies.at(-1) ?? NaN).toFixed(2)),
      mbPerSecondIn: Number(((stats.bytes - stats0.bytes) / 1e6 / seconds).toFixed(1)),
      cpuMsPerUpdate: Number(((cpu.user + cpu.system) / 1000 / Math.max(1, traces.length)).toFixed(2)),
      rssMiB: Number(rssMiB.toFixed(0)),
    };
  } finally {
    display.close();
    await rig.stop();
  }
}

it('display-core: QEMU update → consumer latency and throughput', async () => {
  const results: Figures[] = [];
  for (const qemu of QEMU_VERSIONS) {
    for (const mode of MODES) {
      const f = await measure(qemu, mode);
      console.log(JSON.stringify(f));
      results.push(f);
    }
  }
  const dir = join(REPO_DIR, 'bench/results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'display-core.json'), `${JSON.stringify(results, null, 2)}\n`);
});
