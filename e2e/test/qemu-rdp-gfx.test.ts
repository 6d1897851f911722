// qemu-rdp's graphics pipeline (MS-RDPEGFX) with FreeRDP's xfreerdp /gfx against real QEMU:
// xfreerdp announces the pipeline in its core data and opens "Microsoft::Windows::RDS::Graphics"
// over drdynvc; the server then sends the screen as GFX frames (planar and solid fills on one
// surface) instead of fast-path bitmap updates. The picture in xfreerdp's window must equal
// QMP's screendump after a pattern, after typed text, and after a guest mode change (which the
// pipeline follows by resetting its graphics, without deactivation-reactivation). Also: a
// raw client on the pipeline (frames acknowledged, a malformed PDU), --no-gfx, the bitmap cache
// (two pictures alternated come back from the client's cache), --gfx-codec remotefx (RemoteFX
// tiles as CAVIDEO, compared within the codec's loss), and /gfx with /dynamic-resolution on
// virtio-vga.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawRdpClient, XFreeRdp, Xvfb, ensureQemuRdpBuilt, metricSample, plainPasswordFile, startQemuRdp, type QemuRdp } from '../src/clients/index.js';
import { RawGfxReceiver, RNS_UD_CS_SUPPORT_DYNVC_GFX_PROTOCOL } from '../src/clients/raw-rdp-gfx.js';
import { expectPictureConverges } from '../src/converge.js';
import { QEMU_VERSIONS, startRig, tileCentres, typedLine, waitFor, type Rig } from '../src/index.js';

const USER = 'alice';
const PASSWORD = 'correct horse';

