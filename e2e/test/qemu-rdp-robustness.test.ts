// qemu-rdp against broken and hostile peers, against real QEMU: raw sockets that walk the RDP
// connection sequence and then send bad bytes at one layer (TPKT, X.224, TLS, MCS BER and PER,
// GCC, security and share headers, fast-path), and a client that stops reading. Each bad client
// must be dropped with exactly one "closed:" log line that says why, while qemu-rdp keeps
// running and a real client (xfreerdp, connected throughout) keeps showing the guest.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawRdpClient, XFreeRdp, Xvfb, ensureQemuRdpBuilt, startQemuRdp, type QemuRdp } from '../src/clients/index.js';
import {
  CLIENT_INFO_CB_USERNAME_OFFSET,
  MCS_IO_CHANNEL_ID,
  PduType2,
  SEC_ENCRYPT,
  SEC_INFO_PKT,
  SHARE_DATA_COMPRESSED_TYPE_OFFSET,
  clientCoreData,
  clientInfoPdu,
  clientNetworkData,
  clientSecurityData,
  gccConferenceCreateRequest,
  mcsConnectInitial,
  mcsSendDataRequest,
  shareDataPdu,
  tpkt,
  x224ConnectionRequest,
  x224Data,
} from '../src/clients/raw-rdp.js';
import { expectPictureConverges } from '../src/converge.js';
import { QEMU_VERSIONS, startRig, waitFor, type Rig } from '../src/index.js';

const STALL_TIMEOUT_S = 6;
const MiB = 1 << 20;
/** Fills the guest's whole 1024x768 screen with random pixels: 3 MiB that no codec compresses. */
const NOISE_SCREEN = 'dd if=/dev/urandom of=/dev/fb0 bs=$(cat /sys/class/graphics/fb0/stride) count=768 2>/dev/null';

/** What a bad client does before the server should drop it (it starts on a fresh TCP connection). */
type Attack = (c: RawRdpClient) => Promise<void>;

/** Up to the MCS domain: TLS, Connect Initial/Response, Erect Domain, Attach User, Channel Joins. */
async function upToDomain(c: RawRdpClient): Promise<void> {
  await c.negotiate();
  await c.connectMcs();
  await c.attachUser();
  await c.joinChannels();
}

/** The Connect Initial a client sends, with `blocks` as its client settings. */
function connectInitial(blocks = Buffer.concat([clientCoreData(), clientSecurityData(), clientNetworkData()])): Buffer {
  return mcsConnectInitial(gccConferenceCreateRequest(blocks));
}

interface Case {
  name: string;
  attack: Attack;
  /** The single "closed:" line qemu-rdp must log for the client. */
  why: RegExp;
}

