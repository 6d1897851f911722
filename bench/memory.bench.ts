// Benchmark (not a test; run by hand, never in CI): resident memory of the sidecar's
// processes. One guest per QEMU version (VDI_QEMU_VERSIONS), qemu-vnc and qemu-rdp started
// from their built CLIs on its bus at the same time, each measured idle (VM present, no
// client), then with one measuring client each — at 1024×768 (the guest's boot mode) and at
// 1920×1080 (after `vdi-mode`) — while the guest redraws its whole screen (the `redraw`
// workload of bench/measure.ts), then idle again once the clients have left. Clients: the
// benches' own (bench/rfb-client.ts, ZRLE at 32 bpp; e2e/src/clients/raw-rdp.ts, 32 bpp
// planar), parsing framing only. Also measured, for scale: an idle `node -e
// 'setInterval(()=>{},1e3)'` (the floor of any Node process here), `hook-shim serve` idle,
// and the rig's dbus-daemon.
//
//   BENCH_SECONDS=10 VDI_QEMU_VERSIONS=7.2 npm run bench -- bench/memory.bench.ts
//
// Env: BENCH_SECONDS (redraw per size, default 10). BENCH_SERVERS: which of the built
// CLIs to run (default qemu-vnc,qemu-rdp; each run as an executable, as its bin link in the
// image runs it, so the node options of its #! line apply). BENCH_VARIANTS: more servers started
// side by side on the same bus and measured the same way, a JSON array of
// {"name", "server": "qemu-vnc"|"qemu-rdp", "cli"?: path of another build's dist/cli.js,
// "nodeArgs"?: [...], "env"?: {...}} — to compare a change (or V8 flags) with the build
// under test in one run, on one guest, under the same load.
//
// RSS: VmRSS from /proc/PID/status; at idle after 3 s of quiet, with a client the largest of
// samples every 250 ms during the redraw; idle after: 12 s after the clients left; peak: VmHWM (largest ever, start-up included).
// Private: Private_Clean + Private_Dirty of /proc/PID/smaps_rollup (what the process alone
// holds); shared: Shared_Clean + Shared_Dirty (mostly the node binary, ~34 MiB in each Node
// process but in memory — and in the pod's cgroup — once). The sidecar line adds them up
// both ways: Σ RSS counts the shared pages once per process, the other once.
// Frames/s: complete updates each client received during the redraw (to see that a
// memory change did not cost throughput). Writes bench/results/memory.json.
import { readdirSync, readFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { it } from 'vitest';
import { RawRdpClient } from '../e2e/src/clients/raw-rdp.js';
import { Background } from '../e2e/src/clients/process.js';
import { ensureQemuRdpBuilt, QEMU_RDP_CLI } from '../e2e/src/clients/qemu-rdp.js';
import { ensureQemuVncBuilt, freeVncDisplay, QEMU_VNC_CLI } from '../e2e/src/clients/qemu-vnc.js';
import { QEMU_VERSIONS, REPO_DIR, startRig, type QemuVersion, type Rig } from '../e2e/src/index.js';
import { cpuSeconds, round, statusKiB, waitQuiet, WORKLOADS } from './measure.js';
import { BenchRfbClient, ENCODING_ZRLE } from './rfb-client.js';

const RUN_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const HOOK_SHIM_CLI = join(REPO_DIR, 'packages/hook-shim/dist/cli.js');

interface ServerSpec {
  name: string;
  server: 'qemu-vnc' | 'qemu-rdp';
  cli?: string;
  nodeArgs?: string[];
  env?: Record<string, string>;
}

const DEFAULT_SERVERS = (process.env.BENCH_SERVERS ?? 'qemu-vnc,qemu-rdp').split(',').map((s) => s.trim()).filter(Boolean);
const SERVERS: ServerSpec[] = [
  ...DEFAULT_SERVERS.map((name) => ({ name, server: name as ServerSpec['server'] })),
  ...(JSON.parse(process.env.BENCH_VARIANTS ?? '[]') as ServerSpec[]),
];

interface Memory {
  rssMiB: number;
  peakRssMiB: number;
  /** Private pages (USS: Private_Clean + Private_Dirty of smaps_rollup): this process's own. */
  privateMiB: number;
  /** Pages shared with other processes (mostly the node binary's, in the page cache once). */
  sharedMiB: number;
}

interface ServerFigures {
  name: string;
  idle: Memory;
  clients: Record<string, Memory & { maxRssMiB: number; updatesPerSecond: number; cpuMsPerUpdate: number }>;
  idleAfterClients: Memory;
}

interface Figures {
  qemu: QemuVersion;
  seconds: number;
  dbusDaemon: Memory;
  servers: ServerFigures[];
}

const MiB = (kib: number) => round((kib * 1024) / 2 ** 20, 1);

function smapsKiB(pid: number, keys: string[]): number {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  return keys.reduce((sum, key) => sum + Number(new RegExp(`^${key}:\\s+(\\d+) kB$`, 'm').exec(text)?.[1] ?? NaN), 0);
}

function memory(pid: number): Memory {
  return {
    rssMiB: MiB(statusKiB(pid, 'VmRSS')),
    peakRssMiB: MiB(statusKiB(pid, 'VmHWM')),
    privateMiB: MiB(smapsKiB(pid, ['Private_Clean', 'Private_Dirty'])),
    sharedMiB: MiB(smapsKiB(pid, ['Shared_Clean', 'Shared_Dirty'])),
  };
}

/** The dbus-daemon whose configuration file names `socketPath` (the rig's bus). */
function dbusDaemonPid(socketPath: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (!args[0].endsWith('dbus-daemon')) continue;
      const config = args.find((a) => a.startsWith('--config-file='))?.slice('--config-file='.length);
      if (config && readFileSync(config, 'utf8').includes(socketPath)) return Number(entry);
    } catch {
      // gone, or not ours to read
    }
  }
  throw new Error(`no dbus-daemon for ${socketPath}`);
}

