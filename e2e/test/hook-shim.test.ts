// The built hook-shim CLI (packages/hook-shim/dist/cli.js) as virt-launcher meets it: a gRPC
// server on a unix socket, called by a client we did not write — Python's grpcio, with
// hand-encoded protobuf — for Info, OnDefineDomain (v1alpha1, v1alpha2, v1alpha3),
// PreCloudInitIso and Shutdown; and the script mode KubeVirt's stock sidecar-shim runs.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readableLogLine } from '../src/clients/server-process.js';
import { E2E_DIR, REPO_DIR } from '../src/paths.js';

const PACKAGE_DIR = join(REPO_DIR, 'packages', 'hook-shim');
const CLI = join(PACKAGE_DIR, 'dist', 'cli.js');
const FIXTURES = join(E2E_DIR, 'fixtures', 'hook-shim');
const DOMAIN = readFileSync(join(FIXTURES, 'domain.xml'), 'utf8');
const VMI = readFileSync(join(FIXTURES, 'vmi.json'), 'utf8');
const CONTAINER_NAME = 'hook-sidecar-0';
const BUS_ADDRESS = `unix:path=/var/run/kubevirt-hooks/${CONTAINER_NAME}/vdi/bus`;
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/** Builds the package when dist/ is missing or older than its sources (nx does not build it for e2e). */
function ensureBuilt(): void {
  const newest = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir, { withFileTypes: true }).map((e) =>
        e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs,
      ),
    );
  if (existsSync(CLI) && statSync(CLI).mtimeMs >= newest(join(PACKAGE_DIR, 'src'))) return;
  execFileSync(process.execPath, [join(REPO_DIR, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.lib.json'], {
    cwd: PACKAGE_DIR,
    stdio: 'inherit',
  });
}

// A generic unary call with grpcio: request fields are all length-delimited (bytes), the
// response is decoded field by field (numbers listed in "nested" as sub-messages).
const PY_CLIENT = String.raw`
import base64, json, sys
import grpc

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)

def read_varint(buf, i):
    n = shift = 0
    while True:
        b = buf[i]
        i += 1
        n |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return n, i

def encode(fields):
    out = b""
    for num, value in fields:
        data = base64.b64decode(value)
        out += varint(num << 3 | 2) + varint(len(data)) + data
    return out

def decode(buf, nested):
    fields = []
    i = 0
    while i < len(buf):
        key, i = read_varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            value, i = read_varint(buf, i)
        elif wire == 2:
            size, i = read_varint(buf, i)
            data = buf[i:i + size]
            i += size
            value = decode(data, []) if num in nested else base64.b64encode(data).decode()
        else:
            raise ValueError("unexpected wire type %d" % wire)
        fields.append([num, value])
    return fields

req = json.load(sys.stdin)
channel = grpc.insecure_channel("unix://" + req["socket"])
call = channel.unary_unary(req["method"], request_serializer=lambda b: b, response_deserializer=lambda b: b)
try:
    response = call(encode(req["fields"]), timeout=10)
    print(json.dumps({"ok": True, "fields": decode(response, req["nested"])}))
except grpc.RpcError as err:
    print(json.dumps({"ok": False, "code": err.code().name, "details": err.details()}))
`;

type PyField = [number, string | number | PyField[]];
type PyResult = { ok: true; fields: PyField[] } | { ok: false; code: string; details: string };