const beforeTls: Case[] = [
  {
    name: 'half a TPKT header, then the client closes',
    attack: async (c) => {
      c.write(Buffer.from([0x03, 0x00]));
      await sleep(100);
      c.socket.end();
    },
    why: /closed: disconnected$/,
  },
  {
    name: 'a first byte that is neither TPKT nor fast-path (an HTTP request)',
    attack: async (c) => c.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1')),
    why: /closed: protocol error RDP_ERR_UNEXPECTED: frame header: first byte 0x47 is neither TPKT nor fast-path$/,
  },
  {
    name: 'a TPKT length below 7',
    attack: async (c) => c.write(Buffer.from([0x03, 0x00, 0x00, 0x06, 0x00, 0x00])),
    why: /closed: protocol error RDP_ERR_BAD_LENGTH: TPKT header: length 6 outside 7\.\.32768$/,
  },
  {
    name: 'a TPKT length above the limit',
    attack: async (c) => c.write(Buffer.from([0x03, 0x00, 0xff, 0xff, 0x02, 0xf0, 0x80])),
    why: /closed: protocol error RDP_ERR_BAD_LENGTH: TPKT header: length 65535 outside 7\.\.32768$/,
  },
  {
    name: 'an X.224 Data TPDU where the Connection Request belongs',
    // LI 6, code 0xF0 (DT) instead of 0xE0 (CR), DST-REF, SRC-REF, class.
    attack: async (c) => c.write(tpkt(Buffer.from([0x06, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00]))),
    why: /closed: protocol error RDP_ERR_UNEXPECTED: X\.224: TPDU code 0xf0, expected a Connection Request$/,
  },
  {
    name: 'a Connection Request without RDP_NEG_REQ (standard RDP security only)',
    attack: async (c) => {
      c.write(x224ConnectionRequest({ negotiation: false }));
      // X.224 Connection Confirm with RDP_NEG_FAILURE SSL_REQUIRED_BY_SERVER, then the server closes.
      const cc = await c.read(19);
      expect(cc.toString('hex')).toBe(
        [
          '03000013', // TPKT, 19 bytes
          '0e', // LI 14
          'd0', // CC
          '0000', // DST-REF
          '1234', // SRC-REF
          '00', // class 0
          '03', // type RDP_NEG_FAILURE
          '00', // flags
          '0800', // length 8
          '01000000', // failureCode SSL_REQUIRED_BY_SERVER
        ].join(''),
      );
    },
    why: /closed: refused: the client does not offer TLS security \(requested protocols 0x0\)$/,
  },
  {
    name: 'TPKT bytes instead of a TLS ClientHello after the Connection Confirm',
    attack: async (c) => {
      await c.requestConnection();
      c.write(x224Data(connectInitial())); // in the clear, as if TLS had not been agreed on
    },
    why: /closed: connection error: .*wrong.version.number/i, // OpenSSL: not a TLS record
  },
];

const mcsConnect: Case[] = [
  {
    name: 'a Connect Initial with a wrong BER application tag',
    attack: async (c) => {
      await c.negotiate();
      const ci = connectInitial();
      ci[1] = 0x66; // [APPLICATION 102] (Connect-Response) where [APPLICATION 101] belongs
      c.write(x224Data(ci));
    },
    why: /closed: protocol error RDP_ERR_UNEXPECTED: MCS Connect-Initial: Connect-Initial: tag 0x7f 0x66, expected \[APPLICATION 101\]$/,
  },
  {
    name: 'a Connect Initial whose BER length exceeds the data',
    attack: async (c) => {
      await c.negotiate();
      // [APPLICATION 101], length 0x7FFF (long form, 2 octets), then only 3 bytes: one OCTET STRING.
      c.write(x224Data(Buffer.from([0x7f, 0x65, 0x82, 0x7f, 0xff, 0x04, 0x01, 0x01])));
    },
    why: /closed: protocol error RDP_ERR_BAD_LENGTH: MCS Connect-Initial: length 32767 exceeds the 3 bytes left$/,
  },
  {
    name: 'a GCC settings block whose length exceeds the data',
    attack: async (c) => {
      await c.negotiate();
      const core = clientCoreData();
      core.writeUInt16LE(0x1000, 2); // TS_UD_HEADER length: 4096, the block has 216
      c.write(x224Data(connectInitial(Buffer.concat([core, clientSecurityData(), clientNetworkData()]))));
    },
    why: /closed: protocol error RDP_ERR_TRUNCATED: GCC client data: needs 4092 more bytes at offset 4, has \d+$/,
  },
  {
    name: 'a CS_NET block announcing 1000 channels',
    attack: async (c) => {
      await c.negotiate();
      c.write(x224Data(connectInitial(Buffer.concat([clientCoreData(), clientSecurityData(), clientNetworkData(1000)]))));
    },
    why: /closed: protocol error RDP_ERR_BAD_LENGTH: GCC client network data: 1000 channels$/,
  },
];

