// Issue 6, test 2 — real libvirt: the hook's output for the test guest's KubeVirt-shaped
// domain is defined and started by a real libvirtd; QEMU joins the sidecar's bus; qemu-vnc and
// qemu-rdp serve its screen (a real client's picture equals QMP screendump), and KubeVirt's own
// VNC socket (what `virtctl vnc` uses) still serves.
//
// Only QEMU 7.2: Debian 12's libvirt 9.0 drives Debian 12's QEMU; QEMU 10 lives in a Debian 13
// root that this libvirtd does not run.
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDbusSession, type DbusSession } from '@vdi-sidecar/dbus-session';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  XFreeRdp,
  Xvfb,
  check,
  ensurePackagesBuilt,
  freeVncDisplay,
  gvnccapture,
  run,
  startQemuRdp,
  startQemuVnc,
  type QemuRdp,
  type QemuVnc,
} from '../src/clients/index.js';
import { expectPictureConverges } from '../src/converge.js';
import { QEMU_VERSIONS, QmpClient, artifactsDir, ensureGuest, patternColor, pixelAt, waitFor, type Guest } from '../src/index.js';
import { processArgs, processUid, startGuestDomain, startLibvirt, type GuestDomain, type Libvirt } from '../src/libvirt.js';
import { E2E_DIR, REPO_DIR } from '../src/paths.js';
import { liveDirs, livePids } from '../src/survivors.js';

const FIXTURES = join(E2E_DIR, 'fixtures', 'sidecar-libvirt');
const HOOK_CLI = join(REPO_DIR, 'packages', 'hook-shim', 'dist', 'cli.js');
const VM = 'desktop';

/** Fills `{{KEY}}` placeholders. */
function fill(template: string, values: Record<string, string | number>): string {
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (whole, key: string) => {
    if (!(key in values)) throw new Error(`no value for ${whole}`);
    return String(values[key]);
  });
}

/** A TCP port nothing listens on now (loopback). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function busNames(address: string): Promise<string[]> {
  const { stdout } = await run('dbus-send', [`--bus=${address}`, '--print-reply', '--dest=org.freedesktop.DBus', '/org/freedesktop/DBus', 'org.freedesktop.DBus.ListNames']);
  return [...stdout.matchAll(/string "([^"]+)"/g)].map((m) => m[1]);
}

/**
 * `virtctl vnc` in miniature: a local TCP port whose connections are piped to KubeVirt's VNC
 * unix socket (virtctl reaches it through virt-handler; the bytes are the same).
 */
async function unixSocketProxy(port: number, socketPath: string): Promise<Server & { sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = createConnection(socketPath);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve());
  });
  return Object.assign(server, { sockets });
}

/** What the sidecar container runs beside the hook: the private bus and the servers on it. */
interface Sidecar {
  busSocketPath: string;
  busAddress: string;
  vnc: QemuVnc;
  rdp: QemuRdp;
  stop(): Promise<void>;
}

interface SidecarOptions {
  /** The bus socket, as both containers see it (one shared directory here). */
  busSocketPath: string;
  /** Uids that must reach the bus besides the sidecar's own: QEMU's under libvirt. */
  allowUids: readonly number[];
  vncListen: string;
  rdpListen: string;
  artifacts: string;
}

/**
 * The one place that starts the sidecar's processes: dbus-session, then qemu-vnc and qemu-rdp
 * on its bus (they wait for the VM to join, showing a placeholder until then), as the tiny init
 * of issue 6 will. Started directly for now — swap this function's body for starting the tiny
 * init once it exists. The hook itself runs through its CLI (see runHook).
 */
