// qemu-vnc's authentication with a real client (TigerVNC's vncviewer): VNC Authentication
// with a password file, the limit on failed attempts, VeNCrypt with an X.509 certificate,
// and the refusal to listen beyond loopback without either.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  TigerVncViewer,
  Xvfb,
  ensureQemuVncBuilt,
  freeVncDisplay,
  plainPasswordFile,
  runQemuVnc,
  selfSignedCert,
  startQemuVnc,
  vncPasswdFile,
  type CertFiles,
  type QemuVnc,
  type RunResult,
} from '../src/clients/index.js';
import { expectPictureConverges } from '../src/converge.js';
import { QEMU_VERSIONS, startRig, waitFor, type Rig } from '../src/index.js';

const PASSWORD = 'S3cret-pw';
const VIEWER_ARGS = ['-AutoSelect=0', '-FullColor', '-PreferredEncoding=zrle'];

describe.each(QEMU_VERSIONS)('qemu-vnc authentication on QEMU %s', (qemu) => {
  let rig: Rig;
  let x: Xvfb;
  let dir: string;
  let serverPassword: string;
  let rightPasswd: string;
  let wrongPasswd: string;
  let cert: CertFiles;
  let otherCert: CertFiles;
  /** qemu-vnc instances of the current test, stopped after it. */
  const servers: QemuVnc[] = [];
  const viewers: TigerVncViewer[] = [];
  const log = () => join(rig.artifactsDir, 'clients.log');

  beforeAll(async () => {
    ensureQemuVncBuilt();
    dir = mkdtempSync(join(tmpdir(), 'vdi-auth-'));
    serverPassword = await plainPasswordFile(dir, 'password', PASSWORD);
    rightPasswd = await vncPasswdFile(dir, 'right.passwd', PASSWORD);
    wrongPasswd = await vncPasswdFile(dir, 'wrong.passwd', 'not-it');
    cert = await selfSignedCert(dir, 'server');
    otherCert = await selfSignedCert(dir, 'other');
    rig = await startRig({ qemu, name: `qemu-vnc-auth-${qemu}` });
    for (const file of ['qemu-vnc.log', 'clients.log']) writeFileSync(join(rig.artifactsDir, file), '');
    x = await Xvfb.start({ log: log() });
    await rig.guest.check('vdi-pattern 8');
  });

  afterEach(async () => {
    for (const v of viewers.splice(0)) await v.stop();
    for (const s of servers.splice(0)) await s.stop();
  });

  afterAll(async () => {
    await x?.stop();
    await rig?.stop();
  });

  async function serve(args: string[], listenHost = '127.0.0.1'): Promise<{ vnc: QemuVnc; port: number }> {
    const display = await freeVncDisplay();
    const vnc = await startQemuVnc({
      busAddress: rig.busAddress,
      listen: `${listenHost}:${5900 + display}`,
      args,
      log: join(rig.artifactsDir, 'qemu-vnc.log'),
    });
    servers.push(vnc);
    return { vnc, port: 5900 + display };
  }

  function viewer(server: string, args: string[]): TigerVncViewer {
    const v = TigerVncViewer.start(x, { server, args: [...VIEWER_ARGS, ...args], log: log() });
    viewers.push(v);
    return v;
  }

  /** Runs a viewer that is expected to fail; returns how it exited. */
  async function failingViewer(server: string, args: string[]): Promise<RunResult> {
    const v = viewer(server, args);
    const timer = setTimeout(() => void v.stop(), 20_000);
    const result = await v.proc.exited;
    clearTimeout(timer);
    return result;
  }

  it('VNC Authentication: TigerVNC with the right password file sees the screen', async () => {
    const { vnc, port } = await serve(['--password-file', serverPassword]);
    const v = viewer(`127.0.0.1::${port}`, ['-SecurityTypes=VncAuth', `-passwd=${rightPasswd}`]);
    await v.waitForWindow();
    await expectPictureConverges(() => v.picture(), () => rig.screendump(), 'vncauth');
    expect(v.output).toMatch(/Choosing security type VncAuth\(2\)/);
    expect(vnc.stderr).toMatch(/client \d+ \(127\.0\.0\.1\) connected/);
    expect(vnc.stderr).not.toMatch(/authentication failed/);
  });

  it('refuses a wrong password, then, after 5 failures, even the right one for a while', async () => {
    const { vnc, port } = await serve(['--password-file', serverPassword]);
    for (let i = 1; i <= 5; i++) {
      const mark = vnc.mark();
      // TigerVNC reports the server's reason and exits (with code 0, as 1.12 does when
      // told not to show alerts); it never opens a desktop window.
      const res = await failingViewer(`127.0.0.1::${port}`, ['-SecurityTypes=VncAuth', `-passwd=${wrongPasswd}`]);
      expect(res.signal, res.stderr).toBeNull();
      expect(res.stderr).toMatch(/Authentication failure: Authentication failed: wrong password/);
      // qemu-vnc says so in its log, once per attempt.
      await vnc.waitForLog(/authentication failed: wrong password/, mark);
      expect(vnc.logSince(mark).filter((l) => /authentication failed/.test(l))).toHaveLength(1);
    }
    // Over the limit: the right password does not help.
    const mark = vnc.mark();
    const blocked = await failingViewer(`127.0.0.1::${port}`, ['-SecurityTypes=VncAuth', `-passwd=${rightPasswd}`]);
    expect(blocked.signal, blocked.stderr).toBeNull();
    // (TigerVNC wraps long log lines.)
    expect(blocked.stderr.replace(/\s+/g, ' ')).toMatch(/Authentication failure: too many authentication failures from this address/);
    await vnc.waitForLog(/too many authentication failures/, mark);
    expect(vnc.logSince(mark).some((l) => / connected, RFB/.test(l))).toBe(false);
    expect(vnc.alive).toBe(true);
  });

  it('VeNCrypt X509Vnc: TigerVNC checks the certificate against its CA and authenticates over TLS', async () => {
    const { vnc, port } = await serve(['--password-file', serverPassword, '--tls-cert', cert.cert, '--tls-key', cert.key]);
    const v = viewer(`localhost::${port}`, ['-SecurityTypes=X509Vnc', `-X509CA=${cert.cert}`, `-passwd=${rightPasswd}`]);
    await v.waitForWindow();
    await expectPictureConverges(() => v.picture(), () => rig.screendump(), 'x509vnc');
    expect(v.output).toMatch(/Choosing security type X509Vnc \(261\)/);
    // With a CA that did not sign the server's certificate TigerVNC does not go on: it asks
    // the user about the unknown issuer, and the server sees no client get through.
    const mark = vnc.mark();
    const untrusting = viewer(`localhost::${port}`, ['-SecurityTypes=X509Vnc', `-X509CA=${otherCert.cert}`, `-passwd=${rightPasswd}`]);
    await waitFor(async () => (await x.findWindows('^Unknown certificate issuer$')).length > 0, {
      message: () => `TigerVNC's "Unknown certificate issuer" question; its output:\n${untrusting.output}`,
      timeoutMs: 20_000,
    });
    expect(await x.findWindows('TigerVNC$')).toHaveLength(1); // only the first viewer's desktop
    expect(vnc.logSince(mark).some((l) => / connected, RFB/.test(l))).toBe(false);
  });

  it('VeNCrypt X509None: TLS with a certificate and no password', async () => {
    const { port } = await serve(['--tls-cert', cert.cert, '--tls-key', cert.key]);
    const v = viewer(`localhost::${port}`, ['-SecurityTypes=X509None', `-X509CA=${cert.cert}`]);
    await v.waitForWindow();
    await expectPictureConverges(() => v.picture(), () => rig.screendump(), 'x509none');
    expect(v.output).toMatch(/Choosing security type X509None \(260\)/);
  });

  it('will not listen beyond loopback without a password or TLS, unless --insecure', async () => {
    const display = await freeVncDisplay();
    const refused = await runQemuVnc({ busAddress: rig.busAddress, listen: `0.0.0.0:${5900 + display}` });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/refusing to listen on 0\.0\.0\.0:\d+, beyond loopback, without authentication/);
    expect(refused.stderr).toMatch(/--password-file/);
    expect(refused.stdout).toBe('');

    const { vnc, port } = await serve(['--insecure'], '0.0.0.0');
    expect(vnc.host).toBe('0.0.0.0');
    expect(port).toBe(vnc.port);
    const v = viewer(`127.0.0.1::${port}`, []);
    await v.waitForWindow();
    await expectPictureConverges(() => v.picture(), () => rig.screendump(), 'insecure');
  });
});
