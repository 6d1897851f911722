// A private libvirtd (with its virtlogd) for end-to-end tests of the libvirt → QEMU path, and
// helpers for the domains it runs.
//
// Debian 12's libvirtd (9.0) run as root is always the "system" daemon: its configuration
// (/etc/libvirt), runtime (/run/libvirt), state (/var/lib/libvirt), logs and cache paths are
// compiled in, and it resolves its default QEMU user (`libvirt-qemu`) before it even reads
// qemu.conf, failing when that user does not exist. So the daemons run in a mount namespace
// of their own (`unshare --mount`) where private directories are bind-mounted over those
// paths, and over /etc/passwd and /etc/group a copy that adds `libvirt-qemu` (qemu.conf then
// makes QEMU run as root anyway). Nothing of the machine's configuration is touched, a
// libvirtd the machine may already run is neither used nor disturbed, and everything is gone
// once the daemons and their QEMUs exit. Clients reach the daemon through
// `qemu:///system?socket=<private dir>/run/libvirt-sock`.
//
// The machine only gains the empty mount points (/run/libvirt, /var/lib/libvirt,
// /var/log/libvirt, /var/cache/libvirt) and libvirt's QEMU capabilities cache in CACHE_DIR.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { run, type RunResult } from './clients/process.js';
import { processAlive } from './clients/sidecar-init.js';
import { Guest } from './guest.js';
import { decodeImage, type Image } from './images.js';
import { CACHE_DIR } from './paths.js';
import { liveDirs, livePids } from './survivors.js';
import { connectUnix } from './wait.js';

/** The paths libvirtd (privileged) has compiled in, and the private directory mounted over each. */
const MOUNTS: ReadonlyArray<readonly [string, string]> = [
  ['etc', '/etc/libvirt'],
  ['run', '/run/libvirt'],
  ['lib', '/var/lib/libvirt'],
  ['log', '/var/log/libvirt'],
  ['cache', '/var/cache/libvirt'],
];

/**
 * qemu.conf: QEMU as root without a security driver (no libvirt-qemu user, no AppArmor or
 * SELinux labels here), files left as they are (the test's own directory), no cgroups and no
 * private /dev (nothing of the host changes), QEMU's stderr through virtlogd as in KubeVirt.
 */
const QEMU_CONF = `user = "root"
group = "root"
security_driver = "none"
dynamic_ownership = 0
remember_owner = 0
cgroup_controllers = [ ]
namespaces = [ ]
stdio_handler = "logd"
`;

/** libvirtd.conf: its socket for root only, no polkit (no system bus here), warnings to a file. */
const LIBVIRTD_CONF = `auth_unix_ro = "none"
auth_unix_rw = "none"
unix_sock_group = "root"
unix_sock_ro_perms = "0700"
unix_sock_rw_perms = "0700"
unix_sock_admin_perms = "0700"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
`;

/** Debian's libvirt-daemon-system user and groups, for libvirtd's start-up lookup only. */
const PASSWD_LINE = 'libvirt-qemu:x:64055:64055:Libvirt Qemu,,,:/var/lib/libvirt:/usr/sbin/nologin';
const GROUP_LINES = ['libvirt-qemu:x:64055:', 'kvm:x:64054:', 'libvirt:x:64053:'];

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

async function waitGone(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(none)';
  }
}

/** Whether the commands libvirtd needs are here (Debian: libvirt-daemon, libvirt-daemon-driver-qemu, libvirt-clients). */
export function libvirtMissing(): string | undefined {
  for (const bin of ['/usr/sbin/libvirtd', '/usr/sbin/virtlogd', '/usr/bin/virsh']) {
    if (!existsSync(bin)) return `${bin} missing: run scripts/setup-system.sh (libvirt-daemon, libvirt-daemon-driver-qemu, libvirt-clients)`;
  }
  const driver = '/usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so';
  if (!existsSync(driver)) return `${driver} missing: run scripts/setup-system.sh (libvirt-daemon-driver-qemu)`;
  return undefined;
}