function grpcCall(socket: string, method: string, fields: [number, string | Buffer][] = [], nested: number[] = []): PyResult {
  const request = {
    socket,
    method,
    fields: fields.map(([n, v]) => [n, Buffer.from(v).toString('base64')]),
    nested,
  };
  const result = spawnSync(PYTHON, ['-c', PY_CLIENT], { input: JSON.stringify(request), encoding: 'utf8', timeout: 30_000 });
  if (result.status !== 0) throw new Error(`python client failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as PyResult;
}

function ok(result: PyResult): PyField[] {
  if (!result.ok) throw new Error(`call failed: ${result.code}: ${result.details}`);
  return result.fields;
}

function bytesField(fields: PyField[], n: number): Buffer {
  const found = fields.find(([num]) => num === n);
  return found ? Buffer.from(found[1] as string, 'base64') : Buffer.alloc(0);
}

function callDefineDomain(socket: string, version: string, domain: string | Buffer, vmi: string): PyResult {
  return grpcCall(socket, `/kubevirt.hooks.${version}.Callbacks/OnDefineDomain`, [
    [1, domain],
    [2, vmi],
  ]);
}

/** Well-formedness by libxml2 (xmllint), not by the code under test. */
function wellFormed(xml: string): boolean {
  return spawnSync('xmllint', ['--noout', '-'], { input: xml }).status === 0;
}

interface Served {
  child: ChildProcess;
  socket: string;
  /** Its log, lines made readable (see readableLogLine). */
  stderr: () => string;
  rawStderr: () => string;
  exited: Promise<number | null>;
}

async function startServe(socketDir: string, extraArgs: string[] = []): Promise<Served> {
  const child = spawn(process.execPath, [CLI, 'serve', '--socket-dir', socketDir, ...extraArgs], {
    env: { ...process.env, CONTAINER_NAME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hook-shim serve printed no address; stderr: ${stderr}`)), 20_000);
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      const line = stdout.split('\n')[0];
      if (stdout.includes('\n')) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`hook-shim serve exited (${code}) before serving; stderr: ${stderr}`));
    });
  });
  expect(address).toBe(`unix://${join(socketDir, `${CONTAINER_NAME}.sock`)}`);
  // Its log is JSON lines (stderr is a pipe): read as "hook-shim: level: message".
  return { child, socket: address.slice('unix://'.length), rawStderr: () => stderr, stderr: () => stderr.split('\n').map(readableLogLine).join('\n'), exited };
}

