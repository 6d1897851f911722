// Proves the e2e rig itself on every QEMU version: the guest boots, the command channel,
// screendumps, the framebuffer pattern, the video mode switch, input drivers and events,
// typing into the tty1 shell, and a QEMU restart on the same bus.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ARTIFACTS_DIR,
  QEMU_VERSIONS,
  READY_MARKER,
  compareImages,
  cropImage,
  decodePpm,
  expectSameImage,
  loadPng,
  patternColor,
  patternImage,
  pixelAt,
  startRig,
  waitFor,
  type Image,
  type Rig,
} from '../src/index.js';

const run = promisify(execFile);

/** Bus names on the rig's bus, through dbus-send (independent of the code under test). */
async function busNames(address: string): Promise<string[]> {
  const { stdout } = await run('dbus-send', [
    `--bus=${address}`,
    '--print-reply',
    '--dest=org.freedesktop.DBus',
    '/org/freedesktop/DBus',
    'org.freedesktop.DBus.ListNames',
  ]);
  return [...stdout.matchAll(/string "([^"]+)"/g)].map((m) => m[1]);
}

interface InputEvent {
  device: string;
  type: number;
  code: number;
  value: number;
}

function parseEvents(output: string): InputEvent[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith('EVENT '))
    .map((l) => {
      const [, device, type, code, value] = l.split(' ');
      return { device, type: Number(type), code: Number(code), value: Number(value) };
    });
}

const EV_KEY = 1;
const EV_REL = 2;
const EV_ABS = 3;