export interface LibvirtOptions {
  /** Receives libvirtd.log, virtlogd's output and each domain's QEMU log when stopping. */
  artifactsDir: string;
  /** For libvirtd to answer (first start probes QEMU's capabilities, ~10 s under TCG); default 90 s. */
  timeoutMs?: number;
}

/** A QMP command's reply through libvirt (`virsh qemu-monitor-command`). */
export class LibvirtMonitorError extends Error {
  override name = 'LibvirtMonitorError';
}

/** A private libvirtd + virtlogd, see the file comment; from {@link startLibvirt}. */
export class Libvirt {
  /** `qemu:///system?socket=…` of this daemon. */
  readonly uri: string;
  /** Uid QEMU runs as (qemu.conf `user`): root. */
  readonly qemuUid = 0;
  private readonly domains = new Set<string>();
  private readonly qemuPids = new Set<number>();
  private stopped = false;

  constructor(
    /** The private directory: etc/, run/, lib/, log/ as libvirtd sees them under its paths. */
    readonly stateDir: string,
    private readonly daemon: ChildProcess,
    private readonly exited: Promise<void>,
    private readonly artifactsDir: string,
  ) {
    this.uri = `qemu:///system?socket=${join(stateDir, 'run', 'libvirt-sock')}`;
  }

  get pid(): number {
    return this.daemon.pid ?? -1;
  }

