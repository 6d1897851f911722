import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { appendFileSync, closeSync, copyFileSync, linkSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDbusSession, type DbusSession } from '@vdi-sidecar/dbus-session';
import { expect } from 'vitest';
import { Guest } from './guest.js';
import { liveDirs, livePids } from './survivors.js';
import { decodeImage, decodePpm, type Image } from './images.js';
import { artifactsDir, safeName } from './paths.js';
import { ensureGuest, qemuInstall, type QemuInstall, type QemuVersion } from './qemu.js';
import { QmpClient, QmpError } from './qmp.js';
import { connectUnix } from './wait.js';

export interface RigOptions {
  qemu: QemuVersion;
  /** Adds `-device qemu-xhci -device usb-tablet` (absolute pointer; guest: `vdi-tablet`). */
  tablet?: boolean;
  /** Adds an AC97 sound card on the D-Bus audiodev (guest: `vdi-sound`, /dev/dsp). */
  sound?: boolean;
  /**
   * Adds QEMU's own VNC server on a unix socket ({@link Rig.vncSocketPath}); a string adds
   * options to its -vnc (e.g. `lossy=on`).
   */
  vnc?: boolean | string;
  /**
   * Adds QEMU's clipboard agent chardev (`qemu-vdagent`, clipboard only) on a virtio-serial
   * port named `com.redhat.spice.0`, so the guest clipboard agent can join QEMU's clipboard
   * (guest: `vdi-clipboard-agent`, `vdi-clipboard-set`, `vdi-clipboard-get`).
   */
  clipboard?: boolean;
  /**
   * The graphics card: `std` (default, `-vga std`; ignores the UI's size requests) or
   * `virtio` (`-device virtio-vga`: VGA compatible, so the boot-time vesafb works as with
   * `std`; the virtio_gpu driver, guest `vdi-virtio-gpu`, takes the UI's size as its
   * connector's preferred mode).
   */
  vga?: 'std' | 'virtio';
  /** More QEMU arguments, appended last. */
  extraArgs?: string[];
  /** Mode the bochs driver takes on `vdi-mode` (kernel `video=`); default `800x600`. */
  videoMode?: string;
  /** Appended to the kernel command line. */
  append?: string;
  /** Names the artifacts directory e2e/artifacts/<name>/; default: the current test's name. */
  name?: string;
  /** Wait for the guest's ready marker before resolving; default true. */
  waitReady?: boolean;
  /** For QEMU start-up plus guest boot; default 120 s. */
  bootTimeoutMs?: number;
  /**
   * Join this other rig's bus instead of starting a dbus-daemon (several VMs on one bus, as
   * QEMU queues for the name `org.qemu`). The other rig owns the bus; stop this one first.
   */
  shareBusOf?: Rig;
  /**
   * Join the bus listening at this host path, run by someone else (e.g. the sidecar's init),
   * instead of starting a dbus-daemon. Under QEMU 10 it must lie inside QEMU's root.
   */
  externalBusSocketPath?: string;
  /** The VM's `-name` (default `vdi-test`). */
  vmName?: string;
}

/** A QEMU with the test guest on a private D-Bus, see {@link startRig}. */
export interface Rig {
  readonly qemuVersion: QemuVersion;
  /** `unix:path=<socket>` as seen from the host (the test process). */
  readonly busAddress: string;
  readonly busSocketPath: string;
  /** QEMU's VNC server socket (host path) when started with `vnc: true`. */
  readonly vncSocketPath: string | undefined;
  /** The VM's `-uuid` (org.qemu.Display1.VM UUID); kept across restarts. */
  readonly uuid: string;
  /** The VM's `-name` (org.qemu.Display1.VM Name). */
  readonly vmName: string;
  /** e2e/artifacts/<name>/: qemu.log (args + stderr), console.log (ttyS0), dbus.log. */
  readonly artifactsDir: string;
  /** QMP of the running QEMU (a new client after each restart). */
  readonly qmp: QmpClient;
  /** The guest's serial lines of the running QEMU (new after each restart). */
  readonly guest: Guest;
  readonly qemuPid: number | undefined;
  /** Milliseconds from resuming the VM to the guest's ready marker, last boot. */
  readonly bootMs: number | undefined;
  /** QMP screendump (ground truth of what the guest shows), decoded to RGBA. */
  screendump(): Promise<Image>;
  /** Stops QEMU (default SIGTERM) and starts a fresh one on the same bus, same UUID. */
  restartQemu(options?: { signal?: NodeJS.Signals }): Promise<void>;
  /** Stops QEMU only; the bus stays. `startQemu()` brings it back. */
  stopQemu(signal?: NodeJS.Signals): Promise<void>;
  startQemu(): Promise<void>;
  /** Stops QEMU and dbus-daemon and removes the run directory; never throws before all are tried. */
  stop(): Promise<void>;
}

