// qemu-vnc with real VNC clients we did not write — gtk-vnc (gvnccapture, gvncviewer),
// vncsnapshot, TigerVNC's vncviewer, noVNC in Chromium — against real QEMU. Each test checks
// what the user sees against the guest's QMP screendump, and that typing and clicking in
// the client reach the guest.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GvncViewer,
  NoVncBrowser,
  TigerVncViewer,
  Xvfb,
  ensureQemuVncBuilt,
  freeVncDisplay,
  gvnccapture,
  startQemuVnc,
  vncsnapshot,
  type QemuVnc,
} from '../src/clients/index.js';
import { expectPictureConverges } from '../src/converge.js';
import { QEMU_VERSIONS, patternColor, pixelAt, startRig, tileCentres, typedLine, waitFor, type Rig } from '../src/index.js';

const EV_KEY = 1;
const BTN_LEFT = 0x110;



/** Fills 128 lines of the guest's screen, from line 320 on, with random pixels. */
const NOISE_BAND = 'dd if=/dev/urandom of=/dev/fb0 bs=$(cat /sys/class/graphics/fb0/stride) seek=320 count=128 2>/dev/null';

/** A line with shifted characters and punctuation from every row of a US keyboard. */
const TRICKY_LINE = `echo Typed-OK_1 'A!@#$%^&*()+{}|:"<>?~' [x]=\\;,./\``;

