// Benchmark (run by hand, never in CI): the resident memory of the whole sidecar — vdi-init and
// every process below it (dbus-session and its dbus-daemon, hook-shim, qemu-vnc with the web
// console on, qemu-rdp), started as in the pod: the init, then OnDefineDomain through gRPC
// (Python's grpcio, as virt-launcher calls it), then the servers from hook-shim's plan — beside a
// real QEMU on the init's bus. Measured idle (VM present, no client) and with one VNC client
// (ZRLE, 32 bpp) and one RDP client (planar, 32 bpp) connected while the guest redraws its whole
// screen. Issue 6's target: all processes together ≤ 192 MiB resident at idle. Σ VmRSS counts the
// node binary's shared pages once per Node process; "charged" counts them once.
//
//   BENCH_SECONDS=10 VDI_QEMU_VERSIONS=7.2 npm run bench -- bench/sidecar-memory.bench.ts
//
// Env: BENCH_SECONDS (the loaded phase, default 10), BENCH_SIZES (default 1024x768,1920x1080).
// Writes bench/results/sidecar-memory.json.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { it } from 'vitest';
import { RawRdpClient } from '../e2e/src/clients/raw-rdp.js';
import { SidecarInit, callHook, ensureVdiInitBuilt, freeVncDisplay } from '../e2e/src/clients/index.js';
import { E2E_DIR, QEMU_VERSIONS, REPO_DIR, startRig, type QemuVersion } from '../e2e/src/index.js';
import { qemuInstall } from '../e2e/src/qemu.js';
import { round, statusKiB, WORKLOADS } from './measure.js';
import { BenchRfbClient, ENCODING_ZRLE } from './rfb-client.js';

const RUN_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const SIZES = (process.env.BENCH_SIZES ?? '1024x768,1920x1080').split(',').map((s) => s.trim());
const HOOK_NAME = 'hook-sidecar-0';
const DOMAIN = readFileSync(join(E2E_DIR, 'fixtures/hook-shim/domain.xml'), 'utf8');
const VMI = JSON.parse(readFileSync(join(E2E_DIR, 'fixtures/hook-shim/vmi.json'), 'utf8')) as { metadata: { annotations: Record<string, string> } };

/** One process of the sidecar: its name, VmRSS, VmHWM (peak) and the anonymous and file-backed parts of VmRSS, in MiB. */
interface ProcessMemory {
  name: string;
  rssMiB: number;
  peakMiB: number;
  anonMiB: number;
  fileMiB: number;
}

interface Snapshot {
  /** Σ VmRSS: counts the pages of the node binary, which all four Node processes share, four times. */
  totalRssMiB: number;
  /**
   * Σ RssAnon + the largest RssFile: each process's own memory plus the shared code once —
   * close to what the container's memory cgroup is charged.
   */
  chargedMiB: number;
  processes: ProcessMemory[];
}

interface Figures {
  qemu: QemuVersion;
  size: string;
  idle: Snapshot;
  /** One VNC and one RDP client, the guest redrawing the whole screen. */
  clients: Snapshot & { totalPeakMiB: number; vncUpdates: number; rdpUpdates: number };
}

const mib = (kib: number) => round(kib / 1024, 1);

/** The program a process runs: for Node, its script's name (a CLI's bin link, e.g. qemu-vnc), else its command name. */
function programName(pid: number, comm: string): string {
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const script = argv.slice(1).find((arg) => arg !== '' && !arg.startsWith('-'));
  return comm === 'node' && script ? basename(script) : comm;
}

const sum = (values: number[]) => round(values.reduce((a, b) => a + b, 0), 1);

function snapshot(init: SidecarInit): Snapshot {
  const processes = [{ pid: init.pid, comm: 'vdi-init' }, ...init.tree()].map((p) => ({
    name: programName(p.pid, p.comm),
    rssMiB: mib(statusKiB(p.pid, 'VmRSS')),
    peakMiB: mib(statusKiB(p.pid, 'VmHWM')),
    anonMiB: mib(statusKiB(p.pid, 'RssAnon')),
    fileMiB: mib(statusKiB(p.pid, 'RssFile')),
  }));
  return {
    totalRssMiB: sum(processes.map((p) => p.rssMiB)),
    chargedMiB: sum([...processes.map((p) => p.anonMiB), Math.max(...processes.map((p) => p.fileMiB))]),
    processes,
  };
}

