// The sidecar's tiny init (images/sidecar/init/vdi-init) as the container runs it: built from
// its C source when needed, started with the repository's CLIs on PATH, its output (every
// child's lines, prefixed with the child's name) kept in order for the tests to read.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_DIR } from '../paths.js';
import { Background, type RunResult } from './process.js';
import { ensurePackagesBuilt, readableLogLine } from './server-process.js';

export const VDI_INIT_DIR = join(REPO_DIR, 'images/sidecar/init');
export const VDI_INIT = join(VDI_INIT_DIR, 'dist/vdi-init');
/**
 * Links to the workspace's CLIs (dbus-session, hook-shim, qemu-vnc, qemu-rdp), made by the
 * init's Makefile: the init finds its programs on PATH. (npm's node_modules/.bin lacks them
 * on a fresh clone, where they were not built yet when npm installed.)
 */
const BIN_DIR = join(VDI_INIT_DIR, 'dist/bin');

/**
 * Builds every package the init runs (when stale), and the init itself and its CLI links
 * with its Makefile when dist/vdi-init or a link is missing or older than the sources.
 */
export function ensureVdiInitBuilt(): void {
  ensurePackagesBuilt(['display-core', 'dbus-session', 'hook-shim', 'qemu-vnc', 'qemu-rdp']);
  const newest = Math.max(...['vdi-init.c', 'Makefile'].map((f) => statSync(join(VDI_INIT_DIR, f)).mtimeMs));
  const links = ['dbus-session', 'hook-shim', 'qemu-vnc', 'qemu-rdp'].map((cli) => join(BIN_DIR, cli));
  if (existsSync(VDI_INIT) && statSync(VDI_INIT).mtimeMs >= newest && links.every((link) => existsSync(link))) return;
  execFileSync('make', ['-C', VDI_INIT_DIR, '--always-make'], { stdio: 'inherit' });
}

export interface SidecarInitOptions {
  /** The bus socket (--bus). */
  bus: string;
  /** The plan file (--plan). */
  plan: string;
  /** hook-shim's arguments (after --); default none (the init's default: serve). */
  hookArgs?: string[];
  /** --allow-uid for dbus-session (root here: the test's QEMU runs as root). */
  allowUids?: string[];
  /** --grace SECONDS */
  grace?: number;
  /** Run it as PID 1 of a new PID namespace (unshare --pid --fork --mount-proc). */
  pidNamespace?: boolean;
  /** Appends the output here too. */
  log?: string;
  /**
   * Runs the init through this command (e.g. `buildah run … CONTAINER --`): the init is then
   * a descendant of the launcher, found by its command name. Default: none.
   */
  launcher?: readonly string[];
  /** The init's path, as the launcher sees it; default the workspace's {@link VDI_INIT}. */
  initPath?: string;
}

/** One process of the init's tree, from /proc. */
export interface ProcEntry {
  pid: number;
  ppid: number;
  state: string;
  comm: string;
}

/** Every process on the machine: pid, parent, state (R, S, Z, …) and command name. */
export function processTable(): ProcEntry[] {
  const table: ProcEntry[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split at the last ')'.
    const close = stat.lastIndexOf(')');
    const [state, ppid] = stat.slice(close + 2).split(' ');
    table.push({ pid: Number(name), ppid: Number(ppid), state, comm: stat.slice(stat.indexOf('(') + 1, close) });
  }
  return table;
}

/** All descendants of `root` (not `root` itself). */
export function descendants(root: number, table = processTable()): ProcEntry[] {
  const found: ProcEntry[] = [];
  const parents = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of table) {
      if (!parents.has(p.pid) && parents.has(p.ppid)) {
        parents.add(p.pid);
        found.push(p);
        grew = true;
      }
    }
  }
  return found;
}

/** True while `pid` exists and is not a zombie. */
export function processAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** A line of the init's output: the child's name from its prefix, and the text after it. */
export interface InitLine {
  name: string;
  text: string;
}

/** A running vdi-init. */
export class SidecarInit {
  private constructor(
    readonly proc: Background,
    private readonly pidNamespace: boolean,
    private readonly launched = false,
  ) {}

  static start(options: SidecarInitOptions): SidecarInit {
    const args = [
      '--bus', options.bus,
      '--plan', options.plan,
      ...(options.allowUids ?? ['0']).flatMap((uid) => ['--allow-uid', uid]),
      ...(options.grace === undefined ? [] : ['--grace', String(options.grace)]),
      '--',
      ...(options.hookArgs ?? []),
    ];
    // --kill-child: should unshare die, the init goes with it.
    const init = options.initPath ?? VDI_INIT;
    const command = [
      ...(options.launcher ?? []),
      ...(options.pidNamespace ? ['unshare', '--pid', '--fork', '--mount-proc', '--kill-child', init, ...args] : [init, ...args]),
    ];
    // Through sh only to join stderr to stdout (exec: the init keeps sh's pid), so the
    // lines stay in the order the init wrote them.
    const proc = new Background('/bin/sh', ['-c', 'exec "$@" 2>&1', 'sh', ...command], {
      env: { ...process.env, PATH: `${BIN_DIR}:${process.env.PATH ?? '/usr/bin:/bin'}` },
      log: options.log,
    });
    return new SidecarInit(proc, options.pidNamespace ?? false, options.launcher !== undefined);
  }

  /** The init's pid as the test sees it (under unshare: the init's host pid, unshare's child). */
  get pid(): number {
    if (this.launched) {
      const init = descendants(this.proc.pid).find((p) => p.comm === 'vdi-init');
      if (!init) throw new Error('the launcher has not started the init yet');
      return init.pid;
    }
    if (!this.pidNamespace) return this.proc.pid;
    const child = processTable().find((p) => p.ppid === this.proc.pid);
    if (!child) throw new Error('unshare has not started the init yet');
    return child.pid;
  }