const mcsDomain: Case[] = [
  {
    name: 'a DomainMCSPDU with an unknown PER choice',
    attack: async (c) => {
      await upToDomain(c);
      c.write(x224Data(Buffer.from([0xfc, 0x00]))); // CHOICE index 63 of 43
    },
    why: /closed: protocol error RDP_ERR_BAD_VALUE: MCS domain PDU: DomainMCSPDU: 63 is not one of 43 values$/,
  },
  {
    name: 'a DomainMCSPDU only a server sends (Attach User Confirm)',
    attack: async (c) => {
      await upToDomain(c);
      c.write(x224Data(Buffer.from([0x2e, 0x00, 0x00, 0x06])));
    },
    why: /closed: protocol error RDP_ERR_UNEXPECTED: MCS domain PDU: choice 11 is not one a client sends$/,
  },
  {
    name: 'a Send Data Request whose userData length exceeds the data',
    attack: async (c) => {
      await upToDomain(c);
      c.write(x224Data(mcsSendDataRequest(c.userId, MCS_IO_CHANNEL_ID, Buffer.alloc(10), 200)));
    },
    why: /closed: protocol error RDP_ERR_BAD_LENGTH: MCS domain PDU: userData: 200 bytes, at most 18 allowed$/,
  },
];

const clientInfo: Case[] = [
  {
    name: 'a Client Info PDU with SEC_ENCRYPT in its security header',
    attack: async (c) => {
      await upToDomain(c);
      c.sendOnIoChannel(clientInfoPdu({ userName: 'mallory', password: 'x', securityFlags: SEC_INFO_PKT | SEC_ENCRYPT }));
    },
    why: /closed: protocol error RDP_ERR_UNEXPECTED: Client Info PDU: security flags 0x48$/,
  },
  {
    name: 'a Client Info PDU whose cbUserName exceeds the data',
    attack: async (c) => {
      await upToDomain(c);
      const info = clientInfoPdu({ userName: 'mallory', password: 'x' });
      info.writeUInt16LE(400, CLIENT_INFO_CB_USERNAME_OFFSET);
      c.sendOnIoChannel(info);
    },
    why: /closed: protocol error RDP_ERR_TRUNCATED: Client Info PDU: needs 400 more bytes at offset \d+, has \d+$/,
  },
];

/** A client with the channels the server serves; a malformed message on one of them. */
async function onChannel(c: RawRdpClient, channel: 'cliprdr' | 'rdpsnd' | 'drdynvc', message: Buffer): Promise<void> {
  const channels = ['cliprdr', 'rdpsnd', 'drdynvc'];
  await c.activate({ channels });
  await sleep(300); // the server opens its channels at activation
  c.sendOnStaticChannel(channels.indexOf(channel), message);
}

const virtualChannels: Case[] = [
  {
    name: 'a clipboard PDU of an unknown type (cliprdr)',
    // CLIPRDR_HEADER [MS-RDPECLIP 2.2.1]: msgType 0x7777, msgFlags 0, dataLen 0.
    attack: (c) => onChannel(c, 'cliprdr', Buffer.from([0x77, 0x77, 0, 0, 0, 0, 0, 0])),
    why: /closed: protocol error RDP_ERR_[A-Z_]+: .*/,
  },
  {
    name: 'a clipboard format list whose dataLen exceeds the message (cliprdr)',
    // CB_FORMAT_LIST 0x0002, flags 0, dataLen 4096, 4 bytes of data.
    attack: (c) => onChannel(c, 'cliprdr', Buffer.from([0x02, 0x00, 0, 0, 0x00, 0x10, 0, 0, 1, 2, 3, 4])),
    why: /closed: protocol error RDP_ERR_[A-Z_]+: .*/,
  },
  {
    name: 'client audio formats whose BodySize exceeds the message (rdpsnd)',
    // SNDPROLOG [MS-RDPEA 2.2.1]: msgType SNDC_FORMATS 0x07, bPad, BodySize 64; then 4 bytes.
    attack: (c) => onChannel(c, 'rdpsnd', Buffer.from([0x07, 0, 0x40, 0, 1, 2, 3, 4])),
    why: /closed: protocol error RDP_ERR_TRUNCATED: .*/,
  },
  {
    name: 'a dynamic channel PDU with an unknown command (drdynvc)',
    // Cmd 0xF in the header byte [MS-RDPEDYC 2.2].
    attack: (c) => onChannel(c, 'drdynvc', Buffer.from([0xf0, 0x01])),
    why: /closed: protocol error RDP_ERR_UNEXPECTED: DVC PDU: command 0xf is not one this server accepts$/,
  },
  {
    name: 'data on a dynamic channel that was never opened (drdynvc)',
    attack: (c) => onChannel(c, 'drdynvc', Buffer.from([0x30, 0x42, 0x00])),
    why: /closed: protocol error RDP_ERR_UNEXPECTED: drdynvc: data on channel 66, which is not open$/,
  },
  {
    name: 'a static channel chunk whose header lies about its length',
    attack: async (c) => {
      await c.activate({ channels: ['cliprdr'] });
      // CHANNEL_PDU_HEADER: length 2, flags FIRST|LAST, then 6 bytes.
      c.write(x224Data(mcsSendDataRequest(c.userId, c.staticChannelIds[0], Buffer.from([2, 0, 0, 0, 3, 0, 0, 0, 1, 2, 3, 4, 5, 6]))));
    },
    why: /closed: protocol error RDP_ERR_BAD_LENGTH: virtual channel cliprdr: chunks carry 6 bytes of a 2-byte message$/,
  },
];

