// qemu-rdp's audio output channel (rdpsnd, MS-RDPEA) with a real client — FreeRDP's xfreerdp
// (Debian 12: 2.11) playing into a private PulseAudio server whose sink is read back as PCM
// (PulseCapture) — against real QEMU with an AC97 card on -audiodev dbus: the noise the guest
// plays must reach the client, about as much of it as was played.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PULSE_CAPTURE_FORMAT, PulseCapture } from '../src/clients/pulse-capture.js';
import { XFreeRdp, Xvfb, ensureQemuRdpBuilt, plainPasswordFile, startQemuRdp, type QemuRdp } from '../src/clients/index.js';
import { QEMU_VERSIONS, startRig, waitFor, type Rig } from '../src/index.js';

const USER = 'alice';
const PASSWORD = 'correct horse';
const PLAY_SECONDS = 2;
/** Samples (per channel counted) the sink plays in PLAY_SECONDS. */
const PLAYED_SAMPLES = PLAY_SECONDS * PULSE_CAPTURE_FORMAT.rate * PULSE_CAPTURE_FORMAT.channels;

/** Samples of signed 16-bit little-endian PCM louder than `threshold` (silence is 0). */
function loudSamples(pcm: Buffer, threshold = 1000): number {
  let n = 0;
  for (let i = 0; i + 1 < pcm.length; i += 2) if (Math.abs(pcm.readInt16LE(i)) > threshold) n++;
  return n;
}

describe.each(QEMU_VERSIONS)('qemu-rdp audio with xfreerdp on QEMU %s', (qemu) => {
  let rig: Rig;
  let rdp: QemuRdp;
  let x: Xvfb;
  let pulse: PulseCapture;
  const log = () => join(rig.artifactsDir, 'clients.log');

  beforeAll(async () => {
    ensureQemuRdpBuilt();
    rig = await startRig({ qemu, sound: true, name: `qemu-rdp-audio-${qemu}` });
    for (const file of ['qemu-rdp.log', 'clients.log']) writeFileSync(join(rig.artifactsDir, file), '');
    await rig.guest.check('vdi-sound');
    const passwordFile = await plainPasswordFile(rig.artifactsDir, 'rdp-password', PASSWORD);
    rdp = await startQemuRdp({
      busAddress: rig.busAddress,
      args: ['--username', USER, '--password-file', passwordFile],
      env: { QEMU_RDP_VERBOSE: '1' },
      log: join(rig.artifactsDir, 'qemu-rdp.log'),
    });
    x = await Xvfb.start({ log: log() });
    pulse = await PulseCapture.start(join(rig.artifactsDir, 'pulse'), log());
  });

  afterAll(async () => {
    await pulse?.stop();
    await x?.stop();
    const result = await rdp?.stop();
    await rig?.stop();
    expect(result?.code).toBe(0);
  });

  /** xfreerdp with sound; resolves once the server streams audio to it. */
  async function connect() {
    const mark = rdp.mark();
    // '/sound' comes after the test defaults' '/audio-mode:2' and turns playback back on.
    const client = XFreeRdp.start(pulse.forClients(x), {
      server: `${rdp.host}:${rdp.port}`,
      username: USER,
      password: PASSWORD,
      args: ['/bpp:32', '/sound:sys:pulse'],
      log: log(),
    });
    try {
      await rdp.waitForLog(/rdpsnd: playing PCM \d+ Hz/, mark, 30_000);
      return { client, mark };
    } catch (err) {
      await client.stop();
      throw err;
    }
  }

  /** Plays PLAY_SECONDS of noise in the guest; returns what the client played meanwhile. */
  async function playAndCapture(): Promise<Buffer> {
    const before = pulse.size;
    await rig.guest.check(`vdi-play ${PLAY_SECONDS}`, 30_000);
    await waitFor(() => loudSamples(pulse.read(before)) >= 0.8 * PLAYED_SAMPLES, {
      message: () => `the client to play ${0.8 * PLAYED_SAMPLES} loud samples (${loudSamples(pulse.read(before))} so far, ${pulse.size - before} bytes)`,
      timeoutMs: 20_000,
      intervalMs: 250,
    });
    // The tail, if any, arrives within a few blocks.
    await new Promise((r) => setTimeout(r, 1500));
    return pulse.read(before);
  }

  it('the client plays what the guest plays: about the played duration of it, and not silence', async () => {
    const { client, mark } = await connect();
    try {
      const pcm = await playAndCapture();
      const loud = loudSamples(pcm);
      expect(loud).toBeGreaterThanOrEqual(0.8 * PLAYED_SAMPLES);
      expect(loud).toBeLessThanOrEqual(1.3 * PLAYED_SAMPLES);
      expect(rdp.logSince(mark).filter((l) => /no Wave Confirm|audio not started/.test(l))).toEqual([]);
      expect(client.proc.exitResult, client.output).toBeUndefined();
    } finally {
      await client.stop();
    }
  });

  it('a client that reconnects hears the guest again (the audio listener is shared, then released)', async () => {
    const { client } = await connect();
    try {
      const loud = loudSamples(await playAndCapture());
      expect(loud).toBeGreaterThanOrEqual(0.8 * PLAYED_SAMPLES);
      expect(loud).toBeLessThanOrEqual(1.3 * PLAYED_SAMPLES);
    } finally {
      await client.stop();
    }
  });
});
