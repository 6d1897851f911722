// The sidecar's tiny init (images/sidecar/init/vdi-init) running the real sidecar: its
// dbus-session, hook-shim (called by Python's grpcio as virt-launcher would), and the
// qemu-vnc and qemu-rdp servers it starts from the plan hook-shim writes, with a real QEMU on
// the init's bus. Issue 6, test 3: a killed server comes back and serves the picture; a
// dying dbus-daemon comes back and the servers find the VM again on it; orphans are reaped;
// every line is prefixed; SIGTERM/SIGINT and KubeVirt's Shutdown stop everything, exit 0.
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  SidecarInit,
  callHook,
  descendants,
  ensureVdiInitBuilt,
  freeVncDisplay,
  gvnccapture,
  processAlive,
  processTable,
} from '../src/clients/index.js';
import { expectPictureConverges } from '../src/converge.js';
import { E2E_DIR, QEMU_VERSIONS, artifactsDir, startRig, waitFor, type Rig } from '../src/index.js';
import { qemuInstall, type QemuVersion } from '../src/qemu.js';

const HOOK_NAME = 'hook-sidecar-0';
const DOMAIN = readFileSync(join(E2E_DIR, 'fixtures/hook-shim/domain.xml'), 'utf8');
const VMI = JSON.parse(readFileSync(join(E2E_DIR, 'fixtures/hook-shim/vmi.json'), 'utf8')) as { metadata: { annotations: Record<string, string> } };

/** The fixture VMI with our servers' ports (loopback, web off). */
function vmiJson(vncPort: number, rdpPort: number): string {
  const vmi = structuredClone(VMI);
  vmi.metadata.annotations = {
    ...vmi.metadata.annotations,
    'vdi-sidecar.io/web': 'off',
    'vdi-sidecar.io/vnc-port': String(vncPort),
    'vdi-sidecar.io/rdp-port': String(rdpPort),
  };
  return JSON.stringify(vmi);
}

/** Where the sidecar's files go: inside QEMU's root under QEMU 10, since QEMU must reach the bus. */
async function sidecarDir(qemu: QemuVersion): Promise<string> {
  const install = await qemuInstall(qemu);
  const base = install.root ? join(install.root, 'run', 'vdi') : tmpdir();
  return mkdtempSync(join(base, 'vdi-init-'));
}

interface Layout {
  dir: string;
  hooks: string;
  bus: string;
  plan: string;
  hookSocket: string;
}

function layout(dir: string): Layout {
  const hooks = join(dir, 'hooks');
  return { dir, hooks, bus: join(hooks, 'vdi', 'bus'), plan: join(hooks, 'vdi', 'plan'), hookSocket: join(hooks, `${HOOK_NAME}.sock`) };
}

function startInit(l: Layout, log: string, extra: { pidNamespace?: boolean } = {}): SidecarInit {
  return SidecarInit.start({
    bus: l.bus,
    plan: l.plan,
    grace: 5,
    hookArgs: ['serve', '--socket-dir', l.hooks, '--name', HOOK_NAME, '--bus-path', l.bus],
    log,
    ...extra,
  });
}

/** OnDefineDomain (v1alpha3) as virt-launcher calls it; hook-shim then writes the plan. */
function defineDomain(l: Layout, vncPort: number, rdpPort: number): void {
  const out = callHook(l.hookSocket, '/kubevirt.hooks.v1alpha3.Callbacks/OnDefineDomain', [
    [1, DOMAIN],
    [2, vmiJson(vncPort, rdpPort)],
  ]);
  expect(out.toString('utf8')).toContain('<graphics type="dbus"');
}

/** Replaces the plan as hook-shim does (a rename), so the init never reads half of it. */
function writePlan(l: Layout, text: string): void {
  writeFileSync(`${l.plan}.test`, text);
  renameSync(`${l.plan}.test`, l.plan);
}

/** Zombies anywhere below `pid`. */
function zombiesBelow(pid: number): number[] {
  return descendants(pid)
    .filter((p) => p.state === 'Z')
    .map((p) => p.pid);
}