const afterActivation: Case[] = [
  {
    name: 'a share control header whose totalLength exceeds the data',
    attack: async (c) => {
      await c.activate();
      const pdu = shareDataPdu(c.shareId, c.userId, PduType2.SYNCHRONIZE, Buffer.from([1, 0, 0xea, 0x03]));
      pdu.writeUInt16LE(0x200, 0); // totalLength 512; the PDU has 22 bytes
      c.sendOnIoChannel(pdu);
    },
    why: /closed: protocol error RDP_ERR_TRUNCATED: share PDU: needs 512 more bytes at offset 0, has 22$/,
  },
  {
    name: 'a bulk-compressed data PDU',
    attack: async (c) => {
      await c.activate();
      const pdu = shareDataPdu(c.shareId, c.userId, PduType2.SYNCHRONIZE, Buffer.from([1, 0, 0xea, 0x03]));
      pdu[SHARE_DATA_COMPRESSED_TYPE_OFFSET] = 0x21; // PACKET_COMPRESSED | PACKET_COMPR_TYPE_64K
      c.sendOnIoChannel(pdu);
    },
    why: /closed: protocol error RDP_ERR_UNEXPECTED: share data PDU \(pduType2 31\) is bulk-compressed \(compressedType 0x21\), but this server never enables compression$/,
  },
  {
    name: 'a fast-path input PDU whose length cuts its event short',
    // fpInputHeader: 1 event; length 3; a scancode event (header, keyCode 0x1e) needs 4 bytes.
    attack: async (c) => {
      await c.activate();
      c.write(Buffer.from([0x04, 0x03, 0x00, 0x1e]));
    },
    why: /closed: protocol error RDP_ERR_TRUNCATED: fast-path input PDU: needs 1 more bytes at offset 3, has 0$/,
  },
  {
    name: 'a fast-path input PDU whose length is shorter than its header',
    attack: async (c) => {
      await c.activate();
      c.write(Buffer.from([0x04, 0x01]));
    },
    why: /closed: protocol error RDP_ERR_BAD_LENGTH: fast-path header: length 1 shorter than its 2-byte header$/,
  },
  {
    name: 'a fast-path input event with an unknown event code',
    // 1 event, length 3, eventHeader: eventCode 7 (the high 3 bits), no flags.
    attack: async (c) => {
      await c.activate();
      c.write(Buffer.from([0x04, 0x03, 0xe0]));
    },
    why: /closed: protocol error RDP_ERR_UNEXPECTED: fast-path input event: unknown eventCode 7$/,
  },
];

