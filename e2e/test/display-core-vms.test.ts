// Several VMs on one bus: each QEMU asks for the name `org.qemu`, the first owns it and the
// others queue. display-core picks one by name or UUID among all of them, and keeps to it
// when the owner changes.
import { readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeImage, expectSameImage } from '../src/images.js';
import { framebufferImage, openDisplay, runQemuDisplay } from '../src/display.js';
import { expectPictureConverges } from '../src/converge.js';
import { QEMU_VERSIONS, startRig, waitFor, type Rig } from '../src/index.js';

describe.each(QEMU_VERSIONS)('display-core with two VMs on one bus, QEMU %s', (qemu) => {
  let first: Rig;
  let second: Rig;

  beforeAll(async () => {
    first = await startRig({ qemu, name: `display-core-vms-${qemu}-first` });
    second = await startRig({ qemu, name: `display-core-vms-${qemu}-second`, shareBusOf: first, vmName: 'vdi-second' });
    await first.guest.check('vdi-pattern 1');
    await second.guest.check('vdi-pattern 2');
  });

  afterAll(async () => {
    await second?.stop();
    await first?.stop();
  });

  it('qemu-display info describes the primary owner by default and either VM by name or UUID', async () => {
    const byDefault = await runQemuDisplay(['info', '--dbus-address', first.busAddress]);
    expect(byDefault.code, byDefault.stderr).toBe(0);
    expect(byDefault.stdout).toContain(`name: ${first.vmName}\nuuid: ${first.uuid}`);
    const byName = await runQemuDisplay(['info', '--dbus-address', first.busAddress, '--vm', 'vdi-second']);
    expect(byName.stdout).toContain(`name: vdi-second\nuuid: ${second.uuid}`);
    const byUuid = await runQemuDisplay(['info', '--dbus-address', first.busAddress, '--vm', first.uuid]);
    expect(byUuid.stdout).toContain(`name: ${first.vmName}\nuuid: ${first.uuid}`);
    const none = await runQemuDisplay(['info', '--dbus-address', first.busAddress, '--vm', 'no-such-vm', '--timeout', '2']);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no-such-vm/);
  });

  it('screenshots of the VM asked for equal that VM\'s screendump, not the other one\'s', async () => {
    const file = join(tmpdir(), `vdi-vms-${process.pid}.png`);
    try {
      const res = await runQemuDisplay(['screenshot', '--dbus-address', first.busAddress, '--vm', 'vdi-second', '--output', file]);
      expect(res.code, res.stderr).toBe(0);
      await expectSameImage(await decodeImage(await readFile(file)), await second.screendump(), 'second-vm-screenshot');
    } finally {
      await rm(file, { force: true });
    }
  });

  it('a display of the queued VM goes on when the primary owner leaves, and one of the first follows it back', async () => {
    const log: string[] = [];
    const toSecond = openDisplay(first.busAddress, log, { vm: 'vdi-second' });
    const toFirst = openDisplay(first.busAddress, log, { vm: first.uuid });
    try {
      await toSecond.waitForScreen(30_000);
      await toFirst.waitForScreen(30_000);
      await first.stopQemu();
      await second.guest.check('vdi-pattern 3');
      await expectPictureConverges(() => framebufferImage(toSecond.framebuffer), () => second.screendump(), 'queued-vm-after-owner-left');
      expect(toSecond.vm?.uuid).toBe(second.uuid);
      // The first VM comes back (now queued behind the second): its display finds it again.
      await first.startQemu();
      await waitFor(() => toFirst.state === 'attached', { message: () => `the first VM's display to reattach; log:\n${log.join('\n')}`, timeoutMs: 30_000 });
      await first.guest.check('vdi-pattern 4');
      await expectPictureConverges(() => framebufferImage(toFirst.framebuffer), () => first.screendump(), 'first-vm-back');
      expect(toFirst.vm?.uuid).toBe(first.uuid);
    } finally {
      toSecond.close();
      toFirst.close();
    }
  });
});