async function waitFor(check: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const tmp = mkdtempSync(join(tmpdir(), 'hook-shim-e2e-'));
const running: ChildProcess[] = [];

beforeAll(() => {
  ensureBuilt();
  const probe = spawnSync(PYTHON, ['-c', 'import grpc'], { encoding: 'utf8' });
  if (probe.status !== 0) throw new Error(`Python grpcio is missing (${PYTHON}: ${probe.stderr.trim()}): run scripts/setup-system.sh`);
}, 120_000);

afterAll(() => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

describe('hook-shim serve, called by Python grpcio', () => {
  const socketDir = join(tmp, 'hooks');
  const configOut = join(tmp, 'state', 'config.json');
  let served: Served;

  beforeAll(async () => {
    served = await startServe(socketDir, ['--config-out', configOut]);
    running.push(served.child);
  });

  it('Info: name, hook points and versions', () => {
    const fields = ok(grpcCall(served.socket, '/kubevirt.hooks.info.Info/Info', [], [3]));
    const strings = (n: number) => fields.filter(([num]) => num === n).map(([, v]) => Buffer.from(v as string, 'base64').toString());
    expect(strings(1)).toEqual([CONTAINER_NAME]);
    expect(strings(4)).toEqual(['v1alpha1', 'v1alpha2', 'v1alpha3']);
    const hookPoints = fields
      .filter(([num]) => num === 3)
      .map(([, sub]) => {
        const hp = sub as PyField[];
        return {
          name: Buffer.from(bytesField(hp, 1)).toString(),
          priority: (hp.find(([n]) => n === 2)?.[1] as number | undefined) ?? 0,
        };
      });
    expect(hookPoints).toEqual([
      { name: 'OnDefineDomain', priority: 0 },
      { name: 'Shutdown', priority: 0 },
    ]);
  });

  let rewritten = '';
  it.each(['v1alpha1', 'v1alpha2', 'v1alpha3'])('OnDefineDomain %s: D-Bus display, audio, tablet, VNC kept, idempotent', (version) => {
    const xml = bytesField(ok(callDefineDomain(served.socket, version, DOMAIN, VMI)), 1).toString('utf8');
    expect(wellFormed(xml)).toBe(true);
    const graphics = xml.match(/<graphics type="dbus" address="([^"]+)">\s*<gl enable="no"\/>\s*<audio id="(\d+)"\/>\s*<\/graphics>/);
    expect(graphics?.[1]).toBe(BUS_ADDRESS);
    expect(xml).toContain(`<audio id="${graphics?.[2]}" type="dbus"/>`);
    expect(xml).toContain('<input type="tablet" bus="usb"/>');
    expect(xml).toContain('<controller type="usb" index="0" model="qemu-xhci"></controller>');
    expect(xml).toMatch(/<channel type="qemu-vdagent">\s*<source>\s*<clipboard copypaste="yes"\/>\s*<\/source>\s*<target type="virtio" name="com.redhat.spice.0"\/>/);
    expect(xml).toContain('<graphics type="vnc">\n\t\t\t<listen type="socket" socket="/var/run/kubevirt-private/8c4f1f0e-2d7b-4f6a-9a53-7e0d3c2b1a90/virt-vnc"></listen>');
    expect(xml).toContain('\t<qemu:commandline>\n\t\t<qemu:arg value="-set"></qemu:arg>');
    // The same answer from every version, and nothing more to do on a second pass.
    if (rewritten) expect(xml).toBe(rewritten);
    rewritten = xml;
    const again = bytesField(ok(callDefineDomain(served.socket, version, xml, VMI)), 1).toString('utf8');
    expect(again).toBe(xml);
  });

  it('logs the masquerade warning, and hands the configuration on', async () => {
    await waitFor(() => served.stderr().includes('lists no ports'), 'the masquerade warning');
    expect(served.stderr()).toMatch(/warn: interface "default" binds the pod network with masquerade and lists no ports.*Fix: list the ports/);
    await waitFor(() => existsSync(configOut), 'the configuration file');
    const written = JSON.parse(readFileSync(configOut, 'utf8')) as {
      vmi: { namespace: string; name: string };
      config: { web: { enabled: boolean; port: number }; vnc: { listen: string } };
      warnings: string[];
    };
    expect(written.vmi).toEqual({ namespace: 'vdi-demo', name: 'desktop' });
    expect(written.config.web).toEqual({ enabled: true, listen: '127.0.0.1', port: 6081 });
    expect(written.config.vnc.listen).toBe('127.0.0.1');
    expect(written.warnings.join('\n')).toMatch(/lists no ports/);
  });

  it('follows the annotations', () => {
    const vmi = JSON.parse(VMI) as { metadata: { annotations: Record<string, string> } };
    Object.assign(vmi.metadata.annotations, {
      'vdi-sidecar.io/keep-kubevirt-vnc': 'off',
      'vdi-sidecar.io/audio': 'off',
      'vdi-sidecar.io/tablet': 'off',
      'vdi-sidecar.io/clipboard': 'off',
    });
    const xml = bytesField(ok(callDefineDomain(served.socket, 'v1alpha3', DOMAIN, JSON.stringify(vmi))), 1).toString('utf8');
    expect(xml).toContain(`<graphics type="dbus" address="${BUS_ADDRESS}">`);
    expect(xml).not.toContain('<graphics type="vnc">');
    expect(xml).not.toMatch(/type="dbus"\/>|<input |qemu-vdagent|qemu-xhci/);
  });

  it.each(['v1alpha2', 'v1alpha3'])('PreCloudInitIso %s returns the cloud-init data unchanged', (version) => {
    const noCloud = '{"userData":"#cloud-config\\n"}';
    const data = '{"DataSource":"NoCloud","NoCloudMetaData":{"instance-id":"desktop.vdi-demo"},"UserData":"#cloud-config\\n"}';
    const fields = ok(
      grpcCall(served.socket, `/kubevirt.hooks.${version}.Callbacks/PreCloudInitIso`, [
        [1, noCloud],
        [2, VMI],
        [3, data],
      ]),
    );
    expect(bytesField(fields, 1).toString()).toBe(noCloud);
    expect(bytesField(fields, 3).toString()).toBe(data);
  });

  it('answers malformed XML and bad annotations with INVALID_ARGUMENT, and keeps serving', () => {
    const malformed = callDefineDomain(served.socket, 'v1alpha3', DOMAIN.replace('</devices>', ''), VMI);
    expect(malformed).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT', details: expect.stringMatching(/^malformed domain XML: /) });
    const vmi = JSON.parse(VMI) as { metadata: { annotations: Record<string, string> } };
    vmi.metadata.annotations['vdi-sidecar.io/tablet'] = 'maybe';
    const badAnnotation = callDefineDomain(served.socket, 'v1alpha1', DOMAIN, JSON.stringify(vmi));
    expect(badAnnotation).toMatchObject({
      ok: false,
      code: 'INVALID_ARGUMENT',
      details: 'annotation vdi-sidecar.io/tablet: "maybe" is not a switch; it accepts "on" or "off" ("true" or "false")',
    });
    const badVmi = callDefineDomain(served.socket, 'v1alpha2', DOMAIN, '{"metadata":');
    expect(badVmi).toMatchObject({ ok: false, code: 'INVALID_ARGUMENT' });
    expect(served.child.exitCode).toBe(null);
    expect(ok(callDefineDomain(served.socket, 'v1alpha3', DOMAIN, VMI)).length).toBe(1);
  });

  it('Shutdown (v1alpha3): answers, exits 0 and removes its socket', async () => {
    expect(ok(grpcCall(served.socket, '/kubevirt.hooks.v1alpha3.Callbacks/Shutdown'))).toEqual([]);
    expect(await served.exited).toBe(0);
    expect(existsSync(served.socket)).toBe(false);
    expect(served.stderr()).toMatch(/stopping \(Shutdown hook\)/);
  });
});

describe('hook-shim serve, process life', () => {
  it('exits 0 on SIGTERM and SIGINT, removing its socket', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const served = await startServe(join(tmp, `signal-${signal}`));
      running.push(served.child);
      served.child.kill(signal);
      expect(await served.exited).toBe(0);
      expect(existsSync(served.socket)).toBe(false);
    }
  });

  it('answers Kubernetes probes on --http while it serves; its log is JSON lines', async () => {
    const served = await startServe(join(tmp, 'probes'), ['--http', '127.0.0.1:0']);
    running.push(served.child);
    await waitFor(() => /probes on http:\/\/127\.0\.0\.1:\d+\//.test(served.stderr()), 'the probes address');
    const base = /probes on (http:\/\/127\.0\.0\.1:\d+)\//.exec(served.stderr())![1];
    const health = await fetch(`${base}/healthz`);
    const ready = await fetch(`${base}/readyz`);
    expect([health.status, ready.status]).toEqual([200, 200]);
    const raw = served.rawStderr().split('\n').filter((l) => l.length > 0);
    for (const line of raw) expect(Object.keys(JSON.parse(line) as object)).toEqual(['time', 'level', 'process', 'msg']);
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
  });

  it('takes over the socket of a killed predecessor, and refuses a live one', async () => {
    const dir = join(tmp, 'restart');
    const first = await startServe(dir);
    running.push(first.child);
    const second = spawnSync(process.execPath, [CLI, 'serve', '--socket-dir', dir], { env: { ...process.env, CONTAINER_NAME }, encoding: 'utf8' });
    expect(second.status).toBe(1);
    expect(second.stderr.trim()).toMatch(/^hook-shim: cannot serve on .*: another server is listening on/);
    first.child.kill('SIGKILL');
    await first.exited;
    expect(existsSync(first.socket)).toBe(true);
    const third = await startServe(dir);
    running.push(third.child);
    expect(ok(grpcCall(third.socket, '/kubevirt.hooks.info.Info/Info')).length).toBeGreaterThan(0);
    third.child.kill('SIGTERM');
    expect(await third.exited).toBe(0);
  });
});