  /** virtlogd's pid (it writes it once started), if known. */
  get virtlogdPid(): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.stateDir, 'virtlogd.pid'), 'utf8').trim());
      return pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  get running(): boolean {
    return this.daemon.exitCode === null && this.daemon.signalCode === null;
  }

  /** Runs `virsh -c URI ARGS…`. */
  virsh(args: readonly string[], timeoutMs = 60_000): Promise<RunResult> {
    return run('virsh', ['-c', this.uri, ...args], { timeoutMs });
  }

  /** Like {@link virsh}, but throws with virsh's output (and libvirtd's last log lines) unless it exits 0. */
  async checkVirsh(args: readonly string[], timeoutMs = 60_000): Promise<string> {
    const result = await this.virsh(args, timeoutMs);
    if (result.code !== 0) {
      throw new Error(
        `virsh ${args.join(' ')} failed (code ${result.code}): ${(result.stderr || result.stdout).trim()}\n` +
          `libvirtd.log:\n${tail(join(this.stateDir, 'log', 'libvirtd.log'))}`,
      );
    }
    return result.stdout;
  }

  /** `virsh define` of this XML (written to a file in the private directory); returns the domain's name. */
  async define(xml: string): Promise<string> {
    const name = /<name>([^<]+)<\/name>/.exec(xml)?.[1];
    if (!name) throw new Error('domain XML without <name>');
    const file = join(this.stateDir, `define-${name}.xml`);
    writeFileSync(file, xml);
    this.domains.add(name);
    await this.checkVirsh(['define', file]);
    return name;
  }

  /** `virsh start [--paused] NAME`; the QEMU it started is killed at exit should the test crash. */
  async start(name: string, options: { paused?: boolean } = {}): Promise<number> {
    await this.checkVirsh(['start', ...(options.paused ? ['--paused'] : []), name]);
    const pid = this.qemuPid(name);
    if (pid === undefined) throw new Error(`libvirtd started ${name} but wrote no pid file`);
    this.qemuPids.add(pid);
    livePids.add(pid);
    return pid;
  }

  /** QEMU's pid for a running domain (libvirt's pid file), else undefined. */
  qemuPid(name: string): number | undefined {
    try {
      const pid = Number(readFileSync(join(this.stateDir, 'run', 'qemu', `${name}.pid`), 'utf8').trim());
      return pid > 0 && processAlive(pid) ? pid : undefined;
    } catch {
      return undefined;
    }
  }

  /** What QEMU wrote to stderr, with the command line libvirt ran (virtlogd's file). */
  qemuLog(name: string): string {
    try {
      return readFileSync(join(this.stateDir, 'log', 'qemu', `${name}.log`), 'utf8');
    } catch {
      return '';
    }
  }

  /** A QMP command through libvirt's own monitor connection; returns its `return`. */
  async qmp<T = unknown>(name: string, command: string, args?: Record<string, unknown>): Promise<T> {
    const json = JSON.stringify(args === undefined ? { execute: command } : { execute: command, arguments: args });
    const out = await this.checkVirsh(['qemu-monitor-command', name, json]);
    const reply = JSON.parse(out) as { return?: T; error?: { class: string; desc: string } };
    if (reply.error) throw new LibvirtMonitorError(`QMP ${command} on ${name}: ${reply.error.class}: ${reply.error.desc}`);
    return reply.return as T;
  }

  /** QMP `screendump` (PNG) through libvirt, decoded: the ground truth of what the guest shows. */
  async screendump(name: string, dir: string): Promise<Image> {
    const file = join(dir, `screendump-${name}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.png`);
    try {
      await this.qmp(name, 'screendump', { filename: file, format: 'png' });
      return await decodeImage(await readFile(file));
    } finally {
      await rm(file, { force: true });
    }
  }

  /** `virsh destroy` (if running) and `virsh undefine`; waits for its QEMU to be gone. */
  async removeDomain(name: string): Promise<void> {
    const pid = this.qemuPid(name);
    if (pid !== undefined) await this.virsh(['destroy', name]);
    await this.virsh(['undefine', name]);
    this.domains.delete(name);
    if (pid !== undefined && !(await waitGone(pid, 10_000))) process.kill(pid, 'SIGKILL');
  }

  /**
   * Destroys and undefines every domain it defined, stops libvirtd and virtlogd (SIGTERM,
   * then SIGKILL), kills any QEMU still there, copies the logs to the artifacts directory and
   * removes the private directory. Tries everything before throwing.
   */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const errors: string[] = [];
    for (const name of [...this.domains]) {
      if (!this.running) break;
      await this.removeDomain(name).catch((e: unknown) => errors.push(`removing ${name}: ${String(e)}`));
    }
    const virtlogd = this.virtlogdPid;
    if (this.running) {
      this.daemon.kill('SIGTERM');
      const killed = await Promise.race([this.exited.then(() => true), sleep(15_000).then(() => false)]);
      if (!killed) {
        errors.push('libvirtd did not stop within 15 s of SIGTERM');
        this.daemon.kill('SIGKILL');
        await this.exited;
      }
    }
    if (virtlogd !== undefined && processAlive(virtlogd)) {
      process.kill(virtlogd, 'SIGTERM');
      if (!(await waitGone(virtlogd, 5_000))) process.kill(virtlogd, 'SIGKILL');
    }
    if (virtlogd !== undefined) livePids.delete(virtlogd);
    for (const pid of this.qemuPids) {
      if (processAlive(pid)) {
        errors.push(`QEMU ${pid} was still running`);
        process.kill(pid, 'SIGKILL');
        await waitGone(pid, 5_000);
      }
      livePids.delete(pid);
    }
    try {
      this.copyLogs();
    } catch (e) {
      errors.push(`copying logs: ${String(e)}`);
    }
    await rm(this.stateDir, { recursive: true, force: true }).catch((e: unknown) => errors.push(`removing ${this.stateDir}: ${String(e)}`));
    liveDirs.delete(this.stateDir);
    if (errors.length > 0) throw new Error(`libvirt stop: ${errors.join('; ')}`);
  }

  private copyLogs(): void {
    const log = join(this.stateDir, 'log');
    if (existsSync(join(log, 'libvirtd.log'))) copyFileSync(join(log, 'libvirtd.log'), join(this.artifactsDir, 'libvirtd.log'));
    const qemuLogs = join(log, 'qemu');
    if (!existsSync(qemuLogs)) return;
    for (const file of readdirSync(qemuLogs)) {
      if (file.endsWith('.log')) copyFileSync(join(qemuLogs, file), join(this.artifactsDir, `libvirt-qemu-${file}`));
    }
  }
}