/** A process started for the measurement, once it printed `ready`, then left alone `settleMs`. */
async function startProcess(command: string, args: string[], ready: RegExp, env: Record<string, string> = {}, log?: string): Promise<Background> {
  const proc = new Background(command, args, { env: { ...process.env, ...env }, log });
  try {
    await proc.waitForOutput(ready, { timeoutMs: 30_000 });
  } catch (err) {
    await proc.stop('SIGKILL');
    throw err;
  }
  return proc;
}

async function idleProcess(command: string, args: string[], ready: RegExp): Promise<Memory> {
  const proc = await startProcess(command, args, ready);
  try {
    await sleep(3000);
    return memory(proc.pid);
  } finally {
    await proc.stop();
  }
}

interface Running {
  spec: ServerSpec;
  proc: Background;
  port: number;
}

async function startServer(spec: ServerSpec, rig: Rig): Promise<Running> {
  const cli = spec.cli ?? (spec.server === 'qemu-vnc' ? QEMU_VNC_CLI : QEMU_RDP_CLI);
  const listen = spec.server === 'qemu-vnc' ? `127.0.0.1:${5900 + (await freeVncDisplay())}` : '127.0.0.1:0';
  const ready = spec.server === 'qemu-vnc' ? /RFB on (\S+):(\d+)\n/ : /RDP on (\S+):(\d+)\n/;
  const log = join(rig.artifactsDir, `${spec.name}.log`);
  const args = ['--dbus-address', rig.busAddress, '--listen', listen];
  // Without node arguments of its own, the CLI runs as its bin link does in the image: as
  // an executable, so that the node options of its #! line apply.
  const proc = spec.nodeArgs
    ? await startProcess(process.execPath, [...spec.nodeArgs, cli, ...args], ready, spec.env, log)
    : await startProcess(cli, args, ready, spec.env, log);
  return { spec, proc, port: Number(ready.exec(proc.stdout)![2]) };
}