  get output(): string {
    return this.proc.stdout;
  }

  /** A position in the output, to look only at what comes after it. */
  mark(): number {
    return this.proc.stdout.length;
  }

  /** Complete lines since `mark`, split into the prefix's name and the rest (log JSON made readable). */
  linesSince(mark = 0): InitLine[] {
    const text = this.proc.stdout.slice(mark);
    const complete = text.slice(0, text.lastIndexOf('\n') + 1);
    return complete
      .split('\n')
      .filter((l) => l.length > 0)
      .map((line) => {
        const m = /^\[([^\]]+)\] (.*)$/s.exec(line);
        return m ? { name: m[1], text: readableLogLine(m[2]) } : { name: '', text: line };
      });
  }

  /** Waits for a line from `name` matching `pattern` after `mark`; returns its match. */
  async waitForLine(name: string, pattern: RegExp, mark = 0, timeoutMs = 20_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const line of this.linesSince(mark)) {
        const m = line.name === name ? pattern.exec(line.text) : null;
        if (m) return m;
      }
      const tail = () => this.proc.stdout.slice(mark).slice(-4000);
      if (this.proc.exitResult) throw new Error(`vdi-init exited (code ${this.proc.exitResult.code}) before [${name}] printed ${pattern}:\n${tail()}`);
      if (Date.now() >= deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for [${name}] ${pattern}; output since mark:\n${tail()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Waits for the init to start `name` (after `mark`) and returns the child's pid. */
  async waitStarted(name: string, mark = 0, timeoutMs = 20_000): Promise<number> {
    const m = await this.waitForLine('vdi-init', new RegExp(`^started ${name.replace(/[.]/g, '\\.')}, pid (\\d+):`), mark, timeoutMs);
    return Number(m[1]);
  }

  /** The pid of the last start of `name`. */
  pidOf(name: string): number {
    const starts = this.linesSince()
      .filter((l) => l.name === 'vdi-init')
      .map((l) => new RegExp(`^started ${name}, pid (\\d+):`).exec(l.text))
      .filter((m): m is RegExpExecArray => m !== null);
    if (starts.length === 0) throw new Error(`vdi-init has not started ${name}`);
    return Number(starts[starts.length - 1][1]);
  }

  /** Every process below the init. */
  tree(): ProcEntry[] {
    return descendants(this.pid);
  }

  /** The init's resident memory from /proc: all of it, and the part that is its own (not file pages). */
  memory(): { rssKiB: number; anonKiB: number } {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? NaN);
    return { rssKiB: field('VmRSS'), anonKiB: field('RssAnon') };
  }

  signal(signal: NodeJS.Signals): void {
    process.kill(this.pid, signal);
  }

  get exited(): Promise<RunResult> {
    return this.proc.exited;
  }

  /** Sends SIGKILL to the init and everything below it (cleanup after a failed test). */
  kill(): void {
    if (this.proc.exitResult) return;
    let pids = [this.proc.pid];
    try {
      pids = [...this.tree().map((p) => p.pid), this.pid, ...pids];
    } catch {
      // unshare's child is gone already
    }
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/**
 * Calls the KubeVirt hook on `socket` with Python's grpcio (a client we did not write): the
 * request's fields are all bytes (`[number, value]`); resolves with the raw response bytes.
 */
export function callHook(socket: string, method: string, fields: [number, string | Buffer][] = []): Buffer {
  const script = String.raw`
import base64, json, sys
import grpc

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)

req = json.load(sys.stdin)
body = b"".join(varint(num << 3 | 2) + varint(len(base64.b64decode(v))) + base64.b64decode(v) for num, v in req["fields"])
call = grpc.insecure_channel("unix://" + req["socket"]).unary_unary(req["method"], request_serializer=lambda b: b, response_deserializer=lambda b: b)
print(base64.b64encode(call(body, timeout=20)).decode())
`;
  const input = JSON.stringify({ socket, method, fields: fields.map(([n, v]) => [n, Buffer.from(v).toString('base64')]) });
  // Debian's python3, where scripts/setup-system.sh installs python3-grpcio (not a pyenv one).
  const python = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
  const result = spawnSync(python, ['-c', script], { input, encoding: 'utf8', timeout: 30_000 });
  if (result.status !== 0) throw new Error(`grpcio call ${method} failed: ${result.stderr}`);
  return Buffer.from(result.stdout.trim(), 'base64');
}

/** Reads the bytes of protobuf field `field` (wire type 2) of a message: e.g. OnDefineDomainResult's domainXML (1). */
export function protoBytesField(message: Buffer, field: number): Buffer | undefined {
  let at = 0;
  const varint = () => {
    let value = 0;
    for (let shift = 0; ; shift += 7) {
      if (at >= message.length) throw new Error('truncated protobuf varint');
      const b = message[at++];
      value += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return value;
    }
  };
  while (at < message.length) {
    const key = varint();
    const wire = key & 7;
    if (wire === 0) varint();
    else if (wire === 1) at += 8;
    else if (wire === 5) at += 4;
    else if (wire === 2) {
      const length = varint();
      if (key >>> 3 === field) return message.subarray(at, at + length);
      at += length;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
  return undefined;
}

/** OnDefineDomain (v1alpha3) through {@link callHook}, as virt-launcher calls it; returns the new domain XML. */
export function hookDefineDomain(socket: string, domainXml: string, vmiJson: string): string {
  const out = callHook(socket, '/kubevirt.hooks.v1alpha3.Callbacks/OnDefineDomain', [
    [1, domainXml],
    [2, vmiJson],
  ]);
  return (protoBytesField(out, 1) ?? Buffer.alloc(0)).toString('utf8');
}
