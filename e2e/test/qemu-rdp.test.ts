// qemu-rdp with a real RDP client we did not write — FreeRDP's xfreerdp (Debian 12: 2.11) in
// an Xvfb — against real QEMU. Each test checks what the user sees against the guest's QMP
// screendump, and that typing and clicking in the client reach the guest.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawRdpClient, XFreeRdp, Xvfb, ensureQemuRdpBuilt, metricSample, plainPasswordFile, runQemuRdp, startQemuRdp, type QemuRdp } from '../src/clients/index.js';
import { expectPictureConverges } from '../src/converge.js';
import { QEMU_VERSIONS, pixelAt, startRig, tileCentres, typedLine, waitFor, type Rig } from '../src/index.js';

const USER = 'alice';
const EV_KEY = 1;
const EV_REL = 2;
const REL_X = 0;
const REL_Y = 1;
const BTN_LEFT = 0x110;
const BTN_RIGHT = 0x111;
const PASSWORD = 'correct horse';



/** Fills 128 lines of the guest's screen, from line 320 on, with random pixels. */
const NOISE_BAND = 'dd if=/dev/urandom of=/dev/fb0 bs=$(cat /sys/class/graphics/fb0/stride) seek=320 count=128 2>/dev/null';

describe.each(QEMU_VERSIONS)('qemu-rdp with xfreerdp on QEMU %s', (qemu) => {
  let rig: Rig;
  let rdp: QemuRdp;
  /** The same server with --no-bitmap-compression (bitmap compression is the server's choice). */
  let rdpUncompressed: QemuRdp;
  let x: Xvfb;
  const log = () => join(rig.artifactsDir, 'clients.log');

  beforeAll(async () => {
    ensureQemuRdpBuilt();
    rig = await startRig({ qemu, name: `qemu-rdp-${qemu}` });
    for (const file of ['qemu-rdp.log', 'clients.log']) writeFileSync(join(rig.artifactsDir, file), '');
    const passwordFile = await plainPasswordFile(rig.artifactsDir, 'rdp-password', PASSWORD);
    rdp = await startQemuRdp({
      busAddress: rig.busAddress,
      args: ['--username', USER, '--password-file', passwordFile],
      http: '127.0.0.1:0', // /metrics, for the bulk compression variants
      env: { QEMU_RDP_VERBOSE: '1' },
      log: join(rig.artifactsDir, 'qemu-rdp.log'),
    });
    rdpUncompressed = await startQemuRdp({
      busAddress: rig.busAddress,
      args: ['--username', USER, '--password-file', passwordFile, '--no-bitmap-compression'],
      env: { QEMU_RDP_VERBOSE: '1' },
      log: join(rig.artifactsDir, 'qemu-rdp.log'),
    });
    x = await Xvfb.start({ log: log() });
  });

  afterAll(async () => {
    await x?.stop();
    await rdpUncompressed?.stop();
    const result = await rdp?.stop();
    await rig?.stop();
    // SIGTERM is a clean shutdown (exit code 0, see qemu-rdp --help).
    expect(result?.code).toBe(0);
  });

  const start = (args: string[], password = PASSWORD, server = rdp) =>
    XFreeRdp.start(x, { server: `${server.host}:${server.port}`, username: USER, password, args, log: log() });

  // Every colour depth, with bitmap compression (at 32 bpp planar, or 24 bpp interleaved RLE where
  // that is smaller; interleaved RLE below) and without (uncompressed bitmaps). All lossless: the
  // picture must be exact.
  const variants = [32, 24, 16].flatMap((bpp) => [
    { name: `${bpp} bpp compressed`, bpp, compressed: true },
    { name: `${bpp} bpp uncompressed`, bpp, compressed: false },
  ]);

  it.each(variants.map((v, i) => ({ ...v, pattern: 30 + i })))('xfreerdp at $name shows the guest screen', async ({ name, bpp, compressed, pattern }) => {
    await rig.guest.check(`vdi-pattern ${pattern}`);
    const server = compressed ? rdp : rdpUncompressed;
    const mark = server.mark();
    const client = start([`/bpp:${bpp}`], PASSWORD, server);
    try {
      await server.waitForLog(new RegExp(`capabilities: ${bpp} bpp, ${compressed ? 'compressed' : 'uncompressed'} bitmaps`), mark);
      const win = await client.waitForWindow();
      expect({ width: win.width, height: win.height }).toEqual({ width: 1024, height: 768 });
      const tag = name.replace(/ /g, '-');
      // 16 bpp keeps 5/6/5 bits per channel: compare with what RGB565 can show of the guest.
      const tolerance = name.startsWith('16') ? 8 : 0;
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), `xfreerdp-${tag}-full`, { tolerance });
      await rig.guest.check(`vdi-text ${name}: the quick brown fox jumps over the lazy dog`);
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), `xfreerdp-${tag}-text`, { tolerance });
      await rig.guest.check(NOISE_BAND);
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), `xfreerdp-${tag}-noise`, { tolerance });
      expect(client.proc.exitResult, client.output).toBeUndefined();
    } finally {
      await client.stop();
    }
  });

  /** One sample of the main server's /metrics (0 when the series does not exist yet). */
  const metric = (sample: string): Promise<number> => metricSample(rdp.httpUrl, sample);
  /** Updates that used `encoding` (a codec or a bulk compressor), from /metrics. */
  const encodedWith = (encoding: string) => metric(`vdi_encode_seconds_count{protocol="rdp",encoding="${encoding}"}`);

  // Bulk compression of the fast-path output (MS-RDPBCGR 3.1.8, MS-RDPEGDI 3.1.8), on top of
  // planar at 32 bpp: xfreerdp announces it in its Client Info (by default type 3, RDP 6.1: the
  // server answers with XCRUSH), /compression-level:N lowers the type (2, RDP 6.0, and 1 get
  // MPPC 64K; 0 MPPC 8K), -compression turns it off. The picture must stay exact, and the
  // metrics must show the expected compressor at work (and no other).
  const bulkVariants = [
    { name: 'defaults', args: [] as string[], bulk: 'xcrush' },
    { name: '/compression-level:2', args: ['/compression-level:2'], bulk: 'mppc-64k' },
    { name: '/compression-level:1', args: ['/compression-level:1'], bulk: 'mppc-64k' },
    { name: '/compression-level:0', args: ['/compression-level:0'], bulk: 'mppc-8k' },
    { name: '-compression', args: ['-compression'], bulk: undefined },
  ];

  it.each(bulkVariants.map((v, i) => ({ ...v, pattern: 50 + i })))(
    'xfreerdp at 32 bpp with bulk compression ($name) shows the guest screen',
    async ({ name, args, bulk, pattern }) => {
      await rig.guest.check(`vdi-pattern ${pattern}`);
      const mark = rdp.mark();
      const counts = async () => ({ xcrush: await encodedWith('xcrush'), k64: await encodedWith('mppc-64k'), k8: await encodedWith('mppc-8k') });
      const before = await counts();
      const interleavedBefore = await encodedWith('interleaved');
      const client = start(['/bpp:32', ...args]);
      try {
        const logged = await rdp.waitForLog(/bulk compression: (\S+) \(([^)]*)\)/, mark);
        expect(logged).toMatch(bulk ? new RegExp(`bulk compression: ${bulk} \\(the client takes up to type \\d\\)`) : /bulk compression: none \(the client announces none\)/);
        await rdp.waitForLog(/capabilities: 32 bpp, compressed bitmaps/, mark);
        const tag = `bulk-${name.replace(/[^a-z0-9]+/gi, '-')}`;
        await expectPictureConverges(() => client.picture(), () => rig.screendump(), `xfreerdp-${tag}-full`);
        await rig.guest.check(`vdi-text bulk ${name}: the quick brown fox jumps over the lazy dog`);
        await expectPictureConverges(() => client.picture(), () => rig.screendump(), `xfreerdp-${tag}-text`);
        await rig.guest.check(NOISE_BAND);
        await expectPictureConverges(() => client.picture(), () => rig.screendump(), `xfreerdp-${tag}-noise`);
        // The first picture again: a compressor with a long history sends references to it.
        await rig.guest.check(`vdi-pattern ${pattern}`);
        await expectPictureConverges(() => client.picture(), () => rig.screendump(), `xfreerdp-${tag}-again`);
        const after = await counts();
        // Text and flat tiles went as 24 bpp interleaved RLE, the rest planar, and the picture is exact.
        expect(await encodedWith('interleaved')).toBeGreaterThan(interleavedBefore);
        // Updates compressed with the expected type, and none with another.
        expect({ xcrush: after.xcrush > before.xcrush, k64: after.k64 > before.k64, k8: after.k8 > before.k8 }).toEqual({
          xcrush: bulk === 'xcrush',
          k64: bulk === 'mppc-64k',
          k8: bulk === 'mppc-8k',
        });
        expect(client.proc.exitResult, client.output).toBeUndefined();
      } finally {
        await client.stop();
      }
      if (bulk) {
        // The session's closing figures: some packets went out compressed, not all plain.
        const closing = new RegExp(`bulk compression ${bulk}: (\\d+) bytes in (\\d+) packets → (\\d+) bytes \\([\\d.]+ %\\), (\\d+) sent plain`);
        const [, bytesIn, packets, bytesOut, plain] = closing.exec(await rdp.waitForLog(closing, mark))!.map(Number);
        expect(packets).toBeGreaterThan(plain);
        expect(bytesOut).toBeLessThan(bytesIn);
      }
    },
  );

  it('xfreerdp /rfx gets RemoteFX surface commands: the picture equals the guest screen up to the codec loss', async () => {
    await rig.guest.check('vdi-pattern 45');
    const mark = rdp.mark();
    const client = start(['/bpp:32', '/rfx']);
    try {
      await rdp.waitForLog(/capabilities: 32 bpp, RemoteFX surface commands/, mark);
      // RemoteFX quantises DWT coefficients: flat areas come back exact or nearly, edges ring.
      // One pixel per 32x32 tile of vdi-pattern, from the tile's centre, must match within 8
      // (neighbouring tiles differ by 16 or more in blue); the whole picture within 64.
      await expectPictureConverges(async () => tileCentres(await client.picture()), async () => tileCentres(await rig.screendump()), 'xfreerdp-rfx-tiles', { tolerance: 8 });
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), 'xfreerdp-rfx', { tolerance: 64 });
      await rig.guest.check('vdi-pattern 46');
      await expectPictureConverges(async () => tileCentres(await client.picture()), async () => tileCentres(await rig.screendump()), 'xfreerdp-rfx-update', { tolerance: 8 });
      expect(client.proc.exitResult, client.output).toBeUndefined();
    } finally {
      await client.stop();
    }
  });

  it('a wrong password is refused before any graphics, and logged', async () => {
    const mark = rdp.mark();
    const client = start(['/bpp:32'], 'wrong password');
    try {
      const result = await client.proc.exited;
      expect(result.code).not.toBe(0);
      expect(await x.findWindows('^FreeRDP: ')).toEqual([]);
      await rdp.waitForLog(/authentication failed for user "alice"/, mark);
      expect(rdp.logSince(mark).some((l) => /active:/.test(l))).toBe(false);
    } finally {
      await client.stop();
    }
  });

  it.each([
    { name: '/sec:nla', security: 'nla' as const },
    { name: "FreeRDP's own negotiation (no /sec)", security: null },
  ])('NLA ($name) with the right password: connects and shows the screen', async ({ security }) => {
    await rig.guest.check('vdi-pattern 43');
    const mark = rdp.mark();
    const client = XFreeRdp.start(x, { server: `${rdp.host}:${rdp.port}`, username: USER, password: PASSWORD, security, args: ['/bpp:32'], log: log() });
    try {
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), 'xfreerdp-nla');
      await rdp.waitForLog(/NLA: authenticated user "alice"/, mark);
    } finally {
      await client.stop();
    }
  });

  it('NLA with a wrong password: refused during NLA, before any graphics', async () => {
    const mark = rdp.mark();
    const client = XFreeRdp.start(x, { server: `${rdp.host}:${rdp.port}`, username: USER, password: 'not it', security: 'nla', args: ['/bpp:32'], log: log() });
    try {
      const result = await client.proc.exited;
      expect(result.code).not.toBe(0);
      await rdp.waitForLog(/authentication failed \(NLA\)/, mark);
      expect(rdp.logSince(mark).some((l) => /active:|logged in/.test(l))).toBe(false);
    } finally {
      await client.stop();
    }
  });

  it('typing into xfreerdp reaches the guest shell', async () => {
    const client = start(['/bpp:32']);
    try {
      await client.waitForWindow();
      await client.focus();
      const line = `echo Typed-OK_1 'A!@#$%^&*()+{}|:"<>?~' [x]=\\;,./\``;
      // xdotool types "\n" on a spare keycode that xfreerdp (which sends the scancodes of X
      // keycodes) does not know: press Return as a key.
      await client.type(line);
      await client.key('Return');
      expect(await typedLine(rig, line)).toBe(line);
      // Extended keys (E0 scancodes): Left arrow twice and Delete reach the guest's terminal as
      // their escape sequences (the guest shell does no line editing), keypad Enter ends the line.
      await client.type('echo abcdef');
      await client.key('Left', 'Left', 'Delete', 'KP_Enter');
      const edited = 'echo abcdef\x1b[D\x1b[D\x1b[3~';
      expect(await typedLine(rig, edited)).toBe(edited);
      // Right Ctrl (extended scancode) + u kills the line.
      await client.type('echo never');
      await client.key('Control_R+u');
      await client.type('echo combo-ok');
      await client.key('Return');
      expect(await typedLine(rig, 'echo combo-ok')).toBe('echo combo-ok');
    } finally {
      await client.stop();
    }
  });

  it('clicks and motion in xfreerdp reach the guest (PS/2 mouse: absolute positions become deltas)', async () => {
    await rig.guest.check('vdi-psmouse');
    const client = start(['/bpp:32']);
    try {
      await client.waitForWindow();
      await client.pointerTo(300, 200);
      await rig.guest.check('vdi-events start');
      await client.pointerTo(340, 260);
      await client.click(1);
      await client.click(3);
      const events = await waitFor(
        async () => {
          const out = await rig.guest.check('vdi-events dump');
          const parsed = out
            .split('\n')
            .filter((l) => l.startsWith('EVENT '))
            .map((l) => l.split(' ').slice(2).map(Number));
          const buttons = parsed.filter(([type, code]) => type === EV_KEY && (code === BTN_LEFT || code === BTN_RIGHT));
          return buttons.length >= 4 ? parsed : undefined;
        },
        { message: 'button events from clicks in xfreerdp', timeoutMs: 20_000, intervalMs: 500 },
      );
      const buttons = events.filter(([type]) => type === EV_KEY).map(([, code, value]) => `${code === BTN_LEFT ? 'left' : 'right'}:${value}`);
      expect(buttons).toEqual(['left:1', 'left:0', 'right:1', 'right:0']);
      // Moving from (300, 200) to (340, 260) arrives as that much relative motion.
      const dx = events.filter(([type, code]) => type === EV_REL && code === REL_X).reduce((n, [, , v]) => n + v, 0);
      const dy = events.filter(([type, code]) => type === EV_REL && code === REL_Y).reduce((n, [, , v]) => n + v, 0);
      expect({ dx, dy }).toEqual({ dx: 40, dy: 60 });
      await rig.guest.check('vdi-events stop');
    } finally {
      await client.stop();
    }
  });

  // Last in this file: the guest stays in its new mode.
  it('a guest mode change reaches the connected client: new size, right picture', async () => {
    await rig.guest.check('vdi-pattern 40');
    const client = start(['/bpp:32']);
    const mark = rdp.mark();
    try {
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), 'xfreerdp-before-mode-change');
      expect(await rig.guest.check('vdi-mode')).toMatch(/^FB 800 600 /);
      await rig.guest.check('vdi-pattern 41');
      await client.waitForSize(800, 600);
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), 'xfreerdp-after-mode-change');
      await rdp.waitForLog(/desktop resized to 800x600/, mark);
      expect(client.proc.exitResult, client.output).toBeUndefined();
    } finally {
      await client.stop();
    }
  });

  it('shows a placeholder before the VM exists and after it leaves, and the guest while it runs', async () => {
    await rig.stopQemu();
    const early = await startQemuRdp({ busAddress: rig.busAddress, log: join(rig.artifactsDir, 'qemu-rdp.log') });
    const client = XFreeRdp.start(x, { server: `${early.host}:${early.port}`, username: 'anyone', password: 'anything', args: ['/bpp:32'], log: log() });
    const isPlaceholder = async () => {
      const win = await client.waitForWindow();
      if (win.width !== 800 || win.height !== 600) return false;
      // A dark background (#1d232a) with light text on it, not a black screen.
      const picture = await client.picture();
      const light = [...Array(picture.width * picture.height).keys()].filter((i) => picture.rgba[i * 4] > 0x80).length;
      return pixelAt(picture, 0, 0).join() === [0x1d, 0x23, 0x2a].join() && light > 100;
    };
    try {
      await waitFor(isPlaceholder, { message: 'the 800x600 placeholder in xfreerdp', timeoutMs: 20_000, intervalMs: 250 });
      await rig.startQemu();
      await client.waitForSize(1024, 768, 30_000);
      await rig.guest.check('vdi-pattern 42');
      await expectPictureConverges(() => client.picture(), () => rig.screendump(), 'xfreerdp-vm-started');
      await rig.stopQemu();
      await waitFor(isPlaceholder, { message: 'the placeholder again after QEMU left', timeoutMs: 20_000, intervalMs: 250 });
      expect(client.proc.exitResult, client.output).toBeUndefined();
    } finally {
      await client.stop();
      await early.stop();
      await rig.startQemu();
    }
  });

  it('answers probes before the VM, while it runs and after it leaves; metrics count what a session was sent', async () => {
    const ops = await startQemuRdp({ busAddress: rig.busAddress, http: '127.0.0.1:0', log: join(rig.artifactsDir, 'qemu-rdp.log') });
    const status = async (path: string) => (await fetch(`${ops.httpUrl}${path}`)).status;
    const metric = async (sample: string) => {
      const text = await (await fetch(`${ops.httpUrl}metrics`)).text();
      const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
      if (!line) throw new Error(`no ${sample} in /metrics:\n${text}`);
      return Number(line.slice(sample.length + 1));
    };
    try {
      await waitFor(async () => (await status('readyz')) === 200, { message: 'qemu-rdp ready while the VM runs' });
      expect(await status('healthz')).toBe(200);
      // A raw client: every protocol byte the server wrote is one the client received.
      const client = await RawRdpClient.connect(ops.port, ops.host);
      try {
        await client.activate();
        await rig.guest.check('vdi-pattern 44');
        await client.countOutput(1500);
        expect(client.bitmapPixels).toBeGreaterThan(0);
        let sent = 0;
        await waitFor(async () => (sent = await metric('vdi_sent_bytes_total{protocol="rdp"}')) === client.received, {
          message: () => `vdi_sent_bytes_total = ${sent}, the client received ${client.received}`,
        });
        expect(await metric('vdi_clients{protocol="rdp"}')).toBe(1);
        expect(await metric('vdi_frames_sent_total{protocol="rdp"}')).toBeGreaterThan(0);
      } finally {
        client.destroy();
      }
      await waitFor(async () => (await metric('vdi_clients{protocol="rdp"}')) === 0, { message: 'the client gauge back to 0' });
      await rig.stopQemu();
      await waitFor(async () => (await status('readyz')) === 503, { message: 'not ready once QEMU left' });
      expect(await status('healthz')).toBe(200);
    } finally {
      if (!rig.qemuPid) await rig.startQemu();
      await ops.stop();
    }
    // Before the VM exists: a fresh process on a bus without QEMU.
    await rig.stopQemu();
    const early = await startQemuRdp({ busAddress: rig.busAddress, http: '127.0.0.1:0', log: join(rig.artifactsDir, 'qemu-rdp.log') });
    try {
      expect(await (await fetch(`${early.httpUrl}healthz`)).status).toBe(200);
      // Not ready from the start ("connecting"), then, bus connected, for want of a VM.
      let readyz = { status: 0, body: '' };
      await waitFor(
        async () => {
          const r = await fetch(`${early.httpUrl}readyz`);
          readyz = { status: r.status, body: await r.text() };
          return /no VM/.test(readyz.body) ? readyz : undefined;
        },
        { message: () => `/readyz to say there is no VM; last: ${JSON.stringify(readyz)}` },
      );
      expect(readyz.status).toBe(503);
    } finally {
      await early.stop();
      await rig.startQemu();
    }
  });

  it('refuses to listen beyond loopback without credentials', async () => {
    const result = await runQemuRdp({ busAddress: rig.busAddress, listen: '0.0.0.0:0' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/refusing to listen on 0\.0\.0\.0:0, beyond loopback, without credentials/);
  });
});