describe.each(QEMU_VERSIONS)('rig on QEMU %s', (version) => {
  let rig: Rig;

  beforeAll(async () => {
    rig = await startRig({ qemu: version, name: `rig-${version}` });
  });
  afterAll(async () => {
    await rig?.stop();
  });

  it('boots the guest, which reports ready', () => {
    expect(rig.guest.console).toContain(READY_MARKER);
    expect(rig.bootMs).toBeGreaterThan(0);
    console.info(`QEMU ${version}: guest ready ${rig.bootMs} ms after resume`);
  });

  it('runs the expected QEMU version', async () => {
    const v = await rig.qmp.execute<{ qemu: { major: number; minor: number; micro: number }; package: string }>(
      'query-version',
    );
    if (version === '7.2') expect([v.qemu.major, v.qemu.minor]).toEqual([7, 2]);
    else expect(v.qemu.major).toBe(10);
    console.info(`QEMU ${version}: ${v.qemu.major}.${v.qemu.minor}.${v.qemu.micro} ${v.package}`);
  });

  it('has QEMU on the bus as org.qemu, with console, VM and audio objects', async () => {
    expect(rig.busAddress).toMatch(/^unix:path=\/.*\/bus$/);
    await waitFor(async () => (await busNames(rig.busAddress)).includes('org.qemu'), {
      timeoutMs: 10_000,
      message: 'org.qemu on the bus',
    });
    const { stdout } = await run('dbus-send', [
      `--bus=${rig.busAddress}`,
      '--print-reply',
      '--dest=org.qemu',
      '/org/qemu/Display1',
      'org.freedesktop.DBus.ObjectManager.GetManagedObjects',
    ]);
    const paths = [...stdout.matchAll(/object path "([^"]+)"/g)].map((m) => m[1]);
    // /Audio exists only because -display dbus names the audiodev (audiodev=audio0).
    expect(paths).toEqual(
      expect.arrayContaining(['/org/qemu/Display1/VM', '/org/qemu/Display1/Console_0', '/org/qemu/Display1/Audio']),
    );
  });

  it('runs commands over the channel', async () => {
    expect(await rig.guest.run('echo hi')).toEqual({ output: 'hi\n', code: 0 });
    const uname = await rig.guest.run('uname -r');
    expect(uname.code).toBe(0);
    expect(uname.output).toMatch(/^6\.1\.\d+-\d+-amd64\n$/);
    expect(await rig.guest.run('printf abc')).toEqual({ output: 'abc', code: 0 });
    expect(await rig.guest.run('echo oops >&2; exit 3')).toEqual({ output: 'oops\n', code: 3 });
    expect(await rig.guest.run('printf "a\\nb\\n\\n"')).toEqual({ output: 'a\nb\n\n', code: 0 });
    await expect(rig.guest.check('false')).rejects.toThrow(/exit code 1/);
  });

  it('keeps later commands apart from one that timed out', async () => {
    await expect(rig.guest.run('sleep 2; echo late', 500)).rejects.toThrow(/timed out/);
    expect(await rig.guest.run('echo next', 10_000)).toEqual({ output: 'next\n', code: 0 });
  });

  it('screendumps the 1024x768 boot framebuffer', async () => {
    expect(await rig.guest.check('vdi-fbinfo')).toBe('FB 1024 768 24 3072 VESA VGA\n');
    const shot = await rig.screendump();
    expect([shot.width, shot.height]).toEqual([1024, 768]);
    expect(shot.rgba.length).toBe(1024 * 768 * 4);
  });

  it('shows the pattern the guest draws', async () => {
    expect(await rig.guest.check('vdi-pattern 3', 60_000)).toBe('PATTERN 3 1024x768\n');
    const shot = await rig.screendump();
    for (const [x, y] of [
      [0, 0],
      [1023, 0],
      [0, 767],
      [1023, 767],
      [500, 300],
      [33, 65],
    ]) {
      expect(pixelAt(shot, x, y), `pixel (${x}, ${y})`).toEqual(patternColor(3, x, y));
    }
    await expectSameImage(shot, patternImage(3, 1024, 768), `pattern-3-qemu-${version}`);
    expect(compareImages(shot, patternImage(4, 1024, 768)).equal).toBe(false);
  });

  it('prints text on the screen', async () => {
    const before = await rig.screendump();
    await rig.guest.check('vdi-text hello from the rig');
    const after = await waitFor(
      async () => {
        const shot = await rig.screendump();
        return compareImages(shot, before).equal ? undefined : shot;
      },
      { message: 'text to appear on the screen' },
    );
    expect(compareImages(after, before).differing).toBeGreaterThan(0);
  });

  it('loads the PS/2 mouse driver and reports relative motion', async () => {
    const line = await rig.guest.check('vdi-psmouse');
    expect(line).toMatch(/^INPUT (event\d+) .*PS\/2.*\n$/);
    const device = /^INPUT (event\d+)/.exec(line)?.[1];
    await rig.guest.check('vdi-events start');
    await rig.qmp.execute('input-send-event', {
      events: [
        { type: 'rel', data: { axis: 'x', value: 10 } },
        { type: 'rel', data: { axis: 'y', value: 5 } },
      ],
    });
    const events = await waitFor(
      async () => {
        const evs = parseEvents(await rig.guest.check('vdi-events dump'));
        return evs.some((e) => e.device === device && e.type === EV_REL) ? evs : undefined;
      },
      { message: 'EV_REL events from the PS/2 mouse' },
    );
    await rig.guest.check('vdi-events stop');
    const rel = events.filter((e) => e.device === device && e.type === EV_REL);
    // The PS/2 protocol may split the motion; the sums are what was sent (y axis flipped
    // twice, by QEMU's PS/2 encoding and the driver: screen-down stays positive).
    expect(rel.filter((e) => e.code === 0).reduce((s, e) => s + e.value, 0)).toBe(10);
    expect(rel.filter((e) => e.code === 1).reduce((s, e) => s + e.value, 0)).toBe(5);
  });

  it('takes typed keys in the tty1 shell', async () => {
    const keys = 'echo typed-ok'.split('').map((c) => (c === ' ' ? 'spc' : c === '-' ? 'minus' : c));
    for (const key of [...keys, 'ret']) {
      await rig.qmp.execute('send-key', { keys: [{ type: 'qcode', data: key }] });
    }
    await waitFor(async () => (await rig.guest.check('vdi-typed')) === 'echo typed-ok\n', {
      message: 'the typed line in the tty1 shell history',
    });
  });

  it('switches video mode to 800x600 with bochs', async () => {
    expect(await rig.guest.check('vdi-mode')).toBe('FB 800 600 32 3200 bochs-drmdrmfb\n');
    const shot = await waitFor(
      async () => {
        const s = await rig.screendump();
        return s.width === 800 && s.height === 600 ? s : undefined;
      },
      { message: 'an 800x600 screendump' },
    );
    expect([shot.width, shot.height]).toEqual([800, 600]);
    expect(await rig.guest.check('vdi-pattern 5', 60_000)).toBe('PATTERN 5 800x600\n');
    await expectSameImage(await rig.screendump(), patternImage(5, 800, 600), `pattern-5-800x600-qemu-${version}`);
  });
});

