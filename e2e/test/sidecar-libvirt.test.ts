// Issue 6, tests 2 and 5 — real libvirt: the sidecar runs as in the pod, its tiny init
// (vdi-init) starting dbus-session and hook-shim; the test guest's KubeVirt-shaped domain goes
// through the hook's OnDefineDomain on its gRPC socket (called by Python's grpcio, as
// virt-launcher would), a real libvirtd defines and starts the returned XML, QEMU joins the
// sidecar's bus, and qemu-vnc and qemu-rdp — started by the init from the plan the hook wrote —
// serve its screen (a real client's picture equals QMP screendump); KubeVirt's own VNC socket
// (what `virtctl vnc` uses) still serves; KubeVirt's Shutdown ends the sidecar with exit code 0
// and nothing left. Twice: with the processes from the workspace, and from the sidecar image
// built with buildah (images/build-sidecar.sh; skipped when an image of the same sources
// exists) run in a buildah working container (`buildah run --isolation chroot`, host network,
// the hooks directory mounted where KubeVirt mounts it).
//
// Only QEMU 7.2: Debian 12's libvirt 9.0 drives Debian 12's QEMU; QEMU 10 lives in a Debian 13
// root that this libvirtd does not run.
import { randomUUID } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { XFreeRdp, Xvfb, check, freeVncDisplay, gvnccapture, run } from '../src/clients/index.js';
import {
  SidecarInit,
  callHook,
  descendants,
  ensureVdiInitBuilt,
  hookDefineDomain,
  processAlive,
} from '../src/clients/sidecar-init.js';
import { expectPictureConverges } from '../src/converge.js';
import { QEMU_VERSIONS, QmpClient, artifactsDir, ensureGuest, patternColor, pixelAt, waitFor, type Guest } from '../src/index.js';
import { processArgs, processUid, startGuestDomain, startLibvirt, type GuestDomain, type Libvirt } from '../src/libvirt.js';
import { E2E_DIR } from '../src/paths.js';
import { IMAGE_HOOKS_DIR, ImageSidecar, ensureSidecarImage, sidecarImageMissing, type SidecarImage } from '../src/sidecar-image.js';
import { liveDirs } from '../src/survivors.js';

const FIXTURES = join(E2E_DIR, 'fixtures', 'sidecar-libvirt');
const VM = 'desktop';
/** CONTAINER_NAME of sidecar 0 in KubeVirt: the hook socket is `<hooks>/hook-sidecar-0.sock`. */
const HOOK_NAME = 'hook-sidecar-0';
/** QEMU's uid in KubeVirt, the image's USER: the hooks directory must be writable for it. */
const IMAGE_UID = 107;

const WORKSPACE = 'processes from the workspace';
const IMAGE = 'the built image';
type Variant = typeof WORKSPACE | typeof IMAGE;

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

/** The pod's hooks directory as KubeVirt lays it out, in the paths compute (here: the host, libvirtd) sees. */
interface HooksLayout {
  dir: string;
  /** The hook's gRPC socket virt-launcher dials. */
  hookSocket: string;
  /** The sidecar's bus, in a subdirectory (virt-launcher dials every plain file in `dir`). */
  bus: string;
  /** The server plan hook-shim writes and the init follows. */
  plan: string;
}

function hooksLayout(dir: string): HooksLayout {
  return { dir, hookSocket: join(dir, `${HOOK_NAME}.sock`), bus: join(dir, 'vdi', 'bus'), plan: join(dir, 'vdi', 'plan') };
}

/** The sidecar container: vdi-init and what it runs (dbus-session, hook-shim, then the plan's servers). */
interface Sidecar {
  readonly init: SidecarInit;
  readonly hooks: HooksLayout;
  /** The bus as the host (QEMU, this test) reaches it. */
  readonly busAddress: string;
  /** The bus as the sidecar's own processes reach it (what the plan names). */
  readonly innerBusAddress: string;
  /** Every process of the sidecar, the init included (and buildah's, for the image). */
  processes(): number[];
  /**
   * Stops whatever still runs (SIGTERM to the init, SIGKILL to the tree after a grace period)
   * and removes what the sidecar left (the working container). A no-op stop after Shutdown
   * apart from that removal.
   */
  stop(): Promise<void>;
  /** What is left after stop(): e.g. a working container still listed. */
  leftovers(): Promise<string[]>;
}