/**
 * Starts virtlogd and libvirtd in a mount namespace of their own (see the file comment) and
 * resolves once libvirtd answers on its socket. `stop()` in afterAll; the pids are killed at
 * exit should the test process die first.
 */
export async function startLibvirt(options: LibvirtOptions): Promise<Libvirt> {
  const missing = libvirtMissing();
  if (missing) throw new Error(missing);
  const stateDir = await mkdtemp(join(tmpdir(), 'vdi-libvirt-'));
  liveDirs.add(stateDir);
  for (const [dir] of MOUNTS) mkdirSync(join(stateDir, dir), { recursive: true });
  // libvirt's QEMU capabilities (probing the binaries takes seconds under TCG) outlive the
  // run; libvirt itself notices a changed QEMU or libvirtd and probes again.
  const cache = join(CACHE_DIR, 'libvirt-cache');
  mkdirSync(cache, { recursive: true });
  writeFileSync(join(stateDir, 'etc', 'qemu.conf'), QEMU_CONF);
  writeFileSync(join(stateDir, 'etc', 'libvirtd.conf'), LIBVIRTD_CONF);
  writeFileSync(join(stateDir, 'etc', 'virtlogd.conf'), '');
  writeFileSync(join(stateDir, 'passwd'), `${readFileSync('/etc/passwd', 'utf8').trimEnd()}\n${PASSWD_LINE}\n`);
  const groups = readFileSync('/etc/group', 'utf8').trimEnd().split('\n');
  const extraGroups = GROUP_LINES.filter((line) => !groups.some((g) => g.startsWith(line.split(':')[0] + ':')));
  writeFileSync(join(stateDir, 'group'), `${[...groups, ...extraGroups].join('\n')}\n`);

  const q = shellQuote;
  const script = [
    'set -e',
    ...MOUNTS.map(([dir, target]) => `mkdir -p ${target} && mount --bind ${q(dir === 'cache' ? cache : join(stateDir, dir))} ${target}`),
    `mount --bind ${q(join(stateDir, 'passwd'))} /etc/passwd`,
    `mount --bind ${q(join(stateDir, 'group'))} /etc/group`,
    // Foreground daemons: virtlogd in the background of this shell, which then becomes libvirtd.
    // Their pid files go in the private directory: the defaults (/run/virtlogd.pid,
    // /run/libvirtd.pid) are the machine's, locked by any other libvirtd running there.
    `virtlogd --pid-file ${q(join(stateDir, 'virtlogd.lock'))} &`,
    `echo $! > ${q(join(stateDir, 'virtlogd.pid'))}`,
    'n=0; while [ ! -S /run/libvirt/virtlogd-sock ]; do n=$((n+1)); [ $n -lt 200 ] || { echo "virtlogd did not start" >&2; exit 1; }; sleep 0.05; done',
    `exec libvirtd --pid-file ${q(join(stateDir, 'libvirtd.lock'))}`,
  ].join('\n');
  const outLog = join(options.artifactsDir, 'libvirt-daemons.log');
  writeFileSync(outLog, '');
  const fd = openSync(outLog, 'a');
  let daemon: ChildProcess;
  try {
    // Own process group (detached): a signal to the test's group does not reach it first.
    daemon = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], {
      stdio: ['ignore', fd, fd],
      detached: true,
      cwd: stateDir,
    });
  } finally {
    closeSync(fd);
  }
  if (daemon.pid !== undefined) livePids.add(daemon.pid);
  let exitReason: string | undefined;
  const exited = new Promise<void>((resolve) => {
    const done = (why: string) => {
      exitReason ??= why;
      if (daemon.pid !== undefined) livePids.delete(daemon.pid);
      resolve();
    };
    daemon.once('exit', (code, signal) => done(signal ? `libvirtd killed by ${signal}` : `libvirtd exited with code ${code}`));
    daemon.once('error', (err) => done(`cannot run unshare: ${err.message}`));
  });
  const libvirt = new Libvirt(stateDir, daemon, exited, options.artifactsDir);

  const timeoutMs = options.timeoutMs ?? 90_000;
  const deadline = Date.now() + timeoutMs;
  try {
    let last = '';
    for (;;) {
      const virtlogd = libvirt.virtlogdPid;
      if (virtlogd !== undefined) livePids.add(virtlogd);
      if (exitReason) {
        throw new Error(
          `${exitReason}; its output (${outLog}):\n${tail(outLog)}\nlibvirtd.log:\n${tail(join(stateDir, 'log', 'libvirtd.log'))}`,
        );
      }
      if (existsSync(join(stateDir, 'run', 'libvirt-sock'))) {
        const result = await libvirt.virsh(['version'], Math.max(1_000, deadline - Date.now()));
        if (result.code === 0 && /Running hypervisor: QEMU/.test(result.stdout)) break;
        last = (result.stderr || result.stdout).trim();
      }
      if (Date.now() >= deadline) {
        throw new Error(`libvirtd did not answer within ${timeoutMs} ms (${last}); libvirtd.log:\n${tail(join(stateDir, 'log', 'libvirtd.log'))}`);
      }
      await sleep(100);
    }
    return libvirt;
  } catch (err) {
    await libvirt.stop().catch(() => undefined);
    throw err;
  }
}