async function startSidecar(options: SidecarOptions): Promise<Sidecar> {
  const started: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    const errors: string[] = [];
    for (const stop of started.reverse()) await stop().catch((e: unknown) => errors.push(String(e)));
    if (errors.length > 0) throw new Error(`sidecar stop: ${errors.join('; ')}`);
  };
  try {
    const bus: DbusSession = await startDbusSession({
      socketPath: options.busSocketPath,
      allowUids: options.allowUids,
      onStderr: (text) => writeFileSync(join(options.artifacts, 'dbus.log'), text, { flag: 'a' }),
    });
    livePids.add(bus.pid);
    started.push(async () => {
      await bus.stop();
      livePids.delete(bus.pid);
    });
    const busAddress = `unix:path=${options.busSocketPath}`;
    const vnc = await startQemuVnc({ busAddress, listen: options.vncListen, env: { QEMU_VNC_VERBOSE: '1' }, log: join(options.artifacts, 'qemu-vnc.log') });
    started.push(async () => expect((await vnc.stop()).code).toBe(0));
    const rdp = await startQemuRdp({ busAddress, listen: options.rdpListen, env: { QEMU_RDP_VERBOSE: '1' }, log: join(options.artifacts, 'qemu-rdp.log') });
    started.push(async () => expect((await rdp.stop()).code).toBe(0));
    return { busSocketPath: options.busSocketPath, busAddress, vnc, rdp, stop: stopAll };
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }
}

/** The hook as KubeVirt's stock sidecar-shim runs it: `onDefineDomain --vmi JSON --domain XML`; prints the new domain. */
async function runHook(domainXml: string, vmiJson: string, busPath: string): Promise<string> {
  const { stdout } = await check(process.execPath, [HOOK_CLI, 'onDefineDomain', '--vmi', vmiJson, '--domain', domainXml, '--bus-path', busPath]);
  return stdout;
}