async function measure(qemu: QemuVersion, mode: string): Promise<Figures> {
  // Under QEMU 10 the bus must lie inside QEMU's root (it runs chrooted).
  const install = await qemuInstall(qemu);
  const dir = mkdtempSync(join(install.root ? join(install.root, 'run', 'vdi') : tmpdir(), 'sidecar-memory-'));
  const hooks = join(dir, 'hooks');
  const bus = join(hooks, 'vdi', 'bus');
  const vncPort = 5900 + (await freeVncDisplay(80));
  const rdpPort = 5900 + (await freeVncDisplay(80));
  const webPort = 5900 + (await freeVncDisplay(80));
  const init = SidecarInit.start({
    bus,
    plan: join(hooks, 'vdi', 'plan'),
    grace: 5,
    hookArgs: ['serve', '--socket-dir', hooks, '--name', HOOK_NAME, '--bus-path', bus],
  });
  try {
    await init.waitForLine('hook-shim', /^unix:\/\//);
    const rig = await startRig({ qemu, name: `bench-sidecar-memory-${qemu}-${mode}`, externalBusSocketPath: bus, videoMode: mode });
    try {
      const vmi = structuredClone(VMI);
      Object.assign(vmi.metadata.annotations, {
        'vdi-sidecar.io/vnc-port': String(vncPort),
        'vdi-sidecar.io/rdp-port': String(rdpPort),
        'vdi-sidecar.io/web': 'on',
        'vdi-sidecar.io/web-port': String(webPort),
      });
      callHook(join(hooks, `${HOOK_NAME}.sock`), '/kubevirt.hooks.v1alpha3.Callbacks/OnDefineDomain', [
        [1, DOMAIN],
        [2, JSON.stringify(vmi)],
      ]);
      await init.waitForLine('qemu-vnc', /attached to VM/, 0, 60_000);
      await init.waitForLine('qemu-rdp', /attached to VM/, 0, 60_000);
      if (mode !== '1024x768') await rig.guest.check('vdi-mode');
      await rig.guest.check('vdi-pattern 1 && cat /dev/fb0 >/tmp/f1 && vdi-pattern 2 && cat /dev/fb0 >/tmp/f2');
      await sleep(10_000); // let start-up garbage be collected
      const idle = snapshot(init);

      const vnc = await BenchRfbClient.connect({ port: vncPort, host: '127.0.0.1' });
      const rdp = await RawRdpClient.connect(rdpPort, '127.0.0.1');
      try {
        await vnc.handshake();
        await rdp.activate({ bpp: 32 });
        const rdpUpdates = rdp.recordUpdates();
        vnc.start([ENCODING_ZRLE]);
        await rig.guest.check(WORKLOADS.redraw.start);
        await sleep(RUN_SECONDS * 1000);
        const loaded = snapshot(init);
        await rig.guest.check('kill $(cat /tmp/loop.pid)');
        vnc.check();
        return {
          qemu,
          size: mode,
          idle,
          clients: {
            ...loaded,
            totalPeakMiB: sum(loaded.processes.map((p) => p.peakMiB)),
            vncUpdates: vnc.updates.length,
            rdpUpdates: rdpUpdates.length,
          },
        };
      } finally {
        vnc.close();
        rdp.destroy();
      }
    } finally {
      await rig.stop();
    }
  } finally {
    init.signal('SIGTERM');
    await init.exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

it('the whole sidecar under vdi-init: resident memory idle and with one VNC and one RDP client', async () => {
  ensureVdiInitBuilt();
  const results: Figures[] = [];
  const out = join(REPO_DIR, 'bench/results');
  mkdirSync(out, { recursive: true });
  for (const qemu of QEMU_VERSIONS) {
    for (const mode of SIZES) {
      const f = await measure(qemu, mode);
      console.log(JSON.stringify(f));
      results.push(f);
      writeFileSync(join(out, 'sidecar-memory.json'), `${JSON.stringify(results, null, 2)}\n`);
    }
  }
});