interface Client {
  updates: () => number;
  received: () => number;
  close: () => void;
}

async function connectClient(s: Running, w: number, h: number): Promise<Client> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (s.spec.server === 'qemu-vnc') {
      const c = await BenchRfbClient.connect({ host: '127.0.0.1', port: s.port });
      const init = await c.handshake();
      if (init.width === w && init.height === h) {
        c.start([ENCODING_ZRLE]);
        return { updates: () => (c.check(), c.updates.length), received: () => (c.check(), c.received), close: () => c.close() };
      }
      c.close();
    } else {
      const c = await RawRdpClient.connect(s.port, '127.0.0.1');
      await c.activate({ bpp: 32 });
      if (c.desktop.width === w && c.desktop.height === h) {
        const updates = c.recordUpdates();
        return { updates: () => updates.length, received: () => c.received, close: () => c.destroy() };
      }
      c.destroy();
    }
    if (Date.now() > deadline) throw new Error(`${s.spec.name}: desktop is not ${w}x${h}`);
    await sleep(500);
  }
}

/** One client per server, all at once, while the guest redraws; RSS sampled throughout. */
async function withClients(rig: Rig, servers: Running[], mode: string, figures: ServerFigures[]): Promise<void> {
  const [w, h] = mode.split('x').map(Number);
  const clients: Client[] = [];
  try {
    for (const s of servers) clients.push(await connectClient(s, w, h));
    await waitQuiet(() => clients.map((c) => c.received()), 1000, 20_000);
    const n0 = clients.map((c) => c.updates());
    const cpu0 = servers.map((s) => cpuSeconds(s.proc.pid));
    const maxRss = servers.map(() => 0);
    const start = Date.now();
    await rig.guest.check(WORKLOADS.redraw.start);
    while (Date.now() - start < RUN_SECONDS * 1000) {
      await sleep(250);
      servers.forEach((s, i) => (maxRss[i] = Math.max(maxRss[i], statusKiB(s.proc.pid, 'VmRSS'))));
    }
    await rig.guest.check('kill $(cat /tmp/loop.pid)');
    const seconds = (Date.now() - start) / 1000;
    servers.forEach((s, i) => {
      const updates = clients[i].updates() - n0[i];
      const cpu = cpuSeconds(s.proc.pid) - cpu0[i];
      figures[i].clients[mode] = {
        ...memory(s.proc.pid),
        maxRssMiB: MiB(maxRss[i]),
        updatesPerSecond: round(updates / seconds, 1),
        cpuMsPerUpdate: round((cpu * 1000) / Math.max(1, updates), 1),
      };
    });
  } finally {
    for (const c of clients) c.close();
  }
}

async function measureQemu(qemu: QemuVersion): Promise<Figures> {
  const rig = await startRig({ qemu, name: `bench-memory-${qemu}`, videoMode: '1920x1080' });
  const servers: Running[] = [];
  try {
    await rig.guest.check('vdi-pattern 1 && cat /dev/fb0 >/tmp/f1 && vdi-pattern 2 && cat /dev/fb0 >/tmp/f2');
    for (const spec of SERVERS) servers.push(await startServer(spec, rig));
    const figures: ServerFigures[] = servers.map((s) => ({ name: s.spec.name, idle: memory(s.proc.pid), clients: {}, idleAfterClients: memory(s.proc.pid) }));
    await sleep(3000);
    servers.forEach((s, i) => (figures[i].idle = memory(s.proc.pid)));
    const dbusDaemon = memory(dbusDaemonPid(rig.busSocketPath));

    await withClients(rig, servers, '1024x768', figures);
    await rig.guest.check('vdi-mode');
    await rig.guest.check('vdi-pattern 1 && cat /dev/fb0 >/tmp/f1 && vdi-pattern 2 && cat /dev/fb0 >/tmp/f2');
    await withClients(rig, servers, '1920x1080', figures);
    // Long enough for buffers kept only while frames flow to be let go (display-core trims
    // every 5 s) and for V8 to collect them.
    await sleep(12_000);
    servers.forEach((s, i) => (figures[i].idleAfterClients = memory(s.proc.pid)));
    return { qemu, seconds: RUN_SECONDS, dbusDaemon, servers: figures };
  } finally {
    for (const s of servers) await s.proc.stop();
    await rig.stop();
  }
}

