// An X server for graphical VNC clients: Xvfb on a display it picks itself, pictures of
// its root window (xwd), and xdotool for windows, keyboard and pointer.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Image, Rect } from '../images.js';
import { Background, check, type RunResult } from './process.js';

/** Decodes an X Window Dump (xwd's output: a ZPixmap of 24 or 32 bits per pixel) to RGBA. */
export function decodeXwd(data: Buffer): Image {
  const field = (i: number) => data.readUInt32BE(i * 4);
  const headerSize = field(0);
  const version = field(1);
  const format = field(2);
  const width = field(4);
  const height = field(5);
  const byteOrder = field(7); // 0 LSBFirst, 1 MSBFirst
  const bitsPerPixel = field(11);
  const bytesPerLine = field(12);
  const masks = [field(14), field(15), field(16)];
  const ncolors = field(19);
  if (version !== 7 || format !== 2) throw new Error(`unsupported XWD: version ${version}, format ${format}`);
  if (bitsPerPixel !== 32 && bitsPerPixel !== 24) throw new Error(`unsupported XWD: ${bitsPerPixel} bits per pixel`);
  const shifts = masks.map((m) => 31 - Math.clz32(m & -m));
  const bytes = bitsPerPixel / 8;
  const start = headerSize + ncolors * 12;
  if (data.length < start + bytesPerLine * height) throw new Error(`XWD truncated: ${data.length} bytes for ${width}x${height}`);
  const rgba = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    let p = start + y * bytesPerLine;
    for (let x = 0; x < width; x++, p += bytes) {
      let v = 0;
      if (byteOrder === 0) for (let b = bytes - 1; b >= 0; b--) v = v * 256 + data[p + b];
      else for (let b = 0; b < bytes; b++) v = v * 256 + data[p + b];
      const o = (y * width + x) * 4;
      for (let c = 0; c < 3; c++) rgba[o + c] = Math.floor(v / 2 ** shifts[c]) & (masks[c] >>> shifts[c]);
      rgba[o + 3] = 255;
    }
  }
  return { width, height, rgba };
}

export interface WindowGeometry extends Rect {
  id: string;
}

/** A running Xvfb (`:N` chosen by Xvfb itself through -displayfd). */
export class Xvfb {
  private constructor(
    readonly proc: Background,
    readonly display: string,
  ) {}

  /** Starts Xvfb with one screen of `width`x`height` at depth 24. */
  static async start(options: { width?: number; height?: number; log?: string } = {}): Promise<Xvfb> {
    const size = `${options.width ?? 1280}x${options.height ?? 1024}x24`;
    const proc = new Background(
      'Xvfb',
      ['-displayfd', '3', '-screen', '0', size, '-nolisten', 'tcp', '-ac', '-noreset', '+extension', 'XTEST'],
      { stdio: ['ignore', 'pipe', 'pipe', 'pipe'], log: options.log },
    );
    const fd3 = proc.child.stdio[3] as Readable;
    let text = '';
    fd3.setEncoding('utf8').on('data', (s: string) => (text += s));
    const deadline = Date.now() + 15_000;
    while (!/\d+\n/.test(text)) {
      if (proc.exitResult) throw new Error(`Xvfb exited (code ${proc.exitResult.code}): ${proc.output}`);
      if (Date.now() > deadline) {
        await proc.stop('SIGKILL');
        throw new Error(`Xvfb did not report its display: ${proc.output}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return new Xvfb(proc, `:${text.trim()}`);
  }

  /** Environment for X clients on this server. */
  get env(): NodeJS.ProcessEnv {
    return { ...process.env, DISPLAY: this.display, XAUTHORITY: '' };
  }

  /** The whole screen (root window), as X shows it. */
  async captureRoot(): Promise<Image> {
    const dir = await mkdtemp(join(tmpdir(), 'vdi-xwd-'));
    try {
      const file = join(dir, 'root.xwd');
      await check('xwd', ['-root', '-silent', '-display', this.display, '-out', file], { timeoutMs: 15_000 });
      return decodeXwd(await readFile(file));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** Runs xdotool on this display. */
  xdotool(args: string[], timeoutMs = 15_000): Promise<RunResult> {
    return check('xdotool', args, { env: this.env, timeoutMs });
  }

  /** Visible windows whose title matches `name` (a regular expression for xdotool). */
  async findWindows(name: string): Promise<string[]> {
    try {
      const { stdout } = await this.xdotool(['search', '--onlyvisible', '--name', name]);
      return stdout.split('\n').filter((l) => /^\d+$/.test(l));
    } catch {
      return []; // xdotool search exits 1 when nothing matches
    }
  }

  /** Position on the screen and size of a window. */
  async geometry(id: string): Promise<WindowGeometry> {
    const { stdout } = await this.xdotool(['getwindowgeometry', '--shell', id]);
    const value = (key: string) => {
      const m = new RegExp(`^${key}=(-?\\d+)$`, 'm').exec(stdout);
      if (!m) throw new Error(`xdotool getwindowgeometry: no ${key} in ${stdout}`);
      return Number(m[1]);
    };
    return { id, x: value('X'), y: value('Y'), width: value('WIDTH'), height: value('HEIGHT') };
  }

  stop(): Promise<RunResult> {
    return this.proc.stop('SIGTERM');
  }
}