describe.each(QEMU_VERSIONS)('qemu-rdp robustness on QEMU %s', (qemu) => {
  let rig: Rig;
  let rdp: QemuRdp;
  let x: Xvfb;
  let watcher: XFreeRdp;
  const log = () => join(rig.artifactsDir, 'clients.log');

  beforeAll(async () => {
    ensureQemuRdpBuilt();
    rig = await startRig({ qemu, name: `qemu-rdp-robustness-${qemu}` });
    for (const file of ['qemu-rdp.log', 'clients.log']) writeFileSync(join(rig.artifactsDir, file), '');
    rdp = await startQemuRdp({
      busAddress: rig.busAddress,
      // Stalled clients are dropped after this long (default 30 s), so the test sees it happen.
      args: ['--stall-timeout', String(STALL_TIMEOUT_S)],
      env: { QEMU_RDP_VERBOSE: '1' },
      log: join(rig.artifactsDir, 'qemu-rdp.log'),
    });
    x = await Xvfb.start({ log: log() });
    // A real client stays connected through every attack below.
    watcher = XFreeRdp.start(x, { server: `${rdp.host}:${rdp.port}`, username: 'watcher', password: 'x', args: ['/bpp:32'], log: log() });
    await watcher.waitForWindow();
  });

  afterAll(async () => {
    await watcher?.stop();
    await x?.stop();
    const result = await rdp?.stop();
    await rig?.stop();
    expect(result?.code).toBe(0); // SIGTERM: a clean shutdown
  });

  /** Ids of the clients that connected after `mark`, in order. */
  function clientIdsSince(mark: number): number[] {
    return rdp.logSince(mark).flatMap((l) => {
      const m = /client (\d+): connected from /.exec(l);
      return m ? [Number(m[1])] : [];
    });
  }

  /** qemu-rdp's "client N: closed: …" lines about client `id` after `mark`. */
  function closedLines(mark: number, id: number): string[] {
    return rdp.logSince(mark).filter((l) => l.includes(`client ${id}: closed: `));
  }

  /**
   * Connects a raw client, lets `attack` do its worst, and expects qemu-rdp to close the
   * connection and log exactly one "closed:" line for it, matching `why`.
   */
  async function expectDropped({ name, attack, why }: Case): Promise<void> {
    const mark = rdp.mark();
    const client = await RawRdpClient.connect(rdp.port, rdp.host);
    try {
      await attack(client);
      expect(await client.waitClosed(10_000), `qemu-rdp did not close the connection (${name})`).toBe(true);
      const id = await waitFor(() => clientIdsSince(mark)[0], { message: `a "connected" log line for the ${name} client` });
      expect(clientIdsSince(mark)).toEqual([id]);
      await waitFor(() => closedLines(mark, id).length > 0, { message: `a "closed" log line for the ${name} client` });
      await sleep(300); // a second line, if any, would come right after the first
      const lines = closedLines(mark, id);
      expect(lines, `"closed" lines for the ${name} client; log since:\n${rdp.logSince(mark).join('\n')}`).toHaveLength(1);
      expect(lines[0]).toMatch(why);
    } finally {
      client.destroy();
    }
    expect(rdp.alive, rdp.stderr.slice(-2000)).toBe(true);
    expect(watcher.proc.exitResult, watcher.output).toBeUndefined();
  }

  describe('before TLS', () => {
    it.each(beforeTls)('drops a client sending $name', (c) => expectDropped(c));
  });
  describe('MCS Connect Initial and GCC', () => {
    it.each(mcsConnect)('drops a client sending $name', (c) => expectDropped(c));
  });
  describe('MCS domain', () => {
    it.each(mcsDomain)('drops a client sending $name', (c) => expectDropped(c));
  });
  describe('Client Info', () => {
    it.each(clientInfo)('drops a client sending $name', (c) => expectDropped(c));
  });
  describe('after activation', () => {
    it.each(afterActivation)('drops a client sending $name', (c) => expectDropped(c));
  });
  describe('virtual channels', () => {
    it.each(virtualChannels)('drops a client sending $name', (c) => expectDropped(c));
  });

  it('a raw client that completes the connection sequence gets the whole screen as fast-path bitmaps', async () => {
    const mark = rdp.mark();
    const c = await RawRdpClient.connect(rdp.port, rdp.host);
    try {
      await c.activate();
      expect(c.desktop).toEqual({ width: 1024, height: 768 });
      const screen = c.desktop.width * c.desktop.height;
      await waitFor(async () => (await c.countOutput(500), c.bitmapPixels >= screen), {
        message: () => `bitmap updates covering the ${screen}-pixel screen (got ${c.bitmapPixels} pixels in ${c.fastPathFrames} frames)`,
      });
      await rdp.waitForLog(/client \d+: active: 1024x768, 32 bpp$/, mark);
    } finally {
      c.destroy();
    }
  });

  it('keeps memory bounded and the watcher served while an active client never reads', async () => {
    const mark = rdp.mark();
    const staller = await RawRdpClient.connect(rdp.port, rdp.host);
    const rss: number[] = [rdp.rssBytes()];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        rss.push(rdp.rssBytes());
        await sleep(250);
      }
    })();
    try {
      await staller.activate();
      staller.stopReading();
      const receivedAtStall = staller.received;
      // The guest redraws the whole screen over and over (each redraw is 3 MiB of damage), with
      // random pixels every other time so that the bitmaps stay about as big as the damage.
      // At least 8 redraws over at least 10 s.
      const started = Date.now();
      let frames = 0;
      while (frames < 8 || Date.now() - started < 10_000) {
        await rig.guest.check(frames % 2 === 0 ? NOISE_SCREEN : `vdi-pattern ${frames % 8}`);
        frames++;
      }
      const peak = Math.max(...rss);
      console.info(
        `QEMU ${qemu}: ${frames} full redraws in ${((Date.now() - started) / 1000).toFixed(0)} s with a client that stopped reading ` +
          `(it had read ${(receivedAtStall / 1024).toFixed(0)} KiB, then ${((staller.received - receivedAtStall) / 1024).toFixed(0)} KiB more): ` +
          `qemu-rdp RSS ${(rss[0] / MiB).toFixed(0)} MiB before, peak ${(peak / MiB).toFixed(0)} MiB`,
      );
      expect(peak).toBeLessThan(300 * MiB);
      // Meanwhile the watcher is served.
      await expectPictureConverges(() => watcher.picture(), () => rig.screendump(), `stalled-${qemu}-watcher`);
      expect(watcher.proc.exitResult, watcher.output).toBeUndefined();
      // A client that takes nothing for --stall-timeout seconds is dropped, with one line that says why.
      const id = clientIdsSince(mark)[0];
      await waitFor(() => closedLines(mark, id).length > 0, {
        message: () => `client ${id} to be dropped as stalled`,
        timeoutMs: (STALL_TIMEOUT_S + 20) * 1000,
      });
      expect(closedLines(mark, id)).toEqual([expect.stringMatching(/closed: not reading its updates \(nothing taken for \d+ s\), dropped/)]);
    } finally {
      sampling = false;
      await sampler;
      staller.destroy();
    }
    expect(rdp.alive, rdp.stderr.slice(-2000)).toBe(true);
  });

  it('after all that, the watcher still shows the guest and a new xfreerdp connects and shows it', async () => {
    await rig.guest.check('vdi-pattern 11');
    await expectPictureConverges(() => watcher.picture(), () => rig.screendump(), `after-${qemu}-watcher`);
    expect(watcher.proc.exitResult, watcher.output).toBeUndefined();
    // In an X server of its own: the watcher's window would be in the way of the picture.
    const x2 = await Xvfb.start({ log: log() });
    const fresh = XFreeRdp.start(x2, { server: `${rdp.host}:${rdp.port}`, username: 'fresh', password: 'x', args: ['/bpp:32'], log: log() });
    try {
      const win = await fresh.waitForWindow();
      expect({ width: win.width, height: win.height }).toEqual({ width: 1024, height: 768 });
      await expectPictureConverges(() => fresh.picture(), () => rig.screendump(), `after-${qemu}-fresh`);
      expect(fresh.proc.exitResult, fresh.output).toBeUndefined();
    } finally {
      await fresh.stop();
      await x2.stop();
    }
    expect(rdp.alive).toBe(true);
  });
});