function table(floor: Memory, hookShim: Memory, results: Figures[]): string {
  const lines = [
    '| QEMU | process | idle RSS (private) | 1024×768 RSS (max) | fps | CPU ms/update | 1920×1080 RSS (max) | fps | CPU ms/update | idle after | peak (HWM) |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const idleRow = (qemu: string, name: string, m: Memory) => `| ${qemu} | ${name} | ${m.rssMiB} (${m.privateMiB}) | | | | | | | | ${m.peakRssMiB} |`;
  lines.push(idleRow('–', "node -e 'setInterval(…)'", floor));
  lines.push(idleRow('–', 'hook-shim serve', hookShim));
  for (const r of results) {
    lines.push(idleRow(r.qemu, 'dbus-daemon', r.dbusDaemon));
    for (const s of r.servers) {
      const a = s.clients['1024x768'];
      const b = s.clients['1920x1080'];
      lines.push(
        `| ${r.qemu} | ${s.name} | ${s.idle.rssMiB} (${s.idle.privateMiB}) | ${a?.rssMiB} (${a?.maxRssMiB}) | ${a?.updatesPerSecond} | ${a?.cpuMsPerUpdate} | ${b?.rssMiB} (${b?.maxRssMiB}) | ${b?.updatesPerSecond} | ${b?.cpuMsPerUpdate} | ${s.idleAfterClients.rssMiB} | ${s.idleAfterClients.peakRssMiB} |`,
      );
    }
    // The sidecar at idle as its cgroup sees it: every process's private pages, plus the
    // pages they share (the node binary's, in the page cache once) counted once.
    const sidecar = [r.dbusDaemon, hookShim, ...['qemu-vnc', 'qemu-rdp'].map((n) => r.servers.find((s) => s.name === n)?.idle).filter((m): m is Memory => m !== undefined)];
    const rss = sidecar.reduce((t, m) => t + m.rssMiB, 0);
    const own = sidecar.reduce((t, m) => t + m.privateMiB, 0) + Math.max(...sidecar.map((m) => m.sharedMiB));
    lines.push(`| ${r.qemu} | sidecar idle (dbus-daemon + hook-shim + qemu-vnc + qemu-rdp) | Σ RSS ${round(rss, 1)}; Σ private + shared once ${round(own, 1)} | | | | | | | | |`);
  }
  return lines.join('\n');
}

it('resident memory: node floor, hook-shim, dbus-daemon, qemu-vnc and qemu-rdp idle and with a client', async () => {
  ensureQemuVncBuilt();
  ensureQemuRdpBuilt();
  const dir = join(REPO_DIR, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const floor = await idleProcess(process.execPath, ['-e', "setInterval(()=>{},1e3);console.log('ready')"], /ready/);
  const hooks = mkdtempSync(join(tmpdir(), 'bench-memory-hooks-'));
  let hookShim: Memory;
  try {
    hookShim = await idleProcess(process.execPath, [HOOK_SHIM_CLI, 'serve', '--socket-dir', hooks, '--name', 'bench'], /unix:\/\//);
  } finally {
    rmSync(hooks, { recursive: true, force: true });
  }
  const results: Figures[] = [];
  const write = () => writeFileSync(join(dir, 'memory.json'), `${JSON.stringify({ floor, hookShim, results }, null, 2)}\n`);
  for (const qemu of QEMU_VERSIONS) {
    results.push(await measureQemu(qemu));
    write();
  }
  console.log(table(floor, hookShim, results));
});
