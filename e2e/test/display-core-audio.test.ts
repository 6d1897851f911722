// display-core's audio listeners against QEMU's -audiodev dbus: what the guest plays
// reaches the output listener as PCM in the announced format, and what the input
// listener supplies is what the guest records.
import { AudioListener, type PcmFormat, type QemuDisplay } from '@vdi-sidecar/display-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDisplay } from '../src/display.js';
import { QEMU_VERSIONS, startRig, waitFor, type Rig } from '../src/index.js';

describe.each(QEMU_VERSIONS)('audio through display-core on QEMU %s', (qemu) => {
  let rig: Rig;
  let display: QemuDisplay;

  beforeAll(async () => {
    rig = await startRig({ qemu, sound: true, name: `display-core-audio-${qemu}` });
    display = openDisplay(rig.busAddress, []);
    await display.waitForScreen(30_000);
    await rig.guest.check('vdi-sound');
  });

  afterAll(async () => {
    display?.close();
    await rig?.stop();
  });

  it('receives the PCM the guest plays, in the format QEMU announces', async () => {
    const out = new AudioListener(display, 'out');
    const formats: PcmFormat[] = [];
    let bytes = 0;
    let loud = 0;
    out.on('init', (_voice, format) => formats.push(format));
    out.on('data', (_voice, pcm) => {
      bytes += pcm.length;
      // Signed 16-bit little-endian is what QEMU's mixer produces for -audiodev dbus.
      for (let i = 0; i + 1 < pcm.length; i += 2) if (Math.abs(pcm.readInt16LE(i)) > 1000) loud++;
    });
    await out.start();
    try {
      await rig.guest.check('vdi-play 1', 30_000);
      await waitFor(() => bytes > 0 && loud > 1000, { message: () => `loud PCM from the guest (${bytes} bytes, ${loud} loud samples so far)`, timeoutMs: 15_000 });
      expect(formats.length).toBeGreaterThan(0);
      const f = formats[0];
      expect(f.bits).toBe(16);
      expect(f.signed).toBe(true);
      expect(f.frequency).toBeGreaterThanOrEqual(8000);
      expect(f.bytesPerFrame).toBe((f.bits / 8) * f.channels);
    } finally {
      out.close();
    }
  });

  it('supplies the PCM the guest records', async () => {
    // A loud square wave in whatever format QEMU asks for (16-bit signed here).
    let served = 0;
    const input = new AudioListener(display, 'in', (_voice, size) => {
      const pcm = Buffer.alloc(size);
      for (let i = 0; i + 1 < size; i += 2) pcm.writeInt16LE(((i >> 6) & 1) ? 20000 : -20000, i);
      served += size;
      return pcm;
    });
    await input.start();
    try {
      const result = await rig.guest.check('vdi-record 4000', 30_000);
      const [, bytes, loud] = /RECORDED (\d+) (\d+)/.exec(result) ?? [];
      expect(Number(bytes)).toBe(4000);
      expect(served).toBeGreaterThan(0);
      expect(Number(loud)).toBeGreaterThan(2000);
    } finally {
      input.close();
    }
  });
});
