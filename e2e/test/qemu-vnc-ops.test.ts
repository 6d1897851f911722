// qemu-vnc's operations side on its --http port: Kubernetes probes before the VM exists,
// while it runs and after it leaves; Prometheus counters that move by what a client really
// received; the password guarding the web console, /api/vm and /screenshot.png; JSON logs.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureQemuVncBuilt, plainPasswordFile, startQemuVnc, WebConsoleBrowser, type QemuVnc } from '../src/clients/index.js';
import { RawRfbClient } from '../src/clients/raw-rfb.js';
import { expectPictureConverges } from '../src/converge.js';
import { QEMU_VERSIONS, startRig, waitFor, type Rig } from '../src/index.js';

async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  const r = await fetch(url, { headers });
  return { status: r.status, body: await r.text() };
}

/** One sample of the text exposition format, e.g. `vdi_sent_bytes_total{protocol="vnc"}`. */
async function metric(vnc: QemuVnc, sample: string): Promise<number> {
  const text = (await get(`${vnc.httpUrl}metrics`)).body;
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  if (!line) throw new Error(`no ${sample} in /metrics:\n${text}`);
  return Number(line.slice(sample.length + 1));
}

describe.each(QEMU_VERSIONS)('qemu-vnc probes and metrics on QEMU %s', (qemu) => {
  let rig: Rig;
  let vnc: QemuVnc;

  beforeAll(async () => {
    ensureQemuVncBuilt();
    rig = await startRig({ qemu, name: `qemu-vnc-ops-${qemu}` });
    writeFileSync(join(rig.artifactsDir, 'qemu-vnc.log'), '');
  });

  afterAll(async () => {
    const result = await vnc?.stop();
    await rig?.stop();
    expect(result?.code).toBe(0);
  });

  it('probes: live but not ready before the VM exists, ready while it runs', async () => {
    await rig.stopQemu();
    vnc = await startQemuVnc({ busAddress: rig.busAddress, listen: '127.0.0.1:0', http: '127.0.0.1:0', log: join(rig.artifactsDir, 'qemu-vnc.log') });
    expect(await get(`${vnc.httpUrl}healthz`)).toEqual({ status: 200, body: 'ok\n' });
    await waitFor(async () => (await get(`${vnc.httpUrl}readyz`)).body === 'not ready: bus connected, no VM (yet)\n', { message: 'readyz to say there is no VM' });
    expect((await get(`${vnc.httpUrl}readyz`)).status).toBe(503);
    expect(await metric(vnc, 'vdi_vm_attached')).toBe(0);
    await rig.startQemu();
    await waitFor(async () => (await get(`${vnc.httpUrl}readyz`)).status === 200, { message: 'readyz to turn 200 once the VM is there', timeoutMs: 30_000 });
    expect(await get(`${vnc.httpUrl}readyz`)).toEqual({ status: 200, body: 'ready\n' });
    expect(await get(`${vnc.httpUrl}healthz`)).toEqual({ status: 200, body: 'ok\n' });
    expect(await metric(vnc, 'vdi_vm_attached')).toBe(1);
  });

  it('metrics: bytes and frames sent move by what a client received; damage and encode time are counted', async () => {
    await rig.guest.check('vdi-pattern 3');
    const before = {
      bytes: await metric(vnc, 'vdi_sent_bytes_total{protocol="vnc"}'),
      frames: await metric(vnc, 'vdi_frames_sent_total{protocol="vnc"}'),
      raw: await metric(vnc, 'vdi_encode_seconds_count{protocol="vnc",encoding="raw"}').catch(() => 0),
      damage: await metric(vnc, 'vdi_display_damaged_pixels_total'),
    };
    const client = await RawRfbClient.connect(Number(vnc.port));
    const { width, height, bitsPerPixel } = await client.handshakeNone();
    expect(await metric(vnc, 'vdi_clients{protocol="vnc"}')).toBe(1);
    client.setEncodings([0]); // Raw only: no pseudo-encodings, nothing but pixels comes back
    client.requestUpdate(false, width, height);
    // One FramebufferUpdate: its header, then Raw rectangles until the whole screen is there.
    const header = await client.read(4);
    expect(header[0]).toBe(0);
    let pixels = 0;
    for (let i = 0; i < header.readUInt16BE(2); i++) {
      const rect = await client.read(12);
      expect(rect.readInt32BE(8)).toBe(0);
      const n = rect.readUInt16BE(4) * rect.readUInt16BE(6);
      await client.read((n * bitsPerPixel) / 8);
      pixels += n;
    }
    expect(pixels).toBe(width * height);
    await waitFor(async () => (await metric(vnc, 'vdi_sent_bytes_total{protocol="vnc"}')) - before.bytes === client.received, {
      message: 'the byte counter to move by what the client received',
    });
    expect(await metric(vnc, 'vdi_frames_sent_total{protocol="vnc"}')).toBe(before.frames + 1);
    expect(await metric(vnc, 'vdi_encode_seconds_count{protocol="vnc",encoding="raw"}')).toBe(before.raw + 1);
    client.destroy();
    await waitFor(async () => (await metric(vnc, 'vdi_clients{protocol="vnc"}')) === 0, { message: 'the client gauge back at 0' });
    await rig.guest.check('vdi-pattern 4');
    await waitFor(async () => (await metric(vnc, 'vdi_display_damaged_pixels_total')) - before.damage >= 1024 * 768 * 0.9, {
      message: 'a new pattern to count as damage',
    });
  });

  it('logs JSON lines with time, level, process and message when stderr is not a terminal', () => {
    const lines = vnc.rawStderr.split('\n').filter((l) => l);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      expect(Object.keys(JSON.parse(line) as object), line).toEqual(['time', 'level', 'process', 'msg']);
    }
    expect(lines.map((l) => JSON.parse(l) as { msg: string }).some((e) => /^client \d+ \(127\.0\.0\.1\) connected, RFB 3\.8$/.test(e.msg))).toBe(true);
  });

  it('probes: not ready after the VM leaves, still live', async () => {
    await rig.stopQemu();
    await waitFor(async () => (await get(`${vnc.httpUrl}readyz`)).status === 503, { message: 'readyz to turn 503 once QEMU is gone' });
    expect(await get(`${vnc.httpUrl}readyz`)).toEqual({ status: 503, body: 'not ready: bus connected, no VM (yet)\n' });
    expect(await get(`${vnc.httpUrl}healthz`)).toEqual({ status: 200, body: 'ok\n' });
    await rig.startQemu();
  });
});