export interface GuestDomainOptions {
  /** The guest's first serial port (kernel console, ready marker): the `<serial>` bind path. */
  consoleSocket: string;
  /** Its second serial port (the command server). */
  channelSocket: string;
  /** ttyS0 is appended here. */
  consoleLog?: string;
  /** QEMU start-up plus guest boot; default 120 s. */
  timeoutMs?: number;
}

/** A running domain with the test guest (e2e/guest), see {@link startGuestDomain}. */
export interface GuestDomain {
  readonly name: string;
  readonly qemuPid: number;
  readonly guest: Guest;
  /** Milliseconds from resuming the VM to the guest's ready marker. */
  readonly bootMs: number;
}

/**
 * Defines `xml`, starts it paused, connects the guest's two serial lines (unix sockets QEMU
 * listens on, `<serial type='unix'><source mode='bind'>`), resumes it and waits for the
 * guest's ready marker — as the rig does with its own QEMU. Close `guest` and call
 * `libvirt.removeDomain(name)` (or `libvirt.stop()`) when done.
 */
export async function startGuestDomain(libvirt: Libvirt, xml: string, options: GuestDomainOptions): Promise<GuestDomain> {
  const name = await libvirt.define(xml);
  const qemuPid = await libvirt.start(name, { paused: true });
  const abort = () => (libvirt.qemuPid(name) === undefined ? `QEMU exited; its log:\n${libvirt.qemuLog(name).slice(-3000)}` : undefined);
  const [consoleSocket, channelSocket] = await Promise.all([
    connectUnix(options.consoleSocket, { what: 'guest serial 0', timeoutMs: 10_000, abort }),
    connectUnix(options.channelSocket, { what: 'guest serial 1', timeoutMs: 10_000, abort }),
  ]);
  const guest = new Guest(consoleSocket, channelSocket, options.consoleLog);
  try {
    const resumed = Date.now();
    await libvirt.checkVirsh(['resume', name]);
    await guest.waitReady(options.timeoutMs ?? 120_000);
    return { name, qemuPid, guest, bootMs: Date.now() - resumed };
  } catch (err) {
    guest.close();
    throw err;
  }
}

/** QEMU's command line (`/proc/PID/cmdline`), one argument per element. */
export function processArgs(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a.length > 0);
}

/** The real uid a process runs as. */
export function processUid(pid: number): number {
  const m = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no Uid in /proc/${pid}/status`);
  return Number(m[1]);
}