describe.each(QEMU_VERSIONS)('vdi-init running the sidecar, QEMU %s', (qemu) => {
  let l: Layout;
  let init: SidecarInit;
  let rig: Rig;
  let vncDisplay: number;
  let rdpPort: number;
  let artifacts: string;

  beforeAll(async () => {
    ensureVdiInitBuilt();
    artifacts = artifactsDir(`sidecar-init-${qemu}`);
    writeFileSync(join(artifacts, 'init.log'), '');
    l = layout(await sidecarDir(qemu));
    vncDisplay = await freeVncDisplay();
    rdpPort = 5900 + (await freeVncDisplay());
    init = startInit(l, join(artifacts, 'init.log'));
    // Start-up order: the bus first, hook-shim once the bus answers.
    await init.waitForLine('hook-shim', /^unix:\/\//);
    rig = await startRig({ qemu, name: `sidecar-init-${qemu}`, externalBusSocketPath: l.bus });
    defineDomain(l, 5900 + vncDisplay, rdpPort);
    await init.waitForLine('qemu-vnc', /attached to VM/, 0, 30_000);
    await init.waitForLine('qemu-rdp', /attached to VM/, 0, 30_000);
  });

  afterAll(async () => {
    init?.kill();
    await init?.exited;
    await rig?.stop();
    if (l) rmSync(l.dir, { recursive: true, force: true });
  });

  it('starts dbus-session, then hook-shim, then the servers of the plan hook-shim wrote; the VNC picture is the guest\'s', async () => {
    const starts = init.linesSince().filter((x) => x.name === 'vdi-init' && x.text.startsWith('started ')).map((x) => x.text.split(',')[0]);
    expect(starts).toEqual(['started dbus-session', 'started hook-shim', 'started qemu-vnc', 'started qemu-rdp']);
    const address = `unix:path=${l.bus}`;
    expect(readFileSync(l.plan, 'utf8')).toBe(
      `qemu-vnc\tqemu-vnc\t--dbus-address\t${address}\t--listen\t127.0.0.1:${5900 + vncDisplay}\n` +
        `qemu-rdp\tqemu-rdp\t--dbus-address\t${address}\t--listen\t127.0.0.1:${rdpPort}\n`,
    );
    await rig.guest.check('vdi-pattern 5');
    await expectPictureConverges(() => gvnccapture('127.0.0.1', vncDisplay), () => rig.screendump(), `sidecar-init-${qemu}-first`);
  });

  it('prefixes every line with the name of the child that wrote it, never splitting a line (the log lines are whole JSON)', () => {
    const raw = init.output.slice(0, init.output.lastIndexOf('\n'));
    const names = new Set<string>();
    for (const line of raw.split('\n')) {
      const m = /^\[(vdi-init|dbus-session|hook-shim|qemu-vnc|qemu-rdp)\] (.*)$/.exec(line);
      expect(m, line).not.toBeNull();
      names.add(m![1]);
      // The Node children log JSON lines (their stderr is a pipe): each must arrive whole.
      if (m![2].startsWith('{')) expect(() => JSON.parse(m![2]) as unknown, line).not.toThrow();
    }
    expect([...names].sort()).toEqual(['dbus-session', 'hook-shim', 'qemu-rdp', 'qemu-vnc', 'vdi-init']);
  });

  it('stays small: its own (anonymous) memory is well under 256 KiB', () => {
    const { rssKiB, anonKiB } = init.memory();
    writeFileSync(join(artifacts, 'init-memory.txt'), `VmRSS ${rssKiB} kB, RssAnon ${anonKiB} kB\n`);
    expect(anonKiB).toBeLessThan(256);
    // The rest is the static binary's own pages (file-backed, shared, reclaimable).
    expect(rssKiB).toBeLessThan(2048);
  });

  it('kill -9 of a server: restarted with backoff, serving the guest\'s picture again', async () => {
    for (const name of ['qemu-vnc', 'qemu-rdp']) {
      const old = init.pidOf(name);
      const mark = init.mark();
      process.kill(old, 'SIGKILL');
      await init.waitForLine('vdi-init', new RegExp(`^${name} killed by signal 9 \\(Killed\\) after [\\d.]+ s; restarting in 0\\.25 s$`), mark);
      const pid = await init.waitStarted(name, mark);
      expect(pid).not.toBe(old);
      expect(processAlive(old)).toBe(false);
      await init.waitForLine(name, /attached to VM/, mark, 30_000);
    }
    await rig.guest.check('vdi-pattern 6');
    await expectPictureConverges(() => gvnccapture('127.0.0.1', vncDisplay), () => rig.screendump(), `sidecar-init-${qemu}-after-kill`);
    // A second death soon after: the delay doubles.
    const mark = init.mark();
    process.kill(init.pidOf('qemu-vnc'), 'SIGKILL');
    await init.waitForLine('vdi-init', /^qemu-vnc killed by signal 9 .*; restarting in 0\.50 s$/, mark);
    await init.waitStarted('qemu-vnc', mark);
    await init.waitForLine('qemu-vnc', /attached to VM/, mark, 30_000);
  });

  it('reaps orphans: a plan child whose grandchild outlives its parent leaves no zombie', async () => {
    const servers = readFileSync(l.plan, 'utf8');
    const mark = init.mark();
    // The subshell starts a short sleep and exits at once: the sleep is orphaned to the init.
    writePlan(l, `${servers}orphans\tsh\t-c\t(sleep 1 & echo "grandchild $!"); exec sleep 600\n`);
    const grandchild = Number((await init.waitForLine('orphans', /^grandchild (\d+)$/, mark))[1]);
    await init.waitForLine('vdi-init', new RegExp(`^reaped orphan pid ${grandchild} \\(exited with code 0\\)$`), mark);
    expect(processAlive(grandchild)).toBe(false);
    expect(zombiesBelow(init.pid)).toEqual([]);
    // The servers' lines did not change: they kept running.
    expect(init.linesSince(mark).filter((x) => /^started qemu-/.test(x.text))).toEqual([]);
    // Gone from the plan: stopped, and not restarted.
    const orphans = init.pidOf('orphans');
    const mark2 = init.mark();
    writePlan(l, servers);
    await init.waitForLine('vdi-init', /^orphans stopped \(killed by signal 15 \(Terminated\)\): no longer in the plan$/, mark2);
    expect(processAlive(orphans)).toBe(false);
  });

  it('a dying dbus-daemon: dbus-session restarted, the servers reconnect to the new bus and serve a new QEMU there', async () => {
    const session = init.pidOf('dbus-session');
    const daemon = processTable().find((p) => p.ppid === session && p.comm === 'dbus-daemon');
    expect(daemon, 'dbus-session runs dbus-daemon').toBeDefined();
    const mark = init.mark();
    process.kill(daemon!.pid, 'SIGKILL');
    await init.waitForLine('vdi-init', /^dbus-session exited with code 1 after [\d.]+ s; restarting in 0\.25 s$/, mark);
    await init.waitStarted('dbus-session', mark);
    for (const name of ['qemu-vnc', 'qemu-rdp']) {
      await init.waitForLine(name, /lost the bus/, mark);
      // Back on the new daemon at the same address, waiting for a VM there.
      await init.waitForLine(name, new RegExp(`connected to unix:path=${l.bus}`), mark, 30_000);
    }
    // The servers were not restarted: they reconnected by themselves. (When one was, the
    // message carries its last words and the init's account of its end.)
    const restarted = init.linesSince(mark).filter((x) => /^started qemu-/.test(x.text));
    expect(restarted, restarted.length ? init.linesSince(mark).map((x) => `[${x.name}] ${x.text}`).join('\n') : '').toEqual([]);
    // QEMU does not reconnect to a new bus (its display stays on the dead one), so a new QEMU
    // is started on the restarted bus — as virt-launcher would after the VM's restart.
    const mark2 = init.mark();
    await rig.restartQemu();
    await init.waitForLine('qemu-vnc', /attached to VM/, mark2, 30_000);
    await init.waitForLine('qemu-rdp', /attached to VM/, mark2, 30_000);
    await rig.guest.check('vdi-pattern 7');
    await expectPictureConverges(() => gvnccapture('127.0.0.1', vncDisplay), () => rig.screendump(), `sidecar-init-${qemu}-new-bus`);
    expect(zombiesBelow(init.pid)).toEqual([]);
  });

  it('kill -9 of dbus-session itself: its orphaned dbus-daemon is killed and reaped, not left holding the bus', async () => {
    const session = init.pidOf('dbus-session');
    const daemon = processTable().find((p) => p.ppid === session && p.comm === 'dbus-daemon');
    expect(daemon).toBeDefined();
    const mark = init.mark();
    process.kill(session, 'SIGKILL');
    await init.waitForLine('vdi-init', /^dbus-session killed by signal 9 \(Killed\) after [\d.]+ s; restarting in [\d.]+ s$/, mark);
    await init.waitForLine('vdi-init', new RegExp(`^reaped orphan pid ${daemon!.pid} \\(killed by signal 9 \\(Killed\\)\\)$`), mark);
    expect(processAlive(daemon!.pid)).toBe(false);
    const next = await init.waitStarted('dbus-session', mark);
    await waitFor(() => processTable().some((p) => p.ppid === next && p.comm === 'dbus-daemon'), { message: 'the new dbus-daemon' });
    for (const name of ['qemu-vnc', 'qemu-rdp']) await init.waitForLine(name, new RegExp(`connected to unix:path=${l.bus}`), mark, 30_000);
    expect(zombiesBelow(init.pid)).toEqual([]);
  });

  it("KubeVirt's Shutdown: hook-shim exits 0 and the init stops the servers, then the bus, and exits 0 with no process left", async () => {
    const before = init.tree().map((p) => p.pid);
    expect(before.length).toBeGreaterThanOrEqual(5); // dbus-session, dbus-daemon, hook-shim, qemu-vnc, qemu-rdp
    const mark = init.mark();
    expect(callHook(l.hookSocket, '/kubevirt.hooks.v1alpha3.Callbacks/Shutdown').length).toBe(0);
    const result = await init.exited;
    expect(result.code, init.output.slice(-3000)).toBe(0);
    const stops = init.linesSince(mark).filter((x) => x.name === 'vdi-init').map((x) => x.text);
    expect(stops[0]).toBe('hook-shim exited with code 0 (KubeVirt\'s Shutdown: the VM is done)');
    const order = stops.filter((t) => / stopped \(/.test(t)).map((t) => t.split(' ')[0]);
    expect(order.slice(0, 2).sort()).toEqual(['qemu-rdp', 'qemu-vnc']);
    expect(order[2]).toBe('dbus-session');
    expect(stops.at(-1)).toBe('stopped, exit code 0');
    expect(before.filter(processAlive)).toEqual([]);
  });
});

describe('vdi-init signals and PID 1 (no QEMU)', () => {
  let tmp: string;
  const running: SidecarInit[] = [];

  beforeAll(() => {
    ensureVdiInitBuilt();
    tmp = mkdtempSync(join(tmpdir(), 'vdi-init-sig-'));
  });

  afterAll(async () => {
    for (const init of running) {
      init.kill();
      await init.exited;
    }
    rmSync(tmp, { recursive: true, force: true });
  });

  it('follows plan changes (only a changed server restarts) and passes lines whole: split writes joined, long lines in pieces', async () => {
    const l = layout(mkdtempSync(join(tmp, 'plan-')));
    const init = startInit(l, join(artifactsDir('sidecar-init-plan'), 'init.log'));
    running.push(init);
    await init.waitForLine('hook-shim', /^unix:\/\//);
    const vnc = 5900 + (await freeVncDisplay());
    const rdp = 5900 + (await freeVncDisplay());
    defineDomain(l, vnc, rdp);
    await init.waitForLine('qemu-rdp', new RegExp(`on 127\\.0\\.0\\.1:${rdp}`));
    const vncPid = init.pidOf('qemu-vnc');
    const rdpPid = init.pidOf('qemu-rdp');

    // The VM defined again with another RDP port (as on a restart with new annotations).
    const rdp2 = 5900 + (await freeVncDisplay());
    let mark = init.mark();
    defineDomain(l, vnc, rdp2);
    await init.waitForLine('vdi-init', /^qemu-rdp has new arguments in the plan: restarting it$/, mark);
    await init.waitForLine('vdi-init', /^qemu-rdp stopped \(exited with code 0\): starting it with its new arguments$/, mark);
    await init.waitForLine('qemu-rdp', new RegExp(`on 127\\.0\\.0\\.1:${rdp2}`), mark);
    expect(processAlive(rdpPid)).toBe(false);
    expect(init.pidOf('qemu-vnc')).toBe(vncPid);
    expect(processAlive(vncPid)).toBe(true);

    // A writer that splits its lines and mixes both streams, and one line of 20000 characters.
    mark = init.mark();
    const servers = readFileSync(l.plan, 'utf8');
    const script = [
      "printf 'first half, '; sleep 0.3; printf 'second half\\n'",
      "printf 'to stderr\\n' >&2",
      "head -c 20000 /dev/zero | tr '\\0' x; echo",
      "printf 'no newline at the end'",
    ].join('; ');
    writePlan(l, `${servers}talker\tsh\t-c\t${script}\n`);
    // Its last line is completed when its pipe closes.
    await init.waitForLine('talker', /^no newline at the end$/, mark);
    const talk = init.linesSince(mark).filter((x) => x.name === 'talker').map((x) => x.text);
    expect(talk.slice(0, 2).sort()).toEqual(['first half, second half', 'to stderr']);
    expect(talk.slice(2, 5).map((t) => t.length)).toEqual([8192, 8192, 20000 - 2 * 8192]);
    expect(talk.slice(2, 5).every((t) => /^x+$/.test(t))).toBe(true);
    expect(talk[5]).toBe('no newline at the end');
    writePlan(l, servers);

    init.signal('SIGTERM');
    expect((await init.exited).code).toBe(0);
  });

  const cases: Array<{ signal: NodeJS.Signals; pidNamespace: boolean }> = [
    { signal: 'SIGTERM', pidNamespace: false },
    { signal: 'SIGINT', pidNamespace: false },
    { signal: 'SIGTERM', pidNamespace: true },
  ];
  it.each(cases)('$signal (PID namespace: $pidNamespace): stops servers, hook-shim, then the bus; exit 0; no process left', async ({ signal, pidNamespace }) => {
    const l = layout(mkdtempSync(join(tmp, `${signal}-`)));
    const artifacts = artifactsDir(`sidecar-init-${signal}-${pidNamespace ? 'pid1' : 'subreaper'}`);
    const init = startInit(l, join(artifacts, 'init.log'), { pidNamespace });
    running.push(init);
    await init.waitForLine('hook-shim', /^unix:\/\//);
    const vnc = 5900 + (await freeVncDisplay());
    const rdp = 5900 + (await freeVncDisplay());
    defineDomain(l, vnc, rdp);
    // No VM: the servers serve their placeholder, waiting on the bus.
    await init.waitForLine('qemu-vnc', /RFB on 127\.0\.0\.1:\d+/);
    await init.waitForLine('qemu-rdp', /connected to unix:path=/);
    // An orphan in a session of its own (out of reach of its parent's process group) that
    // ignores SIGTERM: the init's final sweep must still end it (SIGKILL after the grace).
    const servers = readFileSync(l.plan, 'utf8');
    // It speaks only once in its own session, so the stop cannot come before setsid.
    writePlan(l, `${servers}stubborn\tsh\t-c\t(trap "" TERM; setsid sh -c 'echo "grandchild $$"; exec sleep 600' &); exec sleep 600\n`);
    const grandchild = Number((await init.waitForLine('stubborn', /^grandchild (\d+)$/))[1]);
    const tree = await waitFor(
      () => {
        const t = init.tree();
        return t.length >= 7 ? t : undefined;
      },
      { message: 'the whole tree', timeoutMs: 10_000 },
    );
    // In a PID namespace the shell printed the namespace's pid.
    if (!pidNamespace) expect(tree.map((p) => p.pid)).toContain(grandchild);
    if (pidNamespace) expect(readFileSync(`/proc/${init.pid}/status`, 'utf8')).toMatch(/^NSpid:\s+\d+\s+1$/m);

    const mark = init.mark();
    init.signal(signal);
    const result = await init.exited;
    expect(result.code, init.output.slice(-3000)).toBe(0);
    const lines = init.linesSince(mark).filter((x) => x.name === 'vdi-init').map((x) => x.text);
    expect(lines[0]).toMatch(/^stopping everything \((Terminated|Interrupt)\)$/);
    const order = lines.filter((t) => / stopped \(/.test(t)).map((t) => t.split(' ')[0]);
    expect(order.slice(0, 3).sort()).toEqual(['qemu-rdp', 'qemu-vnc', 'stubborn']);
    expect(order.slice(3)).toEqual(['hook-shim', 'dbus-session']);
    expect(lines.at(-1)).toBe('stopped, exit code 0');
    // The orphan that ignored SIGTERM went at the end of the grace.
    expect(lines).toContain('1 adopted process still running: SIGTERM');
    expect(lines).toContain('1 adopted process still running after 5.0 s: SIGKILL');
    expect(lines.some((t) => /^reaped orphan pid \d+ \(killed by signal 9 \(Killed\)\)$/.test(t))).toBe(true);
    // Every child exited on SIGTERM by itself (code 0), the plan child by the signal.
    expect(lines).toContain('hook-shim stopped (exited with code 0)');
    expect(lines).toContain('dbus-session stopped (exited with code 0)');
    expect(tree.map((p) => p.pid).filter(processAlive)).toEqual([]);
  });
});
