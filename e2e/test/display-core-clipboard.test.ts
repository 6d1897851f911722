// display-core's clipboard peer against QEMU's clipboard, both directions, with a real
// guest agent at the other end: QEMU's qemu-vdagent chardev speaks the SPICE vdagent
// protocol over virtio-serial to vdi-vdagent in the test guest (e2e/guest/vdagent). QEMU
// forwards a grab to the D-Bus peer only when it carries a serial, which the agent's grabs
// do (VD_AGENT_CAP_CLIPBOARD_GRAB_SERIAL). Two rounds each way check that the serials
// keep ordering right after the first exchange.
import { ClipboardPeer, type QemuDisplay } from '@vdi-sidecar/display-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDisplay } from '../src/display.js';
import { QEMU_VERSIONS, startRig, waitFor, type Rig } from '../src/index.js';

/** One word for `sh -c`: single-quoted, with embedded single quotes spliced in. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

describe.each(QEMU_VERSIONS)('clipboard through display-core and a guest agent on QEMU %s', (qemu) => {
  let rig: Rig;
  let display: QemuDisplay;
  let clipboard: ClipboardPeer;
  const log: string[] = [];
  const texts: string[] = [];
  const errors: string[] = [];

  async function connectDisplay(): Promise<void> {
    display = openDisplay(rig.busAddress, log);
    clipboard = new ClipboardPeer(display);
    clipboard.on('text', (text) => texts.push(text));
    clipboard.on('error', (m) => errors.push(m));
    await display.waitForScreen(30_000);
  }

  /** The agent's state file (`key value` lines) as a map. */
  async function agentState(): Promise<Map<string, string>> {
    const text = await rig.guest.check('cat /tmp/vdi-vdagent.state');
    return new Map(text.split('\n').map((l) => [l.slice(0, l.indexOf(' ')), l.slice(l.indexOf(' ') + 1)]));
  }

  beforeAll(async () => {
    rig = await startRig({ qemu, clipboard: true, name: `display-core-clipboard-${qemu}` });
    await connectDisplay();
    // The peer registers on attach; the agent connects after, so QEMU's serial reset on
    // registration does not cut the agent's connection.
    const started = await rig.guest.check('vdi-clipboard-agent');
    expect(started.trim()).toMatch(/^CLIPBOARD-AGENT \/dev\/vport\d+p\d+$/);
  });

  afterAll(async () => {
    clipboard?.close();
    display?.close();
    await rig?.stop();
  });

  /** What the agent logged, for failure messages. */
  async function agentLog(): Promise<string> {
    try {
      return (await rig.guest.run('cat /tmp/vdi-vdagent.state /tmp/vdi-vdagent.log', 5_000)).output;
    } catch (err) {
      return `(no agent log: ${String(err)})`;
    }
  }

  /** Sets `shellWord` (a shell word that expands to the text) on the guest clipboard. */
  async function guestOffers(shellWord: string, expected: string): Promise<string> {
    const before = texts.length;
    const grab = await rig.guest.check(`vdi-clipboard-set ${shellWord}`);
    expect(grab.trim()).toMatch(/^CLIPBOARD-GRAB \d+$/);
    try {
      return await waitFor(() => texts.slice(before).find((t) => t === expected), {
        timeoutMs: 15_000,
        message: () => `clipboard text at display-core (got ${JSON.stringify(texts.slice(before))}, errors ${JSON.stringify(errors)})`,
      });
    } catch (err) {
      throw new Error(`${(err as Error).message}\nagent:\n${await agentLog()}`);
    }
  }

  /** Sets `text` through display-core and waits until the guest agent has it. */
  async function hostOffers(text: string): Promise<string> {
    await clipboard.setText(text);
    let last = '';
    try {
      await waitFor(
        async () => {
          last = await rig.guest.check('vdi-clipboard-get');
          return last === text;
        },
        { timeoutMs: 15_000, message: () => `clipboard text in the guest (last ${JSON.stringify(last.slice(0, 200))})` },
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\nerrors ${JSON.stringify(errors)}\nagent:\n${await agentLog()}`);
    }
    return last;
  }

  it('hands text the guest copies to display-core, UTF-8 intact', async () => {
    const text = `from the guest: café ☃ 日本語 'quoted' "double" $HOME \\n`;
    expect(await guestOffers(shellQuote(text), text)).toBe(text);
  });

  it('gives display-core text to the guest, UTF-8 intact', async () => {
    const text = 'from display-core: naïve ☃ 𝄞 🎉';
    expect(await hostOffers(text)).toBe(text);
    expect(errors).toEqual([]);
  });

  it('takes a second guest copy (newer serial), several lines and longer than one chunk', async () => {
    // 400 lines of 13 bytes: more than QEMU's and the agent's chunk sizes (1024, 2048).
    const line = 'second ü line';
    const text = Array.from({ length: 400 }, () => line).join('\n');
    expect(await guestOffers(`"$(yes ${shellQuote(line)} | head -n 400)"`, text)).toBe(text);
  });

  it('gives a second display-core text to the guest, several lines and longer than one chunk', async () => {
    const text = Array.from({ length: 300 }, (_, i) => `line ${i}: Grüße\t€`).join('\n') + '\n';
    expect(await hostOffers(text)).toBe(text);
    expect(errors).toEqual([]);
  });

  it('keeps the registration when the listener is registered anew with the same QEMU', async () => {
    // QEMU keeps its clipboard peer across a new display listener; Registering again would
    // be refused ("Clipboard peer already registered!") and leave the clipboard dead.
    const attached = new Promise<void>((resolve) => display.once('attached', () => resolve()));
    display.reattach('test: a new listener');
    await attached;
    const fromHost = 'after a new listener, from display-core: ✓';
    expect(await hostOffers(fromHost)).toBe(fromHost);
    const fromGuest = 'after a new listener, from the guest: ✓';
    expect(await guestOffers(shellQuote(fromGuest), fromGuest)).toBe(fromGuest);
    expect(errors).toEqual([]);
  });

  it('keeps working after display-core reconnects (QEMU then resets serials and the agent link)', async () => {
    const resets = Number((await agentState()).get('resets'));
    clipboard.close();
    display.close();
    await connectDisplay();
    // The new peer's Register makes QEMU reset clipboard serials, and with them the agent's
    // connection (the port closes on the host side); the agent reopens it and announces again.
    await waitFor(
      async () => {
        const state = await agentState();
        return Number(state.get('resets')) > resets && state.get('connected') === '1';
      },
      { timeoutMs: 15_000, message: () => 'the agent to reconnect' },
    );
    const fromHost = 'after reconnecting, from display-core: ✓';
    expect(await hostOffers(fromHost)).toBe(fromHost);
    const fromGuest = 'after reconnecting, from the guest: ✓';
    expect(await guestOffers(shellQuote(fromGuest), fromGuest)).toBe(fromGuest);
    expect(errors).toEqual([]);
  });
});
