// qemu-display's failures as a user meets them: each prints one clear line and exits 1.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDbusSession, type DbusSession } from '@vdi-sidecar/dbus-session';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runQemuDisplay } from '../src/display.js';
import { QEMU_VERSIONS, startRig, type Rig } from '../src/index.js';

const oneLine = (text: string) => text.trim().split('\n');

describe('qemu-display errors', () => {
  let bus: DbusSession;

  beforeAll(async () => {
    bus = await startDbusSession({ socketPath: join(mkdtempSync(join(tmpdir(), 'vdi-err-')), 'bus'), allowUids: [] });
  });

  afterAll(async () => {
    await bus?.stop();
  });

  it('says so when there is no bus at the address', async () => {
    const res = await runQemuDisplay(['info', '--dbus-address', 'unix:path=/nonexistent/bus', '--timeout', '1']);
    expect(res.code).toBe(1);
    expect(oneLine(res.stderr)).toEqual([expect.stringMatching(/^qemu-display: no D-Bus bus at unix:path=\/nonexistent\/bus within 1 s/)]);
    expect(res.stdout).toBe('');
  });

  it('says so when no VM joins the bus in time', async () => {
    const res = await runQemuDisplay(['screenshot', '--output', '/tmp/never.png', '--dbus-address', bus.address, '--timeout', '1']);
    expect(res.code).toBe(1);
    expect(oneLine(res.stderr)).toEqual([expect.stringMatching(/^qemu-display: no VM with console 0 appeared on .* within 1 s$/)]);
  });

  it('rejects bad usage with exit code 2', async () => {
    const res = await runQemuDisplay(['frobnicate', '--dbus-address', bus.address]);
    expect(res.code).toBe(2);
    expect(oneLine(res.stderr)).toEqual(['qemu-display: unknown command "frobnicate" (see --help)']);
    const noAddress = await runQemuDisplay(['info'], { DBUS_DISPLAY_ADDRESS: '' });
    expect(noAddress.code).toBe(2);
  });
});

describe.each(QEMU_VERSIONS)('qemu-display with a VM on QEMU %s', (qemu) => {
  let rig: Rig;

  beforeAll(async () => {
    rig = await startRig({ qemu, name: `qemu-display-errors-${qemu}` });
  });

  afterAll(async () => {
    await rig?.stop();
  });

  it('names the consoles there are when asked for one that is not', async () => {
    const res = await runQemuDisplay(['info', '--console', '5', '--dbus-address', rig.busAddress, '--timeout', '2']);
    expect(res.code).toBe(1);
    expect(oneLine(res.stderr)).toEqual([`qemu-display: VM "${rig.vmName}" has no console 5 (it has 0)`]);
  });
});