function currentTestName(): string | undefined {
  try {
    return expect.getState().currentTestName;
  } catch {
    return undefined;
  }
}

/** The last lines QEMU wrote to its log (after this start's header). */
function logTail(log: string): string {
  try {
    const text = readFileSync(log, 'utf8');
    const start = text.lastIndexOf('\n=== start ');
    const lines = text.slice(start < 0 ? 0 : text.indexOf('\n', start + 1) + 1).trimEnd().split('\n');
    return lines.slice(-5).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Hard-links (same filesystem) or copies `from` to `to`. */
function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

class QemuRig implements Rig {
  readonly busAddress: string;
  readonly busSocketPath: string;
  readonly vncSocketPath: string | undefined;
  readonly uuid = randomUUID();
  readonly vmName: string;
  readonly artifactsDir: string;
  bootMs: number | undefined;

  private child: ChildProcess | undefined;
  private childExit: Promise<void> = Promise.resolve();
  private exitReason: string | undefined;
  private qmpClient: QmpClient | undefined;
  private guestLines: Guest | undefined;
  private shots = 0;
  private starts = 0;
  private stopped = false;

  constructor(
    private readonly options: RigOptions,
    private readonly install: QemuInstall,
    private readonly runDir: string,
    /** Undefined when the bus belongs to another rig (`shareBusOf`). */
    private readonly bus: DbusSession | undefined,
    busSocketPath: string,
    artifacts: string,
  ) {
    this.busSocketPath = busSocketPath;
    this.busAddress = `unix:path=${busSocketPath}`;
    this.vmName = options.vmName ?? 'vdi-test';
    this.vncSocketPath = options.vnc ? join(runDir, 'vnc') : undefined;
    this.artifactsDir = artifacts;
  }

  get qemuVersion(): QemuVersion {
    return this.install.version;
  }

  get qmp(): QmpClient {
    if (!this.qmpClient) throw new Error('QEMU is not running');
    return this.qmpClient;
  }

  get guest(): Guest {
    if (!this.guestLines) throw new Error('QEMU is not running');
    return this.guestLines;
  }

  get qemuPid(): number | undefined {
    return this.child?.pid;
  }

  /** The path QEMU sees for a host path inside the run directory. */
  private inQemu(hostPath: string): string {
    if (!this.install.root) return hostPath;
    const rel = relative(this.install.root, hostPath);
    if (rel.startsWith('..')) throw new Error(`${hostPath} is outside QEMU's root ${this.install.root}`);
    return `/${rel}`;
  }

  private qemuArgs(): string[] {
    const p = (name: string) => this.inQemu(join(this.runDir, name));
    const append = [
      'console=ttyS0',
      // vesafb 1024x768 at boot; bochs takes video= when `vdi-mode` loads it.
      'vga=0x318',
      `video=${this.options.videoMode ?? '800x600'}`,
      'quiet',
      ...(this.options.append ? [this.options.append] : []),
    ].join(' ');
    return [
      '-machine', 'pc',
      '-accel', 'tcg',
      '-m', '256',
      '-display', `dbus,addr=unix:path=${this.inQemu(this.busSocketPath)},gl=off,audiodev=audio0`,
      '-audiodev', 'dbus,id=audio0',
      ...(this.options.vga === 'virtio' ? ['-vga', 'none', '-device', 'virtio-vga'] : ['-vga', 'std']),
      // No NIC: nothing to test there, and no option ROM to load.
      '-nic', 'none',
      // No -no-reboot: with it QEMU turns QMP system_reset into a shutdown, and tests
      // reboot the guest that way. A kernel panic shows in console.log on a boot timeout.
      '-kernel', p('vmlinuz'),
      '-initrd', p('initrd.gz'),
      '-append', append,
      '-chardev', `socket,id=ttyS0,path=${p('ttyS0')},server=on,wait=off`,
      '-serial', 'chardev:ttyS0',
      '-chardev', `socket,id=ttyS1,path=${p('ttyS1')},server=on,wait=off`,
      '-serial', 'chardev:ttyS1',
      '-qmp', `unix:${p('qmp')},server=on,wait=off`,
      '-name', `${this.vmName},debug-threads=on`,
      '-uuid', this.uuid,
      // Paused until the serial lines are connected, so no console output is lost.
      '-S',
      ...(this.options.tablet ? ['-device', 'qemu-xhci', '-device', 'usb-tablet'] : []),
      ...(this.options.sound ? ['-device', 'AC97,audiodev=audio0'] : []),
      ...(this.options.vnc ? ['-vnc', `unix:${p('vnc')}${typeof this.options.vnc === 'string' ? `,${this.options.vnc}` : ''}`] : []),
      ...(this.options.clipboard
        ? [
            '-device', 'virtio-serial-pci',
            // mouse=off: the agent must not take over the pointer from the tablet/PS/2 tests.
            '-chardev', 'qemu-vdagent,id=vdagent,clipboard=on,mouse=off',
            '-device', 'virtserialport,chardev=vdagent,name=com.redhat.spice.0',
          ]
        : []),
      ...(this.options.extraArgs ?? []),
    ];
  }

  async startQemu(): Promise<void> {
    if (this.stopped) throw new Error('rig stopped');
    if (this.child) throw new Error('QEMU is already running');
    for (const name of ['qmp', 'ttyS0', 'ttyS1', 'vnc']) await rm(join(this.runDir, name), { force: true });

    const args = this.qemuArgs();
    const [command, argv] = this.install.root
      ? ['chroot', [this.install.root, this.install.binary, ...args]]
      : [this.install.binary, args];
    const log = join(this.artifactsDir, 'qemu.log');
    this.starts++;
    appendFileSync(log, `\n=== start ${this.starts} (QEMU ${this.install.version}): ${command} ${argv.join(' ')}\n`);
    const fd = openSync(log, 'a');
    let child: ChildProcess;
    try {
      child = spawn(command, argv, { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    this.child = child;
    this.exitReason = undefined;
    if (child.pid !== undefined) livePids.add(child.pid);
    this.childExit = new Promise<void>((resolve) => {
      const done = (why: string) => {
        this.exitReason ??= why;
        if (child.pid !== undefined) livePids.delete(child.pid);
        resolve();
      };
      child.once('exit', (code, signal) => done(signal ? `QEMU killed by ${signal}` : `QEMU exited with code ${code}`));
      child.once('error', (err) => done(`cannot run QEMU: ${err.message}`));
    });

    const timeoutMs = this.options.bootTimeoutMs ?? 120_000;
    const abort = () => (this.exitReason ? `${this.exitReason}; see ${log}` : undefined);
    try {
      this.qmpClient = await QmpClient.connect(join(this.runDir, 'qmp'), { timeoutMs, abort });
      const [consoleSocket, channelSocket] = await Promise.all([
        connectUnix(join(this.runDir, 'ttyS0'), { what: 'guest ttyS0', timeoutMs: 10_000, abort }),
        connectUnix(join(this.runDir, 'ttyS1'), { what: 'guest ttyS1', timeoutMs: 10_000, abort }),
      ]);
      this.guestLines = new Guest(consoleSocket, channelSocket, join(this.artifactsDir, 'console.log'));
      const resumed = Date.now();
      await this.qmpClient.execute('cont');
      if (this.options.waitReady ?? true) {
        await this.guestLines.waitReady(timeoutMs);
        this.bootMs = Date.now() - resumed;
      }
    } catch (err) {
      // A QEMU that rejects its arguments may still have opened QMP first; then the
      // failure shows as a closed connection. Its exit and log tell the real story.
      await Promise.race([this.childExit, sleep(1_000)]);
      const reason = this.exitReason;
      await this.stopQemu('SIGKILL');
      if (!reason) throw err;
      const message = err instanceof Error ? err.message : String(err);
      const context = message.includes(reason) ? '' : `\n(while starting: ${message})`;
      throw new Error(`${reason}; see ${log}:\n${logTail(log)}${context}`);
    }
  }

  async stopQemu(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await this.childExit;
      clearTimeout(timer);
    }
    this.qmpClient?.close();
    this.guestLines?.close();
    this.qmpClient = undefined;
    this.guestLines = undefined;
    this.child = undefined;
  }

  async restartQemu(options: { signal?: NodeJS.Signals } = {}): Promise<void> {
    await this.stopQemu(options.signal);
    await this.startQemu();
  }

  async screendump(): Promise<Image> {
    const png = join(this.runDir, `screendump-${++this.shots}.png`);
    try {
      await this.qmp.execute('screendump', { filename: this.inQemu(png), format: 'png' });
      return await decodeImage(await readFile(png));
    } catch (err) {
      // QEMU before 7.1 knows PPM only.
      if (!(err instanceof QmpError && /format/.test(err.desc))) throw err;
      const ppm = png.replace(/\.png$/, '.ppm');
      await this.qmp.execute('screendump', { filename: this.inQemu(ppm) });
      try {
        return decodePpm(await readFile(ppm));
      } finally {
        await rm(ppm, { force: true });
      }
    } finally {
      await rm(png, { force: true });
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const errors: string[] = [];
    await this.stopQemu().catch((e: unknown) => errors.push(`stopping QEMU: ${String(e)}`));
    if (this.bus) {
      await this.bus.stop().catch((e: unknown) => errors.push(`stopping dbus-daemon: ${String(e)}`));
      livePids.delete(this.bus.pid);
    }
    await rm(this.runDir, { recursive: true, force: true }).catch((e: unknown) =>
      errors.push(`removing ${this.runDir}: ${String(e)}`),
    );
    liveDirs.delete(this.runDir);
    if (errors.length > 0) throw new Error(`rig stop: ${errors.join('; ')}`);
  }
}

/**
 * Starts a private dbus-daemon and a QEMU of the given version booting the test guest
 * (e2e/guest), paused until QMP and both serial lines are connected, then resumed; by
 * default resolves once the guest reports ready (~6 s under TCG). QEMU joins the bus as
 * `org.qemu` (`-display dbus`, `gl=off`, `-audiodev dbus`). Call `stop()` in afterAll/
 * afterEach; it kills everything even after failures. Never run two rigs at once on a
 * 2-core machine.
 */
export async function startRig(options: RigOptions): Promise<Rig> {
  const install = await qemuInstall(options.qemu);
  const guestDir = await ensureGuest();
  const name = options.name ?? currentTestName() ?? `rig-${options.qemu}`;
  const artifacts = artifactsDir(safeName(name));
  for (const file of ['qemu.log', 'console.log', 'dbus.log']) writeFileSync(join(artifacts, file), '');

  // Under chroot every file QEMU opens must be inside its root.
  const base = install.root ? join(install.root, 'run', 'vdi') : tmpdir();
  await mkdir(base, { recursive: true });
  const runDir = await mkdtemp(join(base, 'vdi-rig-'));
  liveDirs.add(runDir);
  let bus: DbusSession | undefined;
  let rig: QemuRig | undefined;
  try {
    for (const file of ['vmlinuz', 'initrd.gz']) linkOrCopy(join(guestDir, file), join(runDir, file));
    let busSocketPath = join(runDir, 'bus');
    if (options.externalBusSocketPath) {
      busSocketPath = options.externalBusSocketPath;
    } else if (options.shareBusOf) {
      if (options.shareBusOf.qemuVersion !== options.qemu) throw new Error('rigs sharing a bus must run the same QEMU version (same root)');
      busSocketPath = options.shareBusOf.busSocketPath;
    } else {
      bus = await startDbusSession({
        socketPath: busSocketPath,
        // QEMU runs as root here, the daemon's own uid: no other uid needs in.
        allowUids: [],
        onStderr: (text) => appendFileSync(join(artifacts, 'dbus.log'), text),
      });
      livePids.add(bus.pid);
    }
    rig = new QemuRig(options, install, runDir, bus, busSocketPath, artifacts);
    await rig.startQemu();
    return rig;
  } catch (err) {
    if (rig) await rig.stop().catch(() => undefined);
    else {
      await bus?.stop().catch(() => undefined);
      if (bus) livePids.delete(bus.pid);
      await rm(runDir, { recursive: true, force: true });
      liveDirs.delete(runDir);
    }
    throw err;
  }
}