describe.each(QEMU_VERSIONS)('qemu-rdp graphics pipeline with xfreerdp /gfx on QEMU %s', (qemu) => {
  let rig: Rig;
  let rdp: QemuRdp;
  /** The same server with --no-gfx: the client's /gfx is not taken up. */
  let rdpNoGfx: QemuRdp;
  /** The same server with --gfx-codec remotefx. */
  let rdpRfx: QemuRdp;
  let x: Xvfb;
  const log = () => join(rig.artifactsDir, 'clients.log');

  beforeAll(async () => {
    ensureQemuRdpBuilt();
    rig = await startRig({ qemu, name: `qemu-rdp-gfx-${qemu}` });
    for (const file of ['qemu-rdp.log', 'clients.log']) writeFileSync(join(rig.artifactsDir, file), '');
    const passwordFile = await plainPasswordFile(rig.artifactsDir, 'rdp-password', PASSWORD);
    rdp = await startQemuRdp({
      busAddress: rig.busAddress,
      args: ['--username', USER, '--password-file', passwordFile],
      http: '127.0.0.1:0',
      env: { QEMU_RDP_VERBOSE: '1' },
      log: join(rig.artifactsDir, 'qemu-rdp.log'),
    });
    rdpNoGfx = await startQemuRdp({
      busAddress: rig.busAddress,
      args: ['--username', USER, '--password-file', passwordFile, '--no-gfx'],
      env: { QEMU_RDP_VERBOSE: '1' },
      log: join(rig.artifactsDir, 'qemu-rdp.log'),
    });
    rdpRfx = await startQemuRdp({
      busAddress: rig.busAddress,
      args: ['--username', USER, '--password-file', passwordFile, '--gfx-codec', 'remotefx'],
      http: '127.0.0.1:0',
      env: { QEMU_RDP_VERBOSE: '1' },
      log: join(rig.artifactsDir, 'qemu-rdp.log'),
    });
    x = await Xvfb.start({ log: log() });
  });

  afterAll(async () => {
    await x?.stop();
    await rdpNoGfx?.stop();
    const rfxResult = await rdpRfx?.stop();
    expect(rfxResult?.code).toBe(0);
    const result = await rdp?.stop();
    await rig?.stop();
    expect(result?.code).toBe(0);
  });

  /** One sample of the server's /metrics (0 when the series does not exist yet). */
  const metric = (sample: string, server: QemuRdp = rdp): Promise<number> => metricSample(server.httpUrl, sample);
  const encodings = async () => ({
    gfx: await metric('vdi_encode_seconds_count{protocol="rdp",encoding="gfx-planar"}'),
    planar: await metric('vdi_encode_seconds_count{protocol="rdp",encoding="planar"}'),
  });

  it('with --no-gfx the server does not offer the pipeline: xfreerdp /gfx gets bitmap updates', async () => {
    await rig.guest.check('vdi-pattern 72');
    const mark = rdpNoGfx.mark();
    const client = XFreeRdp.start(x, { server: `${rdpNoGfx.host}:${rdpNoGfx.port}`, username: USER, password: PASSWORD, args: ['/bpp:32', '/gfx'], log: log() });
    try {
      await rdpNoGfx.waitForLog(/active: 1024x768, 32 bpp/, mark);
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), 'xfreerdp-no-gfx');
      const logged = rdpNoGfx.logSince(mark);
      expect(logged.some((l) => /Microsoft::Windows::RDS::Graphics/.test(l))).toBe(false);
      expect(client.proc.exitResult, client.output).toBeUndefined();
    } finally {
      await client.stop();
    }
  });

  it('a raw client on the pipeline: acknowledged frames keep coming; a malformed GFX PDU drops it with one log line', async () => {
    const mark = rdp.mark();
    const c = await RawRdpClient.connect(rdp.port, rdp.host);
    try {
      await c.activate({ userName: USER, password: PASSWORD, bpp: 32, channels: ['drdynvc'], earlyCapabilityFlags: RNS_UD_CS_SUPPORT_DYNVC_GFX_PROTOCOL });
      const gfx = new RawGfxReceiver(c);
      await waitFor(() => gfx.confirmedVersion === 0x000a0002 && gfx.frames > 0, { message: 'capabilities confirmed and a first GFX frame', timeoutMs: 20_000 });
      expect(gfx.size).toEqual({ width: 1024, height: 768 });
      // Far more frames than the server runs ahead of acknowledgements: they keep coming.
      for (const n of [73, 74, 75]) {
        const before = gfx.frames;
        await rig.guest.check(`vdi-pattern ${n}`);
        await waitFor(() => gfx.frames > before, { message: `GFX frames after vdi-pattern ${n}`, timeoutMs: 20_000 });
      }
      expect(gfx.records.reduce((sum, r) => sum + r.pixels, 0)).toBeGreaterThanOrEqual(3 * 1024 * 768);
      // A picture seen before: its busy tiles come from the client's bitmap cache.
      const before = { frames: gfx.frames, hits: gfx.cacheHits };
      await rig.guest.check('vdi-pattern 73');
      await waitFor(() => gfx.frames > before.frames && gfx.cacheHits > before.hits, { message: 'cache hits after vdi-pattern 73 again', timeoutMs: 20_000 });
      expect(gfx.cacheStores).toBeGreaterThan(0);
      expect(gfx.cacheErrors).toBe(0);
      // A FRAME_ACKNOWLEDGE whose pduLength says 200 in a 20-byte message.
      const lying = Buffer.alloc(25);
      lying[0] = 0x32; // DVC data, 4-byte channel id
      lying.writeUInt32LE(gfx.gfxChannelId!, 1);
      lying.writeUInt16LE(0x000d, 5);
      lying.writeUInt32LE(200, 9);
      c.sendOnStaticChannel(0, lying);
      expect(await c.waitClosed()).toBe(true);
      await rdp.waitForLog(/closed: protocol error RDP_ERR_BAD_LENGTH: RDPGFX_HEADER: pduLength 200/, mark);
      expect(rdp.logSince(mark).filter((l) => /protocol error/.test(l))).toHaveLength(1);
    } finally {
      c.destroy();
    }
  });

  /** Tiles drawn from the client's cache in the frames logged since `mark` (the verbose per-frame line). */
  const cacheHitsSince = (server: QemuRdp, mark: number): number =>
    server
      .logSince(mark)
      .map((l) => /frame \d+: \d+ solid, \d+ \w+, (\d+) from cache/.exec(l))
      .reduce((sum, m) => sum + (m ? Number(m[1]) : 0), 0);

  it('the bitmap cache: two pictures alternated come back from the client cache (CACHE_TO_SURFACE), the picture still exact', async () => {
    await rig.guest.check('vdi-pattern 78');
    const mark = rdp.mark();
    const client = XFreeRdp.start(x, { server: `${rdp.host}:${rdp.port}`, username: USER, password: PASSWORD, args: ['/bpp:32', '/gfx'], log: log() });
    try {
      await rdp.waitForLog(/capabilities: client offers .*; codec planar, bitmap cache of \d+ tiles/, mark);
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), 'xfreerdp-gfx-cache-78');
      await rig.guest.check('vdi-pattern 79');
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), 'xfreerdp-gfx-cache-79');
      const beforeRepeat = rdp.mark();
      // The same two pictures again: their tiles are in the client's cache by now.
      await rig.guest.check('vdi-pattern 78');
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), 'xfreerdp-gfx-cache-78-again');
      await rig.guest.check('vdi-pattern 79');
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), 'xfreerdp-gfx-cache-79-again');
      const hits = cacheHitsSince(rdp, beforeRepeat);
      // vdi-pattern fills 1024x768: 192 tiles a picture, most of them busy (not one colour).
      expect(hits).toBeGreaterThan(100);
      const logged = rdp.logSince(mark);
      expect(logged.some((l) => /protocol error|internal error/.test(l))).toBe(false);
      expect(client.proc.exitResult, client.output).toBeUndefined();
    } finally {
      await client.stop();
    }
  });

  it('--gfx-codec remotefx: tiles go as RemoteFX (CAVIDEO); the picture equals the guest screen up to the codec loss', async () => {
    await rig.guest.check('vdi-pattern 47');
    const mark = rdpRfx.mark();
    const client = XFreeRdp.start(x, { server: `${rdpRfx.host}:${rdpRfx.port}`, username: USER, password: PASSWORD, args: ['/bpp:32', '/gfx'], log: log() });
    try {
      await rdpRfx.waitForLog(/capabilities: client offers .*; codec remotefx/, mark);
      // The tolerances of the /rfx test (qemu-rdp.test.ts), the same codec and quantisation:
      // one pixel per 32x32 tile of vdi-pattern (its centre) within 8, the whole picture within 64.
      await expectPictureConverges(async () => tileCentres(await client.picture()), async () => tileCentres(await rig.screendump()), 'xfreerdp-gfx-rfx-tiles', { tolerance: 8 });
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), 'xfreerdp-gfx-rfx', { tolerance: 64 });
      await rig.guest.check('vdi-pattern 48');
      await expectPictureConverges(async () => tileCentres(await client.picture()), async () => tileCentres(await rig.screendump()), 'xfreerdp-gfx-rfx-update', { tolerance: 8 });
      await rig.guest.check('vdi-text gfx rfx: the quick brown fox jumps over the lazy dog');
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), 'xfreerdp-gfx-rfx-text', { tolerance: 64 });
      const logged = rdpRfx.logSince(mark);
      const rfxTiles = logged.map((l) => /frame \d+: \d+ solid, (\d+) remotefx/.exec(l)).reduce((sum, m) => sum + (m ? Number(m[1]) : 0), 0);
      expect(rfxTiles).toBeGreaterThan(100);
      expect(await metric('vdi_encode_seconds_count{protocol="rdp",encoding="gfx-remotefx"}', rdpRfx)).toBeGreaterThan(0);
      expect(logged.some((l) => /protocol error|internal error/.test(l))).toBe(false);
      expect(client.proc.exitResult, client.output).toBeUndefined();
      expect(client.output).not.toMatch(/Failed to process RemoteFX message/);
    } finally {
      await client.stop();
    }
    expect(rdpRfx.alive).toBe(true);
  });

  // Last in this file: the guest stays in its new mode.
  it('xfreerdp /gfx shows the guest screen through GFX frames: pattern, typed text, mode change', async () => {
    await rig.guest.check('vdi-pattern 70');
    const mark = rdp.mark();
    const client = XFreeRdp.start(x, { server: `${rdp.host}:${rdp.port}`, username: USER, password: PASSWORD, args: ['/bpp:32', '/gfx'], log: log() });
    try {
      await rdp.waitForLog(/screen output through the graphics pipeline \(capability version 0x[0-9a-f]+\)/, mark);
      const win = await client.waitForWindow();
      expect({ width: win.width, height: win.height }).toEqual({ width: 1024, height: 768 });
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), 'xfreerdp-gfx-pattern');
      const before = await encodings();
      expect(before.gfx).toBeGreaterThan(0);

      // Typing in the client: the guest echoes it on its console, drawn through GFX frames only.
      const line = 'echo gfx-typed-OK the quick brown fox';
      await client.type(line);
      await client.key('Return');
      expect(await typedLine(rig, line)).toBe(line);
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), 'xfreerdp-gfx-typed');

      await rig.guest.check('vdi-text gfx: the quick brown fox jumps over the lazy dog');
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), 'xfreerdp-gfx-text');
      const after = await encodings();
      expect(after.gfx).toBeGreaterThan(before.gfx);
      // No fast-path bitmap updates once the pipeline carries the screen.
      expect(after.planar).toBe(before.planar);

      // A guest mode change: the surface is recreated at the new size, no reactivation.
      expect(await rig.guest.check('vdi-mode')).toMatch(/^FB 800 600 /);
      await rig.guest.check('vdi-pattern 71');
      await client.waitForSize(800, 600);
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), 'xfreerdp-gfx-mode-change');
      await rdp.waitForLog(/surface \d+: 800x600 \(was 1024x768\)/, mark);
      const logged = rdp.logSince(mark);
      expect(logged.some((l) => /desktop resized to/.test(l))).toBe(false);
      expect(logged.some((l) => /protocol error|internal error/.test(l))).toBe(false);
      expect(client.proc.exitResult, client.output).toBeUndefined();
    } finally {
      await client.stop();
    }
    // Its frames went ZGFX-compressed (MS-RDPEGFX 3.1.9.1), which xfreerdp decoded to the exact
    // pictures above: the channel's closing figures.
    const zgfx = /ZGFX: (\d+) bytes in (\d+) segments → (\d+) bytes/;
    const [, bytesIn, , bytesOut] = zgfx.exec(await rdp.waitForLog(zgfx, mark))!.map(Number);
    expect(bytesOut).toBeLessThan(bytesIn / 2);
    expect(rdp.alive).toBe(true);
  });
});