describe('hook-shim onDefineDomain (script mode for the stock sidecar-shim)', () => {
  const env = { ...process.env, CONTAINER_NAME };

  it('prints the rewritten domain, as the gRPC server returns it', async () => {
    const run = spawnSync(process.execPath, [CLI, 'onDefineDomain', '--vmi', VMI, '--domain', DOMAIN], { env, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(`<graphics type="dbus" address="${BUS_ADDRESS}">`);
    expect(wellFormed(run.stdout)).toBe(true);
    expect(run.stderr).toMatch(/lists no ports/);
    const served = await startServe(join(tmp, 'compare'));
    running.push(served.child);
    expect(bytesField(ok(callDefineDomain(served.socket, 'v1alpha3', DOMAIN, VMI)), 1).toString('utf8')).toBe(run.stdout);
    served.child.kill('SIGTERM');
    expect(await served.exited).toBe(0);
    // Idempotent through the script too.
    const again = spawnSync(process.execPath, [CLI, 'onDefineDomain', '--vmi', VMI, '--domain', run.stdout], { env, encoding: 'utf8' });
    expect(again.stdout).toBe(run.stdout);
  });

  it('runs the same way through a link named onDefineDomain on PATH, as the shim looks it up', () => {
    const bin = join(tmp, 'bin');
    mkdirSync(bin, { recursive: true });
    symlinkSync(CLI, join(bin, 'onDefineDomain'));
    symlinkSync(CLI, join(bin, 'preCloudInitIso'));
    const pathEnv = { ...env, PATH: `${bin}:${process.env.PATH ?? ''}` };
    const run = spawnSync('onDefineDomain', ['--vmi', VMI, '--domain', DOMAIN], { env: pathEnv, encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('<graphics type="dbus"');
    const cloudInit = '{"UserData":"#cloud-config\\n"}';
    const pre = spawnSync('preCloudInitIso', ['--vmi', VMI, '--cloud-init', cloudInit], { env: pathEnv, encoding: 'utf8' });
    expect([pre.status, pre.stdout]).toEqual([0, cloudInit]);
  });

  it('exits 1 with one line on bad input, 2 on bad usage', () => {
    const cases: [string[], number, RegExp][] = [
      [['--vmi', VMI, '--domain', '<domain>'], 1, /^hook-shim: malformed domain XML: unclosed/],
      [['--vmi', '{"metadata":{"annotations":{"vdi-sidecar.io/vnc-port":"x"}}}', '--domain', DOMAIN], 1, /^hook-shim: annotation vdi-sidecar\.io\/vnc-port: "x" is not a port/],
      [['--vmi', 'nope', '--domain', DOMAIN], 1, /^hook-shim: the VMI is not valid JSON/],
      [['--domain', DOMAIN], 2, /^hook-shim: onDefineDomain needs --vmi JSON and --domain XML \(see hook-shim --help\)$/],
    ];
    for (const [args, status, message] of cases) {
      const run = spawnSync(process.execPath, [CLI, 'onDefineDomain', ...args], { env, encoding: 'utf8' });
      expect(run.status).toBe(status);
      expect(run.stdout).toBe('');
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stderr.trim()).toMatch(message);
    }
  });

  it('needs a bus path when $CONTAINER_NAME is not set', () => {
    const { CONTAINER_NAME: _unset, ...noName } = env;
    const run = spawnSync(process.execPath, [CLI, 'onDefineDomain', '--vmi', VMI, '--domain', DOMAIN], { env: noName, encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/no bus path: give --bus-path/);
    const given = spawnSync(process.execPath, [CLI, 'onDefineDomain', '--vmi', VMI, '--domain', DOMAIN, '--bus-path', '/run/vdi/bus'], {
      env: noName,
      encoding: 'utf8',
    });
    expect(given.stdout).toContain('<graphics type="dbus" address="unix:path=/run/vdi/bus">');
  });

  it('--help documents both modes', () => {
    const run = spawnSync(process.execPath, [CLI, '--help'], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    for (const text of ['hook-shim serve', '--socket-dir', '--name', '--bus-path', 'hook-shim onDefineDomain --vmi JSON --domain XML', 'Exit codes']) {
      expect(run.stdout).toContain(text);
    }
  });
});
