import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server as NetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, credentials, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hookService, startHookServer, type HookServer, type HookServerOptions } from '../src/grpc/index.js';
import type { ServiceKey } from '../src/grpc/protos.js';
import type { DefineDomainOutcome } from '../src/hook.js';
import { BUS_ADDRESS, BUS_PATH, devices, fixture } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'hook-shim-grpc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One unary call through grpc-js's generic client, with the package's own service definitions. */
function call<Res>(address: string, key: ServiceKey, method: string, request: object): Promise<Res> {
  const definition = hookService(key)[method];
  const client = new Client(address, credentials.createInsecure());
  return new Promise<Res>((resolve, reject) => {
    client.makeUnaryRequest<object, Res>(
      definition.path,
      definition.requestSerialize,
      definition.responseDeserialize as (b: Buffer) => Res,
      request,
      { deadline: Date.now() + 10_000 },
      (err, res) => {
        client.close();
        if (err) reject(err);
        else resolve(res as Res);
      },
    );
  });
}

async function callError(address: string, key: ServiceKey, method: string, request: object): Promise<ServiceError> {
  try {
    await call(address, key, method, request);
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('the call succeeded');
}

const DOMAIN = fixture('kubevirt-domain.xml');
const VMI = fixture('vmi.json');

describe('hook server', () => {
  let server: HookServer;
  const logs: string[] = [];
  const outcomes: DefineDomainOutcome[] = [];
  let shutdowns = 0;

  beforeAll(async () => {
    server = await startHookServer({
      socketPath: join(dir, 'hooks', 'hook-sidecar-0.sock'),
      name: 'hook-sidecar-0',
      busPath: BUS_PATH,
      log: (level, message) => logs.push(`${level}: ${message}`),
      onDefineDomain: (o) => outcomes.push(o),
      onShutdown: () => shutdowns++,
    });
  });
  afterAll(() => server.close());

  it('serves on the socket, connectable by other users', () => {
    expect(server.address).toBe(`unix://${join(dir, 'hooks', 'hook-sidecar-0.sock')}`);
    expect(statSync(server.socketPath).mode & 0o777).toBe(0o666);
  });

  it('Info: name, hook points, versions', async () => {
    const info = await call(server.address, 'info', 'Info', {});
    expect(info).toEqual({
      name: 'hook-sidecar-0',
      hookPoints: [
        { name: 'OnDefineDomain', priority: 0 },
        { name: 'Shutdown', priority: 0 },
      ],
      versions: ['v1alpha1', 'v1alpha2', 'v1alpha3'],
    });
  });

  it.each(['v1alpha1', 'v1alpha2', 'v1alpha3'] as const)('OnDefineDomain %s rewrites the domain, idempotently', async (version) => {
    const result = await call<{ domainXML: Buffer }>(server.address, version, 'OnDefineDomain', {
      domainXML: Buffer.from(DOMAIN),
      vmi: Buffer.from(VMI),
    });
    const xml = result.domainXML.toString('utf8');
    const graphics = devices(xml).filter((d) => d.localName === 'graphics');
    expect(graphics.map((g) => g.getAttribute('type'))).toEqual(['vnc', 'dbus']);
    expect(graphics[1].getAttribute('address')).toBe(BUS_ADDRESS);
    const again = await call<{ domainXML: Buffer }>(server.address, version, 'OnDefineDomain', { domainXML: result.domainXML, vmi: Buffer.from(VMI) });
    expect(again.domainXML.toString('utf8')).toBe(xml);
    const outcome = outcomes[outcomes.length - 1];
    expect(outcome.vmi.name).toBe('vmi-fedora');
    expect(outcome.config.web.enabled).toBe(true);
    expect(logs.join('\n')).toMatch(new RegExp(`OnDefineDomain \\(${version}\\) for default/vmi-fedora: added`));
    expect(logs.join('\n')).toMatch(/warn: interface "default" binds the pod network with masquerade and lists no ports/);
  });

  it('applies the annotations', async () => {
    const vmi = JSON.parse(VMI) as { metadata: { annotations: Record<string, string> } };
    vmi.metadata.annotations['vdi-sidecar.io/keep-kubevirt-vnc'] = 'off';
    vmi.metadata.annotations['vdi-sidecar.io/clipboard'] = 'off';
    const result = await call<{ domainXML: Buffer }>(server.address, 'v1alpha3', 'OnDefineDomain', {
      domainXML: Buffer.from(DOMAIN),
      vmi: Buffer.from(JSON.stringify(vmi)),
    });
    const kinds = devices(result.domainXML.toString()).map((d) => `${d.localName}:${d.getAttribute('type') ?? ''}`);
    expect(kinds).toContain('graphics:dbus');
    expect(kinds).not.toContain('graphics:vnc');
    expect(kinds).not.toContain('channel:qemu-vdagent');
  });

  it.each(['v1alpha2', 'v1alpha3'] as const)('PreCloudInitIso %s returns the data unchanged', async (version) => {
    const request = {
      cloudInitNoCloudSource: Buffer.from('{"userData":"#cloud-config"}'),
      vmi: Buffer.from(VMI),
      cloudInitData: Buffer.from('{"DataSource":"NoCloud","NoCloudMetaData":{"instance-id":"x"}}'),
    };
    const result = await call<{ cloudInitNoCloudSource: Buffer; cloudInitData: Buffer }>(server.address, version, 'PreCloudInitIso', request);
    expect(result.cloudInitNoCloudSource).toEqual(request.cloudInitNoCloudSource);
    expect(result.cloudInitData).toEqual(request.cloudInitData);
  });

  it('answers bad input with INVALID_ARGUMENT and keeps serving', async () => {
    const cases: [object, RegExp][] = [
      [{ domainXML: Buffer.from('<domain><devices></domain>'), vmi: Buffer.from(VMI) }, /^malformed domain XML: .*mismatch/],
      [{ domainXML: Buffer.from([0x3c, 0xff, 0xfe]), vmi: Buffer.from(VMI) }, /^malformed domain XML: not UTF-8$/],
      [{ domainXML: Buffer.from('<network/>'), vmi: Buffer.from(VMI) }, /^not a libvirt domain/],
      [{ domainXML: Buffer.from(DOMAIN), vmi: Buffer.from('{"metadata":{"annotations":{"vdi-sidecar.io/vnc-port":"99999"}}}') }, /^annotation vdi-sidecar\.io\/vnc-port: "99999" is not a port/],
      [{ domainXML: Buffer.from(DOMAIN), vmi: Buffer.from('not json') }, /^the VMI is not valid JSON/],
      [{ domainXML: Buffer.from(DOMAIN) }, /^the VMI JSON is empty/],
    ];
    for (const [request, message] of cases) {
      const err = await callError(server.address, 'v1alpha3', 'OnDefineDomain', request);
      expect(err.code).toBe(status.INVALID_ARGUMENT);
      expect(err.details).toMatch(message);
    }
    const info = await call<{ name: string }>(server.address, 'info', 'Info', {});
    expect(info.name).toBe('hook-sidecar-0');
  });

  it('Shutdown answers, then tells the owner', async () => {
    expect(await call(server.address, 'v1alpha3', 'Shutdown', {})).toEqual({});
    await new Promise((r) => setImmediate(r));
    expect(shutdowns).toBe(1);
  });
});

describe('hook server socket handling', () => {
  const started: HookServer[] = [];
  const base = (socketPath: string): HookServerOptions => ({ socketPath, name: 'x', busPath: BUS_PATH });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((s) => s.close()));
  });

  it('subscribes to PreCloudInitIso on request', async () => {
    const server = await startHookServer({ ...base(join(dir, 'pre.sock')), subscribePreCloudInitIso: true });
    started.push(server);
    const info = await call<{ hookPoints: { name: string }[] }>(server.address, 'info', 'Info', {});
    expect(info.hookPoints.map((h) => h.name)).toEqual(['OnDefineDomain', 'PreCloudInitIso', 'Shutdown']);
  });

  it('replaces a stale socket, refuses a live one and a non-socket, removes its own on close', async () => {
    const path = join(dir, 'stale.sock');
    const live: NetServer = createServer();
    await new Promise<void>((r) => live.listen(path, r));
    await expect(startHookServer(base(path))).rejects.toThrow(/another server is listening on/);
    await new Promise<void>((r) => live.close(() => r()));
    rmSync(path, { force: true });
    // A process killed while listening leaves its socket file behind: taken over.
    const killed = spawnSync(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    expect(killed.signal).toBe('SIGKILL');
    expect(lstatSync(path).isSocket()).toBe(true);
    const server = await startHookServer(base(path));
    const info = await call<{ name: string }>(server.address, 'info', 'Info', {});
    expect(info.name).toBe('x');
    await server.close();
    expect(existsSync(path)).toBe(false);

    const file = join(dir, 'not-a-socket');
    writeFileSync(file, 'data');
    await expect(startHookServer(base(file))).rejects.toThrow(/exists and is not a socket/);
  });

  it('answers an unexpected failure with INTERNAL', async () => {
    const server = await startHookServer({ ...base(join(dir, 'internal.sock')), busPath: 'relative/bus' });
    started.push(server);
    const err = await callError(server.address, 'v1alpha3', 'OnDefineDomain', { domainXML: Buffer.from(DOMAIN), vmi: Buffer.from(VMI) });
    expect(err.code).toBe(status.INTERNAL);
    expect(err.details).toMatch(/busPath must be an absolute path/);
  });
});