describe.skipIf(!QEMU_VERSIONS.includes('7.2'))('the sidecar with real libvirt (libvirt 9.0 driving QEMU 7.2 — Debian 12 only)', () => {
  const uuid = randomUUID();
  const artifacts = artifactsDir('sidecar-libvirt-7.2');
  let runDir: string;
  let libvirt: Libvirt | undefined;
  let sidecar: Sidecar | undefined;
  let domain: GuestDomain | undefined;
  let x: Xvfb | undefined;
  let proxy: (Server & { sockets: Set<Socket> }) | undefined;
  let vncDisplay: number;
  let kubevirtVncDisplay: number;
  let rdpPort: number;
  let domainXml: string;
  let hookedXml: string;
  let guest: Guest;
  const clientsLog = () => join(artifacts, 'clients.log');
  const screendump = () => {
    if (!libvirt || !domain) throw new Error('no domain');
    return libvirt.screendump(domain.name, runDir);
  };

  beforeAll(async () => {
    ensurePackagesBuilt(['display-core', 'qemu-vnc', 'qemu-rdp', 'hook-shim']);
    for (const file of ['console.log', 'dbus.log', 'qemu-vnc.log', 'qemu-rdp.log', 'clients.log']) writeFileSync(join(artifacts, file), '');
    const guestDir = await ensureGuest();
    // The pod's shared directories in one: guest kernel, serial ports, KubeVirt's VNC socket, the bus.
    runDir = await mkdtemp(join(tmpdir(), 'vdi-libvirt-run-'));
    liveDirs.add(runDir);
    for (const file of ['vmlinuz', 'initrd.gz']) await copyFile(join(guestDir, file), join(runDir, file));
    vncDisplay = await freeVncDisplay();
    kubevirtVncDisplay = await freeVncDisplay();
    rdpPort = await freePort();
    domainXml = fill(readFileSync(join(FIXTURES, 'domain.xml'), 'utf8'), { VM, UUID: uuid, RUN: runDir });
    libvirt = await startLibvirt({ artifactsDir: artifacts });
    sidecar = await startSidecar({
      busSocketPath: join(runDir, 'bus'),
      // QEMU runs as root under this libvirtd, the daemon's own uid (always admitted); in
      // KubeVirt it is 107, which the sidecar's bus lists by default.
      allowUids: libvirt.qemuUid === process.getuid?.() ? [] : [libvirt.qemuUid],
      vncListen: `127.0.0.1:${5900 + vncDisplay}`,
      rdpListen: `127.0.0.1:${rdpPort}`,
      artifacts,
    });
  });

  afterAll(async () => {
    const errors: string[] = [];
    const attempt = async (what: string, fn: () => Promise<unknown> | undefined) => {
      try {
        await fn();
      } catch (e) {
        errors.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
      }
    };
    await attempt('closing the proxy', async () => {
      for (const s of proxy?.sockets ?? []) s.destroy();
      await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
    });
    await attempt('stopping Xvfb', () => x?.stop());
    domain?.guest.close();
    const qemuPid = domain?.qemuPid;
    await attempt('stopping libvirt', () => libvirt?.stop());
    await attempt('stopping the sidecar', () => sidecar?.stop());
    await attempt('removing the run directory', () => rm(runDir, { recursive: true, force: true }));
    liveDirs.delete(runDir);
    // Nothing left behind: no QEMU, no daemon.
    const survivors = [qemuPid, libvirt?.pid, libvirt?.virtlogdPid].filter((pid): pid is number => {
      if (pid === undefined || pid < 0) return false;
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    if (survivors.length > 0) errors.push(`still running: ${survivors.join(', ')}`);
    if (errors.length > 0) throw new Error(errors.join('\n'));
  });

  it('the hook turns the D-Bus display on for the sidecar’s bus and leaves the rest of the domain alone', async () => {
    const vmi = fill(readFileSync(join(FIXTURES, 'vmi.json'), 'utf8'), { VM, UUID: uuid, VNC_PORT: 5900 + vncDisplay, RDP_PORT: rdpPort });
    hookedXml = await runHook(domainXml, vmi, join(runDir, 'bus'));
    writeFileSync(join(artifacts, 'domain-hooked.xml'), hookedXml);
    expect(hookedXml).toMatch(new RegExp(`<graphics type="dbus" address="unix:path=${join(runDir, 'bus')}">\\s*<gl enable="no"/>\\s*<audio id="1"/>`));
    expect(hookedXml).toContain('<audio id="1" type="dbus"/>');
    // KubeVirt's own VNC and our QMP socket in <qemu:commandline>: untouched, byte for byte.
    const kept = (xml: string, re: RegExp) => re.exec(xml)?.[0];
    const vncRe = /<graphics type="vnc">[\s\S]*?<\/graphics>/;
    const qemuNsRe = /<qemu:commandline>[\s\S]*?<\/qemu:commandline>/;
    expect(kept(hookedXml, vncRe)).toBe(kept(domainXml, vncRe));
    expect(kept(hookedXml, qemuNsRe)).toBe(kept(domainXml, qemuNsRe));
    expect(hookedXml).toContain('xmlns:qemu="http://libvirt.org/schemas/domain/qemu/1.0"');
  });

  it('libvirtd defines and starts the hook’s domain; QEMU joins the sidecar’s bus as org.qemu', async () => {
    if (!libvirt || !sidecar) throw new Error('not set up');
    expect(hookedXml, 'the hook test ran first').toBeTruthy();
    domain = await startGuestDomain(libvirt, hookedXml, {
      consoleSocket: join(runDir, 'virt-serial0'),
      channelSocket: join(runDir, 'virt-serial1'),
      consoleLog: join(artifacts, 'console.log'),
    });
    guest = domain.guest;
    // What libvirt made of the domain: QEMU's own command line.
    const args = processArgs(domain.qemuPid);
    writeFileSync(join(artifacts, 'qemu-args.txt'), args.join('\n'));
    expect(args[args.indexOf('-display') + 1]).toMatch(new RegExp(`^dbus,addr=unix:path=${join(runDir, 'bus')},gl=off,audiodev=audio1`));
    expect(args).toContain(`unix:${join(runDir, 'qmp')},server=on,wait=off`);
    expect(args.join(' ')).toContain(`vnc=unix:${join(runDir, 'virt-vnc')}`);
    expect(args).toContain('tcg');
    // The rest of the hook's rewrite reached QEMU: D-Bus audio, the USB tablet, the clipboard agent.
    expect(args).toContain('{"id":"audio1","driver":"dbus"}');
    expect(args.join(' ')).toMatch(/"driver":"usb-tablet"/);
    expect(args.join(' ')).toMatch(/-chardev qemu-vdagent,[^ ]*clipboard=on/);
    expect(processUid(domain.qemuPid)).toBe(libvirt.qemuUid);
    // libvirt kept our namespace too (it would refuse unknown elements otherwise).
    const live = await libvirt.checkVirsh(['dumpxml', domain.name]);
    expect(live).toContain(`<qemu:arg value='unix:${join(runDir, 'qmp')},server=on,wait=off'/>`);
    expect(live).toMatch(/<graphics type='dbus' address='unix:path=[^']+\/bus'>/);

    await waitFor(async () => (await busNames(sidecar!.busAddress)).includes('org.qemu'), { timeoutMs: 20_000, message: 'org.qemu on the sidecar’s bus' });
    const { stdout } = await check('dbus-send', [
      `--bus=${sidecar.busAddress}`,
      '--print-reply',
      '--dest=org.qemu',
      '/org/qemu/Display1/VM',
      'org.freedesktop.DBus.Properties.Get',
      'string:org.qemu.Display1.VM',
      'string:Name',
    ]);
    expect(stdout).toContain(`"${domain.name}"`);
    expect(await guest.run('echo booted under libvirt')).toEqual({ output: 'booted under libvirt\n', code: 0 });
  });

  it('the QMP socket given in <qemu:commandline> answers (the hook kept that namespace working)', async () => {
    if (!domain) throw new Error('no domain');
    const qmp = await QmpClient.connect(join(runDir, 'qmp'), { timeoutMs: 10_000 });
    try {
      expect(await qmp.execute('query-name')).toEqual({ name: domain.name });
      expect(await qmp.execute('query-status')).toMatchObject({ status: 'running', running: true });
      expect(await qmp.execute('query-uuid')).toEqual({ UUID: uuid });
    } finally {
      qmp.close();
    }
  });

  it('qemu-vnc serves the guest’s screen: gvnccapture’s picture equals QMP screendump', async () => {
    expect(await guest.check('vdi-pattern 3')).toContain('PATTERN 3 1024x768');
    const dump = await screendump();
    expect(pixelAt(dump, 100, 50)).toEqual(patternColor(3, 100, 50));
    await expectPictureConverges(() => gvnccapture('127.0.0.1', vncDisplay), screendump, 'libvirt-qemu-vnc-gvnccapture', { timeoutMs: 20_000 });
    expect(sidecar?.vnc.alive).toBe(true);
  });

  it('qemu-rdp serves the guest’s screen: xfreerdp’s picture equals QMP screendump', async () => {
    await guest.check('vdi-pattern 4');
    x ??= await Xvfb.start({ log: clientsLog() });
    const client = XFreeRdp.start(x, { server: `127.0.0.1:${rdpPort}`, username: 'user', password: 'any', args: ['/bpp:32'], log: clientsLog() });
    try {
      const win = await client.waitForWindow();
      expect({ width: win.width, height: win.height }).toEqual({ width: 1024, height: 768 });
      await expectPictureConverges(() => client.picture(), screendump, 'libvirt-qemu-rdp-xfreerdp', { timeoutMs: 20_000 });
      await guest.check('vdi-text libvirt: the quick brown fox jumps over the lazy dog');
      await expectPictureConverges(() => client.picture(), screendump, 'libvirt-qemu-rdp-xfreerdp-text', { timeoutMs: 20_000 });
      expect(client.proc.exitResult, client.output).toBeUndefined();
    } finally {
      await client.stop();
    }
    expect(sidecar?.rdp.alive).toBe(true);
  });

  it('KubeVirt’s own VNC (the <graphics type="vnc"> socket virtctl vnc uses) still serves the same screen', async () => {
    expect(existsSync(join(runDir, 'virt-vnc'))).toBe(true);
    await guest.check('vdi-pattern 5');
    proxy = await unixSocketProxy(5900 + kubevirtVncDisplay, join(runDir, 'virt-vnc'));
    await expectPictureConverges(() => gvnccapture('127.0.0.1', kubevirtVncDisplay), screendump, 'libvirt-kubevirt-vnc-gvnccapture', { timeoutMs: 20_000 });
  });
});