describe.each(QEMU_VERSIONS)('rig with USB tablet and VNC on QEMU %s', (version) => {
  let rig: Rig;

  beforeAll(async () => {
    rig = await startRig({ qemu: version, tablet: true, vnc: true, name: `rig-tablet-${version}` });
  });
  afterAll(async () => {
    await rig?.stop();
  });

  it('loads the USB tablet driver and reports absolute positions', async () => {
    const line = await rig.guest.check('vdi-tablet');
    expect(line).toMatch(/^INPUT (event\d+) QEMU QEMU USB Tablet\n$/);
    const device = /^INPUT (event\d+)/.exec(line)?.[1];
    await rig.guest.check('vdi-events start');
    // QMP absolute coordinates span 0..0x7fff over the screen, like the tablet's own range.
    await rig.qmp.execute('input-send-event', {
      events: [
        { type: 'abs', data: { axis: 'x', value: 0x4000 } },
        { type: 'abs', data: { axis: 'y', value: 0x2000 } },
        { type: 'btn', data: { button: 'left', down: true } },
      ],
    });
    await rig.qmp.execute('input-send-event', { events: [{ type: 'btn', data: { button: 'left', down: false } }] });
    const events = await waitFor(
      async () => {
        const evs = parseEvents(await rig.guest.check('vdi-events dump'));
        const mine = evs.filter((e) => e.device === device);
        return mine.some((e) => e.type === EV_KEY && e.value === 0) ? mine : undefined;
      },
      { message: 'tablet events up to the button release' },
    );
    await rig.guest.check('vdi-events stop');
    expect(events).toContainEqual({ device, type: EV_ABS, code: 0, value: 0x4000 });
    expect(events).toContainEqual({ device, type: EV_ABS, code: 1, value: 0x2000 });
    // BTN_LEFT = 0x110
    expect(events).toContainEqual({ device, type: EV_KEY, code: 0x110, value: 1 });
    expect(events).toContainEqual({ device, type: EV_KEY, code: 0x110, value: 0 });
  });

  it("serves QEMU's own VNC on a unix socket", async () => {
    const path = rig.vncSocketPath;
    expect(path && existsSync(path)).toBe(true);
    const greeting = await new Promise<string>((resolve, reject) => {
      const socket = createConnection(path as string);
      socket.once('data', (d) => {
        socket.destroy();
        resolve(d.toString('latin1'));
      });
      socket.once('error', reject);
    });
    expect(greeting).toBe('RFB 003.008\n');
  });

  it('restarts QEMU on the same bus', async () => {
    const before = rig.qemuPid;
    await rig.restartQemu();
    expect(rig.qemuPid).not.toBe(before);
    expect(rig.guest.console).toContain(READY_MARKER);
    expect(await rig.guest.run('echo again')).toEqual({ output: 'again\n', code: 0 });
    await waitFor(async () => (await busNames(rig.busAddress)).includes('org.qemu'), {
      timeoutMs: 10_000,
      message: 'org.qemu back on the bus',
    });
    const vm = await run('dbus-send', [
      `--bus=${rig.busAddress}`,
      '--print-reply',
      '--dest=org.qemu',
      '/org/qemu/Display1/VM',
      'org.freedesktop.DBus.Properties.Get',
      'string:org.qemu.Display1.VM',
      'string:UUID',
    ]);
    expect(vm.stdout).toContain(rig.uuid);
  });
});

