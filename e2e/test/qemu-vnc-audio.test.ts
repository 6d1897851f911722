// qemu-vnc's QEMU Audio (rfbproto "QEMU Audio Pseudo-encoding" -259, client and server
// message 255/1) against real QEMU with an AC97 card on -audiodev dbus: a raw RFB client that
// announced -259 sets a format and enables audio, the guest plays noise, and about as much
// audio as was played arrives, between Begin and End; a client that did not announce -259 gets
// none. No FramebufferUpdateRequest is ever sent, so the server sends no updates.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureQemuVncBuilt, startQemuVnc, type QemuVnc } from '../src/clients/index.js';
import { RawRfbClient } from '../src/clients/raw-rfb.js';
import { QEMU_VERSIONS, startRig, waitFor, type Rig } from '../src/index.js';

const RAW = 0;
const QEMU_AUDIO = -259;
const PLAY_SECONDS = 2;
const RATE = 44100;
const CHANNELS = 2;
/** S16 stereo: bytes of PLAY_SECONDS of audio in the format the client sets. */
const PLAYED_BYTES = PLAY_SECONDS * RATE * CHANNELS * 2;

type AudioEvent = { op: 'begin' | 'end' } | { op: 'data'; pcm: Buffer };

/** QEMU Audio client message (255, submessage 1): operation 0 enable, 1 disable, 2 set format. */
function audioMessage(operation: number, format?: { sampleFormat: number; channels: number; frequency: number }): Buffer {
  const msg = Buffer.alloc(format ? 10 : 4);
  msg[0] = 255;
  msg[1] = 1;
  msg.writeUInt16BE(operation, 2);
  if (format) {
    msg[4] = format.sampleFormat;
    msg[5] = format.channels;
    msg.writeUInt32BE(format.frequency, 6);
  }
  return msg;
}

/**
 * Reads server messages until the connection closes, collecting the QEMU Audio ones. Only
 * those, Bell and ServerCutText can come to a client that never asks for an update.
 */
async function collectAudio(client: RawRfbClient, events: AudioEvent[]): Promise<void> {
  for (;;) {
    let type: number;
    try {
      type = (await client.read(1, 600_000))[0];
    } catch {
      return; // closed
    }
    if (type === 255) {
      const head = await client.read(3);
      if (head[0] !== 1) throw new Error(`QEMU server submessage ${head[0]}`);
      const op = head.readUInt16BE(1);
      if (op === 0) events.push({ op: 'end' });
      else if (op === 1) events.push({ op: 'begin' });
      else if (op === 2) {
        const length = (await client.read(4)).readUInt32BE(0);
        events.push({ op: 'data', pcm: Buffer.from(await client.read(length)) });
      } else throw new Error(`QEMU audio operation ${op}`);
    } else if (type === 3) {
      const head = await client.read(7);
      await client.read(Math.abs(head.readInt32BE(3)));
    } else if (type !== 2) {
      throw new Error(`unexpected server message type ${type}`);
    }
  }
}

/** Samples of signed 16-bit little-endian PCM louder than `threshold` (silence is 0). */
function loudSamples(pcm: Buffer, threshold = 1000): number {
  let n = 0;
  for (let i = 0; i + 1 < pcm.length; i += 2) if (Math.abs(pcm.readInt16LE(i)) > threshold) n++;
  return n;
}

const dataOf = (events: AudioEvent[], from = 0): Buffer =>
  Buffer.concat(events.slice(from).flatMap((e) => (e.op === 'data' ? [e.pcm] : [])));

describe.each(QEMU_VERSIONS)('qemu-vnc QEMU Audio on QEMU %s', (qemu) => {
  let rig: Rig;
  let vnc: QemuVnc;

  beforeAll(async () => {
    ensureQemuVncBuilt();
    rig = await startRig({ qemu, sound: true, name: `qemu-vnc-audio-${qemu}` });
    writeFileSync(join(rig.artifactsDir, 'qemu-vnc.log'), '');
    await rig.guest.check('vdi-sound');
    vnc = await startQemuVnc({ busAddress: rig.busAddress, listen: '127.0.0.1:0', log: join(rig.artifactsDir, 'qemu-vnc.log') });
  });

  afterAll(async () => {
    const result = await vnc?.stop();
    await rig?.stop();
    expect(result?.code).toBe(0);
  });

  it('streams what the guest plays in the client format: Begin, about the played duration of Data, End after Disable', async () => {
    const client = await RawRfbClient.connect(vnc.port, vnc.host);
    const events: AudioEvent[] = [];
    try {
      await client.handshakeNone();
      client.setEncodings([RAW, QEMU_AUDIO]);
      client.write(audioMessage(2, { sampleFormat: 3, channels: CHANNELS, frequency: RATE })); // S16, stereo, 44.1 kHz
      client.write(audioMessage(0));
      const reading = collectAudio(client, events);
      await waitFor(() => events.some((e) => e.op === 'begin'), { message: () => 'QEMU Audio Begin', timeoutMs: 15_000 });
      // Whatever the idle guest sends before playing is not counted.
      await sleep(500);
      const from = events.length;
      await rig.guest.check(`vdi-play ${PLAY_SECONDS}`, 30_000);
      await waitFor(() => loudSamples(dataOf(events, from)) >= 0.7 * (PLAYED_BYTES / 2), {
        message: () => `loud audio (${loudSamples(dataOf(events, from))} loud samples, ${dataOf(events, from).length} bytes so far)`,
        timeoutMs: 20_000,
        intervalMs: 250,
      });
      await sleep(1500); // the tail
      const pcm = dataOf(events, from);
      expect(pcm.length).toBeGreaterThanOrEqual(0.7 * PLAYED_BYTES);
      expect(pcm.length).toBeLessThanOrEqual(1.3 * PLAYED_BYTES);
      expect(pcm.length % 4).toBe(0); // whole S16 stereo frames
      expect(loudSamples(pcm)).toBeGreaterThanOrEqual(0.7 * (PLAYED_BYTES / 2));

      client.write(audioMessage(1));
      await waitFor(() => events.some((e) => e.op === 'end'), { message: () => 'QEMU Audio End after Disable', timeoutMs: 10_000 });
      const ops = events.map((e) => e.op);
      expect(ops[0]).toBe('begin');
      expect(ops.filter((o) => o === 'begin')).toHaveLength(1);
      expect(ops.indexOf('data')).toBeGreaterThan(0);
      expect(ops.lastIndexOf('end')).toBe(ops.length - 1);
      expect(ops.filter((o) => o === 'end')).toHaveLength(1);
      client.destroy();
      await reading;
    } finally {
      client.destroy();
    }
  });

  it('sends no audio to a client that did not announce the QEMU Audio pseudo-encoding', async () => {
    const client = await RawRfbClient.connect(vnc.port, vnc.host);
    try {
      await client.handshakeNone();
      client.setEncodings([RAW]);
      client.write(audioMessage(2, { sampleFormat: 3, channels: CHANNELS, frequency: RATE }));
      client.write(audioMessage(0));
      await sleep(300);
      const before = client.received;
      await rig.guest.check('vdi-play 1', 30_000);
      await sleep(1000);
      expect(client.received).toBe(before);
      expect(await client.waitClosed(100)).toBe(false); // still connected: the messages were ignored, not an error
    } finally {
      client.destroy();
    }
  });
});