// The usual combination: /gfx with /dynamic-resolution on a virtio-vga guest. The window's size
// becomes the guest's mode through Display Control (as in qemu-rdp-resize.test.ts); the new
// mode comes back through the pipeline (RESET_GRAPHICS, a new surface), not by reactivation.
describe.each(QEMU_VERSIONS)('qemu-rdp graphics pipeline with xfreerdp /gfx /dynamic-resolution on QEMU %s', (qemu) => {
  let rig: Rig;
  let rdp: QemuRdp;
  let x: Xvfb;
  const log = () => join(rig.artifactsDir, 'clients.log');

  beforeAll(async () => {
    ensureQemuRdpBuilt();
    rig = await startRig({ qemu, vga: 'virtio', videoMode: '', name: `qemu-rdp-gfx-resize-${qemu}` });
    for (const file of ['qemu-rdp.log', 'clients.log']) writeFileSync(join(rig.artifactsDir, file), '');
    const passwordFile = await plainPasswordFile(rig.artifactsDir, 'rdp-password', PASSWORD);
    rdp = await startQemuRdp({
      busAddress: rig.busAddress,
      args: ['--username', USER, '--password-file', passwordFile],
      env: { QEMU_RDP_VERBOSE: '1' },
      log: join(rig.artifactsDir, 'qemu-rdp.log'),
    });
    x = await Xvfb.start({ log: log() });
  });

  afterAll(async () => {
    await x?.stop();
    const result = await rdp?.stop();
    await rig?.stop();
    expect(result?.code).toBe(0);
  });

  it("resizing xfreerdp's window changes the guest's mode, and the pipeline follows it", async () => {
    await rig.guest.check('vdi-pattern 76');
    const mark = rdp.mark();
    const client = XFreeRdp.start(x, {
      server: `${rdp.host}:${rdp.port}`,
      username: USER,
      password: PASSWORD,
      args: ['/bpp:32', '/gfx', '/dynamic-resolution'],
      log: log(),
    });
    try {
      await rdp.waitForLog(/screen output through the graphics pipeline/, mark);
      const win = await client.waitForWindow();
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), 'xfreerdp-gfx-resize-before');
      await rdp.waitForLog(/Microsoft::Windows::RDS::DisplayControl: open: capabilities sent/, mark);
      await x.xdotool(['windowsize', '--sync', win.id, '1280', '720']);
      await rdp.waitForLog(/asking the guest for 1280x720/, mark);
      await rig.guest.check('vdi-virtio-gpu');
      await waitFor(async () => /^FB 1280 720 /.test(await rig.guest.check('vdi-fbinfo')), { message: 'the guest at 1280x720', timeoutMs: 20_000, intervalMs: 250 });
      await rig.guest.check('vdi-pattern 77');
      await rdp.waitForLog(/surface \d+: 1280x720 \(was 1024x768\)/, mark);
      await client.waitForSize(1280, 720);
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), 'xfreerdp-gfx-resize-1280x720');
      const logged = rdp.logSince(mark);
      expect(logged.some((l) => /desktop resized to|protocol error|internal error|layout ignored/.test(l))).toBe(false);
      // One layout asked for: the pipeline's own resize of the window sends no new one.
      expect(logged.filter((l) => /asking the guest for/.test(l))).toHaveLength(1);
      expect(client.proc.exitResult, client.output).toBeUndefined();
    } finally {
      await client.stop();
    }
    expect(rdp.alive).toBe(true);
  });
});
