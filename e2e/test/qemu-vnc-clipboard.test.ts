// Clipboard text both ways between the guest and a real VNC client through qemu-vnc: the
// guest's clipboard agent (vdi-vdagent on QEMU's qemu-vdagent chardev) on one side, TigerVNC's
// vncviewer under Xvfb on the other, which keeps the X CLIPBOARD selection in step with the
// server over the Extended Clipboard (UTF-8). xclip sets and reads the X selection there.
// TigerVNC passes clipboard news on only while its window has the keyboard focus (otherwise
// it waits for the focus), so the viewer is focused first.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Background,
  TigerVncViewer,
  Xvfb,
  ensureQemuVncBuilt,
  freeVncDisplay,
  run,
  startQemuVnc,
  type QemuVnc,
} from '../src/clients/index.js';
import { QEMU_VERSIONS, startRig, waitFor, type Rig } from '../src/index.js';

/** One word for `sh -c`: single-quoted, with embedded single quotes spliced in. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

describe.each(QEMU_VERSIONS)('clipboard between the guest and TigerVNC through qemu-vnc on QEMU %s', (qemu) => {
  let rig: Rig;
  let vnc: QemuVnc;
  let x: Xvfb;
  let viewer: TigerVncViewer;
  /** xclip processes that own (owned) the X clipboard; each exits once it loses it. */
  const owners: Background[] = [];
  const log = () => join(rig.artifactsDir, 'clients.log');

  beforeAll(async () => {
    ensureQemuVncBuilt();
    rig = await startRig({ qemu, clipboard: true, name: `qemu-vnc-clipboard-${qemu}` });
    for (const file of ['qemu-vnc.log', 'clients.log']) writeFileSync(join(rig.artifactsDir, file), '');
    const display = await freeVncDisplay();
    vnc = await startQemuVnc({
      busAddress: rig.busAddress,
      listen: `127.0.0.1:${5900 + display}`,
      env: { QEMU_VNC_VERBOSE: '1' },
      log: join(rig.artifactsDir, 'qemu-vnc.log'),
    });
    // qemu-vnc's clipboard peer registers once attached, and QEMU then resets the agent's
    // link; starting the agent after that keeps its first grab from falling into the reset.
    await vnc.waitForLog(/attached to VM/, 0, 30_000);
    x = await Xvfb.start({ log: log() });
    viewer = TigerVncViewer.start(x, { server: `127.0.0.1::${5900 + display}`, log: log() });
    await viewer.waitForWindow();
    await viewer.focus();
    const started = await rig.guest.check('vdi-clipboard-agent');
    expect(started.trim()).toMatch(/^CLIPBOARD-AGENT \/dev\/vport\d+p\d+$/);
  });

  afterAll(async () => {
    for (const owner of owners) await owner.stop();
    await viewer?.stop();
    await x?.stop();
    const result = await vnc?.stop();
    await rig?.stop();
    expect(result?.code).toBe(0);
  });

  /** What the agent, the viewer and qemu-vnc logged, for failure messages. */
  async function logs(): Promise<string> {
    let agent: string;
    try {
      agent = (await rig.guest.run('cat /tmp/vdi-vdagent.state /tmp/vdi-vdagent.log', 5_000)).output;
    } catch (err) {
      agent = `(no agent log: ${String(err)})`;
    }
    return `agent:\n${agent}\nvncviewer:\n${viewer.output.slice(-3000)}\nqemu-vnc:\n${vnc.stderr.slice(-3000)}`;
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

  it('text copied in the guest lands on the X clipboard of the viewer, UTF-8 intact', async () => {
    const text = `from the guest: café ☃ 日本語 'quoted' "double" $HOME`;
    expect(await guestCopies(shellQuote(text), text)).toBe(text);
  });

  it('text copied on the viewer side reaches the guest, UTF-8 intact', async () => {
    const text = 'from TigerVNC: naïve ☃ 𝄞 🎉';
    expect(await clientCopies(text)).toBe(text);
  });

  it('a second guest copy (several lines) replaces the X clipboard', async () => {
    const text = Array.from({ length: 50 }, (_, i) => `guest line ${i}: Grüße €`).join('\n');
    expect(await guestCopies(`"$(for i in $(seq 0 49); do echo "guest line $i: Grüße €"; done)"`, text)).toBe(text);
  });

  it('a second copy on the viewer side (several lines) replaces the guest clipboard', async () => {
    const text = Array.from({ length: 40 }, (_, i) => `viewer line ${i}: ünïcödé ✓`).join('\n') + '\n';
    expect(await clientCopies(text)).toBe(text);
    expect(vnc.alive).toBe(true);
  });
});