describe.each(QEMU_VERSIONS)('rig start failure on QEMU %s', (version) => {
  it('rejects with QEMU’s exit and where its log is', async () => {
    const name = `rig-failure-${version}`;
    const err = await startRig({ qemu: version, name, extraArgs: ['-device', 'no-such-device'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/QEMU exited with code 1; see .*qemu\.log/);
    expect((err as Error).message).toContain("'no-such-device' is not a valid device model name");
    const log = readFileSync(join(ARTIFACTS_DIR, name, 'qemu.log'), 'utf8');
    expect(log).toContain("'no-such-device' is not a valid device model name");
  });
});

describe('rig helpers', () => {
  const solid = (width: number, height: number, [r, g, b]: number[], a = 255): Image => {
    const rgba = Buffer.alloc(width * height * 4);
    for (let i = 0; i < width * height; i++) rgba.set([r, g, b, a], i * 4);
    return { width, height, rgba };
  };

  it('compares RGB only, with an optional tolerance', () => {
    const a = solid(8, 4, [10, 20, 30]);
    expect(compareImages(a, solid(8, 4, [10, 20, 30], 0))).toEqual({
      equal: true,
      differing: 0,
      firstDiff: null,
      bbox: null,
      sizeMismatch: false,
    });
    const b = solid(8, 4, [10, 20, 30]);
    b.rgba.set([11, 20, 30], (1 * 8 + 2) * 4);
    b.rgba.set([10, 20, 40], (3 * 8 + 5) * 4);
    expect(compareImages(b, a)).toEqual({
      equal: false,
      differing: 2,
      firstDiff: { x: 2, y: 1 },
      bbox: { x: 2, y: 1, width: 4, height: 3 },
      sizeMismatch: false,
    });
    expect(compareImages(b, a, { tolerance: 1 }).differing).toBe(1);
  });

  it('counts pixels outside the common area as differing', () => {
    const result = compareImages(solid(4, 4, [0, 0, 0]), solid(4, 2, [0, 0, 0]));
    expect(result).toMatchObject({ equal: false, differing: 8, firstDiff: { x: 0, y: 2 }, sizeMismatch: true });
  });

  it('explains a mismatch and saves actual, expected and diff images', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rig-images-'));
    try {
      const expected = patternImage(1, 64, 64);
      const actual = cropImage(patternImage(1, 64, 64), { x: 0, y: 0, width: 64, height: 64 });
      await expectSameImage(actual, expected, 'same', { dir });
      actual.rgba.set([1, 2, 3], (10 * 64 + 40) * 4);
      const err = await expectSameImage(actual, expected, 'one pixel', { dir }).catch((e: unknown) => e);
      const [r, g, b] = patternColor(1, 40, 10);
      expect((err as Error).message).toBe(
        [
          'one pixel: images differ in 1 of 4096 pixels',
          `  first difference at (40, 10): actual rgb(1,2,3), expected rgb(${r},${g},${b})`,
          '  differences within x 40..40, y 10..10',
          `  saved ${join(dir, 'one-pixel')}-{actual,expected,diff}.png`,
        ].join('\n'),
      );
      const diff = await loadPng(join(dir, 'one-pixel-diff.png'));
      expect(pixelAt(diff, 40, 10)).toEqual([255, 0, 0]);
      expect(pixelAt(diff, 0, 0)).not.toEqual([255, 0, 0]);
      expect(compareImages(await loadPng(join(dir, 'one-pixel-actual.png')), actual).equal).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('decodes binary PPM', () => {
    const ppm = Buffer.concat([Buffer.from('P6\n# comment\n2 1\n255\n'), Buffer.from([1, 2, 3, 4, 5, 6])]);
    expect(decodePpm(ppm)).toEqual({ width: 2, height: 1, rgba: Buffer.from([1, 2, 3, 255, 4, 5, 6, 255]) });
  });

  it('waits for a value and times out with a clear message', async () => {
    let n = 0;
    expect(await waitFor(() => (++n >= 3 ? n : undefined), { intervalMs: 1, message: 'three' })).toBe(3);
    await expect(
      waitFor(
        () => {
          throw new Error('not yet');
        },
        { timeoutMs: 50, intervalMs: 10, message: 'never' },
      ),
    ).rejects.toThrow(/^Timed out after 50 ms waiting for never; last error: not yet$/);
  });
});