describe.each(QEMU_VERSIONS)('qemu-vnc web console with a password on QEMU %s', (qemu) => {
  const PASSWORD = 'pa55word';
  let rig: Rig;
  let vnc: QemuVnc;
  let browser: WebConsoleBrowser | undefined;

  beforeAll(async () => {
    ensureQemuVncBuilt();
    rig = await startRig({ qemu, name: `qemu-vnc-web-auth-${qemu}` });
    const dir = mkdtempSync(join(tmpdir(), 'vdi-web-auth-'));
    vnc = await startQemuVnc({
      busAddress: rig.busAddress,
      listen: '127.0.0.1:0',
      http: '127.0.0.1:0',
      args: ['--password-file', await plainPasswordFile(dir, 'password', PASSWORD)],
      log: join(rig.artifactsDir, 'qemu-vnc.log'),
    });
  });

  afterAll(async () => {
    await browser?.close();
    const result = await vnc?.stop();
    await rig?.stop();
    expect(result?.code).toBe(0);
  });

  it('the page asks for the password, refuses a wrong one and shows the VM with the right one', async () => {
    const failures = await metric(vnc, 'vdi_auth_failures_total{protocol="vnc"}');
    browser = await WebConsoleBrowser.open(vnc.httpUrl!);
    await browser.waitStatus('password');
    expect(await browser.passwordPrompt()).toEqual({ visible: true, error: '' });
    expect((await browser.picture()).width).toBe(0); // nothing of the VM shows

    await browser.enterPassword('wrong');
    await browser.waitStatus('failed');
    expect(await browser.passwordPrompt()).toEqual({ visible: true, error: 'Authentication failed: wrong password' });
    expect(await metric(vnc, 'vdi_auth_failures_total{protocol="vnc"}')).toBe(failures + 1);
    expect((await browser.picture()).width).toBe(0);

    await browser.enterPassword(PASSWORD);
    await browser.waitStatus('connected');
    expect((await browser.passwordPrompt()).visible).toBe(false);
    await rig.guest.check('vdi-pattern 5');
    await expectPictureConverges(() => browser!.picture(), () => rig.screendump(), 'web-console-auth');
  });

  it('/api/vm and /screenshot.png want the password (HTTP Basic or Bearer); probes and metrics do not', async () => {
    const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
    for (const path of ['api/vm', 'screenshot.png']) {
      const none = await fetch(`${vnc.httpUrl}${path}`);
      expect(none.status, path).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Basic realm="vdi-sidecar"/);
      expect((await get(`${vnc.httpUrl}${path}`, basic('admin', 'wrong'))).status, path).toBe(401);
      expect((await get(`${vnc.httpUrl}${path}`, basic('anyone', PASSWORD))).status, path).toBe(200);
      expect((await get(`${vnc.httpUrl}${path}`, { authorization: `Bearer ${PASSWORD}` })).status, path).toBe(200);
    }
    const api = JSON.parse((await get(`${vnc.httpUrl}api/vm`, basic('', PASSWORD))).body) as { name: string; uuid: string };
    expect(api).toMatchObject({ name: rig.vmName, uuid: rig.uuid });
    for (const path of ['healthz', 'readyz', 'metrics']) expect((await get(`${vnc.httpUrl}${path}`)).status, path).toBe(200);
  });
});
