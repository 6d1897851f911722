// Clipboard text both ways between the guest and a real RDP client through qemu-rdp's
// "cliprdr" channel (MS-RDPECLIP): the guest's clipboard agent (vdi-vdagent on QEMU's
// qemu-vdagent chardev) on one side, FreeRDP's xfreerdp +clipboard under Xvfb on the other,
// which keeps the X CLIPBOARD selection in step with the server (CF_UNICODETEXT ⇄ UTF8_STRING).
// xclip sets and reads the X selection there. qemu-vnc runs beside qemu-rdp on the same VM,
// as in the sidecar, started first: QEMU serves one clipboard peer per VM, so each server
// registers only while it has a client sharing the clipboard, and they take turns.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Background,
  XFreeRdp,
  Xvfb,
  ensureQemuRdpBuilt,
  ensureQemuVncBuilt,
  freeVncDisplay,
  plainPasswordFile,
  run,
  startQemuRdp,
  startQemuVnc,
  type QemuRdp,
  type QemuVnc,
} from '../src/clients/index.js';
import { RawRfbClient } from '../src/clients/raw-rfb.js';
import { QEMU_VERSIONS, startRig, waitFor, type Rig } from '../src/index.js';

const USER = 'alice';
const PASSWORD = 'correct horse';

/** One word for `sh -c`: single-quoted, with embedded single quotes spliced in. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

describe.each(QEMU_VERSIONS)('clipboard between the guest and xfreerdp through qemu-rdp on QEMU %s', (qemu) => {
  let rig: Rig;
  let rdp: QemuRdp;
  let vnc: QemuVnc;
  let x: Xvfb;
  let client: XFreeRdp;
  /** xclip processes that own (owned) the X clipboard; each exits once it loses it. */
  const owners: Background[] = [];
  const log = () => join(rig.artifactsDir, 'clients.log');

  beforeAll(async () => {
    ensureQemuRdpBuilt();
    ensureQemuVncBuilt();
    rig = await startRig({ qemu, clipboard: true, name: `qemu-rdp-clipboard-${qemu}` });
    for (const file of ['qemu-rdp.log', 'qemu-vnc.log', 'clients.log']) writeFileSync(join(rig.artifactsDir, file), '');
    // First on the VM, without a client: it must leave the clipboard to qemu-rdp's client.
    vnc = await startQemuVnc({
      busAddress: rig.busAddress,
      listen: `127.0.0.1:${5900 + (await freeVncDisplay())}`,
      env: { QEMU_VNC_VERBOSE: '1' },
      log: join(rig.artifactsDir, 'qemu-vnc.log'),
    });
    await vnc.waitForLog(/attached to VM/, 0, 30_000);
    const passwordFile = await plainPasswordFile(rig.artifactsDir, 'rdp-password', PASSWORD);
    rdp = await startQemuRdp({
      busAddress: rig.busAddress,
      args: ['--username', USER, '--password-file', passwordFile],
      env: { QEMU_RDP_VERBOSE: '1' },
      log: join(rig.artifactsDir, 'qemu-rdp.log'),
    });
    // qemu-rdp's clipboard peer registers once attached, and QEMU then resets the agent's
    // link; starting the agent after that keeps its first grab from falling into the reset.
    await rdp.waitForLog(/attached to VM/, 0, 30_000);
    x = await Xvfb.start({ log: log() });
    const mark = rdp.mark();
    client = XFreeRdp.start(x, { server: `${rdp.host}:${rdp.port}`, username: USER, password: PASSWORD, clipboard: true, args: ['/bpp:32'], log: log() });
    await client.waitForWindow();
    // The channel's start: the client's capabilities follow the server's Monitor Ready.
    await rdp.waitForLog(/cliprdr: client capabilities: version 2/, mark, 20_000);
    const started = await rig.guest.check('vdi-clipboard-agent');
    expect(started.trim()).toMatch(/^CLIPBOARD-AGENT \/dev\/vport\d+p\d+$/);
  });

  afterAll(async () => {
    for (const owner of owners) await owner.stop();
    await client?.stop();
    await x?.stop();
    const result = await rdp?.stop();
    const vncResult = await vnc?.stop();
    await rig?.stop();
    expect(result?.code).toBe(0);
    expect(vncResult?.code).toBe(0);
  });

  /** What the agent, the client and qemu-rdp logged, for failure messages. */
  async function logs(): Promise<string> {
    let agent: string;
    try {
      agent = (await rig.guest.run('cat /tmp/vdi-vdagent.state /tmp/vdi-vdagent.log', 5_000)).output;
    } catch (err) {
      agent = `(no agent log: ${String(err)})`;
    }
    return `agent:\n${agent}\nxfreerdp:\n${client.output.slice(-3000)}\nqemu-rdp:\n${rdp.stderr.slice(-3000)}`;
  }

  /** The X CLIPBOARD selection's text (UTF8_STRING), or undefined while nobody owns it. */
  async function xClipboard(): Promise<string | undefined> {
    const result = await run('xclip', ['-o', '-selection', 'clipboard'], { env: x.env, timeoutMs: 5_000 });
    return result.code === 0 ? result.stdout : undefined;
  }

  /** Copies `shellWord` (a shell word that expands to `expected`) in the guest; returns the X clipboard once it holds it. */
  async function guestCopies(shellWord: string, expected: string): Promise<string | undefined> {
    const grab = await rig.guest.check(`vdi-clipboard-set ${shellWord}`);
    expect(grab.trim()).toMatch(/^CLIPBOARD-GRAB \d+$/);
    let last: string | undefined;
    try {
      await waitFor(
        async () => {
          last = await xClipboard();
          return last === expected;
        },
        { timeoutMs: 20_000, intervalMs: 250, message: () => `the X clipboard to hold the guest's text (last ${JSON.stringify(last?.slice(0, 200))})` },
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\n${await logs()}`);
    }
    return last;
  }

  /** Copies `text` to the X clipboard (xclip owns it); returns the guest's clipboard once it holds it. */
  async function clientCopies(text: string): Promise<string> {
    const owner = new Background('xclip', ['-quiet', '-selection', 'clipboard', '-i'], {
      env: x.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      log: log(),
    });
    owners.push(owner);
    owner.child.stdin?.end(text);
    let last = '';
    try {
      await waitFor(
        async () => {
          last = await rig.guest.check('vdi-clipboard-get');
          return last === text;
        },
        { timeoutMs: 20_000, intervalMs: 250, message: () => `the guest's clipboard to hold the X clipboard's text (last ${JSON.stringify(last.slice(0, 200))})` },
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\nxclip: ${owner.output}\n${await logs()}`);
    }
    return last;
  }

  it('text copied in the guest lands on the X clipboard of xfreerdp, UTF-8 intact', async () => {
    const text = `Grüße ✓ clipboard: café ☃ 日本語 'quoted' "double" $HOME`;
    expect(await guestCopies(shellQuote(text), text)).toBe(text);
  });

  it('text copied on the client side reaches the guest, UTF-8 intact', async () => {
    const text = 'from xfreerdp: naïve ☃ 𝄞 🎉';
    expect(await clientCopies(text)).toBe(text);
  });

  it('a second guest copy (several lines) replaces the X clipboard', async () => {
    const text = Array.from({ length: 50 }, (_, i) => `guest line ${i}: Grüße €`).join('\n');
    expect(await guestCopies(`"$(for i in $(seq 0 49); do echo "guest line $i: Grüße €"; done)"`, text)).toBe(text);
  });

  it('a second copy on the client side (several lines) replaces the guest clipboard', async () => {
    const text = Array.from({ length: 40 }, (_, i) => `client line ${i}: ünïcödé ✓`).join('\n') + '\n';
    expect(await clientCopies(text)).toBe(text);
    expect(rdp.alive).toBe(true);
    expect(client.proc.exitResult, client.output).toBeUndefined();
  });

  it('once the RDP client has left, a VNC client of qemu-vnc beside it gets the guest\'s copies', async () => {
    const viewer = await RawRfbClient.connect(vnc.port, vnc.host);
    try {
      await viewer.handshakeNone();
      const mark = vnc.mark();
      await client.stop();
      // qemu-vnc asks again every 2 s while qemu-rdp holds the VM's clipboard.
      await vnc.waitForLog(/clipboard: shared with this server's clients now/, mark, 15_000);
      const text = 'for the VNC client, after the RDP one left';
      const grab = await rig.guest.check(`vdi-clipboard-set ${shellQuote(text)}`);
      expect(grab.trim()).toMatch(/^CLIPBOARD-GRAB \d+$/);
      // Nothing but ServerCutText (RFC 6143 §7.6.4) comes unasked: no update was requested.
      const header = await viewer.read(8, 20_000);
      expect(header[0], 'message type: ServerCutText').toBe(3);
      expect((await viewer.read(header.readUInt32BE(4))).toString('latin1')).toBe(text);
    } finally {
      viewer.destroy();
    }
  });
});