describe.each(QEMU_VERSIONS)('qemu-vnc with real clients on QEMU %s', (qemu) => {
  let rig: Rig;
  let vnc: QemuVnc;
  let display: number;
  let x: Xvfb;
  const log = () => join(rig.artifactsDir, 'clients.log');

  beforeAll(async () => {
    ensureQemuVncBuilt();
    rig = await startRig({ qemu, name: `qemu-vnc-clients-${qemu}` });
    for (const file of ['qemu-vnc.log', 'clients.log']) writeFileSync(join(rig.artifactsDir, file), '');
    display = await freeVncDisplay();
    vnc = await startQemuVnc({
      busAddress: rig.busAddress,
      listen: `127.0.0.1:${5900 + display}`,
      websocket: '127.0.0.1:0',
      env: { QEMU_VNC_VERBOSE: '1' },
      log: join(rig.artifactsDir, 'qemu-vnc.log'),
    });
    x = await Xvfb.start({ log: log() });
  });

  afterAll(async () => {
    await x?.stop();
    const result = await vnc?.stop();
    await rig?.stop();
    // SIGTERM is a clean shutdown (exit code 0, see qemu-vnc --help).
    expect(result?.code).toBe(0);
  });

  it('gvnccapture and vncsnapshot save the picture the guest shows', async () => {
    const out = await rig.guest.check('vdi-pattern 3');
    expect(out).toContain('PATTERN 3 1024x768');
    const dump = await rig.screendump();
    expect(pixelAt(dump, 100, 50)).toEqual(patternColor(3, 100, 50));
    await expectPictureConverges(() => gvnccapture('127.0.0.1', display), () => rig.screendump(), 'gvnccapture');
    // vncsnapshot writes JPEG; at -quality 100 with tiles 32 px wide (whole 8x8 and 16x16
    // JPEG blocks of one colour each) only colour-conversion rounding could be left; it came
    // out exact in every run so far, 8 is allowed. A misplaced tile would be off by more (blue
    // differs by ≥ 16 between neighbouring tiles).
    await expectPictureConverges(
      () => vncsnapshot('127.0.0.1', display, ['-quality', '100']),
      () => rig.screendump(),
      'vncsnapshot',
      { tolerance: 8 },
    );
    expect(vnc.alive).toBe(true);
  });

  // TigerVNC with each encoding it can prefer. -AutoSelect=0 keeps it from switching by
  // measured bandwidth, -FullColor asks for 24-bit colour.
  const encodings: Array<{ name: string; args: string[]; tolerance: number }> = [
    { name: 'raw', args: ['-PreferredEncoding=raw'], tolerance: 0 },
    { name: 'hextile', args: ['-PreferredEncoding=hextile'], tolerance: 0 },
    { name: 'zrle', args: ['-PreferredEncoding=zrle'], tolerance: 0 },
    { name: 'tight', args: ['-PreferredEncoding=tight', '-NoJPEG'], tolerance: 0 },
    // Tight with JPEG at quality level 9 is lossy where an area has many colours (this
    // server: JPEG quality 100, no chroma subsampling). The pattern's and the text's areas
    // have few and go lossless (palette, fill); the random band goes as JPEG, off by up to 4
    // per channel (seen). 8 allows for that and still tells a right tile from a wrong one
    // (blue differs by ≥ 16 between neighbouring tiles; a new pattern moves every tile by 40+).
    { name: 'tight+jpeg', args: ['-PreferredEncoding=tight', '-QualityLevel=9'], tolerance: 8 },
  ];

  it.each(encodings.map((e, i) => ({ ...e, pattern: 10 + i })))(
    'TigerVNC vncviewer with $name shows the guest screen',
    async ({ name, args, tolerance, pattern }) => {
      await rig.guest.check(`vdi-pattern ${pattern}`);
      const viewer = TigerVncViewer.start(x, {
        server: `127.0.0.1::${5900 + display}`,
        args: ['-AutoSelect=0', '-FullColor', ...args],
        log: log(),
      });
      try {
        const win = await viewer.waitForWindow();
        expect({ width: win.width, height: win.height }).toEqual({ width: 1024, height: 768 });
        // The first full update…
        await expectPictureConverges(() => viewer.picture(), () => rig.screendump(), `tigervnc-${name}-full`, { tolerance });
        // …and incremental ones: a new pattern, then text over part of it.
        await rig.guest.check(`vdi-pattern ${pattern + 20}`);
        await expectPictureConverges(() => viewer.picture(), () => rig.screendump(), `tigervnc-${name}-pattern`, { tolerance });
        await rig.guest.check(`vdi-text ${name}: the quick brown fox jumps over the lazy dog`);
        await expectPictureConverges(() => viewer.picture(), () => rig.screendump(), `tigervnc-${name}-text`, { tolerance });
        // Random pixels: every encoder's worst case (no runs, no palette; JPEG for Tight).
        await rig.guest.check(NOISE_BAND);
        await expectPictureConverges(() => viewer.picture(), () => rig.screendump(), `tigervnc-${name}-noise`, { tolerance });
        expect(viewer.proc.exitResult, viewer.output).toBeUndefined();
      } finally {
        await viewer.stop();
      }
    },
  );

  it('typing into TigerVNC (xdotool) reaches the guest shell: shifted keys, punctuation, editing keys, ctrl+u, Caps Lock', async () => {
    const viewer = TigerVncViewer.start(x, {
      server: `127.0.0.1::${5900 + display}`,
      args: ['-AutoSelect=0', '-FullColor', '-PreferredEncoding=zrle'],
      log: log(),
    });
    try {
      await viewer.waitForWindow();
      await viewer.focus();
      await viewer.type(`${TRICKY_LINE}\n`);
      expect(await typedLine(rig, TRICKY_LINE)).toBe(TRICKY_LINE);
      // Keys without a character: BackSpace twice deletes "ef", Return ends the line.
      await viewer.type('echo abcdef');
      await viewer.key('BackSpace', 'BackSpace', 'Return');
      expect(await typedLine(rig, 'echo abcd')).toBe('echo abcd');
      // A key combination: ctrl+u kills the line typed so far.
      await viewer.type('echo never');
      await viewer.key('ctrl+u');
      await viewer.type('echo combo-ok\n');
      expect(await typedLine(rig, 'echo combo-ok')).toBe('echo combo-ok');
      // Caps Lock: the guest's own Caps Lock state decides the letters' case.
      await viewer.type('echo ');
      await viewer.key('Caps_Lock');
      await viewer.type('caps');
      await viewer.key('Caps_Lock');
      await viewer.type(' off\n');
      expect(await typedLine(rig, 'echo CAPS off')).toBe('echo CAPS off');
      // What was typed is on the screen too, and the viewer shows it.
      await expectPictureConverges(() => viewer.picture(), () => rig.screendump(), 'tigervnc-typed');
    } finally {
      await viewer.stop();
    }
  });

  it('noVNC in Chromium (WebSocket) shows the screen, types into the guest and clicks', async () => {
    await rig.guest.check('vdi-pattern 4');
    const mark = vnc.mark();
    const browser = await NoVncBrowser.open(`ws://127.0.0.1:${vnc.wsPort}`);
    let closed = false;
    try {
      await browser.waitConnected();
      expect((await browser.state()).desktopName).toBe(rig.vmName);
      await expectPictureConverges(() => browser.picture(), () => rig.screendump(), 'novnc-pattern');
      await rig.guest.check('vdi-text noVNC sees this line');
      await expectPictureConverges(() => browser.picture(), () => rig.screendump(), 'novnc-text');
      // New levels mid-session: a second SetEncodings must not upset the Tight streams.
      await browser.setLevels(9, 7);
      await rig.guest.check('vdi-pattern 14');
      await expectPictureConverges(() => browser.picture(), () => rig.screendump(), 'novnc-new-levels');

      await browser.focus();
      await browser.page.keyboard.type(`${TRICKY_LINE}\n`, { delay: 20 });
      expect(await typedLine(rig, TRICKY_LINE)).toBe(TRICKY_LINE);

      // A click on the canvas: the guest's PS/2 mouse reports BTN_LEFT down and up.
      await rig.guest.check('vdi-psmouse');
      await rig.guest.check('vdi-events start');
      const events = await waitFor(
        async () => {
          await browser.click(300, 200);
          const out = await rig.guest.check('vdi-events dump');
          const clicks = out
            .split('\n')
            .filter((l) => l.startsWith('EVENT '))
            .map((l) => l.split(' ').map(Number))
            .filter(([, , type, code]) => type === EV_KEY && code === BTN_LEFT)
            .map(([, , , , value]) => value);
          return clicks.length >= 2 ? clicks : undefined;
        },
        { message: 'BTN_LEFT from a click in noVNC', timeoutMs: 20_000, intervalMs: 500 },
      );
      expect(events.slice(0, 2)).toEqual([1, 0]);
      await rig.guest.check('vdi-events stop');

      // Leaving the page ends the session at once, even while the screen does not change
      // (nothing to send that would hit the closed connection).
      const id = /client (\d+) \(127\.0\.0\.1\) connected/.exec(vnc.logSince(mark).join('\n'))?.[1];
      expect(id).toBeDefined();
      closed = true;
      await browser.close();
      expect(await vnc.waitForLog(new RegExp(`client ${id} \\(127\\.0\\.0\\.1\\): `), mark, 5_000)).toMatch(/: disconnected$/);
    } finally {
      if (!closed) await browser.close();
    }
  });

  // Last: it leaves the guest at 800x600.
  it('a guest mode change reaches connected TigerVNC and gvncviewer at the new size', async () => {
    await rig.guest.check('vdi-pattern 5');
    // Separate X servers: without a window manager the two windows would overlap.
    const x2 = await Xvfb.start({ log: log() });
    const tiger = TigerVncViewer.start(x, {
      server: `127.0.0.1::${5900 + display}`,
      args: ['-AutoSelect=0', '-FullColor', '-PreferredEncoding=zrle'],
      log: log(),
    });
    const gvnc = GvncViewer.start(x2, '127.0.0.1', display, log());
    try {
      await expectPictureConverges(() => tiger.picture(), () => rig.screendump(), 'mode-tigervnc-before');
      await expectPictureConverges(() => gvnc.picture(1024, 768), () => rig.screendump(), 'mode-gvnc-before');

      expect(await rig.guest.check('vdi-mode')).toMatch(/^FB 800 600 /);
      const dump = await rig.screendump();
      expect([dump.width, dump.height]).toEqual([800, 600]);

      // TigerVNC resizes its window to the new desktop size.
      await tiger.waitForSize(800, 600, 10_000);
      // The new framebuffer shows the text console: few colours, lossless for every
      // encoding, so both clients must match exactly.
      await expectPictureConverges(() => tiger.picture(), () => rig.screendump(), 'mode-tigervnc-console');
      await expectPictureConverges(() => gvnc.picture(800, 600), () => rig.screendump(), 'mode-gvnc-console');

      await rig.guest.check('vdi-pattern 6');
      await expectPictureConverges(() => tiger.picture(), () => rig.screendump(), 'mode-tigervnc-pattern');
      // gtk-vnc asks for Tight with a JPEG quality level. At 800 wide, Tight's pieces
      // (800x81) span four tile rows, 100 colours: more than the palette limit with JPEG on
      // (96, as in TigerVNC's server), so those pieces go as JPEG (4:2:0), whose chroma rings
      // by up to ~65 next to tile edges off its block grid. The exact check is the one above;
      // here each tile's centre pixel must be within 16 (tiles of vdi-pattern 5 and 6 differ
      // by 40 in R, 80 in G and 100 in B, so a stale or misplaced tile cannot pass).
      await expectPictureConverges(
        async () => tileCentres(await gvnc.picture(800, 600)),
        async () => tileCentres(await rig.screendump()),
        'mode-gvnc-pattern-tile-centres',
        { tolerance: 16 },
      );
      // A client connecting now starts at the new size.
      const capture = await gvnccapture('127.0.0.1', display);
      expect([capture.width, capture.height]).toEqual([800, 600]);
      expect(tiger.proc.exitResult, tiger.output).toBeUndefined();
      expect(gvnc.proc.exitResult, gvnc.output).toBeUndefined();
    } finally {
      await tiger.stop();
      await gvnc.stop();
      await x2.stop();
    }
  });
});