interface SidecarOptions {
  hooks: HooksLayout;
  /** Uids that must reach the bus besides the sidecar's own: QEMU's under libvirt. */
  allowUids: readonly number[];
  /** The init's output, every child's lines prefixed with its name. */
  log: string;
  /** The built image (variant IMAGE only). */
  image?: SidecarImage;
}

/** SIGTERM to a workspace init, SIGKILL to its tree if it has not ended after `graceMs`. */
async function stopInit(init: SidecarInit, graceMs = 15_000): Promise<void> {
  if (init.proc.exitResult) return;
  init.signal('SIGTERM');
  const ended = await Promise.race([init.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), graceMs).unref())]);
  if (!ended) {
    init.kill();
    await init.exited;
    throw new Error(`vdi-init did not stop within ${graceMs} ms of SIGTERM`);
  }
}

/**
 * The one place that starts the sidecar: vdi-init with the hooks directory laid out as in
 * KubeVirt (hook socket `DIR/<name>.sock`, bus `DIR/vdi/bus`, plan `DIR/vdi/plan`), from the
 * workspace or from the built image. Resolves once hook-shim serves.
 */
async function startSidecar(variant: Variant, options: SidecarOptions): Promise<Sidecar> {
  const { hooks } = options;
  mkdirSync(hooks.dir, { recursive: true });
  const allowUids = options.allowUids.map(String);
  let sidecar: Sidecar;
  let serving = () => {};
  if (variant === WORKSPACE) {
    ensureVdiInitBuilt();
    const init = SidecarInit.start({
      bus: hooks.bus,
      plan: hooks.plan,
      allowUids,
      grace: 5,
      hookArgs: ['serve', '--socket-dir', hooks.dir, '--name', HOOK_NAME, '--bus-path', hooks.bus],
      log: options.log,
    });
    sidecar = {
      init,
      hooks,
      busAddress: `unix:path=${hooks.bus}`,
      innerBusAddress: `unix:path=${hooks.bus}`,
      processes: () => [init.proc.pid, ...descendants(init.proc.pid).map((p) => p.pid)],
      stop: () => stopInit(init),
      leftovers: () => Promise.resolve([]),
    };
  } else {
    if (!options.image) throw new Error('no image');
    // The image runs as uid 107: it creates the bus, the plan and the hook socket there.
    chownSync(hooks.dir, IMAGE_UID, IMAGE_UID);
    const container = await ImageSidecar.start({
      image: options.image.tag,
      hooksDir: hooks.dir,
      containerName: HOOK_NAME,
      // The bus as compute sees it (its path in the domain); inside, the init's --bus.
      hookArgs: ['serve', '--bus-path', hooks.bus],
      allowUids,
      grace: 5,
      log: options.log,
    });
    sidecar = {
      init: container.init,
      hooks,
      busAddress: `unix:path=${hooks.bus}`,
      innerBusAddress: `unix:path=${IMAGE_HOOKS_DIR}/vdi/bus`,
      processes: () => [container.init.proc.pid, ...descendants(container.init.proc.pid).map((p) => p.pid)],
      stop: async () => {
        const { code, signal } = await container.stop();
        if (code !== 0) throw new Error(`buildah run exited with code ${code}, signal ${signal}`);
      },
      leftovers: async () => ((await container.listed()) ? [`working container ${container.container}`] : []),
    };
    // The init's host pid, killed at exit should the test process die (SIGKILL to buildah would orphan the init's children).
    serving = () => void container.track();
  }
  try {
    await sidecar.init.waitForLine('hook-shim', /^unix:\/\//, 0, 60_000);
    serving();
  } catch (err) {
    await sidecar.stop().catch(() => undefined);
    throw err;
  }
  return sidecar;
}

describe.skipIf(!QEMU_VERSIONS.includes('7.2')).each([WORKSPACE, IMAGE] as Variant[])('the sidecar with real libvirt (libvirt 9.0 driving QEMU 7.2 — Debian 12 only), %s', (variant) => {
  const imageMissing = variant === IMAGE ? sidecarImageMissing() : undefined;
  const step = imageMissing ? it.skip : it;
  const uuid = randomUUID();
  const artifacts = artifactsDir(`sidecar-libvirt-7.2-${variant === WORKSPACE ? 'workspace' : 'image'}`);
  let started = Date.now();
  let runDir: string;
  let hooks: HooksLayout;
  let image: SidecarImage | undefined;
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
  const timings: string[] = [];
  const screendump = () => {
    if (!libvirt || !domain) throw new Error('no domain');
    return libvirt.screendump(domain.name, runDir);
  };

  beforeAll(async () => {
    started = Date.now();
    for (const file of ['console.log', 'init.log', 'clients.log']) writeFileSync(join(artifacts, file), '');
    if (variant === IMAGE) {
      writeFileSync(join(artifacts, 'image-build.log'), '');
      image = await ensureSidecarImage({ log: join(artifacts, 'image-build.log') });
      timings.push(`image ${image.tag} (${image.size}): ${image.buildMs === undefined ? 'already built' : `built in ${(image.buildMs / 1000).toFixed(1)} s`}`);
    }
    const guestDir = await ensureGuest();
    // The pod's shared directories in one: guest kernel, serial ports, KubeVirt's VNC socket,
    // and the sidecar's hooks directory.
    runDir = await mkdtemp(join(tmpdir(), 'vdi-libvirt-run-'));
    liveDirs.add(runDir);
    hooks = hooksLayout(join(runDir, 'hooks'));
    for (const file of ['vmlinuz', 'initrd.gz']) await copyFile(join(guestDir, file), join(runDir, file));
    vncDisplay = await freeVncDisplay();
    rdpPort = await freePort();
    domainXml = fill(readFileSync(join(FIXTURES, 'domain.xml'), 'utf8'), { VM, UUID: uuid, RUN: runDir });
    libvirt = await startLibvirt({ artifactsDir: artifacts });
    const sidecarStart = Date.now();
    sidecar = await startSidecar(variant, {
      hooks,
      // QEMU runs as root under this libvirtd (in KubeVirt it is 107, the image's own uid).
      allowUids: [libvirt.qemuUid],
      log: join(artifacts, 'init.log'),
      image,
    });
    timings.push(`sidecar serving its hook after ${((Date.now() - sidecarStart) / 1000).toFixed(1)} s`);
  }, 60 * 60_000);

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
    const sidecarPids = sidecar?.processes() ?? [];
    await attempt('stopping libvirt', () => libvirt?.stop());
    await attempt('stopping the sidecar', () => sidecar?.stop());
    await attempt('checking what the sidecar left', async () => {
      const left = (await sidecar?.leftovers()) ?? [];
      if (left.length > 0) throw new Error(`left: ${left.join(', ')}`);
    });
    if (runDir) await attempt('removing the run directory', () => rm(runDir, { recursive: true, force: true }));
    liveDirs.delete(runDir);
    // Nothing left behind: no QEMU, no daemon, no process of the sidecar.
    const survivors = [qemuPid, libvirt?.pid, libvirt?.virtlogdPid, ...sidecarPids].filter((pid): pid is number => pid !== undefined && pid > 0 && processAlive(pid));
    if (survivors.length > 0) errors.push(`still running: ${survivors.join(', ')}`);
    timings.push(`whole run ${((Date.now() - started) / 1000).toFixed(1)} s`);
    writeFileSync(join(artifacts, 'timings.txt'), `${timings.join('\n')}\n`);
    if (errors.length > 0) throw new Error(errors.join('\n'));
  }, 120_000);

  step('the hook (OnDefineDomain on its gRPC socket) turns the D-Bus display on for the sidecar’s bus, leaves the rest alone, and plans the servers', async () => {
    if (!sidecar) throw new Error('not set up');
    const vmi = fill(readFileSync(join(FIXTURES, 'vmi.json'), 'utf8'), { VM, UUID: uuid, VNC_PORT: 5900 + vncDisplay, RDP_PORT: rdpPort });
    hookedXml = hookDefineDomain(hooks.hookSocket, domainXml, vmi);
    writeFileSync(join(artifacts, 'domain-hooked.xml'), hookedXml);
    expect(hookedXml).toMatch(new RegExp(`<graphics type="dbus" address="unix:path=${hooks.bus}">\\s*<gl enable="no"/>\\s*<audio id="1"/>`));
    expect(hookedXml).toContain('<audio id="1" type="dbus"/>');
    // KubeVirt's own VNC and our QMP socket in <qemu:commandline>: untouched, byte for byte.
    const kept = (xml: string, re: RegExp) => re.exec(xml)?.[0];
    const vncRe = /<graphics type="vnc">[\s\S]*?<\/graphics>/;
    const qemuNsRe = /<qemu:commandline>[\s\S]*?<\/qemu:commandline>/;
    expect(kept(hookedXml, vncRe)).toBe(kept(domainXml, vncRe));
    expect(kept(hookedXml, qemuNsRe)).toBe(kept(domainXml, qemuNsRe));
    expect(hookedXml).toContain('xmlns:qemu="http://libvirt.org/schemas/domain/qemu/1.0"');
    // The plan, from the VMI's annotations, with the bus as the sidecar sees it (written just
    // after the reply); the init starts its servers.
    await sidecar.init.waitStarted('qemu-vnc');
    await sidecar.init.waitStarted('qemu-rdp');
    expect(readFileSync(hooks.plan, 'utf8')).toBe(
      `qemu-vnc\tqemu-vnc\t--dbus-address\t${sidecar.innerBusAddress}\t--listen\t127.0.0.1:${5900 + vncDisplay}\n` +
        `qemu-rdp\tqemu-rdp\t--dbus-address\t${sidecar.innerBusAddress}\t--listen\t127.0.0.1:${rdpPort}\n`,
    );
    const starts = sidecar.init.linesSince().filter((l) => l.name === 'vdi-init' && l.text.startsWith('started ')).map((l) => l.text.split(',')[0]);
    expect(starts).toEqual(['started dbus-session', 'started hook-shim', 'started qemu-vnc', 'started qemu-rdp']);
  });

  step('libvirtd defines and starts the hook’s domain; QEMU joins the sidecar’s bus as org.qemu', async () => {
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
    expect(args[args.indexOf('-display') + 1]).toMatch(new RegExp(`^dbus,addr=unix:path=${hooks.bus},gl=off,audiodev=audio1`));
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
    expect(live).toMatch(/<graphics type='dbus' address='unix:path=[^']+\/vdi\/bus'>/);

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
    // The init's servers find the VM on the bus.
    await sidecar.init.waitForLine('qemu-vnc', /attached to VM/, 0, 30_000);
    await sidecar.init.waitForLine('qemu-rdp', /attached to VM/, 0, 30_000);
  });

  step('the QMP socket given in <qemu:commandline> answers (the hook kept that namespace working)', async () => {
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

  /** The server runs, started once by the init (never restarted). */
  const expectServing = (name: string) => {
    if (!sidecar) throw new Error('not set up');
    expect(processAlive(sidecar.init.pidOf(name))).toBe(true);
    expect(sidecar.init.linesSince().filter((l) => l.name === 'vdi-init' && l.text.startsWith(`started ${name},`))).toHaveLength(1);
  };

  step('qemu-vnc serves the guest’s screen: gvnccapture’s picture equals QMP screendump', async () => {
    expect(await guest.check('vdi-pattern 3')).toContain('PATTERN 3 1024x768');
    const dump = await screendump();
    expect(pixelAt(dump, 100, 50)).toEqual(patternColor(3, 100, 50));
    await expectPictureConverges(() => gvnccapture('127.0.0.1', vncDisplay), screendump, `libvirt-${variant === WORKSPACE ? 'workspace' : 'image'}-qemu-vnc-gvnccapture`, { timeoutMs: 20_000 });
    expectServing('qemu-vnc');
  });

  step('qemu-rdp serves the guest’s screen: xfreerdp’s picture equals QMP screendump', async () => {
    await guest.check('vdi-pattern 4');
    x ??= await Xvfb.start({ log: clientsLog() });
    const client = XFreeRdp.start(x, { server: `127.0.0.1:${rdpPort}`, username: 'user', password: 'any', args: ['/bpp:32'], log: clientsLog() });
    const tag = variant === WORKSPACE ? 'workspace' : 'image';
    try {
      const win = await client.waitForWindow();
      expect({ width: win.width, height: win.height }).toEqual({ width: 1024, height: 768 });
      await expectPictureConverges(() => client.picture(), screendump, `libvirt-${tag}-qemu-rdp-xfreerdp`, { timeoutMs: 20_000 });
      await guest.check('vdi-text libvirt: the quick brown fox jumps over the lazy dog');
      await expectPictureConverges(() => client.picture(), screendump, `libvirt-${tag}-qemu-rdp-xfreerdp-text`, { timeoutMs: 20_000 });
      expect(client.proc.exitResult, client.output).toBeUndefined();
    } finally {
      await client.stop();
    }
    expectServing('qemu-rdp');
  });

  step('KubeVirt’s own VNC (the <graphics type="vnc"> socket virtctl vnc uses) still serves the same screen', async () => {
    expect(existsSync(join(runDir, 'virt-vnc'))).toBe(true);
    await guest.check('vdi-pattern 5');
    // A display free now (other tests on the machine take ports too): the next one if it was taken meanwhile.
    for (let attempt = 1; !proxy; attempt++) {
      const display = await freeVncDisplay();
      try {
        proxy = await unixSocketProxy(5900 + display, join(runDir, 'virt-vnc'));
        kubevirtVncDisplay = display;
      } catch (err) {
        if (attempt >= 10 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      }
    }
    await expectPictureConverges(() => gvnccapture('127.0.0.1', kubevirtVncDisplay), screendump, `libvirt-${variant === WORKSPACE ? 'workspace' : 'image'}-kubevirt-vnc-gvnccapture`, { timeoutMs: 20_000 });
  });

  step('KubeVirt’s Shutdown (the VM is done): the init stops the servers and the bus, exits 0, and leaves nothing', async () => {
    if (!libvirt || !sidecar || !domain) throw new Error('not set up');
    // virt-launcher calls Shutdown once the domain is gone.
    domain.guest.close();
    await libvirt.removeDomain(domain.name);
    const before = sidecar.processes();
    // dbus-session, dbus-daemon, hook-shim, qemu-vnc, qemu-rdp below the init (and the init, and buildah's for the image).
    expect(descendants(sidecar.init.pid).length).toBeGreaterThanOrEqual(5);
    const mark = sidecar.init.mark();
    expect(callHook(hooks.hookSocket, '/kubevirt.hooks.v1alpha3.Callbacks/Shutdown').length).toBe(0);
    const shutdown = Date.now();
    const result = await Promise.race([sidecar.init.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 30_000).unref())]);
    timings.push(`sidecar gone ${((Date.now() - shutdown) / 1000).toFixed(1)} s after Shutdown`);
    expect(result, `the sidecar still runs 30 s after Shutdown:\n${sidecar.init.output.slice(-3000)}`).toBeDefined();
    // For the image, `buildah run` passes the init's exit code on.
    expect(result?.code, sidecar.init.output.slice(-3000)).toBe(0);
    const stops = sidecar.init.linesSince(mark).filter((l) => l.name === 'vdi-init').map((l) => l.text);
    expect(stops[0]).toBe('hook-shim exited with code 0 (KubeVirt\'s Shutdown: the VM is done)');
    expect(stops.at(-1)).toBe('stopped, exit code 0');
    const removal = Date.now();
    await sidecar.stop(); // removes the working container
    timings.push(`sidecar cleaned up (working container removed) in ${((Date.now() - removal) / 1000).toFixed(1)} s`);
    expect(await sidecar.leftovers()).toEqual([]);
    expect(before.filter(processAlive)).toEqual([]);
    expect(existsSync(hooks.hookSocket)).toBe(false);
  });
});
